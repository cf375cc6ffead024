#pragma once
// One response of one request as it crosses into JS: the new tokens (streaming) or all generated tokens
// (final non-streaming), the finish state, and optionally the request's perf metrics as a record row.

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
    bool hasPerf = false;  // the caller asked for perf metrics and the executor attached them
    RequestRecord perf{};
    int sequenceIndex = 0;
};

}  // namespace trtllm_metrics::bridge
