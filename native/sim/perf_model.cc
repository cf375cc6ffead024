#include "sim/perf_model.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>

namespace trtllm_sim::executor
{

namespace
{

/// Achieved share of a PCIe link's bandwidth in bulk copies (not fitted: the calibration rows have no offload).
constexpr double kHostLinkEfficiency = 0.8;
/// Activations are 16-bit; logits are fp32.
constexpr double kActivationBytes = 2.0;
constexpr double kLogitBytes = 4.0;

/// trtllm-bench's rounding: x rounded up to a multiple of the step of the first bucket whose limit exceeds it,
/// at least `minimum`.
struct Bucket
{
    double below;
    double step;
};

double roundUpInBuckets(double x, std::initializer_list<Bucket> buckets, double minimum)
{
    for (auto const& b : buckets)
    {
        if (x < b.below)
        {
            return std::max(minimum, b.step * std::ceil(x / b.step));
        }
    }
    return x;
}

[[noreturn]] void invalid(std::string const& what)
{
    throw std::invalid_argument(what);
}

} // namespace

PerfModel::PerfModel(PerfModelConfig const& config, SizeType32 attentionDp)
    : mConfig(config)
    , mDp(attentionDp)
{
    GpuSpec const* gpu = findGpu(config.gpu);
    if (gpu == nullptr)
    {
        std::string names;
        for (auto const& g : gpuTable())
        {
            names += (names.empty() ? "" : ", ") + g.name;
        }
        invalid("unknown GPU \"" + config.gpu + "\" (known: " + names + ")");
    }
    mGpu = *gpu;
    auto const& m = config.model;
    if (m.numLayers < 1 || m.hiddenSize < 1 || m.numHeads < 1 || m.numKvHeads < 1 || m.headDim < 1
        || m.intermediateSize < 1 || m.vocabSize < 1)
    {
        invalid("the model's dimensions must all be >= 1");
    }
    if (m.numHeads % m.numKvHeads != 0)
    {
        invalid("num_attention_heads (" + std::to_string(m.numHeads) + ") must be a multiple of num_key_value_heads ("
            + std::to_string(m.numKvHeads) + ")");
    }
    if (config.tp < 1 || attentionDp < 1 || config.tp % attentionDp != 0)
    {
        invalid("tp (" + std::to_string(config.tp) + ") must be a positive multiple of attentionDp ("
            + std::to_string(attentionDp) + "): each attention-DP rank runs on tp / attentionDp GPUs");
    }
    mAttentionTp = config.tp / attentionDp;
    if (mAttentionTp > m.numHeads)
    {
        invalid("attention is split over " + std::to_string(mAttentionTp) + " GPUs but the model has only "
            + std::to_string(m.numHeads) + " heads");
    }
    bool const quantized = config.weights == Precision::kFP8 || config.weights == Precision::kFP4;
    mKvPrecision = config.kvCache.value_or(quantized ? Precision::kFP8 : config.weights);
    if (mGpu.flops(config.weights) <= 0.0)
    {
        invalid(mGpu.name + " has no " + precisionName(config.weights) + " tensor cores (use a precision it supports)");
    }
    if (mKvPrecision == Precision::kFP4)
    {
        invalid("an fp4 KV cache is not modelled (use fp8 or fp16)");
    }
    if (mKvPrecision == Precision::kFP8 && mGpu.flopsFp8 <= 0.0)
    {
        invalid(mGpu.name + " has no fp8 support for an fp8 KV cache (use fp16)");
    }
}

PerfModel::BatchLimits PerfModel::benchHeuristic(double freeGpuMemoryFraction) const
{
    auto const& m = mConfig.model;
    double const bytesPerElem = bytesPerElement(mConfig.weights);
    double const bytesPerKvElem = bytesPerElement(mKvPrecision);
    // Every GPU of the TP group holds at least one KV head.
    double const kvHeads = std::max<double>(mConfig.tp, m.numKvHeads);
    double const gibPerToken = 2.0 * m.numLayers * kvHeads * m.headDim * bytesPerKvElem / kGiB;
    double const engineGiB = m.totalParams() * bytesPerElem / kGiB;
    double const availableGiB = mGpu.memoryBytes / kGiB * mConfig.tp - engineGiB;
    double const cacheGiB = availableGiB * freeGpuMemoryFraction;
    double const isl = std::max<SizeType32>(1, mConfig.targetInputLen);
    double const osl = std::max<SizeType32>(1, mConfig.targetOutputLen);
    double const kvMaxRequests = std::max(0.0, cacheGiB / (gibPerToken * (isl + osl)));

    double const rawBatch = std::min(kvMaxRequests, 4096.0);
    double const rawTokens = std::min(rawBatch * (1.0 + isl / osl), 32768.0);
    // Below 256 (at least 64): multiples of 32; below 1024: of 128; then of 256.
    double const batch = roundUpInBuckets(rawBatch, {{256, 32}, {1024, 128}, {1e300, 256}}, 64);
    // Below 4096 (at least 2048): multiples of 256; below 8192: of 512; then of 1024.
    double const tokens = roundUpInBuckets(rawTokens, {{4096, 256}, {8192, 512}, {1e300, 1024}}, 2048);
    return {static_cast<SizeType32>(batch), static_cast<SizeType32>(tokens)};
}

PerfModel::Memory PerfModel::memory(
    SizeType32 tokensPerBlock, double freeGpuMemoryFraction, SizeType32 maxBatchSize, SizeType32 maxNumTokens) const
{
    auto const& m = mConfig.model;
    double const tp = mConfig.tp;
    double const a = mAttentionTp;
    double const wb = bytesPerElement(mConfig.weights);
    // The attention side (projections, embedding and an untied LM head, kept 16-bit in quantized checkpoints) is
    // split over a rank's GPUs; the MLP over all of them.
    double const embeddings = m.embeddingParams() * (m.tieWordEmbeddings ? 1.0 : 2.0) * kActivationBytes;
    Memory mem;
    mem.weightBytes = m.numLayers * m.attentionParamsPerLayer() * wb / a + m.numLayers * m.mlpParamsPerLayer() * wb / tp
        + embeddings / a;
    double const qkvWidth = (static_cast<double>(m.numHeads) + 2.0 * m.numKvHeads) * m.headDim / a;
    double const activations = maxNumTokens * kActivationBytes * (2.0 * m.hiddenSize + qkvWidth + 2.0 * m.intermediateSize / tp)
        + static_cast<double>(maxBatchSize) * m.vocabSize / a * kLogitBytes;
    mem.reservedBytes = mConfig.efficiency.runtimeReserveGiB * kGiB + activations;
    double const kvHeadsPerGpu = std::ceil(static_cast<double>(m.numKvHeads) / a);
    mem.kvBytesPerToken = 2.0 * m.numLayers * kvHeadsPerGpu * m.headDim * bytesPerElement(mKvPrecision);
    mem.kvBytesPerBlock = mem.kvBytesPerToken * tokensPerBlock;
    double const free = mGpu.memoryBytes - mem.weightBytes - mem.reservedBytes;
    auto gib = [](double bytes) {
        std::ostringstream out;
        out << std::fixed << std::setprecision(1) << bytes / kGiB;
        return out.str();
    };
    if (free <= 0.0)
    {
        invalid("the model does not fit: " + gib(mem.weightBytes) + " GiB of weights and " + gib(mem.reservedBytes)
            + " GiB of runtime memory per GPU on a " + gib(mGpu.memoryBytes) + " GiB " + mGpu.name
            + " (use a larger tp or a smaller precision)");
    }
    double const blocks = std::floor(freeGpuMemoryFraction * free / mem.kvBytesPerBlock);
    mem.kvBlocks = static_cast<SizeType32>(std::min(blocks, 2147483647.0));
    return mem;
}

double PerfModel::adapterBytes(SizeType32 loraRank) const
{
    auto const& m = mConfig.model;
    double const h = m.hiddenSize;
    double const q = static_cast<double>(m.numHeads) * m.headDim;
    double const kv = static_cast<double>(m.numKvHeads) * m.headDim;
    // A and B of every adapted matrix: rank * (rows + columns) each.
    double const attention = (h + q) + 2.0 * (h + kv) + (q + h);
    double const mlp = 3.0 * (h + m.intermediateSize);
    return loraRank * m.numLayers * (attention / mAttentionTp + mlp / mConfig.tp) * kActivationBytes;
}

double PerfModel::roofline(double flops, double flopsPerS, double bytes) const
{
    auto const& e = mConfig.efficiency;
    return std::max(flops / (flopsPerS * e.compute), bytes / (mGpu.memoryBandwidth * e.memory));
}

double PerfModel::allReduceS(double bytes, SizeType32 n) const
{
    if (n <= 1)
    {
        return 0.0;
    }
    auto const& e = mConfig.efficiency;
    double const traffic = 2.0 * (n - 1) / n * bytes;
    return e.allReduceLatencyUs * 1e-6 + traffic / (mGpu.interconnectBandwidth * e.interconnect);
}

double PerfModel::stepMs(std::vector<IterationWork> const& ranks) const
{
    auto const& m = mConfig.model;
    auto const& e = mConfig.efficiency;
    double const a = mAttentionTp;
    double const tp = mConfig.tp;
    double const wb = bytesPerElement(mConfig.weights);
    double const weightFlops = mGpu.flops(mConfig.weights);
    double const attnFlops = mGpu.flops(mKvPrecision == Precision::kFP8 ? Precision::kFP8 : Precision::kFP16);
    double const attnParams = m.numLayers * m.attentionParamsPerLayer();
    double const mlpParams = m.numLayers * m.mlpParamsPerLayer();
    double const headParams = m.embeddingParams();
    double const kvHeadsPerGpu = std::ceil(static_cast<double>(m.numKvHeads) / a);
    double const kvBytesPerToken = 2.0 * m.numLayers * kvHeadsPerGpu * m.headDim * bytesPerElement(mKvPrecision);
    double const qWidth = static_cast<double>(m.numHeads) * m.headDim;

    double slowestRank = 0.0;
    double allTokens = 0.0;
    double rank0Tokens = -1.0;
    bool any = false;
    for (auto const& w : ranks)
    {
        double const tokens = static_cast<double>(w.ctxTokens + w.genTokens);
        allTokens += tokens;
        if (rank0Tokens < 0)
        {
            rank0Tokens = tokens;
        }
        if (tokens <= 0)
        {
            continue;
        }
        any = true;
        double s = roofline(2.0 * attnParams * tokens / a, weightFlops, attnParams * wb / a);
        if (w.logitTokens > 0)
        {
            s += roofline(2.0 * headParams * w.logitTokens / a, mGpu.flopsFp16, headParams * kActivationBytes / a);
        }
        s += 4.0 * m.numLayers * qWidth * w.ctxAttentionPairs / a / (attnFlops * e.attention);
        s += static_cast<double>(w.kvReadTokens) * kvBytesPerToken / (mGpu.memoryBandwidth * e.memory);
        s += m.numLayers * allReduceS(tokens * m.hiddenSize * kActivationBytes, mAttentionTp);
        slowestRank = std::max(slowestRank, s);
    }
    if (!any)
    {
        return 0.0;
    }
    // With one rank the MLP sees that rank's tokens; with several, every rank's (gathered).
    double const mlpTokens = ranks.size() > 1 ? allTokens : rank0Tokens;
    double mlp = roofline(2.0 * mlpParams * mlpTokens / tp, weightFlops, mlpParams * wb / tp);
    mlp += m.numLayers * allReduceS(mlpTokens * m.hiddenSize * kActivationBytes, mConfig.tp);
    return e.overheadMs + (slowestRank + mlp) * 1e3;
}

double PerfModel::hostTransferMs(double bytes) const
{
    return bytes / (mGpu.hostLinkBandwidth * kHostLinkEfficiency) * 1e3;
}

} // namespace trtllm_sim::executor
