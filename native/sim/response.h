// Responses: RequestPerfMetrics, Result and Response (same member names as tensorrt_llm::executor).
#pragma once

#include "sim/types.h"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace trtllm_sim::executor
{

/// Per-request performance metrics. Time points are on the simulator's clock, which is
/// std::chrono::steady_clock (the real one, or a virtual one that starts at the real steady time of the
/// executor's construction). A default-constructed TimePoint (count 0) means "not set".
struct RequestPerfMetrics
{
    using TimePoint = std::chrono::time_point<std::chrono::steady_clock>;

    struct TimingMetrics
    {
        TimePoint arrivalTime;
        TimePoint firstScheduledTime;
        TimePoint firstTokenTime;
        TimePoint lastTokenTime;
        TimePoint kvCacheTransferStart;
        TimePoint kvCacheTransferEnd;
        mutable std::size_t kvCacheSize = 0;
    };

    struct KvCacheMetrics
    {
        SizeType32 numTotalAllocatedBlocks{0};
        SizeType32 numNewAllocatedBlocks{0};
        SizeType32 numReusedBlocks{0};
        SizeType32 numMissedBlocks{0};
        FloatType kvCacheHitRate{0.f};
    };

    struct SpeculativeDecodingMetrics
    {
        FloatType acceptanceRate{0.f};
        SizeType32 totalAcceptedDraftTokens{0};
        SizeType32 totalDraftTokens{0};
    };

    TimingMetrics timingMetrics;
    KvCacheMetrics kvCacheMetrics;
    SpeculativeDecodingMetrics speculativeDecoding;
    std::optional<IterationType> firstIter;
    std::optional<IterationType> lastIter;
    std::optional<IterationType> iter;
};

struct Result
{
    bool isFinal{false};
    /// [beam][token]; streaming results carry only the tokens produced since the previous response.
    BeamTokens outputTokenIds;
    std::vector<FinishReason> finishReasons;
    SizeType32 sequenceIndex{0};
    bool isSequenceFinal{false};
    SizeType32 decodingIter{0};
    float avgDecodedTokensPerIter{0.f};
    /// OutputConfig::returnLogProbs: the cumulative log probability of each beam ([beam]) and the log
    /// probability of each returned generated token ([beam][token], the tokens of this response).
    std::optional<VecLogProbs> cumLogProbs;
    std::optional<std::vector<VecLogProbs>> logProbs;
    std::optional<RequestPerfMetrics> requestPerfMetrics;
};

class Response
{
public:
    Response(IdType requestId, std::string errorMsg, std::optional<IdType> clientId = std::nullopt)
        : mRequestId(requestId)
        , mClientId(clientId)
        , mPayload(std::move(errorMsg))
    {
    }

    Response(IdType requestId, Result result, std::optional<IdType> clientId = std::nullopt)
        : mRequestId(requestId)
        , mClientId(clientId)
        , mPayload(std::move(result))
    {
    }

    [[nodiscard]] IdType getRequestId() const { return mRequestId; }
    [[nodiscard]] std::optional<IdType> getClientId() const { return mClientId; }
    [[nodiscard]] bool hasError() const { return std::holds_alternative<std::string>(mPayload); }

    /// The error message; throws TllmException when the response carries a result.
    [[nodiscard]] std::string const& getErrorMsg() const
    {
        if (auto const* msg = std::get_if<std::string>(&mPayload))
        {
            return *msg;
        }
        throw common::TllmException("Cannot get the error message of a response without an error");
    }

    /// The result; throws TllmException when the response carries an error.
    [[nodiscard]] Result const& getResult() const
    {
        if (auto const* result = std::get_if<Result>(&mPayload))
        {
            return *result;
        }
        throw common::TllmException("Cannot get the result of a response with an error: " + getErrorMsg());
    }

private:
    IdType mRequestId;
    std::optional<IdType> mClientId;
    std::variant<Result, std::string> mPayload;
};

} // namespace trtllm_sim::executor
