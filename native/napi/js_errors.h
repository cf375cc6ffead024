#pragma once
// C++ exceptions never cross into JS unconverted: every call from JS that can reach the executor (or its
// setters, which TensorRT-LLM makes throw on bad values) runs inside callConverting, and the exception becomes
// a JS Error with a stable `code` that lib/engine.ts maps onto its error classes.

#include <napi.h>

#include <exception>
#include <string>

#include "bridge/errors.h"

namespace trtllm_metrics::napi {

inline Napi::Error errorWithCode(Napi::Env env, std::string const& message, char const* code) {
    Napi::Error e = Napi::Error::New(env, message);
    e.Value().Set("code", Napi::String::New(env, code));
    return e;
}

// Runs fn(). Napi errors (the TypeError / RangeError of option reading) pass through; the bridge's own errors
// and every other exception are converted.
template <typename Fn>
auto callConverting(Napi::Env env, Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (Napi::Error const&) {
        throw;
    } catch (bridge::BridgeClosedError const& e) {
        throw errorWithCode(env, e.what(), "ERR_TRTLLM_ENGINE_CLOSED");
    } catch (bridge::BridgeUnsupportedError const& e) {
        throw errorWithCode(env, e.what(), "ERR_TRTLLM_UNSUPPORTED");
    } catch (std::exception const& e) {
        throw errorWithCode(env, e.what(), "ERR_TRTLLM_EXECUTOR");
    } catch (...) {
        throw errorWithCode(env, "unknown native exception", "ERR_TRTLLM_EXECUTOR");
    }
}

}  // namespace trtllm_metrics::napi
