// The LoRA adapters loaded in one rank's device memory (docs/simulator.md "LoRA adapters"): at most `capacity`,
// the least recently used one evicted first, never one a running request uses (it is pinned while the request
// runs). Loading costs time in the timing model; a request whose adapter cannot be loaded because every cached
// adapter is pinned waits. Executor thread only.
#pragma once

#include "sim/types.h"

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace trtllm_sim::executor
{

class LoraCache
{
public:
    explicit LoraCache(SizeType32 capacity);

    /// Whether a request with adapter `taskId` can start now (cached, or a slot can be freed).
    [[nodiscard]] bool canAcquire(std::uint64_t taskId) const;
    /// A request with adapter `taskId` starts: pins the adapter, loading it first if it is not cached (evicting
    /// the least recently used unpinned one). Returns whether it was loaded. canAcquire must hold.
    bool acquire(std::uint64_t taskId);
    /// A request with adapter `taskId` stopped running (finished, cancelled or paused).
    void release(std::uint64_t taskId);

    struct Adapter
    {
        std::uint64_t taskId{0};
        /// Running requests using it.
        SizeType32 pins{0};
    };

    /// The cached adapters, most recently used first.
    [[nodiscard]] std::vector<Adapter> adapters() const;
    /// Adapters loaded since the start (cache misses).
    [[nodiscard]] SizeType64 numLoads() const { return mLoads; }
    /// acquire() calls since the start (each one may reorder the cache).
    [[nodiscard]] SizeType64 numAcquires() const { return mAcquires; }
    [[nodiscard]] SizeType32 capacity() const { return mCapacity; }

private:
    struct Entry
    {
        std::list<std::uint64_t>::iterator position;
        SizeType32 pins{0};
    };

    /// The least recently used unpinned adapter, or end().
    [[nodiscard]] std::list<std::uint64_t>::const_iterator victim() const;

    SizeType32 const mCapacity;
    /// Most recently used at the front.
    std::list<std::uint64_t> mOrder;
    std::unordered_map<std::uint64_t, Entry> mEntries;
    SizeType64 mLoads{0};
    SizeType64 mAcquires{0};
};

} // namespace trtllm_sim::executor
