#pragma once
// The promises of engine.flush() calls not settled yet, in ticket order (JS thread only). A flush is settled by
// the first delivery that began after the bridge completed its ticket, once onBatch has returned: by then
// everything the executor had produced before the flush has been handed to JS.

#include <napi.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <utility>

namespace trtllm_metrics::napi {

class PendingFlushes {
public:
    void add(std::uint64_t ticket, Napi::Promise::Deferred deferred) { mPending.emplace_back(ticket, deferred); }

    bool empty() const { return mPending.empty(); }

    // Resolves the flushes whose ticket is at most `through`.
    void settle(Napi::Env env, std::uint64_t through) {
        Napi::HandleScope scope(env);
        while (!mPending.empty() && mPending.front().first <= through) {
            Napi::Promise::Deferred deferred = mPending.front().second;
            mPending.pop_front();
            deferred.Resolve(env.Undefined());
        }
    }

    // After the final delivery: nothing is left to wait for.
    void settleAll(Napi::Env env) { settle(env, std::numeric_limits<std::uint64_t>::max()); }

    // The environment is going away: no JS can run any more, the promises are dropped with it.
    void drop() { mPending.clear(); }

private:
    std::deque<std::pair<std::uint64_t, Napi::Promise::Deferred>> mPending;
};

}  // namespace trtllm_metrics::napi
