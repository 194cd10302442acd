#!/usr/bin/env python3
"""`llm serve` under concurrent clients: 16 clients at once (streaming and not) on 4 slots, each
request with a fixed seed; every answer must be 200 and equal, text for text, to the same request
sent alone. Afterwards no slot is busy, nothing is queued, and SIGTERM exits 0. This is the test
the ThreadSanitizer build of CI runs.
  concurrent_test.py PATH/TO/llm"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading

llm = sys.argv[1]
data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or "../shared/data"
model_path = os.path.join(data, "models", "stories260K", "stories260K.gguf")
if not os.path.exists(model_path):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {model_path} is missing")
        sys.exit(1)
    print(f"SKIP: {model_path} is missing (set LLM_TEST_DATA)")
    sys.exit(77)

srv = subprocess.Popen([llm, "serve", "-m", model_path, "--port", "0", "--slots", "4",
                        "--queue", "32", "--ctx", "256", "-t", "1"],
                       stderr=subprocess.PIPE, text=True)
port = None
for line in srv.stderr:
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
if port is None:
    print("FAIL: the server did not start")
    sys.exit(1)
threading.Thread(target=lambda: [sys.stderr.write(l) for l in srv.stderr], daemon=True).start()

PROMPTS = ["Once upon a time", "Lily and Tom", "The dog ran", "One day"]


def request(i, stream):
    body = {"model": "stories260K", "prompt": PROMPTS[i % 4], "max_tokens": 24 + i % 8,
            "seed": 100 + i, "temperature": 0.9, "stream": stream, "logit_bias": {"2": -100}}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        return f"HTTP {r.status}"
    if not stream:
        return json.loads(r.read())["choices"][0]["text"]
    text = []
    for raw in r:
        line = raw.decode().strip()
        if line == "data: [DONE]":
            return "".join(text)
        if line.startswith("data: "):
            text += [c["text"] for c in json.loads(line[6:])["choices"]]
    return "stream ended without [DONE]"


def metric(name):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    for line in conn.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    return None


fail = 0


def check(what, ok):
    global fail
    print(("ok: " if ok else "FAIL: ") + what)
    fail |= not ok


N = 32
alone = [request(i, False) for i in range(N)]
check("every request alone: 200", all(not t.startswith("HTTP") for t in alone))
together = [None] * N


def client(c):
    for i in range(c, N, 16):
        together[i] = request(i, stream=(i % 2 == 0))


threads = [threading.Thread(target=client, args=(c,)) for c in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check("16 clients at once: every answer 200", all(t and not t.startswith("HTTP") for t in together))
same = sum(1 for a, b in zip(alone, together) if a == b)
check(f"with a fixed seed, each text equals the single-client one ({same}/{N})", same == N)
check("afterwards no slot is busy", metric("llm_slots_busy") == "0")
check("  and nothing is queued", metric("llm_queue_depth") == "0")
srv.send_signal(signal.SIGTERM)
check("SIGTERM: exit 0", srv.wait(timeout=120) == 0)
sys.exit(fail)
