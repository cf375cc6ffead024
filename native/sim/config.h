// Configuration: the executor-facing classes (KvCacheConfig, SchedulerConfig, ExecutorConfig) mirror
// tensorrt_llm::executor; SimConfig holds what the simulator models instead of a real engine.
#pragma once

#include "sim/perf_model_config.h"
#include "sim/types.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace trtllm_sim::executor
{

class KvCacheConfig
{
public:
    KvCacheConfig() = default;

    [[nodiscard]] bool getEnableBlockReuse() const { return mEnableBlockReuse; }
    /// KV capacity in tokens; the simulator's block count is maxTokens / tokensPerBlock.
    /// When unset, SimConfig::numKvBlocks is used.
    [[nodiscard]] std::optional<SizeType32> getMaxTokens() const { return mMaxTokens; }
    /// Accepted and validated (0 < f <= 1) for API compatibility; see docs/simulator.md.
    [[nodiscard]] std::optional<FloatType> getFreeGpuMemoryFraction() const { return mFreeGpuMemoryFraction; }
    /// 0 disables KV cache events (getKVCacheEventManager returns std::nullopt).
    [[nodiscard]] std::size_t getEventBufferMaxSize() const { return mEventBufferMaxSize; }
    /// Bytes of host (CPU) memory for a secondary KV block pool; unset or 0: no host tier. Evicted reusable
    /// blocks are offloaded there and onboarded again when reused (docs/simulator.md "Host KV tier").
    [[nodiscard]] std::optional<std::size_t> getHostCacheSize() const { return mHostCacheSize; }
    /// Whether blocks offloaded to the host are brought back (onboarded) for reuse (default true).
    [[nodiscard]] bool getOnboardBlocks() const { return mOnboardBlocks; }

    void setEnableBlockReuse(bool enableBlockReuse) { mEnableBlockReuse = enableBlockReuse; }
    void setMaxTokens(std::optional<SizeType32> const& maxTokens) { mMaxTokens = maxTokens; }
    void setFreeGpuMemoryFraction(std::optional<FloatType> const& fraction) { mFreeGpuMemoryFraction = fraction; }
    void setEventBufferMaxSize(std::size_t eventBufferMaxSize) { mEventBufferMaxSize = eventBufferMaxSize; }
    void setHostCacheSize(std::size_t hostCacheSize) { mHostCacheSize = hostCacheSize; }
    void setOnboardBlocks(bool onboardBlocks) { mOnboardBlocks = onboardBlocks; }

private:
    bool mEnableBlockReuse{true};
    std::optional<SizeType32> mMaxTokens;
    std::optional<FloatType> mFreeGpuMemoryFraction{0.9f};
    std::size_t mEventBufferMaxSize{0};
    std::optional<std::size_t> mHostCacheSize;
    bool mOnboardBlocks{true};
};

class SchedulerConfig
{
public:
    explicit SchedulerConfig(
        CapacitySchedulerPolicy capacitySchedulerPolicy = CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT)
        : mCapacitySchedulerPolicy(capacitySchedulerPolicy)
    {
    }

    [[nodiscard]] CapacitySchedulerPolicy getCapacitySchedulerPolicy() const { return mCapacitySchedulerPolicy; }

private:
    CapacitySchedulerPolicy mCapacitySchedulerPolicy;
};

class ExecutorConfig
{
public:
    static constexpr SizeType32 kDefaultIterStatsMaxIterations = 1000;
    static constexpr SizeType32 kDefaultRequestStatsMaxIterations = 0;
    /// Simulator defaults for the limits the real executor takes from the engine (when unset and no performance
    /// model picks them).
    static constexpr SizeType32 kSimDefaultMaxBatchSize = 256;
    static constexpr SizeType32 kSimDefaultMaxNumTokens = 8192;

    ExecutorConfig() = default;

    [[nodiscard]] SizeType32 getMaxBeamWidth() const { return mMaxBeamWidth; }
    [[nodiscard]] SchedulerConfig getSchedulerConfig() const { return mSchedulerConfig; }
    [[nodiscard]] KvCacheConfig getKvCacheConfig() const { return mKvCacheConfig; }
    [[nodiscard]] SchedulerConfig& getSchedulerConfigRef() { return mSchedulerConfig; }
    [[nodiscard]] KvCacheConfig& getKvCacheConfigRef() { return mKvCacheConfig; }
    [[nodiscard]] bool getEnableChunkedContext() const { return mEnableChunkedContext; }
    [[nodiscard]] SizeType32 getIterStatsMaxIterations() const { return mIterStatsMaxIterations; }
    [[nodiscard]] SizeType32 getRequestStatsMaxIterations() const { return mRequestStatsMaxIterations; }
    [[nodiscard]] BatchingType getBatchingType() const { return mBatchingType; }
    [[nodiscard]] std::optional<SizeType32> getMaxBatchSize() const { return mMaxBatchSize; }
    [[nodiscard]] std::optional<SizeType32> getMaxNumTokens() const { return mMaxNumTokens; }
    [[nodiscard]] std::optional<SizeType32> getMaxQueueSize() const { return mMaxQueueSize; }

    void setMaxBeamWidth(SizeType32 maxBeamWidth) { mMaxBeamWidth = maxBeamWidth; }
    void setSchedulerConfig(SchedulerConfig const& schedulerConfig) { mSchedulerConfig = schedulerConfig; }
    void setKvCacheConfig(KvCacheConfig const& kvCacheConfig) { mKvCacheConfig = kvCacheConfig; }
    void setEnableChunkedContext(bool enableChunkedContext) { mEnableChunkedContext = enableChunkedContext; }
    void setIterStatsMaxIterations(SizeType32 n) { mIterStatsMaxIterations = n; }
    void setRequestStatsMaxIterations(SizeType32 n) { mRequestStatsMaxIterations = n; }
    void setBatchingType(BatchingType batchingType) { mBatchingType = batchingType; }
    void setMaxBatchSize(SizeType32 maxBatchSize) { mMaxBatchSize = maxBatchSize; }
    void setMaxNumTokens(SizeType32 maxNumTokens) { mMaxNumTokens = maxNumTokens; }
    /// Bound on the waiting queue (requests accepted but not yet admitted to the batch); nullopt or a
    /// value <= 0 means unbounded.
    void setMaxQueueSize(std::optional<SizeType32> const& maxQueueSize) { mMaxQueueSize = maxQueueSize; }

private:
    SizeType32 mMaxBeamWidth{1};
    SchedulerConfig mSchedulerConfig;
    KvCacheConfig mKvCacheConfig;
    bool mEnableChunkedContext{true};
    SizeType32 mIterStatsMaxIterations{kDefaultIterStatsMaxIterations};
    SizeType32 mRequestStatsMaxIterations{kDefaultRequestStatsMaxIterations};
    BatchingType mBatchingType{BatchingType::kINFLIGHT};
    std::optional<SizeType32> mMaxBatchSize;
    std::optional<SizeType32> mMaxNumTokens;
    std::optional<SizeType32> mMaxQueueSize;
};

/// Injected faults (native/sim/faults.h, docs/simulator.md "Faults"): seeded and deterministic, all off by
/// default. An iteration number K counts the executor's iterations from 0 (IterationStats::iter).
struct SimFaultConfig
{
    /// Seed of every fault draw (which requests fail, which iterations stall or slow down).
    std::uint64_t seed{0};
    /// Probability that a request fails: it gets an error response at an output position drawn uniformly
    /// from [0, maxTokens).
    double requestErrorProbability{0.0};
    /// Length of an injected stall, in real milliseconds: the executor thread hangs (no iteration, no
    /// response, cancellations wait), as a GPU worker does in an NCCL or kernel hang.
    double stallMs{0.0};
    /// Stall at this iteration (-1: never).
    std::int64_t stallAtIteration{-1};
    /// Stall after each iteration with this probability.
    double stallProbability{0.0};
    /// At this iteration the forward step throws (-1: never): every request in flight gets TensorRT-LLM's
    /// "Encountered an error in forwardAsync function" error, and so does every later one (the error sticks,
    /// as a CUDA error does).
    std::int64_t fatalAtIteration{-1};
    /// With this probability an iteration's modelled latency is multiplied by slowIterationFactor.
    double slowIterationProbability{0.0};
    double slowIterationFactor{1.0};
    /// At this iteration the KV cache publishes kvEventBurstSize extra events (-1: never): Stored / Removed pairs
    /// of blocks no request holds, enough to overflow a small event buffer.
    std::int64_t kvEventBurstAtIteration{-1};
    SizeType32 kvEventBurstSize{0};
};

/// What the simulator models in place of an engine. All times are milliseconds of modelled GPU time.
struct SimConfig
{
    enum class OutputLengthMode
    {
        /// Every request runs to maxTokens (finish reason LENGTH) unless a stop word ends it.
        kMaxTokens = 0,
        /// A request with an endId emits the end id after a geometrically distributed number of tokens
        /// with mean meanOutputTokens (deterministic per seed and prompt), capped by maxTokens.
        /// Requests without an endId run to maxTokens.
        kEndIdGeometric = 1,
    };

    // --- engine shape ---
    SizeType32 tokensPerBlock{32};
    /// KV blocks on the GPU when KvCacheConfig::maxTokens is unset.
    SizeType32 numKvBlocks{4096};
    /// Limit on input + maxTokens; longer requests get an error response. Also the events' windowSize.
    SizeType32 maxSeqLen{8192};
    SizeType32 vocabSize{32000};

    // --- output lengths and tokens ---
    OutputLengthMode outputLengthMode{OutputLengthMode::kEndIdGeometric};
    double meanOutputTokens{128.0};
    /// Base seed; a request without SamplingConfig::seed uses this one.
    std::uint64_t seed{0};

    // --- performance model (perf_model.h): when set, iteration times, the KV capacity, the reported memory and
    // (when ExecutorConfig leaves them unset) maxBatchSize / maxNumTokens come from a model on a GPU, and the
    // configured latencies below are not used ---
    std::optional<PerfModelConfig> perfModel;

    // --- attention data parallelism: ranks with their own KV pool, scheduler and batch (docs/simulator.md) ---
    SizeType32 attentionDp{1};

    // --- timing model (REFERENCE.md section 5) ---
    /// prefill ms = prefillA * N^2 + prefillB * N + prefillC for N new (uncached) tokens in the iteration.
    double prefillA{4.209989e-07};
    double prefillB{1.518344e-02};
    double prefillC{1.650142e+01};
    /// decode ms = max(decodeMinMs, decodeD2 * x^2 + decodeD1 * x + decodeD0), x = active KV tokens / capacity.
    double decodeD2{-25.74};
    double decodeD1{54.01};
    double decodeD0{5.74};
    double decodeMinMs{1.0};
    /// Configured latencies: bytes per second of host <-> GPU copies (KV onboard / offload).
    double hostTransferBytesPerS{50e9};
    /// Configured latencies: ms to load one LoRA adapter into the device cache.
    double loraLoadMs{2.0};
    /// Modelled time is divided by this (> 0).
    double speedupRatio{1.0};
    /// true: the clock jumps by the modelled latency without sleeping; false: the executor thread sleeps
    /// the modelled latency on the real steady clock.
    bool virtualClock{false};
    /// Closed-loop pacing (virtual clock only): after an iteration in which any request finished, the
    /// executor holds the clock (starts no other iteration) until Executor::resumeClock(), so the client can
    /// enqueue replacements arriving at the finished requests' last token time. See docs/simulator.md "Pacing".
    bool lockstep{false};

    // --- simulated memory (reported in IterationStats; nothing is allocated) ---
    std::size_t modelSizeBytes{16ull << 30};
    /// Bytes of one KV block (default: 32 tokens of an 8B Llama-class model in fp16, 128 KiB per token).
    std::size_t kvBytesPerBlock{4ull << 20};
    std::size_t cpuMemUsageBytes{2ull << 30};
    std::size_t pinnedMemUsageBytes{256ull << 20};

    // --- speculative decoding (off when specDraftLength == 0) ---
    SizeType32 specDraftLength{0};
    /// Probability that each draft token is accepted, given the previous one was.
    double specAcceptanceProbability{0.7};
    /// Extra modelled ms per iteration per draft token when any generation request drafts.
    double specDraftMsPerToken{0.5};

    // --- injected faults (off by default) ---
    SimFaultConfig faults;
    // --- LoRA adapters (Request::setLoraConfig) ---
    /// Adapters the device cache of each rank holds; a request whose adapter cannot be loaded (every cached
    /// adapter is in use) waits.
    SizeType32 loraMaxAdapters{4};
    /// Rank of the adapters (their size, for the performance model's load time).
    SizeType32 loraRank{16};

    // --- self-checks (tests) ---
    /// Verify the cache and scheduler invariants at every iteration (Executor::getInvariantViolations).
    bool checkInvariants{false};
    /// Keep every iteration's work (Executor::takeRecordedWork), for the performance model's calibration.
    bool recordWork{false};
};

} // namespace trtllm_sim::executor
