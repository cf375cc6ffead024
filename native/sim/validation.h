// What the executor accepts. Its configuration: validateConfig throws TllmException on an invalid one (the
// executor library's own contract, as TensorRT-LLM checks its config) and derives the limits used everywhere.
// Each request: RequestIntake::validate says why one is invalid (it is answered by an error Response, not a
// throw), and makeLlmRequest builds the executor's internal state of a valid one.
#pragma once

#include "sim/clock.h"
#include "sim/config.h"
#include "sim/llm_request.h"
#include "sim/request.h"
#include "sim/token_sampler.h"
#include "sim/types.h"

#include <memory>
#include <string>

namespace trtllm_sim::executor
{

/// Limits derived from the configuration, validated once.
struct Limits
{
    SizeType32 numBlocks{0};
    SizeType32 tokensPerBlock{0};
    SizeType32 maxBatchSize{0};
    SizeType32 maxNumTokens{0};
    SizeType32 maxQueueSize{0}; // 0 = unbounded
    CapacitySchedulerPolicy policy{CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT};
    bool staticBatching{false};
};

/// Throws common::TllmException("Invalid simulator configuration: ...") for an invalid configuration.
Limits validateConfig(SimConfig const& sim, ModelType modelType, ExecutorConfig const& config);

class RequestIntake
{
public:
    /// Every argument must outlive the intake (they are members of the executor that owns it).
    RequestIntake(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits,
        TokenSampler const& sampler, SimClock const& clock, bool blockReuse);

    /// Empty when the request can be simulated, else why not (the text of its error Response).
    [[nodiscard]] std::string validate(Request const& request) const;

    /// The executor's state of a valid request, id unset. Its enqueue stamp is its scheduled arrival, or now.
    [[nodiscard]] std::unique_ptr<LlmRequest> makeLlmRequest(Request const& request) const;

private:
    SimConfig const& mSim;
    ExecutorConfig const& mConfig;
    Limits const& mLimits;
    TokenSampler const& mSampler;
    SimClock const& mClock;
    bool const mBlockReuse;
};

} // namespace trtllm_sim::executor
