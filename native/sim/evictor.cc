#include "sim/evictor.h"

namespace trtllm_sim::executor
{

Evictor::Evictor(SizeType32 numBlocks, SizeType32 numPriorities)
    : mLinks(static_cast<std::size_t>(numBlocks))
    , mHead(static_cast<std::size_t>(numPriorities), kNone)
    , mTail(static_cast<std::size_t>(numPriorities), kNone)
{
}

void Evictor::add(BlockId id, RetentionPriority priority)
{
    Links& links = mLinks[static_cast<std::size_t>(id)];
    auto const p = static_cast<std::size_t>(priority);
    links.priority = priority;
    links.prev = mTail[p];
    links.next = kNone;
    if (links.prev != kNone)
    {
        mLinks[static_cast<std::size_t>(links.prev)].next = id;
    }
    else
    {
        mHead[p] = id;
    }
    mTail[p] = id;
    ++mSize;
}

void Evictor::remove(BlockId id)
{
    Links& links = mLinks[static_cast<std::size_t>(id)];
    auto const p = static_cast<std::size_t>(links.priority);
    if (links.prev != kNone)
    {
        mLinks[static_cast<std::size_t>(links.prev)].next = links.next;
    }
    else
    {
        mHead[p] = links.next;
    }
    if (links.next != kNone)
    {
        mLinks[static_cast<std::size_t>(links.next)].prev = links.prev;
    }
    else
    {
        mTail[p] = links.prev;
    }
    links.prev = kNone;
    links.next = kNone;
    --mSize;
}

BlockId Evictor::victim() const
{
    for (BlockId head : mHead)
    {
        if (head != kNone)
        {
            return head;
        }
    }
    return kNone;
}

} // namespace trtllm_sim::executor
