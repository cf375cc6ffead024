// Paged KV cache: a fixed pool of blocks of tokensPerBlock tokens, chained 64-bit block hashes and
// prefix reuse of cached blocks. Unreferenced cached blocks are evicted in the order the Evictor chooses
// (sim/evictor.h). Produces Stored / Removed / Updated event data.
// Used only by the executor thread: not thread-safe by itself.
#pragma once

#include "sim/evictor.h"
#include "sim/kv_cache_events.h"
#include "sim/request.h"
#include "sim/types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace trtllm_sim::executor
{

/// The KV state of one sequence (owned by the request, operated on by KvCacheManager).
struct KvSequence
{
    /// Blocks in token order; the sequence holds one reference on each.
    std::vector<BlockId> blocks;
    /// Hashes of the sequence's first full blocks, in order: precomputed for the context at admission
    /// (for prefix matching), extended as later blocks fill.
    std::vector<std::uint64_t> blockHashes;
    /// Leading blocks that are full and have been offered to the cache (stored, or found duplicate).
    SizeType32 numFullBlocks{0};
    /// Tokens of the original prompt (blocks starting at or after it take the decode retention priority).
    SizeType32 promptLen{0};
    /// Retention priorities of the request, or null for the default priority.
    KvCacheRetentionConfig const* retention{nullptr};

    // Per-request block counters (RequestPerfMetrics::kvCacheMetrics).
    SizeType32 reusedBlocks{0};
    SizeType32 missedBlocks{0};
    SizeType32 newAllocatedBlocks{0};
    SizeType32 totalAllocatedBlocks{0};
};

/// Cumulative counters of the cache (KvCacheStats reports them as SizeType32, wrapping around).
struct KvCacheCounters
{
    SizeType64 allocTotalBlocks{0};
    SizeType64 allocNewBlocks{0};
    SizeType64 reusedBlocks{0};
    SizeType64 missedBlocks{0};
};

class KvCacheManager
{
public:
    /// @param emitEvents collect KVCacheEventData (takeEvents) for the event manager.
    KvCacheManager(SizeType32 numBlocks, SizeType32 tokensPerBlock, bool enableBlockReuse, bool emitEvents);

    /// Hash of one block chained to its parent's hash (none for a sequence's first block): a 64-bit mix
    /// over the parent hash and every token, using the full 64-bit range.
    static std::uint64_t hashBlock(
        std::optional<std::uint64_t> parentHash, TokenIdType const* tokens, SizeType32 numTokens) noexcept;

    /// Extends seq.blockHashes to cover every full block of tokens[0..numTokens) (chained from the start).
    static void computeBlockHashes(
        KvSequence& seq, TokenIdType const* tokens, SizeType32 numTokens, SizeType32 tokensPerBlock);

    /// Finds the cached blocks matching the sequence's leading full blocks (its precomputed blockHashes),
    /// at most the blocks covering contextLen - 1 tokens. Fills `matched` and returns how many of them are
    /// referenced by live sequences (those do not consume free blocks when shared).
    SizeType32 findReusable(KvSequence const& seq, SizeType32 contextLen, std::vector<BlockId>& matched) const;

    /// Starts a sequence of contextLen tokens: takes a reference on the matched (reused) blocks, updates
    /// their retention priority (emitting Updated on change) and counts reused / missed blocks.
    void admit(KvSequence& seq, std::vector<BlockId> const& matched, SizeType32 contextLen);

    /// Blocks the sequence must still allocate to hold numTokens tokens.
    [[nodiscard]] SizeType32 blocksNeeded(KvSequence const& seq, SizeType32 numTokens) const;

    /// Grows the sequence to hold numKvTokens tokens (allocating, evicting cached blocks if needed) and
    /// offers every newly full block to the cache (Stored once per hash). `tokens` holds at least
    /// numKvTokens tokens. Throws std::logic_error if the pool is exhausted (a scheduler bug).
    void extend(KvSequence& seq, SizeType32 numKvTokens, TokenIdType const* tokens);

    /// Drops the sequence's references, last block first; full cached blocks stay reusable (and
    /// evictable), the others return to the free pool. The sequence keeps its counters.
    void release(KvSequence& seq);

    [[nodiscard]] SizeType32 getMaxNumBlocks() const { return mNumBlocks; }
    [[nodiscard]] SizeType32 getTokensPerBlock() const { return mTokensPerBlock; }
    /// Blocks referenced by at least one live sequence.
    [[nodiscard]] SizeType32 getNumUsedBlocks() const { return mNumUsed; }
    /// max - used: uncached free blocks plus cached blocks no sequence references.
    [[nodiscard]] SizeType32 getNumFreeBlocks() const { return mNumBlocks - mNumUsed; }
    /// Free blocks that still hold a reusable (stored) block.
    [[nodiscard]] SizeType32 getNumCachedFreeBlocks() const { return mEvictor.size(); }
    /// Blocks registered in the reuse table (stored and not yet evicted).
    [[nodiscard]] std::size_t getNumRegisteredBlocks() const { return mHashToBlock.size(); }
    [[nodiscard]] KvCacheCounters const& getCounters() const { return mCounters; }
    [[nodiscard]] bool getEnableBlockReuse() const { return mEnableReuse; }

    /// Recounts the pool (O(blocks)); returns an empty string when every invariant holds, else what broke.
    [[nodiscard]] std::string checkConsistency() const;

    /// Moves out the event data produced since the last call, in causal order.
    void takeEvents(std::vector<KVCacheEventData>& out);

private:
    static constexpr SizeType32 kNumPriorities = KvCacheRetentionConfig::kMaxRetentionPriority + 1;

    struct Block
    {
        std::uint64_t hash{0};
        SizeType32 refCount{0};
        RetentionPriority priority{KvCacheRetentionConfig::kDefaultRetentionPriority};
        bool registered{false}; // in mHashToBlock (its Stored event was emitted); an eviction candidate when free
    };

    [[nodiscard]] RetentionPriority priorityOf(KvSequence const& seq, SizeType32 blockIndex) const;
    BlockId allocateBlock();
    void acquire(BlockId id);
    void emitStored(std::optional<std::uint64_t> parent, std::uint64_t hash, TokenIdType const* tokens,
        RetentionPriority priority);
    void emitRemoved(std::uint64_t hash);

    SizeType32 const mNumBlocks;
    SizeType32 const mTokensPerBlock;
    bool const mEnableReuse;
    bool const mEmitEvents;

    std::vector<Block> mBlocks;
    std::vector<BlockId> mFreeUncached;
    /// The cached blocks no sequence references, and which of them to evict first.
    Evictor mEvictor;
    SizeType32 mNumUsed{0};
    std::unordered_map<std::uint64_t, BlockId> mHashToBlock;
    KvCacheCounters mCounters;
    std::vector<KVCacheEventData> mEvents;
};

} // namespace trtllm_sim::executor
