// Paged KV cache: a fixed pool of blocks of tokensPerBlock tokens, chained 64-bit block hashes (over the tokens
// and the LoRA adapter) and prefix reuse of cached blocks. Unreferenced cached blocks are evicted in the order the
// Evictor chooses (sim/evictor.h); with a host tier they are offloaded to a secondary (host) pool instead of
// dropped, and onboarded again when a request reuses them (docs/simulator.md "Host KV tier"). Produces Stored /
// Removed / Updated event data.
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
    /// The request's LoRA adapter (task id): part of every block's identity, and the loraId of its events.
    std::optional<std::uint64_t> loraId;

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
    /// Blocks allocated while requests generate (not for their context).
    SizeType64 genAllocBlocks{0};
    /// Blocks copied host -> GPU for reuse, and GPU -> host on eviction.
    SizeType64 onboardedBlocks{0};
    SizeType64 offloadedBlocks{0};
};

class KvCacheManager
{
public:
    /// @param emitEvents collect KVCacheEventData (takeEvents) for the event manager.
    /// @param numHostBlocks blocks of the host tier (0: none; it needs block reuse).
    KvCacheManager(SizeType32 numBlocks, SizeType32 tokensPerBlock, bool enableBlockReuse, bool emitEvents,
        SizeType32 numHostBlocks = 0);

    /// Hash of one block chained to its parent's hash (none for a sequence's first block): a 64-bit mix
    /// over the parent hash, every token and the LoRA adapter, using the full 64-bit range.
    static std::uint64_t hashBlock(std::optional<std::uint64_t> parentHash, TokenIdType const* tokens,
        SizeType32 numTokens, std::optional<std::uint64_t> loraId = std::nullopt) noexcept;

    /// Extends seq.blockHashes to cover every full block of tokens[0..numTokens) (chained from the start, under
    /// seq.loraId).
    static void computeBlockHashes(
        KvSequence& seq, TokenIdType const* tokens, SizeType32 numTokens, SizeType32 tokensPerBlock);

    /// Finds the cached blocks matching the sequence's leading full blocks (its precomputed blockHashes),
    /// at most the blocks covering contextLen - 1 tokens, on the GPU or the host tier. Fills `matched` and
    /// returns how many of them are referenced by live sequences (those do not consume free blocks when shared;
    /// host blocks take a GPU block each when onboarded).
    SizeType32 findReusable(KvSequence const& seq, SizeType32 contextLen, std::vector<BlockId>& matched) const;

    /// Starts a sequence of contextLen tokens: takes a reference on the matched (reused) blocks, onboards the
    /// ones on the host tier (Updated cacheLevel 1 -> 0), updates their retention priority (emitting Updated on
    /// change) and counts reused / missed blocks. The GPU must have a free block for every host block matched.
    void admit(KvSequence& seq, std::vector<BlockId> const& matched, SizeType32 contextLen);

    /// Blocks the sequence must still allocate to hold numTokens tokens.
    [[nodiscard]] SizeType32 blocksNeeded(KvSequence const& seq, SizeType32 numTokens) const;

    /// Grows the sequence to hold numKvTokens tokens (allocating, evicting cached blocks if needed) and
    /// offers every newly full block to the cache (Stored once per hash). `tokens` holds at least
    /// numKvTokens tokens. Throws std::logic_error if the pool is exhausted (a scheduler bug).
    /// `generating`: the request is past its context (its allocations count as generation allocations).
    void extend(KvSequence& seq, SizeType32 numKvTokens, TokenIdType const* tokens, bool generating = false);

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
    /// Blocks registered in the reuse table (stored and not yet evicted), on either tier.
    [[nodiscard]] std::size_t getNumRegisteredBlocks() const { return mHashToBlock.size(); }
    /// Blocks of the host tier (0: none), and those holding an offloaded block.
    [[nodiscard]] SizeType32 getNumHostBlocks() const { return mNumHostBlocks; }
    [[nodiscard]] SizeType32 getNumHostUsedBlocks() const { return mHostEvictor.size(); }
    /// The cache level (0 GPU, 1 host) holding a registered hash, or -1.
    [[nodiscard]] SizeType32 cacheLevelOf(std::uint64_t hash) const;
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
    [[nodiscard]] bool onHost(BlockId id) const { return id >= mNumBlocks; }
    BlockId allocateBlock();
    void acquire(BlockId id);
    /// Gives block `from`'s registration (hash, priority) to block `to` (Updated with the cache-level diff).
    void moveRegistration(BlockId from, BlockId to);
    /// Moves an evicted GPU block's registration to a host block (Updated 0 -> 1).
    void offload(BlockId gpu);
    /// A host block for an offload: a free one, or the least valuable cached one (Removed).
    BlockId takeHostBlock();
    /// Gives host block `host`'s registration to GPU block `gpu` (Updated 1 -> 0) and frees the host block.
    void moveToGpu(BlockId host, BlockId gpu);
    /// Removes a registered block from the reuse table (Removed).
    void unregister(BlockId id);
    void setPriority(BlockId id, RetentionPriority wanted);
    void emitStored(std::optional<std::uint64_t> parent, std::uint64_t hash, TokenIdType const* tokens,
        RetentionPriority priority, std::optional<std::uint64_t> loraId);
    void emitRemoved(std::uint64_t hash);

    SizeType32 const mNumBlocks;
    SizeType32 const mTokensPerBlock;
    bool const mEnableReuse;
    bool const mEmitEvents;
    SizeType32 const mNumHostBlocks;

    /// GPU blocks [0, numBlocks), then host blocks [numBlocks, numBlocks + numHostBlocks).
    std::vector<Block> mBlocks;
    std::vector<BlockId> mFreeUncached;
    /// The cached blocks no sequence references, and which of them to evict first.
    Evictor mEvictor;
    /// Host blocks that hold nothing, and the ones that hold an offloaded block (which to drop first).
    std::vector<BlockId> mFreeHost;
    Evictor mHostEvictor;
    SizeType32 mNumUsed{0};
    std::unordered_map<std::uint64_t, BlockId> mHashToBlock;
    KvCacheCounters mCounters;
    std::vector<KVCacheEventData> mEvents;
};

} // namespace trtllm_sim::executor
