// Injected faults (docs/simulator.md "Faults"): what SimConfig::faults asks the executor to do wrong, decided by
// pure functions of the fault seed and a request id or an iteration number, so a run repeats exactly. All off by
// default. The executor thread asks this room; it never touches the executor's state itself.
#pragma once

#include "sim/config.h"
#include "sim/kv_cache_events.h"
#include "sim/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace trtllm_sim::executor
{

class FaultInjector
{
public:
    /// TensorRT-LLM's text for an exception in the forward step (executorImpl.cpp terminateActiveRequests): the
    /// prefix the bridge recognises as an executor failure rather than one request's error.
    static constexpr char const* kForwardErrorPrefix = "Encountered an error in forwardAsync function: ";

    explicit FaultInjector(SimFaultConfig const& config);

    /// The output position at which request `id` fails (its error response replaces the token there), or -1.
    [[nodiscard]] std::int64_t requestErrorAt(IdType id, SizeType32 maxTokens) const noexcept;
    /// The text of that error response.
    [[nodiscard]] static std::string requestErrorMessage(IdType id, std::int64_t position);

    /// Whether the forward step of iteration `iter` throws; from fatalAtIteration on, every one does.
    [[nodiscard]] bool fatalAt(IterationType iter) const noexcept;
    /// What the forward step throws then (without the prefix).
    [[nodiscard]] std::string fatalMessage() const;

    /// Real milliseconds the executor thread hangs in iteration `iter` (0: none).
    [[nodiscard]] double stallMsAt(IterationType iter) const noexcept;
    /// Factor on the modelled latency of iteration `iter` (1: a normal iteration).
    [[nodiscard]] double slowFactorAt(IterationType iter) const noexcept;

    /// Appends the KV-event burst of iteration `iter` (nothing unless it is kvEventBurstAtIteration): Stored /
    /// Removed pairs of full blocks that no request holds, so the cache a router rebuilds from them is unchanged.
    void appendKvEventBurst(
        IterationType iter, SizeType32 tokensPerBlock, SizeType32 vocabSize, std::vector<KVCacheEventData>& out) const;

private:
    /// Uniform in (0, 1], a pure function of (seed, stream, n).
    [[nodiscard]] double draw(std::uint64_t stream, std::uint64_t n) const noexcept;

    SimFaultConfig const mConfig;
};

} // namespace trtllm_sim::executor
