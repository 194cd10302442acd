#!/bin/sh
# Option syntax of every `llm` command: --opt=value and --opt value give the same result, short
# options take their value attached or apart, every command answers -h and --help, and errors
# (unknown or ambiguous options, missing values, a value given to a flag) exit 2 naming the option.
# Thread counts above the online CPUs are clamped with a warning.
#   cli_options_test.sh PATH/TO/llm
set -u
llm=$1
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in info generate logits tokenize detokenize perplexity embed inspect convert "bench kernels" \
         "bench tokenize" "bench generate" "bench embed"; do
  for h in -h --help; do
    # shellcheck disable=SC2086 # "bench X" is two words
    $llm $c $h >"$tmp/out" 2>&1; rc=$?
    [ $rc -eq 0 ] && grep -q '^usage: llm' "$tmp/out"; check "llm $c $h prints its usage (exit $rc)" $?
  done
done

# usage errors: exit 2 and the option named
expect_usage() { # description, expected text in stderr, command...
  what=$1; text=$2; shift 2
  "$@" >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 2 ] && grep -q -- "$text" "$tmp/err"
  check "$what (exit $rc: $(head -n 1 "$tmp/err"))" $?
}
expect_usage "an unknown long option" "unknown option '--no-such'" "$llm" generate --no-such -m x
expect_usage "an unknown short option" "unknown option '-Z'" "$llm" tokenize -Z -m x
expect_usage "an ambiguous prefix" "ambiguous option '--top'" "$llm" generate --top=3 -m x -p y
expect_usage "a missing value" "--temp needs a value" "$llm" generate -m x -p y --temp
expect_usage "a missing short value" "-m needs a value" "$llm" embed -m
expect_usage "a value given to a flag" "--ids takes no value" "$llm" generate --ids=1 -m x -p y
expect_usage "a bad number after =" "--temp needs a number, got 'hot'" \
  "$llm" generate -m x -p y --temp=hot
expect_usage "a bad word after =" "--kv takes one of: f32 f16" "$llm" generate -m x -p y --kv=f8
expect_usage "an unexpected argument" "unexpected argument 'extra'" "$llm" generate extra -m x
expect_usage "bench generate: --runs out of range" "--runs needs an integer in" \
  "$llm" bench generate -m x --runs=0
expect_usage "inspect: two paths" "unexpected argument" "$llm" inspect a b

data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
model="$data/models/stories260K/stories260K.gguf"
bert="$data/golden/models/bert-tiny-mean-f32.gguf"
if [ ! -f "$model" ] || [ ! -f "$bert" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $model or $bert is missing"; exit 1; fi
  echo "SKIP: $model or $bert is missing (set LLM_TEST_DATA)"
  [ $fail -eq 0 ] && exit 77
  exit 1
fi

# generate: every spelling of the same greedy run prints the same ids
"$llm" generate -m "$model" --prompt-ids 1 --temp 0 -n 16 --ids >"$tmp/a" 2>/dev/null
check "generate with spaced values" $?
"$llm" generate --model="$model" --prompt-ids=1 --temp=0 --max-tokens=16 --ids >"$tmp/b" 2>/dev/null
check "generate --temp=0 --model=M --prompt-ids=1 --max-tokens=16" $?
cmp -s "$tmp/a" "$tmp/b"; check "--opt=value gives the same ids as --opt value" $?
"$llm" generate -m"$model" --prompt-ids "1" --temp 0 -n16 --ids >"$tmp/c" 2>/dev/null
cmp -s "$tmp/a" "$tmp/c"; check "-mMODEL -n16 gives the same ids" $?
"$llm" generate --ids --temp=0 --prompt-ids=1 -n 16 --mod "$model" >"$tmp/d" 2>/dev/null
cmp -s "$tmp/a" "$tmp/d"; check "options in any order, a unique prefix (--mod) for --model" $?
[ "$(wc -w <"$tmp/a")" -eq 16 ]; check "16 ids printed" $?

# thread counts: above the online CPUs clamped with a warning, the result unchanged
"$llm" generate -m "$model" --prompt-ids=1 --temp=0 -n 16 --ids --threads=100000 >"$tmp/e" \
  2>"$tmp/err"
check "generate --threads=100000 runs" $?
grep -q "warning: --threads 100000 is more than the [0-9]* online CPUs; using [0-9]* threads" \
  "$tmp/err"; check "--threads above the CPUs warns" $?
cmp -s "$tmp/a" "$tmp/e"; check "clamped threads give the same ids" $?
"$llm" generate -m "$model" --prompt-ids=1 --temp=0 -n 1 -t 0 >/dev/null 2>&1; [ $? -eq 2 ]
check "-t 0 is a usage error" $?

# logits, tokenize, inspect, bench tokenize with --opt=value
"$llm" logits --model="$model" --prompt-ids="1 403" --output="$tmp/l.f32" 2>/dev/null
[ "$(wc -c <"$tmp/l.f32")" -eq $((2 * 512 * 4)) ]; check "logits --output=FILE --prompt-ids=IDS" $?
[ "$("$llm" tokenize --model="$model" "Once upon")" = "1 403 407" ]
check "tokenize --model=M TEXT" $?
printf '%s' "-x" >"$tmp/x.txt"
got=$("$llm" tokenize -m "$model" --no-special -- -x) && [ -n "$got" ] &&
  [ "$got" = "$("$llm" tokenize -m "$model" --no-special --file="$tmp/x.txt")" ]
check "tokenize -- -x takes -x as the text" $?
"$llm" inspect "$model" --ctx=64 | grep -q "for 64 positions"; check "inspect --ctx=64" $?
printf 'Once upon a time\n' >"$tmp/t.txt"
"$llm" bench tokenize --model="$model" --file="$tmp/t.txt" --repeat=1 | grep -q '^tokens'
check "bench tokenize --model= --file= --repeat=" $?
"$llm" bench generate --model="$model" --prompt-tokens=8 --max-tokens=4 --runs=1 --kv=f16 \
  2>/dev/null | grep -q '^median'; check "bench generate with --opt=value" $?

# embed: --pooling=mean --format=json equals the spaced form
"$llm" embed -m "$bert" --pooling mean --format json "a house" >"$tmp/e1" 2>/dev/null
check "embed with spaced values" $?
"$llm" embed --model="$bert" --pooling=mean --format=json "a house" >"$tmp/e2" 2>/dev/null
cmp -s "$tmp/e1" "$tmp/e2"; check "embed --pooling=mean --format=json gives the same" $?
exit $fail
