#pragma once
// The simulator's pacing, handed to Bridge<SimApi> as SimApi::Pacing (bridge/pacing.h has the shape):
// scheduled arrivals (Request::setSimArrivalTime) and the clock hold (Executor::holdClock / resumeClock /
// getClockState), converted between the simulator's clock and the bridge's relative nanoseconds.

#include <chrono>
#include <optional>

#include "bridge/pacing.h"
#include "bridge/steady_epoch.h"
#include "sim/executor_api.h"

namespace trtllm_metrics::backends {

class SimPacing {
public:
    using Executor = trtllm_sim::executor::Executor;
    using Request = trtllm_sim::executor::Request;
    using TimePoint = trtllm_sim::executor::RequestPerfMetrics::TimePoint;

    explicit SimPacing(Executor& executor) : mExecutor(executor) {}

    std::optional<double> scheduleArrival(Request& request, std::optional<double> arrivalNs) {
        if (!arrivalNs) return std::nullopt;
        TimePoint const at = bridge::fromRelativeNs<TimePoint>(*arrivalNs);
        request.setSimArrivalTime(at);
        return bridge::toRelativeNs(at);
    }

    double holdClock(std::optional<double> atNs, bool unlessBacklogged = false) {
        std::optional<TimePoint> until;
        if (atNs) until = bridge::fromRelativeNs<TimePoint>(*atNs);
        return bridge::toRelativeNs(mExecutor.holdClock(until, unlessBacklogged));
    }

    void resumeClock() { mExecutor.resumeClock(); }

    bridge::PacingClockState clockState() const {
        auto const s = mExecutor.getClockState();
        bridge::PacingClockState info;
        info.nowNs = bridge::toRelativeNs(s.now);
        if (s.hold) info.holdNs = bridge::toRelativeNs(*s.hold);
        info.holdUnlessBacklogged = s.holdUnlessBacklogged;
        info.paused = s.paused;
        info.pausedForMs = std::chrono::duration<double, std::milli>(s.pausedFor).count();
        info.pauses = static_cast<double>(s.numPauses);
        info.resumes = static_cast<double>(s.numResumes);
        info.scheduled = static_cast<double>(s.numScheduled);
        return info;
    }

private:
    Executor& mExecutor;
};

}  // namespace trtllm_metrics::backends
