#include "napi/testing/firehose.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bridge/record_ring.h"
#include "bridge/request_record.h"
#include "napi/js_options.h"

namespace trtllm_metrics::napi {
namespace {

using namespace trtllm_metrics::bridge;  // the record layout and ring

struct FirehoseRun {
    explicit FirehoseRun(std::size_t capacity) : ring(capacity) {}
    RecordRing ring;
    Napi::Reference<Napi::Float64Array> buffer;
    Napi::ThreadSafeFunction tsfn;
    std::unique_ptr<Napi::Promise::Deferred> deferred;
    std::atomic<bool> wakePending{false};
    std::atomic<bool> producerDone{false};
    std::atomic<std::uint64_t> perItemDelivered{0};
    bool settled = false;
    std::uint64_t records = 0;
    double producerNs = 0;
    std::thread producer;
};

RequestRecord syntheticRecord(std::uint64_t i) {
    RequestRecord r{};
    double const base = 1e9 + static_cast<double>(i) * 1e3;
    r.v[kRequestId] = static_cast<double>(i + 1);
    r.v[kEnqueueTimeNs] = base;
    r.v[kArrivalTimeNs] = base + 5e4;
    r.v[kFirstScheduledTimeNs] = base + 2e6;
    r.v[kFirstTokenTimeNs] = base + 4e7;
    r.v[kLastTokenTimeNs] = base + 9e8;
    r.v[kPromptTokens] = 512;
    r.v[kOutputTokens] = 128;
    r.v[kNumSequences] = 1;
    r.v[kFinishReason] = 1;
    r.v[kFirstIter] = -1;
    r.v[kLastIter] = -1;
    r.v[kFlags] = kFlagHasPerf;
    return r;
}

void settle(Napi::Env env, FirehoseRun& run) {
    if (run.settled) return;
    run.settled = true;
    if (run.producer.joinable()) run.producer.join();
    auto counters = run.ring.counters();
    auto result = Napi::Object::New(env);
    result.Set("produced", Napi::Number::New(env, static_cast<double>(run.records)));
    result.Set("delivered", Napi::Number::New(env, static_cast<double>(counters.delivered + run.perItemDelivered.load())));
    result.Set("dropped", Napi::Number::New(env, static_cast<double>(counters.dropped)));
    result.Set("producerNs", Napi::Number::New(env, run.producerNs));
    run.deferred->Resolve(result);
    run.buffer.Reset();
    run.tsfn.Release();
}

void deliverBatch(Napi::Env env, Napi::Function cb, std::shared_ptr<FirehoseRun> const& run) {
    run->wakePending.store(false);
    bool const done = run->producerDone.load();  // read before draining: nothing is pushed after done
    if (run->buffer.IsEmpty()) run->buffer = Napi::Persistent(Napi::Float64Array::New(env, run->ring.capacity() * kRecordStride));
    Napi::Float64Array arr = run->buffer.Value();
    std::size_t const n = run->ring.drainInto(reinterpret_cast<RequestRecord*>(arr.Data()));
    if (n > 0) {
        try {
            cb.Call({arr, Napi::Number::New(env, static_cast<double>(n))});
        } catch (...) {
        }
    }
    if (done && run->ring.size() == 0) settle(env, *run);
}

}  // namespace

Napi::Value firehose(Napi::CallbackInfo const& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
        throw Napi::TypeError::New(env, "expected (options: object, onBatch: function)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto records = optIntegerIn(o, "records", 1, 1e12);
    if (!records) throw Napi::TypeError::New(env, "records is required");
    std::string mode = optString(o, "mode").value_or("batched");
    if (mode != "batched" && mode != "perItem") throw Napi::RangeError::New(env, "mode must be batched or perItem");
    std::size_t capacity = static_cast<std::size_t>(optIntegerIn(o, "ringCapacity", 1, 1 << 22).value_or(1 << 20));
    std::size_t pushBatch = static_cast<std::size_t>(optIntegerIn(o, "pushBatch", 1, 1 << 20).value_or(64));

    auto run = std::make_shared<FirehoseRun>(capacity);
    run->records = static_cast<std::uint64_t>(*records);
    run->deferred = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    Napi::Promise promise = run->deferred->Promise();
    run->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "trtllm-metrics firehose", 0, 1);

    if (mode == "batched") {
        run->producer = std::thread([run, pushBatch] {
            std::vector<RequestRecord> batch(pushBatch);
            auto const t0 = std::chrono::steady_clock::now();
            for (std::uint64_t i = 0; i < run->records;) {
                std::size_t const n = static_cast<std::size_t>(std::min<std::uint64_t>(pushBatch, run->records - i));
                for (std::size_t k = 0; k < n; ++k) batch[k] = syntheticRecord(i + k);
                run->ring.pushBatch(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
                i += n;
                if (!run->wakePending.exchange(true))
                    run->tsfn.NonBlockingCall([run](Napi::Env e, Napi::Function cb) { deliverBatch(e, cb, run); });
            }
            run->producerNs = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
            run->producerDone.store(true);
            run->tsfn.NonBlockingCall([run](Napi::Env e, Napi::Function cb) { deliverBatch(e, cb, run); });
        });
    } else {
        run->producer = std::thread([run] {
            auto const t0 = std::chrono::steady_clock::now();
            for (std::uint64_t i = 0; i < run->records; ++i) {
                auto record = std::make_shared<RequestRecord>(syntheticRecord(i));
                run->tsfn.BlockingCall([run, record](Napi::Env e, Napi::Function cb) {
                    auto arr = Napi::Float64Array::New(e, kRecordStride);
                    std::memcpy(arr.Data(), record->v, sizeof(record->v));
                    try {
                        cb.Call({arr, Napi::Number::New(e, 1)});
                    } catch (...) {
                    }
                    run->perItemDelivered.fetch_add(1);
                });
            }
            run->producerNs = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
            run->producerDone.store(true);
            run->tsfn.BlockingCall([run](Napi::Env e, Napi::Function) { settle(e, *run); });
        });
    }
    return promise;
}

}  // namespace trtllm_metrics::napi
