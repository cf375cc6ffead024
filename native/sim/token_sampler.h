// Deterministic token stream and output lengths: pure functions of (seed, prompt, position), so a
// request yields the same tokens whether streamed or not and whatever else is in the batch.
#pragma once

#include "sim/types.h"

#include <cstdint>
#include <optional>

namespace trtllm_sim::executor
{

class TokenSampler
{
public:
    TokenSampler(SizeType32 vocabSize, std::uint64_t baseSeed);

    /// The seed of one sequence: the request's seed (or the simulator's base seed when it has none)
    /// mixed with a hash of the prompt.
    [[nodiscard]] std::uint64_t sequenceSeed(
        std::optional<RandomSeedType> requestSeed, TokenIdType const* prompt, std::size_t promptLen) const;

    /// Generated token number `position` (0 = first output token), in [0, vocabSize), never endId.
    [[nodiscard]] TokenIdType token(
        std::uint64_t sequenceSeed, std::int64_t position, std::optional<TokenIdType> endId) const noexcept;

    /// Number of tokens before the end id: geometric on {1, 2, ...} with the given mean.
    [[nodiscard]] std::int64_t geometricLength(std::uint64_t sequenceSeed, double mean) const noexcept;

    /// The log probability of generated token number `position`: ln(0.2 + 0.8 u) with u uniform in (0, 1], a
    /// fixed function of (sequence, position) like the token itself. Its mean is -0.6 nats, a generation
    /// perplexity near 1.8 (sampled chat output of a tuned model is typically 1.5 to 3).
    [[nodiscard]] float logProb(std::uint64_t sequenceSeed, std::int64_t position) const noexcept;

    /// Speculative decoding: how many of draftLength draft tokens proposed at `position` are accepted
    /// (each accepted with probability p given the previous one was).
    [[nodiscard]] SizeType32 acceptedDraftTokens(
        std::uint64_t sequenceSeed, std::int64_t position, SizeType32 draftLength, double p) const noexcept;

private:
    [[nodiscard]] static double uniform(std::uint64_t bits) noexcept;

    SizeType32 mVocabSize;
    std::uint64_t mBaseSeed;
};

} // namespace trtllm_sim::executor
