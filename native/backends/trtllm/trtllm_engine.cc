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

Napi::Function defineTrtllmEngine(Napi::Env env) { return napi::EngineWrap<TrtllmBackend>::define(env); }

}  // namespace trtllm_metrics::backends
