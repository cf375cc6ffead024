#pragma once
// The performance model's calibration (scripts/fit-perf-model.mjs), testing addon only:
//   simRecordWork(options, workload): runs the simulator on a workload of identical requests all queued at once
//     (as trtllm-bench throughput does) and returns every iteration's work (SimConfig::recordWork);
//   simPerfModelMs(options, work, efficiency): the modelled time of that work under other efficiency factors.
// With every request queued at once the schedule does not depend on time, so the work of one run is the work
// under any efficiency factors: a fit replays it instead of re-running the simulator.

#include <napi.h>

namespace trtllm_metrics::napi {

Napi::Value simRecordWork(Napi::CallbackInfo const& info);
Napi::Value simPerfModelMs(Napi::CallbackInfo const& info);

}  // namespace trtllm_metrics::napi
