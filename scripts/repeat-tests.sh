#!/usr/bin/env bash
# The whole suite N times in a row on one core (taskset -c 0), then N times against the ASan + UBSan addon:
# the check that no test depends on timing. Stops at the first failure; prints one line per run.
#
#   scripts/repeat-tests.sh [N=5] [--no-asan | --asan-only]
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-5}
start=$(date +%s)
log=$(mktemp -d)
run() { # name, command...
  local name=$1; shift
  local t0=$(date +%s)
  if "$@" >"$log/$name.log" 2>&1; then
    echo "ok   $name ($(( $(date +%s) - t0 )) s): $(grep -E '^# (pass|fail)' "$log/$name.log" | tr '\n' ' ')"
  else
    echo "FAIL $name ($(( $(date +%s) - t0 )) s); log: $log/$name.log"
    grep -E '^not ok|error:' "$log/$name.log" | head -20
    exit 1
  fi
}
if [ "${2:-}" != "--asan-only" ]; then for i in $(seq 1 "$N"); do run "one-core-$i" taskset -c 0 npm test; done; fi
if [ "${2:-}" != "--no-asan" ]; then
  [ -f build-asan/RelWithDebInfo/trtllm_metrics.node ] || npm run build:asan --silent
  LIBASAN=$(${CXX:-g++} -print-file-name=libasan.so)
  for i in $(seq 1 "$N"); do
    run "asan-$i" env LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0:allow_user_segv_handler=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      TRTLLM_METRICS_ADDON=build-asan/RelWithDebInfo/trtllm_metrics.node TRTLLM_METRICS_TESTING_ADDON=build-asan/RelWithDebInfo/trtllm_metrics_testing.node \
      TRTLLM_METRICS_SANITIZE=1 TRTLLM_METRICS_NATIVE_BUILD=build-native-asan npm test
  done
fi
runs=$N; [ -z "${2:-}" ] && runs=$(( N * 2 ))
echo "all $runs runs passed in $(( $(date +%s) - start )) s"
