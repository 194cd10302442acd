#!/bin/sh
# `llm serve` over raw HTTP with curl: the API key, the limits (413, 405, 404, 400 on bad JSON,
# bad types, invalid UTF-8), completions (whole, streamed, n, seed, stop, logit_bias), embeddings,
# metrics, a full queue (429), a client that disconnects mid-stream or mid-wait (its slot is
# freed), and graceful shutdown on SIGTERM (in-flight request finished, exit 0).
#   serve_test.sh PATH/TO/llm PATH/TO/make_gpt2_model
set -u
llm=$1
maker=$2
fail=0
check() { # description, then the command's success as $?
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL: $1"; exit 1; fi
  echo "SKIP: $1"
  exit 77
}

data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
stories="$data/models/stories260K/stories260K.gguf"
bert="$data/golden/models/bert-tiny-mean-f32.gguf"
vocab="$data/vocab/ggml-vocab-gpt-2.gguf"
zephyr="$data/chat_templates/templates/zephyr-tinyllama-1.1b-chat-v1.0.jinja"
for f in "$stories" "$bert" "$vocab" "$zephyr"; do
  [ -f "$f" ] || skip "$f is missing (set LLM_TEST_DATA)"
done
command -v curl >/dev/null || skip "curl is not installed"
"$llm" serve --help >/dev/null 2>&1 || skip "this llm has no HTTP server (libmicrohttpd missing)"

tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME ARGS...: runs `llm serve --port 0 ARGS` and sets $pid and $base
start_server() {
  name=$1
  shift
  "$llm" serve --port 0 "$@" 2>"$tmp/$name.err" &
  pid=$!
  i=0
  while ! grep -q 'listening on' "$tmp/$name.err" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "FAIL: the $name server did not start:"
      cat "$tmp/$name.err"
      exit 1
    fi
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.err")
  base="http://127.0.0.1:$port"
}
# stop_server: SIGTERM, then the exit status as $?
stop_server() {
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  pid=
  return $rc
}
# code METHOD PATH [curl args...]: prints the HTTP status; the body goes to $tmp/body
code() {
  m=$1
  p=$2
  shift 2
  curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$base$p"
}
json() { # PYTHON-EXPRESSION over `j`, the JSON in $tmp/body
  python3 -c "import json,sys; j=json.load(open('$tmp/body')); sys.exit(0 if ($1) else 1)"
}
has_error() { # CODE-OR-None: the body is OpenAI's error object
  json "set(j['error']) >= {'message','type','param','code'} and j['error']['code'] == $1"
}
metric() { # NAME: its value in /metrics
  curl -s "$base/metrics" | sed -n "s/^$1 //p"
}

# ---- stories260K with an API key ----------------------------------------------------------- #
echo "sekrit-key" >"$tmp/key"
start_server stories -m "$stories" --api-key-file "$tmp/key" --ctx 256 --slots 2 \
  --max-body 4096 --max-n 4 --max-tokens 64 --chat-template "$zephyr"
auth="Authorization: Bearer sekrit-key"
model=stories260K

[ "$(code GET /health)" = 200 ]; check "/health needs no key" $?
[ "$(code GET /v1/models)" = 401 ]; check "no key: 401" $?
has_error "'invalid_api_key'"; check "the 401 body is OpenAI's error object" $?
[ "$(code GET /v1/models -H 'Authorization: Bearer wrong')" = 401 ]; check "wrong key: 401" $?
[ "$(code POST /v1/completions -H 'Authorization: Bearer wrong' -d '{}')" = 401 ]
check "wrong key on completions: 401" $?
[ "$(code GET /v1/models -H "$auth")" = 200 ]; check "right key: 200" $?
json "j['data'][0]['id'] == '$model'"; check "/v1/models lists the model" $?

post() { # PATH JSON: the status; the body in $tmp/body
  code POST "$1" -H "$auth" -H 'Content-Type: application/json' --data-binary "$2"
}
eos=2
[ "$(post /v1/completions '{"model":"'$model'","prompt":"Once upon a time","max_tokens":12,"seed":7,"logit_bias":{"'$eos'":-100}}')" = 200 ]
check "a completion: 200" $?
json "j['object'] == 'text_completion' and j['usage']['completion_tokens'] == 12 and j['choices'][0]['finish_reason'] == 'length' and len(j['choices'][0]['text']) > 0"
check "12 tokens, finish_reason length, usage counted" $?
cp "$tmp/body" "$tmp/first"
post /v1/completions '{"model":"'$model'","prompt":"Once upon a time","max_tokens":12,"seed":7,"logit_bias":{"'$eos'":-100}}' >/dev/null
python3 -c "import json; a=json.load(open('$tmp/first')); b=json.load(open('$tmp/body')); exit(a['choices'][0]['text'] != b['choices'][0]['text'])"
check "the same seed gives the same text" $?
post /v1/completions '{"model":"'$model'","prompt":["Once upon a time","Lily"],"max_tokens":5,"n":2,"seed":1}' >/dev/null
json "len(j['choices']) == 4 and [c['index'] for c in j['choices']] == [0,1,2,3]"
check "two prompts with n 2: four choices" $?
post /v1/completions '{"model":"'$model'","prompt":[1, 403, 407],"max_tokens":3,"temperature":0}' >/dev/null
json "j['usage']['prompt_tokens'] == 3"; check "a prompt of token ids" $?

# greedy text, then the same with a stop string taken from it
post /v1/completions '{"model":"'$model'","prompt":"Once upon a time","max_tokens":30,"temperature":0}' >/dev/null
greedy=$(python3 -c "import json; print(json.load(open('$tmp/body'))['choices'][0]['text'])")
word=$(echo "$greedy" | awk '{print $4}')
post /v1/completions '{"model":"'$model'","prompt":"Once upon a time","max_tokens":30,"temperature":0,"stop":["'"$word"'"]}' >/dev/null
json "j['choices'][0]['finish_reason'] == 'stop' and '$word' not in j['choices'][0]['text'] and '''$greedy'''.startswith(j['choices'][0]['text'])"
check "a stop string ends the text before it (\"$word\")" $?
post /v1/completions '{"model":"'$model'","prompt":"Once","max_tokens":4,"temperature":0,"logit_bias":{"403":100}}' >/dev/null
json "j['choices'][0]['text'].split() == ['Once'] * 4"; check "logit_bias +100 forces a token" $?
post /v1/completions '{"model":"'$model'","prompt":"Once","max_tokens":8,"temperature":1.5,"top_p":0.5,"seed":3}' >/dev/null
json "j['usage']['completion_tokens'] <= 8"; check "temperature and top_p are taken" $?

# streaming
curl -sN -H "$auth" "$base/v1/completions" \
  -d '{"model":"'$model'","prompt":"Once upon a time","max_tokens":12,"seed":7,"stream":true,"stream_options":{"include_usage":true},"logit_bias":{"'$eos'":-100}}' >"$tmp/stream"
[ "$(tail -n 2 "$tmp/stream" | head -n 1)" = "data: [DONE]" ]; check "a stream ends with data: [DONE]" $?
python3 - "$tmp/stream" "$tmp/first" <<'PY'
import json, sys
events = [l[6:] for l in open(sys.argv[1]).read().split("\n") if l.startswith("data: ")]
chunks = [json.loads(e) for e in events[:-1]]
text = "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
whole = json.load(open(sys.argv[2]))["choices"][0]["text"]
usage = chunks[-1]["usage"]
ok = text == whole and chunks[-2]["choices"][0]["finish_reason"] == "length" and usage["completion_tokens"] == 12
sys.exit(0 if ok else 1)
PY
check "the streamed chunks add up to the whole completion, then usage" $?

# chat: the messages rendered through the template (as transformers' apply_chat_template renders
# zephyr's, trim_blocks and lstrip_blocks on), tokenized with special-token parsing
msgs='[{"role":"system","content":"You tell stories."},{"role":"user","content":[{"type":"text","text":"Tell me "},{"type":"text","text":"about Lily."}]}]'
[ "$(post /v1/chat/completions '{"model":"'$model'","messages":'"$msgs"',"max_tokens":6,"seed":2}')" = 200 ]
check "a chat completion: 200" $?
printf '<|system|>\nYou tell stories.</s>\n<|user|>\nTell me about Lily.</s>\n<|assistant|>\n' >"$tmp/rendered"
n=$("$llm" tokenize -m "$stories" --no-special --parse-special -f "$tmp/rendered" | wc -w)
json "j['object'] == 'chat.completion' and j['choices'][0]['message']['role'] == 'assistant' and j['usage']['prompt_tokens'] == $n and j['usage']['completion_tokens'] <= 6"
check "  the prompt is the template's rendering ($n tokens), content parts joined" $?
[ "$(post /v1/chat/completions '{"model":"'$model'","messages":[{"role":"user"}]}')" = 400 ]
check "a message the template cannot render (no content): 400" $?
json "'template line' in j['error']['message']"; check "  naming the template's line" $?
[ "$(post /v1/chat/completions '{"model":"'$model'","messages":[{"content":"x"}]}')" = 400 ]
check "a message without a role: 400" $?
[ "$(post /v1/chat/completions '{"model":"'$model'","messages":"hi"}')" = 400 ]; check "messages not an array: 400" $?
[ "$(post /v1/chat/completions '{"model":"'$model'","messages":[{"role":"user","content":[{"type":"image_url"}]}]}')" = 400 ]
check "an image part: 400" $?

# malformed requests: 4xx with the error object, never a crash
[ "$(post /v1/completions '{"model":')" = 400 ]; check "truncated JSON: 400" $?
has_error None; check "the 400 body is OpenAI's error object" $?
[ "$(post /v1/completions '[1,2]')" = 400 ]; check "a JSON array body: 400" $?
[ "$(post /v1/completions '')" = 400 ]; check "an empty body: 400" $?
[ "$(post /v1/completions '{"prompt":"x"}')" = 400 ]; check "no model: 400" $?
[ "$(post /v1/completions '{"model":"gpt-4","prompt":"x"}')" = 404 ]; check "an unknown model: 404" $?
has_error "'model_not_found'"; check "  with code model_not_found" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","max_tokens":"12"}')" = 400 ]
check "max_tokens as a string: 400" $?
json "j['error']['param'] == 'max_tokens'"; check "  naming the parameter" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","max_tokens":65}')" = 400 ]
check "max_tokens above --max-tokens: 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","n":5}')" = 400 ]; check "n above --max-n: 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","temperature":9}')" = 400 ]; check "temperature 9: 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","stop":[1]}')" = 400 ]; check "a stop that is not a string: 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","logit_bias":{"99999":1}}')" = 400 ]; check "logit_bias outside the vocabulary: 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":[1,99999]}')" = 400 ]; check "a token id outside the vocabulary: 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","logprobs":2}')" = 400 ]; check "logprobs (not supported): 400" $?
[ "$(post /v1/completions '{"model":"'$model'","prompt":"x","model":"y"}')" = 400 ]; check "a duplicate key: 400" $?
printf '{"model":"%s","prompt":"\377\376"}' "$model" >"$tmp/badutf8"
[ "$(code POST /v1/completions -H "$auth" --data-binary @"$tmp/badutf8")" = 400 ]; check "invalid UTF-8: 400" $?
printf '{"model":"%s","prompt":"\\u\322\231"}' "$model" >"$tmp/badescape"
[ "$(code POST /v1/completions -H "$auth" --data-binary @"$tmp/badescape")" = 400 ]; check "a bad escape before raw bytes: 400" $?
has_error None; check "  the error quoting it is valid JSON" $?
long=$(python3 -c "print(' '.join(['Once upon a time'] * 80))")
[ "$(post /v1/completions '{"model":"'$model'","prompt":"'"$long"'"}')" = 400 ]; check "a prompt longer than the context: 400" $?
has_error "'context_length_exceeded'"; check "  with code context_length_exceeded" $?
[ "$(post /v1/embeddings '{"model":"'$model'","input":"x"}')" = 400 ]; check "embeddings from a decoder: 400" $?
big=$(python3 -c "print('x' * 5000)")
[ "$(post /v1/completions '{"model":"'$model'","prompt":"'"$big"'"}')" = 413 ]; check "a body above --max-body: 413" $?
python3 -c "print('{\"model\":\"$model\",\"prompt\":\"' + 'x' * 5000 + '\"}')" >"$tmp/big.json"
[ "$(code POST /v1/completions -H "$auth" -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big.json")" = 413 ]
check "a chunked body above --max-body: 413" $?
hdr=$(python3 -c "print('x' * 40000)")
c=$(code GET /v1/models -H "$auth" -H "X-Big: $hdr")
[ "$c" = 431 ] || [ "$c" = 413 ]; check "headers above --max-header: $c" $?
[ "$(code GET /v1/completions -H "$auth")" = 405 ]; check "GET on a POST endpoint: 405" $?
[ "$(code GET /v1/nothing -H "$auth")" = 404 ]; check "an unknown path: 404" $?
[ "$(code GET /health)" = 200 ]; check "the server is still up after all that" $?
# prompt-prefix reuse: the same prompt again goes to the slot that holds it, and only its last
# token is evaluated anew
metric_auth() { curl -s -H "$auth" "$base/metrics" | sed -n "s/^$1 //p"; }
r0=$(metric_auth llm_prompt_tokens_reused_total)
post /v1/completions '{"model":"'$model'","prompt":"Lily and Tom went to the park to play with a ball","max_tokens":2}' >/dev/null
json "j['usage']['prompt_tokens'] > 8"; check "a longer prompt" $?
np=$(python3 -c "import json; print(json.load(open('$tmp/body'))['usage']['prompt_tokens'])")
r1=$(metric_auth llm_prompt_tokens_reused_total)
post /v1/completions '{"model":"'$model'","prompt":"Lily and Tom went to the park to play with a ball","max_tokens":2}' >/dev/null
r2=$(metric_auth llm_prompt_tokens_reused_total)
[ $((r2 - r1)) -eq $((np - 1)) ]; check "the same prompt again reuses $((np - 1)) of its $np tokens (reused $r0 -> $r1 -> $r2)" $?
curl -s -H "$auth" "$base/metrics" >"$tmp/metrics"
grep -q '^llm_requests_total{endpoint="/v1/completions",status="200"} [1-9]' "$tmp/metrics"
check "/metrics counts requests by endpoint and status" $?
grep -q '^llm_time_to_first_token_seconds_count [1-9]' "$tmp/metrics"; check "/metrics has time to first token" $?
grep -q '^llm_generated_tokens_total [1-9]' "$tmp/metrics"; check "/metrics counts tokens" $?
grep -q '^llm_slots_total 2$' "$tmp/metrics"; check "/metrics has the slots" $?
stop_server; check "SIGTERM: exit 0" $?

# a template that raises: its message, 400
printf "{{ raise_exception('Conversation roles must alternate') }}" >"$tmp/raise.jinja"
start_server raise -m "$stories" --chat-template "$tmp/raise.jinja"
[ "$(code POST /v1/chat/completions -d '{"model":"stories260K","messages":[{"role":"user","content":"x"}]}')" = 400 ]
check "a template's raise_exception: 400" $?
json "'Conversation roles must alternate' in j['error']['message']"; check "  with its message" $?
stop_server; check "SIGTERM: exit 0" $?

# ---- embeddings ------------------------------------------------------------------------------ #
start_server bert -m "$bert" --slots 1
post() { code POST "$1" -H 'Content-Type: application/json' --data-binary "$2"; }
[ "$(post /v1/embeddings '{"model":"bert-tiny-mean-f32","input":["hello world","a cat"]}')" = 200 ]
check "embeddings: 200" $?
json "len(j['data']) == 2 and len(j['data'][1]['embedding']) == 64 and j['usage']['prompt_tokens'] > 0"
check "two vectors of 64 floats" $?
cp "$tmp/body" "$tmp/floats"
post /v1/embeddings '{"model":"bert-tiny-mean-f32","input":["hello world","a cat"],"encoding_format":"base64"}' >/dev/null
python3 - "$tmp/floats" "$tmp/body" <<'PY'
import base64, json, struct, sys
f = json.load(open(sys.argv[1]))["data"]
b = json.load(open(sys.argv[2]))["data"]
ok = all(abs(x - y) <= 1e-6 * max(1, abs(x)) for i in range(2)
         for x, y in zip(f[i]["embedding"], struct.unpack("<64f", base64.b64decode(b[i]["embedding"]))))
sys.exit(0 if ok else 1)
PY
check "base64 embeddings are the same float32 vectors" $?
[ "$(post /v1/embeddings '{"model":"bert-tiny-mean-f32","input":"x","dimensions":3}')" = 400 ]; check "other dimensions: 400" $?
[ "$(post /v1/completions '{"model":"bert-tiny-mean-f32","prompt":"x"}')" = 400 ]; check "completions from an encoder: 400" $?
stop_server; check "SIGTERM: exit 0" $?

# ---- a slower model: one slot, one queue place ----------------------------------------------- #
LLM_TEST_DATA="$data" "$maker" "$tmp/slow.gguf" --layers 2 --embd 256 --heads 4 --ctx 1024 \
  --type q8_0 >/dev/null || { echo "FAIL: make_gpt2_model"; exit 1; }
start_server slow -m "$tmp/slow.gguf" --slots 1 --queue 1 -t 1 --shutdown-grace 30
long_req='{"model":"slow","prompt":"Hello","max_tokens":1000,"seed":1,"stream":true,"logit_bias":{"50256":-100}}'
wait_for_data() { # FILE: waits until the stream has sent an event
  i=0
  while ! grep -q '^data: ' "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}
wait_idle() { # waits until no slot is busy; true when that happened within 10 s
  i=0
  while [ "$(metric llm_slots_busy)" != 0 ]; do
    i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
  done
}
curl -sN "$base/v1/completions" -d "$long_req" >"$tmp/a" &
a=$!
wait_for_data "$tmp/a"
curl -s "$base/v1/completions" -d '{"model":"slow","prompt":"Hi","max_tokens":2}' >"$tmp/b" &
b=$!
i=0
while [ "$(metric llm_queue_depth)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(code POST /v1/completions -d '{"model":"slow","prompt":"Hi","max_tokens":2}')" = 429 ]
check "slot busy and queue full: 429" $?
has_error "'rate_limit_exceeded'"; check "  with code rate_limit_exceeded" $?
kill "$a"
wait "$a" 2>/dev/null
wait "$b"
python3 -c "import json; j=json.load(open('$tmp/b')); exit(j['usage']['completion_tokens'] != 2)"
check "the client that disconnected mid-stream freed its slot for the queued request" $?
[ "$(metric llm_requests_cancelled_total)" = 1 ]; check "  and its job was cancelled" $?
wait_idle; check "  no slot stays busy" $?

curl -s --max-time 1 "$base/v1/completions" \
  -d '{"model":"slow","prompt":"Hello","max_tokens":1000,"logit_bias":{"50256":-100}}' >/dev/null
wait_idle; check "a client that gives up waiting frees its slot" $?
[ "$(metric llm_requests_cancelled_total)" = 2 ]; check "  and its job was cancelled" $?

[ "$(code POST /v1/chat/completions -d '{"model":"slow","messages":[{"role":"user","content":"hi"}]}')" = 400 ]
check "chat with a model that has no template: 400" $?
has_error "'unsupported_model'"; check "  with code unsupported_model" $?

# SIGTERM lets the request in flight finish
curl -sN "$base/v1/completions" \
  -d '{"model":"slow","prompt":"Hello","max_tokens":10,"stream":true,"logit_bias":{"50256":-100}}' >"$tmp/c" &
c=$!
wait_for_data "$tmp/c"
stop_server; check "SIGTERM during a request: exit 0" $?
wait "$c"
grep -q '^data: \[DONE\]' "$tmp/c"; check "  after the request in flight finished" $?

# and with no grace, cancels it
start_server slow2 -m "$tmp/slow.gguf" --slots 1 -t 1 --shutdown-grace 0
curl -sN "$base/v1/completions" -d "$long_req" >"$tmp/d" &
d=$!
wait_for_data "$tmp/d"
stop_server; check "SIGTERM with --shutdown-grace 0: exit 0" $?
wait "$d"
! grep -q '^data: \[DONE\]' "$tmp/d"; check "  the long request was cut off" $?

exit $fail
