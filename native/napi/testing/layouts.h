#pragma once
// layouts(): the layouts of the rows that cross into JS, as C++ defines them (bridge/request_record.h,
// bridge/response_chunk.h, bridge/kv_event_layout.h), with the names lib/records.ts and lib/native.ts give their fields, so a test can
// check that both sides agree field by field.

#include <napi.h>

#include <cstddef>
#include <iterator>

#include "bridge/kv_event_layout.h"
#include "bridge/request_record.h"
#include "bridge/response_chunk.h"

namespace trtllm_metrics::napi {

struct NamedField {
    char const* name;
    std::size_t index;
};

constexpr NamedField kRecordFieldNames[] = {
    {"REQUEST_ID", bridge::kRequestId},
    {"ENQUEUE_TIME_NS", bridge::kEnqueueTimeNs},
    {"ARRIVAL_TIME_NS", bridge::kArrivalTimeNs},
    {"FIRST_SCHEDULED_TIME_NS", bridge::kFirstScheduledTimeNs},
    {"FIRST_TOKEN_TIME_NS", bridge::kFirstTokenTimeNs},
    {"LAST_TOKEN_TIME_NS", bridge::kLastTokenTimeNs},
    {"PROMPT_TOKENS", bridge::kPromptTokens},
    {"OUTPUT_TOKENS", bridge::kOutputTokens},
    {"CACHED_TOKENS", bridge::kCachedTokens},
    {"NUM_SEQUENCES", bridge::kNumSequences},
    {"FINISH_REASON", bridge::kFinishReason},
    {"KV_TOTAL_ALLOCATED_BLOCKS", bridge::kKvTotalAllocatedBlocks},
    {"KV_NEW_ALLOCATED_BLOCKS", bridge::kKvNewAllocatedBlocks},
    {"KV_REUSED_BLOCKS", bridge::kKvReusedBlocks},
    {"KV_MISSED_BLOCKS", bridge::kKvMissedBlocks},
    {"KV_HIT_RATE", bridge::kKvHitRate},
    {"SPEC_ACCEPTANCE_RATE", bridge::kSpecAcceptanceRate},
    {"SPEC_ACCEPTED_DRAFT_TOKENS", bridge::kSpecAcceptedDraftTokens},
    {"SPEC_DRAFT_TOKENS", bridge::kSpecDraftTokens},
    {"FIRST_ITER", bridge::kFirstIter},
    {"LAST_ITER", bridge::kLastIter},
    {"KV_TRANSFER_START_NS", bridge::kKvTransferStartNs},
    {"KV_TRANSFER_END_NS", bridge::kKvTransferEndNs},
    {"FLAGS", bridge::kFlags},
    {"GEN_LOGPROB_SUM", bridge::kGenLogProbSum},
    {"GEN_LOGPROB_COUNT", bridge::kGenLogProbCount},
};

constexpr NamedField kChunkFieldNames[] = {
    {"REQUEST_ID", bridge::kChunkRequestId},
    {"TOKEN_OFFSET", bridge::kChunkTokenOffset},
    {"TOKEN_COUNT", bridge::kChunkTokenCount},
    {"FLAGS", bridge::kChunkFlags},
    {"FINISH_REASON", bridge::kChunkFinishReason},
    {"PERF_ROW", bridge::kChunkPerfRow},
    {"ERROR_INDEX", bridge::kChunkErrorIndex},
    {"SEQUENCE_INDEX", bridge::kChunkSequenceIndex},
};

constexpr NamedField kKvEventFieldNames[] = {
    {"EVENT_ID", bridge::kKvEventId},
    {"TYPE", bridge::kKvEventType},
    {"WINDOW_SIZE", bridge::kKvEventWindowSize},
    {"DP_RANK", bridge::kKvEventDpRank},
    {"PARENT_HASH", bridge::kKvEventParentHash},
    {"FIRST", bridge::kKvEventFirst},
    {"COUNT", bridge::kKvEventCount},
    {"CACHE_LEVEL_OLD", bridge::kKvEventCacheLevelOld},
    {"CACHE_LEVEL_NEW", bridge::kKvEventCacheLevelNew},
    {"PRIORITY_OLD", bridge::kKvEventPriorityOld},
    {"PRIORITY_NEW", bridge::kKvEventPriorityNew},
};

constexpr NamedField kKvBlockFieldNames[] = {
    {"HASH", bridge::kKvBlockHash},
    {"TOKEN_OFFSET", bridge::kKvBlockTokenOffset},
    {"TOKEN_COUNT", bridge::kKvBlockTokenCount},
    {"LORA_ID", bridge::kKvBlockLoraId},
    {"CACHE_LEVEL", bridge::kKvBlockCacheLevel},
    {"PRIORITY", bridge::kKvBlockPriority},
};

// Every field is named once, in order: a field added on one side only fails to compile here.
template <std::size_t N>
constexpr bool namesEveryField(NamedField const (&fields)[N], std::size_t stride) {
    if (N != stride) return false;
    for (std::size_t i = 0; i < N; ++i)
        if (fields[i].index != i) return false;
    return true;
}
static_assert(namesEveryField(kRecordFieldNames, bridge::kRecordStride), "every record field is named, in order");
static_assert(namesEveryField(kChunkFieldNames, bridge::kChunkStride), "every chunk field is named, in order");
static_assert(namesEveryField(kKvEventFieldNames, bridge::kKvEventStride), "every KV event field is named, in order");
static_assert(namesEveryField(kKvBlockFieldNames, bridge::kKvBlockStride), "every KV block field is named, in order");

template <std::size_t N>
Napi::Object fieldsToJs(Napi::Env env, NamedField const (&fields)[N]) {
    auto o = Napi::Object::New(env);
    for (auto const& f : fields) o.Set(f.name, Napi::Number::New(env, static_cast<double>(f.index)));
    return o;
}

// layouts() -> { record: { stride, fields, flags, errorFinishCode }, chunk: { stride, fields, flags },
//               kvEvent: { stride, fields, types }, kvBlock: { stride, fields } }
inline Napi::Value layouts(Napi::CallbackInfo const& info) {
    Napi::Env env = info.Env();
    auto num = [&](double v) { return Napi::Number::New(env, v); };
    auto record = Napi::Object::New(env);
    record.Set("stride", num(bridge::kRecordStride));
    record.Set("fields", fieldsToJs(env, kRecordFieldNames));
    auto recordFlags = Napi::Object::New(env);
    recordFlags.Set("ERROR", num(bridge::kFlagError));
    recordFlags.Set("HAS_PERF", num(bridge::kFlagHasPerf));
    record.Set("flags", recordFlags);
    record.Set("errorFinishCode", num(bridge::kErrorFinishCode));
    auto chunk = Napi::Object::New(env);
    chunk.Set("stride", num(bridge::kChunkStride));
    chunk.Set("fields", fieldsToJs(env, kChunkFieldNames));
    auto chunkFlags = Napi::Object::New(env);
    chunkFlags.Set("FINAL", num(bridge::kChunkFlagFinal));
    chunkFlags.Set("ERROR", num(bridge::kChunkFlagError));
    chunkFlags.Set("PERF", num(bridge::kChunkFlagPerf));
    chunkFlags.Set("LOGPROBS", num(bridge::kChunkFlagLogProbs));
    chunkFlags.Set("EXECUTOR_FAULT", num(bridge::kChunkFlagExecutorFault));
    chunk.Set("flags", chunkFlags);
    auto kvEvent = Napi::Object::New(env);
    kvEvent.Set("stride", num(bridge::kKvEventStride));
    kvEvent.Set("fields", fieldsToJs(env, kKvEventFieldNames));
    auto kvTypes = Napi::Object::New(env);
    kvTypes.Set("created", num(bridge::kKvEventCreated));
    kvTypes.Set("stored", num(bridge::kKvEventStored));
    kvTypes.Set("removed", num(bridge::kKvEventRemoved));
    kvTypes.Set("updated", num(bridge::kKvEventUpdated));
    kvEvent.Set("types", kvTypes);
    auto kvBlock = Napi::Object::New(env);
    kvBlock.Set("stride", num(bridge::kKvBlockStride));
    kvBlock.Set("fields", fieldsToJs(env, kKvBlockFieldNames));
    auto o = Napi::Object::New(env);
    o.Set("record", record);
    o.Set("chunk", chunk);
    o.Set("kvEvent", kvEvent);
    o.Set("kvBlock", kvBlock);
    return o;
}

}  // namespace trtllm_metrics::napi
