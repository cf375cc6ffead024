#pragma once
// Which error responses mean that the executor itself failed, not one request. TensorRT-LLM's executor loop
// catches an exception of its forward step and answers every request in flight with the exception's text behind
// a fixed prefix (executorImpl.cpp, Executor::Impl::forwardAsync / forwardSync -> terminateActiveRequests); a
// CUDA or NCCL error there is sticky, so every later request fails the same way. The simulator's injected fatal
// fault (sim/faults.h) answers with the same prefix. Any other error response (an invalid request, a request's
// own failure) concerns that request only.

#include <string>

namespace trtllm_metrics::bridge {

inline bool isExecutorFault(std::string const& message) {
    static constexpr char const* kPrefixes[] = {
        "Encountered an error in forwardAsync function",
        "Encountered an error in forwardSync function",
    };
    for (char const* prefix : kPrefixes) {
        if (message.rfind(prefix, 0) == 0) return true;
    }
    return false;
}

}  // namespace trtllm_metrics::bridge
