// Module init: one Engine class per compiled backend. The simulator is always built; the TensorRT-LLM backend
// only when CMake found TensorRT-LLM (TRTLLM_METRICS_HAVE_TRTLLM), so this is the one place a backend is chosen.
// Test-only entry points live in the testing addon (napi/testing/testing_addon.cc).

#include <napi.h>

#include "backends/sim/sim_backend.h"
#include "bridge/steady_epoch.h"
#include "napi/socket_backlog.h"

#ifdef TRTLLM_METRICS_HAVE_TRTLLM
#include "backends/trtllm/trtllm_backend.h"
#endif

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
    trtllm_metrics::bridge::steadyEpochNs();  // fix the epoch before any timestamp is taken
    exports.Set("SimEngine", trtllm_metrics::backends::defineSimEngine(env));
#ifdef TRTLLM_METRICS_HAVE_TRTLLM
    exports.Set("TrtllmEngine", trtllm_metrics::backends::defineTrtllmEngine(env));
#endif
    exports.Set("epochNs", Napi::BigInt::New(env, static_cast<int64_t>(trtllm_metrics::bridge::steadyEpochNs())));
    exports.Set("socketUnsentBytes", Napi::Function::New(env, trtllm_metrics::napi::socketUnsentBytes, "socketUnsentBytes"));
    return exports;
}

}  // namespace

NODE_API_MODULE(trtllm_metrics, init)
