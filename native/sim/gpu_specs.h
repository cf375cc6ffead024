// The GPUs the performance model knows: memory, memory bandwidth, dense tensor-core FLOP/s per precision and
// the links (GPU-to-GPU for tensor parallelism, GPU-to-host for KV offload and adapter loads). Figures are the
// vendors' datasheet numbers (docs/simulator.md "GPUs" cites them); the efficiency factors of the performance
// model turn them into achieved rates.
#pragma once

#include "sim/model_spec.h"

#include <string>
#include <vector>

namespace trtllm_sim::executor
{

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

struct GpuSpec
{
    /// Lower-case name used by --gpu (h100, h200, b200, a100, l40s).
    std::string name;
    /// What the datasheet calls it.
    std::string description;
    /// Device memory as the driver reports it (the datasheet's "80GB" is 80 GiB of HBM).
    double memoryBytes{0};
    /// Bytes per second of device memory.
    double memoryBandwidth{0};
    /// Dense (no sparsity) tensor-core FLOP/s for 16-bit, 8-bit float and 4-bit float operands; 0 = none.
    double flopsFp16{0};
    double flopsFp8{0};
    double flopsFp4{0};
    /// Bytes per second each way between two GPUs (NVLink: half the bidirectional figure; PCIe without it).
    double interconnectBandwidth{0};
    /// Bytes per second each way between the GPU and host memory (PCIe x16).
    double hostLinkBandwidth{0};

    /// Dense FLOP/s of matrix products whose operands have precision `p` (0 when the GPU has no such units).
    [[nodiscard]] double flops(Precision p) const noexcept
    {
        switch (p)
        {
        case Precision::kFP16:
        case Precision::kBF16: return flopsFp16;
        case Precision::kFP8: return flopsFp8;
        case Precision::kFP4: return flopsFp4;
        }
        return flopsFp16;
    }
};

/// The table, in --gpu order.
[[nodiscard]] std::vector<GpuSpec> const& gpuTable();

/// The GPU of that name, or null.
[[nodiscard]] GpuSpec const* findGpu(std::string const& name);

} // namespace trtllm_sim::executor
