#include "sim/lora_cache.h"

#include <stdexcept>

namespace trtllm_sim::executor
{

LoraCache::LoraCache(SizeType32 capacity)
    : mCapacity(capacity)
{
}

std::list<std::uint64_t>::const_iterator LoraCache::victim() const
{
    for (auto it = mOrder.rbegin(); it != mOrder.rend(); ++it)
    {
        if (mEntries.at(*it).pins == 0)
        {
            return std::prev(it.base());
        }
    }
    return mOrder.end();
}

bool LoraCache::canAcquire(std::uint64_t taskId) const
{
    return mEntries.count(taskId) > 0 || static_cast<SizeType32>(mEntries.size()) < mCapacity
        || victim() != mOrder.end();
}

bool LoraCache::acquire(std::uint64_t taskId)
{
    ++mAcquires;
    if (auto const it = mEntries.find(taskId); it != mEntries.end())
    {
        mOrder.splice(mOrder.begin(), mOrder, it->second.position);
        ++it->second.pins;
        return false;
    }
    if (static_cast<SizeType32>(mEntries.size()) >= mCapacity)
    {
        auto const out = victim();
        if (out == mOrder.end())
        {
            throw std::logic_error("LoraCache: every cached adapter is in use");
        }
        mEntries.erase(*out);
        mOrder.erase(out);
    }
    mOrder.push_front(taskId);
    mEntries.emplace(taskId, Entry{mOrder.begin(), 1});
    ++mLoads;
    return true;
}

void LoraCache::release(std::uint64_t taskId)
{
    auto const it = mEntries.find(taskId);
    if (it == mEntries.end() || it->second.pins <= 0)
    {
        throw std::logic_error("LoraCache: released an adapter that is not pinned");
    }
    --it->second.pins;
}

std::vector<LoraCache::Adapter> LoraCache::adapters() const
{
    std::vector<Adapter> out;
    out.reserve(mOrder.size());
    for (auto const id : mOrder)
    {
        out.push_back(Adapter{id, mEntries.at(id).pins});
    }
    return out;
}

} // namespace trtllm_sim::executor
