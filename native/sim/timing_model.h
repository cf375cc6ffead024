// Modelled iteration latency, in milliseconds. Two models, one chosen per executor:
//   - the configured latencies (REFERENCE.md section 5): prefill = a*N^2 + b*N + c for N new context tokens,
//     decode = max(min, d2*x^2 + d1*x + d0) for KV occupancy x; exact, for tests that need known timings;
//   - the performance model (perf_model.h) when SimConfig::perfModel is set: time from the iteration's work on
//     a GPU's roofline.
// Both add drafting (speculative decoding) and host transfers (KV onboard/offload, LoRA adapter loads), and divide
// the sum by the speedup ratio.
#pragma once

#include "sim/config.h"
#include "sim/iteration_work.h"
#include "sim/perf_model.h"

#include <cstdint>
#include <vector>

namespace trtllm_sim::executor
{

class TimingModel
{
public:
    /// The configured latencies.
    explicit TimingModel(SimConfig const& config);
    /// The performance model when `perf` is non-null (it must outlive this model), else the configured latencies.
    /// `kvBlockBytes`: bytes of one KV block on one GPU (host transfers); `adapterBytes`: one LoRA adapter.
    TimingModel(SimConfig const& config, PerfModel const* perf, double kvBlockBytes, double adapterBytes);

    /// a*N^2 + b*N + c for N new (uncached) context tokens in the iteration; 0 when N == 0.
    [[nodiscard]] double prefillMs(std::int64_t newTokens) const;
    /// max(decodeMinMs, d2*x^2 + d1*x + d0) with x = active KV tokens / KV capacity, clamped to [0, 1].
    [[nodiscard]] double decodeMs(double kvUtilization) const;
    /// Extra time of drafting when speculative decoding is on: specDraftMsPerToken * draft length.
    [[nodiscard]] double draftMs() const;

    struct Breakdown
    {
        /// Configured latencies: the prefill and decode terms (of the slowest rank).
        double prefillMs{0.0};
        double decodeMs{0.0};
        /// Performance model: the forward step.
        double stepMs{0.0};
        double draftMs{0.0};
        /// Host transfers: KV blocks onboarded and offloaded, adapters loaded.
        double transferMs{0.0};
        /// The sum divided by the speedup ratio: what the clock advances by.
        double totalMs{0.0};

        /// The modelled time before the speedup ratio.
        [[nodiscard]] double modelledMs() const { return prefillMs + decodeMs + stepMs + draftMs + transferMs; }
    };

    /// One rank, configured latencies: prefill when newCtxTokens > 0, plus decode (and drafting) when any
    /// generation request ran, divided by the speedup ratio.
    [[nodiscard]] Breakdown iteration(std::int64_t newCtxTokens, bool anyGeneration, double kvUtilization,
        bool anyDraft) const;

    /// The iteration of every attention-DP rank (one entry per rank); ranks run in lockstep, so the slowest
    /// one sets the time.
    [[nodiscard]] Breakdown iteration(std::vector<IterationWork> const& ranks) const;

    [[nodiscard]] bool usesPerfModel() const { return mPerf != nullptr; }

private:
    [[nodiscard]] double transferMs(IterationWork const& w) const;

    SimConfig mConfig;
    PerfModel const* mPerf{nullptr};
    double mKvBlockBytes{0.0};
    double mAdapterBytes{0.0};
};

} // namespace trtllm_sim::executor
