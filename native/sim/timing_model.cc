#include "sim/timing_model.h"

#include <algorithm>

namespace trtllm_sim::executor
{

TimingModel::TimingModel(SimConfig const& config)
    : mConfig(config)
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
    b.totalMs = (b.prefillMs + b.decodeMs + b.draftMs) / mConfig.speedupRatio;
    return b;
}

} // namespace trtllm_sim::executor
