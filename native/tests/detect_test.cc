// Member detection for the fields that differ between TensorRT-LLM releases, checked with mirror structs
// shaped like an older release (no attentionDpRank, no specDecodingStats, no missedBlocks/cacheHitRate, ...)
// and like a current one.
#include <gtest/gtest.h>

#include <optional>

#include "bridge/detect.h"
#include "sim/executor_api.h"

namespace detect = trtllm_metrics::bridge::detect;

namespace old_release {
struct KVCacheEvent {
    unsigned long eventId;
    int windowSize;
};
struct KvCacheStats {
    int maxNumBlocks, freeNumBlocks, usedNumBlocks, tokensPerBlock, allocTotalBlocks, allocNewBlocks, reusedBlocks;
};
struct IterationStats {
    std::optional<KvCacheStats> kvCacheStats;
    int numActiveRequests;
};
struct RequestPerfMetrics {
    struct TimingMetrics {
    } timingMetrics;
};
struct KVCacheEventManager {};
}  // namespace old_release

namespace new_release {
struct KVCacheEvent {
    unsigned long eventId;
    int windowSize;
    std::optional<int> attentionDpRank;
};
}  // namespace new_release

TEST(Detect, OlderReleaseMirrorsLackTheVersionedMembers) {
    EXPECT_FALSE(detect::HasAttentionDpRank<old_release::KVCacheEvent>::value);
    EXPECT_FALSE(detect::HasSpecDecodingStats<old_release::IterationStats>::value);
    EXPECT_FALSE(detect::HasNumNewActiveRequests<old_release::IterationStats>::value);
    EXPECT_FALSE(detect::HasMaxNumTokensRuntime<old_release::IterationStats>::value);
    EXPECT_FALSE(detect::HasMaxBatchSizeRuntime<old_release::IterationStats>::value);
    EXPECT_FALSE(detect::HasMissedBlocks<old_release::KvCacheStats>::value);
    EXPECT_FALSE(detect::HasCacheHitRate<old_release::KvCacheStats>::value);
    EXPECT_FALSE(detect::HasKvCacheMetrics<old_release::RequestPerfMetrics>::value);
    EXPECT_FALSE(detect::HasSpeculativeDecoding<old_release::RequestPerfMetrics>::value);
    EXPECT_FALSE(detect::HasNumDroppedEvents<old_release::KVCacheEventManager>::value);
    EXPECT_FALSE(detect::HasAttentionDpRank<old_release::IterationStats>::value);
    EXPECT_FALSE(detect::HasKvCacheIterationStats<old_release::IterationStats>::value);
    old_release::IterationStats stats{};
    EXPECT_EQ(detect::attentionDpRank(stats), std::nullopt);
    old_release::KVCacheEvent e{7, 4096};
    EXPECT_EQ(detect::attentionDpRank(e), std::nullopt);
}

TEST(Detect, CurrentShapesHaveThemAndValuesAreRead) {
    new_release::KVCacheEvent e{7, 4096, 3};
    EXPECT_TRUE(detect::HasAttentionDpRank<new_release::KVCacheEvent>::value);
    EXPECT_EQ(detect::attentionDpRank(e), std::optional<int>(3));
    new_release::KVCacheEvent none{7, 4096, std::nullopt};
    EXPECT_EQ(detect::attentionDpRank(none), std::nullopt);
}

TEST(Detect, TheSimulatorMirrorsTheCurrentRelease) {
    namespace ex = trtllm_sim::executor;
    EXPECT_TRUE(detect::HasAttentionDpRank<ex::IterationStats>::value);
    EXPECT_TRUE(detect::HasKvCacheIterationStats<ex::IterationStats>::value);
    EXPECT_TRUE(detect::HasEngineInfo<ex::Executor>::value);
    EXPECT_FALSE(detect::HasEngineInfo<old_release::KVCacheEventManager>::value);
    ex::IterationStats stats;
    EXPECT_EQ(detect::attentionDpRank(stats), std::nullopt);
    stats.attentionDpRank = 2;
    EXPECT_EQ(detect::attentionDpRank(stats), std::optional<int>(2));
    EXPECT_TRUE(detect::HasAttentionDpRank<ex::KVCacheEvent>::value);
    EXPECT_TRUE(detect::HasSpecDecodingStats<ex::IterationStats>::value);
    EXPECT_TRUE(detect::HasNumNewActiveRequests<ex::IterationStats>::value);
    EXPECT_TRUE(detect::HasMaxNumTokensRuntime<ex::IterationStats>::value);
    EXPECT_TRUE(detect::HasMissedBlocks<ex::KvCacheStats>::value);
    EXPECT_TRUE(detect::HasCacheHitRate<ex::KvCacheStats>::value);
    EXPECT_TRUE(detect::HasKvCacheMetrics<ex::RequestPerfMetrics>::value);
    EXPECT_TRUE(detect::HasSpeculativeDecoding<ex::RequestPerfMetrics>::value);
    EXPECT_TRUE(detect::HasNumDroppedEvents<ex::KVCacheEventManager>::value);
}
