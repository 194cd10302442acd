#!/bin/sh
# `llm classify` and `llm fill-mask` on the tiny Hugging Face folders of tests/data/heads, against
# tests/data/heads/expected.json (made by tests/make_heads_reference.py without libllm).
#   cli_heads_test.sh PATH/TO/llm TESTS_SOURCE_DIR
set -u
llm=$1
heads=$2/data/heads
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$llm" classify --json -m "$heads/bert-seqcls-tiny" "the cat sat on the mat" "a dog ran to the park" \
  >"$tmp/cls.json"
check "classify --json runs" $?
python3 - "$tmp/cls.json" "$heads/expected.json" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))["bert-seqcls-tiny"]
for i, g in enumerate(got):
    want = ref["probs"][i]
    assert g["text"] == ref["texts"][i], g
    assert g["label"] == ref["labels"][max(range(3), key=lambda j: want[j])], g
    for j, name in enumerate(ref["labels"]):
        assert abs(g["probs"][name] - want[j]) < 1e-5, (name, g, want)
PY
check "classify prints the reference labels and probabilities" $?
printf 'good day\n\nthe big red house is very small\n' >"$tmp/lines.txt"
[ "$("$llm" classify -m "$heads/bert-seqcls-tiny" -f "$tmp/lines.txt" | wc -l)" -eq 2 ]
check "classify -f: one line per text" $?
"$llm" classify -m "$heads/bert-mlm-tiny" "x" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "has no classification head" "$tmp/err"
check "classify without a head says so" $?

"$llm" fill-mask --json -m "$heads/bert-mlm-tiny" "a [MASK] ran to the [MASK]" >"$tmp/fm.json"
check "fill-mask --json runs" $?
python3 - "$tmp/fm.json" "$heads/expected.json" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
ref = [c for c in json.load(open(sys.argv[2]))["bert-mlm-tiny"] if c["text"] == "a [MASK] ran to the [MASK]"][0]
assert len(got) == len(ref["masks"]) == 2
for g, r in zip(got, ref["masks"]):
    assert [t["id"] for t in g["tokens"]] == r["ids"], (g, r)
    assert [t["piece"] for t in g["tokens"]] == r["pieces"], (g, r)
    assert all(abs(t["prob"] - p) < 1e-5 for t, p in zip(g["tokens"], r["probs"]))
PY
check "fill-mask prints the reference top-5 of both masks" $?
"$llm" fill-mask -m "$heads/bert-mlm-tiny" "no mask here" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "no mask token" "$tmp/err"
check "fill-mask on a text without [MASK] says so" $?
exit $fail
