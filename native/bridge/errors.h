#pragma once
// What the bridge throws besides the executor's own exceptions; the N-API layer maps each to a JS error code.

#include <stdexcept>

namespace trtllm_metrics::bridge {

// The engine is shut down (ERR_TRTLLM_ENGINE_CLOSED).
class BridgeClosedError : public std::runtime_error {
public:
    BridgeClosedError() : std::runtime_error("the engine is shut down") {}
};

// A feature the executor does not have, e.g. the simulator's pacing asked of TensorRT-LLM (ERR_TRTLLM_UNSUPPORTED).
class BridgeUnsupportedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace trtllm_metrics::bridge
