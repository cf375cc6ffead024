// What one iteration of one attention-DP rank computed: the input of the timing models (timing_model.h,
// perf_model.h). Filled by the iteration step; nothing here knows about time.
#pragma once

#include "sim/types.h"

namespace trtllm_sim::executor
{

struct IterationWork
{
    /// New (uncached) context tokens computed: the sum of the prefill chunks.
    SizeType64 ctxTokens{0};
    /// Context requests with a chunk this iteration.
    SizeType64 ctxRequests{0};
    /// Query-key pairs of context attention per head and layer: for each chunk of c tokens after p cached or
    /// already computed ones, c * (p + (c + 1) / 2) (causal attention).
    double ctxAttentionPairs{0.0};
    /// Generation requests and the tokens they feed (1 + draft tokens each).
    SizeType64 genRequests{0};
    SizeType64 genTokens{0};
    /// Tokens of KV cache the generation requests read (decode attention): the sum of their KV lengths.
    SizeType64 kvReadTokens{0};
    /// Tokens whose logits are computed: the generation tokens and the last token of each completed context.
    SizeType64 logitTokens{0};
    /// KV blocks copied host -> GPU (onboarded) and GPU -> host (offloaded).
    SizeType64 onboardBlocks{0};
    SizeType64 offloadBlocks{0};
    /// LoRA adapters loaded into the device cache.
    SizeType64 loraLoads{0};
    /// GPU KV blocks in use / all GPU blocks after the step (the configured-latency model's x).
    double kvUtilization{0.0};
    /// A generation request drafted tokens (speculative decoding).
    bool anyDraft{false};

    [[nodiscard]] bool empty() const noexcept { return ctxTokens == 0 && genRequests == 0; }
};

} // namespace trtllm_sim::executor
