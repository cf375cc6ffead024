#pragma once
// Writes a delivery's KV-cache events in the packed layout of bridge/kv_event_layout.h: a few typed arrays
// per delivery instead of an object per event, block and token (the objects cost ~0.5 us per token here
// and a garbage collector's worth of retained objects); lib/kv-event-batch.ts builds the Python-shaped event
// objects from them when someone asks for objects. JS thread only.

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

#include "bridge/detect.h"
#include "bridge/kv_event_layout.h"

namespace trtllm_metrics::napi {

namespace kv_packed {

// loraId is std::optional in current releases and a plain integer in older ones (then always present).
template <typename T>
std::optional<std::uint64_t> loraOf(std::optional<T> const& id) {
    return id ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*id)) : std::nullopt;
}
template <typename T>
std::optional<std::uint64_t> loraOf(T const& id) {
    return static_cast<std::uint64_t>(id);
}

template <typename Diff>
void diffInto(double* oldValue, double* newValue, std::optional<Diff> const& d) {
    *oldValue = d ? static_cast<double>(d->oldValue) : std::numeric_limits<double>::quiet_NaN();
    *newValue = d ? static_cast<double>(d->newValue) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace kv_packed

template <typename Event>
Napi::Object kvEventsToJs(Napi::Env env, std::vector<Event> const& events) {
    using namespace bridge;
    using StoredData = std::decay_t<decltype(std::get<1>(events.front().data))>;
    using RemovedData = std::decay_t<decltype(std::get<2>(events.front().data))>;
    using CreatedData = std::decay_t<decltype(std::get<0>(events.front().data))>;
    // Sizes first, so every array is allocated once.
    std::size_t nBlocks = 0, nHashes = 0, nTokens = 0, nLevels = 0;
    bool extra = false;
    for (auto const& e : events) {
        std::visit(
            [&](auto const& d) {
                using D = std::decay_t<decltype(d)>;
                if constexpr (std::is_same_v<D, StoredData>) {
                    nBlocks += d.blocks.size();
                    nHashes += 1 + 2 * d.blocks.size();  // parent, block hashes, LoRA ids
                    for (auto const& b : d.blocks) {
                        nTokens += b.tokens.size();
                        for (auto const& t : b.tokens) extra = extra || t.tokenExtraId != 0;
                    }
                } else if constexpr (std::is_same_v<D, RemovedData>) {
                    nHashes += d.blockHashes.size();
                } else if constexpr (std::is_same_v<D, CreatedData>) {
                    nLevels += d.numBlocksPerCacheLevel.size();
                } else {
                    nHashes += 1;
                }
            },
            e.data);
    }
    auto meta = Napi::Float64Array::New(env, events.size() * kKvEventStride);
    auto blocks = Napi::Float64Array::New(env, nBlocks * kKvBlockStride);
    auto hashes = Napi::BigUint64Array::New(env, nHashes);
    auto tokens = Napi::Int32Array::New(env, nTokens);
    auto extraIds = Napi::BigUint64Array::New(env, extra ? nTokens : 0);
    auto levels = Napi::Float64Array::New(env, nLevels);
    std::size_t block = 0, hash = 0, token = 0, level = 0;
    auto addHash = [&](std::uint64_t h) {
        hashes[hash] = h;
        return static_cast<double>(hash++);
    };
    for (std::size_t i = 0; i < events.size(); ++i) {
        auto const& e = events[i];
        double* m = meta.Data() + i * kKvEventStride;
        m[kKvEventId] = static_cast<double>(e.eventId);
        m[kKvEventWindowSize] = static_cast<double>(e.windowSize);
        auto const rank = detect::attentionDpRank(e);
        m[kKvEventDpRank] = rank ? static_cast<double>(*rank) : -1;
        m[kKvEventParentHash] = -1;
        m[kKvEventCacheLevelOld] = m[kKvEventCacheLevelNew] = m[kKvEventPriorityOld] = m[kKvEventPriorityNew] =
            std::numeric_limits<double>::quiet_NaN();
        std::visit(
            [&](auto const& d) {
                using D = std::decay_t<decltype(d)>;
                if constexpr (std::is_same_v<D, StoredData>) {
                    m[kKvEventType] = kKvEventStored;
                    if (d.parentHash) m[kKvEventParentHash] = addHash(*d.parentHash);
                    m[kKvEventFirst] = static_cast<double>(block);
                    m[kKvEventCount] = static_cast<double>(d.blocks.size());
                    for (auto const& b : d.blocks) {
                        double* r = blocks.Data() + block++ * kKvBlockStride;
                        r[kKvBlockHash] = addHash(b.blockHash);
                        r[kKvBlockTokenOffset] = static_cast<double>(token);
                        r[kKvBlockTokenCount] = static_cast<double>(b.tokens.size());
                        auto const lora = kv_packed::loraOf(b.loraId);
                        r[kKvBlockLoraId] = lora ? addHash(*lora) : -1;
                        r[kKvBlockCacheLevel] = static_cast<double>(b.cacheLevel);
                        r[kKvBlockPriority] = static_cast<double>(b.priority);
                        for (auto const& t : b.tokens) {
                            if (extra) extraIds[token] = static_cast<std::uint64_t>(t.tokenExtraId);
                            tokens[token++] = static_cast<std::int32_t>(t.tokenId);
                        }
                    }
                } else if constexpr (std::is_same_v<D, RemovedData>) {
                    m[kKvEventType] = kKvEventRemoved;
                    m[kKvEventFirst] = static_cast<double>(hash);
                    m[kKvEventCount] = static_cast<double>(d.blockHashes.size());
                    for (auto h : d.blockHashes) addHash(h);
                } else if constexpr (std::is_same_v<D, CreatedData>) {
                    m[kKvEventType] = kKvEventCreated;
                    m[kKvEventFirst] = static_cast<double>(level);
                    m[kKvEventCount] = static_cast<double>(d.numBlocksPerCacheLevel.size());
                    for (auto n : d.numBlocksPerCacheLevel) levels[level++] = static_cast<double>(n);
                } else {
                    m[kKvEventType] = kKvEventUpdated;
                    m[kKvEventFirst] = addHash(d.blockHash);
                    m[kKvEventCount] = 1;
                    kv_packed::diffInto(&m[kKvEventCacheLevelOld], &m[kKvEventCacheLevelNew], d.cacheLevel);
                    kv_packed::diffInto(&m[kKvEventPriorityOld], &m[kKvEventPriorityNew], d.priority);
                }
            },
            e.data);
    }
    auto o = Napi::Object::New(env);
    o.Set("meta", meta);
    o.Set("blocks", blocks);
    o.Set("hashes", nHashes == hash ? hashes : Napi::BigUint64Array::New(env, hash, hashes.ArrayBuffer(), 0));
    o.Set("tokens", tokens);
    o.Set("extraIds", extraIds);
    o.Set("levels", levels);
    return o;
}

}  // namespace trtllm_metrics::napi
