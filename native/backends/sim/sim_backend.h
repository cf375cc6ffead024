#pragma once
// The `sim` backend: JS options -> (ExecutorConfig, SimConfig) on the JS thread; the executor is built on a
// worker thread. Option names are documented in lib/engine-options.ts, which validates them first; the
// simulator's validateConfig checks the configuration again (TllmException, an ExecutorError in JS).

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "backends/sim/sim_api.h"
#include "backends/sim/sim_perf_model.h"
#include "napi/config_from_js.h"
#include "napi/js_options.h"

namespace trtllm_metrics::backends {

struct SimBackend {
    using Api = SimApi;
    static constexpr char const* kName = "sim";
    static constexpr char const* kClassName = "SimEngine";

    struct Config {
        trtllm_sim::executor::ExecutorConfig executorConfig;
        trtllm_sim::executor::SimConfig sim;
    };

    // SimConfig fields read as they are, by their JS names (options.sim, options.sim.timing).
    using SimConfig = trtllm_sim::executor::SimConfig;
    template <typename T>
    using Field = std::pair<char const*, T SimConfig::*>;
    static constexpr Field<int> kInt32Fields[] = {
        {"tokensPerBlock", &SimConfig::tokensPerBlock}, {"numKvBlocks", &SimConfig::numKvBlocks},
        {"maxSeqLen", &SimConfig::maxSeqLen},           {"vocabSize", &SimConfig::vocabSize},
        {"specDraftLength", &SimConfig::specDraftLength}, {"attentionDp", &SimConfig::attentionDp},
    };
    static constexpr Field<double> kNumberFields[] = {
        {"meanOutputTokens", &SimConfig::meanOutputTokens},
        {"speedupRatio", &SimConfig::speedupRatio},
        {"specAcceptanceProbability", &SimConfig::specAcceptanceProbability},
    };
    static constexpr Field<double> kTimingFields[] = {
        {"prefillA", &SimConfig::prefillA}, {"prefillB", &SimConfig::prefillB}, {"prefillC", &SimConfig::prefillC},
        {"decodeD2", &SimConfig::decodeD2}, {"decodeD1", &SimConfig::decodeD1}, {"decodeD0", &SimConfig::decodeD0},
        {"decodeMinMs", &SimConfig::decodeMinMs}, {"hostTransferBytesPerS", &SimConfig::hostTransferBytesPerS},
        {"loraLoadMs", &SimConfig::loraLoadMs},
    };
    static constexpr Field<int> kLoraFields[] = {
        {"maxAdapters", &SimConfig::loraMaxAdapters},
        {"rank", &SimConfig::loraRank},
    };

    // SimFaultConfig fields (options.sim.faults); iteration numbers are absent for "never" (-1 here).
    using Faults = trtllm_sim::executor::SimFaultConfig;
    static constexpr std::pair<char const*, double Faults::*> kFaultNumberFields[] = {
        {"requestErrorProbability", &Faults::requestErrorProbability},
        {"stallMs", &Faults::stallMs},
        {"stallProbability", &Faults::stallProbability},
        {"slowIterationProbability", &Faults::slowIterationProbability},
        {"slowIterationFactor", &Faults::slowIterationFactor},
    };
    static constexpr std::pair<char const*, std::int64_t Faults::*> kFaultIterationFields[] = {
        {"stallAtIteration", &Faults::stallAtIteration},
        {"fatalAtIteration", &Faults::fatalAtIteration},
        {"kvEventBurstAtIteration", &Faults::kvEventBurstAtIteration},
    };

    static Faults parseFaults(Napi::Object s) {
        using namespace napi;
        Faults f;
        Napi::Object o = objectOr(s, "faults");
        if (auto v = optSize(o, "seed")) f.seed = *v;
        for (auto [key, field] : kFaultNumberFields)
            if (auto v = optNumber(o, key)) f.*field = *v;
        for (auto [key, field] : kFaultIterationFields)
            if (auto v = optSize(o, key)) f.*field = static_cast<std::int64_t>(*v);
        if (auto v = optInt32(o, "kvEventBurstSize")) f.kvEventBurstSize = *v;
        return f;
    }

    static Config parse(Napi::Object options) {
        using namespace napi;
        using Mode = trtllm_sim::executor::SimConfig::OutputLengthMode;
        Config c;
        c.executorConfig = executorConfigFrom<Api>(options);
        Napi::Object s = objectOr(options, "sim");
        auto& sim = c.sim;
        for (auto [key, field] : kInt32Fields)
            if (auto v = optInt32(s, key)) sim.*field = *v;
        for (auto [key, field] : kNumberFields)
            if (auto v = optNumber(s, key)) sim.*field = *v;
        Napi::Object t = objectOr(s, "timing");
        for (auto [key, field] : kTimingFields)
            if (auto v = optNumber(t, key)) sim.*field = *v;
        Napi::Object l = objectOr(s, "lora");
        for (auto [key, field] : kLoraFields)
            if (auto v = optInt32(l, key)) sim.*field = *v;
        sim.perfModel = perfModelConfigFrom(objectOr(s, "perf"));
        if (auto v = optString(s, "outputLengthMode")) {
            if (*v == "maxTokens") sim.outputLengthMode = Mode::kMaxTokens;
            else if (*v == "endIdGeometric") sim.outputLengthMode = Mode::kEndIdGeometric;
            else throw Napi::RangeError::New(options.Env(), "sim.outputLengthMode must be maxTokens or endIdGeometric");
        }
        if (auto v = optSize(s, "seed")) sim.seed = *v;
        if (auto v = optBool(s, "virtualClock")) sim.virtualClock = *v;
        if (auto v = optBool(s, "lockstep")) sim.lockstep = *v;
        if (auto v = optBytes(s, "modelSizeBytes")) sim.modelSizeBytes = *v;
        if (auto v = optBytes(s, "kvBytesPerBlock")) sim.kvBytesPerBlock = *v;
        sim.faults = parseFaults(s);
        return c;
    }

    static std::size_t eventBufferCapacity(Config const& c) {
        return c.executorConfig.getKvCacheConfig().getEventBufferMaxSize();
    }

    // Worker thread. Throws TllmException (a std::runtime_error) on an invalid configuration.
    static std::unique_ptr<Api::Executor> create(Config const& c) {
        return std::make_unique<Api::Executor>(c.sim, trtllm_sim::executor::ModelType::kDECODER_ONLY, c.executorConfig);
    }
};

// Defined in sim_engine.cc: the JS class over Bridge<SimApi>.
Napi::Function defineSimEngine(Napi::Env env);

}  // namespace trtllm_metrics::backends
