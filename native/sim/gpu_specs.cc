#include "sim/gpu_specs.h"

namespace trtllm_sim::executor
{

namespace
{

constexpr double kTB = 1e12;
constexpr double kGB = 1e9;
constexpr double kTflops = 1e12;

// Datasheet figures (dense = half the "with sparsity" tensor-core numbers). NVLink figures are the total
// bidirectional bandwidth per GPU, halved for one direction. Host links are PCIe x16 per direction
// (Gen5: 64 GB/s, Gen4: 32 GB/s).
std::vector<GpuSpec> makeTable()
{
    return {
        {"h100", "H100 SXM 80GB (HBM3)", 80 * kGiB, 3.35 * kTB, 989 * kTflops, 1979 * kTflops, 0, 900 * kGB / 2,
            64 * kGB},
        {"h200", "H200 SXM 141GB (HBM3e)", 141 * kGiB, 4.8 * kTB, 989 * kTflops, 1979 * kTflops, 0, 900 * kGB / 2,
            64 * kGB},
        {"b200", "B200 180GB (HBM3e)", 180 * kGiB, 8.0 * kTB, 2250 * kTflops, 4500 * kTflops, 9000 * kTflops,
            1800 * kGB / 2, 64 * kGB},
        {"a100", "A100 SXM 80GB (HBM2e)", 80 * kGiB, 2.039 * kTB, 312 * kTflops, 0, 0, 600 * kGB / 2, 32 * kGB},
        {"l40s", "L40S 48GB (GDDR6, no NVLink)", 48 * kGiB, 0.864 * kTB, 362.05 * kTflops, 733 * kTflops, 0,
            64 * kGB / 2, 32 * kGB},
    };
}

} // namespace

std::vector<GpuSpec> const& gpuTable()
{
    static std::vector<GpuSpec> const table = makeTable();
    return table;
}

GpuSpec const* findGpu(std::string const& name)
{
    for (auto const& gpu : gpuTable())
    {
        if (gpu.name == name)
        {
            return &gpu;
        }
    }
    return nullptr;
}

} // namespace trtllm_sim::executor
