// What one finished-request record costs the thread that hands it off (the bridge's pump thread, which in
// TensorRT-LLM sits right behind the executor): push into the drop-oldest ring plus the coalesced wake-up
// check, while another thread drains concurrently as the JS thread would. Prints ns per record.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bridge/record_ring.h"
#include "bridge/request_record.h"

using namespace trtllm_metrics::bridge;

int main() {
    constexpr std::size_t kRecords = 20'000'000;
    for (std::size_t batch : {1, 16, 64}) {
        RecordRing ring(65536);
        std::atomic<bool> wakePending{false};
        std::atomic<bool> done{false};
        std::uint64_t wakes = 0;
        std::thread consumer([&] {
            std::vector<double> scratch;
            scratch.reserve(65536 * kRecordStride);
            while (!done.load(std::memory_order_relaxed) || ring.size() > 0) {
                if (!wakePending.load()) {
                    std::this_thread::yield();
                    continue;
                }
                wakePending.store(false);
                scratch.clear();
                ring.drain([&](RequestRecord const* first, std::size_t n) {
                    scratch.insert(scratch.end(), first->v, first->v + n * kRecordStride);
                });
            }
        });
        std::vector<RequestRecord> items(batch);
        for (std::size_t i = 0; i < batch; ++i) items[i].v[kRequestId] = static_cast<double>(i);
        auto const t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < kRecords; i += batch) {
            ring.pushBatch(items.begin(), items.end());
            if (!wakePending.exchange(true)) ++wakes;
        }
        auto const ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        done.store(true);
        consumer.join();
        auto c = ring.counters();
        std::printf("handoff batch=%-3zu %.1f ns/record  (%zu records, %llu wake-ups, dropped %llu, delivered %llu)\n", batch,
                    ns / static_cast<double>(kRecords), kRecords, static_cast<unsigned long long>(wakes),
                    static_cast<unsigned long long>(c.dropped), static_cast<unsigned long long>(c.delivered));
    }
    return 0;
}
