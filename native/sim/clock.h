// The simulator's clock, on std::chrono::steady_clock time points.
// - Real: steady_clock itself; the executor thread sleeps the modelled latency of each iteration.
// - Virtual: while the executor works, the clock moves only when the executor advances it by an
//   iteration's modelled latency (no sleeping, so benchmarks run faster than real time); while the
//   executor is idle (no work, waiting for requests) it runs at real speed. It starts at the real
//   steady time of its construction, is monotonic, and never falls behind real time as long as every
//   modelled latency exceeds the real time spent computing it. Pacing (docs/simulator.md): it jumps to
//   scheduled arrivals (jumpTo) and stands still while the executor is held (freeze), so it may run ahead.
#pragma once

#include <chrono>
#include <cmath>
#include <mutex>

namespace trtllm_sim::executor
{

class SimClock
{
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using Duration = std::chrono::steady_clock::duration;

    explicit SimClock(bool isVirtual)
        : mVirtual(isVirtual)
        , mSteadyBase(std::chrono::steady_clock::now())
        , mSystemBase(std::chrono::system_clock::now())
        , mFrozen(mSteadyBase)
        , mIdleSince(mSteadyBase)
    {
    }

    [[nodiscard]] bool isVirtual() const noexcept { return mVirtual; }

    /// Current time; thread-safe.
    [[nodiscard]] TimePoint now() const
    {
        auto const real = std::chrono::steady_clock::now();
        if (!mVirtual)
        {
            return real;
        }
        std::lock_guard<std::mutex> lock(mMutex);
        return mIdle ? mFrozen + (real - mIdleSince) : mFrozen;
    }

    /// Virtual clock: the executor starts (false) or stops (true) working. Executor thread only.
    void setIdle(bool idle)
    {
        if (!mVirtual)
        {
            return;
        }
        auto const real = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mMutex);
        if (idle == mIdle)
        {
            return;
        }
        if (idle)
        {
            mIdleSince = real;
        }
        else
        {
            mFrozen += real - mIdleSince;
        }
        mIdle = idle;
    }

    /// Virtual clock: moves forward by a modelled latency (no effect on a real clock). Executor thread only.
    void advance(Duration d)
    {
        if (!mVirtual || d.count() <= 0)
        {
            return;
        }
        std::lock_guard<std::mutex> lock(mMutex);
        mFrozen += d;
    }

    /// Virtual clock: stops running at real speed (if idle) and returns the time it stopped at; the clock then
    /// moves only by advance() / jumpTo() until setIdle(true). Returns now() on a real clock. Any thread.
    TimePoint freeze()
    {
        auto const real = std::chrono::steady_clock::now();
        if (!mVirtual)
        {
            return real;
        }
        std::lock_guard<std::mutex> lock(mMutex);
        if (mIdle)
        {
            mFrozen += real - mIdleSince;
            mIdle = false;
        }
        return mFrozen;
    }

    /// Virtual clock: jumps forward to t (never backward) while not idle. No effect on a real clock.
    /// Executor thread only.
    void jumpTo(TimePoint t)
    {
        if (!mVirtual)
        {
            return;
        }
        std::lock_guard<std::mutex> lock(mMutex);
        if (!mIdle && t > mFrozen)
        {
            mFrozen = t;
        }
    }

    /// Durations in milliseconds, as the timing model and the statistics count them.
    [[nodiscard]] static double toMs(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
    [[nodiscard]] static Duration fromMs(double ms)
    {
        return std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(std::llround(ms * 1e6)));
    }

    /// The wall-clock time corresponding to a time point of this clock.
    [[nodiscard]] std::chrono::system_clock::time_point toSystem(TimePoint t) const noexcept
    {
        return mSystemBase + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - mSteadyBase);
    }

private:
    bool const mVirtual;
    TimePoint const mSteadyBase;
    std::chrono::system_clock::time_point const mSystemBase;
    mutable std::mutex mMutex;
    TimePoint mFrozen;    // virtual time while working; the virtual time at which idling began otherwise
    TimePoint mIdleSince; // real time at which idling began
    bool mIdle{true};
};

} // namespace trtllm_sim::executor
