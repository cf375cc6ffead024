#include "sim/timing_model.h"

#include <algorithm>

namespace trtllm_sim::executor
{

TimingModel::TimingModel(SimConfig const& config)
    : mConfig(config)
    , mKvBlockBytes(static_cast<double>(config.kvBytesPerBlock))
{
}

TimingModel::TimingModel(SimConfig const& config, PerfModel const* perf, double kvBlockBytes, double adapterBytes)
    : mConfig(config)
    , mPerf(perf)
    , mKvBlockBytes(kvBlockBytes)
    , mAdapterBytes(adapterBytes)
{
}

double TimingModel::prefillMs(std::int64_t newTokens) const
{
    if (newTokens <= 0)
    {
        return 0.0;
    }
    auto const n = static_cast<double>(newTokens);
    return mConfig.prefillA * n * n + mConfig.prefillB * n + mConfig.prefillC;
}

double TimingModel::decodeMs(double kvUtilization) const
{
    double const x = std::clamp(kvUtilization, 0.0, 1.0);
    return std::max(mConfig.decodeMinMs, mConfig.decodeD2 * x * x + mConfig.decodeD1 * x + mConfig.decodeD0);
}

double TimingModel::draftMs() const
{
    return mConfig.specDraftLength > 0 ? mConfig.specDraftMsPerToken * mConfig.specDraftLength : 0.0;
}

TimingModel::Breakdown TimingModel::iteration(
    std::int64_t newCtxTokens, bool anyGeneration, double kvUtilization, bool anyDraft) const
{
    Breakdown b;
    b.prefillMs = prefillMs(newCtxTokens);
    if (anyGeneration)
    {
        b.decodeMs = decodeMs(kvUtilization);
        if (anyDraft)
        {
            b.draftMs = draftMs();
        }
    }
    b.totalMs = b.modelledMs() / mConfig.speedupRatio;
    return b;
}

double TimingModel::transferMs(IterationWork const& w) const
{
    double const blocks = static_cast<double>(w.onboardBlocks + w.offloadBlocks);
    if (mPerf != nullptr)
    {
        return mPerf->hostTransferMs(blocks * mKvBlockBytes + static_cast<double>(w.loraLoads) * mAdapterBytes);
    }
    return blocks * mKvBlockBytes / mConfig.hostTransferBytesPerS * 1e3
        + static_cast<double>(w.loraLoads) * mConfig.loraLoadMs;
}

TimingModel::Breakdown TimingModel::iteration(std::vector<IterationWork> const& ranks) const
{
    Breakdown b;
    bool anyDraft = false;
    for (auto const& w : ranks)
    {
        // Ranks copy over their own host links: the slowest transfer counts.
        b.transferMs = std::max(b.transferMs, transferMs(w));
        anyDraft = anyDraft || w.anyDraft;
        if (mPerf == nullptr)
        {
            double const prefill = prefillMs(w.ctxTokens);
            double const decode = w.genRequests > 0 ? decodeMs(w.kvUtilization) : 0.0;
            if (prefill + decode > b.prefillMs + b.decodeMs)
            {
                b.prefillMs = prefill;
                b.decodeMs = decode;
            }
        }
    }
    if (mPerf != nullptr)
    {
        b.stepMs = mPerf->stepMs(ranks);
    }
    if (anyDraft)
    {
        b.draftMs = draftMs();
    }
    b.totalMs = b.modelledMs() / mConfig.speedupRatio;
    return b;
}

} // namespace trtllm_sim::executor
