#include "sim/invariants.h"

#include "sim/scheduler.h"

namespace trtllm_sim::executor
{

InvariantChecker::InvariantChecker(Limits const& limits, Ranks const& ranks)
    : mLimits(limits)
    , mRanks(ranks)
{
}

void InvariantChecker::check(IterationType iter)
{
    for (auto const& rank : mRanks)
    {
        std::string const where = mRanks.size() > 1 ? "rank " + std::to_string(rank->index) + ": " : "";
        auto const& kv = rank->kv;
        if (auto err = kv.checkConsistency(); !err.empty())
        {
            record(iter, where + err);
        }
        if (mLimits.policy != CapacitySchedulerPolicy::kMAX_UTILIZATION)
        {
            SizeType64 const reserved = Scheduler::reservedBlocks(rank->active, kv);
            if (reserved > kv.getMaxNumBlocks())
            {
                record(iter,
                    where + "reserved blocks " + std::to_string(reserved) + " exceed the "
                        + std::to_string(kv.getMaxNumBlocks()) + " blocks of the cache");
            }
        }
        if (static_cast<SizeType32>(rank->active.size()) > mLimits.maxBatchSize)
        {
            record(iter, where + "more active requests than maxBatchSize");
        }
        SizeType32 pinned = 0;
        for (auto const& adapter : rank->lora.adapters())
        {
            pinned += adapter.pins;
        }
        SizeType32 withAdapter = 0;
        for (auto const* r : rank->active)
        {
            withAdapter += r->loraPinned ? 1 : 0;
        }
        if (pinned != withAdapter)
        {
            record(iter, where + "LoRA adapter pins differ from the running requests that use an adapter");
        }
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
