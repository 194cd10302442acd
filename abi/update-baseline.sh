#!/bin/sh
# Regenerates abi/libllm.abi from a build of the library. A deliberate step (docs/ABI.md): run it
# only in a commit that also updates lib/libllm.map and says why the ABI changed.
#   abi/update-baseline.sh [BUILD_DIR]
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
abidw --headers-dir "$root/include/llm" --no-corpus-path \
  --out-file "$root/abi/libllm.abi" "$build/lib/libllm.so"
echo "wrote $root/abi/libllm.abi"
