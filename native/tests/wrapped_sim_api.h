#pragma once
// The Api traits of a test executor that wraps the simulator's to give it another shape (TensorRT-LLM's, where
// the two differ): the simulator's types, the wrapper as the Executor, and no pacing.

#include "backends/sim/sim_api.h"
#include "bridge/pacing.h"

namespace trtllm_metrics::tests {

template <typename WrappedExecutor>
struct WrappedSimApi : backends::SimApi {
    using Executor = WrappedExecutor;
    using Pacing = bridge::UnsupportedPacing;
    static auto now(Executor const& e) { return e.now(); }
    static int initialTokensPerBlock(Executor const& e) { return e.getTokensPerBlock(); }
};

}  // namespace trtllm_metrics::tests
