// The responses ready for callers of awaitResponses: the executor thread publishes them, any thread waits for
// and takes them (all, one request's, or several requests').
#pragma once

#include "sim/response.h"
#include "sim/types.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace trtllm_sim::executor
{

class ResponseQueue
{
public:
    using Timeout = std::optional<std::chrono::milliseconds>;

    /// Appends the responses (moved out; the vector is left empty) and wakes the waiters.
    void publish(std::vector<Response>& responses);

    /// Waits until any response is ready (or the timeout passes, or close) and takes all ready ones.
    std::vector<Response> takeAll(Timeout const& timeout);
    /// Same, for one request id.
    std::vector<Response> take(IdType requestId, Timeout const& timeout);
    /// Waits until any of the ids has a response; takes the ready responses per id, in the ids' order.
    std::vector<std::vector<Response>> take(std::vector<IdType> const& requestIds, Timeout const& timeout);

    [[nodiscard]] SizeType32 numReady(std::optional<IdType> const& requestId) const;

    /// Shutdown: wakes every waiter for good; they return what is ready.
    void close();

private:
    template <class Pred>
    void waitFor(std::unique_lock<std::mutex>& lock, Timeout const& timeout, Pred ready);
    template <class Match, class Sink>
    void extractLocked(Match match, Sink sink);

    mutable std::mutex mMutex;
    std::condition_variable mCv;
    std::deque<Response> mResponses;
    std::unordered_map<IdType, SizeType32> mCount; // ready responses per request id
    bool mClosed{false};
};

} // namespace trtllm_sim::executor
