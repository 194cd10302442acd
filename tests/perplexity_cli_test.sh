#!/bin/sh
# `llm perplexity` as a user runs it. With --ids on the fixed sequences of gpt2-tiny-f32 and
# stories260K-f32 in ../shared/data/train (two windows of 16, second halves scored), the final
# estimate must equal exp(mean) of PyTorch's per-target NLLs for targets 9..15 within 1e-5
# relative. Then a text run (BOS first in each window for the Llama model) and the usage errors.
#   perplexity_cli_test.sh PATH/TO/llm
set -u
llm=$1
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
"$llm" perplexity >/dev/null 2>&1; [ $? -eq 2 ]; check "no arguments exits 2" $?
"$llm" perplexity -m x.gguf --bogus 2>&1 | grep -q "unknown option '--bogus'"
check "an unknown option is named" $?
"$llm" perplexity -m x.gguf -f a --ids b >/dev/null 2>&1; [ $? -eq 2 ]
check "-f and --ids together exit 2" $?

data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
if [ ! -f "$data/train/manifest.json" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $data/train/manifest.json is missing"; exit 1; fi
  echo "SKIP: $data/train is missing (set LLM_TEST_DATA)"
  [ $fail -eq 0 ] && exit 77
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for model in gpt2-tiny-f32 stories260K-f32; do
  python3 - "$data/train/manifest.json" "$model" "$tmp" <<'PY'
import json, math, sys
m = json.load(open(sys.argv[1]))["models"][sys.argv[2]]
c = m["recipes"]["causal_lm"]
open(sys.argv[3] + "/ids", "w").write(" ".join(str(i) for seq in c["ids"] for i in seq) + "\n")
half = len(c["ids"][0]) // 2
nll = [x for seq in c["nll"] for x in seq[half:]]
open(sys.argv[3] + "/ref", "w").write("%.9f\n" % math.exp(sum(nll) / len(nll)))
open(sys.argv[3] + "/model", "w").write(sys.argv[1].rsplit("/", 1)[0] + "/" + m["model_file"])
PY
  out=$("$llm" perplexity -m "$(cat "$tmp/model")" --ids "$tmp/ids" -c 16 -t 2 2>"$tmp/err")
  check "$model: perplexity --ids runs" $?
  got=$(echo "$out" | sed -n 's/^mean NLL = \([0-9.]*\) .*/\1/p')
  python3 -c "import math,sys; g=math.exp(float('$got')); r=float('$(cat "$tmp/ref")'); \
print('  PPL %.6f, PyTorch %.6f, rel %.2g' % (g, r, abs(g-r)/r)); sys.exit(abs(g-r)/r > 1e-5)"
  check "$model: PPL over two windows of 16 equals PyTorch's within 1e-5" $?
  echo "$out" | grep -q '^\[1\][0-9.]*,\[2\][0-9.]*,$'; check "$model: llama-perplexity's running figures" $?
  echo "$out" | grep -q '^Final estimate: PPL = [0-9.]* +/- [0-9.]*$'; check "$model: final estimate" $?
  grep -q "14 tokens" "$tmp/err"; check "$model: 2 x 7 positions scored" $?
done

model="$data/models/stories260K/stories260K.gguf"
text="$data/text/tinyshakespeare.txt"
head -c 4000 "$text" >"$tmp/text.txt"
out=$("$llm" perplexity -m "$model" -f "$tmp/text.txt" -c 64 --chunks 3 2>"$tmp/err")
check "perplexity over a text runs" $?
grep -q "3 windows of 64.*BOS first in every window" "$tmp/err"; check "a Llama model gets BOS first in each window" $?
echo "$out" | grep -q '^\[1\][0-9.]*,\[2\][0-9.]*,\[3\][0-9.]*,$'; check "three windows reported" $?
head -c 100 "$text" >"$tmp/short.txt"
"$llm" perplexity -m "$model" -f "$tmp/short.txt" -c 64 2>&1 | grep -q "fewer than two windows"
check "a text shorter than two windows is a clear error" $?
"$llm" perplexity -m "$model" -f /nonexistent.txt 2>&1 | grep -q "/nonexistent.txt"
check "a missing text file is named" $?
printf '1 2 x' >"$tmp/bad.ids"
"$llm" perplexity -m "$model" --ids "$tmp/bad.ids" 2>&1 | grep -q "bad ids in"
check "junk in an ids file is named" $?
exit $fail
