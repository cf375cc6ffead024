// The one translation unit that instantiates the bridge over the simulator.
#include "backends/sim/sim_backend.h"

#include "napi/engine_wrap.h"

namespace trtllm_metrics::backends {

Napi::Function defineSimEngine(Napi::Env env) { return napi::EngineWrap<SimBackend>::define(env); }

}  // namespace trtllm_metrics::backends
