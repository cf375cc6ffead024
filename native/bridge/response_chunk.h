#pragma once
// One response of one request as it crosses into JS: the new tokens (streaming) or all generated tokens
// (final non-streaming), the finish state, and optionally the request's perf metrics as a record row.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bridge/request_record.h"

namespace trtllm_metrics::bridge {

struct ResponseChunk {
    std::uint64_t requestId = 0;
    std::vector<std::int32_t> tokens;
    bool isFinal = false;
    int finishReason = 0;  // FinishReason value of sequence 0; meaningful when isFinal
    bool hasError = false;
    std::string error;
    bool executorFault = false;  // the error is the executor's own failure (bridge/executor_fault.h)
    bool hasPerf = false;  // the caller asked for perf metrics and the executor attached them
    RequestRecord perf{};
    int sequenceIndex = 0;
    // The log probability of each of `tokens`, when the caller asked for them (empty otherwise).
    std::vector<float> logProbs;
};

// A delivery's chunks cross as one Float64Array `meta` of kChunkStride slots per chunk, plus the tokens, perf
// rows and error messages they index. Field order and meaning are documented in lib/native.ts (ChunkField,
// CHUNK_STRIDE, CHUNK_FLAG_*); keep both in sync (test/native-layout.test.mjs compares them).
enum ChunkField : std::size_t {
    kChunkRequestId = 0,
    kChunkTokenOffset,
    kChunkTokenCount,
    kChunkFlags,
    kChunkFinishReason,
    kChunkPerfRow,     // row in the perf rows, or -1
    kChunkErrorIndex,  // index in the error messages, or -1
    kChunkSequenceIndex,
    kChunkStride
};

// Bits of kChunkFlags.
enum ChunkFlag : unsigned {
    kChunkFlagFinal = 1,
    kChunkFlagError = 2,
    kChunkFlagPerf = 4,
    kChunkFlagLogProbs = 8,  // the delivery's logProbs array holds this chunk's, at its token offset
    kChunkFlagExecutorFault = 16,
};

}  // namespace trtllm_metrics::bridge
