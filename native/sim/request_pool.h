// The executor thread's requests: it owns every accepted live request; the waiting queue (priority order), the
// batch and the lists of the iteration in progress point into it. Executor thread only.
#pragma once

#include "sim/llm_request.h"
#include "sim/types.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

namespace trtllm_sim::executor
{

struct RequestPool
{
    std::unordered_map<IdType, std::unique_ptr<LlmRequest>> requests;
    std::deque<LlmRequest*> waiting;
    std::vector<LlmRequest*> active;
    // The iteration in progress.
    std::vector<LlmRequest*> admitted;
    std::vector<LlmRequest*> paused;
    std::vector<LlmRequest*> finished;
    /// Live requests with an allottedTimeMs (only then are deadlines checked each iteration).
    SizeType32 numWithDeadline{0};

    /// Takes ownership of an accepted request.
    void adopt(std::unique_ptr<LlmRequest> owned)
    {
        if (owned->deadline)
        {
            ++numWithDeadline;
        }
        IdType const id = owned->id;
        requests.emplace(id, std::move(owned));
    }

    /// Higher priority first; FCFS among equals; paused requests keep their place at the front.
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

    /// Destroys a request that has ended (it must be in no list any more).
    void retire(LlmRequest* r)
    {
        if (r->deadline)
        {
            --numWithDeadline;
        }
        IdType const id = r->id; // erasing destroys r
        requests.erase(id);
    }

    /// Drops every request (after a simulator error has answered them all).
    void clear()
    {
        requests.clear();
        waiting.clear();
        active.clear();
        admitted.clear();
        paused.clear();
        finished.clear();
        numWithDeadline = 0;
    }
};

} // namespace trtllm_sim::executor
