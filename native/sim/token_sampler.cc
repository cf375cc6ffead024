#include "sim/token_sampler.h"

#include "sim/mix64.h"

#include <cmath>

namespace trtllm_sim::executor
{

namespace
{

constexpr std::uint64_t kTokenStream = 0x1b873593a5a5a5a5ull;
constexpr std::uint64_t kLengthStream = 0x85ebca6b0f0f0f0full;
constexpr std::uint64_t kDraftStream = 0xc2b2ae35deadbeefull;
constexpr std::uint64_t kLogProbStream = 0x27d4eb2f165667c5ull;

} // namespace

TokenSampler::TokenSampler(SizeType32 vocabSize, std::uint64_t baseSeed)
    : mVocabSize(vocabSize)
    , mBaseSeed(baseSeed)
{
}

std::uint64_t TokenSampler::sequenceSeed(
    std::optional<RandomSeedType> requestSeed, TokenIdType const* prompt, std::size_t promptLen) const
{
    std::uint64_t h = mix64(requestSeed ? *requestSeed : mBaseSeed);
    for (std::size_t i = 0; i < promptLen; ++i)
    {
        h = mix64(h ^ static_cast<std::uint32_t>(prompt[i]));
    }
    return mix64(h ^ promptLen);
}

double TokenSampler::uniform(std::uint64_t bits) noexcept
{
    return uniformOf(bits);
}

TokenIdType TokenSampler::token(
    std::uint64_t sequenceSeed, std::int64_t position, std::optional<TokenIdType> endId) const noexcept
{
    std::uint64_t const bits = mix64(sequenceSeed ^ mix64(kTokenStream + static_cast<std::uint64_t>(position)));
    auto t = static_cast<TokenIdType>(bits % static_cast<std::uint64_t>(mVocabSize));
    if (endId && t == *endId)
    {
        t = static_cast<TokenIdType>((t + 1) % mVocabSize);
    }
    return t;
}

float TokenSampler::logProb(std::uint64_t sequenceSeed, std::int64_t position) const noexcept
{
    double const u = uniform(mix64(sequenceSeed ^ mix64(kLogProbStream + static_cast<std::uint64_t>(position))));
    return static_cast<float>(std::log(0.2 + 0.8 * u));
}

std::int64_t TokenSampler::geometricLength(std::uint64_t sequenceSeed, double mean) const noexcept
{
    if (!(mean > 1.0))
    {
        return 1;
    }
    double const u = uniform(mix64(sequenceSeed ^ kLengthStream));
    double const p = 1.0 / mean;
    // Inverse CDF of the geometric distribution on {1, 2, ...}.
    double const k = std::floor(std::log(u) / std::log1p(-p));
    if (!(k < 1e15))
    {
        return static_cast<std::int64_t>(1e15);
    }
    return 1 + static_cast<std::int64_t>(k);
}

SizeType32 TokenSampler::acceptedDraftTokens(
    std::uint64_t sequenceSeed, std::int64_t position, SizeType32 draftLength, double p) const noexcept
{
    SizeType32 accepted = 0;
    for (SizeType32 i = 0; i < draftLength; ++i)
    {
        std::uint64_t const bits = mix64(sequenceSeed ^ mix64(kDraftStream + static_cast<std::uint64_t>(position) * 64u
                                                       + static_cast<std::uint64_t>(i)));
        if (uniform(bits) > p)
        {
            break;
        }
        ++accepted;
    }
    return accepted;
}

} // namespace trtllm_sim::executor
