#pragma once
// The `sim` backend: JS options -> (ExecutorConfig, SimConfig) on the JS thread; the executor is built on a
// worker thread. Option names are documented in lib/engine-options.ts, which validates them first; the
// simulator's validateConfig checks the configuration again (TllmException, an ExecutorError in JS).

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
        if (auto v = optInt32(s, "tokensPerBlock")) sim.tokensPerBlock = *v;
        if (auto v = optInt32(s, "numKvBlocks")) sim.numKvBlocks = *v;
        if (auto v = optInt32(s, "maxSeqLen")) sim.maxSeqLen = *v;
        if (auto v = optInt32(s, "vocabSize")) sim.vocabSize = *v;
        if (auto v = optString(s, "outputLengthMode")) {
            if (*v == "maxTokens") sim.outputLengthMode = Mode::kMaxTokens;
            else if (*v == "endIdGeometric") sim.outputLengthMode = Mode::kEndIdGeometric;
            else throw Napi::RangeError::New(options.Env(), "sim.outputLengthMode must be maxTokens or endIdGeometric");
        }
        if (auto v = optNumber(s, "meanOutputTokens")) sim.meanOutputTokens = *v;
        if (auto v = optSize(s, "seed")) sim.seed = *v;
        if (auto v = optNumber(s, "speedupRatio")) sim.speedupRatio = *v;
        if (auto v = optBool(s, "virtualClock")) sim.virtualClock = *v;
        if (auto v = optBool(s, "lockstep")) sim.lockstep = *v;
        if (auto v = optBytes(s, "modelSizeBytes")) sim.modelSizeBytes = *v;
        if (auto v = optBytes(s, "kvBytesPerBlock")) sim.kvBytesPerBlock = *v;
        if (auto v = optInt32(s, "specDraftLength")) sim.specDraftLength = *v;
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
