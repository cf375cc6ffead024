// The one translation unit that instantiates the bridge over tensorrt_llm::executor.
#include "backends/trtllm/trtllm_backend.h"

#include <mutex>

#include "napi/engine_wrap.h"
#include "tensorrt_llm/plugins/api/tllmPlugin.h"

namespace trtllm_metrics::backends {

std::unique_ptr<TrtllmApi::Executor> TrtllmBackend::create(Config const& c) {
    static std::once_flag pluginsLoaded;
    std::call_once(pluginsLoaded, [] { initTrtLlmPlugins(); });
    return std::make_unique<TrtllmApi::Executor>(std::filesystem::path(c.engineDir),
                                                 tensorrt_llm::executor::ModelType::kDECODER_ONLY, c.executorConfig);
}

// The simulator-only pacing (scheduled arrivals, the clock hold) is detected on the API and compiled out here:
// JS rejects it for backend "trtllm", and the bridge would answer ERR_TRTLLM_UNSUPPORTED.
static_assert(!bridge::Bridge<TrtllmApi>::kHasSimArrivalTime, "TensorRT-LLM has no Request::setSimArrivalTime");
static_assert(!bridge::Bridge<TrtllmApi>::kHasClockHold, "TensorRT-LLM has no Executor::holdClock");

Napi::Function defineTrtllmEngine(Napi::Env env) { return napi::EngineWrap<TrtllmBackend>::define(env); }

}  // namespace trtllm_metrics::backends
