#!/bin/sh
# --lora FILE[:SCALE] on the commands that run a model, and `llm export --merge`, against the
# PyTorch logits of ../shared/data/train (gpt2-tiny's adapter at scale 1).
#   cli_lora_test.sh PATH/TO/llm
set -u
llm=$1
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
model="$data/golden/models/gpt2-tiny-f32.gguf"
adapter="$data/train/gpt2-tiny-f32/lora/adapter.gguf"
if [ ! -f "$adapter" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $adapter is missing"; exit 1; fi
  echo "SKIP: $adapter is missing (set LLM_TEST_DATA)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ids="561 111 584 701 884 981 356 517 512 534 629 68 547 826 519 259"

# max |a - b| / max |b| of two float32 files
relerr() {
  python3 -c "
import array, sys
a = array.array('f', open(sys.argv[1], 'rb').read())
b = array.array('f', open(sys.argv[2], 'rb').read())
assert len(a) == len(b) and len(a) > 0
print(max(abs(x - y) for x, y in zip(a, b)) / max(abs(y) for y in b))" "$1" "$2"
}
below() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }

"$llm" logits -m "$model" --prompt-ids "$ids" --lora "$adapter" -o "$tmp/ad.f32" 2>/dev/null
check "logits --lora runs" $?
e=$(relerr "$tmp/ad.f32" "$data/train/gpt2-tiny-f32/lora/logits_with_adapter.f32")
below "$e" 1e-4; check "logits --lora equal the PyTorch logits with the adapter (rel err $e)" $?
"$llm" logits -m "$model" --prompt-ids "$ids" -o "$tmp/base.f32" 2>/dev/null
e=$(relerr "$tmp/base.f32" "$data/train/gpt2-tiny-f32/lora/logits_base.f32")
below "$e" 1e-4; check "logits without --lora equal the base logits (rel err $e)" $?

# two adapters at 0.25 and 0.5 == one merged at 0.75
"$llm" logits -m "$model" --prompt-ids "$ids" --lora "$adapter:0.25" --lora "$adapter:0.5" \
  -o "$tmp/two.f32" 2>/dev/null
check "logits with two --lora FILE:SCALE" $?
"$llm" export --merge -m "$model" --lora "$adapter:0.75" -o "$tmp/merged.gguf" 2>"$tmp/err"
check "export --merge writes a model" $?
grep -q "at 0.75 merged" "$tmp/err"; check "export --merge says what it merged" $?
"$llm" logits -m "$tmp/merged.gguf" --prompt-ids "$ids" -o "$tmp/merged.f32" 2>/dev/null
e=$(relerr "$tmp/two.f32" "$tmp/merged.f32")
below "$e" 1e-5; check "attached at 0.25 + 0.5 equals merged at 0.75 (rel err $e)" $?

"$llm" export -m "$model" --lora "$adapter" -o "$tmp/x.gguf" >/dev/null 2>&1
[ $? -eq 2 ]; check "export without --merge is a usage error" $?
"$llm" export --merge -m "$model" -o "$tmp/x.gguf" >/dev/null 2>&1
[ $? -eq 2 ]; check "export --merge without --lora is a usage error" $?

out=$("$llm" generate -m "$model" --prompt-ids "$ids" -n 4 --temp 0 --ids --lora "$adapter" 2>&1)
check "generate --lora runs ($out)" $?
llama="$data/models/stories260K/stories260K.gguf"
"$llm" generate -m "$llama" -p "Once" -n 4 --lora "$adapter" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "for architecture 'gpt2', the model is 'llama'" "$tmp/err"
check "generate --lora with another architecture's adapter names it" $?
"$llm" perplexity -m "$llama" -f "$data/text/botchan.txt" -c 64 --chunks 2 \
  --lora "$data/train/stories260K-f32/lora/adapter.gguf:0.5" >"$tmp/ppl" 2>/dev/null
check "perplexity --lora runs" $?
grep -q "Final estimate" "$tmp/ppl"; check "perplexity --lora reports" $?
bert="$data/golden/models/bert-tiny-mean-f32.gguf"
"$llm" embed -m "$bert" "hello" --lora "$adapter" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "for architecture 'gpt2', the model is 'bert'" "$tmp/err"
check "embed --lora opens the adapter against the model" $?
"$llm" logits -m "$model" --prompt-ids "1 2" -o "$tmp/x.f32" --lora "$tmp/missing.gguf:2" \
  2>"$tmp/err"
[ $? -eq 1 ] && grep -q "$tmp/missing.gguf'" "$tmp/err"
check "a missing adapter is named without its scale" $?
exit $fail
