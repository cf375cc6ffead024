// Invariant checks (SimConfig::checkInvariants, for tests; docs/simulator.md "Invariants"). After every
// iteration that did something, for every rank: the KV cache's own accounting (KvCacheManager::checkConsistency),
// the GUARANTEED_NO_EVICT / STATIC_BATCH reservations, the batch bound and the LoRA adapter pins. What broke is kept (at most 100
// entries) for Executor::getInvariantViolations(), with the simulator errors the executor thread caught.
#pragma once

#include "sim/rank.h"
#include "sim/types.h"
#include "sim/validation.h"

#include <mutex>
#include <string>
#include <vector>

namespace trtllm_sim::executor
{

class InvariantChecker
{
public:
    /// Every argument must outlive the checker (they are members of the executor that owns it).
    InvariantChecker(Limits const& limits, Ranks const& ranks);

    /// Executor thread: re-verifies the invariants at the end of iteration `iter`.
    void check(IterationType iter);

    /// Any thread: records a violation (or a simulator error) found in iteration `iter`.
    void record(IterationType iter, std::string what);

    [[nodiscard]] std::vector<std::string> violations() const;

private:
    static constexpr std::size_t kMaxViolations = 100;

    Limits const& mLimits;
    Ranks const& mRanks;

    mutable std::mutex mMutex;
    std::vector<std::string> mViolations;
};

} // namespace trtllm_sim::executor
