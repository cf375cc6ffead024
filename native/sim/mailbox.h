// What callers hand the executor thread, under one mutex: new requests, cancellations and shutdown, plus a
// sequence number bumped by every change the executor thread may wait for. Pacing keeps its shared state
// under the same mutex, so that "may an iteration start" is decided atomically with what has arrived.
#pragma once

#include "sim/llm_request.h"
#include "sim/types.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace trtllm_sim::executor
{

struct Mailbox
{
    using TimePoint = std::chrono::steady_clock::time_point;

    mutable std::mutex mutex;
    /// The executor thread waits on it; notify it after a signalLocked(), once the lock is released.
    std::condition_variable cv;
    std::vector<std::unique_ptr<LlmRequest>> incoming;
    /// Enqueued with a scheduled arrival, not yet taken into the schedule by the executor thread.
    std::vector<std::unique_ptr<LlmRequest>> incomingScheduled;
    std::vector<IdType> cancels;
    /// Bumped by every change the executor thread may wait for (enqueue, cancel, hold, resume, shutdown).
    std::uint64_t signalSeq{0};
    /// The executor thread's waiting queue length (for maxQueueSize).
    SizeType64 numWaiting{0};
    IdType nextRequestId{1};
    bool shutdown{false};

    void signalLocked() { ++signalSeq; }

    /// Under the lock: waits for the next signal (or shutdown).
    void waitForSignal(std::unique_lock<std::mutex>& lock)
    {
        auto const seq = signalSeq;
        cv.wait(lock, [&] { return shutdown || signalSeq != seq; });
    }

    /// Under the lock: waits for the next signal (or shutdown) until `deadline`.
    template <class Deadline>
    void waitForSignalUntil(std::unique_lock<std::mutex>& lock, Deadline const& deadline)
    {
        auto const seq = signalSeq;
        cv.wait_until(lock, deadline, [&] { return shutdown || signalSeq != seq; });
    }

    /// Under the lock: sleeps until `deadline`; only shutdown cuts it short (a real-clock iteration).
    void sleepUntil(std::unique_lock<std::mutex>& lock, TimePoint deadline)
    {
        cv.wait_until(lock, deadline, [&] { return shutdown; });
    }
};

} // namespace trtllm_sim::executor
