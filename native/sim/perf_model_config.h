// What selects and tunes the performance model (SimConfig::perfModel): the model, the GPU, the precisions, the
// tensor-parallel size, the target lengths of trtllm-bench's batch heuristic, and the efficiency factors.
#pragma once

#include "sim/model_spec.h"
#include "sim/types.h"

#include <optional>
#include <string>

namespace trtllm_sim::executor
{

/// How close the engine gets to the GPU's peaks, and its fixed costs in time and memory. The defaults are the
/// values fitted on
/// TensorRT-LLM 0.19.0's published H100 throughput (scripts/fit-perf-model.mjs; docs/simulator.md
/// "Calibration"); the same values apply to every GPU.
struct PerfEfficiency
{
    /// Achieved share of the dense tensor-core FLOP/s in the weight GEMMs.
    double compute{0.5591};
    /// Achieved share of the memory bandwidth when streaming weights and KV cache.
    double memory{0.7530};
    /// Achieved share of the tensor-core FLOP/s in context (prefill) attention (the fit reaches the bound).
    double attention{1.0};
    /// Achieved share of the GPU-to-GPU link bandwidth in all-reduces.
    double interconnect{0.6212};
    /// Fixed cost of one iteration (scheduling, kernel launches), ms. Fitted to 0: TensorRT-LLM's overlap
    /// scheduler prepares the next iteration while the GPU runs this one.
    double overheadMs{0.0};
    /// Latency of one all-reduce call, microseconds.
    double allReduceLatencyUs{76.83};
    /// GPU memory the runtime keeps besides weights, activations and KV cache (CUDA context, library workspaces,
    /// CUDA graph pools, allocator slack), GiB per GPU.
    double runtimeReserveGiB{4.0};
};

struct PerfModelConfig
{
    ModelSpec model;
    /// A name of gpuTable() (h100, h200, b200, a100, l40s).
    std::string gpu{"h100"};
    Precision weights{Precision::kBF16};
    /// KV cache precision; unset = fp8 for fp8 or fp4 weights, else the weights' precision.
    std::optional<Precision> kvCache;
    /// Tensor-parallel size: GPUs the engine spans.
    SizeType32 tp{1};
    /// Input and output lengths that trtllm-bench's maxBatchSize / maxNumTokens heuristic sizes the engine
    /// for (used when ExecutorConfig leaves them unset).
    SizeType32 targetInputLen{1024};
    SizeType32 targetOutputLen{1024};
    PerfEfficiency efficiency;
};

} // namespace trtllm_sim::executor
