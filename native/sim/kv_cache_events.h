// KV cache events (names and members as in tensorrt_llm::executor) and the bounded event buffer.
#pragma once

#include "sim/types.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace trtllm_sim::executor
{

struct KVCacheCreatedData
{
    /// Blocks per cache level: {GPU blocks, host blocks}.
    std::vector<SizeType32> numBlocksPerCacheLevel;
};

struct KVCacheStoredBlockData
{
    KVCacheStoredBlockData(IdType hash, runtime::VecUniqueTokens blockTokens,
        std::optional<runtime::LoraTaskIdType> lora, SizeType32 level, SizeType32 retentionPriority)
        : blockHash{hash}
        , tokens{std::move(blockTokens)}
        , loraId{lora}
        , cacheLevel{level}
        , priority{retentionPriority}
    {
    }

    IdType blockHash;
    runtime::VecUniqueTokens tokens;
    std::optional<runtime::LoraTaskIdType> loraId;
    SizeType32 cacheLevel;
    SizeType32 priority;
};

struct KVCacheStoredData
{
    /// Hash of the block before blocks[0] in its sequence; none when blocks[0] is a sequence's first block.
    std::optional<IdType> parentHash;
    /// Consecutive blocks; the parent of blocks[i] is blocks[i-1].
    std::vector<KVCacheStoredBlockData> blocks;
};

struct KVCacheRemovedData
{
    std::vector<IdType> blockHashes;
};

template <typename T>
struct KVCacheEventDiff
{
    T oldValue;
    T newValue;
};

struct KVCacheUpdatedData
{
    explicit KVCacheUpdatedData(IdType hash)
        : blockHash{hash}
    {
    }

    KVCacheUpdatedData& cacheLevelUpdated(SizeType32 oldValue, SizeType32 newValue)
    {
        cacheLevel = KVCacheEventDiff<SizeType32>{oldValue, newValue};
        return *this;
    }

    KVCacheUpdatedData& priorityUpdated(SizeType32 oldValue, SizeType32 newValue)
    {
        priority = KVCacheEventDiff<SizeType32>{oldValue, newValue};
        return *this;
    }

    IdType blockHash;
    std::optional<KVCacheEventDiff<SizeType32>> cacheLevel = std::nullopt;
    std::optional<KVCacheEventDiff<SizeType32>> priority = std::nullopt;
};

using KVCacheEventData = std::variant<KVCacheCreatedData, KVCacheStoredData, KVCacheRemovedData, KVCacheUpdatedData>;

struct KVCacheEvent
{
    KVCacheEvent(IdType id, KVCacheEventData eventData, SizeType32 window,
        std::optional<SizeType32> dpRank = std::nullopt)
        : eventId{id}
        , data{std::move(eventData)}
        , windowSize{window}
        , attentionDpRank{dpRank}
    {
    }

    IdType eventId;
    KVCacheEventData data;
    SizeType32 windowSize;
    std::optional<SizeType32> attentionDpRank;
};

/// Bounded buffer of KV cache events between the executor thread (producer) and one consumer.
/// Event ids are assigned here, consecutively from 0 per attention-DP rank (as each of TensorRT-LLM's ranks
/// numbers its own events before rank 0 gathers them); with several ranks every event carries its
/// attentionDpRank and the buffer holds bufferCapacity events per rank. When the buffer is full, the oldest
/// event is dropped to make room (the ids of dropped events are never delivered) and counted.
/// The producer never blocks on the consumer.
class KVCacheEventManager
{
public:
    KVCacheEventManager(std::size_t bufferCapacity, SizeType32 windowSize, SizeType32 numRanks = 1);

    KVCacheEventManager(KVCacheEventManager const&) = delete;
    KVCacheEventManager& operator=(KVCacheEventManager const&) = delete;

    /// Drains the buffer. Without a timeout it waits until at least one event is buffered or the executor
    /// shuts down; with one it waits at most that long. Returns early (possibly empty) on shutdown.
    std::deque<KVCacheEvent> getLatestEvents(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    /// Simulator extra: events dropped (oldest first) because the buffer was full, since the start.
    [[nodiscard]] std::uint64_t getNumDroppedEvents() const;
    /// Simulator extra: KvCacheConfig::eventBufferMaxSize.
    [[nodiscard]] std::size_t getBufferCapacity() const { return mCapacity; }

    // --- used by the executor ---
    /// Appends the events of `rank` in order, giving them that rank's next ids; drops the oldest beyond capacity.
    void publish(std::vector<KVCacheEventData>&& events, SizeType32 rank = 0);
    /// Wakes every waiter; later getLatestEvents calls return immediately.
    void shutdown();

private:
    std::size_t const mCapacity;
    SizeType32 const mWindowSize;
    mutable std::mutex mMutex;
    std::condition_variable mCv;
    std::deque<KVCacheEvent> mBuffer;
    /// The next event id of each rank.
    std::vector<IdType> mNextEventIds;
    std::uint64_t mDropped{0};
    bool mShutdown{false};
};

} // namespace trtllm_sim::executor
