// The performance model (native/sim/perf_model.h): memory and KV capacity, trtllm-bench's batch heuristic, the
// roofline of one iteration, tensor and attention data parallelism, and its use by the executor.
#include "sim/executor_api.h"
#include "sim/perf_model.h"
#include "sim/timing_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

namespace sim = trtllm_sim::executor;
using namespace std::chrono_literals;

namespace
{

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

/// Llama 3.1 8B's config.json dimensions.
sim::ModelSpec llama8b()
{
    sim::ModelSpec m;
    m.numLayers = 32;
    m.hiddenSize = 4096;
    m.numHeads = 32;
    m.numKvHeads = 8;
    m.headDim = 128;
    m.intermediateSize = 14336;
    m.vocabSize = 128256;
    return m;
}

sim::ModelSpec llama70b()
{
    sim::ModelSpec m = llama8b();
    m.numLayers = 80;
    m.hiddenSize = 8192;
    m.numHeads = 64;
    m.intermediateSize = 28672;
    return m;
}

sim::PerfModelConfig config(sim::ModelSpec const& model, std::string const& gpu, sim::Precision weights, int tp = 1)
{
    sim::PerfModelConfig c;
    c.model = model;
    c.gpu = gpu;
    c.weights = weights;
    c.tp = tp;
    return c;
}

std::string errorOf(sim::PerfModelConfig const& c, int dp = 1)
{
    try
    {
        sim::PerfModel const model(c, dp);
        (void) model.memory(32, 0.9, 256, 8192);
    }
    catch (std::invalid_argument const& e)
    {
        return e.what();
    }
    return {};
}

sim::IterationWork decode(int requests, int kvTokensEach)
{
    sim::IterationWork w;
    w.genRequests = requests;
    w.genTokens = requests;
    w.logitTokens = requests;
    w.kvReadTokens = static_cast<sim::SizeType64>(requests) * kvTokensEach;
    return w;
}

sim::IterationWork prefill(int tokens)
{
    sim::IterationWork w;
    w.ctxTokens = tokens;
    w.ctxRequests = 1;
    w.ctxAttentionPairs = tokens * (tokens + 1) / 2.0;
    w.logitTokens = 1;
    return w;
}

} // namespace

TEST(PerfModel, ParameterCountMatchesThePublishedOne)
{
    EXPECT_NEAR(llama8b().totalParams() / 1e9, 8.03, 0.01);
    EXPECT_NEAR(llama70b().totalParams() / 1e9, 70.55, 0.01);
}

TEST(PerfModel, ABiggerGpuHoldsMoreKvBlocks)
{
    sim::PerfModel const h100(config(llama8b(), "h100", sim::Precision::kFP8), 1);
    sim::PerfModel const h200(config(llama8b(), "h200", sim::Precision::kFP8), 1);
    auto const a = h100.memory(32, 0.9, 256, 8192);
    auto const b = h200.memory(32, 0.9, 256, 8192);
    // fp8 weights: about 8 GiB plus 16-bit embeddings; the KV of one token is 2 * 32 layers * 8 heads * 128 B.
    EXPECT_NEAR(a.weightBytes / kGiB, (6.98e9 + 2 * 0.525e9 * 2) / kGiB, 0.05);
    EXPECT_DOUBLE_EQ(a.kvBytesPerToken, 2.0 * 32 * 8 * 128);
    EXPECT_GT(b.kvBlocks, a.kvBlocks * 1.8); // 141 GiB vs 80 GiB, the same weights
    // Blocks fill the fraction of what weights and reserve leave.
    double const free = 80 * kGiB - a.weightBytes - a.reservedBytes;
    EXPECT_NEAR(a.kvBlocks, std::floor(0.9 * free / a.kvBytesPerBlock), 1.0);
    // A larger fraction gives more blocks.
    EXPECT_GT(h100.memory(32, 0.95, 256, 8192).kvBlocks, a.kvBlocks);
}

TEST(PerfModel, TensorParallelismSplitsWeightsAndKvHeads)
{
    sim::PerfModel const tp1(config(llama70b(), "h100", sim::Precision::kFP8, 1), 1);
    sim::PerfModel const tp4(config(llama70b(), "h100", sim::Precision::kFP8, 4), 1);
    auto const one = tp1.memory(32, 0.9, 64, 2048);
    auto const four = tp4.memory(32, 0.9, 64, 2048);
    EXPECT_NEAR(four.weightBytes * 4, one.weightBytes, one.weightBytes * 1e-9);
    EXPECT_DOUBLE_EQ(four.kvBytesPerToken * 4, one.kvBytesPerToken);
    EXPECT_GT(four.kvBlocks, one.kvBlocks * 4);
}

TEST(PerfModel, InvalidConfigurationsSayWhy)
{
    EXPECT_NE(errorOf(config(llama8b(), "h300", sim::Precision::kFP8)).find("unknown GPU \"h300\" (known: h100, h200"),
        std::string::npos);
    EXPECT_NE(errorOf(config(llama8b(), "a100", sim::Precision::kFP8)).find("a100 has no fp8"), std::string::npos);
    EXPECT_NE(errorOf(config(llama8b(), "h100", sim::Precision::kFP4)).find("h100 has no fp4"), std::string::npos);
    EXPECT_NE(errorOf(config(llama70b(), "h100", sim::Precision::kBF16)).find("the model does not fit"), std::string::npos);
    EXPECT_NE(errorOf(config(llama8b(), "h100", sim::Precision::kFP8, 2), 4).find("multiple of attentionDp"),
        std::string::npos);
    EXPECT_EQ(errorOf(config(llama8b(), "b200", sim::Precision::kFP4)), "");
}

TEST(PerfModel, BatchLimitsFollowTrtllmBenchsHeuristic)
{
    auto c = config(llama8b(), "h100", sim::Precision::kFP8);
    c.targetInputLen = 128;
    c.targetOutputLen = 128;
    auto limits = sim::PerfModel(c, 1).benchHeuristic(0.95);
    // ~4350 requests of 256 tokens fit: capped at 4096; tokens 4096 * 2 = 8192.
    EXPECT_EQ(limits.maxBatchSize, 4096);
    EXPECT_EQ(limits.maxNumTokens, 8192);
    c.targetInputLen = 5000;
    c.targetOutputLen = 500;
    limits = sim::PerfModel(c, 1).benchHeuristic(0.95);
    // ~203 requests: rounded up to 32s (224); 203 * 11 = 2233 tokens: 256s, at least 2048 (2304).
    EXPECT_EQ(limits.maxBatchSize, 224);
    EXPECT_EQ(limits.maxNumTokens, 2304);
    c.targetInputLen = 20000;
    c.targetOutputLen = 2000;
    limits = sim::PerfModel(c, 1).benchHeuristic(0.95);
    EXPECT_EQ(limits.maxBatchSize, 64); // at least 64
    EXPECT_EQ(limits.maxNumTokens, 2048);
}

TEST(PerfModel, DecodeIsMemoryBoundAndGrowsWithTheBatch)
{
    auto c = config(llama8b(), "h100", sim::Precision::kFP8);
    sim::PerfModel const model(c, 1);
    auto const& e = c.efficiency;
    // Batch 1: weights (fp8 GEMMs + the 16-bit LM head) streamed once at the achieved bandwidth.
    double const weights = llama8b().numLayers * (llama8b().attentionParamsPerLayer() + llama8b().mlpParamsPerLayer())
        + llama8b().embeddingParams() * 2;
    double const expected = e.overheadMs + weights / (3.35e12 * e.memory) * 1e3
        + 1000.0 * 2 * 32 * 8 * 128 / (3.35e12 * e.memory) * 1e3;
    EXPECT_NEAR(model.stepMs({decode(1, 1000)}), expected, expected * 1e-9);
    double previous = 0;
    for (int batch : {1, 8, 64, 256, 1024})
    {
        double const step = model.stepMs({decode(batch, 1000)});
        EXPECT_GT(step, previous);
        previous = step;
    }
    // Tokens per second rise with the batch: a step of 256 costs far less than 256 steps of 1.
    EXPECT_LT(model.stepMs({decode(256, 1000)}), 10 * model.stepMs({decode(1, 1000)}));
    EXPECT_EQ(model.stepMs({sim::IterationWork{}}), 0.0);
}

TEST(PerfModel, PrefillIsComputeBoundAndAttentionGrowsWithContext)
{
    auto c = config(llama8b(), "h100", sim::Precision::kFP8);
    sim::PerfModel const model(c, 1);
    double const linear = 2.0 * 32 * (llama8b().attentionParamsPerLayer() + llama8b().mlpParamsPerLayer()) * 8192
        / (1979e12 * c.efficiency.compute) * 1e3;
    double const step = model.stepMs({prefill(8192)});
    EXPECT_GT(step, linear);
    EXPECT_LT(step, linear * 1.5);
    // Attention: the same chunk after a long cached prefix costs more.
    sim::IterationWork late = prefill(2048);
    late.ctxAttentionPairs = 2048.0 * (30000 + 2049 / 2.0);
    EXPECT_GT(model.stepMs({late}), model.stepMs({prefill(2048)}) * 1.1);
}

TEST(PerfModel, TensorParallelismAddsAllReducesAndDataParallelRanksTakeTheSlowest)
{
    sim::PerfModel const tp1(config(llama70b(), "h100", sim::Precision::kFP8, 4), 1);
    auto c = config(llama70b(), "h100", sim::Precision::kFP8, 4);
    // With link bandwidth scaled up 1000 times the all-reduces cost (almost) only their latency.
    double const withLinks = tp1.stepMs({prefill(4096)});
    c.efficiency.interconnect = 1000;
    c.efficiency.allReduceLatencyUs = 0;
    double const freeLinks = sim::PerfModel(c, 1).stepMs({prefill(4096)});
    EXPECT_GT(withLinks, freeLinks);
    // Attention DP: 4 ranks, one busy: as slow as that rank's attention plus the shared MLP.
    sim::PerfModel const dp4(config(llama70b(), "h100", sim::Precision::kFP8, 4), 4);
    double const oneBusy = dp4.stepMs({decode(64, 2000), {}, {}, {}});
    double const allBusy = dp4.stepMs({decode(64, 2000), decode(64, 2000), decode(64, 2000), decode(64, 2000)});
    EXPECT_GT(allBusy, oneBusy);
    EXPECT_LT(allBusy, 4 * oneBusy);
}

TEST(PerfModel, TheExecutorUsesItForTimeCapacityAndLimits)
{
    sim::SimConfig s;
    s.virtualClock = true;
    s.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    s.checkInvariants = true;
    s.perfModel = config(llama8b(), "h100", sim::Precision::kFP8);
    sim::ExecutorConfig e;
    e.setIterStatsMaxIterations(1000);
    sim::Executor ex(s, sim::ModelType::kDECODER_ONLY, e);
    auto const info = ex.getEngineInfo();
    EXPECT_EQ(info.timingModel, "perfModel");
    EXPECT_EQ(info.gpu, "h100");
    EXPECT_EQ(info.weightsPrecision, "fp8");
    EXPECT_EQ(info.kvCachePrecision, "fp8");
    sim::PerfModel const model(*s.perfModel, 1);
    auto const limits = model.benchHeuristic(0.9);
    EXPECT_EQ(info.maxBatchSize, limits.maxBatchSize);
    EXPECT_EQ(info.maxNumTokens, limits.maxNumTokens);
    EXPECT_EQ(info.numKvBlocks, model.memory(32, 0.9f, limits.maxBatchSize, limits.maxNumTokens).kvBlocks);

    sim::OutputConfig out;
    out.excludeInputFromOutput = true;
    (void) ex.enqueueRequest(sim::Request(sim::VecTokens(100, 7), 3, false, sim::SamplingConfig(), out));
    for (int finals = 0; finals < 1;)
    {
        for (auto const& r : ex.awaitResponses(100ms))
        {
            finals += r.getResult().isFinal ? 1 : 0;
        }
    }
    auto const stats = ex.getLatestIterationStats();
    ASSERT_EQ(stats.size(), 3u);
    // Iteration 0 prefills 100 tokens (and emits the first token); 1 and 2 decode one token each.
    sim::IterationWork p = prefill(100);
    EXPECT_NEAR(stats[0].iterLatencyMS, model.stepMs({p}), 1e-6);
    EXPECT_NEAR(stats[1].iterLatencyMS, model.stepMs({decode(1, 100)}), 1e-6);
    EXPECT_NEAR(stats[2].iterLatencyMS, model.stepMs({decode(1, 101)}), 1e-6);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(PerfModel, TheExecutorRejectsAnInvalidModel)
{
    sim::SimConfig s;
    s.perfModel = config(llama70b(), "l40s", sim::Precision::kFP8);
    try
    {
        sim::Executor ex(s, sim::ModelType::kDECODER_ONLY, sim::ExecutorConfig());
        FAIL() << "expected TllmException";
    }
    catch (trtllm_sim::common::TllmException const& e)
    {
        EXPECT_NE(std::string(e.what()).find("Invalid simulator configuration: the model does not fit"), std::string::npos)
            << e.what();
    }
}
