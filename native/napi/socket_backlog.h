#pragma once
// socketUnsentBytes(fd): the bytes a TCP socket's kernel send queue still holds (written by us and not yet
// acknowledged by the peer), Linux's SIOCOUTQ. The API's slow-reader policy (lib/openai/slow-readers.ts) adds
// them to what Node still buffers, so that a client that stops reading is seen after a bounded amount of output
// wherever that output waits: on loopback the kernel alone can hold megabytes of a stream for a reader that never
// reads. Read-only: an fd that is not a socket (or one already closed) answers -1, never an error.

#include <napi.h>

#if defined(__linux__)
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

namespace trtllm_metrics::napi {

inline Napi::Value socketUnsentBytes(Napi::CallbackInfo const& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "expected a file descriptor");
    double const fd = info[0].As<Napi::Number>().DoubleValue();
    if (!(fd >= 0 && fd <= 2147483647.0) || fd != static_cast<double>(static_cast<int>(fd))) return Napi::Number::New(env, -1);
#if defined(__linux__)
    int queued = 0;
    if (ioctl(static_cast<int>(fd), SIOCOUTQ, &queued) != 0) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, queued);
#else
    return Napi::Number::New(env, -1);
#endif
}

}  // namespace trtllm_metrics::napi
