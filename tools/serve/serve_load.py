#!/usr/bin/env python3
"""Load benchmark of `llm serve` on the loopback interface: N concurrent streaming clients send a
fixed number of completion requests, for N in --clients (default 1, 4, 16). It starts the server
itself (on a free 127.0.0.1 port), stops by itself, and reports for each N: requests/s, generated
tokens/s, time to first token (p50, p99) and the server's RSS. Every request has a fixed seed, so
its text must equal what the same request gave with a single client; any failed request or
different text makes the exit status 1.

  nice -n 10 tools/serve/serve_load.py --llm build/tools/llm/llm -m MODEL.gguf \\
      [--slots 4] [--requests 32] [--max-tokens 64] [--clients 1,4,16]

Standard library only. A benchmark, not a test: run it by hand, under nice.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

PROMPTS = ["Once upon a time", "The little dog", "In the morning, Lily", "Tom and his friend",
           "The sun was", "She opened the box", "One day, a bird", "The old man said"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one_request(port, model, i, max_tokens, eos):
    """Streams request i; returns (text, completion tokens, ttft seconds, total seconds)."""
    body = {"model": model, "prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": max_tokens,
            "seed": 1000 + i, "temperature": 0.8, "stream": True,
            "stream_options": {"include_usage": True}}
    if eos is not None:  # generate exactly max_tokens: the load is then the same every run
        body["logit_bias"] = {str(eos): -100}
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/v1/completions", json.dumps(body),
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"request {i}: HTTP {resp.status}: {resp.read()[:200]!r}")
    text, ttft, tokens, done = [], None, 0, False
    for raw in resp:
        line = raw.decode().rstrip("\n")
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        if "error" in chunk:
            raise RuntimeError(f"request {i}: {chunk['error']['message']}")
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
        for c in chunk["choices"]:
            if c["text"] and ttft is None:
                ttft = time.monotonic() - t0
            text.append(c["text"])
    conn.close()
    if not done:
        raise RuntimeError(f"request {i}: the stream ended without [DONE]")
    return "".join(text), tokens, ttft if ttft is not None else time.monotonic() - t0, \
        time.monotonic() - t0


def run_level(port, model, clients, n_requests, max_tokens, eos):
    results, errors = {}, []
    lock = threading.Lock()
    next_i = [0]

    def worker():
        while True:
            with lock:
                i = next_i[0]
                if i >= n_requests:
                    return
                next_i[0] += 1
            try:
                r = one_request(port, model, i, max_tokens, eos)
                with lock:
                    results[i] = r
            except Exception as e:  # noqa: BLE001 - every failure is reported
                with lock:
                    errors.append(str(e))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors, time.monotonic() - t0


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(p / 100 * (len(v) - 1)))))
    return v[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llm", required=True, help="the llm program")
    ap.add_argument("-m", "--model", required=True, help="a decoder model")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0, help="threads per slot (0: the server's)")
    ap.add_argument("--requests", type=int, default=32, help="requests at each level")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--eos", type=int, default=None,
                    help="EOS id to bias away so that every request generates --max-tokens")
    a = ap.parse_args()
    levels = [int(x) for x in a.clients.split(",")]
    cmd = [a.llm, "serve", "-m", a.model, "--host", "127.0.0.1", "--port", "0",
           "--slots", str(a.slots), "--queue", str(max(levels) + 4)]
    if a.threads:
        cmd += ["-t", str(a.threads)]
    srv = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    port, model = None, None
    for line in srv.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+) \(model '([^']+)'", line)
        if m:
            port, model = int(m.group(1)), m.group(2)
            break
    if port is None:
        sys.exit("llm serve did not start")
    threading.Thread(target=lambda: [None for _ in srv.stderr], daemon=True).start()
    ok = True
    try:
        # the reference: every request alone, one client
        base, errs, _ = run_level(port, model, 1, a.requests, a.max_tokens, a.eos)
        if errs:
            sys.exit("the single-client reference failed: " + errs[0])
        rss0 = rss_kib(srv.pid)
        print(f"model {model}, {a.slots} slots, {a.requests} streaming requests per level, "
              f"max_tokens {a.max_tokens}; reference RSS {rss0 / 1024:.1f} MiB")
        print(f"{'clients':>7} {'failed':>6} {'differ':>6} {'req/s':>8} {'tok/s':>9} "
              f"{'ttft p50':>9} {'ttft p99':>9} {'RSS MiB':>8}")
        for c in levels:
            res, errs, secs = run_level(port, model, c, a.requests, a.max_tokens, a.eos)
            differ = sum(1 for i, r in res.items() if r[0] != base[i][0])
            tokens = sum(r[1] for r in res.values())
            ttfts = [r[2] for r in res.values()]
            rss = rss_kib(srv.pid)
            print(f"{c:>7} {len(errs):>6} {differ:>6} {len(res) / secs:>8.2f} "
                  f"{tokens / secs:>9.1f} {pct(ttfts, 50) * 1e3:>7.1f}ms "
                  f"{pct(ttfts, 99) * 1e3:>7.1f}ms {rss / 1024:>8.1f}")
            for e in errs[:3]:
                print("  error:", e)
            ok = ok and not errs and differ == 0
        rss1 = rss_kib(srv.pid)
        growth = (rss1 - rss0) / max(rss0, 1)
        print(f"RSS after the reference {rss0 / 1024:.1f} MiB, at the end {rss1 / 1024:.1f} MiB "
              f"({growth * 100:+.1f} %)")
    finally:
        srv.send_signal(signal.SIGTERM)
        rc = srv.wait(timeout=60)
        print(f"server exit status {rc}")
        ok = ok and rc == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
