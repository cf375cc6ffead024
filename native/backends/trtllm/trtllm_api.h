#pragma once
// The executor API traits of TensorRT-LLM: the names Bridge<Api> uses, bound to tensorrt_llm::executor.
// Compiled only when CMake found TensorRT-LLM (TRTLLM_ROOT); checked without a GPU by scripts/check-trtllm-api.sh.

#include <chrono>

#include "bridge/pacing.h"
#include "tensorrt_llm/executor/executor.h"

namespace trtllm_metrics::backends {

struct TrtllmApi {
    using Executor = tensorrt_llm::executor::Executor;
    using ExecutorConfig = tensorrt_llm::executor::ExecutorConfig;
    using KvCacheConfig = tensorrt_llm::executor::KvCacheConfig;
    using SchedulerConfig = tensorrt_llm::executor::SchedulerConfig;
    using CapacitySchedulerPolicy = tensorrt_llm::executor::CapacitySchedulerPolicy;
    using Request = tensorrt_llm::executor::Request;
    using SamplingConfig = tensorrt_llm::executor::SamplingConfig;
    using OutputConfig = tensorrt_llm::executor::OutputConfig;
    using LoraConfig = tensorrt_llm::executor::LoraConfig;
    using Response = tensorrt_llm::executor::Response;
    using IterationStats = tensorrt_llm::executor::IterationStats;
    using KVCacheEvent = tensorrt_llm::executor::KVCacheEvent;
    using KVCacheEventManager = tensorrt_llm::executor::KVCacheEventManager;
    using IdType = tensorrt_llm::executor::IdType;
    using VecTokens = tensorrt_llm::executor::VecTokens;
    // No scheduled arrivals, no clock hold: JS rejects them for backend "trtllm", and the bridge would answer
    // ERR_TRTLLM_UNSUPPORTED.
    using Pacing = bridge::UnsupportedPacing;

    // The executor stamps RequestPerfMetrics with std::chrono::steady_clock; so do we at enqueue.
    static auto now(Executor const&) { return std::chrono::steady_clock::now(); }
    // Not exposed by the executor API: learned from the first iteration stats (KvCacheStats::tokensPerBlock).
    static int initialTokensPerBlock(Executor const&) { return 0; }
};

}  // namespace trtllm_metrics::backends
