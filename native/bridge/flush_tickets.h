#pragma once
// flush(): make the pumps poll the executor now, and know when what it had produced is in the bridge's queues.
// A flush issues a ticket and wakes the pumps. Each pump reads the newest ticket before it polls the executor
// and marks it done once it has pushed what that poll returned; a pump that sees a ticket newer than its last
// one polls without waiting. When every pump has marked a ticket, everything the executor had produced when
// the ticket was issued has been pushed: that poll began after the ticket, and took all that was ready.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace trtllm_metrics::bridge {

class FlushTickets {
public:
    enum Pump : std::size_t { kResponses, kStats, kEvents, kNumPumps };

    // Without an event manager there is no event pump: it never holds a flush back.
    explicit FlushTickets(bool withEvents) {
        if (!withEvents) mDone[kEvents].store(kAllDone);
    }

    // Any thread: a new ticket.
    std::uint64_t issue() { return mIssued.fetch_add(1) + 1; }

    // The pump, before it polls: the ticket its poll will answer for.
    std::uint64_t newest() const { return mIssued.load(); }
    // The pump: a ticket newer than its last poll waits for it (poll now, without waiting in the executor).
    bool behind(Pump pump, std::uint64_t ticket) const { return ticket > mDone[pump].load(); }
    // The pump, after pushing what its poll returned. True when that completed a newer ticket.
    bool markDone(Pump pump, std::uint64_t ticket) {
        if (!behind(pump, ticket)) return false;
        mDone[pump].store(ticket);
        return true;
    }
    // After the pumps stopped and the bridge read the executor one last time: every ticket is done.
    void markAllDone(std::uint64_t ticket) {
        for (auto& done : mDone)
            if (done.load() < ticket) done.store(ticket);
    }

    // Any thread: every ticket up to this one is done.
    std::uint64_t completed() const {
        std::uint64_t c = kAllDone;
        for (auto const& done : mDone) c = std::min(c, done.load());
        return c;
    }

private:
    static constexpr std::uint64_t kAllDone = std::numeric_limits<std::uint64_t>::max();

    std::atomic<std::uint64_t> mIssued{0};
    std::array<std::atomic<std::uint64_t>, kNumPumps> mDone{};
};

}  // namespace trtllm_metrics::bridge
