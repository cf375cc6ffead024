#include "sim/invariants.h"

#include "sim/scheduler.h"

namespace trtllm_sim::executor
{

InvariantChecker::InvariantChecker(Limits const& limits, KvCacheManager const& kv, RequestPool const& pool)
    : mLimits(limits)
    , mKv(kv)
    , mPool(pool)
{
}

void InvariantChecker::check(IterationType iter)
{
    if (auto err = mKv.checkConsistency(); !err.empty())
    {
        record(iter, std::move(err));
    }
    if (mLimits.policy != CapacitySchedulerPolicy::kMAX_UTILIZATION)
    {
        SizeType64 const reserved = Scheduler::reservedBlocks(mPool.active, mKv);
        if (reserved > mKv.getMaxNumBlocks())
        {
            record(iter,
                "reserved blocks " + std::to_string(reserved) + " exceed the " + std::to_string(mKv.getMaxNumBlocks())
                    + " blocks of the cache");
        }
    }
    if (static_cast<SizeType32>(mPool.active.size()) > mLimits.maxBatchSize)
    {
        record(iter, "more active requests than maxBatchSize");
    }
}

void InvariantChecker::record(IterationType iter, std::string what)
{
    std::lock_guard<std::mutex> lock(mMutex);
    if (mViolations.size() < kMaxViolations)
    {
        mViolations.push_back("iteration " + std::to_string(iter) + ": " + std::move(what));
    }
}

std::vector<std::string> InvariantChecker::violations() const
{
    std::lock_guard<std::mutex> lock(mMutex);
    return mViolations;
}

} // namespace trtllm_sim::executor
