#pragma once
// The finished-request record that crosses into JS as one Float64Array row.
// Field order and meaning are documented in lib/records.ts; keep both in sync (test/native-layout.test.mjs
// compares them).

#include <cstddef>

namespace trtllm_metrics::bridge {

enum RecordField : std::size_t {
    kRequestId = 0,
    kEnqueueTimeNs,
    kArrivalTimeNs,
    kFirstScheduledTimeNs,
    kFirstTokenTimeNs,
    kLastTokenTimeNs,
    kPromptTokens,
    kOutputTokens,
    kCachedTokens,
    kNumSequences,
    kFinishReason,
    kKvTotalAllocatedBlocks,
    kKvNewAllocatedBlocks,
    kKvReusedBlocks,
    kKvMissedBlocks,
    kKvHitRate,
    kSpecAcceptanceRate,
    kSpecAcceptedDraftTokens,
    kSpecDraftTokens,
    kFirstIter,
    kLastIter,
    kKvTransferStartNs,
    kKvTransferEndNs,
    kFlags,
    // Sum and number of the log probabilities of the generated tokens (sequence 0), when the request asked
    // for them (OutputConfig::returnLogProbs); count 0 otherwise.
    kGenLogProbSum,
    kGenLogProbCount,
    kRecordStride
};

constexpr double kErrorFinishCode = 6;
constexpr double kFlagError = 1;
constexpr double kFlagHasPerf = 2;

struct RequestRecord {
    double v[kRecordStride];
};
// Rows are copied into JS Float64Arrays as whole records.
static_assert(sizeof(RequestRecord) == kRecordStride * sizeof(double), "a record is exactly one row of doubles");

}  // namespace trtllm_metrics::bridge
