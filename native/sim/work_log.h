// The work of every iteration, kept when SimConfig::recordWork is set (the performance model's calibration
// replays it under other efficiency factors: scripts/fit-perf-model.mjs). Written by the executor thread, read by
// any thread.
#pragma once

#include "sim/iteration_work.h"

#include <mutex>
#include <vector>

namespace trtllm_sim::executor
{

class WorkLog
{
public:
    /// One iteration: the work of each rank.
    void record(std::vector<IterationWork> const& ranks)
    {
        std::lock_guard<std::mutex> lock(mMutex);
        mIterations.push_back(ranks);
    }

    /// Moves out the iterations recorded so far.
    std::vector<std::vector<IterationWork>> take()
    {
        std::lock_guard<std::mutex> lock(mMutex);
        std::vector<std::vector<IterationWork>> out;
        out.swap(mIterations);
        return out;
    }

private:
    std::mutex mMutex;
    std::vector<std::vector<IterationWork>> mIterations;
};

} // namespace trtllm_sim::executor
