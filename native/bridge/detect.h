#pragma once
// Compile-time detection of members that differ between TensorRT-LLM releases (REFERENCE.md marks them (v)).
// We test for the member itself, never for a version number, so one source builds against every release.

#include <optional>
#include <type_traits>
#include <utility>

namespace trtllm_metrics::bridge::detect {

template <typename T, typename = void>
struct HasAttentionDpRank : std::false_type {};
template <typename T>
struct HasAttentionDpRank<T, std::void_t<decltype(std::declval<T const&>().attentionDpRank)>> : std::true_type {};

template <typename T, typename = void>
struct HasSpecDecodingStats : std::false_type {};
template <typename T>
struct HasSpecDecodingStats<T, std::void_t<decltype(std::declval<T const&>().specDecodingStats)>> : std::true_type {};

template <typename T, typename = void>
struct HasMissedBlocks : std::false_type {};
template <typename T>
struct HasMissedBlocks<T, std::void_t<decltype(std::declval<T const&>().missedBlocks)>> : std::true_type {};

template <typename T, typename = void>
struct HasCacheHitRate : std::false_type {};
template <typename T>
struct HasCacheHitRate<T, std::void_t<decltype(std::declval<T const&>().cacheHitRate)>> : std::true_type {};

template <typename T, typename = void>
struct HasNumNewActiveRequests : std::false_type {};
template <typename T>
struct HasNumNewActiveRequests<T, std::void_t<decltype(std::declval<T const&>().numNewActiveRequests)>>
    : std::true_type {};

template <typename T, typename = void>
struct HasMaxNumTokensRuntime : std::false_type {};
template <typename T>
struct HasMaxNumTokensRuntime<T, std::void_t<decltype(std::declval<T const&>().maxNumTokensRuntime)>>
    : std::true_type {};

template <typename T, typename = void>
struct HasMaxBatchSizeRuntime : std::false_type {};
template <typename T>
struct HasMaxBatchSizeRuntime<T, std::void_t<decltype(std::declval<T const&>().maxBatchSizeRuntime)>>
    : std::true_type {};

template <typename T, typename = void>
struct HasKvCacheMetrics : std::false_type {};
template <typename T>
struct HasKvCacheMetrics<T, std::void_t<decltype(std::declval<T const&>().kvCacheMetrics)>> : std::true_type {};

template <typename T, typename = void>
struct HasSpeculativeDecoding : std::false_type {};
template <typename T>
struct HasSpeculativeDecoding<T, std::void_t<decltype(std::declval<T const&>().speculativeDecoding)>>
    : std::true_type {};

// The sim's event manager reports its own drops; the real one does not (gaps in event ids show them).
template <typename T, typename = void>
struct HasNumDroppedEvents : std::false_type {};
template <typename T>
struct HasNumDroppedEvents<T, std::void_t<decltype(std::declval<T const&>().getNumDroppedEvents())>>
    : std::true_type {};

// Per-iteration KV cache stats per window size (pools and onboard/offload traffic), in newer releases.
template <typename T, typename = void>
struct HasKvCacheIterationStats : std::false_type {};
template <typename T>
struct HasKvCacheIterationStats<T, std::void_t<decltype(std::declval<T const&>().kvCacheIterationStats)>>
    : std::true_type {};

// The simulator's description of itself (Executor::getEngineInfo, getLoraAdapters); TensorRT-LLM has none.
template <typename T, typename = void>
struct HasEngineInfo : std::false_type {};
template <typename T>
struct HasEngineInfo<T, std::void_t<decltype(std::declval<T const&>().getEngineInfo()),
                                    decltype(std::declval<T const&>().getLoraAdapters())>> : std::true_type {};

// Read `obj.attentionDpRank` (a KV event's or, in newer releases, an IterationStats') when the release has it.
template <typename T>
std::optional<int> attentionDpRank(T const& e) {
    if constexpr (HasAttentionDpRank<T>::value) {
        if (e.attentionDpRank) return static_cast<int>(*e.attentionDpRank);
    }
    return std::nullopt;
}

}  // namespace trtllm_metrics::bridge::detect
