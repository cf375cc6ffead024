#pragma once
// JS options -> Request and ExecutorConfig. Both executors share these class and setter names, so this is
// written once over the Api traits.

#include <napi.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <list>

#include "bridge/bridge.h"
#include "napi/js_options.h"

namespace trtllm_metrics::napi {

constexpr double kMaxInt32 = 2147483647.0;

template <typename Api>
typename Api::ExecutorConfig executorConfigFrom(Napi::Object options) {
    using ExecutorConfig = typename Api::ExecutorConfig;
    using KvCacheConfig = typename Api::KvCacheConfig;
    using SchedulerConfig = typename Api::SchedulerConfig;
    using Policy = typename Api::CapacitySchedulerPolicy;
    Napi::Object o = objectOr(options, "executorConfig");
    ExecutorConfig config;
    if (auto v = optInteger(o, "maxBatchSize", 1, kMaxInt32)) config.setMaxBatchSize(static_cast<int>(*v));
    if (auto v = optInteger(o, "maxNumTokens", 1, kMaxInt32)) config.setMaxNumTokens(static_cast<int>(*v));
    if (auto v = optInteger(o, "maxQueueSize", 1, kMaxInt32)) config.setMaxQueueSize(static_cast<int>(*v));
    if (auto v = optInteger(o, "iterStatsMaxIterations", 0, kMaxInt32))
        config.setIterStatsMaxIterations(static_cast<int>(*v));
    if (auto v = optInteger(o, "requestStatsMaxIterations", 0, kMaxInt32))
        config.setRequestStatsMaxIterations(static_cast<int>(*v));
    if (auto v = optBool(o, "enableChunkedContext")) config.setEnableChunkedContext(*v);
    if (auto policy = optString(o, "capacitySchedulerPolicy")) {
        Policy p;
        if (*policy == "GUARANTEED_NO_EVICT") p = Policy::kGUARANTEED_NO_EVICT;
        else if (*policy == "MAX_UTILIZATION") p = Policy::kMAX_UTILIZATION;
        else throw Napi::RangeError::New(o.Env(), "capacitySchedulerPolicy must be GUARANTEED_NO_EVICT or MAX_UTILIZATION");
        config.setSchedulerConfig(SchedulerConfig(p));
    }
    Napi::Object kv = objectOr(o, "kvCacheConfig");
    KvCacheConfig kvConfig;
    if (auto v = optBool(kv, "enableBlockReuse")) kvConfig.setEnableBlockReuse(*v);
    if (auto v = optInteger(kv, "maxTokens", 1, kMaxInt32)) kvConfig.setMaxTokens(static_cast<int>(*v));
    if (auto v = optNumber(kv, "freeGpuMemoryFraction")) {
        if (*v <= 0 || *v > 1) throw Napi::RangeError::New(o.Env(), "freeGpuMemoryFraction must be in (0, 1]");
        kvConfig.setFreeGpuMemoryFraction(static_cast<float>(*v));
    }
    if (auto v = optInteger(kv, "eventBufferMaxSize", 0, kMaxInt32))
        kvConfig.setEventBufferMaxSize(static_cast<std::size_t>(*v));
    config.setKvCacheConfig(kvConfig);
    return config;
}

// Capacities are bounded as in lib/engine-options.ts (BRIDGE_CAPACITY_MAX): the rings are allocated up front.
inline bridge::BridgeOptions bridgeOptionsFrom(Napi::Object options) {
    Napi::Object o = objectOr(options, "bridge");
    bridge::BridgeOptions b;
    if (auto v = optInteger(o, "responseQueueCapacity", 1, 1 << 20)) b.responseQueueCapacity = *v;
    if (auto v = optInteger(o, "recordQueueCapacity", 1, 1 << 20)) b.recordQueueCapacity = *v;
    if (auto v = optInteger(o, "statsQueueCapacity", 1, 1 << 16)) b.statsQueueCapacity = *v;
    if (auto v = optInteger(o, "eventQueueCapacity", 1, 1 << 20)) b.eventQueueCapacity = *v;
    if (auto v = optInteger(o, "statsIntervalMs", 1, 3600000)) b.statsInterval = std::chrono::milliseconds(*v);
    // A pump blocked in its poll holds shutdown until the poll times out (the executor cannot be shut down
    // before the pumps stop: its last responses and events are read after them), so polls stay short.
    if (auto v = optInteger(o, "responsePollMs", 1, 1000)) b.responsePollTimeout = std::chrono::milliseconds(*v);
    if (auto v = optInteger(o, "eventPollMs", 1, 1000)) b.eventPollTimeout = std::chrono::milliseconds(*v);
    return b;
}

template <typename Api>
typename Api::Request requestFrom(Napi::Object o, bridge::RequestMeta& meta) {
    using Request = typename Api::Request;
    using VecTokens = typename Api::VecTokens;
    Napi::Env env = o.Env();
    auto input = tokensFrom<VecTokens>(env, o.Get("inputTokenIds"), "inputTokenIds");
    auto maxTokens = optInteger(o, "maxTokens", -kMaxInt32, kMaxInt32);
    if (!maxTokens) throw Napi::TypeError::New(env, "maxTokens is required");
    typename Api::SamplingConfig sampling(1);
    Napi::Object s = objectOr(o, "samplingConfig");
    if (auto v = optInteger(s, "beamWidth", -kMaxInt32, kMaxInt32)) sampling.setBeamWidth(static_cast<int>(*v));
    if (auto v = optNumber(s, "temperature")) sampling.setTemperature(static_cast<float>(*v));
    if (auto v = optNumber(s, "topP")) sampling.setTopP(static_cast<float>(*v));
    if (auto v = optInteger(s, "topK", 0, kMaxInt32)) sampling.setTopK(static_cast<int>(*v));
    if (auto v = optInteger(s, "seed", 0, 9007199254740991.0)) sampling.setSeed(static_cast<std::uint64_t>(*v));
    if (auto v = optInteger(s, "numReturnSequences", -kMaxInt32, kMaxInt32)) {
        sampling.setNumReturnSequences(static_cast<int>(*v));
        meta.numSequences = static_cast<double>(*v);
    }
    typename Api::OutputConfig output;
    // Chunks carry generated tokens only; the caller already has the prompt.
    output.excludeInputFromOutput = true;
    // The metrics stream needs perf metrics for every request; the caller's flag decides what chunks carry.
    output.returnPerfMetrics = true;
    meta.wantPerfMetrics = optBool(o, "returnPerfMetrics").value_or(false);
    bool streaming = optBool(o, "streaming").value_or(false);
    Request request(std::move(input), static_cast<int>(*maxTokens), streaming, sampling, output);
    if (auto v = optInteger(o, "endId", -kMaxInt32, kMaxInt32)) request.setEndId(static_cast<int>(*v));
    if (auto v = optInteger(o, "padId", -kMaxInt32, kMaxInt32)) request.setPadId(static_cast<int>(*v));
    if (auto v = optInteger(o, "clientId", 0, 9007199254740991.0)) request.setClientId(static_cast<std::uint64_t>(*v));
    if (auto v = optNumber(o, "priority")) request.setPriority(static_cast<float>(*v));
    if (auto v = optInteger(o, "allottedTimeMs", 0, 9007199254740991.0))
        request.setAllottedTimeMs(std::chrono::milliseconds(*v));
    // Simulator-only: the bridge sets it on the request (or rejects it) in Bridge::enqueue.
    if (auto v = optNumber(o, "simArrivalTimeNs")) {
        if (!std::isfinite(*v) || *v <= 0 || *v > 9007199254740991.0)
            throw Napi::RangeError::New(env, "simArrivalTimeNs must be a positive number of nanoseconds");
        meta.simArrivalNs = *v;
    }
    Napi::Value stop = o.Get("stopWords");
    if (!stop.IsUndefined() && !stop.IsNull()) {
        if (!stop.IsArray()) throw Napi::TypeError::New(env, "stopWords must be an array of token arrays");
        auto arr = stop.As<Napi::Array>();
        std::list<VecTokens> words;
        for (uint32_t i = 0; i < arr.Length(); ++i) words.push_back(tokensFrom<VecTokens>(env, arr.Get(i), "stopWords[i]"));
        request.setStopWords(words);
    }
    return request;
}

}  // namespace trtllm_metrics::napi
