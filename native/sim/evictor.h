// Which cached KV block to evict. KvCacheManager hands the evictor every block that holds a reusable (stored)
// block and that no sequence references; when the pool has no never-cached block left, it evicts the evictor's
// choice: the lowest retention priority first, the least recently released among equals. Kept apart from the
// block pool the way Dynamo's mocker keeps its evictor apart from its KV manager.
// Used only by the executor thread: not thread-safe by itself.
#pragma once

#include "sim/types.h"

#include <cstdint>
#include <vector>

namespace trtllm_sim::executor
{

using BlockId = std::int32_t;

class Evictor
{
public:
    static constexpr BlockId kNone = -1;

    /// Blocks are ids in [0, numBlocks); priorities are in [0, numPriorities).
    Evictor(SizeType32 numBlocks, SizeType32 numPriorities);

    /// A cached block lost its last reference: it becomes a candidate, the most recently used of its priority.
    void add(BlockId id, RetentionPriority priority);
    /// A candidate is referenced again (reused) or evicted: it is no longer a candidate.
    void remove(BlockId id);
    /// The candidate to evict next, or kNone when there is none. It stays a candidate until remove().
    [[nodiscard]] BlockId victim() const;
    /// Number of candidates (the cached free blocks).
    [[nodiscard]] SizeType32 size() const { return mSize; }

    /// Calls fn(id, priority) for every candidate, in eviction order (for consistency checks).
    template <class Fn>
    void forEach(Fn&& fn) const
    {
        for (std::size_t p = 0; p < mHead.size(); ++p)
        {
            for (BlockId id = mHead[p]; id != kNone; id = mLinks[static_cast<std::size_t>(id)].next)
            {
                fn(id, static_cast<RetentionPriority>(p));
            }
        }
    }

private:
    /// A doubly linked list per priority through the blocks, least recently used first.
    struct Links
    {
        BlockId prev{kNone};
        BlockId next{kNone};
        RetentionPriority priority{0}; // the list the block is on
    };

    std::vector<Links> mLinks;
    std::vector<BlockId> mHead;
    std::vector<BlockId> mTail;
    SizeType32 mSize{0};
};

} // namespace trtllm_sim::executor
