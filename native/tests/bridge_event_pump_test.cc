// The bridge's KV event pump over an executor shaped like TensorRT-LLM's where it differs from the simulator:
// it hands out a KV event manager even when its event buffer is 0, and that manager's getLatestEvents then
// returns an empty deque at once, whatever the timeout (BlockManager::getLatestEvents without an event manager).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include "bridge/bridge.h"
#include "wrapped_sim_api.h"

namespace bridge = trtllm_metrics::bridge;
namespace sim = trtllm_sim::executor;
using namespace std::chrono_literals;

namespace trtllm_shaped {

// Counts its polls and never waits, as TensorRT-LLM's manager does without an event buffer.
class ImmediateEventManager {
public:
    explicit ImmediateEventManager(std::atomic<int>& polls)
        : mPolls(polls) {}
    std::deque<sim::KVCacheEvent> getLatestEvents(std::optional<std::chrono::milliseconds> = std::nullopt) {
        ++mPolls;
        return {};
    }

private:
    std::atomic<int>& mPolls;
};

// The simulator, but for its event manager (which hides the simulator's).
class Executor : public sim::Executor {
public:
    Executor(std::atomic<int>& polls, sim::SimConfig const& simConfig, sim::ExecutorConfig const& config)
        : sim::Executor(simConfig, sim::ModelType::kDECODER_ONLY, config),
          mPolls(polls) {}
    std::optional<std::shared_ptr<ImmediateEventManager>> getKVCacheEventManager() const {
        return std::make_shared<ImmediateEventManager>(mPolls);
    }

private:
    std::atomic<int>& mPolls;
};

}  // namespace trtllm_shaped

struct TrtllmShapedApi : trtllm_metrics::tests::WrappedSimApi<trtllm_shaped::Executor> {
    using KVCacheEventManager = trtllm_shaped::ImmediateEventManager;
};

namespace {

// Starts a bridge with the given event buffer, completes one flush (every pump has polled once) and stops it;
// returns how often the event manager was polled.
int pollsWithEventBuffer(std::size_t eventBufferCapacity, std::size_t* reportedCapacity) {
    bridge::steadyEpochNs();
    std::atomic<int> polls{0};
    sim::SimConfig simConfig;
    simConfig.virtualClock = true;
    bridge::BridgeOptions options;
    options.eventBufferCapacity = eventBufferCapacity;
    bridge::Bridge<TrtllmShapedApi> b(std::make_unique<trtllm_shaped::Executor>(polls, simConfig, sim::ExecutorConfig()),
                                      options, nullptr);
    *reportedCapacity = b.eventBufferCapacity();
    b.start();
    std::uint64_t const ticket = b.requestFlush();
    auto const deadline = std::chrono::steady_clock::now() + 10s;
    while (b.flushedThrough() < ticket && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_GE(b.flushedThrough(), ticket) << "a flush completes with or without an event pump";
    b.stop(0ms);
    return polls.load();
}

}  // namespace

TEST(BridgeEventPump, NoEventBufferMeansNoEventPump) {
    std::size_t reported = 1;
    EXPECT_EQ(pollsWithEventBuffer(0, &reported), 0) << "a manager that never waits must not be polled in a loop";
    EXPECT_EQ(reported, 0u);
}

TEST(BridgeEventPump, AnEventBufferIsPolled) {
    std::size_t reported = 0;
    EXPECT_GT(pollsWithEventBuffer(64, &reported), 0);
    EXPECT_EQ(reported, 64u);
}
