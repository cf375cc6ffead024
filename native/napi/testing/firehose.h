#pragma once
// A benchmark entry point: pushes synthetic finished-request records from a native thread into JS through the
// same ring and coalesced thread-safe call the bridge uses ("batched"), or with one call per record
// ("perItem"), so scripts/bench can compare both in one process.

#include <napi.h>

namespace trtllm_metrics::napi {

// firehose({ records: number, mode: 'batched' | 'perItem', ringCapacity?: number, pushBatch?: number }, onBatch)
//   -> Promise<{ produced, delivered, dropped, producerNs }>
Napi::Value firehose(Napi::CallbackInfo const& info);

}  // namespace trtllm_metrics::napi
