#pragma once
// Bridge<Api>: owns one Api::Executor and pumps what it produces into bounded queues for the JS thread.
// Written once over an "executor API" traits type, so the same code drives TensorRT-LLM and the simulator.
// No N-API here: the JS side (napi/engine_wrap.h) drains the queues when `notify` tells it there is data.
//
// Threads: responses (awaitResponses with a short timeout), iteration stats (getLatestIterationStats on an
// interval), KV events (getLatestEvents with a timeout); requestFlush() makes all three poll at once. None of
// them ever waits on an executor thread's behalf; the executor's own threads only ever see our calls into its
// public API.
//
// Scheduled arrivals and the clock hold are the backend's: Api::Pacing (bridge/pacing.h), built over the executor.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bridge/backpressure_queue.h"
#include "bridge/detect.h"
#include "bridge/drop_oldest_ring.h"
#include "bridge/errors.h"
#include "bridge/executor_fault.h"
#include "bridge/flush_tickets.h"
#include "bridge/pacing.h"
#include "bridge/record_ring.h"
#include "bridge/request_record.h"
#include "bridge/response_chunk.h"
#include "bridge/thread_name.h"
#include "bridge/steady_epoch.h"

namespace trtllm_metrics::bridge {

struct BridgeOptions {
    std::size_t responseQueueCapacity = 65536;
    std::size_t recordQueueCapacity = 65536;
    std::size_t statsQueueCapacity = 4096;
    std::size_t eventQueueCapacity = 65536;
    std::chrono::milliseconds responsePollTimeout{20};
    std::chrono::milliseconds statsInterval{100};
    std::chrono::milliseconds eventPollTimeout{50};
    // The executor's eventBufferMaxSize, reported to metrics. 0: the executor keeps no KV events, so the bridge
    // runs no event pump (TensorRT-LLM still hands out an event manager then, whose getLatestEvents returns at
    // once, ignoring its timeout: polling it would spin a core).
    std::size_t eventBufferCapacity = 0;
};

// What the caller of enqueue() wants to know about a request beyond what the executor returns.
struct RequestMeta {
    bool wantPerfMetrics = false;  // copy perf metrics into the chunks (the record stream always gets them)
    bool wantLogProbs = false;     // the chunks carry the tokens' log probabilities, the record their sum
    double numSequences = 1;
    // Scheduled arrival, steady ns relative to steadyEpochNs(), applied by Api::Pacing (simulator only).
    std::optional<double> simArrivalNs;
};

struct BridgeCounters {
    StreamCountersSnapshot responses, requestRecords, iterationStats, kvEvents;
    std::uint64_t kvEventsDroppedByExecutor = 0;
};

template <typename Api>
class Bridge {
public:
    using Executor = typename Api::Executor;
    using Request = typename Api::Request;
    using Response = typename Api::Response;
    using IterationStats = typename Api::IterationStats;
    using KVCacheEvent = typename Api::KVCacheEvent;
    using IdType = typename Api::IdType;
    using Pacing = typename Api::Pacing;

    Bridge(std::unique_ptr<Executor> executor, BridgeOptions options, std::function<void()> notify)
        : mExecutor(std::move(executor)),
          mPacing(*mExecutor),
          mOptions(options),
          mNotify(std::move(notify)),
          mChunks(options.responseQueueCapacity),
          mRecords(options.recordQueueCapacity),
          mStats(options.statsQueueCapacity),
          mEvents(options.eventQueueCapacity),
          mTokensPerBlock(Api::initialTokensPerBlock(*mExecutor)),
          mEventManager(options.eventBufferCapacity > 0 ? eventManagerOf(*mExecutor) : nullptr),
          mFlush(mEventManager != nullptr) {}

    Bridge(Bridge const&) = delete;
    Bridge& operator=(Bridge const&) = delete;

    ~Bridge() { stop(std::chrono::milliseconds(0), /*teardown=*/true); }

    void start() {
        mResponseThread = std::thread([this] {
            nameThisThread("trtllm-resp");
            responseLoop();
        });
        mStatsThread = std::thread([this] {
            nameThisThread("trtllm-stats");
            statsLoop();
        });
        if (mEventManager)
            mEventThread = std::thread([this] {
                nameThisThread("trtllm-kvev");
                eventLoop();
            });
    }

    // Stamps the enqueue time on the executor's clock and registers the request before any response for it
    // can be processed (the pump takes the same lock), so no response is ever unmatched. A request with a
    // scheduled arrival was "sent" by the client at that time: the arrival is its enqueue stamp.
    IdType enqueue(Request request, RequestMeta meta) {
        if (mStopping.load()) throw BridgeClosedError();
        std::optional<double> const arrivalNs = mPacing.scheduleArrival(request, meta.simArrivalNs);
        std::lock_guard<std::mutex> lock(mPendingMutex);
        Pending pending;
        pending.enqueueNs = arrivalNs ? *arrivalNs : toRelativeNs(Api::now(*mExecutor));
        pending.promptTokens = static_cast<double>(request.getInputTokenIds().size());
        pending.meta = meta;
        IdType id = mExecutor->enqueueRequest(request);
        mPending.emplace(id, pending);
        return id;
    }

    void cancel(IdType id) {
        if (mStopping.load()) return;
        mExecutor->cancelRequest(id);
    }

    // Blocking. Cancels what is in flight, waits up to `grace` for the executor to finish those requests,
    // stops the pumps, reads what the executor still holds, shuts it down, and settles every request left
    // with an error chunk. Idempotent. With teardown, waiting producers are released (process exit).
    void stop(std::chrono::milliseconds grace, bool teardown = false) {
        std::lock_guard<std::mutex> stopLock(mStopMutex);
        if (teardown) mChunks.close();
        if (mStopped) return;
        mStopping.store(true);
        std::vector<IdType> inFlight = pendingIds();
        for (IdType id : inFlight) {
            try {
                mExecutor->cancelRequest(id);
            } catch (...) {
            }
        }
        {
            std::unique_lock<std::mutex> lock(mPendingMutex);
            mPendingEmpty.wait_for(lock, grace, [&] { return mPending.empty(); });
        }
        {
            // Under the lock: the stats pump checks mStopPumps under it before it waits (no lost wake-up).
            std::lock_guard<std::mutex> lock(mWakeMutex);
            mStopPumps.store(true);
        }
        mWake.notify_all();
        joinPumps();
        // What the executor still holds: one last non-blocking read of each stream. It answers every flush.
        std::uint64_t const flushTicket = mFlush.newest();
        try {
            processResponses(mExecutor->awaitResponses(std::chrono::milliseconds(0)));
        } catch (...) {
        }
        try {
            pushStats(mExecutor->getLatestIterationStats());
        } catch (...) {
        }
        if (mEventManager) {
            try {
                pushEvents(mEventManager->getLatestEvents(std::chrono::milliseconds(0)));
            } catch (...) {
            }
        }
        mFlush.markAllDone(flushTicket);
        try {
            mExecutor->shutdown();
        } catch (...) {
        }
        settleUnfinished();
        mStopped = true;
        notify();
    }

    // flush(): wakes every pump to poll the executor now (cutting the stats interval and the pumps' poll waits
    // short) and returns a ticket. Once flushedThrough() reaches it, everything the executor had produced before
    // this call is in the queues, and notify has been called. Any thread.
    std::uint64_t requestFlush() {
        std::uint64_t const ticket = mFlush.issue();
        {
            std::lock_guard<std::mutex> lock(mWakeMutex);  // orders the ticket before the stats pump's check
        }
        mWake.notify_all();
        return ticket;
    }
    std::uint64_t flushedThrough() const { return mFlush.completed(); }

    // The executor's clock now, relative steady ns (the real steady clock for TensorRT-LLM).
    double clockNs() const { return toRelativeNs(Api::now(*mExecutor)); }

    // The executor, for what only some backends have (its public methods are thread-safe).
    Executor const& executor() const { return *mExecutor; }

    // Scheduled arrivals and the clock hold (simulator only; the others throw BridgeUnsupportedError).
    Pacing& pacing() { return mPacing; }
    Pacing const& pacing() const { return mPacing; }

    std::size_t drainChunks(std::vector<ResponseChunk>& out) { return mChunks.drainInto(out); }
    // fn(RequestRecord const* first, std::size_t n), called for up to two runs, oldest first.
    template <typename Fn>
    std::size_t drainRecords(Fn&& fn) {
        return mRecords.drain(std::forward<Fn>(fn));
    }
    // Copies the queued records into `out` (room for recordCapacity() records).
    std::size_t drainRecordsInto(RequestRecord* out) { return mRecords.drainInto(out); }
    std::size_t recordCapacity() const { return mRecords.capacity(); }
    std::size_t drainStats(std::vector<IterationStats>& out) { return mStats.drainInto(out); }
    std::size_t drainEvents(std::vector<KVCacheEvent>& out) { return mEvents.drainInto(out); }

    BridgeCounters counters() const {
        BridgeCounters c;
        c.responses = mChunks.counters();
        c.requestRecords = mRecords.counters();
        c.iterationStats = mStats.counters();
        c.kvEvents = mEvents.counters();
        c.kvEventsDroppedByExecutor = executorDroppedEvents();
        return c;
    }

    std::size_t eventBufferCapacity() const { return mEventManager ? mOptions.eventBufferCapacity : 0; }
    int tokensPerBlock() const { return mTokensPerBlock.load(); }
    std::size_t pendingCount() const {
        std::lock_guard<std::mutex> lock(mPendingMutex);
        return mPending.size();
    }

private:
    struct Pending {
        double enqueueNs = 0;
        double promptTokens = 0;
        double outputTokens = 0;
        // Generated tokens' log probabilities so far (sequence 0): their sum and number.
        double logProbSum = 0;
        double logProbCount = 0;
        RequestMeta meta;
    };

    void notify() {
        if (mNotify) mNotify();
    }

    std::vector<IdType> pendingIds() const {
        std::lock_guard<std::mutex> lock(mPendingMutex);
        std::vector<IdType> ids;
        ids.reserve(mPending.size());
        for (auto const& kv : mPending) ids.push_back(kv.first);
        return ids;
    }

    void joinPumps() {
        for (std::thread* t : {&mResponseThread, &mStatsThread, &mEventThread}) {
            if (t->joinable()) t->join();
        }
    }

    static std::shared_ptr<typename Api::KVCacheEventManager> eventManagerOf(Executor& executor) {
        auto manager = executor.getKVCacheEventManager();
        return manager ? *manager : nullptr;
    }

    // The response and event pumps: `poll(timeout)` reads the executor and pushes what it returned. A pending
    // flush makes the next poll not wait; a poll that throws has nothing to give (retried after 1 ms).
    template <typename Poll>
    void pollLoop(FlushTickets::Pump pump, std::chrono::milliseconds timeout, Poll&& poll) {
        while (!mStopPumps.load()) {
            std::uint64_t const ticket = mFlush.newest();
            try {
                poll(mFlush.behind(pump, ticket) ? std::chrono::milliseconds(0) : timeout);
            } catch (std::exception const&) {
                if (mStopPumps.load()) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            flushed(pump, ticket);
        }
    }

    void responseLoop() {
        pollLoop(FlushTickets::kResponses, mOptions.responsePollTimeout,
                 [this](std::chrono::milliseconds timeout) { processResponses(mExecutor->awaitResponses(timeout)); });
    }

    void eventLoop() {
        pollLoop(FlushTickets::kEvents, mOptions.eventPollTimeout,
                 [this](std::chrono::milliseconds timeout) { pushEvents(mEventManager->getLatestEvents(timeout)); });
    }

    // Reads the stats every statsInterval, or at once for a flush.
    void statsLoop() {
        std::unique_lock<std::mutex> lock(mWakeMutex);
        while (!mStopPumps.load()) {
            mWake.wait_for(lock, mOptions.statsInterval,
                           [&] { return mStopPumps.load() || mFlush.behind(FlushTickets::kStats, mFlush.newest()); });
            if (mStopPumps.load()) break;
            std::uint64_t const ticket = mFlush.newest();
            lock.unlock();
            try {
                pushStats(mExecutor->getLatestIterationStats());
            } catch (std::exception const&) {
            }
            flushed(FlushTickets::kStats, ticket);
            lock.lock();
        }
    }

    // A pump answered a flush ticket: JS may now settle the flushes it completes.
    void flushed(FlushTickets::Pump pump, std::uint64_t ticket) {
        if (mFlush.markDone(pump, ticket)) notify();
    }

    template <typename Container>
    void pushStats(Container&& stats) {
        if (stats.empty()) return;
        for (auto const& s : stats) {
            if (s.kvCacheStats) mTokensPerBlock.store(static_cast<int>(s.kvCacheStats->tokensPerBlock));
        }
        mStats.pushBatch(std::make_move_iterator(stats.begin()), std::make_move_iterator(stats.end()));
        notify();
    }

    template <typename Container>
    void pushEvents(Container&& events) {
        if (events.empty()) return;
        mEvents.pushBatch(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
        notify();
    }

    std::uint64_t executorDroppedEvents() const {
        if constexpr (detect::HasNumDroppedEvents<typename Api::KVCacheEventManager>::value) {
            return mEventManager ? mEventManager->getNumDroppedEvents() : 0;
        } else {
            return 0;
        }
    }

    void processResponses(std::vector<Response> responses) {
        if (responses.empty()) return;
        std::vector<ResponseChunk> chunks;
        std::vector<RequestRecord> records;
        chunks.reserve(responses.size());
        bool anyFinished = false;
        {
            std::lock_guard<std::mutex> lock(mPendingMutex);
            for (auto const& response : responses) {
                IdType const id = response.getRequestId();
                auto it = mPending.find(id);
                if (it == mPending.end()) continue;  // not ours (already settled)
                Pending& pending = it->second;
                ResponseChunk chunk;
                chunk.requestId = static_cast<std::uint64_t>(id);
                if (response.hasError()) {
                    chunk.isFinal = true;
                    chunk.hasError = true;
                    chunk.error = response.getErrorMsg();
                    chunk.executorFault = isExecutorFault(chunk.error);
                    RequestRecord record = baseRecord(id, pending);
                    record.v[kFinishReason] = kErrorFinishCode;
                    record.v[kFlags] = kFlagError;
                    records.push_back(record);
                } else {
                    auto const& result = response.getResult();
                    if (!result.outputTokenIds.empty()) chunk.tokens = result.outputTokenIds.front();
                    pending.outputTokens += static_cast<double>(chunk.tokens.size());
                    if (result.logProbs && !result.logProbs->empty()) takeLogProbs(result.logProbs->front(), chunk, pending);
                    chunk.isFinal = result.isFinal;
                    chunk.sequenceIndex = static_cast<int>(result.sequenceIndex);
                    chunk.finishReason =
                        result.finishReasons.empty() ? 0 : static_cast<int>(result.finishReasons.front());
                    RequestRecord record = baseRecord(id, pending);
                    record.v[kFinishReason] = chunk.finishReason;
                    if (result.requestPerfMetrics) fillPerf(record, *result.requestPerfMetrics, pending);
                    if (pending.meta.wantPerfMetrics && result.requestPerfMetrics) {
                        chunk.hasPerf = true;
                        chunk.perf = record;
                    }
                    if (result.isFinal) records.push_back(record);
                }
                if (chunk.isFinal) {
                    mPending.erase(it);
                    anyFinished = true;
                }
                chunks.push_back(std::move(chunk));
            }
        }
        if (anyFinished) mPendingEmpty.notify_all();
        if (!records.empty()) mRecords.pushBatch(records.begin(), records.end());
        if (!chunks.empty()) mChunks.pushAll(chunks, [this] { notify(); });
        notify();
    }

    static RequestRecord baseRecord(IdType id, Pending const& pending) {
        RequestRecord r{};
        r.v[kRequestId] = static_cast<double>(id);
        r.v[kEnqueueTimeNs] = pending.enqueueNs;
        r.v[kPromptTokens] = pending.promptTokens;
        r.v[kOutputTokens] = pending.outputTokens;
        r.v[kNumSequences] = pending.meta.numSequences;
        r.v[kFirstIter] = -1;
        r.v[kLastIter] = -1;
        r.v[kGenLogProbSum] = pending.logProbSum;
        r.v[kGenLogProbCount] = pending.logProbCount;
        return r;
    }

    // A result's log probabilities (sequence 0): those of its new tokens (streaming), or of every generated
    // token so far (a final non-streaming result, or a release that returns them all each time).
    template <typename LogProbs>
    void takeLogProbs(LogProbs const& lp, ResponseChunk& chunk, Pending& pending) const {
        double sum = 0;
        for (auto v : lp) sum += static_cast<double>(v);
        auto const n = static_cast<double>(lp.size());
        if (lp.size() == chunk.tokens.size() && n != pending.outputTokens) {
            pending.logProbSum += sum;
            pending.logProbCount += n;
        } else {
            pending.logProbSum = sum;
            pending.logProbCount = n;
        }
        if (pending.meta.wantLogProbs && lp.size() == chunk.tokens.size()) chunk.logProbs.assign(lp.begin(), lp.end());
    }

    template <typename Perf>
    void fillPerf(RequestRecord& r, Perf const& perf, Pending const& pending) const {
        auto const& t = perf.timingMetrics;
        r.v[kArrivalTimeNs] = toRelativeNs(t.arrivalTime);
        r.v[kFirstScheduledTimeNs] = toRelativeNs(t.firstScheduledTime);
        r.v[kFirstTokenTimeNs] = toRelativeNs(t.firstTokenTime);
        r.v[kLastTokenTimeNs] = toRelativeNs(t.lastTokenTime);
        r.v[kKvTransferStartNs] = toRelativeNs(t.kvCacheTransferStart);
        r.v[kKvTransferEndNs] = toRelativeNs(t.kvCacheTransferEnd);
        if constexpr (detect::HasKvCacheMetrics<Perf>::value) {
            auto const& kv = perf.kvCacheMetrics;
            r.v[kKvTotalAllocatedBlocks] = kv.numTotalAllocatedBlocks;
            r.v[kKvNewAllocatedBlocks] = kv.numNewAllocatedBlocks;
            r.v[kKvReusedBlocks] = kv.numReusedBlocks;
            r.v[kKvMissedBlocks] = kv.numMissedBlocks;
            r.v[kKvHitRate] = kv.kvCacheHitRate;
            double const cached = static_cast<double>(kv.numReusedBlocks) * mTokensPerBlock.load();
            r.v[kCachedTokens] = std::min(cached, pending.promptTokens);
        }
        if constexpr (detect::HasSpeculativeDecoding<Perf>::value) {
            auto const& sd = perf.speculativeDecoding;
            r.v[kSpecAcceptanceRate] = sd.acceptanceRate;
            r.v[kSpecAcceptedDraftTokens] = sd.totalAcceptedDraftTokens;
            r.v[kSpecDraftTokens] = sd.totalDraftTokens;
        }
        if (perf.firstIter) r.v[kFirstIter] = static_cast<double>(*perf.firstIter);
        if (perf.lastIter) r.v[kLastIter] = static_cast<double>(*perf.lastIter);
        r.v[kFlags] = kFlagHasPerf;
    }

    // After the executor is gone, every request still registered gets a final error chunk.
    void settleUnfinished() {
        std::vector<std::pair<IdType, Pending>> left;
        {
            std::lock_guard<std::mutex> lock(mPendingMutex);
            for (auto& kv : mPending) left.emplace_back(kv.first, kv.second);
            mPending.clear();
        }
        for (auto& [id, pending] : left) {
            ResponseChunk chunk;
            chunk.requestId = static_cast<std::uint64_t>(id);
            chunk.isFinal = true;
            chunk.hasError = true;
            chunk.error = "the engine shut down before the request finished";
            mChunks.pushUnbounded(std::move(chunk));
        }
        mPendingEmpty.notify_all();
    }

    std::unique_ptr<Executor> mExecutor;
    Pacing mPacing;
    BridgeOptions const mOptions;
    std::function<void()> mNotify;

    BackpressureQueue<ResponseChunk> mChunks;
    RecordRing mRecords;
    DropOldestRing<IterationStats> mStats;
    DropOldestRing<KVCacheEvent> mEvents;

    mutable std::mutex mPendingMutex;
    std::condition_variable mPendingEmpty;
    std::unordered_map<IdType, Pending> mPending;

    std::atomic<int> mTokensPerBlock;
    std::shared_ptr<typename Api::KVCacheEventManager> mEventManager;
    FlushTickets mFlush;
    std::atomic<bool> mStopping{false};
    std::atomic<bool> mStopPumps{false};
    std::mutex mStopMutex;
    bool mStopped = false;
    std::mutex mWakeMutex;
    std::condition_variable mWake;
    std::thread mResponseThread, mStatsThread, mEventThread;
};

}  // namespace trtllm_metrics::bridge
