#pragma once
// Raw records carry steady-clock nanoseconds relative to one process-wide epoch, so they fit a float64
// exactly (2^53 ns is 104 days of uptime) and 0 can keep meaning "never set".

#include <chrono>
#include <cmath>
#include <cstdint>

namespace trtllm_metrics::bridge {

inline std::int64_t steadyEpochNs() {
    // One microsecond before first use: every timestamp taken afterwards is strictly positive.
    static std::int64_t const epoch =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count() -
        1000;
    return epoch;
}

// A time point of an executor's steady clock as ns relative to the epoch; 0 stays 0 ("never set").
template <typename TimePoint>
double toRelativeNs(TimePoint const& t) {
    auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    if (ns == 0) return 0;
    return static_cast<double>(ns - steadyEpochNs());
}

// The inverse of toRelativeNs, on the executor's clock type. `ns` must be finite and within +-2^53.
template <typename TimePoint>
TimePoint fromRelativeNs(double ns) {
    auto const abs = static_cast<std::int64_t>(std::llround(ns)) + steadyEpochNs();
    return TimePoint(std::chrono::duration_cast<typename TimePoint::duration>(std::chrono::nanoseconds(abs)));
}

}  // namespace trtllm_metrics::bridge
