#pragma once
// Pacing: scheduled arrivals and a clock hold, which only the simulator has (docs/simulator.md "Pacing").
// Bridge<Api> owns an `Api::Pacing` built over its executor and knows nothing else about them. A backend's
// Pacing has this shape (times: steady ns relative to steadyEpochNs(), like record timestamps):
//
//   explicit Pacing(Api::Executor& executor);
//   // Gives the request its scheduled arrival, if `arrivalNs` is set; returns the arrival as set (after the
//   // round trip through the executor's clock type), which the bridge stamps as the enqueue time.
//   std::optional<double> scheduleArrival(Api::Request& request, std::optional<double> arrivalNs);
//   double holdClock(std::optional<double> atNs, bool unlessBacklogged = false);  // returns the hold
//   void resumeClock();
//   PacingClockState clockState() const;
//
// The simulator's is backends/sim/sim_pacing.h; an executor without pacing (TensorRT-LLM) is handed
// UnsupportedPacing, whose calls throw BridgeUnsupportedError (JS code ERR_TRTLLM_UNSUPPORTED).

#include <optional>

#include "bridge/errors.h"

namespace trtllm_metrics::bridge {

// The paced clock as JS sees it (engine.simClockState()).
struct PacingClockState {
    double nowNs = 0;
    std::optional<double> holdNs;
    bool holdUnlessBacklogged = false;
    bool paused = false;
    double pausedForMs = 0;
    double pauses = 0;
    double resumes = 0;
    double scheduled = 0;
};

class UnsupportedPacing {
public:
    template <typename Executor>
    explicit UnsupportedPacing(Executor const&) {}

    template <typename Request>
    std::optional<double> scheduleArrival(Request&, std::optional<double> arrivalNs) {
        if (arrivalNs)
            throw BridgeUnsupportedError(
                "simArrivalTimeNs is simulator-only: this executor has no scheduled arrivals (Request::setSimArrivalTime)");
        return std::nullopt;
    }

    double holdClock(std::optional<double>, bool = false) {
        throw BridgeUnsupportedError("the clock hold is simulator-only: this executor has no holdClock()");
    }

    void resumeClock() {
        throw BridgeUnsupportedError("the clock hold is simulator-only: this executor has no resumeClock()");
    }

    PacingClockState clockState() const {
        throw BridgeUnsupportedError("the clock state is simulator-only: this executor has no getClockState()");
    }
};

}  // namespace trtllm_metrics::bridge
