// One attention-DP rank (docs/simulator.md "Attention data parallelism"): its own KV pool, scheduler, LoRA
// adapter cache, waiting queue and batch. Without attention DP the executor has one rank. Every rank runs each
// iteration in lockstep with the others; requests are assigned to a rank when they arrive. Executor thread only.
#pragma once

#include "sim/iteration_work.h"
#include "sim/kv_cache_manager.h"
#include "sim/llm_request.h"
#include "sim/lora_cache.h"
#include "sim/scheduler.h"
#include "sim/stats.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

namespace trtllm_sim::executor
{

struct Rank
{
    Rank(SizeType32 rankIndex, KvCacheManager kvCache, Scheduler::Limits const& schedulerLimits, SizeType32 maxAdapters)
        : index(rankIndex)
        , kv(std::move(kvCache))
        , scheduler(schedulerLimits)
        , lora(maxAdapters)
    {
    }

    SizeType32 const index;
    KvCacheManager kv;
    Scheduler scheduler;
    LoraCache lora;
    /// Higher priority first, FCFS among equals; paused requests keep their place at the front.
    std::deque<LlmRequest*> waiting;
    std::vector<LlmRequest*> active;

    // The iteration in progress.
    std::vector<LlmRequest*> admitted;
    std::vector<LlmRequest*> paused;
    std::vector<LlmRequest*> finished;
    MicroBatch batch;
    IterationWork work;
    /// The cache's counters when the iteration started (its per-iteration deltas).
    KvCacheCounters countersAtStart;
    /// Requests in the batch this iteration (those that ended in it included).
    SizeType32 numActive{0};
    /// Sum over the admitted requests of their time from enqueue to admission, ms.
    double queueLatencyMs{0.0};
    /// Tokens decoded by generation requests.
    SizeType64 genDecoded{0};
    SpecDecodingStats spec;
    /// Requests of the current static batch (STATIC_BATCH), for emptyGenSlots.
    SizeType32 staticBatchSize{0};

    /// Requests waiting or running: what request assignment balances.
    [[nodiscard]] std::size_t load() const { return waiting.size() + active.size(); }

    void insertWaiting(LlmRequest* r)
    {
        if (waiting.empty() || waiting.back()->priority >= r->priority)
        {
            waiting.push_back(r);
            return;
        }
        auto const pos = std::find_if(waiting.begin(), waiting.end(),
            [&](LlmRequest const* w) { return !w->paused && w->priority < r->priority; });
        waiting.insert(pos, r);
    }

    /// A running request leaves the batch (finished, cancelled, paused): its KV blocks and adapter pin go.
    void releaseResources(LlmRequest& r)
    {
        kv.release(r.kv);
        if (r.loraPinned)
        {
            lora.release(*r.loraTaskId);
            r.loraPinned = false;
        }
    }

    /// Starts the iteration's lists afresh.
    void beginIteration()
    {
        admitted.clear();
        paused.clear();
        finished.clear();
        batch = MicroBatch{};
        work = IterationWork{};
        queueLatencyMs = 0.0;
        genDecoded = 0;
        spec = SpecDecodingStats{};
        countersAtStart = kv.getCounters();
    }
};

using Ranks = std::vector<std::unique_ptr<Rank>>;

} // namespace trtllm_sim::executor
