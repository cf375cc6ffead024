#include "sim/validation.h"

#include "sim/kv_cache_manager.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace trtllm_sim::executor
{

using common::TllmException;

constexpr SizeType32 kMaxTokensPerBlock = 65536;

namespace
{

[[noreturn]] void fail(std::string const& what)
{
    throw TllmException("Invalid simulator configuration: " + what);
}

void validateFaults(SimFaultConfig const& f)
{
    auto const probability = [&](double p, char const* name) {
        if (!(p >= 0.0 && p <= 1.0))
        {
            fail(std::string("faults.") + name + " must be in [0, 1]");
        }
    };
    probability(f.requestErrorProbability, "requestErrorProbability");
    probability(f.stallProbability, "stallProbability");
    probability(f.slowIterationProbability, "slowIterationProbability");
    // A stall is one wait on the clock: bounded so that its deadline cannot overflow.
    if (!(f.stallMs >= 0.0 && f.stallMs <= 3.6e6))
    {
        fail("faults.stallMs must be in [0, 3600000]");
    }
    if (!(f.slowIterationFactor > 0.0) || !std::isfinite(f.slowIterationFactor))
    {
        fail("faults.slowIterationFactor must be a positive finite number");
    }
    if (f.kvEventBurstSize < 0)
    {
        fail("faults.kvEventBurstSize must be >= 0");
    }
}

} // namespace

std::optional<PerfModel> makePerfModel(SimConfig const& sim)
{
    if (!sim.perfModel)
    {
        return std::nullopt;
    }
    try
    {
        return PerfModel(*sim.perfModel, std::max<SizeType32>(1, sim.attentionDp));
    }
    catch (std::invalid_argument const& e)
    {
        fail(e.what());
    }
}

Limits validateConfig(SimConfig const& sim, ModelType modelType, ExecutorConfig const& cfg, PerfModel const* perf)
{
    if (modelType != ModelType::kDECODER_ONLY)
    {
        fail("only ModelType::kDECODER_ONLY is simulated");
    }
    if (sim.tokensPerBlock < 1)
    {
        fail("tokensPerBlock must be >= 1");
    }
    if (sim.tokensPerBlock > kMaxTokensPerBlock)
    {
        // The block arithmetic is SizeType32: tokens + tokensPerBlock - 1 must not overflow.
        fail("tokensPerBlock must be <= " + std::to_string(kMaxTokensPerBlock));
    }
    if (sim.vocabSize < 2)
    {
        fail("vocabSize must be >= 2");
    }
    if (sim.maxSeqLen < 2)
    {
        fail("maxSeqLen must be >= 2");
    }
    if (!(sim.speedupRatio > 0.0) || !std::isfinite(sim.speedupRatio))
    {
        fail("speedupRatio must be a positive finite number");
    }
    if (!(sim.meanOutputTokens >= 1.0) || !std::isfinite(sim.meanOutputTokens))
    {
        fail("meanOutputTokens must be >= 1");
    }
    if (sim.specDraftLength < 0)
    {
        fail("specDraftLength must be >= 0");
    }
    if (!(sim.specAcceptanceProbability >= 0.0 && sim.specAcceptanceProbability <= 1.0))
    {
        fail("specAcceptanceProbability must be in [0, 1]");
    }
    if (sim.lockstep && !sim.virtualClock)
    {
        fail("lockstep needs virtualClock");
    }
    if (!(sim.specDraftMsPerToken >= 0.0) || !(sim.decodeMinMs >= 0.0))
    {
        fail("specDraftMsPerToken and decodeMinMs must be >= 0");
    }
    if (sim.attentionDp < 1)
    {
        fail("attentionDp must be >= 1");
    }
    if (!(sim.hostTransferBytesPerS > 0.0) || !(sim.loraLoadMs >= 0.0))
    {
        fail("hostTransferBytesPerS must be > 0 and loraLoadMs >= 0");
    }
    if (sim.loraMaxAdapters < 1 || sim.loraRank < 1)
    {
        fail("loraMaxAdapters and loraRank must be >= 1");
    }
    validateFaults(sim.faults);
    Limits limits;
    limits.tokensPerBlock = sim.tokensPerBlock;
    limits.attentionDp = sim.attentionDp;
    auto const kv = cfg.getKvCacheConfig();
    auto const fraction = kv.getFreeGpuMemoryFraction();
    if (fraction && !(*fraction > 0.f && *fraction <= 1.f))
    {
        fail("freeGpuMemoryFraction must be in (0, 1]");
    }
    std::optional<PerfModel::Memory> memory;
    if (perf != nullptr)
    {
        double const f = fraction.value_or(0.9f);
        auto const heuristic = perf->benchHeuristic(f);
        limits.maxBatchSize = cfg.getMaxBatchSize().value_or(heuristic.maxBatchSize);
        limits.maxNumTokens = cfg.getMaxNumTokens().value_or(heuristic.maxNumTokens);
        try
        {
            memory = perf->memory(sim.tokensPerBlock, f, limits.maxBatchSize, limits.maxNumTokens);
        }
        catch (std::invalid_argument const& e)
        {
            fail(e.what());
        }
        limits.modelSizeBytes = memory->weightBytes + memory->reservedBytes;
        limits.kvBytesPerBlock = memory->kvBytesPerBlock;
        limits.adapterBytes = perf->adapterBytes(sim.loraRank);
    }
    else
    {
        limits.maxBatchSize = cfg.getMaxBatchSize().value_or(ExecutorConfig::kSimDefaultMaxBatchSize);
        limits.maxNumTokens = cfg.getMaxNumTokens().value_or(ExecutorConfig::kSimDefaultMaxNumTokens);
        limits.modelSizeBytes = static_cast<double>(sim.modelSizeBytes);
        limits.kvBytesPerBlock = static_cast<double>(sim.kvBytesPerBlock);
    }
    if (kv.getMaxTokens())
    {
        if (*kv.getMaxTokens() < 0)
        {
            fail("KvCacheConfig maxTokens must be >= 0");
        }
        limits.numBlocks = *kv.getMaxTokens() / sim.tokensPerBlock;
    }
    else
    {
        limits.numBlocks = memory ? memory->kvBlocks : sim.numKvBlocks;
    }
    if (limits.numBlocks < 1)
    {
        fail(memory ? "the KV cache has no blocks (the memory the weights and activations leave holds less than one)"
                    : "the KV cache has no blocks (numKvBlocks or KvCacheConfig maxTokens / tokensPerBlock is 0)");
    }
    if (auto const host = kv.getHostCacheSize(); host && *host > 0 && kv.getOnboardBlocks())
    {
        if (!kv.getEnableBlockReuse())
        {
            fail("hostCacheSize needs enableBlockReuse (the host tier keeps reusable blocks)");
        }
        if (!(limits.kvBytesPerBlock > 0.0))
        {
            fail("hostCacheSize needs kvBytesPerBlock > 0 (the size of one block)");
        }
        double const blocks = std::floor(static_cast<double>(*host) / limits.kvBytesPerBlock);
        limits.numHostBlocks = static_cast<SizeType32>(std::min(blocks, 2147483647.0));
    }
    if (limits.maxBatchSize < 1)
    {
        fail("maxBatchSize must be >= 1");
    }
    if (limits.maxNumTokens < 1)
    {
        fail("maxNumTokens must be >= 1");
    }
    if (cfg.getMaxBeamWidth() < 1)
    {
        fail("maxBeamWidth must be >= 1");
    }
    if (cfg.getIterStatsMaxIterations() < 0 || cfg.getRequestStatsMaxIterations() < 0)
    {
        fail("iterStatsMaxIterations and requestStatsMaxIterations must be >= 0");
    }
    limits.maxQueueSize = std::max<SizeType32>(0, cfg.getMaxQueueSize().value_or(0));
    limits.policy = cfg.getSchedulerConfig().getCapacitySchedulerPolicy();
    switch (limits.policy)
    {
    case CapacitySchedulerPolicy::kMAX_UTILIZATION:
    case CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT:
    case CapacitySchedulerPolicy::kSTATIC_BATCH: break;
    default: fail("unknown capacity scheduler policy");
    }
    limits.staticBatching = cfg.getBatchingType() == BatchingType::kSTATIC;
    if (limits.staticBatching)
    {
        limits.policy = CapacitySchedulerPolicy::kSTATIC_BATCH;
    }
    return limits;
}

RequestIntake::RequestIntake(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits,
    TokenSampler const& sampler, SimClock const& clock, bool blockReuse)
    : mSim(sim)
    , mConfig(config)
    , mLimits(limits)
    , mSampler(sampler)
    , mClock(clock)
    , mBlockReuse(blockReuse)
{
}

std::string RequestIntake::validate(Request const& request) const
{
    auto const& input = request.getInputTokenIds();
    SizeType32 const vocab = mSim.vocabSize;
    auto inVocab = [vocab](SizeType32 t) { return t >= 0 && t < vocab; };
    std::ostringstream err;
    if (input.empty())
    {
        return "the input token ids are empty";
    }
    if (request.getMaxTokens() < 1)
    {
        err << "maxTokens must be >= 1 (got " << request.getMaxTokens() << ")";
        return err.str();
    }
    auto const promptLen = static_cast<SizeType64>(input.size());
    if (promptLen + request.getMaxTokens() > mSim.maxSeqLen)
    {
        err << "the input length (" << promptLen << ") plus maxTokens (" << request.getMaxTokens()
            << ") exceeds the max sequence length (" << mSim.maxSeqLen << ")";
        return err.str();
    }
    for (std::size_t i = 0; i < input.size(); ++i)
    {
        if (!inVocab(input[i]))
        {
            err << "input token id " << input[i] << " at position " << i << " is outside the vocabulary [0, "
                << vocab << ")";
            return err.str();
        }
    }
    auto const& sampling = request.getSamplingConfig();
    if (sampling.getBeamWidth() != 1)
    {
        err << "beam width " << sampling.getBeamWidth() << " is not supported (the simulator decodes with beam "
            << "width 1; maxBeamWidth is " << mConfig.getMaxBeamWidth() << ")";
        return err.str();
    }
    if (auto const n = sampling.getNumReturnSequences(); n && *n != 1)
    {
        err << "numReturnSequences " << *n << " is not supported (the simulator returns one sequence)";
        return err.str();
    }
    if (auto const t = sampling.getTemperature(); t && !(*t >= 0.f))
    {
        err << "temperature must be >= 0 (got " << *t << ")";
        return err.str();
    }
    if (auto const k = sampling.getTopK(); k && *k < 0)
    {
        err << "topK must be >= 0 (got " << *k << ")";
        return err.str();
    }
    if (auto const p = sampling.getTopP(); p && !(*p >= 0.f && *p <= 1.f))
    {
        err << "topP must be in [0, 1] (got " << *p << ")";
        return err.str();
    }
    if (auto const e = request.getEndId(); e && !inVocab(*e))
    {
        err << "endId " << *e << " is outside the vocabulary [0, " << vocab << ")";
        return err.str();
    }
    if (auto const p = request.getPadId(); p && !inVocab(*p))
    {
        err << "padId " << *p << " is outside the vocabulary [0, " << vocab << ")";
        return err.str();
    }
    PriorityType const priority = request.getPriority();
    if (!(priority >= 0.f && priority <= 1.f))
    {
        err << "priority must be in [0, 1] (got " << priority << ")";
        return err.str();
    }
    if (auto const arrival = request.getSimArrivalTime(); arrival && arrival->time_since_epoch().count() <= 0)
    {
        return "simArrivalTime must be a time point of the simulator's clock (after its epoch)";
    }
    if (auto const allotted = request.getAllottedTimeMs(); allotted && allotted->count() < 0)
    {
        err << "allottedTimeMs must be >= 0 (got " << allotted->count() << ")";
        return err.str();
    }
    if (auto const stopWords = request.getStopWords())
    {
        for (auto const& word : *stopWords)
        {
            for (auto const t : word)
            {
                if (!inVocab(t))
                {
                    err << "stop word token id " << t << " is outside the vocabulary [0, " << vocab << ")";
                    return err.str();
                }
            }
        }
    }
    if (auto const retention = request.getKvCacheRetentionConfig())
    {
        auto inRange = [](RetentionPriority p) {
            return p >= KvCacheRetentionConfig::kMinRetentionPriority
                && p <= KvCacheRetentionConfig::kMaxRetentionPriority;
        };
        if (!inRange(retention->getDecodeRetentionPriority()))
        {
            return "the decode retention priority must be in [0, 100]";
        }
        for (auto const& range : retention->getTokenRangeRetentionConfigs())
        {
            if (!inRange(range.priority))
            {
                return "a token range retention priority must be in [0, 100]";
            }
            if (range.tokenStart < 0 || (range.tokenEnd && *range.tokenEnd <= range.tokenStart))
            {
                return "a token range retention config needs 0 <= tokenStart < tokenEnd";
            }
        }
    }
    if (!mConfig.getEnableChunkedContext() && promptLen > mLimits.maxNumTokens)
    {
        err << "the input length (" << promptLen << ") exceeds maxNumTokens (" << mLimits.maxNumTokens
            << ") and chunked context is disabled";
        return err.str();
    }
    SizeType64 const tpb = mLimits.tokensPerBlock;
    SizeType64 const blocks = (promptLen + request.getMaxTokens() + tpb - 1) / tpb;
    if (blocks > mLimits.numBlocks)
    {
        err << "the request needs " << blocks << " KV cache blocks but the cache has only " << mLimits.numBlocks;
        return err.str();
    }
    return {};
}

std::unique_ptr<LlmRequest> RequestIntake::makeLlmRequest(Request const& request) const
{
    auto r = std::make_unique<LlmRequest>();
    auto const& input = request.getInputTokenIds();
    r->promptLen = static_cast<SizeType32>(input.size());
    r->maxTokens = request.getMaxTokens();
    r->streaming = request.getStreaming();
    r->excludeInputFromOutput = request.getOutputConfig().excludeInputFromOutput;
    r->returnPerfMetrics = request.getOutputConfig().returnPerfMetrics;
    r->returnLogProbs = request.getOutputConfig().returnLogProbs;
    r->clientId = request.getClientId();
    r->endId = request.getEndId();
    r->priority = request.getPriority();
    if (auto const stopWords = request.getStopWords())
    {
        for (auto const& word : *stopWords)
        {
            if (!word.empty())
            {
                r->stopWords.push_back(word);
            }
        }
    }
    r->retention = request.getKvCacheRetentionConfig();
    if (auto const lora = request.getLoraConfig())
    {
        r->loraTaskId = lora->getTaskId();
        r->kv.loraId = r->loraTaskId;
    }
    r->kv.promptLen = r->promptLen;
    r->kv.retention = r->retention ? &*r->retention : nullptr;
    r->tokens.reserve(input.size() + static_cast<std::size_t>(r->maxTokens));
    r->tokens.assign(input.begin(), input.end());
    r->contextLen = r->promptLen;
    SizeType32 const tpb = mLimits.tokensPerBlock;
    r->maxBlocks = static_cast<SizeType32>((static_cast<SizeType64>(r->promptLen) + r->maxTokens + tpb - 1) / tpb);
    r->sequenceSeed = mSampler.sequenceSeed(request.getSamplingConfig().getSeed(), input.data(), input.size());
    if (mSim.outputLengthMode == SimConfig::OutputLengthMode::kEndIdGeometric && r->endId)
    {
        r->endAfter = mSampler.geometricLength(r->sequenceSeed, mSim.meanOutputTokens);
    }
    r->simArrival = request.getSimArrivalTime();
    r->enqueueTime = r->simArrival ? *r->simArrival : mClock.now();
    if (auto const allotted = request.getAllottedTimeMs())
    {
        r->deadline = r->enqueueTime + *allotted;
    }
    if (mBlockReuse)
    {
        KvCacheManager::computeBlockHashes(r->kv, r->tokens.data(), r->promptLen, tpb);
    }
    return r;
}

} // namespace trtllm_sim::executor
