// Request and its parts (SamplingConfig, OutputConfig, KvCacheRetentionConfig).
// Plain value types: constructors and setters never throw for bad values; the executor validates a
// request when it is enqueued and answers an invalid one with an error Response.
#pragma once

#include "sim/types.h"

#include <chrono>
#include <list>
#include <optional>
#include <utility>
#include <vector>

namespace trtllm_sim::executor
{

/// Sampling parameters. The simulator only generates one sequence with beam width 1; the other values
/// are carried (and validated) but do not change the deterministic token stream, except the seed.
class SamplingConfig
{
public:
    explicit SamplingConfig(SizeType32 beamWidth = 1)
        : mBeamWidth(beamWidth)
    {
    }

    [[nodiscard]] SizeType32 getBeamWidth() const { return mBeamWidth; }
    [[nodiscard]] std::optional<RandomSeedType> getSeed() const { return mSeed; }
    [[nodiscard]] std::optional<FloatType> getTemperature() const { return mTemperature; }
    [[nodiscard]] std::optional<SizeType32> getTopK() const { return mTopK; }
    [[nodiscard]] std::optional<FloatType> getTopP() const { return mTopP; }
    [[nodiscard]] std::optional<SizeType32> getNumReturnSequences() const { return mNumReturnSequences; }

    void setBeamWidth(SizeType32 beamWidth) { mBeamWidth = beamWidth; }
    void setSeed(std::optional<RandomSeedType> const& seed) { mSeed = seed; }
    void setTemperature(std::optional<FloatType> const& temperature) { mTemperature = temperature; }
    void setTopK(std::optional<SizeType32> const& topK) { mTopK = topK; }
    void setTopP(std::optional<FloatType> const& topP) { mTopP = topP; }
    void setNumReturnSequences(std::optional<SizeType32> const& numReturnSequences)
    {
        mNumReturnSequences = numReturnSequences;
    }

private:
    SizeType32 mBeamWidth;
    std::optional<RandomSeedType> mSeed;
    std::optional<FloatType> mTemperature;
    std::optional<SizeType32> mTopK;
    std::optional<FloatType> mTopP;
    std::optional<SizeType32> mNumReturnSequences;
};

/// What a Result contains. Only excludeInputFromOutput and returnPerfMetrics change the simulator's
/// output; the logits/log-prob flags are accepted and ignored (no logits are simulated).
class OutputConfig
{
public:
    explicit OutputConfig(bool logProbs = false, bool contextLogits = false, bool generationLogits = false,
        bool excludeInput = false, bool encoderOutput = false, bool perfMetrics = false)
        : returnLogProbs(logProbs)
        , returnContextLogits(contextLogits)
        , returnGenerationLogits(generationLogits)
        , excludeInputFromOutput(excludeInput)
        , returnEncoderOutput(encoderOutput)
        , returnPerfMetrics(perfMetrics)
    {
    }

    bool returnLogProbs;
    bool returnContextLogits;
    bool returnGenerationLogits;
    bool excludeInputFromOutput;
    bool returnEncoderOutput;
    bool returnPerfMetrics;
};

/// Retention priorities of a request's KV blocks (a simplified mirror of the real class: no durations).
/// A block takes the priority of the first token range containing its first token; blocks that start in
/// the generated part take decodeRetentionPriority; others the default (35).
class KvCacheRetentionConfig
{
public:
    static constexpr RetentionPriority kMinRetentionPriority = 0;
    static constexpr RetentionPriority kMaxRetentionPriority = 100;
    static constexpr RetentionPriority kDefaultRetentionPriority = 35;

    struct TokenRangeRetentionConfig
    {
        SizeType32 tokenStart;
        std::optional<SizeType32> tokenEnd;
        RetentionPriority priority;
    };

    KvCacheRetentionConfig()
        : KvCacheRetentionConfig({}, kDefaultRetentionPriority)
    {
    }

    explicit KvCacheRetentionConfig(std::vector<TokenRangeRetentionConfig> const& tokenRangeRetentionPriorities,
        RetentionPriority decodeRetentionPriority = kDefaultRetentionPriority)
        : mTokenRangeRetentionPriorities(tokenRangeRetentionPriorities)
        , mDecodeRetentionPriority(decodeRetentionPriority)
    {
    }

    [[nodiscard]] std::vector<TokenRangeRetentionConfig> const& getTokenRangeRetentionConfigs() const
    {
        return mTokenRangeRetentionPriorities;
    }

    [[nodiscard]] RetentionPriority getDecodeRetentionPriority() const { return mDecodeRetentionPriority; }

private:
    std::vector<TokenRangeRetentionConfig> mTokenRangeRetentionPriorities;
    RetentionPriority mDecodeRetentionPriority;
};

using TokenRangeRetentionConfig = KvCacheRetentionConfig::TokenRangeRetentionConfig;

/// The LoRA adapter of a request, by task id (TensorRT-LLM's LoraConfig also carries the adapter's weights and
/// config tensors for its first use; the simulator models only the identity, the load time and the cache).
class LoraConfig
{
public:
    explicit LoraConfig(IdType taskId)
        : mTaskId(taskId)
    {
    }

    [[nodiscard]] IdType getTaskId() const { return mTaskId; }

private:
    IdType mTaskId;
};

/// One generation request.
class Request
{
public:
    static constexpr PriorityType kDefaultPriority = 0.5f;
    /// The executor's clock type (RequestPerfMetrics::TimePoint).
    using TimePoint = std::chrono::steady_clock::time_point;

    Request(VecTokens inputTokenIds, SizeType32 maxTokens, bool streaming = false,
        SamplingConfig const& samplingConfig = SamplingConfig(), OutputConfig const& outputConfig = OutputConfig(),
        std::optional<SizeType32> const& endId = std::nullopt, std::optional<SizeType32> const& padId = std::nullopt)
        : mInputTokenIds(std::move(inputTokenIds))
        , mMaxTokens(maxTokens)
        , mStreaming(streaming)
        , mSamplingConfig(samplingConfig)
        , mOutputConfig(outputConfig)
        , mEndId(endId)
        , mPadId(padId)
    {
    }

    [[nodiscard]] VecTokens const& getInputTokenIds() const { return mInputTokenIds; }
    [[nodiscard]] SizeType32 getMaxTokens() const { return mMaxTokens; }
    [[nodiscard]] bool getStreaming() const { return mStreaming; }
    [[nodiscard]] SamplingConfig const& getSamplingConfig() const { return mSamplingConfig; }
    [[nodiscard]] OutputConfig const& getOutputConfig() const { return mOutputConfig; }
    [[nodiscard]] std::optional<SizeType32> getEndId() const { return mEndId; }
    [[nodiscard]] std::optional<SizeType32> getPadId() const { return mPadId; }
    [[nodiscard]] std::optional<std::list<VecTokens>> getStopWords() const { return mStopWords; }
    [[nodiscard]] std::optional<IdType> getClientId() const { return mClientId; }
    [[nodiscard]] PriorityType getPriority() const { return mPriority; }
    [[nodiscard]] std::optional<MillisecondsType> getAllottedTimeMs() const { return mAllottedTimeMs; }
    [[nodiscard]] std::optional<KvCacheRetentionConfig> getKvCacheRetentionConfig() const
    {
        return mKvCacheRetentionConfig;
    }
    [[nodiscard]] std::optional<LoraConfig> getLoraConfig() const { return mLoraConfig; }

    void setStreaming(bool streaming) { mStreaming = streaming; }
    void setSamplingConfig(SamplingConfig const& config) { mSamplingConfig = config; }
    void setOutputConfig(OutputConfig const& outputConfig) { mOutputConfig = outputConfig; }
    void setEndId(SizeType32 endId) { mEndId = endId; }
    void setPadId(SizeType32 padId) { mPadId = padId; }
    void setStopWords(std::list<VecTokens> const& stopWords) { mStopWords = stopWords; }
    void setClientId(IdType clientId) { mClientId = clientId; }
    void setPriority(PriorityType priority) { mPriority = priority; }
    void setAllottedTimeMs(MillisecondsType const& allottedTimeMs) { mAllottedTimeMs = allottedTimeMs; }
    void setKvCacheRetentionConfig(KvCacheRetentionConfig const& config) { mKvCacheRetentionConfig = config; }
    void setLoraConfig(LoraConfig const& loraConfig) { mLoraConfig = loraConfig; }

    // ---- simulator-only (tensorrt_llm::executor::Request has no such member; docs/simulator.md "Pacing") ----
    /// Scheduled arrival on the simulator's clock (Executor::now()): the request enters the waiting queue at
    /// the first iteration that starts at or after it, with RequestPerfMetrics arrivalTime = this time; its
    /// allottedTimeMs counts from it. When unset the executor stamps the arrival when it pulls the request.
    void setSimArrivalTime(TimePoint const& arrivalTime) { mSimArrivalTime = arrivalTime; }
    [[nodiscard]] std::optional<TimePoint> getSimArrivalTime() const { return mSimArrivalTime; }

private:
    VecTokens mInputTokenIds;
    SizeType32 mMaxTokens;
    bool mStreaming;
    SamplingConfig mSamplingConfig;
    OutputConfig mOutputConfig;
    std::optional<SizeType32> mEndId;
    std::optional<SizeType32> mPadId;
    std::optional<std::list<VecTokens>> mStopWords;
    std::optional<IdType> mClientId;
    PriorityType mPriority{kDefaultPriority};
    std::optional<MillisecondsType> mAllottedTimeMs;
    std::optional<KvCacheRetentionConfig> mKvCacheRetentionConfig;
    std::optional<LoraConfig> mLoraConfig;
    std::optional<TimePoint> mSimArrivalTime;
};

} // namespace trtllm_sim::executor
