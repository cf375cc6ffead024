// Helpers of the KV cache manager's unit tests (sim_components_test.cc, kv_tiers_test.cc).
#pragma once

#include "sim/kv_cache_manager.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace kv_test
{

namespace sim = trtllm_sim::executor;

/// n consecutive token ids from `base`.
inline sim::VecTokens seqTokens(int n, int base)
{
    sim::VecTokens t(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
    {
        t[static_cast<std::size_t>(i)] = base + i;
    }
    return t;
}

/// Admits a sequence of `tokens` (reusing what matches), computes all of it, returns it.
inline sim::KvSequence runSequence(sim::KvCacheManager& kv, sim::VecTokens const& tokens,
    sim::KvCacheRetentionConfig const* retention = nullptr, std::optional<std::uint64_t> lora = std::nullopt)
{
    sim::KvSequence seq;
    seq.promptLen = static_cast<sim::SizeType32>(tokens.size());
    seq.retention = retention;
    seq.loraId = lora;
    sim::KvCacheManager::computeBlockHashes(seq, tokens.data(), seq.promptLen, kv.getTokensPerBlock());
    std::vector<sim::BlockId> matched;
    kv.findReusable(seq, seq.promptLen, matched);
    kv.admit(seq, matched, seq.promptLen);
    kv.extend(seq, seq.promptLen, tokens.data());
    return seq;
}

inline std::vector<sim::KVCacheEventData> takeEvents(sim::KvCacheManager& kv)
{
    std::vector<sim::KVCacheEventData> events;
    kv.takeEvents(events);
    return events;
}

} // namespace kv_test
