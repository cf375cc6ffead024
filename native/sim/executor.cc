#include "sim/executor.h"

#include "sim/clock.h"
#include "sim/kv_cache_manager.h"
#include "sim/llm_request.h"
#include "sim/scheduler.h"
#include "sim/timing_model.h"
#include "sim/token_sampler.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>

namespace trtllm_sim::executor
{

namespace
{

using common::TllmException;
using Clock = std::chrono::steady_clock;

std::string formatTimestamp(std::chrono::system_clock::time_point t)
{
    std::time_t const tt = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    localtime_r(&tt, &parts);
    char buf[32];
    std::size_t const n = std::strftime(buf, sizeof(buf), "%m-%d-%Y %H:%M:%S", &parts);
    return std::string(buf, n);
}

double toMs(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

Clock::duration fromMs(double ms)
{
    return std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(std::llround(ms * 1e6)));
}

/// Limits derived from the configuration, validated once.
struct Limits
{
    SizeType32 numBlocks{0};
    SizeType32 tokensPerBlock{0};
    SizeType32 maxBatchSize{0};
    SizeType32 maxNumTokens{0};
    SizeType32 maxQueueSize{0}; // 0 = unbounded
    CapacitySchedulerPolicy policy{CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT};
    bool staticBatching{false};
};

Limits validateConfig(SimConfig const& sim, ModelType modelType, ExecutorConfig const& cfg)
{
    auto fail = [](std::string const& what) { throw TllmException("Invalid simulator configuration: " + what); };
    if (modelType != ModelType::kDECODER_ONLY)
    {
        fail("only ModelType::kDECODER_ONLY is simulated");
    }
    if (sim.tokensPerBlock < 1)
    {
        fail("tokensPerBlock must be >= 1");
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
    Limits limits;
    limits.tokensPerBlock = sim.tokensPerBlock;
    auto const kv = cfg.getKvCacheConfig();
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
        limits.numBlocks = sim.numKvBlocks;
    }
    if (limits.numBlocks < 1)
    {
        fail("the KV cache has no blocks (numKvBlocks or KvCacheConfig maxTokens / tokensPerBlock is 0)");
    }
    if (auto const f = kv.getFreeGpuMemoryFraction(); f && !(*f > 0.f && *f <= 1.f))
    {
        fail("freeGpuMemoryFraction must be in (0, 1]");
    }
    limits.maxBatchSize = cfg.getMaxBatchSize().value_or(ExecutorConfig::kSimDefaultMaxBatchSize);
    limits.maxNumTokens = cfg.getMaxNumTokens().value_or(ExecutorConfig::kSimDefaultMaxNumTokens);
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

} // namespace

class Executor::Impl
{
public:
    Impl(SimConfig const& simConfig, ModelType modelType, ExecutorConfig const& executorConfig)
        : mSim(simConfig)
        , mConfig(executorConfig)
        , mLimits(validateConfig(simConfig, modelType, executorConfig))
        , mClock(simConfig.virtualClock)
        , mTiming(simConfig)
        , mSampler(simConfig.vocabSize, simConfig.seed)
        , mKv(mLimits.numBlocks, mLimits.tokensPerBlock, executorConfig.getKvCacheConfig().getEnableBlockReuse(),
              executorConfig.getKvCacheConfig().getEventBufferMaxSize() > 0)
        , mScheduler(Scheduler::Limits{mLimits.policy, mLimits.maxBatchSize, mLimits.maxNumTokens,
              executorConfig.getEnableChunkedContext(), mLimits.tokensPerBlock, simConfig.specDraftLength})
    {
        std::size_t const eventCapacity = executorConfig.getKvCacheConfig().getEventBufferMaxSize();
        if (eventCapacity > 0)
        {
            mEventManager = std::make_shared<KVCacheEventManager>(eventCapacity, mSim.maxSeqLen);
            std::vector<KVCacheEventData> created;
            created.emplace_back(KVCacheCreatedData{{mLimits.numBlocks, 0}});
            mEventManager->publish(std::move(created));
        }
        mThread = std::thread([this] { threadMain(); });
    }

    ~Impl()
    {
        shutdown();
    }

    Impl(Impl const&) = delete;
    Impl& operator=(Impl const&) = delete;

    // ---------------------------------------------------------------- public API

    IdType enqueueRequest(Request const& request)
    {
        checkAlive("enqueueRequest");
        std::string error = validate(request);
        std::unique_ptr<LlmRequest> r;
        if (error.empty())
        {
            r = makeLlmRequest(request);
        }
        IdType id = 0;
        bool wake = true;
        {
            std::lock_guard<std::mutex> lock(mMutex);
            if (mShutdown)
            {
                throw TllmException("enqueueRequest called after shutdown");
            }
            if (r && !r->simArrival && mLimits.maxQueueSize > 0
                && static_cast<SizeType64>(mIncoming.size()) + mNumWaiting >= mLimits.maxQueueSize)
            {
                throw TllmException("Maximum queue size of " + std::to_string(mLimits.maxQueueSize)
                    + " has been reached, please try again later");
            }
            id = mNextRequestId++;
            if (r)
            {
                r->id = id;
                // Scheduled arrivals wait for their time apart from the queue (and outside maxQueueSize).
                (r->simArrival ? mIncomingScheduled : mIncoming).push_back(std::move(r));
                if (mBlockedAtHold)
                {
                    // Nothing can start before the hold moves: no need to wake the executor thread (a
                    // context switch per request while a client enqueues a schedule). It has work now.
                    wake = false;
                    setPausedLocked(true);
                }
                else
                {
                    ++mSignalSeq;
                }
            }
        }
        if (error.empty())
        {
            if (wake)
            {
                mWorkCv.notify_one();
            }
        }
        else
        {
            std::vector<Response> out;
            out.emplace_back(id, "Invalid request: " + error, request.getClientId());
            publishResponses(out);
        }
        return id;
    }

    std::vector<Response> awaitResponses(std::optional<std::chrono::milliseconds> const& timeout)
    {
        checkAlive("awaitResponses");
        std::unique_lock<std::mutex> lock(mRespMutex);
        waitFor(lock, timeout, [this] { return !mResponses.empty(); });
        std::vector<Response> out(std::make_move_iterator(mResponses.begin()), std::make_move_iterator(mResponses.end()));
        mResponses.clear();
        mRespCount.clear();
        return out;
    }

    std::vector<Response> awaitResponses(IdType requestId, std::optional<std::chrono::milliseconds> const& timeout)
    {
        checkAlive("awaitResponses");
        std::unique_lock<std::mutex> lock(mRespMutex);
        waitFor(lock, timeout, [&] { return mRespCount.count(requestId) > 0; });
        std::vector<Response> out;
        extractLocked([&](IdType id) { return id == requestId; }, [&](Response&& r) { out.push_back(std::move(r)); });
        return out;
    }

    std::vector<std::vector<Response>> awaitResponses(
        std::vector<IdType> const& requestIds, std::optional<std::chrono::milliseconds> const& timeout)
    {
        checkAlive("awaitResponses");
        std::unordered_map<IdType, std::size_t> index;
        for (std::size_t i = 0; i < requestIds.size(); ++i)
        {
            index.emplace(requestIds[i], i);
        }
        std::vector<std::vector<Response>> out(requestIds.size());
        std::unique_lock<std::mutex> lock(mRespMutex);
        waitFor(lock, timeout, [&] {
            return std::any_of(requestIds.begin(), requestIds.end(), [&](IdType id) { return mRespCount.count(id) > 0; });
        });
        extractLocked([&](IdType id) { return index.count(id) > 0; },
            [&](Response&& r) { out[index[r.getRequestId()]].push_back(std::move(r)); });
        return out;
    }

    SizeType32 getNumResponsesReady(std::optional<IdType> const& requestId) const
    {
        checkAlive("getNumResponsesReady");
        std::lock_guard<std::mutex> lock(mRespMutex);
        if (!requestId)
        {
            return static_cast<SizeType32>(mResponses.size());
        }
        auto const it = mRespCount.find(*requestId);
        return it == mRespCount.end() ? 0 : it->second;
    }

    void cancelRequest(IdType requestId)
    {
        checkAlive("cancelRequest");
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mCancels.push_back(requestId);
            ++mSignalSeq;
        }
        mWorkCv.notify_one();
    }

    void shutdown()
    {
        std::lock_guard<std::mutex> joinLock(mShutdownMutex);
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mShutdown = true;
            ++mSignalSeq;
        }
        mShutdownFlag.store(true);
        mWorkCv.notify_all();
        {
            // Taking the lock orders the flag before any waiter's predicate check: no lost wake-up.
            std::lock_guard<std::mutex> lock(mRespMutex);
        }
        mRespCv.notify_all();
        if (mEventManager)
        {
            mEventManager->shutdown();
        }
        if (mThread.joinable())
        {
            mThread.join();
        }
    }

    std::deque<IterationStats> getLatestIterationStats()
    {
        checkAlive("getLatestIterationStats");
        std::lock_guard<std::mutex> lock(mStatsMutex);
        std::deque<IterationStats> out;
        out.swap(mIterStats);
        return out;
    }

    std::deque<RequestStatsPerIteration> getLatestRequestStats()
    {
        checkAlive("getLatestRequestStats");
        std::lock_guard<std::mutex> lock(mStatsMutex);
        std::deque<RequestStatsPerIteration> out;
        out.swap(mRequestStats);
        return out;
    }

    bool canEnqueueRequests() const
    {
        return !mShutdownFlag.load();
    }

    std::optional<std::shared_ptr<KVCacheEventManager>> getKVCacheEventManager() const
    {
        checkAlive("getKVCacheEventManager");
        if (!mEventManager)
        {
            return std::nullopt;
        }
        return mEventManager;
    }

    RequestPerfMetrics::TimePoint now() const
    {
        return mClock.now();
    }

    SimConfig const& getSimConfig() const
    {
        return mSim;
    }

    SizeType32 getTokensPerBlock() const
    {
        return mLimits.tokensPerBlock;
    }

    SizeType32 getMaxNumBlocks() const
    {
        return mLimits.numBlocks;
    }

    std::vector<std::string> getInvariantViolations() const
    {
        std::lock_guard<std::mutex> lock(mStatsMutex);
        return mViolations;
    }

    Clock::time_point holdClock(std::optional<Clock::time_point> const& until, bool unlessBacklogged)
    {
        checkAlive("holdClock");
        if (!mClock.isVirtual())
        {
            throw TllmException("holdClock needs the virtual clock (SimConfig::virtualClock)");
        }
        Clock::time_point hold;
        {
            std::lock_guard<std::mutex> lock(mMutex);
            if (mShutdown)
            {
                throw TllmException("holdClock called after shutdown");
            }
            // While a hold is set the virtual clock never runs at real speed: stop it now, so that a hold
            // at "now" is exactly the time the caller reads.
            Clock::time_point const now = mClock.freeze();
            hold = until ? *until : now;
            mHold = hold;
            mHoldUnlessBacklogged = unlessBacklogged;
            ++mSignalSeq;
        }
        mWorkCv.notify_one();
        return hold;
    }

    void resumeClock()
    {
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mHold.reset();
            mHoldUnlessBacklogged = false;
            ++mNumResumes;
            ++mSignalSeq;
        }
        mWorkCv.notify_one();
    }

    SimClockState getClockState() const
    {
        SimClockState s;
        std::lock_guard<std::mutex> lock(mMutex);
        s.now = mClock.now();
        s.hold = mHold;
        s.holdUnlessBacklogged = mHold && mHoldUnlessBacklogged;
        s.paused = mClockPaused;
        if (mClockPaused)
        {
            s.pausedFor = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - mPausedSince);
        }
        s.numPauses = mNumPauses;
        s.numResumes = mNumResumes;
        s.numScheduled = mNumScheduled + mIncomingScheduled.size();
        return s;
    }

private:
    // ---------------------------------------------------------------- helpers (any thread)

    void checkAlive(char const* what) const
    {
        if (mShutdownFlag.load())
        {
            throw TllmException(std::string(what) + " called after the executor was shut down");
        }
    }

    template <class Pred>
    void waitFor(std::unique_lock<std::mutex>& lock, std::optional<std::chrono::milliseconds> const& timeout, Pred ready)
    {
        auto const pred = [&] { return ready() || mShutdownFlag.load(); };
        if (timeout)
        {
            mRespCv.wait_for(lock, *timeout, pred);
        }
        else
        {
            mRespCv.wait(lock, pred);
        }
    }

    template <class Match, class Sink>
    void extractLocked(Match match, Sink sink)
    {
        std::deque<Response> rest;
        for (auto& response : mResponses)
        {
            IdType const id = response.getRequestId();
            if (match(id))
            {
                sink(std::move(response));
                mRespCount.erase(id);
            }
            else
            {
                rest.push_back(std::move(response));
            }
        }
        mResponses.swap(rest);
    }

    void publishResponses(std::vector<Response>& responses)
    {
        if (responses.empty())
        {
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mRespMutex);
            for (auto& response : responses)
            {
                ++mRespCount[response.getRequestId()];
                mResponses.push_back(std::move(response));
            }
        }
        responses.clear();
        mRespCv.notify_all();
    }

    std::string validate(Request const& request) const
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

    std::unique_ptr<LlmRequest> makeLlmRequest(Request const& request) const
    {
        auto r = std::make_unique<LlmRequest>();
        auto const& input = request.getInputTokenIds();
        r->promptLen = static_cast<SizeType32>(input.size());
        r->maxTokens = request.getMaxTokens();
        r->streaming = request.getStreaming();
        r->excludeInputFromOutput = request.getOutputConfig().excludeInputFromOutput;
        r->returnPerfMetrics = request.getOutputConfig().returnPerfMetrics;
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
        if (mKv.getEnableBlockReuse())
        {
            KvCacheManager::computeBlockHashes(r->kv, r->tokens.data(), r->promptLen, tpb);
        }
        return r;
    }

    // ---------------------------------------------------------------- executor thread

    void threadMain()
    {
        std::vector<std::unique_ptr<LlmRequest>> incoming;
        std::vector<IdType> cancels;
        bool stalled = false;
        while (true)
        {
            bool heldPass = false;
            {
                std::unique_lock<std::mutex> lock(mMutex);
                if (!waitForIteration(lock, stalled, heldPass))
                {
                    break;
                }
                incoming.swap(mIncoming);
                cancels.swap(mCancels);
                mNumWaiting += static_cast<SizeType64>(incoming.size());
            }
            try
            {
                stalled = !runIteration(incoming, cancels, heldPass);
            }
            catch (std::exception const& e)
            {
                // A simulator bug: fail the requests in flight instead of taking the process down.
                failEverything(std::string("internal simulator error: ") + e.what());
                stalled = false;
            }
            incoming.clear();
            cancels.clear();
        }
    }

    /// Waits on mWorkCv until something changes (an enqueue, a cancel, a hold or resume, shutdown).
    void waitForSignal(std::unique_lock<std::mutex>& lock)
    {
        auto const seq = mSignalSeq;
        mWorkCv.wait(lock, [&] { return mShutdown || mSignalSeq != seq; });
    }

    /// Executor thread, under mMutex: moves newly enqueued scheduled arrivals into the schedule.
    void takeScheduledLocked()
    {
        for (auto& owned : mIncomingScheduled)
        {
            LlmRequest* r = owned.get();
            r->pendingArrival = true;
            if (r->deadline)
            {
                ++mNumWithDeadline;
            }
            mScheduled.emplace(std::make_pair(*r->simArrival, r->id), r);
            mRequests.emplace(r->id, std::move(owned));
        }
        mIncomingScheduled.clear();
        mNumScheduled = mScheduled.size();
    }

    /// Executor thread, under mMutex: the executor waits at a hold while it has something to do (or not).
    void setPausedLocked(bool paused)
    {
        if (paused && !mClockPaused)
        {
            mClockPaused = true;
            ++mNumPauses;
            mPausedSince = Clock::now();
        }
        else if (!paused)
        {
            mClockPaused = false;
        }
    }

    /// Executor thread, under mMutex: more requests would be waiting at an iteration starting at `now` than it
    /// could admit (free batch slots), so a request not sent yet that would queue behind them could not be
    /// admitted in it either (holdClock's unlessBacklogged).
    bool backloggedLocked(Clock::time_point now) const
    {
        bool const staticBusy = mLimits.policy == CapacitySchedulerPolicy::kSTATIC_BATCH && !mActive.empty();
        std::size_t const active = mActive.size();
        std::size_t const maxBatch = static_cast<std::size_t>(mLimits.maxBatchSize);
        std::size_t const freeSlots = staticBusy || active >= maxBatch ? 0 : maxBatch - active;
        std::size_t queued = mWaiting.size() + mIncoming.size();
        for (auto it = mScheduled.begin(); queued <= freeSlots && it != mScheduled.end() && it->first.first <= now; ++it)
        {
            ++queued;
        }
        return queued > freeSlots;
    }

    /// Executor thread, under mMutex: waits until an iteration may run. Returns false at shutdown. Sets
    /// heldPass when the clock is held and cancellations are pending: the iteration then only takes
    /// arrivals and ends cancelled requests (no scheduling, no forward step, no time).
    bool waitForIteration(std::unique_lock<std::mutex>& lock, bool stalled, bool& heldPass)
    {
        heldPass = false;
        while (true)
        {
            if (mShutdown)
            {
                return false;
            }
            takeScheduledLocked();
            bool const work = !mWaiting.empty() || !mActive.empty() || !mIncoming.empty();
            bool const hasNext = !mScheduled.empty();
            Clock::time_point const next = hasNext ? mScheduled.begin()->first.first : Clock::time_point{};
            bool const held = mHold.has_value();
            // While held the virtual clock never runs at real speed.
            Clock::time_point const now = held ? mClock.freeze() : mClock.now();
            bool const canStart = !held || now < *mHold || (mHoldUnlessBacklogged && backloggedLocked(now));
            bool const due = work || (hasNext && next <= now);
            if (canStart && due)
            {
                setPausedLocked(false);
                if (stalled)
                {
                    // Work exists but nothing could run: do not spin.
                    if (!held)
                    {
                        mClock.setIdle(true);
                    }
                    auto const seq = mSignalSeq;
                    mWorkCv.wait_for(lock, std::chrono::milliseconds(1), [&] { return mShutdown || mSignalSeq != seq; });
                    stalled = false;
                    continue;
                }
                mClock.setIdle(false);
                return true;
            }
            if (canStart && hasNext && (!held || next < *mHold))
            {
                // Idle until the next scheduled arrival: the virtual clock jumps to it, the real one waits.
                setPausedLocked(false);
                if (mClock.isVirtual())
                {
                    mClock.setIdle(false);
                    mClock.jumpTo(next);
                    return true;
                }
                if (!mCancels.empty())
                {
                    return true;
                }
                auto const seq = mSignalSeq;
                mWorkCv.wait_until(lock, next, [&] { return mShutdown || mSignalSeq != seq; });
                continue;
            }
            if (!mCancels.empty())
            {
                // Cancellations are handled even while held (the paused state is kept).
                heldPass = !canStart;
                if (!held)
                {
                    mClock.setIdle(false);
                }
                return true;
            }
            if (held)
            {
                // Waiting for the client (resumeClock, a later hold); paused if anything is left to do.
                setPausedLocked(work || hasNext);
            }
            else
            {
                setPausedLocked(false);
                mClock.setIdle(true); // a virtual clock runs at real speed while nothing happens
            }
            // An enqueue may end a backlog-exempt wait (the queue grows): only a strict one skips the wake-up.
            mBlockedAtHold = held && !canStart && !mHoldUnlessBacklogged;
            waitForSignal(lock);
            mBlockedAtHold = false;
        }
    }

    void failEverything(std::string const& message)
    {
        recordViolation(message);
        std::vector<Response> out;
        for (auto& [id, r] : mRequests)
        {
            mKv.release(r->kv);
            out.emplace_back(id, message, r->clientId);
        }
        mRequests.clear();
        mScheduled.clear();
        mWaiting.clear();
        mActive.clear();
        mAdmitted.clear();
        mPaused.clear();
        mFinished.clear();
        mOutResponses.clear();
        mNumWithDeadline = 0;
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mNumWaiting = 0;
            mNumScheduled = 0;
        }
        publishResponses(out);
    }

    void insertWaiting(LlmRequest* r)
    {
        if (mWaiting.empty() || mWaiting.back()->priority >= r->priority)
        {
            mWaiting.push_back(r);
            return;
        }
        // Higher priority first; FCFS among equals; paused requests keep their place at the front.
        auto const pos = std::find_if(mWaiting.begin(), mWaiting.end(),
            [&](LlmRequest const* w) { return !w->paused && w->priority < r->priority; });
        mWaiting.insert(pos, r);
    }

    /// Ends cancelled and timed-out requests, queued or active.
    void terminateExpired(Clock::time_point now)
    {
        auto expired = [&](LlmRequest* r) {
            if (r->cancelRequested)
            {
                r->finishReason = FinishReason::kCANCELLED;
            }
            else if (r->deadline && now >= *r->deadline)
            {
                r->finishReason = FinishReason::kTIMED_OUT;
            }
            else
            {
                return false;
            }
            mFinished.push_back(r);
            return true;
        };
        mWaiting.erase(std::remove_if(mWaiting.begin(), mWaiting.end(), expired), mWaiting.end());
        auto const activeEnd = std::remove_if(mActive.begin(), mActive.end(), [&](LlmRequest* r) {
            if (!expired(r))
            {
                return false;
            }
            mKv.release(r->kv);
            return true;
        });
        mActive.erase(activeEnd, mActive.end());
    }

    bool matchesStopWord(LlmRequest const& r) const
    {
        SizeType32 const generated = r.numGenerated();
        for (auto const& word : r.stopWords)
        {
            auto const n = static_cast<SizeType32>(word.size());
            if (n <= generated && std::equal(word.begin(), word.end(), r.tokens.end() - n))
            {
                return true;
            }
        }
        return false;
    }

    /// Decodes up to maxNew tokens for r (stopping at the end id, a stop word or maxTokens).
    void produce(LlmRequest& r, SizeType32 maxNew)
    {
        for (SizeType32 k = 0; k < maxNew; ++k)
        {
            std::int64_t const pos = r.numGenerated();
            if (r.endAfter >= 0 && pos == r.endAfter)
            {
                ++r.decodedThisIter;
                r.finishReason = FinishReason::kEND_ID;
                return;
            }
            r.tokens.push_back(mSampler.token(r.sequenceSeed, pos, r.endId));
            ++r.decodedThisIter;
            if (!r.stopWords.empty() && matchesStopWord(r))
            {
                r.finishReason = FinishReason::kSTOP_WORDS;
                return;
            }
            if (r.numGenerated() >= r.maxTokens)
            {
                r.finishReason = FinishReason::kLENGTH;
                return;
            }
        }
    }

    Response makeResponse(LlmRequest& r, bool isFinal, IterationType iter)
    {
        Result result;
        result.isFinal = isFinal;
        result.isSequenceFinal = isFinal;
        result.outputTokenIds.resize(1);
        auto& out = result.outputTokenIds[0];
        auto const generatedBegin = r.tokens.begin() + r.promptLen;
        if (r.streaming)
        {
            out.assign(generatedBegin + r.numSent, r.tokens.end());
            r.numSent = r.numGenerated();
        }
        else
        {
            out.assign(r.excludeInputFromOutput ? generatedBegin : r.tokens.begin(), r.tokens.end());
        }
        result.finishReasons.assign(1, isFinal ? r.finishReason : FinishReason::kNOT_FINISHED);
        result.decodingIter = r.decodingIter;
        result.avgDecodedTokensPerIter
            = r.decodingIter > 0 ? static_cast<float>(r.numDecoded) / static_cast<float>(r.decodingIter) : 0.f;
        if (r.returnPerfMetrics)
        {
            RequestPerfMetrics perf = r.perf;
            perf.iter = iter;
            auto& kv = perf.kvCacheMetrics;
            kv.numTotalAllocatedBlocks = r.kv.totalAllocatedBlocks;
            kv.numNewAllocatedBlocks = r.kv.newAllocatedBlocks;
            kv.numReusedBlocks = r.kv.reusedBlocks;
            kv.numMissedBlocks = r.kv.missedBlocks;
            SizeType32 const lookups = r.kv.reusedBlocks + r.kv.missedBlocks;
            kv.kvCacheHitRate = lookups > 0 ? static_cast<float>(r.kv.reusedBlocks) / static_cast<float>(lookups) : 0.f;
            auto& spec = perf.speculativeDecoding;
            spec.totalDraftTokens = r.totalDraftTokens;
            spec.totalAcceptedDraftTokens = r.totalAcceptedDraftTokens;
            spec.acceptanceRate = r.totalDraftTokens > 0
                ? static_cast<float>(r.totalAcceptedDraftTokens) / static_cast<float>(r.totalDraftTokens)
                : 0.f;
            result.requestPerfMetrics = std::move(perf);
        }
        return Response(r.id, std::move(result), r.clientId);
    }

    static RequestStats requestStatsOf(LlmRequest const& r, RequestStage stage)
    {
        RequestStats s;
        s.id = r.id;
        s.stage = stage;
        s.contextPrefillPosition = r.prefillPos;
        s.numGeneratedTokens = r.numGenerated();
        s.avgNumDecodedTokensPerIter
            = r.decodingIter > 0 ? static_cast<float>(r.numDecoded) / static_cast<float>(r.decodingIter) : 0.f;
        s.scheduled = r.scheduled;
        s.paused = r.paused;
        s.allocTotalBlocksPerRequest = r.kv.totalAllocatedBlocks;
        s.allocNewBlocksPerRequest = r.kv.newAllocatedBlocks;
        s.reusedBlocksPerRequest = r.kv.reusedBlocks;
        s.missedBlocksPerRequest = r.kv.missedBlocks;
        SizeType32 const lookups = r.kv.reusedBlocks + r.kv.missedBlocks;
        s.kvCacheHitRatePerRequest
            = lookups > 0 ? static_cast<float>(r.kv.reusedBlocks) / static_cast<float>(lookups) : 0.f;
        return s;
    }

    KvCacheStats kvCacheStats() const
    {
        KvCacheStats s;
        s.maxNumBlocks = mKv.getMaxNumBlocks();
        s.usedNumBlocks = mKv.getNumUsedBlocks();
        s.freeNumBlocks = mKv.getNumFreeBlocks();
        s.tokensPerBlock = mKv.getTokensPerBlock();
        auto const& c = mKv.getCounters();
        // The real counters are SizeType32; after 2^31 blocks they wrap around instead of overflowing.
        auto const wrap = [](SizeType64 v) { return static_cast<SizeType32>(static_cast<std::uint32_t>(v)); };
        s.allocTotalBlocks = wrap(c.allocTotalBlocks);
        s.allocNewBlocks = wrap(c.allocNewBlocks);
        s.reusedBlocks = wrap(c.reusedBlocks);
        s.missedBlocks = wrap(c.missedBlocks);
        SizeType64 const lookups = c.reusedBlocks + c.missedBlocks;
        s.cacheHitRate
            = lookups > 0 ? static_cast<float>(static_cast<double>(c.reusedBlocks) / static_cast<double>(lookups)) : 0.f;
        return s;
    }

    void recordViolation(std::string what)
    {
        std::lock_guard<std::mutex> lock(mStatsMutex);
        if (mViolations.size() < 100)
        {
            mViolations.push_back("iteration " + std::to_string(mIter) + ": " + std::move(what));
        }
    }

    void checkInvariants()
    {
        if (auto err = mKv.checkConsistency(); !err.empty())
        {
            recordViolation(std::move(err));
        }
        if (mLimits.policy != CapacitySchedulerPolicy::kMAX_UTILIZATION)
        {
            SizeType64 const reserved = Scheduler::reservedBlocks(mActive, mKv);
            if (reserved > mKv.getMaxNumBlocks())
            {
                recordViolation("reserved blocks " + std::to_string(reserved) + " exceed the "
                    + std::to_string(mKv.getMaxNumBlocks()) + " blocks of the cache");
            }
        }
        if (static_cast<SizeType32>(mActive.size()) > mLimits.maxBatchSize)
        {
            recordViolation("more active requests than maxBatchSize");
        }
    }

    /// One iteration; returns false when nothing happened (no arrival, completion or scheduled work).
    bool runIteration(
        std::vector<std::unique_ptr<LlmRequest>>& incoming, std::vector<IdType> const& cancels, bool heldPass)
    {
        Clock::time_point const start = mClock.now();
        IterationType const iter = mIter;
        mFinished.clear();
        mAdmitted.clear();
        mPaused.clear();

        // Scheduled arrivals whose time has come, in arrival order (FCFS among equal times), before the
        // requests enqueued without one (whose arrival, this iteration's start, is later or equal).
        bool hadArrivals = !incoming.empty();
        while (!mScheduled.empty() && mScheduled.begin()->first.first <= start)
        {
            LlmRequest* r = mScheduled.begin()->second;
            mScheduled.erase(mScheduled.begin());
            r->pendingArrival = false;
            r->perf.timingMetrics.arrivalTime = *r->simArrival;
            insertWaiting(r);
            hadArrivals = true;
        }
        for (auto& owned : incoming)
        {
            LlmRequest* r = owned.get();
            r->perf.timingMetrics.arrivalTime = start;
            if (r->deadline)
            {
                ++mNumWithDeadline;
            }
            insertWaiting(r);
            mRequests.emplace(r->id, std::move(owned));
        }

        bool anyCancel = false;
        for (IdType const id : cancels)
        {
            auto const it = mRequests.find(id);
            if (it == mRequests.end() || it->second->isFinished())
            {
                continue;
            }
            LlmRequest* r = it->second.get();
            if (r->pendingArrival)
            {
                // Cancelled before its scheduled arrival: it ends now without ever entering the queue.
                mScheduled.erase(std::make_pair(*r->simArrival, r->id));
                r->pendingArrival = false;
                r->finishReason = FinishReason::kCANCELLED;
                mFinished.push_back(r);
            }
            else
            {
                r->cancelRequested = true;
                anyCancel = true;
            }
        }
        if (anyCancel || mNumWithDeadline > 0)
        {
            terminateExpired(start);
        }

        MicroBatch batch;
        if (!heldPass)
        {
            mScheduler.admit(mWaiting, mActive, mKv, mAdmitted);
            if (mLimits.policy == CapacitySchedulerPolicy::kSTATIC_BATCH && !mAdmitted.empty())
            {
                mStaticBatchSize = static_cast<SizeType32>(mActive.size());
            }
            batch = mScheduler.formMicroBatch(mActive);
            mScheduler.fitBlocks(batch, mActive, mWaiting, mKv, mPaused);
        }
        {
            std::lock_guard<std::mutex> lock(mMutex);
            mNumWaiting = static_cast<SizeType64>(mWaiting.size());
            mNumScheduled = mScheduled.size();
        }
        auto const numActive = static_cast<SizeType32>(mActive.size());

        // ---- the forward step
        for (auto* r : batch.context)
        {
            r->decodedThisIter = 0;
        }
        for (auto* r : batch.context)
        {
            r->prefillPos += r->chunk;
            mKv.extend(r->kv, r->prefillPos, r->tokens.data());
            if (r->prefillPos >= r->contextLen)
            {
                r->stage = RequestStage::kGENERATION_IN_PROGRESS;
                produce(*r, 1);
            }
        }
        SpecDecodingStats spec;
        SizeType64 genDecoded = 0;
        bool const specOn = mSim.specDraftLength > 0;
        for (auto* r : batch.generation)
        {
            r->decodedThisIter = 0;
            SizeType32 draft = 0;
            SizeType32 accepted = 0;
            if (specOn)
            {
                draft = std::max<SizeType32>(0, std::min(mSim.specDraftLength, r->maxTokens - r->numGenerated() - 1));
                accepted = mSampler.acceptedDraftTokens(
                    r->sequenceSeed, r->numGenerated(), draft, mSim.specAcceptanceProbability);
            }
            produce(*r, 1 + accepted);
            mKv.extend(r->kv, static_cast<SizeType32>(r->tokens.size()) - 1, r->tokens.data());
            genDecoded += r->decodedThisIter;
            if (draft > 0)
            {
                SizeType32 const acceptedKept = std::min(accepted, std::max<SizeType32>(0, r->decodedThisIter - 1));
                r->totalDraftTokens += draft;
                r->totalAcceptedDraftTokens += acceptedKept;
                spec.numDraftTokens += draft;
                spec.numAcceptedTokens += acceptedKept;
                ++spec.numRequestsWithDraftTokens;
            }
        }

        bool const anyGen = !batch.generation.empty();
        bool const anyWork = anyGen || !batch.context.empty();
        double const utilization
            = static_cast<double>(mKv.getNumUsedBlocks()) / static_cast<double>(mKv.getMaxNumBlocks());
        TimingModel::Breakdown latency;
        if (anyWork)
        {
            latency = mTiming.iteration(batch.numCtxTokens, anyGen, utilization, spec.numRequestsWithDraftTokens > 0);
        }
        if (latency.totalMs > 0.0)
        {
            if (mClock.isVirtual())
            {
                mClock.advance(fromMs(latency.totalMs));
            }
            else
            {
                std::unique_lock<std::mutex> lock(mMutex);
                mWorkCv.wait_until(lock, start + fromMs(latency.totalMs), [this] { return mShutdown; });
            }
        }
        Clock::time_point const end = mClock.now();

        // ---- timestamps
        double queueLatencyMs = 0.0;
        for (auto const* r : mAdmitted)
        {
            queueLatencyMs += toMs(start - r->enqueueTime);
        }
        auto stamp = [&](LlmRequest* r) {
            auto& timing = r->perf.timingMetrics;
            if (!r->perf.firstIter)
            {
                timing.firstScheduledTime = start;
                r->perf.firstIter = iter;
            }
            if (r->decodedThisIter > 0)
            {
                if (timing.firstTokenTime.time_since_epoch().count() == 0)
                {
                    timing.firstTokenTime = end;
                }
                timing.lastTokenTime = end;
                r->perf.lastIter = iter;
                ++r->decodingIter;
                r->numDecoded += r->decodedThisIter;
            }
        };
        for (auto* r : batch.context)
        {
            stamp(r);
        }
        for (auto* r : batch.generation)
        {
            stamp(r);
        }

        // ---- responses
        for (auto* list : {&batch.generation, &batch.context})
        {
            for (auto* r : *list)
            {
                if (r->isFinished())
                {
                    mFinished.push_back(r);
                    mKv.release(r->kv);
                }
                else if (r->streaming && r->decodedThisIter > 0)
                {
                    mOutResponses.push_back(makeResponse(*r, false, iter));
                }
            }
        }
        for (auto* r : mFinished)
        {
            r->stage = RequestStage::kGENERATION_COMPLETE;
            mOutResponses.push_back(makeResponse(*r, true, iter));
        }
        if (!mFinished.empty())
        {
            mActive.erase(std::remove_if(mActive.begin(), mActive.end(), [](LlmRequest* r) { return r->isFinished(); }),
                mActive.end());
        }

        bool const didSomething = anyWork || hadArrivals || !mFinished.empty() || !mAdmitted.empty() || !mPaused.empty();
        if (didSomething)
        {
            if (mSim.checkInvariants)
            {
                checkInvariants();
            }
            publishStats(iter, start, end, batch, numActive, queueLatencyMs, genDecoded, spec, latency);
            if (mEventManager)
            {
                mKv.takeEvents(mEventScratch);
                mEventManager->publish(std::move(mEventScratch));
                mEventScratch.clear();
            }
            ++mIter;
        }
        if (mSim.lockstep && !mFinished.empty())
        {
            // Hold before the responses go out: a client that reacts to them always finds the hold set.
            std::lock_guard<std::mutex> lock(mMutex);
            mHold = mHold ? std::min(*mHold, end) : end;
            mHoldUnlessBacklogged = false;
        }
        publishResponses(mOutResponses);

        for (auto* r : mFinished)
        {
            if (r->deadline)
            {
                --mNumWithDeadline;
            }
            mRequests.erase(r->id); // destroys r
        }
        mFinished.clear();
        return didSomething;
    }

    void publishStats(IterationType iter, Clock::time_point start, Clock::time_point end, MicroBatch const& batch,
        SizeType32 numActive, double queueLatencyMs, SizeType64 genDecoded, SpecDecodingStats spec,
        TimingModel::Breakdown const& latency)
    {
        SizeType32 const iterStatsMax = mConfig.getIterStatsMaxIterations();
        SizeType32 const requestStatsMax = mConfig.getRequestStatsMaxIterations();
        if (iterStatsMax <= 0 && requestStatsMax <= 0)
        {
            return;
        }
        std::optional<IterationStats> stats;
        if (iterStatsMax > 0)
        {
            IterationStats& s = stats.emplace();
            s.timestamp = formatTimestamp(mClock.toSystem(end));
            s.iter = iter;
            s.iterLatencyMS = toMs(end - start);
            s.numNewActiveRequests = static_cast<SizeType32>(mAdmitted.size());
            s.newActiveRequestsQueueLatencyMS
                = mAdmitted.empty() ? 0.0 : queueLatencyMs / static_cast<double>(mAdmitted.size());
            s.numActiveRequests = numActive;
            {
                std::lock_guard<std::mutex> lock(mMutex);
                s.numQueuedRequests = static_cast<SizeType32>(mWaiting.size() + mIncoming.size());
            }
            s.numCompletedRequests = static_cast<SizeType32>(mFinished.size());
            s.maxNumActiveRequests = mLimits.maxBatchSize;
            s.maxBatchSizeStatic = mLimits.maxBatchSize;
            s.maxBatchSizeTunerRecommended = mLimits.maxBatchSize;
            s.maxBatchSizeRuntime = mLimits.maxBatchSize;
            s.maxNumTokensStatic = mLimits.maxNumTokens;
            s.maxNumTokensTunerRecommended = mLimits.maxNumTokens;
            s.maxNumTokensRuntime = mLimits.maxNumTokens;
            s.gpuMemUsage = mSim.modelSizeBytes
                + static_cast<std::size_t>(mKv.getNumUsedBlocks()) * mSim.kvBytesPerBlock;
            s.cpuMemUsage = mSim.cpuMemUsageBytes;
            s.pinnedMemUsage = mSim.pinnedMemUsageBytes;
            s.kvCacheStats = kvCacheStats();
            auto const numCtx = static_cast<SizeType32>(batch.context.size());
            auto const numGen = static_cast<SizeType32>(batch.generation.size());
            if (mLimits.staticBatching)
            {
                StaticBatchingStats& sb = s.staticBatchingStats.emplace();
                sb.numScheduledRequests = numCtx + numGen;
                sb.numContextRequests = numCtx;
                sb.numCtxTokens = batch.numCtxTokens;
                sb.numGenTokens = static_cast<SizeType32>(genDecoded);
                sb.emptyGenSlots = numGen > 0 ? std::max<SizeType32>(0, mStaticBatchSize - numGen) : 0;
            }
            else
            {
                InflightBatchingStats& ib = s.inflightBatchingStats.emplace();
                ib.numScheduledRequests = numCtx + numGen;
                ib.numContextRequests = numCtx;
                ib.numGenRequests = numGen;
                ib.numPausedRequests = static_cast<SizeType32>(mPaused.size());
                ib.numCtxTokens = batch.numCtxTokens;
                ib.microBatchId = 0;
                if (mSim.specDraftLength > 0)
                {
                    ib.avgNumDecodedTokensPerIter
                        = numGen > 0 ? static_cast<float>(static_cast<double>(genDecoded) / numGen) : 0.f;
                }
                else
                {
                    ib.avgNumDecodedTokensPerIter = 1.f;
                }
            }
            if (mSim.specDraftLength > 0)
            {
                spec.acceptanceLength = spec.numRequestsWithDraftTokens > 0
                    ? static_cast<double>(spec.numAcceptedTokens + spec.numRequestsWithDraftTokens)
                        / static_cast<double>(spec.numRequestsWithDraftTokens)
                    : 0.0;
                spec.iterLatencyMS = s.iterLatencyMS;
                double const modelled = latency.prefillMs + latency.decodeMs + latency.draftMs;
                spec.draftOverhead = modelled > 0.0 ? latency.draftMs / modelled : 0.0;
                s.specDecodingStats = spec;
            }
        }
        std::optional<RequestStatsPerIteration> perRequest;
        if (requestStatsMax > 0)
        {
            RequestStatsPerIteration& rs = perRequest.emplace();
            rs.iter = iter;
            rs.requestStats.reserve(mWaiting.size() + mActive.size() + mFinished.size());
            for (auto const* r : mActive)
            {
                rs.requestStats.push_back(requestStatsOf(*r, r->stage));
            }
            for (auto const* r : mFinished)
            {
                rs.requestStats.push_back(requestStatsOf(*r, RequestStage::kGENERATION_COMPLETE));
            }
            for (auto const* r : mWaiting)
            {
                rs.requestStats.push_back(requestStatsOf(*r, RequestStage::kQUEUED));
            }
        }
        std::lock_guard<std::mutex> lock(mStatsMutex);
        if (stats)
        {
            if (static_cast<SizeType32>(mIterStats.size()) >= iterStatsMax)
            {
                mIterStats.pop_front();
            }
            mIterStats.push_back(std::move(*stats));
        }
        if (perRequest)
        {
            if (static_cast<SizeType32>(mRequestStats.size()) >= requestStatsMax)
            {
                mRequestStats.pop_front();
            }
            mRequestStats.push_back(std::move(*perRequest));
        }
    }

    // ---------------------------------------------------------------- state

    SimConfig const mSim;
    ExecutorConfig const mConfig;
    Limits const mLimits;
    SimClock mClock;
    TimingModel const mTiming;
    TokenSampler const mSampler;

    // Executor thread only (mKv's reuse flag and hashing are also read by enqueueRequest; both are const).
    KvCacheManager mKv;
    Scheduler mScheduler;
    std::unordered_map<IdType, std::unique_ptr<LlmRequest>> mRequests; // owns every accepted live request
    std::deque<LlmRequest*> mWaiting;
    std::vector<LlmRequest*> mActive;
    /// Scheduled arrivals by (arrival time, id): a min-heap that also allows removal on cancel.
    std::map<std::pair<Clock::time_point, IdType>, LlmRequest*> mScheduled;
    std::vector<LlmRequest*> mAdmitted;
    std::vector<LlmRequest*> mPaused;
    std::vector<LlmRequest*> mFinished;
    std::vector<Response> mOutResponses;
    std::vector<KVCacheEventData> mEventScratch;
    IterationType mIter{0};
    SizeType32 mNumWithDeadline{0};
    SizeType32 mStaticBatchSize{0};

    // Shared with callers, guarded by mMutex.
    mutable std::mutex mMutex;
    std::condition_variable mWorkCv;
    std::vector<std::unique_ptr<LlmRequest>> mIncoming;
    /// Enqueued with a scheduled arrival, not yet taken into mScheduled by the executor thread.
    std::vector<std::unique_ptr<LlmRequest>> mIncomingScheduled;
    std::vector<IdType> mCancels;
    /// Bumped by every change the executor thread may wait for (enqueue, cancel, hold, resume, shutdown).
    std::uint64_t mSignalSeq{0};
    /// Pacing: no iteration starts at or after the hold.
    std::optional<Clock::time_point> mHold;
    /// The hold does not apply while the queue is backlogged (backloggedLocked).
    bool mHoldUnlessBacklogged{false};
    bool mClockPaused{false};
    /// The executor thread waits at a hold that no enqueue can lift (now >= hold).
    bool mBlockedAtHold{false};
    Clock::time_point mPausedSince{}; // real steady time
    std::uint64_t mNumPauses{0};
    std::uint64_t mNumResumes{0};
    std::size_t mNumScheduled{0};
    SizeType64 mNumWaiting{0};
    IdType mNextRequestId{1};
    bool mShutdown{false};

    std::atomic<bool> mShutdownFlag{false};
    std::mutex mShutdownMutex;

    // Responses, guarded by mRespMutex.
    mutable std::mutex mRespMutex;
    std::condition_variable mRespCv;
    std::deque<Response> mResponses;
    std::unordered_map<IdType, SizeType32> mRespCount;

    // Stats, guarded by mStatsMutex.
    mutable std::mutex mStatsMutex;
    std::deque<IterationStats> mIterStats;
    std::deque<RequestStatsPerIteration> mRequestStats;
    std::vector<std::string> mViolations;

    std::shared_ptr<KVCacheEventManager> mEventManager;
    std::thread mThread; // last: started once everything above exists
};

// -------------------------------------------------------------------- Executor

Executor::Executor(SimConfig const& simConfig, ModelType modelType, ExecutorConfig const& executorConfig)
    : mImpl(std::make_unique<Impl>(simConfig, modelType, executorConfig))
{
}

Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

IdType Executor::enqueueRequest(Request const& request)
{
    return mImpl->enqueueRequest(request);
}

std::vector<IdType> Executor::enqueueRequests(std::vector<Request> const& requests)
{
    std::vector<IdType> ids;
    ids.reserve(requests.size());
    for (auto const& request : requests)
    {
        ids.push_back(mImpl->enqueueRequest(request));
    }
    return ids;
}

std::vector<Response> Executor::awaitResponses(std::optional<std::chrono::milliseconds> const& timeout)
{
    return mImpl->awaitResponses(timeout);
}

std::vector<Response> Executor::awaitResponses(
    IdType const& requestId, std::optional<std::chrono::milliseconds> const& timeout)
{
    return mImpl->awaitResponses(requestId, timeout);
}

std::vector<std::vector<Response>> Executor::awaitResponses(
    std::vector<IdType> const& requestIds, std::optional<std::chrono::milliseconds> const& timeout)
{
    return mImpl->awaitResponses(requestIds, timeout);
}

SizeType32 Executor::getNumResponsesReady(std::optional<IdType> const& requestId) const
{
    return mImpl->getNumResponsesReady(requestId);
}

void Executor::cancelRequest(IdType requestId)
{
    mImpl->cancelRequest(requestId);
}

void Executor::shutdown()
{
    mImpl->shutdown();
}

std::deque<IterationStats> Executor::getLatestIterationStats()
{
    return mImpl->getLatestIterationStats();
}

std::deque<RequestStatsPerIteration> Executor::getLatestRequestStats()
{
    return mImpl->getLatestRequestStats();
}

bool Executor::canEnqueueRequests() const
{
    return mImpl->canEnqueueRequests();
}

std::optional<std::shared_ptr<KVCacheEventManager>> Executor::getKVCacheEventManager() const
{
    return mImpl->getKVCacheEventManager();
}

RequestPerfMetrics::TimePoint Executor::now() const
{
    return mImpl->now();
}

SimConfig const& Executor::getSimConfig() const
{
    return mImpl->getSimConfig();
}

SizeType32 Executor::getTokensPerBlock() const
{
    return mImpl->getTokensPerBlock();
}

SizeType32 Executor::getMaxNumBlocks() const
{
    return mImpl->getMaxNumBlocks();
}

std::vector<std::string> Executor::getInvariantViolations() const
{
    return mImpl->getInvariantViolations();
}

RequestPerfMetrics::TimePoint Executor::holdClock(
    std::optional<RequestPerfMetrics::TimePoint> const& until, bool unlessBacklogged)
{
    return mImpl->holdClock(until, unlessBacklogged);
}

void Executor::resumeClock()
{
    mImpl->resumeClock();
}

SimClockState Executor::getClockState() const
{
    return mImpl->getClockState();
}

} // namespace trtllm_sim::executor
