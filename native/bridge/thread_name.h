#pragma once
// Names the calling thread (Linux: 15 characters at most, shown in /proc/<pid>/task/<tid>/comm, top -H, perf),
// so per-thread CPU figures can tell the bridge's pumps and the executor apart (scripts/bench/stream-cost.mjs).
// Elsewhere a no-op.

#if defined(__linux__)
#include <pthread.h>
#endif

namespace trtllm_metrics::bridge {

inline void nameThisThread(char const* name) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

}  // namespace trtllm_metrics::bridge
