#pragma once
// JS options -> Request, ExecutorConfig and BridgeOptions. Both executors share these class and setter names, so
// this is written once over the Api traits. Type conversion only (js_options.h says what is checked here).

#include <napi.h>

#include <chrono>
#include <list>
#include <optional>

#include "bridge/bridge.h"
#include "napi/js_options.h"

namespace trtllm_metrics::napi {

// executorConfig.kvCacheConfig.eventBufferMaxSize (the bridge reports it as the event buffer's capacity).
inline std::optional<std::size_t> eventBufferMaxSizeFrom(Napi::Object options) {
    Napi::Object kv = objectOr(objectOr(options, "executorConfig"), "kvCacheConfig");
    auto v = optSize(kv, "eventBufferMaxSize");
    return v ? std::optional<std::size_t>(static_cast<std::size_t>(*v)) : std::nullopt;
}

template <typename Api>
typename Api::ExecutorConfig executorConfigFrom(Napi::Object options) {
    using ExecutorConfig = typename Api::ExecutorConfig;
    using KvCacheConfig = typename Api::KvCacheConfig;
    using SchedulerConfig = typename Api::SchedulerConfig;
    using Policy = typename Api::CapacitySchedulerPolicy;
    Napi::Object o = objectOr(options, "executorConfig");
    ExecutorConfig config;
    if (auto v = optInt32(o, "maxBatchSize")) config.setMaxBatchSize(*v);
    if (auto v = optInt32(o, "maxNumTokens")) config.setMaxNumTokens(*v);
    if (auto v = optInt32(o, "maxQueueSize")) config.setMaxQueueSize(*v);
    if (auto v = optInt32(o, "iterStatsMaxIterations")) config.setIterStatsMaxIterations(*v);
    if (auto v = optInt32(o, "requestStatsMaxIterations")) config.setRequestStatsMaxIterations(*v);
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
    if (auto v = optInt32(kv, "maxTokens")) kvConfig.setMaxTokens(*v);
    if (auto v = optFloat(kv, "freeGpuMemoryFraction")) kvConfig.setFreeGpuMemoryFraction(*v);
    if (auto v = eventBufferMaxSizeFrom(options)) kvConfig.setEventBufferMaxSize(*v);
    if (auto v = optSize(kv, "hostCacheSize")) kvConfig.setHostCacheSize(static_cast<std::size_t>(*v));
    config.setKvCacheConfig(kvConfig);
    return config;
}

// The queues are allocated up front: their capacities are bounded so that a direct call cannot take the
// machine's memory (the same bounds as BRIDGE_CAPACITY_MAX in lib/engine-options.ts).
inline bridge::BridgeOptions bridgeOptionsFrom(Napi::Object options) {
    Napi::Object o = objectOr(options, "bridge");
    bridge::BridgeOptions b;
    if (auto v = optSize(o, "responseQueueCapacity", 1 << 20)) b.responseQueueCapacity = *v;
    if (auto v = optSize(o, "recordQueueCapacity", 1 << 20)) b.recordQueueCapacity = *v;
    if (auto v = optSize(o, "statsQueueCapacity", 1 << 16)) b.statsQueueCapacity = *v;
    if (auto v = optSize(o, "eventQueueCapacity", 1 << 20)) b.eventQueueCapacity = *v;
    if (auto v = optMillis(o, "statsIntervalMs")) b.statsInterval = std::chrono::milliseconds(*v);
    if (auto v = optMillis(o, "responsePollMs")) b.responsePollTimeout = std::chrono::milliseconds(*v);
    if (auto v = optMillis(o, "eventPollMs")) b.eventPollTimeout = std::chrono::milliseconds(*v);
    return b;
}

template <typename Api>
typename Api::Request requestFrom(Napi::Object o, bridge::RequestMeta& meta) {
    using Request = typename Api::Request;
    using VecTokens = typename Api::VecTokens;
    Napi::Env env = o.Env();
    auto input = tokensFrom<VecTokens>(env, o.Get("inputTokenIds"), "inputTokenIds");
    auto maxTokens = optInt32(o, "maxTokens");
    if (!maxTokens) throw Napi::TypeError::New(env, "maxTokens is required");
    typename Api::SamplingConfig sampling(1);
    Napi::Object s = objectOr(o, "samplingConfig");
    if (auto v = optInt32(s, "beamWidth")) sampling.setBeamWidth(*v);
    if (auto v = optFloat(s, "temperature")) sampling.setTemperature(*v);
    if (auto v = optFloat(s, "topP")) sampling.setTopP(*v);
    if (auto v = optInt32(s, "topK")) sampling.setTopK(*v);
    if (auto v = optSize(s, "seed")) sampling.setSeed(*v);
    if (auto v = optInt32(s, "numReturnSequences")) {
        sampling.setNumReturnSequences(*v);
        meta.numSequences = static_cast<double>(*v);
    }
    typename Api::OutputConfig output;
    // Chunks carry generated tokens only; the caller already has the prompt.
    output.excludeInputFromOutput = true;
    // The metrics stream needs perf metrics for every request; the caller's flag decides what chunks carry.
    output.returnPerfMetrics = true;
    meta.wantPerfMetrics = optBool(o, "returnPerfMetrics").value_or(false);
    bool streaming = optBool(o, "streaming").value_or(false);
    Request request(std::move(input), *maxTokens, streaming, sampling, output);
    if (auto v = optInt32(o, "endId")) request.setEndId(*v);
    if (auto v = optInt32(o, "padId")) request.setPadId(*v);
    if (auto v = optSize(o, "clientId")) request.setClientId(*v);
    if (auto v = optFloat(o, "priority")) request.setPriority(*v);
    if (auto v = optSize(o, "allottedTimeMs")) request.setAllottedTimeMs(std::chrono::milliseconds(*v));
    Napi::Object lora = objectOr(o, "loraConfig");
    if (auto v = optSize(lora, "taskId")) request.setLoraConfig(typename Api::LoraConfig(*v));
    // Applied by the backend's pacing in Bridge::enqueue (simulator only).
    if (auto v = optNumber(o, "simArrivalTimeNs")) {
        if (!isRelativeNs(*v)) throw Napi::RangeError::New(env, "simArrivalTimeNs must be within +-2^53 ns");
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
