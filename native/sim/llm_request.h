// The executor's internal state of one accepted request (not part of the public API).
#pragma once

#include "sim/kv_cache_manager.h"
#include "sim/request.h"
#include "sim/response.h"
#include "sim/stats.h"
#include "sim/types.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trtllm_sim::executor
{

struct LlmRequest
{
    using TimePoint = RequestPerfMetrics::TimePoint;

    // --- what was asked (fixed after enqueue) ---
    IdType id{0};
    SizeType32 promptLen{0};
    SizeType32 maxTokens{0};
    bool streaming{false};
    bool excludeInputFromOutput{false};
    bool returnPerfMetrics{false};
    bool returnLogProbs{false};
    std::optional<IdType> clientId;
    std::optional<TokenIdType> endId;
    PriorityType priority{Request::kDefaultPriority};
    std::vector<VecTokens> stopWords;
    std::optional<KvCacheRetentionConfig> retention;
    /// The LoRA adapter (Request::getLoraConfig), also kv.loraId.
    std::optional<std::uint64_t> loraTaskId;
    /// Seed of the deterministic token stream.
    std::uint64_t sequenceSeed{0};
    /// Generated tokens before the end id is drawn (-1: the end id is never drawn).
    std::int64_t endAfter{-1};
    /// Our enqueue stamp: the scheduled arrival when there is one, else the clock at enqueueRequest.
    TimePoint enqueueTime{};
    std::optional<TimePoint> deadline;
    /// Request::getSimArrivalTime(): the scheduled arrival (simulator-only pacing).
    std::optional<TimePoint> simArrival;
    /// Waiting in the executor's schedule for its arrival time (not in the queue yet).
    bool pendingArrival{false};
    /// Injected fault (SimFaultConfig::requestErrorProbability): the output position at which the request
    /// fails, or -1.
    std::int64_t injectedErrorAt{-1};

    // --- progress ---
    /// The attention-DP rank serving the request, assigned when it arrives (-1 before).
    SizeType32 rank{-1};
    /// The adapter is pinned in the rank's LoRA cache (while the request is in the batch).
    bool loraPinned{false};
    /// Prompt followed by the generated tokens.
    VecTokens tokens;
    RequestStage stage{RequestStage::kQUEUED};
    /// Tokens the current context phase computes: the prompt, or prompt + generated after a pause.
    SizeType32 contextLen{0};
    /// Tokens of the current context whose KV is computed (reused blocks included).
    SizeType32 prefillPos{0};
    /// Generated tokens already returned by streaming responses.
    SizeType32 numSent{0};
    /// GUARANTEED_NO_EVICT reservation: ceil((prompt + maxTokens) / tokensPerBlock).
    SizeType32 maxBlocks{0};
    KvSequence kv;
    bool cancelRequested{false};
    FinishReason finishReason{FinishReason::kNOT_FINISHED};
    /// Set when the request ended with an error response (an injected fault) instead of a result.
    std::string error;
    RequestPerfMetrics perf;
    /// Iterations that decoded tokens for this request (the context completion included).
    SizeType32 decodingIter{0};
    /// Tokens decoded: generated tokens plus the end id when it ended the sequence.
    SizeType32 numDecoded{0};
    SizeType32 numPauses{0};
    SizeType32 totalDraftTokens{0};
    SizeType32 totalAcceptedDraftTokens{0};
    /// returnLogProbs: the generated tokens whose log probability is summed in cumLogProb.
    SizeType32 numLogProbs{0};
    double cumLogProb{0.0};

    // --- scratch of the current iteration ---
    SizeType32 chunk{0};
    bool scheduled{false};
    /// Paused by MAX_UTILIZATION and waiting to resume.
    bool paused{false};
    /// Tokens decoded in the current iteration.
    SizeType32 decodedThisIter{0};

    [[nodiscard]] SizeType32 numGenerated() const { return static_cast<SizeType32>(tokens.size()) - promptLen; }
    /// Tokens whose KV is in the cache: prefillPos during the context phase; all but the newest token during
    /// generation (its KV is computed by the next step).
    [[nodiscard]] SizeType32 numKvTokens() const
    {
        return stage == RequestStage::kGENERATION_IN_PROGRESS ? static_cast<SizeType32>(tokens.size()) - 1
                                                              : prefillPos;
    }
    [[nodiscard]] bool isFinished() const { return finishReason != FinishReason::kNOT_FINISHED || !error.empty(); }
};

} // namespace trtllm_sim::executor
