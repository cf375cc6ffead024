// Simulator-only pacing (docs/simulator.md "Pacing"). Requests with a scheduled arrival wait in a schedule until
// their time; the clock hold (holdClock, lockstep) keeps iterations from starting at or after a time until the
// client moves it; and the executor thread waits here until an iteration may run, jumping a virtual clock to
// the next arrival when idle. State shared with callers is guarded by the mailbox mutex (methods named *Locked
// expect it held); the schedule itself belongs to the executor thread.
#pragma once

#include "sim/clock.h"
#include "sim/executor.h"
#include "sim/llm_request.h"
#include "sim/mailbox.h"
#include "sim/rank.h"
#include "sim/request_pool.h"
#include "sim/validation.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace trtllm_sim::executor
{

class Pacing
{
public:
    using TimePoint = SimClock::TimePoint;

    /// Every argument must outlive the pacing (they are members of the executor that owns it).
    Pacing(SimClock& clock, Mailbox& mailbox, RequestPool& pool, Ranks const& ranks, Limits const& limits, bool lockstep);

    // ---- any thread (each takes the mailbox lock)
    /// Executor::holdClock: throws TllmException on a real clock or after shutdown.
    TimePoint hold(std::optional<TimePoint> const& until, bool unlessBacklogged);
    /// Executor::resumeClock.
    void resume();
    /// Executor::getClockState.
    [[nodiscard]] SimClockState state() const;

    /// enqueueRequest, under the lock, for an accepted request: whether the executor thread must be woken.
    /// Not while it waits at a hold that no enqueue can lift (a context switch per request while a client
    /// enqueues a schedule); it then has work, which getClockState shows as a pause.
    bool enqueueWakesLocked();

    // ---- executor thread
    /// Under the lock: waits until an iteration may run. Returns false at shutdown. Sets heldPass when the
    /// clock is held and cancellations are pending: the iteration then only takes arrivals and ends cancelled
    /// requests (no scheduling, no forward step, no time).
    bool waitForIteration(std::unique_lock<std::mutex>& lock, bool stalled, bool& heldPass);

    /// Scheduled arrivals whose time has come at `start` leave the schedule, in arrival order (FCFS among equal
    /// times), with that time as their arrivalTime; they are appended to `arrived` (the caller queues them).
    void takeDueArrivals(TimePoint start, std::vector<LlmRequest*>& arrived);

    /// A request cancelled before its scheduled arrival leaves the schedule (true); false if it has arrived.
    bool cancelBeforeArrival(LlmRequest& r);

    /// Lockstep: after an iteration in which a request finished, hold at its end. Called before the
    /// iteration's responses go out, so a client that reacts to them always finds the hold set.
    void holdAfterIteration(TimePoint end, bool anyFinished);

    /// Under the lock: publishes the schedule's size to getClockState.
    void syncScheduledLocked() { mNumScheduled = mSchedule.size(); }

    /// Drops the schedule (a simulator error answered every request).
    void clearSchedule() { mSchedule.clear(); }

private:
    /// Under the lock: moves newly enqueued scheduled arrivals into the schedule.
    void takeScheduledLocked();
    /// Under the lock: the executor waits at a hold while it has something to do (or not).
    void setPausedLocked(bool paused);
    /// Under the lock: more requests would be waiting at an iteration starting at `now` than it could admit
    /// (free batch slots), so a request not sent yet that would queue behind them could not be admitted in it
    /// either (holdClock's unlessBacklogged).
    [[nodiscard]] bool backloggedLocked(TimePoint now) const;

    SimClock& mClock;
    Mailbox& mMailbox;
    RequestPool& mPool;
    Ranks const& mRanks;
    Limits const& mLimits;
    bool const mLockstep;

    /// Executor thread: scheduled arrivals by (arrival time, id), a min-heap that also allows removal on cancel.
    std::map<std::pair<TimePoint, IdType>, LlmRequest*> mSchedule;

    // Guarded by the mailbox mutex.
    /// No iteration starts at or after the hold.
    std::optional<TimePoint> mHold;
    /// The hold does not apply while the queue is backlogged (backloggedLocked).
    bool mHoldUnlessBacklogged{false};
    bool mClockPaused{false};
    /// The executor thread waits at a hold that no enqueue can lift (now >= hold).
    bool mBlockedAtHold{false};
    std::chrono::steady_clock::time_point mPausedSince{}; // real steady time
    std::uint64_t mNumPauses{0};
    std::uint64_t mNumResumes{0};
    /// mSchedule's size as of the executor thread's last sync.
    std::size_t mNumScheduled{0};
};

} // namespace trtllm_sim::executor
