// The simulator's clock: the real steady clock, or a virtual one that only moves when the executor
// advances it by a modelled latency (benchmarks then run faster than real time).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace trtllm_sim::executor
{

class SimClock
{
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using Duration = std::chrono::steady_clock::duration;

    /// A virtual clock starts at the real steady time of its construction.
    explicit SimClock(bool isVirtual)
        : mVirtual(isVirtual)
        , mSteadyBase(std::chrono::steady_clock::now())
        , mSystemBase(std::chrono::system_clock::now())
    {
    }

    [[nodiscard]] bool isVirtual() const noexcept { return mVirtual; }

    /// Current time; thread-safe.
    [[nodiscard]] TimePoint now() const noexcept
    {
        if (!mVirtual)
        {
            return std::chrono::steady_clock::now();
        }
        return mSteadyBase + Duration(mOffset.load(std::memory_order_acquire));
    }

    /// Moves a virtual clock forward (no effect on a real one). Called by the executor thread only.
    void advance(Duration d) noexcept
    {
        if (mVirtual && d.count() > 0)
        {
            mOffset.fetch_add(d.count(), std::memory_order_acq_rel);
        }
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
    std::atomic<Duration::rep> mOffset{0};
};

} // namespace trtllm_sim::executor
