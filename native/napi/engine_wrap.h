#pragma once
// EngineWrap<Backend>: the JS class of one backend. It owns a bridge::Bridge<Backend::Api> and one thread-safe
// function; pump threads only flip an atomic and queue at most one pending call, and the JS thread then
// drains every stream in one go and calls back into JS once per batch.

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "bridge/bridge.h"
#include "bridge/steady_epoch.h"
#include "napi/chunks_to_js.h"
#include "napi/config_from_js.h"
#include "napi/js_convert.h"
#include "napi/js_errors.h"
#include "napi/pending_flushes.h"

namespace trtllm_metrics::napi {

template <typename Backend>
class EngineWrap : public Napi::ObjectWrap<EngineWrap<Backend>> {
public:
    using Api = typename Backend::Api;
    using BridgeT = bridge::Bridge<Api>;

    static Napi::Function define(Napi::Env env) {
        return EngineWrap::DefineClass(env, Backend::kClassName,
                                       {
                                           EngineWrap::InstanceMethod("start", &EngineWrap::start),
                                           EngineWrap::InstanceMethod("enqueue", &EngineWrap::enqueue),
                                           EngineWrap::InstanceMethod("cancel", &EngineWrap::cancel),
                                           EngineWrap::InstanceMethod("shutdown", &EngineWrap::shutdown),
                                           EngineWrap::InstanceMethod("flush", &EngineWrap::flush),
                                           EngineWrap::InstanceMethod("counters", &EngineWrap::counters),
                                           EngineWrap::InstanceMethod("info", &EngineWrap::info),
                                           EngineWrap::InstanceMethod("ref", &EngineWrap::ref),
                                           EngineWrap::InstanceMethod("unref", &EngineWrap::unref),
                                           EngineWrap::InstanceMethod("simClockNs", &EngineWrap::simClockNs),
                                           EngineWrap::InstanceMethod("holdSimClock", &EngineWrap::holdSimClock),
                                           EngineWrap::InstanceMethod("resumeSimClock", &EngineWrap::resumeSimClock),
                                           EngineWrap::InstanceMethod("simClockState", &EngineWrap::simClockState),
                                           EngineWrap::InstanceMethod("simInfo", &EngineWrap::simInfo),
                                       });
    }

    // new XEngine(options, onBatch)
    explicit EngineWrap(Napi::CallbackInfo const& info) : Napi::ObjectWrap<EngineWrap>(info) {
        Napi::Env env = info.Env();
        if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
            throw Napi::TypeError::New(env, "expected (options: object, onBatch: function)");
        Napi::Object options = info[0].As<Napi::Object>();
        mConfig = callConverting(env, [&] { return std::make_unique<typename Backend::Config>(Backend::parse(options)); });
        mBridgeOptions = bridgeOptionsFrom(options);
        mBridgeOptions.eventBufferCapacity = Backend::eventBufferCapacity(*mConfig);
        mOnBatch = Napi::Persistent(info[1].As<Napi::Function>());
        // The finalizer runs once every queued call has run: only then may the wrapper be collected.
        mTsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "trtllm-metrics bridge", 0, 1,
                                              [this](Napi::Env) {
                                                  if (mSelfRefHeld) {
                                                      mSelfRefHeld = false;
                                                      this->Unref();
                                                  }
                                              });
        mTsfn.Unref(env);
        napi_add_env_cleanup_hook(env, &EngineWrap::onEnvCleanup, this);
        mCleanupHookAdded = true;
    }

    ~EngineWrap() override {
        teardown();
        removeCleanupHook();
    }

private:
    enum class State { kCreated, kStarting, kRunning, kStopping, kClosed };

    // ---- JS methods -----------------------------------------------------------------------------------
    Napi::Value start(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        auto deferred = Napi::Promise::Deferred::New(env);
        if (mState != State::kCreated) {
            deferred.Reject(errorWithCode(env, "start() may be called once", "ERR_TRTLLM_INVALID_STATE").Value());
            return deferred.Promise();
        }
        mState = State::kStarting;
        this->Ref();  // keep the wrapper alive while threads may call into it (dropped by the TSFN finalizer)
        mSelfRefHeld = true;
        (new StartWorker(this, deferred))->Queue();
        return deferred.Promise();
    }

    Napi::Value enqueue(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        requireRunning(env);
        if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "expected a request object");
        return callConverting(env, [&] {
            bridge::RequestMeta meta;
            auto request = requestFrom<Api>(info[0].As<Napi::Object>(), meta);
            auto id = mBridge->enqueue(std::move(request), meta);
            return Napi::Number::New(env, static_cast<double>(id));
        });
    }

    void requireRunning(Napi::Env env) const {
        if (mState != State::kRunning || !mBridge) throw errorWithCode(env, "the engine is not running", "ERR_TRTLLM_ENGINE_CLOSED");
    }

    // ---- the simulator's clock (simulator-only pacing; ERR_TRTLLM_UNSUPPORTED on other backends) ----------
    // Runs `fn` on the running bridge, converting exceptions into JS errors with a code.
    template <typename Fn>
    Napi::Value withClock(Napi::Env env, Fn&& fn) {
        requireRunning(env);
        return callConverting(env, std::forward<Fn>(fn));
    }

    // simClockNs(): the executor's clock, steady ns relative to epochNs.
    Napi::Value simClockNs(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        return withClock(env, [&] { return Napi::Number::New(env, mBridge->clockNs()); });
    }

    // holdSimClock(atNs?, unlessBacklogged?): returns the hold (ns relative to epochNs).
    Napi::Value holdSimClock(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        std::optional<double> at;
        if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
            if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "expected a time in ns or nothing");
            double const v = info[0].As<Napi::Number>().DoubleValue();
            if (!isRelativeNs(v)) throw Napi::RangeError::New(env, "the hold must be a time in ns within +-2^53");
            at = v;
        }
        bool const unlessBacklogged = info.Length() > 1 && info[1].ToBoolean().Value();
        return withClock(env, [&] { return Napi::Number::New(env, mBridge->pacing().holdClock(at, unlessBacklogged)); });
    }

    // resumeSimClock(): clears the hold. A no-op once the engine is closed.
    Napi::Value resumeSimClock(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        if (mState != State::kRunning || !mBridge) return env.Undefined();
        return withClock(env, [&] {
            mBridge->pacing().resumeClock();
            return env.Undefined();
        });
    }

    Napi::Value simClockState(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        return withClock(env, [&]() -> Napi::Value {
            bridge::PacingClockState const c = mBridge->pacing().clockState();
            auto o = Napi::Object::New(env);
            o.Set("nowNs", num(env, c.nowNs));
            o.Set("holdNs", c.holdNs ? num(env, *c.holdNs) : env.Null());
            o.Set("holdUnlessBacklogged", Napi::Boolean::New(env, c.holdUnlessBacklogged));
            o.Set("paused", Napi::Boolean::New(env, c.paused));
            o.Set("pausedForMs", num(env, c.pausedForMs));
            o.Set("pauses", num(env, c.pauses));
            o.Set("resumes", num(env, c.resumes));
            o.Set("scheduled", num(env, c.scheduled));
            return o;
        });
    }

    // simInfo(): the simulator's limits and model, and its resident LoRA adapters (simulator only).
    Napi::Value simInfo(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        requireRunning(env);
        using Executor = typename Api::Executor;
        if constexpr (bridge::detect::HasEngineInfo<Executor>::value) {
            return callConverting(env, [&]() -> Napi::Value { return engineInfoToJs(env, mBridge->executor()); });
        } else {
            throw errorWithCode(env, "simInfo is simulator-only: this executor does not describe itself", "ERR_TRTLLM_UNSUPPORTED");
        }
    }

    Napi::Value cancel(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "expected a request id");
        if (mState != State::kRunning || !mBridge) return env.Undefined();
        callConverting(env, [&] { mBridge->cancel(static_cast<typename Api::IdType>(info[0].As<Napi::Number>().Int64Value())); });
        return env.Undefined();
    }

    // shutdown(graceMs): resolves once every stream is drained into JS and every request is settled.
    Napi::Value shutdown(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        auto deferred = Napi::Promise::Deferred::New(env);
        long long graceMs = 0;
        if (info.Length() > 0 && info[0].IsNumber()) graceMs = std::max<long long>(0, info[0].As<Napi::Number>().Int64Value());
        if (mState == State::kRunning) {
            mState = State::kStopping;
            (new StopWorker(this, deferred, std::chrono::milliseconds(graceMs)))->Queue();
        } else if (mState == State::kCreated) {
            mState = State::kClosed;
            releaseAfterClose();
            releaseTsfn();
            deferred.Resolve(env.Undefined());
        } else if (mState == State::kStarting || mState == State::kStopping) {
            deferred.Reject(errorWithCode(env, "the engine is starting or stopping; await that first", "ERR_TRTLLM_INVALID_STATE").Value());
        } else {
            deferred.Resolve(env.Undefined());
        }
        return deferred.Promise();
    }

    // flush(): the pumps poll the executor now; resolves once everything it had produced before the call has been
    // handed to onBatch (settled by deliver(), or by the final delivery of a shutdown).
    Napi::Value flush(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        auto deferred = Napi::Promise::Deferred::New(env);
        if (mState == State::kRunning || mState == State::kStopping) {
            mFlushes.add(mBridge->requestFlush(), deferred);
            updateRef(env);
        } else if (mState == State::kClosed) {
            deferred.Resolve(env.Undefined());  // the final delivery carried everything
        } else {
            deferred.Reject(errorWithCode(env, "the engine is not running", "ERR_TRTLLM_ENGINE_CLOSED").Value());
        }
        return deferred.Promise();
    }

    Napi::Value counters(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        bridge::BridgeCounters c = mBridge ? mBridge->counters() : mFinalCounters;
        auto o = Napi::Object::New(env);
        auto put = [&](char const* name, bridge::StreamCountersSnapshot const& s) {
            auto so = Napi::Object::New(env);
            so.Set("produced", num(env, s.produced));
            so.Set("delivered", num(env, s.delivered));
            so.Set("dropped", num(env, s.dropped));
            so.Set("queued", num(env, s.queued));
            so.Set("capacity", num(env, s.capacity));
            o.Set(name, so);
        };
        put("responses", c.responses);
        put("requestRecords", c.requestRecords);
        put("iterationStats", c.iterationStats);
        put("kvEvents", c.kvEvents);
        o.Set("kvEventsDroppedByExecutor", num(env, c.kvEventsDroppedByExecutor));
        return o;
    }

    Napi::Value info(Napi::CallbackInfo const& info) {
        Napi::Env env = info.Env();
        auto o = Napi::Object::New(env);
        o.Set("backend", Napi::String::New(env, Backend::kName));
        o.Set("tokensPerBlock", num(env, mBridge ? mBridge->tokensPerBlock() : mFinalTokensPerBlock));
        o.Set("eventBufferCapacity", num(env, mBridgeOptions.eventBufferCapacity));
        o.Set("epochNs", Napi::BigInt::New(env, static_cast<int64_t>(bridge::steadyEpochNs())));
        o.Set("pending", num(env, mBridge ? mBridge->pendingCount() : 0));
        return o;
    }

    // While requests are in flight the JS side refs the thread-safe function so the process waits for them.
    Napi::Value ref(Napi::CallbackInfo const& info) {
        mJsRef = true;
        updateRef(info.Env());
        return info.Env().Undefined();
    }
    Napi::Value unref(Napi::CallbackInfo const& info) {
        mJsRef = false;
        updateRef(info.Env());
        return info.Env().Undefined();
    }

    // The thread-safe function keeps Node alive while JS asks for it or a flush waits for a delivery.
    void updateRef(Napi::Env env) {
        if (mTsfnReleased) return;
        bool const want = mJsRef || !mFlushes.empty();
        if (want == mTsfnRefd) return;
        if (want) mTsfn.Ref(env);
        else mTsfn.Unref(env);
        mTsfnRefd = want;
    }

    // ---- delivery -------------------------------------------------------------------------------------
    // Pump threads: at most one call is pending at a time; the JS side clears the flag before draining,
    // so an item pushed after the drain always finds the flag clear and schedules the next call.
    void wake() {
        if (mTsfnReleased.load()) return;
        if (mWakePending.exchange(true)) return;
        napi_status status = mTsfn.NonBlockingCall([this](Napi::Env env, Napi::Function cb) { deliver(env, cb, false); });
        if (status != napi_ok) mWakePending.store(false);
    }

    void deliver(Napi::Env env, Napi::Function cb, bool closed) {
        mWakePending.store(false);
        if (!mBridge || env == nullptr || cb.IsEmpty()) return;
        // Read before draining: what the completed flushes cover is in the queues, so this call delivers it.
        std::uint64_t const flushed = mBridge->flushedThrough();
        deliverBatch(env, cb, closed);
        if (!mFlushes.empty()) {
            try {
                mFlushes.settle(env, flushed);
            } catch (std::exception const&) {
            }
            updateRef(env);
        }
    }

    // Drains every stream and calls onBatch once, if anything was there (or `closed`).
    void deliverBatch(Napi::Env env, Napi::Function cb, bool closed) {
        try {
            Napi::HandleScope scope(env);
            auto batch = Napi::Object::New(env);
            bool any = closed;
            mChunkScratch.clear();
            if (mBridge->drainChunks(mChunkScratch) > 0) {
                batch.Set("chunks", chunksToJs(env, mChunkScratch));
                any = true;
            }
            // Records are copied once, straight into one reusable JS buffer of capacity rows: no allocation
            // per batch. The buffer is valid during the call only (the next batch overwrites it).
            if (mRecordBuffer.IsEmpty())
                mRecordBuffer = Napi::Persistent(Napi::Float64Array::New(env, mBridge->recordCapacity() * bridge::kRecordStride));
            Napi::Float64Array records = mRecordBuffer.Value();
            std::size_t const nRecords = mBridge->drainRecordsInto(reinterpret_cast<bridge::RequestRecord*>(records.Data()));
            if (nRecords > 0) {
                batch.Set("records", records);
                batch.Set("recordCount", Napi::Number::New(env, static_cast<double>(nRecords)));
                any = true;
            }
            mStatsScratch.clear();
            if (mBridge->drainStats(mStatsScratch) > 0) {
                batch.Set("stats", arrayToJs(env, mStatsScratch, [&](auto const& st) { return iterationStatsToJs(env, st); }));
                any = true;
            }
            mEventScratch.clear();
            if (mBridge->drainEvents(mEventScratch) > 0) {
                batch.Set("events", arrayToJs(env, mEventScratch, [&](auto const& e) { return kvEventToJs(env, e); }));
                any = true;
            }
            if (closed) batch.Set("closed", Napi::Boolean::New(env, true));
            if (any) cb.Call({batch});
        } catch (Napi::Error const& e) {
            // The JS consumer threw. engine.ts catches its listeners' errors itself; this is the last line.
            (void)e;
        } catch (std::exception const&) {
        }
    }

    // ---- lifecycle ------------------------------------------------------------------------------------
    class StartWorker : public Napi::AsyncWorker {
    public:
        StartWorker(EngineWrap* self, Napi::Promise::Deferred deferred)
            : Napi::AsyncWorker(self->Env()), mSelf(self), mDeferred(deferred) {}
        void Execute() override {
            try {
                auto executor = Backend::create(*mSelf->mConfig);
                // Set before the pumps start: a delivery they trigger reads mBridge on the JS thread.
                mSelf->mBridge = std::make_unique<BridgeT>(std::move(executor), mSelf->mBridgeOptions, [self = mSelf] { self->wake(); });
                mSelf->mBridge->start();
            } catch (std::exception const& e) {
                SetError(e.what());
            }
        }
        void OnOK() override {
            mSelf->mState = State::kRunning;
            mDeferred.Resolve(Env().Undefined());
        }
        void OnError(Napi::Error const& error) override {
            mSelf->mState = State::kClosed;
            mSelf->releaseAfterClose();
            mSelf->releaseTsfn();
            mDeferred.Reject(errorWithCode(Env(), error.Message(), "ERR_TRTLLM_EXECUTOR").Value());
        }

    private:
        EngineWrap* mSelf;
        Napi::Promise::Deferred mDeferred;
    };

    class StopWorker : public Napi::AsyncWorker {
    public:
        StopWorker(EngineWrap* self, Napi::Promise::Deferred deferred, std::chrono::milliseconds grace)
            : Napi::AsyncWorker(self->Env()), mSelf(self), mDeferred(deferred), mGrace(grace) {}
        void Execute() override { mSelf->mBridge->stop(mGrace); }
        void OnOK() override { finish(); }
        void OnError(Napi::Error const&) override { finish(); }

    private:
        void finish() {
            Napi::Env env = Env();
            // Everything left (including the settling chunks) goes to JS now, marked closed; it answers every flush.
            mSelf->deliver(env, mSelf->mOnBatch.Value(), true);
            try {
                mSelf->mFlushes.settleAll(env);
            } catch (std::exception const&) {
            }
            mSelf->mState = State::kClosed;
            mSelf->releaseAfterClose();
            mSelf->releaseTsfn();
            mDeferred.Resolve(env.Undefined());
        }
        EngineWrap* mSelf;
        Napi::Promise::Deferred mDeferred;
        std::chrono::milliseconds mGrace;
    };

    // After the final delivery nothing needs the bridge: free the executor and the queues now rather than when
    // the wrapper is collected (V8 does not see native memory), keeping the final counters. Dropping the
    // callback reference breaks the cycle wrapper -> onBatch closure -> Engine -> wrapper, which a strong
    // reference held here would otherwise keep alive forever.
    void releaseAfterClose() {
        if (mBridge) {
            mFinalCounters = mBridge->counters();
            mFinalTokensPerBlock = mBridge->tokensPerBlock();
            mBridge.reset();
        }
        mRecordBuffer.Reset();
        mOnBatch.Reset();
        std::vector<bridge::ResponseChunk>().swap(mChunkScratch);
        std::vector<typename Api::IterationStats>().swap(mStatsScratch);
        std::vector<typename Api::KVCacheEvent>().swap(mEventScratch);
    }

    void releaseTsfn() {
        if (!mTsfnReleased.exchange(true)) mTsfn.Release();
    }

    void removeCleanupHook() {
        if (mCleanupHookAdded) {
            napi_remove_env_cleanup_hook(this->Env(), &EngineWrap::onEnvCleanup, this);
            mCleanupHookAdded = false;
        }
    }

    // Process exit with a live engine: stop the executor and the pumps before the environment goes away.
    void teardown() {
        mFlushes.drop();
        if (mBridge) mBridge->stop(std::chrono::milliseconds(0), /*teardown=*/true);
        if (!mTsfnReleased.exchange(true)) mTsfn.Abort();
        mState = State::kClosed;
    }

    static void onEnvCleanup(void* arg) {
        auto* self = static_cast<EngineWrap*>(arg);
        self->mCleanupHookAdded = false;
        self->teardown();
    }

    std::unique_ptr<typename Backend::Config> mConfig;
    bridge::BridgeOptions mBridgeOptions;
    std::unique_ptr<BridgeT> mBridge;
    Napi::ThreadSafeFunction mTsfn;
    Napi::FunctionReference mOnBatch;
    bridge::BridgeCounters mFinalCounters;
    int mFinalTokensPerBlock = 0;
    Napi::Reference<Napi::Float64Array> mRecordBuffer;
    bool mSelfRefHeld = false;
    PendingFlushes mFlushes;
    bool mJsRef = false;     // ref() was called (requests in flight)
    bool mTsfnRefd = false;  // the thread-safe function is ref'd (updateRef)
    std::atomic<bool> mTsfnReleased{false};
    std::atomic<bool> mWakePending{false};
    bool mCleanupHookAdded = false;
    State mState = State::kCreated;

    std::vector<bridge::ResponseChunk> mChunkScratch;
    std::vector<typename Api::IterationStats> mStatsScratch;
    std::vector<typename Api::KVCacheEvent> mEventScratch;
};

}  // namespace trtllm_metrics::napi
