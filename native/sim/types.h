// Basic aliases, enums and the exception type of the simulated executor.
// Names, types and enumerator values mirror tensorrt_llm::executor so that code written against
// the real headers compiles unchanged against this namespace.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace trtllm_sim::common
{

/// Thrown for API misuse: calls after shutdown, a full waiting queue, an invalid configuration.
class TllmException : public std::runtime_error
{
public:
    explicit TllmException(std::string const& msg)
        : std::runtime_error(msg)
    {
    }
};

} // namespace trtllm_sim::common

namespace trtllm_sim::runtime
{

using TokenIdType = std::int32_t;
using TokenExtraIdType = std::uint64_t;
using LoraTaskIdType = std::uint64_t;

struct UniqueToken
{
    TokenIdType tokenId;
    TokenExtraIdType tokenExtraId;

    bool operator==(UniqueToken const& other) const noexcept
    {
        return tokenId == other.tokenId && tokenExtraId == other.tokenExtraId;
    }
};

using VecUniqueTokens = std::vector<UniqueToken>;

} // namespace trtllm_sim::runtime

namespace trtllm_sim::executor
{

using SizeType32 = std::int32_t;
using SizeType64 = std::int64_t;
using FloatType = float;
using TokenIdType = std::int32_t;
using VecTokens = std::vector<TokenIdType>;
using VecLogProbs = std::vector<FloatType>;
using BeamTokens = std::vector<VecTokens>;
using IdType = std::uint64_t;
using IterationType = std::uint64_t;
using RandomSeedType = std::uint64_t;
using PriorityType = float;
using MillisecondsType = std::chrono::milliseconds;
using RetentionPriority = SizeType32;

enum class ModelType
{
    kDECODER_ONLY = 0,
    kENCODER_ONLY = 1,
    kENCODER_DECODER = 2,
};

enum class CapacitySchedulerPolicy
{
    kMAX_UTILIZATION = 0,
    kGUARANTEED_NO_EVICT = 1,
    kSTATIC_BATCH = 2,
};

enum class FinishReason
{
    kNOT_FINISHED = 0,
    kEND_ID = 1,
    kSTOP_WORDS = 2,
    kLENGTH = 3,
    kTIMED_OUT = 4,
    kCANCELLED = 5,
};

enum class BatchingType
{
    kSTATIC = 0,
    kINFLIGHT = 1,
};

} // namespace trtllm_sim::executor
