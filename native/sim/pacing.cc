#include "sim/pacing.h"

#include <algorithm>

namespace trtllm_sim::executor
{

using common::TllmException;

Pacing::Pacing(
    SimClock& clock, Mailbox& mailbox, RequestPool& pool, Ranks const& ranks, Limits const& limits, bool lockstep)
    : mClock(clock)
    , mMailbox(mailbox)
    , mPool(pool)
    , mRanks(ranks)
    , mLimits(limits)
    , mLockstep(lockstep)
{
}

// -------------------------------------------------------------------- any thread

Pacing::TimePoint Pacing::hold(std::optional<TimePoint> const& until, bool unlessBacklogged)
{
    if (!mClock.isVirtual())
    {
        throw TllmException("holdClock needs the virtual clock (SimConfig::virtualClock)");
    }
    TimePoint hold;
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        if (mMailbox.shutdown)
        {
            throw TllmException("holdClock called after shutdown");
        }
        // While a hold is set the virtual clock never runs at real speed: stop it now, so that a hold
        // at "now" is exactly the time the caller reads.
        TimePoint const now = mClock.freeze();
        hold = until ? *until : now;
        mHold = hold;
        mHoldUnlessBacklogged = unlessBacklogged;
        mMailbox.signalLocked();
    }
    mMailbox.cv.notify_one();
    return hold;
}

void Pacing::resume()
{
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        mHold.reset();
        mHoldUnlessBacklogged = false;
        ++mNumResumes;
        mMailbox.signalLocked();
    }
    mMailbox.cv.notify_one();
}

SimClockState Pacing::state() const
{
    SimClockState s;
    std::lock_guard<std::mutex> lock(mMailbox.mutex);
    s.now = mClock.now();
    s.hold = mHold;
    s.holdUnlessBacklogged = mHold && mHoldUnlessBacklogged;
    s.paused = mClockPaused;
    if (mClockPaused)
    {
        s.pausedFor
            = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - mPausedSince);
    }
    s.numPauses = mNumPauses;
    s.numResumes = mNumResumes;
    s.numScheduled = mNumScheduled + mMailbox.incomingScheduled.size();
    return s;
}

bool Pacing::enqueueWakesLocked()
{
    if (mBlockedAtHold)
    {
        setPausedLocked(true);
        return false;
    }
    return true;
}

// -------------------------------------------------------------------- executor thread

void Pacing::takeScheduledLocked()
{
    for (auto& owned : mMailbox.incomingScheduled)
    {
        LlmRequest* r = owned.get();
        r->pendingArrival = true;
        mSchedule.emplace(std::make_pair(*r->simArrival, r->id), r);
        mPool.adopt(std::move(owned));
    }
    mMailbox.incomingScheduled.clear();
    mNumScheduled = mSchedule.size();
}

void Pacing::setPausedLocked(bool paused)
{
    if (paused && !mClockPaused)
    {
        mClockPaused = true;
        ++mNumPauses;
        mPausedSince = std::chrono::steady_clock::now();
    }
    else if (!paused)
    {
        mClockPaused = false;
    }
}

bool Pacing::backloggedLocked(TimePoint now) const
{
    // Summed over the ranks: a request not sent yet could join whichever rank has room.
    std::size_t const maxBatch = static_cast<std::size_t>(mLimits.maxBatchSize);
    std::size_t freeSlots = 0;
    std::size_t queued = mMailbox.incoming.size();
    for (auto const& rank : mRanks)
    {
        bool const staticBusy = mLimits.policy == CapacitySchedulerPolicy::kSTATIC_BATCH && !rank->active.empty();
        std::size_t const active = rank->active.size();
        freeSlots += staticBusy || active >= maxBatch ? 0 : maxBatch - active;
        queued += rank->waiting.size();
    }
    for (auto it = mSchedule.begin(); queued <= freeSlots && it != mSchedule.end() && it->first.first <= now; ++it)
    {
        ++queued;
    }
    return queued > freeSlots;
}

bool Pacing::waitForIteration(std::unique_lock<std::mutex>& lock, bool stalled, bool& heldPass)
{
    heldPass = false;
    while (true)
    {
        if (mMailbox.shutdown)
        {
            return false;
        }
        takeScheduledLocked();
        bool work = !mMailbox.incoming.empty();
        for (auto const& rank : mRanks)
        {
            work = work || !rank->waiting.empty() || !rank->active.empty();
        }
        bool const hasNext = !mSchedule.empty();
        TimePoint const next = hasNext ? mSchedule.begin()->first.first : TimePoint{};
        bool const held = mHold.has_value();
        // While held the virtual clock never runs at real speed.
        TimePoint const now = held ? mClock.freeze() : mClock.now();
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
                mMailbox.waitForSignalUntil(lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
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
            if (!mMailbox.cancels.empty())
            {
                return true;
            }
            mMailbox.waitForSignalUntil(lock, next);
            continue;
        }
        if (!mMailbox.cancels.empty())
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
        mMailbox.waitForSignal(lock);
        mBlockedAtHold = false;
    }
}

void Pacing::takeDueArrivals(TimePoint start, std::vector<LlmRequest*>& arrived)
{
    while (!mSchedule.empty() && mSchedule.begin()->first.first <= start)
    {
        LlmRequest* r = mSchedule.begin()->second;
        mSchedule.erase(mSchedule.begin());
        r->pendingArrival = false;
        r->perf.timingMetrics.arrivalTime = *r->simArrival;
        arrived.push_back(r);
    }
}

bool Pacing::cancelBeforeArrival(LlmRequest& r)
{
    if (!r.pendingArrival)
    {
        return false;
    }
    mSchedule.erase(std::make_pair(*r.simArrival, r.id));
    r.pendingArrival = false;
    return true;
}

void Pacing::holdAfterIteration(TimePoint end, bool anyFinished)
{
    if (!mLockstep || !anyFinished)
    {
        return;
    }
    std::lock_guard<std::mutex> lock(mMailbox.mutex);
    mHold = mHold ? std::min(*mHold, end) : end;
    mHoldUnlessBacklogged = false;
}

} // namespace trtllm_sim::executor
