// Per-iteration scheduling: the capacity scheduler (which waiting requests join the batch, under the
// KV cache policy) and the micro-batch scheduler (which active requests run this iteration, under
// maxBatchSize and the maxNumTokens budget, with chunked prefill).
#pragma once

#include "sim/config.h"
#include "sim/kv_cache_manager.h"
#include "sim/llm_request.h"
#include "sim/lora_cache.h"

#include <deque>
#include <vector>

namespace trtllm_sim::executor
{

struct MicroBatch
{
    /// Context-phase requests with their chunk (LlmRequest::chunk), in admission order.
    std::vector<LlmRequest*> context;
    /// Generation-phase requests, in admission order.
    std::vector<LlmRequest*> generation;
    /// Context tokens computed this iteration (sum of chunks).
    SizeType32 numCtxTokens{0};
    /// Token budget taken by generation requests (1 + draft length each).
    SizeType32 numGenTokens{0};
};

class Scheduler
{
public:
    struct Limits
    {
        CapacitySchedulerPolicy policy{CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT};
        SizeType32 maxBatchSize{256};
        SizeType32 maxNumTokens{8192};
        bool enableChunkedContext{true};
        SizeType32 tokensPerBlock{32};
        SizeType32 draftLength{0};
    };

    explicit Scheduler(Limits const& limits);

    /// Capacity scheduling: moves requests from the front of `waiting` to the back of `active` while the
    /// batch has room, the policy's KV blocks are available and the request's LoRA adapter can be loaded; a
    /// request that does not fit blocks the ones behind it. Reused blocks are attached (onboarded from the host
    /// tier if need be) and adapters pinned on admission. Appends the admitted ones to `admitted`; returns the
    /// adapters loaded.
    SizeType32 admit(std::deque<LlmRequest*>& waiting, std::vector<LlmRequest*>& active, KvCacheManager& kv,
        LoraCache& lora, std::vector<LlmRequest*>& admitted);

    /// Picks this iteration's requests: every generation request (budget permitting), then context
    /// chunks from what is left of maxNumTokens.
    [[nodiscard]] MicroBatch formMicroBatch(std::vector<LlmRequest*> const& active) const;

    /// MAX_UTILIZATION only: while the blocks the batch needs this step exceed the free blocks, pauses the
    /// most recently admitted active request (releases its blocks, puts it at the front of `waiting` to
    /// recompute later). Appends the paused ones to `paused`.
    void fitBlocks(MicroBatch& batch, std::vector<LlmRequest*>& active, std::deque<LlmRequest*>& waiting,
        KvCacheManager& kv, LoraCache& lora, std::vector<LlmRequest*>& paused) const;

    /// GUARANTEED_NO_EVICT bookkeeping: used blocks plus the blocks active requests may still allocate.
    [[nodiscard]] static SizeType64 reservedBlocks(std::vector<LlmRequest*> const& active, KvCacheManager const& kv);

    [[nodiscard]] Limits const& getLimits() const { return mLimits; }

private:
    /// Upper bound of the blocks a request allocates in its next step.
    [[nodiscard]] SizeType32 stepBlocks(LlmRequest const& r, KvCacheManager const& kv, SizeType32 chunk) const;
    [[nodiscard]] SizeType32 genCost(LlmRequest const& r) const;

    Limits mLimits;
    mutable std::vector<BlockId> mMatched;
};

} // namespace trtllm_sim::executor
