#pragma once
// Conversions of executor data into JS values, on the JS thread only. Iteration stats keep the camelCase keys
// of TensorRT-LLM's JSON; KV events take the snake_case shape of its Python event JSON, hashes as BigInt.

#include <napi.h>

#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "bridge/detect.h"

namespace trtllm_metrics::napi {

template <typename T>
Napi::Value num(Napi::Env env, T v) {
    return Napi::Number::New(env, static_cast<double>(v));
}

// A JS array of convert(item) for every item.
template <typename T, typename Convert>
Napi::Array arrayToJs(Napi::Env env, std::vector<T> const& items, Convert&& convert) {
    auto arr = Napi::Array::New(env, items.size());
    for (std::size_t i = 0; i < items.size(); ++i) arr.Set(static_cast<uint32_t>(i), convert(items[i]));
    return arr;
}

template <typename KvStats>
Napi::Object kvCacheStatsToJs(Napi::Env env, KvStats const& s) {
    auto o = Napi::Object::New(env);
    o.Set("maxNumBlocks", num(env, s.maxNumBlocks));
    o.Set("freeNumBlocks", num(env, s.freeNumBlocks));
    o.Set("usedNumBlocks", num(env, s.usedNumBlocks));
    o.Set("tokensPerBlock", num(env, s.tokensPerBlock));
    o.Set("allocTotalBlocks", num(env, s.allocTotalBlocks));
    o.Set("allocNewBlocks", num(env, s.allocNewBlocks));
    o.Set("reusedBlocks", num(env, s.reusedBlocks));
    if constexpr (bridge::detect::HasMissedBlocks<KvStats>::value) o.Set("missedBlocks", num(env, s.missedBlocks));
    if constexpr (bridge::detect::HasCacheHitRate<KvStats>::value) o.Set("cacheHitRate", num(env, s.cacheHitRate));
    return o;
}

// One window size's kvCacheIterationStats (newer releases), with the JSON keys of its serialization.
template <typename KvIterStats>
Napi::Object kvCacheIterationStatsToJs(Napi::Env env, KvIterStats const& k) {
    auto o = Napi::Object::New(env);
    o.Set("primaryMaxNumBlocks", num(env, k.primaryMaxNumBlocks));
    o.Set("primaryFreeNumBlocks", num(env, k.primaryFreeNumBlocks));
    o.Set("primaryUsedNumBlocks", num(env, k.primaryUsedNumBlocks));
    o.Set("secondaryMaxNumBlocks", num(env, k.secondaryMaxNumBlocks));
    o.Set("secondaryFreeNumBlocks", num(env, k.secondaryFreeNumBlocks));
    o.Set("secondaryUsedNumBlocks", num(env, k.secondaryUsedNumBlocks));
    o.Set("iterAllocTotalBlocks", num(env, k.iterAllocTotalBlocks));
    o.Set("iterAllocNewBlocks", num(env, k.iterAllocNewBlocks));
    o.Set("iterReusedBlocks", num(env, k.iterReusedBlocks));
    o.Set("iterFullReusedBlocks", num(env, k.iterFullReusedBlocks));
    o.Set("iterPartialReusedBlocks", num(env, k.iterPartialReusedBlocks));
    o.Set("iterMissedBlocks", num(env, k.iterMissedBlocks));
    o.Set("iterCacheHitRate", num(env, k.iterCacheHitRate));
    o.Set("iterGenAllocBlocks", num(env, k.iterGenAllocBlocks));
    o.Set("iterOnboardBlocks", num(env, k.iterOnboardBlocks));
    o.Set("iterOnboardBytes", num(env, k.iterOnboardBytes));
    o.Set("iterOffloadBlocks", num(env, k.iterOffloadBlocks));
    o.Set("iterOffloadBytes", num(env, k.iterOffloadBytes));
    o.Set("iterIntraDeviceCopyBlocks", num(env, k.iterIntraDeviceCopyBlocks));
    o.Set("iterIntraDeviceCopyBytes", num(env, k.iterIntraDeviceCopyBytes));
    return o;
}

template <typename Stats>
Napi::Object iterationStatsToJs(Napi::Env env, Stats const& s) {
    auto o = Napi::Object::New(env);
    o.Set("timestamp", Napi::String::New(env, s.timestamp));
    o.Set("iter", num(env, s.iter));
    o.Set("iterLatencyMS", num(env, s.iterLatencyMS));
    o.Set("newActiveRequestsQueueLatencyMS", num(env, s.newActiveRequestsQueueLatencyMS));
    if constexpr (bridge::detect::HasNumNewActiveRequests<Stats>::value)
        o.Set("numNewActiveRequests", num(env, s.numNewActiveRequests));
    o.Set("numActiveRequests", num(env, s.numActiveRequests));
    o.Set("numQueuedRequests", num(env, s.numQueuedRequests));
    o.Set("numCompletedRequests", num(env, s.numCompletedRequests));
    o.Set("maxNumActiveRequests", num(env, s.maxNumActiveRequests));
    if constexpr (bridge::detect::HasMaxBatchSizeRuntime<Stats>::value) {
        o.Set("maxBatchSizeStatic", num(env, s.maxBatchSizeStatic));
        o.Set("maxBatchSizeTunerRecommended", num(env, s.maxBatchSizeTunerRecommended));
        o.Set("maxBatchSizeRuntime", num(env, s.maxBatchSizeRuntime));
    }
    if constexpr (bridge::detect::HasMaxNumTokensRuntime<Stats>::value) {
        o.Set("maxNumTokensStatic", num(env, s.maxNumTokensStatic));
        o.Set("maxNumTokensTunerRecommended", num(env, s.maxNumTokensTunerRecommended));
        o.Set("maxNumTokensRuntime", num(env, s.maxNumTokensRuntime));
    }
    o.Set("gpuMemUsage", num(env, s.gpuMemUsage));
    o.Set("cpuMemUsage", num(env, s.cpuMemUsage));
    o.Set("pinnedMemUsage", num(env, s.pinnedMemUsage));
    o.Set("kvCacheStats", s.kvCacheStats ? Napi::Value(kvCacheStatsToJs(env, *s.kvCacheStats)) : env.Null());
    o.Set("crossKvCacheStats",
          s.crossKvCacheStats ? Napi::Value(kvCacheStatsToJs(env, *s.crossKvCacheStats)) : env.Null());
    if (s.staticBatchingStats) {
        auto const& b = *s.staticBatchingStats;
        auto so = Napi::Object::New(env);
        so.Set("numScheduledRequests", num(env, b.numScheduledRequests));
        so.Set("numContextRequests", num(env, b.numContextRequests));
        so.Set("numCtxTokens", num(env, b.numCtxTokens));
        so.Set("numGenTokens", num(env, b.numGenTokens));
        so.Set("emptyGenSlots", num(env, b.emptyGenSlots));
        o.Set("staticBatchingStats", so);
    } else {
        o.Set("staticBatchingStats", env.Null());
    }
    if (s.inflightBatchingStats) {
        auto const& b = *s.inflightBatchingStats;
        auto io = Napi::Object::New(env);
        io.Set("numScheduledRequests", num(env, b.numScheduledRequests));
        io.Set("numContextRequests", num(env, b.numContextRequests));
        io.Set("numGenRequests", num(env, b.numGenRequests));
        io.Set("numPausedRequests", num(env, b.numPausedRequests));
        io.Set("numCtxTokens", num(env, b.numCtxTokens));
        io.Set("microBatchId", num(env, b.microBatchId));
        io.Set("avgNumDecodedTokensPerIter", num(env, b.avgNumDecodedTokensPerIter));
        o.Set("inflightBatchingStats", io);
    } else {
        o.Set("inflightBatchingStats", env.Null());
    }
    if constexpr (bridge::detect::HasSpecDecodingStats<Stats>::value) {
        if (s.specDecodingStats) {
            auto const& d = *s.specDecodingStats;
            auto so = Napi::Object::New(env);
            so.Set("numDraftTokens", num(env, d.numDraftTokens));
            so.Set("numAcceptedTokens", num(env, d.numAcceptedTokens));
            so.Set("numRequestsWithDraftTokens", num(env, d.numRequestsWithDraftTokens));
            so.Set("acceptanceLength", num(env, d.acceptanceLength));
            so.Set("iterLatencyMS", num(env, d.iterLatencyMS));
            so.Set("draftOverhead", num(env, d.draftOverhead));
            o.Set("specDecodingStats", so);
        } else {
            o.Set("specDecodingStats", env.Null());
        }
    }
    if (auto rank = bridge::detect::attentionDpRank(s)) o.Set("attentionDpRank", num(env, *rank));
    if constexpr (bridge::detect::HasKvCacheIterationStats<Stats>::value) {
        auto byWindow = Napi::Object::New(env);
        for (auto const& [window, k] : s.kvCacheIterationStats)
            byWindow.Set(std::to_string(window), kvCacheIterationStatsToJs(env, k));
        o.Set("kvCacheIterationStats", byWindow);
    }
    return o;
}

// The simulator's Executor::getEngineInfo() and getLoraAdapters() (engine.simInfo()).
template <typename Executor>
Napi::Object engineInfoToJs(Napi::Env env, Executor const& executor) {
    auto const i = executor.getEngineInfo();
    auto o = Napi::Object::New(env);
    o.Set("timingModel", Napi::String::New(env, i.timingModel));
    o.Set("attentionDp", num(env, i.attentionDp));
    o.Set("numKvBlocks", num(env, i.numKvBlocks));
    o.Set("numHostKvBlocks", num(env, i.numHostKvBlocks));
    o.Set("tokensPerBlock", num(env, i.tokensPerBlock));
    o.Set("maxBatchSize", num(env, i.maxBatchSize));
    o.Set("maxNumTokens", num(env, i.maxNumTokens));
    o.Set("modelSizeBytes", num(env, i.modelSizeBytes));
    o.Set("kvBytesPerBlock", num(env, i.kvBytesPerBlock));
    if (!i.gpu.empty()) {
        o.Set("gpu", Napi::String::New(env, i.gpu));
        o.Set("tp", num(env, i.tp));
        o.Set("weightsPrecision", Napi::String::New(env, i.weightsPrecision));
        o.Set("kvCachePrecision", Napi::String::New(env, i.kvCachePrecision));
    }
    o.Set("loraAdapters", arrayToJs(env, executor.getLoraAdapters(), [&](auto const& a) {
        auto ao = Napi::Object::New(env);
        ao.Set("rank", num(env, a.rank));
        ao.Set("taskId", num(env, a.taskId));
        return ao;
    }));
    return o;
}

inline Napi::Value hashToJs(Napi::Env env, std::uint64_t h) { return Napi::BigInt::New(env, h); }

template <typename Diff>
Napi::Value diffToJs(Napi::Env env, std::optional<Diff> const& d) {
    if (!d) return env.Null();
    auto o = Napi::Object::New(env);
    o.Set("type", "event_diff");
    o.Set("old_value", num(env, d->oldValue));
    o.Set("new_value", num(env, d->newValue));
    return o;
}

// loraId is std::optional in current releases and a plain integer in older ones.
template <typename T>
Napi::Value loraIdToJs(Napi::Env env, std::optional<T> const& id) {
    return id ? Napi::Value(Napi::BigInt::New(env, static_cast<uint64_t>(*id))) : env.Null();
}
template <typename T>
Napi::Value loraIdToJs(Napi::Env env, T const& id) {
    return Napi::BigInt::New(env, static_cast<uint64_t>(id));
}

template <typename Event>
Napi::Object kvEventToJs(Napi::Env env, Event const& e) {
    auto o = Napi::Object::New(env);
    o.Set("event_id", num(env, e.eventId));
    auto data = Napi::Object::New(env);
    std::visit(
        [&](auto const& d) {
            using D = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<D, std::decay_t<decltype(std::get<0>(e.data))>>) {
                data.Set("type", "created");
                auto levels = Napi::Array::New(env, d.numBlocksPerCacheLevel.size());
                for (std::size_t i = 0; i < d.numBlocksPerCacheLevel.size(); ++i)
                    levels.Set(static_cast<uint32_t>(i), num(env, d.numBlocksPerCacheLevel[i]));
                data.Set("num_blocks_per_cache_level", levels);
            } else if constexpr (std::is_same_v<D, std::decay_t<decltype(std::get<1>(e.data))>>) {
                data.Set("type", "stored");
                data.Set("parent_hash", d.parentHash ? hashToJs(env, *d.parentHash) : env.Null());
                auto blocks = Napi::Array::New(env, d.blocks.size());
                for (std::size_t i = 0; i < d.blocks.size(); ++i) {
                    auto const& b = d.blocks[i];
                    auto bo = Napi::Object::New(env);
                    bo.Set("type", "stored_block");
                    bo.Set("block_hash", hashToJs(env, b.blockHash));
                    auto tokens = Napi::Array::New(env, b.tokens.size());
                    for (std::size_t t = 0; t < b.tokens.size(); ++t) {
                        auto to = Napi::Object::New(env);
                        to.Set("type", "unique_token");
                        to.Set("token_id", num(env, b.tokens[t].tokenId));
                        to.Set("token_extra_id", Napi::BigInt::New(env, static_cast<uint64_t>(b.tokens[t].tokenExtraId)));
                        tokens.Set(static_cast<uint32_t>(t), to);
                    }
                    bo.Set("tokens", tokens);
                    bo.Set("lora_id", loraIdToJs(env, b.loraId));
                    bo.Set("cache_level", num(env, b.cacheLevel));
                    bo.Set("priority", num(env, b.priority));
                    blocks.Set(static_cast<uint32_t>(i), bo);
                }
                data.Set("blocks", blocks);
            } else if constexpr (std::is_same_v<D, std::decay_t<decltype(std::get<2>(e.data))>>) {
                data.Set("type", "removed");
                auto hashes = Napi::Array::New(env, d.blockHashes.size());
                for (std::size_t i = 0; i < d.blockHashes.size(); ++i)
                    hashes.Set(static_cast<uint32_t>(i), hashToJs(env, d.blockHashes[i]));
                data.Set("block_hashes", hashes);
            } else {
                data.Set("type", "updated");
                data.Set("block_hash", hashToJs(env, d.blockHash));
                data.Set("cache_level", diffToJs(env, d.cacheLevel));
                data.Set("priority", diffToJs(env, d.priority));
            }
        },
        e.data);
    o.Set("data", data);
    o.Set("window_size", num(env, e.windowSize));
    if (auto rank = bridge::detect::attentionDpRank(e)) o.Set("attention_dp_rank", num(env, *rank));
    return o;
}

}  // namespace trtllm_metrics::napi
