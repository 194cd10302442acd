#!/bin/sh
# Runs an example program on the stories260K model from the shared test data:
#   run_example.sh PROGRAM ARGS...   (an argument "@MODEL@" becomes the model's path)
# Skips (exit 77) when the data is absent, except under CI=true where that is a failure.
data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
model="$data/models/stories260K/stories260K.gguf"
if [ ! -f "$model" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $model is missing"; exit 1; fi
  echo "SKIP: $model is missing (set LLM_TEST_DATA)"; exit 77
fi
for arg; do
  shift
  if [ "$arg" = "@MODEL@" ]; then set -- "$@" "$model"; else set -- "$@" "$arg"; fi
done
exec "$@"
