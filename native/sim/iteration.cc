#include "sim/iteration.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace trtllm_sim::executor
{

namespace
{

bool matchesStopWord(LlmRequest const& r)
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

Response makeResponse(LlmRequest& r, bool isFinal, IterationType iter, TokenSampler const& sampler)
{
    Result result;
    result.isFinal = isFinal;
    result.isSequenceFinal = isFinal;
    result.outputTokenIds.resize(1);
    auto& out = result.outputTokenIds[0];
    auto const generatedBegin = r.tokens.begin() + r.promptLen;
    // Generated tokens this response returns: [firstReturned, numGenerated).
    SizeType32 const firstReturned = r.streaming ? r.numSent : 0;
    if (r.streaming)
    {
        out.assign(generatedBegin + r.numSent, r.tokens.end());
        r.numSent = r.numGenerated();
    }
    else
    {
        out.assign(r.excludeInputFromOutput ? generatedBegin : r.tokens.begin(), r.tokens.end());
    }
    if (r.returnLogProbs)
    {
        // As TensorRT-LLM: the log probabilities of the generated tokens the response returns (never the
        // prompt's), and the running total of the sequence.
        SizeType32 const generated = r.numGenerated();
        VecLogProbs lp;
        lp.reserve(static_cast<std::size_t>(generated - firstReturned));
        for (SizeType32 k = std::min(firstReturned, r.numLogProbs); k < generated; ++k)
        {
            float const v = sampler.logProb(r.sequenceSeed, k);
            if (k >= r.numLogProbs)
            {
                r.cumLogProb += v;
            }
            if (k >= firstReturned)
            {
                lp.push_back(v);
            }
        }
        r.numLogProbs = std::max(r.numLogProbs, generated);
        result.logProbs = std::vector<VecLogProbs>{std::move(lp)};
        result.cumLogProbs = VecLogProbs{static_cast<FloatType>(r.cumLogProb)};
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

} // namespace

IterationStep::IterationStep(SimConfig const& sim, Limits const& limits, SimClock& clock, TimingModel const& timing,
    TokenSampler const& sampler, Ranks& ranks, RequestPool& pool, Mailbox& mailbox, Pacing& pacing,
    StatsBuilder& stats, InvariantChecker& invariants, ResponseQueue& responses, KVCacheEventManager* events,
    WorkLog* workLog, FaultInjector const& faults)
    : mSim(sim)
    , mLimits(limits)
    , mClock(clock)
    , mTiming(timing)
    , mSampler(sampler)
    , mRanks(ranks)
    , mPool(pool)
    , mMailbox(mailbox)
    , mPacing(pacing)
    , mStats(stats)
    , mInvariants(invariants)
    , mResponses(responses)
    , mEvents(events)
    , mWorkLog(workLog)
    , mFaults(faults)
{
}

bool IterationStep::run(
    std::vector<std::unique_ptr<LlmRequest>>& incoming, std::vector<IdType> const& cancels, bool heldPass)
{
    TimePoint const start = mClock.now();
    IterationType const iter = mIter;
    for (auto& rank : mRanks)
    {
        rank->beginIteration();
    }

    bool const hadArrivals = arrive(start, incoming);
    cancel(cancels, start);
    for (auto& rank : mRanks)
    {
        schedule(*rank, heldPass);
    }
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        SizeType64 waiting = 0;
        for (auto const& rank : mRanks)
        {
            waiting += static_cast<SizeType64>(rank->waiting.size());
        }
        mMailbox.numWaiting = waiting;
        mPacing.syncScheduledLocked();
    }
    try
    {
        for (auto& rank : mRanks)
        {
            rank->numActive = static_cast<SizeType32>(rank->active.size());
            forward(*rank, iter);
        }
    }
    catch (std::exception const& e)
    {
        // TensorRT-LLM's executor loop: an exception in the forward step terminates the requests in flight
        // with its message. The iteration does not count (no stats), so a sticky fault hits the next one too.
        terminateAll(std::string(FaultInjector::kForwardErrorPrefix) + e.what());
        return false;
    }
    for (auto& rank : mRanks)
    {
        failInjected(*rank);
    }

    TimingModel::Breakdown const latency = elapse(start, iter);
    TimePoint const end = mClock.now();
    bool didSomething = hadArrivals;
    bool anyFinished = false;
    for (auto& rank : mRanks)
    {
        stamp(*rank, start, end, iter);
        respond(*rank, iter);
        bool const anyWork = !rank->batch.generation.empty() || !rank->batch.context.empty();
        didSomething = didSomething || anyWork || !rank->finished.empty() || !rank->admitted.empty()
            || !rank->paused.empty();
        anyFinished = anyFinished || !rank->finished.empty();
    }
    if (didSomething)
    {
        if (mSim.checkInvariants)
        {
            mInvariants.check(iter);
        }
        publishStats(IterationSummary{iter, start, end, 0, latency});
        publishEvents();
        if (mWorkLog != nullptr)
        {
            mWorkLog->record(mWork);
        }
        ++mIter;
    }
    mPacing.holdAfterIteration(end, anyFinished);
    mResponses.publish(mOutResponses);

    for (auto& rank : mRanks)
    {
        for (auto* r : rank->finished)
        {
            mPool.retire(r);
        }
        rank->finished.clear();
    }
    return didSomething;
}

void IterationStep::failAll(std::string const& message)
{
    mInvariants.record(mIter, message);
    terminateAll(message);
}

void IterationStep::terminateAll(std::string const& message)
{
    std::vector<Response> out;
    for (auto& [id, r] : mPool.requests)
    {
        if (r->rank >= 0)
        {
            mRanks[static_cast<std::size_t>(r->rank)]->releaseResources(*r);
        }
        out.emplace_back(id, message, r->clientId);
    }
    mPool.clear();
    for (auto& rank : mRanks)
    {
        rank->waiting.clear();
        rank->active.clear();
        rank->beginIteration();
    }
    mPacing.clearSchedule();
    mOutResponses.clear();
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        mMailbox.numWaiting = 0;
        mPacing.syncScheduledLocked();
    }
    mResponses.publish(out);
}

void IterationStep::assignRank(LlmRequest* r)
{
    std::size_t best = 0;
    for (std::size_t i = 1; i < mRanks.size(); ++i)
    {
        if (mRanks[i]->load() < mRanks[best]->load())
        {
            best = i;
        }
    }
    r->rank = static_cast<SizeType32>(best);
    mRanks[best]->insertWaiting(r);
}

bool IterationStep::arrive(TimePoint start, std::vector<std::unique_ptr<LlmRequest>>& incoming)
{
    // Scheduled arrivals whose time has come, before the requests enqueued without one (whose arrival, this
    // iteration's start, is later or equal).
    mArrived.clear();
    mPacing.takeDueArrivals(start, mArrived);
    bool const scheduled = !mArrived.empty();
    for (auto* r : mArrived)
    {
        assignRank(r);
    }
    for (auto& owned : incoming)
    {
        LlmRequest* r = owned.get();
        r->perf.timingMetrics.arrivalTime = start;
        assignRank(r);
        mPool.adopt(std::move(owned));
    }
    return scheduled || !incoming.empty();
}

void IterationStep::cancel(std::vector<IdType> const& cancels, TimePoint start)
{
    bool anyCancel = false;
    for (IdType const id : cancels)
    {
        auto const it = mPool.requests.find(id);
        if (it == mPool.requests.end() || it->second->isFinished())
        {
            continue;
        }
        LlmRequest* r = it->second.get();
        if (mPacing.cancelBeforeArrival(*r))
        {
            // Cancelled before its scheduled arrival: it ends now without ever entering a queue.
            r->finishReason = FinishReason::kCANCELLED;
            mRanks.front()->finished.push_back(r);
        }
        else
        {
            r->cancelRequested = true;
            anyCancel = true;
        }
    }
    if (anyCancel || mPool.numWithDeadline > 0)
    {
        terminateExpired(start);
    }
}

void IterationStep::terminateExpired(TimePoint now)
{
    for (auto& rank : mRanks)
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
            rank->finished.push_back(r);
            return true;
        };
        auto& waiting = rank->waiting;
        waiting.erase(std::remove_if(waiting.begin(), waiting.end(), expired), waiting.end());
        auto& active = rank->active;
        auto const activeEnd = std::remove_if(active.begin(), active.end(), [&](LlmRequest* r) {
            if (!expired(r))
            {
                return false;
            }
            rank->releaseResources(*r);
            return true;
        });
        active.erase(activeEnd, active.end());
    }
}

void IterationStep::schedule(Rank& rank, bool heldPass)
{
    if (heldPass)
    {
        return;
    }
    rank.work.loraLoads += rank.scheduler.admit(rank.waiting, rank.active, rank.kv, rank.lora, rank.admitted);
    if (mLimits.policy == CapacitySchedulerPolicy::kSTATIC_BATCH && !rank.admitted.empty())
    {
        rank.staticBatchSize = static_cast<SizeType32>(rank.active.size());
    }
    rank.batch = rank.scheduler.formMicroBatch(rank.active);
    rank.scheduler.fitBlocks(rank.batch, rank.active, rank.waiting, rank.kv, rank.lora, rank.paused);
}

void IterationStep::failInjected(Rank& rank)
{
    for (auto const* list : {&rank.batch.context, &rank.batch.generation})
    {
        for (auto* r : *list)
        {
            if (r->injectedErrorAt >= 0 && r->error.empty() && r->numGenerated() > r->injectedErrorAt)
            {
                r->error = FaultInjector::requestErrorMessage(r->id, r->injectedErrorAt);
            }
        }
    }
}

void IterationStep::forward(Rank& rank, IterationType iter)
{
    MicroBatch const& batch = rank.batch;
    if ((!batch.context.empty() || !batch.generation.empty()) && mFaults.fatalAt(iter))
    {
        throw std::runtime_error(mFaults.fatalMessage());
    }
    IterationWork& work = rank.work;
    auto& kv = rank.kv;
    for (auto* r : batch.context)
    {
        r->decodedThisIter = 0;
    }
    for (auto* r : batch.context)
    {
        // Causal attention: each new token attends to the tokens before it in the context.
        double const chunk = r->chunk;
        work.ctxAttentionPairs += chunk * (static_cast<double>(r->prefillPos) + (chunk + 1.0) / 2.0);
        r->prefillPos += r->chunk;
        kv.extend(r->kv, r->prefillPos, r->tokens.data());
        if (r->prefillPos >= r->contextLen)
        {
            r->stage = RequestStage::kGENERATION_IN_PROGRESS;
            produce(*r, 1);
            ++work.logitTokens;
        }
    }
    work.ctxTokens = batch.numCtxTokens;
    work.ctxRequests = static_cast<SizeType64>(batch.context.size());
    bool const specOn = mSim.specDraftLength > 0;
    for (auto* r : batch.generation)
    {
        r->decodedThisIter = 0;
        work.kvReadTokens += r->numKvTokens();
        SizeType32 draft = 0;
        SizeType32 accepted = 0;
        if (specOn)
        {
            draft = std::max<SizeType32>(0, std::min(mSim.specDraftLength, r->maxTokens - r->numGenerated() - 1));
            accepted
                = mSampler.acceptedDraftTokens(r->sequenceSeed, r->numGenerated(), draft, mSim.specAcceptanceProbability);
        }
        produce(*r, 1 + accepted);
        kv.extend(r->kv, static_cast<SizeType32>(r->tokens.size()) - 1, r->tokens.data(), true);
        rank.genDecoded += r->decodedThisIter;
        if (draft > 0)
        {
            SizeType32 const acceptedKept = std::min(accepted, std::max<SizeType32>(0, r->decodedThisIter - 1));
            r->totalDraftTokens += draft;
            r->totalAcceptedDraftTokens += acceptedKept;
            rank.spec.numDraftTokens += draft;
            rank.spec.numAcceptedTokens += acceptedKept;
            ++rank.spec.numRequestsWithDraftTokens;
        }
    }
    work.genRequests = static_cast<SizeType64>(batch.generation.size());
    work.genTokens = batch.numGenTokens;
    work.logitTokens += batch.numGenTokens;
    work.anyDraft = rank.spec.numRequestsWithDraftTokens > 0;
}

void IterationStep::produce(LlmRequest& r, SizeType32 maxNew)
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

TimingModel::Breakdown IterationStep::elapse(TimePoint start, IterationType iter)
{
    mWork.clear();
    bool anyWork = false;
    for (auto& rank : mRanks)
    {
        auto const& kv = rank->kv;
        auto const& now = kv.getCounters();
        IterationWork& work = rank->work;
        work.onboardBlocks = now.onboardedBlocks - rank->countersAtStart.onboardedBlocks;
        work.offloadBlocks = now.offloadedBlocks - rank->countersAtStart.offloadedBlocks;
        work.kvUtilization = static_cast<double>(kv.getNumUsedBlocks()) / static_cast<double>(kv.getMaxNumBlocks());
        anyWork = anyWork || !rank->batch.generation.empty() || !rank->batch.context.empty();
        mWork.push_back(work);
    }
    TimingModel::Breakdown latency;
    double stallMs = 0.0;
    if (anyWork)
    {
        latency = mTiming.iteration(mWork);
        latency.totalMs *= mFaults.slowFactorAt(iter);
        stallMs = mFaults.stallMsAt(iter);
    }
    if (latency.totalMs > 0.0)
    {
        if (mClock.isVirtual())
        {
            mClock.advance(SimClock::fromMs(latency.totalMs));
        }
        else
        {
            std::unique_lock<std::mutex> lock(mMailbox.mutex);
            mMailbox.sleepUntil(lock, start + SimClock::fromMs(latency.totalMs));
        }
    }
    if (stallMs > 0.0)
    {
        // A hang in real time whatever the clock: nothing moves, and only shutdown ends it early.
        std::unique_lock<std::mutex> lock(mMailbox.mutex);
        mMailbox.sleepUntil(lock,
            std::chrono::steady_clock::now()
                + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double, std::milli>(stallMs)));
    }
    return latency;
}

void IterationStep::stamp(Rank& rank, TimePoint start, TimePoint end, IterationType iter)
{
    for (auto const* r : rank.admitted)
    {
        rank.queueLatencyMs += SimClock::toMs(start - r->enqueueTime);
    }
    auto stampOne = [&](LlmRequest* r) {
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
    for (auto* r : rank.batch.context)
    {
        stampOne(r);
    }
    for (auto* r : rank.batch.generation)
    {
        stampOne(r);
    }
}

void IterationStep::respond(Rank& rank, IterationType iter)
{
    for (auto* list : {&rank.batch.generation, &rank.batch.context})
    {
        for (auto* r : *list)
        {
            if (r->isFinished())
            {
                rank.finished.push_back(r);
                rank.releaseResources(*r);
            }
            else if (r->streaming && r->decodedThisIter > 0)
            {
                mOutResponses.push_back(makeResponse(*r, false, iter, mSampler));
            }
        }
    }
    for (auto* r : rank.finished)
    {
        r->stage = RequestStage::kGENERATION_COMPLETE;
        if (r->error.empty())
        {
            mOutResponses.push_back(makeResponse(*r, true, iter, mSampler));
        }
        else
        {
            mOutResponses.emplace_back(r->id, r->error, r->clientId);
        }
    }
    if (!rank.finished.empty())
    {
        auto& active = rank.active;
        active.erase(
            std::remove_if(active.begin(), active.end(), [](LlmRequest* r) { return r->isFinished(); }), active.end());
    }
}

void IterationStep::publishStats(IterationSummary summary)
{
    if (mStats.keepsIterationStats())
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        summary.numUnassigned = static_cast<SizeType32>(mMailbox.incoming.size());
    }
    mStats.publish(summary);
}

void IterationStep::publishEvents()
{
    if (mEvents == nullptr)
    {
        return;
    }
    for (auto& rank : mRanks)
    {
        rank->kv.takeEvents(mEventScratch);
        if (rank->index == 0)
        {
            mFaults.appendKvEventBurst(mIter, mLimits.tokensPerBlock, mSim.vocabSize, mEventScratch);
        }
        mEvents->publish(std::move(mEventScratch), rank->index);
        mEventScratch.clear();
    }
}

} // namespace trtllm_sim::executor
