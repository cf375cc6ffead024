#pragma once
// The executor API traits of the simulator: the names Bridge<Api> uses, bound to trtllm_sim::executor.

#include "backends/sim/sim_pacing.h"
#include "sim/executor_api.h"

namespace trtllm_metrics::backends {

struct SimApi {
    using Executor = trtllm_sim::executor::Executor;
    using ExecutorConfig = trtllm_sim::executor::ExecutorConfig;
    using KvCacheConfig = trtllm_sim::executor::KvCacheConfig;
    using SchedulerConfig = trtllm_sim::executor::SchedulerConfig;
    using CapacitySchedulerPolicy = trtllm_sim::executor::CapacitySchedulerPolicy;
    using Request = trtllm_sim::executor::Request;
    using SamplingConfig = trtllm_sim::executor::SamplingConfig;
    using OutputConfig = trtllm_sim::executor::OutputConfig;
    using LoraConfig = trtllm_sim::executor::LoraConfig;
    using Response = trtllm_sim::executor::Response;
    using IterationStats = trtllm_sim::executor::IterationStats;
    using KVCacheEvent = trtllm_sim::executor::KVCacheEvent;
    using KVCacheEventManager = trtllm_sim::executor::KVCacheEventManager;
    using IdType = trtllm_sim::executor::IdType;
    using VecTokens = trtllm_sim::executor::VecTokens;
    // Scheduled arrivals and the clock hold (docs/simulator.md "Pacing").
    using Pacing = SimPacing;

    // Enqueue stamps use the simulator's clock, which may be virtual (ahead of the real steady clock).
    static auto now(Executor const& executor) { return executor.now(); }
    static int initialTokensPerBlock(Executor const& executor) { return executor.getTokensPerBlock(); }
};

}  // namespace trtllm_metrics::backends
