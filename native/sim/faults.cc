#include "sim/faults.h"

#include "sim/mix64.h"
#include "sim/request.h"

#include <cmath>

namespace trtllm_sim::executor
{

namespace
{

constexpr std::uint64_t kRequestStream = 0x27d4eb2f165667c5ull;
constexpr std::uint64_t kErrorPositionStream = 0x165667b19e3779f9ull;
constexpr std::uint64_t kStallStream = 0xd6e8feb86659fd93ull;
constexpr std::uint64_t kSlowStream = 0xa0761d6478bd642full;
constexpr std::uint64_t kBurstStream = 0xe7037ed1a0b428dbull;

} // namespace

FaultInjector::FaultInjector(SimFaultConfig const& config)
    : mConfig(config)
{
}

double FaultInjector::draw(std::uint64_t stream, std::uint64_t n) const noexcept
{
    return uniformOf(mix64(mix64(mConfig.seed ^ stream) ^ mix64(n)));
}

std::int64_t FaultInjector::requestErrorAt(IdType id, SizeType32 maxTokens) const noexcept
{
    if (!(mConfig.requestErrorProbability > 0.0) || maxTokens < 1)
    {
        return -1;
    }
    if (draw(kRequestStream, id) > mConfig.requestErrorProbability)
    {
        return -1;
    }
    // draw() is in (0, 1]: the position is in [0, maxTokens).
    auto const position = static_cast<std::int64_t>(std::ceil(draw(kErrorPositionStream, id) * maxTokens)) - 1;
    return position < 0 ? 0 : position;
}

std::string FaultInjector::requestErrorMessage(IdType id, std::int64_t position)
{
    return "injected fault (sim.faults.requestErrorProbability): request " + std::to_string(id)
        + " failed at output token " + std::to_string(position);
}

bool FaultInjector::fatalAt(IterationType iter) const noexcept
{
    return mConfig.fatalAtIteration >= 0 && static_cast<std::int64_t>(iter) >= mConfig.fatalAtIteration;
}

std::string FaultInjector::fatalMessage() const
{
    return "injected fatal fault (sim.faults.fatalAtIteration " + std::to_string(mConfig.fatalAtIteration)
        + "): the device is in an unrecoverable state";
}

double FaultInjector::stallMsAt(IterationType iter) const noexcept
{
    if (!(mConfig.stallMs > 0.0))
    {
        return 0.0;
    }
    bool const atK = mConfig.stallAtIteration >= 0 && static_cast<std::int64_t>(iter) == mConfig.stallAtIteration;
    bool const drawn = mConfig.stallProbability > 0.0 && draw(kStallStream, iter) <= mConfig.stallProbability;
    return atK || drawn ? mConfig.stallMs : 0.0;
}

double FaultInjector::slowFactorAt(IterationType iter) const noexcept
{
    if (!(mConfig.slowIterationProbability > 0.0) || mConfig.slowIterationFactor == 1.0)
    {
        return 1.0;
    }
    return draw(kSlowStream, iter) <= mConfig.slowIterationProbability ? mConfig.slowIterationFactor : 1.0;
}

void FaultInjector::appendKvEventBurst(
    IterationType iter, SizeType32 tokensPerBlock, SizeType32 vocabSize, std::vector<KVCacheEventData>& out) const
{
    if (mConfig.kvEventBurstAtIteration < 0 || static_cast<std::int64_t>(iter) != mConfig.kvEventBurstAtIteration)
    {
        return;
    }
    SizeType32 const pairs = (mConfig.kvEventBurstSize + 1) / 2;
    std::uint64_t const base = mix64(mConfig.seed ^ kBurstStream ^ mix64(iter));
    for (SizeType32 i = 0; i < pairs; ++i)
    {
        auto const hash = static_cast<IdType>(mix64(base + static_cast<std::uint64_t>(i)));
        runtime::VecUniqueTokens tokens;
        tokens.reserve(static_cast<std::size_t>(tokensPerBlock));
        for (SizeType32 t = 0; t < tokensPerBlock; ++t)
        {
            tokens.push_back(runtime::UniqueToken{static_cast<TokenIdType>(mix64(hash + t) % static_cast<std::uint64_t>(vocabSize)), 0});
        }
        KVCacheStoredData stored;
        stored.blocks.emplace_back(hash, std::move(tokens), std::nullopt, 0, KvCacheRetentionConfig::kDefaultRetentionPriority);
        out.emplace_back(std::move(stored));
        out.emplace_back(KVCacheRemovedData{{hash}});
    }
}

} // namespace trtllm_sim::executor
