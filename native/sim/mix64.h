// The simulator's one 64-bit mixer (splitmix64's finalizer) and the uniform draw made from it: every seeded,
// deterministic choice (tokens, output lengths, draft acceptance, injected faults) is a pure function of it.
#pragma once

#include <cstdint>

namespace trtllm_sim::executor
{

inline std::uint64_t mix64(std::uint64_t x) noexcept
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/// 53 random bits -> (0, 1].
inline double uniformOf(std::uint64_t bits) noexcept
{
    return (static_cast<double>(bits >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

} // namespace trtllm_sim::executor
