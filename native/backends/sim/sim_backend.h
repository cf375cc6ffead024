#pragma once
// The `sim` backend: JS options -> (ExecutorConfig, SimConfig) on the JS thread; the executor is built on a
// worker thread. Option names are documented in lib/engine-options.ts, which validates them first.

#include <napi.h>

#include <memory>
#include <string>

#include "backends/sim/sim_api.h"
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

    static Config parse(Napi::Object options) {
        using namespace napi;
        using Mode = trtllm_sim::executor::SimConfig::OutputLengthMode;
        Config c;
        c.executorConfig = executorConfigFrom<Api>(options);
        Napi::Object s = objectOr(options, "sim");
        auto& sim = c.sim;
        if (auto v = optInteger(s, "tokensPerBlock", 1, 65536)) sim.tokensPerBlock = static_cast<int>(*v);
        if (auto v = optInteger(s, "numKvBlocks", 1, kMaxInt32)) sim.numKvBlocks = static_cast<int>(*v);
        if (auto v = optInteger(s, "maxSeqLen", 1, kMaxInt32)) sim.maxSeqLen = static_cast<int>(*v);
        if (auto v = optInteger(s, "vocabSize", 2, kMaxInt32)) sim.vocabSize = static_cast<int>(*v);
        if (auto v = optString(s, "outputLengthMode")) {
            if (*v == "maxTokens") sim.outputLengthMode = Mode::kMaxTokens;
            else if (*v == "endIdGeometric") sim.outputLengthMode = Mode::kEndIdGeometric;
            else throw Napi::RangeError::New(options.Env(), "sim.outputLengthMode must be maxTokens or endIdGeometric");
        }
        if (auto v = optNumber(s, "meanOutputTokens")) sim.meanOutputTokens = *v;
        if (auto v = optInteger(s, "seed", 0, 9007199254740991.0)) sim.seed = static_cast<std::uint64_t>(*v);
        if (auto v = optNumber(s, "speedupRatio")) sim.speedupRatio = *v;
        if (auto v = optBool(s, "virtualClock")) sim.virtualClock = *v;
        if (auto v = optBool(s, "lockstep")) sim.lockstep = *v;
        if (auto v = optNumber(s, "modelSizeBytes")) sim.modelSizeBytes = static_cast<std::size_t>(*v);
        if (auto v = optNumber(s, "kvBytesPerBlock")) sim.kvBytesPerBlock = static_cast<std::size_t>(*v);
        if (auto v = optInteger(s, "specDraftLength", 0, 64)) sim.specDraftLength = static_cast<int>(*v);
        if (auto v = optNumber(s, "specAcceptanceProbability")) sim.specAcceptanceProbability = *v;
        Napi::Object t = objectOr(s, "timing");
        if (auto v = optNumber(t, "prefillA")) sim.prefillA = *v;
        if (auto v = optNumber(t, "prefillB")) sim.prefillB = *v;
        if (auto v = optNumber(t, "prefillC")) sim.prefillC = *v;
        if (auto v = optNumber(t, "decodeD2")) sim.decodeD2 = *v;
        if (auto v = optNumber(t, "decodeD1")) sim.decodeD1 = *v;
        if (auto v = optNumber(t, "decodeD0")) sim.decodeD0 = *v;
        if (auto v = optNumber(t, "decodeMinMs")) sim.decodeMinMs = *v;
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
