// The executor thread's requests: it owns every accepted live request (by id). The ranks' waiting queues and
// batches (rank.h) point into it. Executor thread only.
#pragma once

#include "sim/llm_request.h"
#include "sim/types.h"

#include <memory>
#include <unordered_map>

namespace trtllm_sim::executor
{

struct RequestPool
{
    std::unordered_map<IdType, std::unique_ptr<LlmRequest>> requests;
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
        numWithDeadline = 0;
    }
};

} // namespace trtllm_sim::executor
