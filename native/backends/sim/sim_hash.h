#pragma once
// simBlockHash(parentHash: bigint | null, tokens: Int32Array): bigint — the simulator's block hash, exposed so
// tests can check that the hashes in KV events reach JS bit-exact (they use the full 64-bit range). Exported by
// the testing addon only (napi/testing/testing_addon.cc).

#include <napi.h>

#include <optional>

#include "sim/kv_cache_manager.h"

namespace trtllm_metrics::backends {

inline Napi::Value simBlockHash(Napi::CallbackInfo const& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, "expected (parentHash: bigint | null, tokens: Int32Array)");
    std::optional<std::uint64_t> parent;
    if (info[0].IsBigInt()) {
        bool lossless = false;
        parent = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
        if (!lossless) throw Napi::RangeError::New(env, "parentHash must fit in 64 bits");
    } else if (!info[0].IsNull()) {
        throw Napi::TypeError::New(env, "parentHash must be a bigint or null");
    }
    auto tokens = info[1].As<Napi::Int32Array>();
    auto h = trtllm_sim::executor::KvCacheManager::hashBlock(parent, tokens.Data(), static_cast<int>(tokens.ElementLength()));
    return Napi::BigInt::New(env, h);
}

}  // namespace trtllm_metrics::backends
