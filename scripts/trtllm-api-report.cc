// Which of the members that differ between TensorRT-LLM releases (REFERENCE.md's (v)) a release has, as the
// bridge's member detection (native/bridge/detect.h) sees them, and what the metrics lack without each.
// Built and run by scripts/check-trtllm-api.sh against a release's headers; it uses types only, so it links
// without the TensorRT-LLM library.
#include <cstdio>
#include <optional>
#include <type_traits>
#include <utility>

#include "bridge/detect.h"
#include "tensorrt_llm/executor/executor.h"

namespace {

namespace tle = tensorrt_llm::executor;
namespace detect = trtllm_metrics::bridge::detect;

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

struct Row {
    char const* member;
    bool present;
    char const* without;  // what the metrics lack when the release does not have it
};

}  // namespace

int main() {
    using StoredBlock = tle::KVCacheStoredBlockData;
    Row const rows[] = {
        {"KVCacheEvent::attentionDpRank", detect::HasAttentionDpRank<tle::KVCacheEvent>::value,
         "events carry no attention_dp_rank"},
        {"IterationStats::attentionDpRank", detect::HasAttentionDpRank<tle::IterationStats>::value,
         "stats are taken as one engine's (no per-rank combination)"},
        {"IterationStats::numNewActiveRequests", detect::HasNumNewActiveRequests<tle::IterationStats>::value,
         "no numNewActiveRequests in the stats"},
        {"IterationStats::maxBatchSizeRuntime (+Static, TunerRecommended)",
         detect::HasMaxBatchSizeRuntime<tle::IterationStats>::value, "trtllm_max_batch_size_{static,runtime} stay unset"},
        {"IterationStats::maxNumTokensRuntime (+Static, TunerRecommended)",
         detect::HasMaxNumTokensRuntime<tle::IterationStats>::value, "trtllm_max_num_tokens_runtime stays unset"},
        {"IterationStats::specDecodingStats", detect::HasSpecDecodingStats<tle::IterationStats>::value,
         "trtllm_spec_decode_* stay unset"},
        {"IterationStats::kvCacheIterationStats", detect::HasKvCacheIterationStats<tle::IterationStats>::value,
         "no per-window pools (host tier: secondary*, iterOnboard*/iterOffload*) in the stats"},
        {"KvCacheStats::missedBlocks", detect::HasMissedBlocks<tle::KvCacheStats>::value,
         "trtllm_kv_cache_missed_blocks_total stays 0"},
        {"KvCacheStats::cacheHitRate", detect::HasCacheHitRate<tle::KvCacheStats>::value,
         "trtllm_kv_cache_hit_rate stays unset"},
        {"RequestPerfMetrics::kvCacheMetrics", detect::HasKvCacheMetrics<tle::RequestPerfMetrics>::value,
         "no per-request KV blocks: prompt cached tokens count 0"},
        {"RequestPerfMetrics::speculativeDecoding", detect::HasSpeculativeDecoding<tle::RequestPerfMetrics>::value,
         "no per-request draft acceptance"},
        {"KVCacheStoredBlockData::loraId is optional", IsOptional<decltype(std::declval<StoredBlock>().loraId)>::value,
         "a plain loraId (0 = none) crosses as lora_id 0, not null"},
        {"KVCacheEventManager::getNumDroppedEvents", detect::HasNumDroppedEvents<tle::KVCacheEventManager>::value,
         "drops counted from event id gaps (trtllm_kv_event_id_gap_events_total)"},
    };
    std::printf("release-dependent members (native/bridge/detect.h) in these headers:\n");
    for (Row const& r : rows) std::printf("  %-66s %s%s\n", r.member, r.present ? "yes" : "no: ", r.present ? "" : r.without);
    return 0;
}
