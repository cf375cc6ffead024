#pragma once
// options.sim.perf -> PerfModelConfig (the performance model; docs/simulator.md). lib/sim/model-config.ts has
// already resolved --model-config into the numbers of `perf.model`; without them the performance model is off.

#include <napi.h>

#include <optional>
#include <string>

#include "napi/js_options.h"
#include "sim/perf_model_config.h"

namespace trtllm_metrics::backends {

inline trtllm_sim::executor::Precision precisionFrom(Napi::Env env, std::string const& name, char const* what) {
    using trtllm_sim::executor::Precision;
    if (name == "fp16") return Precision::kFP16;
    if (name == "bf16") return Precision::kBF16;
    if (name == "fp8") return Precision::kFP8;
    if (name == "fp4") return Precision::kFP4;
    throw Napi::RangeError::New(env, std::string(what) + " must be one of fp16, bf16, fp8, fp4");
}

// The model's dimensions, by the names lib/sim/model-config.ts gives them.
inline trtllm_sim::executor::ModelSpec modelSpecFrom(Napi::Object m) {
    using Spec = trtllm_sim::executor::ModelSpec;
    static constexpr std::pair<char const*, int Spec::*> kDims[] = {
        {"numLayers", &Spec::numLayers},       {"hiddenSize", &Spec::hiddenSize},
        {"numHeads", &Spec::numHeads},         {"numKvHeads", &Spec::numKvHeads},
        {"headDim", &Spec::headDim},           {"intermediateSize", &Spec::intermediateSize},
        {"vocabSize", &Spec::vocabSize},
    };
    Spec spec;
    for (auto [key, field] : kDims) {
        auto v = napi::optInt32(m, key);
        if (!v) throw Napi::TypeError::New(m.Env(), std::string("sim.perf.model.") + key + " is required");
        spec.*field = *v;
    }
    spec.tieWordEmbeddings = napi::optBool(m, "tieWordEmbeddings").value_or(false);
    return spec;
}

// The efficiency factors given (the others keep their fitted values).
inline void efficiencyFrom(Napi::Object e, trtllm_sim::executor::PerfEfficiency& eff) {
    using Eff = trtllm_sim::executor::PerfEfficiency;
    static constexpr std::pair<char const*, double Eff::*> kFactors[] = {
        {"compute", &Eff::compute},
        {"memory", &Eff::memory},
        {"attention", &Eff::attention},
        {"interconnect", &Eff::interconnect},
        {"overheadMs", &Eff::overheadMs},
        {"allReduceLatencyUs", &Eff::allReduceLatencyUs},
        {"runtimeReserveGiB", &Eff::runtimeReserveGiB},
    };
    for (auto [key, field] : kFactors) {
        auto v = napi::optNumber(e, key);
        if (!v) continue;
        if (*v < 0) throw Napi::RangeError::New(e.Env(), std::string("sim.perf.efficiency.") + key + " must be >= 0");
        eff.*field = *v;
    }
}

inline std::optional<trtllm_sim::executor::PerfModelConfig> perfModelConfigFrom(Napi::Object perf) {
    Napi::Value model = perf.Get("model");
    if (model.IsUndefined() || model.IsNull()) return std::nullopt;
    if (!model.IsObject()) throw Napi::TypeError::New(perf.Env(), "sim.perf.model must be an object");
    trtllm_sim::executor::PerfModelConfig c;
    c.model = modelSpecFrom(model.As<Napi::Object>());
    if (auto v = napi::optString(perf, "gpu")) c.gpu = *v;
    if (auto v = napi::optString(perf, "quant")) c.weights = precisionFrom(perf.Env(), *v, "sim.perf.quant");
    if (auto v = napi::optString(perf, "kvCacheDtype"); v && *v != "auto")
        c.kvCache = precisionFrom(perf.Env(), *v, "sim.perf.kvCacheDtype");
    if (auto v = napi::optInt32(perf, "tp")) c.tp = *v;
    if (auto v = napi::optInt32(perf, "targetInputLen")) c.targetInputLen = *v;
    if (auto v = napi::optInt32(perf, "targetOutputLen")) c.targetOutputLen = *v;
    // Not an option of the table: the calibration (scripts/fit-perf-model.mjs) varies the fitted factors here.
    efficiencyFrom(napi::objectOr(perf, "efficiency"), c.efficiency);
    return c;
}

}  // namespace trtllm_metrics::backends
