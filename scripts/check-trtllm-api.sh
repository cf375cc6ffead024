#!/usr/bin/env bash
# Usage: scripts/check-trtllm-api.sh INCLUDE_DIR
# Compiles every translation unit of the trtllm backend with -fsyntax-only against the TensorRT-LLM headers in
# INCLUDE_DIR (the folder that holds tensorrt_llm/) plus the CUDA headers, with the addon's compile flags.
# Exit 0: the glue speaks that release's API. Then prints which release-dependent members the release has
# (scripts/trtllm-api-report.cc). No GPU and no TensorRT-LLM library needed.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1/tensorrt_llm/executor/executor.h" ]; then
  echo "usage: $0 INCLUDE_DIR   (INCLUDE_DIR/tensorrt_llm/executor/executor.h must exist)" >&2
  exit 2
fi
include_dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
cuda_inc=""
for d in "${CUDA_HOME:-}/include" /usr/local/cuda/include; do
  if [ -f "$d/cuda_fp16.h" ]; then cuda_inc=$d; break; fi
done
[ -n "$cuda_inc" ] || { echo "CUDA headers not found (set CUDA_HOME)" >&2; exit 2; }
napi_inc=$(cd "$root" && node -p "require('node-addon-api').include_dir")
node_api_inc=$(cd "$root" && node -p "require('node-api-headers').include_dir")
# The defines and warnings of the addon's build (CMakeLists.txt, native/backends/trtllm/trtllm.cmake).
flags=(-std=c++17 -Wall -Wextra -Wno-unused-parameter -DTRTLLM_METRICS_HAVE_TRTLLM -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS
  -DNODE_ADDON_API_DISABLE_DEPRECATED -D_GLIBCXX_USE_CXX11_ABI=1 -DENABLE_BF16 -DENABLE_FP8
  -I"$root/native" -I"$root/$napi_inc" -I"$napi_inc" -I"$node_api_inc" -I"$include_dir" -I"$cuda_inc")
status=0
for tu in "$root"/native/backends/trtllm/*.cc "$root"/native/addon.cc; do
  echo "checking $(basename "$tu")"
  g++ -fsyntax-only "${flags[@]}" "$tu" || status=1
done
[ $status -eq 0 ] || exit $status
echo "OK: the trtllm backend compiles against $include_dir"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
g++ "${flags[@]}" -o "$report" "$root/scripts/trtllm-api-report.cc"
"$report"
