#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer: the native tests, then JavaScript runs inside Node against the
# instrumented addon. Exit 0 only if every part passes with no sanitizer report.
#
#   scripts/asan-check.sh [--no-build]
#
# 1. `npm run build:asan` (cmake-js, -DTRTLLM_METRICS_SANITIZE=ON, RelWithDebInfo) builds the addon and
#    native_tests into build-asan/ (--no-build reuses it).
# 2. build-asan/native_tests under ASan with LeakSanitizer on (every native leak fails the run) and UBSan
#    halting on the first report (-fno-sanitize-recover=undefined).
# 3. Node runs scripts/smoke.mjs, a short shutdown loop, process exit with a live engine, and the overload
#    test, loading build-asan/RelWithDebInfo/trtllm_metrics.node (TRTLLM_METRICS_ADDON) and its testing addon
#    trtllm_metrics_testing.node (TRTLLM_METRICS_TESTING_ADDON, for the firehose). Node itself is not
#    instrumented, so the ASan runtime must be the first library loaded: LD_PRELOAD=libasan.so. Leak detection
#    is off for these runs (detect_leaks=0) because LeakSanitizer would then check all of Node: V8 and Node keep
#    process-lifetime allocations (isolate, code space, per-thread platform data) that they never free at exit,
#    which LSan reports as leaks of code we do not own. Our native code's leaks are covered by step 2 (LSan)
#    and by scripts/valgrind-native.sh. ASan still reports every invalid access (heap/stack/global overflow,
#    use after free, double free) made by the addon while Node runs it, and UBSan every undefined behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TRTLLM_METRICS_ASAN_BUILD:-build-asan}
ADDON="$BUILD/RelWithDebInfo/trtllm_metrics.node"
TESTING_ADDON="$BUILD/RelWithDebInfo/trtllm_metrics_testing.node"
start=$(date +%s)
say() { echo "=== asan-check: $* ($(( $(date +%s) - start ))s)"; }

if [ "${1:-}" != "--no-build" ]; then
  say "npm run build:asan"
  npm run build:asan --silent
fi
[ -x "$BUILD/native_tests" ] && [ -f "$ADDON" ] && [ -f "$TESTING_ADDON" ] || { echo "asan-check: $BUILD is not built (npm run build:asan)" >&2; exit 2; }

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
say "native_tests (ASan + LSan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=1:check_initialization_order=1 \
  "$BUILD/native_tests" --gtest_brief=1

LIBASAN=$(${CXX:-g++} -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || { echo "asan-check: libasan.so not found ($LIBASAN)" >&2; exit 2; }
node_asan() {
  LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0:allow_user_segv_handler=1:abort_on_error=0 \
    TRTLLM_METRICS_ADDON="$ADDON" TRTLLM_METRICS_TESTING_ADDON="$TESTING_ADDON" node "$@"
}
say "node scripts/smoke.mjs against the ASan addon"
node_asan scripts/smoke.mjs
say "shutdown loop (10 iterations) against the ASan addon"
node_asan scripts/shutdown-loop.mjs --iterations 10 --quiet
say "overload and process-exit tests against the ASan addon"
TRTLLM_METRICS_OVERLOAD_REQUESTS=${TRTLLM_METRICS_OVERLOAD_REQUESTS:-4000} \
  node_asan --test --test-concurrency=1 test/hardening-overload.test.mjs test/hardening-shutdown.test.mjs
say "passed"
