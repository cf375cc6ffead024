#include "sim/kv_cache_manager.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace trtllm_sim::executor
{

namespace
{

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t kRootHash = 0x6a09e667f3bcc909ull;
constexpr std::uint64_t kLoraSalt = 0xbb67ae8584caa73bull;

inline std::uint64_t mix64(std::uint64_t x) noexcept
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

} // namespace

KvCacheManager::KvCacheManager(
    SizeType32 numBlocks, SizeType32 tokensPerBlock, bool enableBlockReuse, bool emitEvents, SizeType32 numHostBlocks)
    : mNumBlocks(numBlocks)
    , mTokensPerBlock(tokensPerBlock)
    , mEnableReuse(enableBlockReuse)
    , mEmitEvents(emitEvents)
    , mNumHostBlocks(enableBlockReuse ? std::max<SizeType32>(0, numHostBlocks) : 0)
    , mBlocks(static_cast<std::size_t>(numBlocks) + static_cast<std::size_t>(mNumHostBlocks))
    , mEvictor(static_cast<SizeType32>(mBlocks.size()), kNumPriorities)
    , mHostEvictor(mNumHostBlocks > 0 ? static_cast<SizeType32>(mBlocks.size()) : 0, kNumPriorities)
{
    if (numBlocks < 1 || tokensPerBlock < 1)
    {
        throw std::invalid_argument("KvCacheManager needs at least one block of at least one token");
    }
    mFreeUncached.reserve(static_cast<std::size_t>(numBlocks));
    // Pop order hands out block 0 first.
    for (BlockId id = numBlocks - 1; id >= 0; --id)
    {
        mFreeUncached.push_back(id);
    }
    mFreeHost.reserve(static_cast<std::size_t>(mNumHostBlocks));
    for (BlockId id = numBlocks + mNumHostBlocks - 1; id >= numBlocks; --id)
    {
        mFreeHost.push_back(id);
    }
    mHashToBlock.reserve(mBlocks.size() * 2);
}

std::uint64_t KvCacheManager::hashBlock(std::optional<std::uint64_t> parentHash, TokenIdType const* tokens,
    SizeType32 numTokens, std::optional<std::uint64_t> loraId) noexcept
{
    std::uint64_t h = parentHash ? mix64(*parentHash ^ kGolden) : kRootHash;
    for (SizeType32 i = 0; i < numTokens; ++i)
    {
        h = mix64(h + kGolden + static_cast<std::uint32_t>(tokens[i]));
    }
    if (loraId)
    {
        // The same tokens under two adapters are two blocks (their KV differs).
        h = mix64(h ^ mix64(*loraId + kLoraSalt));
    }
    return mix64(h ^ static_cast<std::uint64_t>(numTokens));
}

void KvCacheManager::computeBlockHashes(
    KvSequence& seq, TokenIdType const* tokens, SizeType32 numTokens, SizeType32 tokensPerBlock)
{
    auto const numFull = static_cast<std::size_t>(numTokens / tokensPerBlock);
    while (seq.blockHashes.size() < numFull)
    {
        std::size_t const i = seq.blockHashes.size();
        std::optional<std::uint64_t> parent;
        if (i > 0)
        {
            parent = seq.blockHashes[i - 1];
        }
        seq.blockHashes.push_back(hashBlock(parent, tokens + i * tokensPerBlock, tokensPerBlock, seq.loraId));
    }
}

RetentionPriority KvCacheManager::priorityOf(KvSequence const& seq, SizeType32 blockIndex) const
{
    if (seq.retention == nullptr)
    {
        return KvCacheRetentionConfig::kDefaultRetentionPriority;
    }
    SizeType32 const start = blockIndex * mTokensPerBlock;
    if (start >= seq.promptLen)
    {
        return seq.retention->getDecodeRetentionPriority();
    }
    for (auto const& range : seq.retention->getTokenRangeRetentionConfigs())
    {
        if (start >= range.tokenStart && (!range.tokenEnd || start < *range.tokenEnd))
        {
            return range.priority;
        }
    }
    return KvCacheRetentionConfig::kDefaultRetentionPriority;
}

SizeType32 KvCacheManager::findReusable(
    KvSequence const& seq, SizeType32 contextLen, std::vector<BlockId>& matched) const
{
    matched.clear();
    if (!mEnableReuse || contextLen < 1)
    {
        return 0;
    }
    // At least one token must be computed, so only blocks within the first contextLen - 1 tokens count.
    auto const limit = std::min(static_cast<std::size_t>((contextLen - 1) / mTokensPerBlock), seq.blockHashes.size());
    SizeType32 inUse = 0;
    for (std::size_t i = 0; i < limit; ++i)
    {
        auto const it = mHashToBlock.find(seq.blockHashes[i]);
        if (it == mHashToBlock.end())
        {
            break;
        }
        matched.push_back(it->second);
        if (mBlocks[static_cast<std::size_t>(it->second)].refCount > 0)
        {
            ++inUse;
        }
    }
    return inUse;
}

void KvCacheManager::acquire(BlockId id)
{
    Block& block = mBlocks[static_cast<std::size_t>(id)];
    if (block.refCount == 0)
    {
        if (block.registered)
        {
            mEvictor.remove(id);
        }
        ++mNumUsed;
    }
    ++block.refCount;
}

void KvCacheManager::setPriority(BlockId id, RetentionPriority wanted)
{
    Block& block = mBlocks[static_cast<std::size_t>(id)];
    if (block.priority == wanted)
    {
        return;
    }
    if (mEmitEvents)
    {
        mEvents.emplace_back(KVCacheUpdatedData(block.hash).priorityUpdated(block.priority, wanted));
    }
    block.priority = wanted;
}

void KvCacheManager::admit(KvSequence& seq, std::vector<BlockId> const& matched, SizeType32 contextLen)
{
    if (!seq.blocks.empty())
    {
        throw std::logic_error("KvCacheManager::admit: the sequence already holds blocks");
    }
    auto const numMatched = static_cast<SizeType32>(matched.size());
    // GPU blocks first: once referenced they cannot be evicted by the onboarding below. The host blocks leave
    // the host eviction order so that onboarding one cannot drop another.
    bool anyOnHost = false;
    for (SizeType32 i = 0; i < numMatched; ++i)
    {
        BlockId const id = matched[static_cast<std::size_t>(i)];
        if (onHost(id))
        {
            mHostEvictor.remove(id);
            seq.blocks.push_back(Evictor::kNone);
            anyOnHost = true;
            continue;
        }
        acquire(id);
        setPriority(id, priorityOf(seq, i));
        seq.blocks.push_back(id);
    }
    if (anyOnHost)
    {
        for (SizeType32 i = 0; i < numMatched; ++i)
        {
            BlockId const host = matched[static_cast<std::size_t>(i)];
            if (!onHost(host))
            {
                continue;
            }
            BlockId const gpu = allocateBlock();
            moveToGpu(host, gpu);
            ++mCounters.onboardedBlocks;
            setPriority(gpu, priorityOf(seq, i));
            seq.blocks[static_cast<std::size_t>(i)] = gpu;
        }
    }
    seq.numFullBlocks = numMatched;
    SizeType32 const contextBlocks = (contextLen + mTokensPerBlock - 1) / mTokensPerBlock;
    SizeType32 const missed = contextBlocks - numMatched;
    seq.reusedBlocks += numMatched;
    seq.missedBlocks += missed;
    seq.totalAllocatedBlocks += numMatched;
    mCounters.reusedBlocks += numMatched;
    mCounters.missedBlocks += missed;
    mCounters.allocTotalBlocks += numMatched;
}

SizeType32 KvCacheManager::blocksNeeded(KvSequence const& seq, SizeType32 numTokens) const
{
    SizeType32 const want = (numTokens + mTokensPerBlock - 1) / mTokensPerBlock;
    auto const have = static_cast<SizeType32>(seq.blocks.size());
    return want > have ? want - have : 0;
}

void KvCacheManager::unregister(BlockId id)
{
    Block& block = mBlocks[static_cast<std::size_t>(id)];
    mHashToBlock.erase(block.hash);
    block.registered = false;
    emitRemoved(block.hash);
}

BlockId KvCacheManager::takeHostBlock()
{
    if (!mFreeHost.empty())
    {
        BlockId const id = mFreeHost.back();
        mFreeHost.pop_back();
        return id;
    }
    BlockId const id = mHostEvictor.victim();
    if (id == Evictor::kNone)
    {
        throw std::logic_error("KvCacheManager: no host block to offload to");
    }
    // The host tier is full: its least valuable block is dropped for good.
    mHostEvictor.remove(id);
    unregister(id);
    return id;
}

void KvCacheManager::moveRegistration(BlockId from, BlockId to)
{
    Block& source = mBlocks[static_cast<std::size_t>(from)];
    Block& target = mBlocks[static_cast<std::size_t>(to)];
    target.hash = source.hash;
    target.priority = source.priority;
    target.registered = true;
    source.registered = false;
    mHashToBlock[target.hash] = to;
    if (mEmitEvents)
    {
        mEvents.emplace_back(KVCacheUpdatedData(target.hash).cacheLevelUpdated(onHost(from) ? 1 : 0, onHost(to) ? 1 : 0));
    }
}

void KvCacheManager::offload(BlockId gpu)
{
    BlockId const host = takeHostBlock();
    moveRegistration(gpu, host);
    mHostEvictor.add(host, mBlocks[static_cast<std::size_t>(host)].priority);
    ++mCounters.offloadedBlocks;
}

void KvCacheManager::moveToGpu(BlockId host, BlockId gpu)
{
    moveRegistration(host, gpu);
    mFreeHost.push_back(host);
}

BlockId KvCacheManager::allocateBlock()
{
    BlockId id = Evictor::kNone;
    if (!mFreeUncached.empty())
    {
        id = mFreeUncached.back();
        mFreeUncached.pop_back();
    }
    else
    {
        id = mEvictor.victim();
        if (id == Evictor::kNone)
        {
            throw std::logic_error("KvCacheManager: no free KV block (used " + std::to_string(mNumUsed) + " of "
                + std::to_string(mNumBlocks) + ")");
        }
        // Evict the least valuable cached block: offloaded to the host tier when it has room (a free block, or
        // one it may drop; not while every host block is being onboarded), else no longer reusable.
        mEvictor.remove(id);
        if (!mFreeHost.empty() || mHostEvictor.size() > 0)
        {
            offload(id);
        }
        else
        {
            unregister(id);
        }
    }
    Block& block = mBlocks[static_cast<std::size_t>(id)];
    block.hash = 0;
    block.priority = KvCacheRetentionConfig::kDefaultRetentionPriority;
    block.refCount = 1;
    ++mNumUsed;
    return id;
}

void KvCacheManager::extend(KvSequence& seq, SizeType32 numKvTokens, TokenIdType const* tokens, bool generating)
{
    SizeType32 const wantBlocks = (numKvTokens + mTokensPerBlock - 1) / mTokensPerBlock;
    while (static_cast<SizeType32>(seq.blocks.size()) < wantBlocks)
    {
        seq.blocks.push_back(allocateBlock());
        ++seq.newAllocatedBlocks;
        ++seq.totalAllocatedBlocks;
        ++mCounters.allocNewBlocks;
        ++mCounters.allocTotalBlocks;
        if (generating)
        {
            ++mCounters.genAllocBlocks;
        }
    }
    SizeType32 const full = numKvTokens / mTokensPerBlock;
    if (!mEnableReuse)
    {
        seq.numFullBlocks = std::max(seq.numFullBlocks, full);
        return;
    }
    for (SizeType32 i = seq.numFullBlocks; i < full; ++i)
    {
        auto const idx = static_cast<std::size_t>(i);
        std::optional<std::uint64_t> parent;
        if (i > 0)
        {
            parent = seq.blockHashes[idx - 1];
        }
        TokenIdType const* blockTokens = tokens + idx * static_cast<std::size_t>(mTokensPerBlock);
        if (seq.blockHashes.size() <= idx)
        {
            seq.blockHashes.push_back(hashBlock(parent, blockTokens, mTokensPerBlock, seq.loraId));
        }
        std::uint64_t const hash = seq.blockHashes[idx];
        BlockId const id = seq.blocks[idx];
        if (auto const found = mHashToBlock.find(hash); found != mHashToBlock.end() && onHost(found->second))
        {
            // An offloaded copy on the host: this freshly computed GPU block takes its place (it is back on the
            // GPU without a copy), so the hash stays stored once.
            BlockId const host = found->second;
            mHostEvictor.remove(host);
            moveToGpu(host, id);
            setPriority(id, priorityOf(seq, i));
            continue;
        }
        if (auto const found = mHashToBlock.find(hash); found != mHashToBlock.end())
        {
            // Another block already caches these tokens (another sequence computed the same prefix at the
            // same time): share the cached block and free this copy, so each hash is stored once and the
            // parent of every later Stored block stays cached while this sequence runs.
            BlockId const cached = found->second;
            acquire(cached);
            setPriority(cached, priorityOf(seq, i));
            Block& copy = mBlocks[static_cast<std::size_t>(id)];
            if (--copy.refCount == 0)
            {
                --mNumUsed;
                mFreeUncached.push_back(id);
            }
            seq.blocks[idx] = cached;
            continue;
        }
        Block& block = mBlocks[static_cast<std::size_t>(id)];
        block.hash = hash;
        block.registered = true;
        block.priority = priorityOf(seq, i);
        mHashToBlock.emplace(hash, id);
        emitStored(parent, hash, blockTokens, block.priority, seq.loraId);
    }
    if (full > seq.numFullBlocks)
    {
        seq.numFullBlocks = full;
    }
}

void KvCacheManager::release(KvSequence& seq)
{
    // Last block first: with equal priority, a sequence's tail is evicted before its head.
    for (auto it = seq.blocks.rbegin(); it != seq.blocks.rend(); ++it)
    {
        BlockId const id = *it;
        Block& block = mBlocks[static_cast<std::size_t>(id)];
        if (--block.refCount > 0)
        {
            continue;
        }
        --mNumUsed;
        if (block.registered)
        {
            mEvictor.add(id, block.priority);
        }
        else
        {
            mFreeUncached.push_back(id);
        }
    }
    seq.blocks.clear();
    seq.numFullBlocks = 0;
}

void KvCacheManager::emitStored(std::optional<std::uint64_t> parent, std::uint64_t hash, TokenIdType const* tokens,
    RetentionPriority priority, std::optional<std::uint64_t> loraId)
{
    if (!mEmitEvents)
    {
        return;
    }
    runtime::VecUniqueTokens unique(static_cast<std::size_t>(mTokensPerBlock));
    for (SizeType32 i = 0; i < mTokensPerBlock; ++i)
    {
        unique[static_cast<std::size_t>(i)] = runtime::UniqueToken{tokens[i], 0};
    }
    KVCacheStoredBlockData blockData(hash, std::move(unique), loraId, 0, priority);
    if (!mEvents.empty() && parent)
    {
        if (auto* stored = std::get_if<KVCacheStoredData>(&mEvents.back());
            stored != nullptr && !stored->blocks.empty() && stored->blocks.back().blockHash == *parent)
        {
            stored->blocks.push_back(std::move(blockData));
            return;
        }
    }
    KVCacheStoredData data;
    data.parentHash = parent;
    data.blocks.push_back(std::move(blockData));
    mEvents.emplace_back(std::move(data));
}

void KvCacheManager::emitRemoved(std::uint64_t hash)
{
    if (!mEmitEvents)
    {
        return;
    }
    if (!mEvents.empty())
    {
        if (auto* removed = std::get_if<KVCacheRemovedData>(&mEvents.back()))
        {
            removed->blockHashes.push_back(hash);
            return;
        }
    }
    mEvents.emplace_back(KVCacheRemovedData{{hash}});
}

SizeType32 KvCacheManager::cacheLevelOf(std::uint64_t hash) const
{
    auto const it = mHashToBlock.find(hash);
    if (it == mHashToBlock.end())
    {
        return -1;
    }
    return onHost(it->second) ? 1 : 0;
}

std::string KvCacheManager::checkConsistency() const
{
    SizeType32 used = 0;
    SizeType32 cachedFree = 0;
    SizeType32 registered = 0;
    SizeType32 hostRegistered = 0;
    for (std::size_t i = 0; i < mBlocks.size(); ++i)
    {
        Block const& b = mBlocks[i];
        bool const host = onHost(static_cast<BlockId>(i));
        if (b.refCount < 0 || (host && b.refCount != 0))
        {
            return "block " + std::to_string(i) + " has a bad reference count";
        }
        if (b.refCount > 0)
        {
            ++used;
        }
        if (b.registered)
        {
            ++registered;
            hostRegistered += host ? 1 : 0;
            auto const it = mHashToBlock.find(b.hash);
            if (it == mHashToBlock.end() || it->second != static_cast<BlockId>(i))
            {
                return "registered block " + std::to_string(i) + " is missing from the hash table";
            }
            if (!host && b.refCount == 0)
            {
                ++cachedFree;
            }
        }
    }
    SizeType32 listed = 0;
    std::string badList;
    mEvictor.forEach([&](BlockId id, RetentionPriority p) {
        Block const& b = mBlocks[static_cast<std::size_t>(id)];
        if (badList.empty() && (onHost(id) || b.refCount != 0 || !b.registered || b.priority != p))
        {
            badList = "eviction list " + std::to_string(p) + " holds a block that is not cached and free";
        }
        ++listed;
    });
    SizeType32 hostListed = 0;
    mHostEvictor.forEach([&](BlockId id, RetentionPriority p) {
        Block const& b = mBlocks[static_cast<std::size_t>(id)];
        if (badList.empty() && (!onHost(id) || !b.registered || b.priority != p))
        {
            badList = "host eviction list " + std::to_string(p) + " holds a block that is not an offloaded block";
        }
        ++hostListed;
    });
    if (!badList.empty())
    {
        return badList;
    }
    if (used != mNumUsed)
    {
        return "used blocks " + std::to_string(mNumUsed) + " but " + std::to_string(used) + " are referenced";
    }
    SizeType32 const numCachedFree = mEvictor.size();
    if (cachedFree != numCachedFree || listed != numCachedFree)
    {
        return "cached free blocks " + std::to_string(numCachedFree) + " but counted " + std::to_string(cachedFree)
            + " (listed " + std::to_string(listed) + ")";
    }
    if (hostRegistered != mHostEvictor.size() || hostListed != hostRegistered)
    {
        return "offloaded host blocks " + std::to_string(mHostEvictor.size()) + " but counted "
            + std::to_string(hostRegistered) + " (listed " + std::to_string(hostListed) + ")";
    }
    if (static_cast<SizeType32>(mFreeHost.size()) + hostRegistered != mNumHostBlocks)
    {
        return "free host + offloaded host blocks != host blocks";
    }
    if (static_cast<std::size_t>(registered) != mHashToBlock.size())
    {
        return "hash table size differs from the registered blocks";
    }
    if (static_cast<SizeType32>(mFreeUncached.size()) + numCachedFree + mNumUsed != mNumBlocks)
    {
        return "uncached free + cached free + used != max blocks";
    }
    if (mCounters.allocTotalBlocks != mCounters.allocNewBlocks + mCounters.reusedBlocks)
    {
        return "allocTotalBlocks != allocNewBlocks + reusedBlocks";
    }
    return {};
}

void KvCacheManager::takeEvents(std::vector<KVCacheEventData>& out)
{
    if (mEvents.empty())
    {
        return;
    }
    if (out.empty())
    {
        out.swap(mEvents);
        return;
    }
    for (auto& event : mEvents)
    {
        out.push_back(std::move(event));
    }
    mEvents.clear();
}

} // namespace trtllm_sim::executor
