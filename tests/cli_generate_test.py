#!/usr/bin/env python3
"""`llm generate` output and policies on stories260K: --json (one object per line: text, ids,
finish_reason, usage, timings) against the reference greedy ids; --seed -1 (a random seed, printed,
that reproduces the run when given back); --context-policy error|shift at a full context (the text
so far kept, finish_reason "context", exit 0; shift goes on to max_tokens).

    cli_generate_test.py PATH/TO/llm
Exit 0 pass, 1 fail, 77 skip (no data; a failure under CI=true).
"""
import json
import os
import re
import subprocess
import sys

llm = sys.argv[1]
data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or "../shared/data"
model = os.path.join(data, "models", "stories260K", "stories260K.gguf")
failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok: " if ok else "FAIL: ") + what + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        failures += 1


def run(*args):
    return subprocess.run([llm, "generate", *args], capture_output=True, text=True)


def usage_error(what, *args):
    r = run(*args)
    check(f"{what}: exit 2 ({r.stderr.strip().splitlines()[0] if r.stderr else ''})",
          r.returncode == 2)


usage_error("--ids with --json", "-m", "x", "-p", "y", "--ids", "--json")
usage_error("--context-policy=wrap", "-m", "x", "-p", "y", "--context-policy=wrap")
usage_error("--seed=junk", "-m", "x", "-p", "y", "--seed=junk")

if not os.path.isfile(model):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {model} is missing")
        sys.exit(1)
    print(f"SKIP: {model} is missing (set LLM_TEST_DATA)")
    sys.exit(77 if failures == 0 else 1)


def one_json(r, what):
    lines = r.stdout.splitlines()
    ok = r.returncode == 0 and len(lines) == 1
    check(f"{what}: exit 0 and exactly one line", ok, f"exit {r.returncode}, {len(lines)} lines, "
          f"{r.stderr.strip()}")
    try:
        return json.loads(lines[0]) if ok else {}
    except ValueError as e:
        check(f"{what}: the line is JSON", False, str(e))
        return {}


# greedy from BOS: the 256 reference ids, their text, finish "length"
ref = open(os.path.join(data, "models", "stories260K", "stories260K.greedy256.ids")).read().split()
ref = [int(x) for x in ref[1:]]
doc = one_json(run("-m", model, "--prompt-ids=1", "--temp=0", "-n", "256", "--ctx=512", "--json"),
               "greedy --json")
check("--json has text, ids, finish_reason, usage and timings",
      all(k in doc for k in ("text", "ids", "finish_reason", "usage", "timings")), str(doc)[:200])
check("--json ids = the 256 reference greedy ids", doc.get("ids") == ref)
detok = subprocess.run([llm, "detokenize", "-m", model, " ".join(map(str, ref))],
                       capture_output=True, text=True).stdout
check("--json text = the detokenized ids", doc.get("text") == detok.rstrip("\n"),
      f"{doc.get('text', '')[:60]!r} vs {detok[:60]!r}")
check("finish_reason length after -n 256", doc.get("finish_reason") == "length")
usage = doc.get("usage", {})
check("usage counts 1 prompt and 256 completion tokens",
      usage.get("prompt_tokens") == 1 and usage.get("completion_tokens") == 256, str(usage))
t = doc.get("timings", {})
check("timings in llama.cpp server's names",
      t.get("prompt_n") == 1 and t.get("predicted_n") == 256 and t.get("predicted_ms", -1) >= 0
      and t.get("predicted_per_second", -1) >= 0 and t.get("prompt_ms", -1) >= 0, str(t))
plain = run("-m", model, "--prompt-ids", "1", "--temp", "0", "-n", "256", "--ctx", "512").stdout
check("plain output = the JSON text", plain.rstrip("\n") == doc.get("text"))

# --seed -1: a random seed, printed, that reproduces the run
r1 = run("-m", model, "-p", "Once upon a time", "-n", "24", "--seed", "-1", "--json")
m1 = re.search(r"seed (\d+)", r1.stderr)
check("--seed -1 prints the seed it drew", m1 is not None, r1.stderr.strip())
d1 = one_json(r1, "--seed -1 --json")
if m1:
    check("the JSON reports the same seed", d1.get("seed") == int(m1.group(1)), str(d1.get("seed")))
    d2 = one_json(run("-m", model, "-p", "Once upon a time", "-n", "24", "--seed", m1.group(1),
                      "--json"), "--seed SEED")
    check("--seed with the printed seed gives the same ids", d1.get("ids") == d2.get("ids"))
seeds = set()
for _ in range(3):
    m = re.search(r"seed (\d+)", run("-m", model, "-p", "x", "-n", "1", "--seed=-1").stderr)
    seeds.add(m.group(1) if m else None)
check("three --seed -1 runs draw different seeds", len(seeds) == 3 and None not in seeds, seeds)
r = run("-m", model, "-p", "x", "-n", "1", "--seed", "7")
check("a fixed seed is not printed", "seed" not in r.stderr, r.stderr.strip())

# a full context: the text so far, finish "context", exit 0; shift goes on
doc = one_json(run("-m", model, "--prompt-ids", "1", "--temp", "0", "-n", "100", "--ctx", "32",
                   "--json"), "full context, default policy")
check("default policy: finish_reason context", doc.get("finish_reason") == "context")
check("default policy: the 31 ids that fit are kept", doc.get("ids") == ref[:31],
      f"{len(doc.get('ids', []))} ids")
r = run("-m", model, "--prompt-ids", "1", "--temp", "0", "-n", "100", "--ctx", "32")
check("plain output at a full context: exit 0, the text kept, the flag named",
      r.returncode == 0 and r.stdout.strip() != "" and "--context-policy shift" in r.stderr,
      f"exit {r.returncode}: {r.stderr.strip()}")
doc = one_json(run("-m", model, "--prompt-ids", "1", "--temp", "0", "-n", "100", "--ctx", "32",
                   "--context-policy=shift", "--json"), "full context, shift")
check("shift: 100 tokens, finish_reason length",
      doc.get("finish_reason") == "length" and len(doc.get("ids", [])) == 100,
      f"{doc.get('finish_reason')}, {len(doc.get('ids', []))} ids")
check("shift: the first 31 ids are the reference's", doc.get("ids", [])[:31] == ref[:31])
doc = one_json(run("-m", model, "--prompt-ids", "1", "--temp", "0", "-n", "100", "--ctx", "32",
                   "--context-policy", "error", "--json"), "--context-policy error")
check("--context-policy error = the default", doc.get("finish_reason") == "context")

# beam search: one object per hypothesis
r = run("-m", model, "-p", "Once upon", "-n", "6", "--beams", "3", "--json")
lines = r.stdout.splitlines()
ok = r.returncode == 0 and len(lines) == 1
docs = [json.loads(x) for x in lines] if ok else []
check("--beams 3 --json: one line for the best hypothesis, rank 1 with text and ids",
      ok and docs[0].get("rank") == 1 and len(docs[0].get("ids", [])) >= 1 and "text" in docs[0],
      r.stdout[:200])

print(f"{failures} failed")
sys.exit(1 if failures else 0)
