#include "sim/kv_cache_events.h"

#include <algorithm>

namespace trtllm_sim::executor
{

KVCacheEventManager::KVCacheEventManager(std::size_t bufferCapacity, SizeType32 windowSize, SizeType32 numRanks)
    : mCapacity(bufferCapacity * static_cast<std::size_t>(std::max<SizeType32>(1, numRanks)))
    , mWindowSize(windowSize)
    , mNextEventIds(static_cast<std::size_t>(std::max<SizeType32>(1, numRanks)), 0)
{
}

std::deque<KVCacheEvent> KVCacheEventManager::getLatestEvents(std::optional<std::chrono::milliseconds> timeout)
{
    std::unique_lock<std::mutex> lock(mMutex);
    auto const ready = [this] { return !mBuffer.empty() || mShutdown; };
    if (timeout)
    {
        mCv.wait_for(lock, *timeout, ready);
    }
    else
    {
        mCv.wait(lock, ready);
    }
    std::deque<KVCacheEvent> out;
    out.swap(mBuffer);
    return out;
}

std::uint64_t KVCacheEventManager::getNumDroppedEvents() const
{
    std::lock_guard<std::mutex> lock(mMutex);
    return mDropped;
}

void KVCacheEventManager::publish(std::vector<KVCacheEventData>&& events, SizeType32 rank)
{
    if (events.empty())
    {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mMutex);
        for (auto& data : events)
        {
            IdType const id = mNextEventIds[static_cast<std::size_t>(rank)]++;
            if (mCapacity == 0)
            {
                ++mDropped;
                continue;
            }
            if (mBuffer.size() >= mCapacity)
            {
                mBuffer.pop_front();
                ++mDropped;
            }
            std::optional<SizeType32> dpRank;
            if (mNextEventIds.size() > 1)
            {
                dpRank = rank;
            }
            mBuffer.emplace_back(id, std::move(data), mWindowSize, dpRank);
        }
    }
    events.clear();
    mCv.notify_all();
}

void KVCacheEventManager::shutdown()
{
    {
        std::lock_guard<std::mutex> lock(mMutex);
        mShutdown = true;
    }
    mCv.notify_all();
}

} // namespace trtllm_sim::executor
