#pragma once
// A delivery's KV-cache events cross into JS packed, not as objects (napi/kv_events_to_js.h writes them,
// lib/kv-event-batch.ts reads them): one `events` row of kKvEventStride float64 per event, one `blocks` row of
// kKvBlockStride per stored block, every 64-bit value (block and parent hashes, LoRA ids) in one BigUint64Array
// `hashes`, the stored blocks' token ids back to back in an Int32Array `tokens` (their extra ids in `extraIds`,
// which is empty when all of them are 0) and created events' block counts in `levels`. Field names are the
// same in lib/native.ts (KvEventField, KvBlockField; test/native-layout.test.mjs compares them).

#include <cstddef>

namespace trtllm_metrics::bridge {

enum KvEventField : std::size_t {
    kKvEventId = 0,
    kKvEventType,        // KvEventType
    kKvEventWindowSize,
    kKvEventDpRank,      // attention-DP rank, or -1 when the release has none
    kKvEventParentHash,  // stored: index in `hashes` of the parent hash, or -1 (none)
    kKvEventFirst,       // stored: first row in `blocks`; removed: first index in `hashes`;
                         // updated: index in `hashes` of the block hash; created: first index in `levels`
    kKvEventCount,       // stored: blocks; removed: hashes; created: levels; updated: 1
    kKvEventCacheLevelOld,  // updated: the cache-level diff, NaN when absent
    kKvEventCacheLevelNew,
    kKvEventPriorityOld,    // updated: the priority diff, NaN when absent
    kKvEventPriorityNew,
    kKvEventStride
};

enum KvEventType : unsigned {
    kKvEventCreated = 0,
    kKvEventStored = 1,
    kKvEventRemoved = 2,
    kKvEventUpdated = 3,
};

enum KvBlockField : std::size_t {
    kKvBlockHash = 0,     // index in `hashes`
    kKvBlockTokenOffset,  // in `tokens` (and `extraIds`)
    kKvBlockTokenCount,
    kKvBlockLoraId,       // index in `hashes`, or -1 (none)
    kKvBlockCacheLevel,
    kKvBlockPriority,
    kKvBlockStride
};

}  // namespace trtllm_metrics::bridge
