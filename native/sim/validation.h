// What the executor accepts. Its configuration: validateConfig throws TllmException on an invalid one (the
// executor library's own contract, as TensorRT-LLM checks its config) and derives the limits used everywhere.
// Each request: RequestIntake::validate says why one is invalid (it is answered by an error Response, not a
// throw), and makeLlmRequest builds the executor's internal state of a valid one.
#pragma once

#include "sim/clock.h"
#include "sim/config.h"
#include "sim/llm_request.h"
#include "sim/perf_model.h"
#include "sim/request.h"
#include "sim/token_sampler.h"
#include "sim/types.h"

#include <memory>
#include <optional>
#include <string>

namespace trtllm_sim::executor
{

/// Limits derived from the configuration, validated once. Block counts, batch limits and memory are per
/// attention-DP rank.
struct Limits
{
    SizeType32 numBlocks{0};
    /// Blocks of the host tier (0: none).
    SizeType32 numHostBlocks{0};
    SizeType32 tokensPerBlock{0};
    SizeType32 maxBatchSize{0};
    SizeType32 maxNumTokens{0};
    SizeType32 maxQueueSize{0}; // 0 = unbounded
    SizeType32 attentionDp{1};
    CapacitySchedulerPolicy policy{CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT};
    bool staticBatching{false};
    /// GPU memory besides the KV cache (weights, runtime reserve) and of one KV block, on one GPU.
    double modelSizeBytes{0};
    double kvBytesPerBlock{0};
    /// One LoRA adapter on one GPU (performance model; 0 otherwise).
    double adapterBytes{0};
};

/// The performance model of the configuration, or nullopt when SimConfig::perfModel is unset. Throws
/// common::TllmException("Invalid simulator configuration: ...") when it cannot be built.
std::optional<PerfModel> makePerfModel(SimConfig const& sim);

/// Throws common::TllmException("Invalid simulator configuration: ...") for an invalid configuration.
/// `perf` is the performance model (null without one): it sizes the KV cache and picks unset batch limits.
Limits validateConfig(SimConfig const& sim, ModelType modelType, ExecutorConfig const& config, PerfModel const* perf);

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
