// Module init of trtllm_metrics_testing.node: entry points for tests and benchmarks only, kept out of the
// production addon. Loaded by lib/testing.ts (loadTestingAddon), never by lib/index.ts or lib/native.ts.

#include <napi.h>

#include "backends/sim/sim_hash.h"
#include "napi/testing/calibration.h"
#include "napi/testing/firehose.h"
#include "napi/testing/layouts.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
    exports.Set("firehose", Napi::Function::New(env, trtllm_metrics::napi::firehose, "firehose"));
    exports.Set("simBlockHash", Napi::Function::New(env, trtllm_metrics::backends::simBlockHash, "simBlockHash"));
    exports.Set("layouts", Napi::Function::New(env, trtllm_metrics::napi::layouts, "layouts"));
    exports.Set("simRecordWork", Napi::Function::New(env, trtllm_metrics::napi::simRecordWork, "simRecordWork"));
    exports.Set("simPerfModelMs", Napi::Function::New(env, trtllm_metrics::napi::simPerfModelMs, "simPerfModelMs"));
    return exports;
}

}  // namespace

NODE_API_MODULE(trtllm_metrics_testing, init)
