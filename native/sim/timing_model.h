// Modelled iteration latency (REFERENCE.md section 5), in milliseconds.
#pragma once

#include "sim/config.h"

#include <cstdint>

namespace trtllm_sim::executor
{

class TimingModel
{
public:
    explicit TimingModel(SimConfig const& config);

    /// a*N^2 + b*N + c for N new (uncached) context tokens in the iteration; 0 when N == 0.
    [[nodiscard]] double prefillMs(std::int64_t newTokens) const;
    /// max(decodeMinMs, d2*x^2 + d1*x + d0) with x = active KV tokens / KV capacity, clamped to [0, 1].
    [[nodiscard]] double decodeMs(double kvUtilization) const;
    /// Extra time of drafting when speculative decoding is on: specDraftMsPerToken * draft length.
    [[nodiscard]] double draftMs() const;

    struct Breakdown
    {
        double prefillMs{0.0};
        double decodeMs{0.0};
        double draftMs{0.0};
        /// (prefill + decode + draft) / speedupRatio: what the clock advances by.
        double totalMs{0.0};
    };

    /// The iteration's latency: prefill when newCtxTokens > 0, plus decode (and drafting) when any
    /// generation request ran, divided by the speedup ratio.
    [[nodiscard]] Breakdown iteration(std::int64_t newCtxTokens, bool anyGeneration, double kvUtilization,
        bool anyDraft) const;

private:
    SimConfig mConfig;
};

} // namespace trtllm_sim::executor
