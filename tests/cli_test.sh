#!/bin/sh
# The `llm` program as a user runs it: version, info, usage errors, and generation on stories260K
# (greedy from BOS with --ctx 512 must give the 256 reference ids).
#   cli_test.sh PATH/TO/llm
set -u
llm=$1
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}

"$llm" --version | grep -q '^llm [0-9]'; check "--version prints the version" $?
"$llm" info | grep -q '^kernels'; check "info names the kernels" $?
"$llm" --help | grep -q generate; check "--help lists generate" $?
"$llm" no-such-command >/dev/null 2>&1; [ $? -eq 2 ]; check "unknown command exits 2" $?
"$llm" generate -p hi >/dev/null 2>&1; [ $? -eq 2 ]; check "missing -m exits 2" $?
"$llm" generate -m /nonexistent.gguf -p hi 2>&1 | grep -q '/nonexistent.gguf'
check "a missing model file is named" $?

data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
model="$data/models/stories260K/stories260K.gguf"
if [ ! -f "$model" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $model is missing"; exit 1; fi
  echo "SKIP: $model is missing (set LLM_TEST_DATA)"
  [ $fail -eq 0 ] && exit 77
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$llm" generate -m "$model" --prompt-ids "1" --temp 0 -n 256 --ctx 512 --ids >"$tmp/ids" 2>"$tmp/err"
check "generate --ids runs" $?
expected=$(cut -d' ' -f2- "$data/models/stories260K/stories260K.greedy256.ids" | tr -s ' \n' ' ' | sed 's/ *$//')
got=$(tr -s ' \n' ' ' <"$tmp/ids" | sed 's/ *$//')
[ "$got" = "$expected" ]; check "256 greedy ids from BOS equal the reference" $?
grep -q "exceeds the context" "$tmp/err"; check "a context above the declared one warns" $?

"$llm" logits -m "$model" --prompt-ids "1 403 407 261" -o "$tmp/logits.f32" 2>/dev/null
[ "$(wc -c <"$tmp/logits.f32")" -eq $((4 * 512 * 4)) ]; check "logits writes [4][512] floats" $?

out=$("$llm" bench generate -m "$model" -p 16 -n 8 -r 2 2>/dev/null)
check "bench generate runs" $?
[ "$(echo "$out" | grep -c '^generate ')" -eq 2 ]; check "bench generate reports each run" $?
echo "$out" | grep -q '^median .*% of the bandwidth bound over 2 runs'; check "bench generate gives the median" $?

printf 'temperature: 0\nmax_tokens: 12\nstop: ["Tim"]\n' >"$tmp/preset.yaml"
out=$("$llm" generate -m "$model" -p "Once upon a time" --preset "$tmp/preset.yaml")
check "generate with a preset" $?
case "$out" in *Tim*) false ;; *) true ;; esac; check "the preset's stop string is not printed" $?
printf 'temprature: 0\n' >"$tmp/bad.yaml"
"$llm" generate -m "$model" -p "x" --preset "$tmp/bad.yaml" 2>&1 | grep -q 'bad.yaml:1'
check "a bad preset key names the line" $?
# llm inspect: the hyper-parameters of stories260K, and a clean error (exit 1, never a signal)
# with a message on truncated and corrupted copies of it
out=$("$llm" inspect "$model")
check "inspect runs" $?
for kv in "embedding_length +64" "block_count +5" "head_count +8" "head_count_kv +4"; do
  echo "$out" | grep -Eq "llama\.(attention\.)?$kv\$"; check "inspect shows $kv" $?
done
echo "$out" | grep -q "512 tokens"; check "inspect shows the 512-token vocabulary" $?
size=$(wc -c <"$model")
for cut in 0 3 4 8 24 100 1000 5000 20000 100000 700000 $((size - 1)); do
  head -c "$cut" "$model" >"$tmp/cut.gguf"
  "$llm" inspect "$tmp/cut.gguf" >/dev/null 2>"$tmp/cut.err"
  rc=$?
  [ $rc -eq 1 ] && [ -s "$tmp/cut.err" ]; check "inspect on a copy cut at $cut bytes exits 1 with a message (got $rc)" $?
done
for at in 5 9 20 40 300 2000; do
  cp "$model" "$tmp/flip.gguf"
  printf '\377\377\377\377' | dd of="$tmp/flip.gguf" bs=1 seek="$at" conv=notrunc 2>/dev/null
  "$llm" inspect --verify "$tmp/flip.gguf" >/dev/null 2>&1
  rc=$?
  [ $rc -lt 128 ]; check "inspect on a copy with bytes $at..$((at + 3)) set to 0xff does not crash (exit $rc)" $?
done
exit $fail
