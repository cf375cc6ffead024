#pragma once
// Raw records carry steady-clock nanoseconds relative to one process-wide epoch, so they fit a float64
// exactly (2^53 ns is 104 days of uptime) and 0 can keep meaning "never set".

#include <chrono>
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

}  // namespace trtllm_metrics::bridge
