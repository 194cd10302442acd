#!/bin/sh
# `llm template` and `llm chat` as a user runs them: a shared reference case printed byte for
# byte, named errors with their exit codes, and a piped chat with stories260K (history, /save,
# /reset, the same replies on a second run with the same seed).
#   chat_cli_test.sh PATH/TO/llm
set -u
llm=$1
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- without data: usage and errors -------------------------------------------------------------
"$llm" template --messages /dev/null >/dev/null 2>&1; [ $? -eq 2 ]
check "template without -m or --template exits 2" $?
printf '[{"role": "user", "content": "Hi"}]' >"$tmp/m.json"
printf '{%% for m in messages %%}<{{ m.role }}>{{ m.content }}{%% endfor %%}\n' >"$tmp/t.jinja"
out=$("$llm" template --template "$tmp/t.jinja" --messages "$tmp/m.json"; echo "|$?")
[ "$out" = "<user>Hi|0" ]; check "template renders (one trailing newline dropped, as Jinja)" $?
printf "{{ raise_exception('Only user turns, please') }}" >"$tmp/raise.jinja"
"$llm" template --template "$tmp/raise.jinja" --messages "$tmp/m.json" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "Only user turns, please" "$tmp/err"
check "raise_exception exits 1 with its message" $?
printf 'a\n{%% if %%}' >"$tmp/bad.jinja"
"$llm" template --template "$tmp/bad.jinja" --messages "$tmp/m.json" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "line 2, column" "$tmp/err"; check "a syntax error names line and column" $?
printf '[{' >"$tmp/badmsg.json"
"$llm" template --template "$tmp/t.jinja" --messages "$tmp/badmsg.json" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "not valid JSON" "$tmp/err"; check "malformed messages JSON is named" $?

data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
cases="$data/chat_templates/cases.json"
model="$data/models/stories260K/stories260K.gguf"
if [ ! -f "$cases" ] || [ ! -f "$model" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: $cases or $model is missing"; exit 1; fi
  echo "SKIP: the shared data is missing (set LLM_TEST_DATA)"
  [ $fail -eq 0 ] && exit 77
  exit 1
fi

# --- a shared reference case through the command line, byte for byte ---------------------------
python3 - "$cases" "$tmp" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
c = next(c for c in cases if c["id"] == "llama-3.2-3b-instruct/f_tools_call/gen")
d = sys.argv[2]
json.dump(c["messages"], open(d + "/case_m.json", "w"))
json.dump(c["tools"], open(d + "/case_t.json", "w"))
open(d + "/case_expected", "w", encoding="utf-8", newline="").write(c["expected"])
open(d + "/case_args", "w").write("%s %s %s" % (c["template_file"], c["bos_token"], c["eos_token"]))
PY
set -- $(cat "$tmp/case_args")
"$llm" template --template "$data/chat_templates/$1" --messages "$tmp/case_m.json" \
  --tools "$tmp/case_t.json" --add-generation-prompt --bos "$2" --eos "$3" \
  --now 2024-07-26T12:00:00 >"$tmp/case_got"
check "template exits 0 on a reference case" $?
cmp -s "$tmp/case_got" "$tmp/case_expected"; check "llama-3.2 tool call renders byte for byte" $?

# --- llm chat, input piped ------------------------------------------------------------------------
printf '{{ bos_token }}{%% for m in messages %%}{{ m.role }}: {{ m.content }}\n{%% endfor %%}'\
'{%% if add_generation_prompt %%}assistant:{%% endif %%}' >"$tmp/chat.jinja"
printf 'Once upon a time\n/save %s/h1.json\n/nonsense\n/reset\nThe cat\nsat down\n/save %s/h2.json\n' \
  "$tmp" "$tmp" >"$tmp/input"
"$llm" chat -m "$model" --template "$tmp/chat.jinja" --temp 0 -n 10 <"$tmp/input" \
  >"$tmp/out1" 2>"$tmp/err1"
check "chat exits 0 at the end of input" $?
grep -q "unknown command '/nonsense'" "$tmp/err1"; check "an unknown command is named" $?
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
h1 = json.load(open(d + "/h1.json"))
h2 = json.load(open(d + "/h2.json"))
out = open(d + "/out1", encoding="utf-8").read()
assert [m["role"] for m in h1] == ["user", "assistant"], h1
assert h1[0]["content"] == "Once upon a time", h1
assert [m["role"] for m in h2] == ["user", "assistant", "user", "assistant"], h2
assert [h2[0]["content"], h2[2]["content"]] == ["The cat", "sat down"], h2
assert all(m["content"] for m in h2), h2
# stdout is the replies, each ended by a newline, exactly as the history keeps them
replies = [h1[1]["content"], h2[1]["content"], h2[3]["content"]]
assert out == "".join(r + "\n" for r in replies), (out, replies)
PY
check "chat streams the replies; /save writes the history, /reset forgets it" $?
"$llm" chat -m "$model" --template "$tmp/chat.jinja" --temp 0 -n 10 <"$tmp/input" \
  >"$tmp/out2" 2>/dev/null
cmp -s "$tmp/out1" "$tmp/out2"; check "the same input gives the same replies" $?
"$llm" chat -m "$model" </dev/null 2>"$tmp/err"; [ $? -eq 1 ] && grep -q "no chat template" "$tmp/err"
check "a model without a template is named, with the fix" $?
exit $fail
