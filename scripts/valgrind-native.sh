#!/usr/bin/env bash
# valgrind memcheck over the native test binary (simulator + bridge, googletest): no invalid reads or writes,
# no uses of uninitialised values, and 0 bytes definitely lost. Exit 0 only then.
#
#   scripts/valgrind-native.sh [extra gtest args, e.g. --gtest_filter=Bridge.*]
#
# Builds native_tests without sanitizers (RelWithDebInfo: optimised as shipped, with line numbers) into
# ${TRTLLM_METRICS_VALGRIND_BUILD:-build-valgrind}. No suppression file is used: the binary is plain C++ and
# googletest (no Node, no V8), and it runs clean without one. Node itself is not run under valgrind: V8's JIT
# code, its self-managed heaps and its process-lifetime allocations make memcheck's report on `node` mostly
# noise (and ~50x slower); the addon inside Node is checked with ASan instead (scripts/asan-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TRTLLM_METRICS_VALGRIND_BUILD:-build-valgrind}
LOG=${TRTLLM_METRICS_VALGRIND_LOG:-$BUILD/valgrind.log}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

cmake -S . -B "$BUILD" -DTRTLLM_METRICS_NATIVE_TESTS=ON -DTRTLLM_METRICS_SANITIZE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target native_tests -j"${JOBS:-2}"

start=$(date +%s)
set +e
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite --error-exitcode=99 --track-origins=yes --fair-sched=yes \
  --num-callers=30 --log-file="$LOG" \
  "$BUILD/native_tests" --gtest_brief=1 "$@"
rc=$?
set -e
echo "valgrind: native_tests exited $rc after $(( $(date +%s) - start )) s; log: $LOG"
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks were freed|in use at exit" "$LOG" | sed 's/^==[0-9]*== */  /'
definite=$(grep -Eo "definitely lost: [0-9,]+ bytes" "$LOG" | grep -Eo "[0-9,]+" | tr -d , || true)
errors=$(grep -Eo "ERROR SUMMARY: [0-9]+" "$LOG" | grep -Eo "[0-9]+$" || echo "?")
if [ "$rc" -ne 0 ] || [ "${definite:-0}" != "0" ] || [ "$errors" != "0" ]; then
  echo "valgrind: FAILED (exit $rc, $errors errors, ${definite:-0} bytes definitely lost); see $LOG" >&2
  exit 1
fi
echo "valgrind: OK (0 errors, 0 bytes definitely lost)"
