#!/bin/sh
# Runs an example program on a model:
#   run_example.sh PROGRAM ARGS...
# An argument "@DEFAULT_MODEL@" becomes the project's own model (models/shakespeare-char.gguf,
# in the repository: never skipped); "@MODEL@" the stories260K model from the shared test data,
# and then the example skips (exit 77) when the data is absent, except under CI=true where that
# is a failure.
default_model="$(cd "$(dirname "$0")/.." && pwd)/models/shakespeare-char.gguf"
data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
model="$data/models/stories260K/stories260K.gguf"
case " $* " in *" @MODEL@ "*) needs_data=1 ;; *) needs_data=0 ;; esac
if [ $needs_data -eq 1 ] && [ ! -f "$model" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $model is missing"; exit 1; fi
  echo "SKIP: $model is missing (set LLM_TEST_DATA)"; exit 77
fi
for arg; do
  shift
  if [ "$arg" = "@MODEL@" ]; then set -- "$@" "$model"
  elif [ "$arg" = "@DEFAULT_MODEL@" ]; then set -- "$@" "$default_model"
  else set -- "$@" "$arg"; fi
done
exec "$@"
