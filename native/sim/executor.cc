// Executor::Impl: owns the parts of the simulated executor and wires them together. The public API is
// thread-safe; one executor thread runs iterations. Where each part lives:
//   validation.h      configuration limits (validateConfig) and request validation / intake
//   mailbox.h         what callers hand the executor thread (requests, cancellations, shutdown)
//   pacing.h          scheduled arrivals, the clock hold, lockstep, the wait for the next iteration
//   rank.h            an attention-DP rank: KV pool, scheduler, LoRA cache, queue and batch (one without DP)
//   iteration.h       one iteration: admit, schedule, forward, time, stamp, respond
//   timing_model.h    configured latencies, or the performance model (perf_model.h) of a model on a GPU
//   stats_builder.h   IterationStats / KvCacheStats / RequestStats and their rings
//   invariants.h      the invariant checks (SimConfig::checkInvariants)
//   faults.h          injected faults (SimConfig::faults): failing requests, stalls, a fatal error, KV bursts
//   response_queue.h  responses ready for awaitResponses
#include "sim/executor.h"

#include "sim/clock.h"
#include "sim/faults.h"
#include "sim/invariants.h"
#include "sim/iteration.h"
#include "sim/mailbox.h"
#include "sim/pacing.h"
#include "sim/rank.h"
#include "sim/request_pool.h"
#include "sim/response_queue.h"
#include "sim/scheduler.h"
#include "sim/stats_builder.h"
#include "sim/timing_model.h"
#include "sim/token_sampler.h"
#include "sim/validation.h"
#include "sim/work_log.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace trtllm_sim::executor
{

namespace
{

using common::TllmException;

/// The event manager (with a KVCacheCreatedData event per rank), or null when eventBufferMaxSize is 0.
std::shared_ptr<KVCacheEventManager> makeEventManager(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits)
{
    std::size_t const capacity = config.getKvCacheConfig().getEventBufferMaxSize();
    if (capacity == 0)
    {
        return nullptr;
    }
    auto manager = std::make_shared<KVCacheEventManager>(capacity, sim.maxSeqLen, limits.attentionDp);
    for (SizeType32 rank = 0; rank < limits.attentionDp; ++rank)
    {
        std::vector<KVCacheEventData> created;
        created.emplace_back(KVCacheCreatedData{{limits.numBlocks, limits.numHostBlocks}});
        manager->publish(std::move(created), rank);
    }
    return manager;
}

Ranks makeRanks(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits)
{
    auto const& kv = config.getKvCacheConfig();
    Scheduler::Limits const scheduling{limits.policy, limits.maxBatchSize, limits.maxNumTokens,
        config.getEnableChunkedContext(), limits.tokensPerBlock, sim.specDraftLength};
    Ranks ranks;
    for (SizeType32 i = 0; i < limits.attentionDp; ++i)
    {
        ranks.push_back(std::make_unique<Rank>(i,
            KvCacheManager(limits.numBlocks, limits.tokensPerBlock, kv.getEnableBlockReuse(),
                kv.getEventBufferMaxSize() > 0, limits.numHostBlocks),
            scheduling, sim.loraMaxAdapters));
    }
    return ranks;
}

} // namespace

class Executor::Impl
{
public:
    Impl(SimConfig const& simConfig, ModelType modelType, ExecutorConfig const& executorConfig)
        : mSim(simConfig)
        , mConfig(executorConfig)
        , mPerf(makePerfModel(simConfig))
        , mLimits(validateConfig(simConfig, modelType, executorConfig, mPerf ? &*mPerf : nullptr))
        , mClock(simConfig.virtualClock)
        , mTiming(simConfig, mPerf ? &*mPerf : nullptr, mLimits.kvBytesPerBlock, mLimits.adapterBytes)
        , mSampler(simConfig.vocabSize, simConfig.seed)
        , mRanks(makeRanks(mSim, mConfig, mLimits))
        , mIntake(mSim, mConfig, mLimits, mSampler, mClock, executorConfig.getKvCacheConfig().getEnableBlockReuse())
        , mStats(mSim, mConfig, mLimits, mClock, mRanks)
        , mInvariants(mLimits, mRanks)
        , mPacing(mClock, mMailbox, mPool, mRanks, mLimits, simConfig.lockstep)
        , mEventManager(makeEventManager(mSim, mConfig, mLimits))
        , mFaults(simConfig.faults)
        , mStep(mSim, mLimits, mClock, mTiming, mSampler, mRanks, mPool, mMailbox, mPacing, mStats, mInvariants,
              mResponses, mEventManager.get(), mSim.recordWork ? &mWorkLog : nullptr, mFaults)
    {
        mThread = std::thread([this] { threadMain(); });
    }

    ~Impl()
    {
        shutdown();
    }

    Impl(Impl const&) = delete;
    Impl& operator=(Impl const&) = delete;

    IdType enqueueRequest(Request const& request)
    {
        checkAlive("enqueueRequest");
        std::string error = mIntake.validate(request);
        std::unique_ptr<LlmRequest> r;
        if (error.empty())
        {
            r = mIntake.makeLlmRequest(request);
        }
        IdType id = 0;
        bool wake = true;
        {
            std::lock_guard<std::mutex> lock(mMailbox.mutex);
            if (mMailbox.shutdown)
            {
                throw TllmException("enqueueRequest called after shutdown");
            }
            if (r && !r->simArrival && mLimits.maxQueueSize > 0
                && static_cast<SizeType64>(mMailbox.incoming.size()) + mMailbox.numWaiting >= mLimits.maxQueueSize)
            {
                throw TllmException("Maximum queue size of " + std::to_string(mLimits.maxQueueSize)
                    + " has been reached, please try again later");
            }
            id = mMailbox.nextRequestId++;
            if (r)
            {
                r->id = id;
                r->injectedErrorAt = mFaults.requestErrorAt(id, r->maxTokens);
                // Scheduled arrivals wait for their time apart from the queue (and outside maxQueueSize).
                (r->simArrival ? mMailbox.incomingScheduled : mMailbox.incoming).push_back(std::move(r));
                wake = mPacing.enqueueWakesLocked();
                if (wake)
                {
                    mMailbox.signalLocked();
                }
            }
        }
        if (error.empty())
        {
            if (wake)
            {
                mMailbox.cv.notify_one();
            }
        }
        else
        {
            std::vector<Response> out;
            out.emplace_back(id, "Invalid request: " + error, request.getClientId());
            mResponses.publish(out);
        }
        return id;
    }

    std::vector<Response> awaitResponses(std::optional<std::chrono::milliseconds> const& timeout)
    {
        checkAlive("awaitResponses");
        return mResponses.takeAll(timeout);
    }

    std::vector<Response> awaitResponses(IdType requestId, std::optional<std::chrono::milliseconds> const& timeout)
    {
        checkAlive("awaitResponses");
        return mResponses.take(requestId, timeout);
    }

    std::vector<std::vector<Response>> awaitResponses(
        std::vector<IdType> const& requestIds, std::optional<std::chrono::milliseconds> const& timeout)
    {
        checkAlive("awaitResponses");
        return mResponses.take(requestIds, timeout);
    }

    SizeType32 getNumResponsesReady(std::optional<IdType> const& requestId) const
    {
        checkAlive("getNumResponsesReady");
        return mResponses.numReady(requestId);
    }

    void cancelRequest(IdType requestId)
    {
        checkAlive("cancelRequest");
        {
            std::lock_guard<std::mutex> lock(mMailbox.mutex);
            mMailbox.cancels.push_back(requestId);
            mMailbox.signalLocked();
        }
        mMailbox.cv.notify_one();
    }

    void shutdown()
    {
        std::lock_guard<std::mutex> joinLock(mShutdownMutex);
        {
            std::lock_guard<std::mutex> lock(mMailbox.mutex);
            mMailbox.shutdown = true;
            mMailbox.signalLocked();
        }
        mShutdownFlag.store(true);
        mMailbox.cv.notify_all();
        mResponses.close();
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
        return mStats.takeIterationStats();
    }

    std::deque<RequestStatsPerIteration> getLatestRequestStats()
    {
        checkAlive("getLatestRequestStats");
        return mStats.takeRequestStats();
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
        return mInvariants.violations();
    }

    SimEngineInfo getEngineInfo() const
    {
        SimEngineInfo info;
        info.timingModel = mPerf ? "perfModel" : "configured";
        info.attentionDp = mLimits.attentionDp;
        info.numKvBlocks = mLimits.numBlocks;
        info.numHostKvBlocks = mLimits.numHostBlocks;
        info.tokensPerBlock = mLimits.tokensPerBlock;
        info.maxBatchSize = mLimits.maxBatchSize;
        info.maxNumTokens = mLimits.maxNumTokens;
        info.modelSizeBytes = mLimits.modelSizeBytes;
        info.kvBytesPerBlock = mLimits.kvBytesPerBlock;
        if (mPerf)
        {
            info.gpu = mPerf->gpu().name;
            info.tp = mPerf->config().tp;
            info.weightsPrecision = precisionName(mPerf->config().weights);
            info.kvCachePrecision = precisionName(mPerf->kvPrecision());
        }
        return info;
    }

    std::vector<SimLoraAdapter> getLoraAdapters() const
    {
        return mStats.loraAdapters();
    }

    std::vector<std::vector<IterationWork>> takeRecordedWork()
    {
        return mWorkLog.take();
    }

    RequestPerfMetrics::TimePoint holdClock(std::optional<RequestPerfMetrics::TimePoint> const& until, bool unlessBacklogged)
    {
        checkAlive("holdClock");
        return mPacing.hold(until, unlessBacklogged);
    }

    void resumeClock()
    {
        mPacing.resume();
    }

    SimClockState getClockState() const
    {
        return mPacing.state();
    }

private:
    void checkAlive(char const* what) const
    {
        if (mShutdownFlag.load())
        {
            throw TllmException(std::string(what) + " called after the executor was shut down");
        }
    }

    void threadMain()
    {
#if defined(__linux__)
        // Named for per-thread CPU figures (/proc/<pid>/task/<tid>/comm; scripts/bench/stream-cost.mjs).
        pthread_setname_np(pthread_self(), "trtllm-sim");
#endif
        std::vector<std::unique_ptr<LlmRequest>> incoming;
        std::vector<IdType> cancels;
        bool stalled = false;
        while (true)
        {
            bool heldPass = false;
            {
                std::unique_lock<std::mutex> lock(mMailbox.mutex);
                if (!mPacing.waitForIteration(lock, stalled, heldPass))
                {
                    break;
                }
                incoming.swap(mMailbox.incoming);
                cancels.swap(mMailbox.cancels);
                mMailbox.numWaiting += static_cast<SizeType64>(incoming.size());
            }
            try
            {
                stalled = !mStep.run(incoming, cancels, heldPass);
            }
            catch (std::exception const& e)
            {
                // A simulator bug: fail the requests in flight instead of taking the process down.
                mStep.failAll(std::string("internal simulator error: ") + e.what());
                stalled = false;
            }
            incoming.clear();
            cancels.clear();
        }
    }

    // Configuration and models (read-only once built).
    SimConfig const mSim;
    ExecutorConfig const mConfig;
    std::optional<PerfModel> const mPerf;
    Limits const mLimits;
    SimClock mClock;
    TimingModel const mTiming;
    TokenSampler const mSampler;

    // Executor thread only.
    Ranks mRanks;
    RequestPool mPool;

    // The parts; each documents its own threading.
    RequestIntake const mIntake;
    Mailbox mMailbox;
    ResponseQueue mResponses;
    StatsBuilder mStats;
    InvariantChecker mInvariants;
    Pacing mPacing;
    std::shared_ptr<KVCacheEventManager> mEventManager;
    WorkLog mWorkLog;
    FaultInjector const mFaults;
    IterationStep mStep;

    std::atomic<bool> mShutdownFlag{false};
    std::mutex mShutdownMutex;
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

SimEngineInfo Executor::getEngineInfo() const
{
    return mImpl->getEngineInfo();
}

std::vector<SimLoraAdapter> Executor::getLoraAdapters() const
{
    return mImpl->getLoraAdapters();
}

std::vector<std::vector<IterationWork>> Executor::takeRecordedWork()
{
    return mImpl->takeRecordedWork();
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
