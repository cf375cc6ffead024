// The performance model (docs/simulator.md "Performance model"): a model (ModelSpec) in some precision on a GPU
// (GpuSpec) split over `tp` GPUs predicts
//   - the engine's memory: weights and activations per GPU, and the KV blocks that fit in a fraction of the rest;
//   - the batch limits trtllm-bench would pick (its maxBatchSize / maxNumTokens heuristic);
//   - each iteration's time from its work: every GEMM and the decode attention against the GPU's roofline
//     (time = max(FLOPs / achieved FLOP/s, bytes / achieved bandwidth)), context attention against the
//     tensor cores, the tensor-parallel all-reduces over the GPU links, host transfers over PCIe, and fixed costs.
// With attention data parallelism (dp ranks) each rank runs attention on tp / dp GPUs for its own requests while
// the MLP stays split over all tp GPUs and sees every rank's tokens; an iteration lasts as long as its slowest rank.
#pragma once

#include "sim/gpu_specs.h"
#include "sim/iteration_work.h"
#include "sim/perf_model_config.h"

#include <vector>

namespace trtllm_sim::executor
{

class PerfModel
{
public:
    /// Throws std::invalid_argument saying what is wrong: an unknown GPU, a precision the GPU has no units for,
    /// a non-positive dimension, tp not a multiple of attentionDp.
    PerfModel(PerfModelConfig const& config, SizeType32 attentionDp);

    struct BatchLimits
    {
        SizeType32 maxBatchSize{0};
        SizeType32 maxNumTokens{0};
    };

    /// trtllm-bench's heuristic (tensorrt_llm/bench/build/tuning.py, calc_engine_setting and finetune_setting):
    /// the requests of targetInputLen + targetOutputLen tokens whose KV cache fits in the fraction of the memory
    /// the weights leave, rounded up to a bucket and capped at 4096; tokens = requests * (1 + ISL / OSL), capped
    /// at 32768 and rounded up to a bucket of at least 2048. Its memory estimate is its own (parameters times
    /// bytes per element), not memory()'s.
    [[nodiscard]] BatchLimits benchHeuristic(double freeGpuMemoryFraction) const;

    struct Memory
    {
        /// Weights on one GPU.
        double weightBytes{0};
        /// Runtime reserve and activations of a maxNumTokens step on one GPU.
        double reservedBytes{0};
        /// KV cache of one token on one GPU.
        double kvBytesPerToken{0};
        /// KV cache of one block on one GPU.
        double kvBytesPerBlock{0};
        /// Blocks of each rank's KV pool: freeGpuMemoryFraction of what weights and reserve leave.
        SizeType32 kvBlocks{0};
    };

    /// Throws std::invalid_argument when the weights and reserve do not fit in the GPU's memory.
    [[nodiscard]] Memory memory(
        SizeType32 tokensPerBlock, double freeGpuMemoryFraction, SizeType32 maxBatchSize, SizeType32 maxNumTokens) const;

    /// Bytes of one LoRA adapter of this rank on one GPU (every projection of every layer, 16-bit).
    [[nodiscard]] double adapterBytes(SizeType32 loraRank) const;

    /// The forward step of one iteration, ms: the slowest rank's attention side plus the shared MLP, the
    /// all-reduces and the fixed costs. 0 when no rank has work.
    [[nodiscard]] double stepMs(std::vector<IterationWork> const& ranks) const;

    /// Time of a host transfer of `bytes` per GPU over PCIe, ms.
    [[nodiscard]] double hostTransferMs(double bytes) const;

    [[nodiscard]] GpuSpec const& gpu() const { return mGpu; }
    [[nodiscard]] PerfModelConfig const& config() const { return mConfig; }
    [[nodiscard]] Precision kvPrecision() const { return mKvPrecision; }

private:
    /// Roofline time of one operation, seconds.
    [[nodiscard]] double roofline(double flops, double flopsPerS, double bytes) const;
    /// Ring all-reduce of `bytes` among n GPUs, seconds.
    [[nodiscard]] double allReduceS(double bytes, SizeType32 n) const;

    PerfModelConfig mConfig;
    GpuSpec mGpu;
    Precision mKvPrecision;
    SizeType32 mDp;
    /// GPUs of one rank's attention (tp / dp).
    SizeType32 mAttentionTp;
};

} // namespace trtllm_sim::executor
