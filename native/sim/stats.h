// Iteration and request statistics (member names and types of tensorrt_llm::executor's types.h).
#pragma once

#include "sim/types.h"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trtllm_sim::executor
{

/// KV cache state at the end of an iteration. The alloc/reused/missed counters are cumulative since the
/// executor started.
struct KvCacheStats
{
    SizeType32 maxNumBlocks{0};
    SizeType32 freeNumBlocks{0};
    SizeType32 usedNumBlocks{0};
    SizeType32 tokensPerBlock{0};
    SizeType32 allocTotalBlocks{0};
    SizeType32 allocNewBlocks{0};
    SizeType32 reusedBlocks{0};
    SizeType32 missedBlocks{0};
    float cacheHitRate{0.f};
};

/// One window size's KV cache pools and what the iteration moved in them (TensorRT-LLM's per-iteration
/// kvCacheIterationStats; its JSON keys are these member names). Primary = GPU, secondary = host tier.
struct KvCacheIterationStats
{
    SizeType32 primaryMaxNumBlocks{0};
    SizeType32 primaryFreeNumBlocks{0};
    SizeType32 primaryUsedNumBlocks{0};
    SizeType32 secondaryMaxNumBlocks{0};
    SizeType32 secondaryFreeNumBlocks{0};
    /// Host blocks holding an offloaded block.
    SizeType32 secondaryUsedNumBlocks{0};
    // This iteration's counts (not cumulative).
    SizeType64 iterAllocTotalBlocks{0};
    SizeType64 iterAllocNewBlocks{0};
    SizeType64 iterReusedBlocks{0};
    /// Reuse is of whole blocks: every reused block is fully reused.
    SizeType64 iterFullReusedBlocks{0};
    SizeType64 iterPartialReusedBlocks{0};
    SizeType64 iterMissedBlocks{0};
    /// iterReusedBlocks / (iterReusedBlocks + iterMissedBlocks), 0 when neither.
    double iterCacheHitRate{0.0};
    SizeType64 iterGenAllocBlocks{0};
    SizeType64 iterOnboardBlocks{0};
    SizeType64 iterOnboardBytes{0};
    SizeType64 iterOffloadBlocks{0};
    SizeType64 iterOffloadBytes{0};
    SizeType64 iterIntraDeviceCopyBlocks{0};
    SizeType64 iterIntraDeviceCopyBytes{0};
};

struct StaticBatchingStats
{
    SizeType32 numScheduledRequests{0};
    SizeType32 numContextRequests{0};
    SizeType32 numCtxTokens{0};
    SizeType32 numGenTokens{0};
    SizeType32 emptyGenSlots{0};
};

struct InflightBatchingStats
{
    SizeType32 numScheduledRequests{0};
    SizeType32 numContextRequests{0};
    SizeType32 numGenRequests{0};
    SizeType32 numPausedRequests{0};
    SizeType32 numCtxTokens{0};
    SizeType32 microBatchId{0};
    float avgNumDecodedTokensPerIter{0.f};
};

struct SpecDecodingStats
{
    SizeType64 numDraftTokens{0};
    SizeType64 numAcceptedTokens{0};
    SizeType64 numRequestsWithDraftTokens{0};
    double acceptanceLength{0.0};
    double iterLatencyMS{0.0};
    double draftOverhead{0.0};
};

struct IterationStats
{
    /// Wall-clock end of the iteration, "MM-DD-YYYY HH:MM:SS" (local time).
    std::string timestamp;
    IterationType iter{0};
    double iterLatencyMS{0.0};
    double newActiveRequestsQueueLatencyMS{0.0};
    SizeType32 numNewActiveRequests{0};
    SizeType32 numActiveRequests{0};
    SizeType32 numQueuedRequests{0};
    SizeType32 numCompletedRequests{0};
    SizeType32 maxNumActiveRequests{0};
    SizeType32 maxBatchSizeStatic{0};
    SizeType32 maxBatchSizeTunerRecommended{0};
    SizeType32 maxBatchSizeRuntime{0};
    SizeType32 maxNumTokensStatic{0};
    SizeType32 maxNumTokensTunerRecommended{0};
    SizeType32 maxNumTokensRuntime{0};
    std::size_t gpuMemUsage{0};
    std::size_t cpuMemUsage{0};
    std::size_t pinnedMemUsage{0};
    std::optional<KvCacheStats> kvCacheStats;
    std::optional<KvCacheStats> crossKvCacheStats;
    std::optional<StaticBatchingStats> staticBatchingStats;
    std::optional<InflightBatchingStats> inflightBatchingStats;
    std::optional<SpecDecodingStats> specDecodingStats;
    /// The attention-DP rank these stats are of (one IterationStats per rank and iteration); unset without
    /// attention DP.
    std::optional<SizeType32> attentionDpRank;
    /// Per window size (the simulator has one: maxSeqLen).
    std::map<SizeType32, KvCacheIterationStats> kvCacheIterationStats;
};

enum class RequestStage
{
    kQUEUED,
    kENCODER_IN_PROGRESS,
    kCONTEXT_IN_PROGRESS,
    kGENERATION_IN_PROGRESS,
    kGENERATION_COMPLETE,
};

struct RequestStats
{
    IdType id{0};
    RequestStage stage{RequestStage::kQUEUED};
    SizeType32 contextPrefillPosition{0};
    SizeType32 numGeneratedTokens{0};
    float avgNumDecodedTokensPerIter{0.f};
    bool scheduled{false};
    bool paused{false};
    SizeType32 allocTotalBlocksPerRequest{0};
    SizeType32 allocNewBlocksPerRequest{0};
    SizeType32 reusedBlocksPerRequest{0};
    SizeType32 missedBlocksPerRequest{0};
    FloatType kvCacheHitRatePerRequest{0.f};
};

struct RequestStatsPerIteration
{
    IterationType iter{0};
    std::vector<RequestStats> requestStats;
};

} // namespace trtllm_sim::executor
