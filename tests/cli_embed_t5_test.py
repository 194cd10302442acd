#!/usr/bin/env python3
"""`llm embed --pooling none` on encoder-decoder (T5) models: one vector per input token, the
encoder's output, as raw float32 (-o) and as TSV rows. Compared with the golden encoder outputs of
../shared/data/golden (an independent float64 implementation, cross-checked against llama.cpp) at
the manifest's tolerances, and run on a longer input of a random T5 of another width made by
make_t5_model. The default pooling of a T5 file stays one mean vector per text.

    cli_embed_t5_test.py PATH/TO/llm PATH/TO/make_t5_model
Exit 0 pass, 1 fail, 77 skip (no data; a failure under CI=true).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

llm, make_t5 = sys.argv[1], sys.argv[2]
data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or "../shared/data"
golden = os.path.join(data, "golden")
failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok: " if ok else "FAIL: ") + what + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        failures += 1


def floats(path):
    with open(path, "rb") as f:
        raw = f.read()
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def rel_err(got, want):
    scale = max(abs(x) for x in want)
    return max(abs(a - b) for a, b in zip(got, want)) / scale


def run(*args):
    return subprocess.run([llm, *args], capture_output=True, text=True)


if not os.path.isfile(os.path.join(golden, "manifest.json")):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {golden}/manifest.json is missing")
        sys.exit(1)
    print(f"SKIP: {golden} is missing (set LLM_TEST_DATA)")
    sys.exit(77)

manifest = json.load(open(os.path.join(golden, "manifest.json")))
tolerance = {"f32": 0.002, "f16": 0.002, "q8_0": 0.05, "q4_0": 0.05}
tmp = tempfile.mkdtemp()
cases = [c for c in manifest["cases"] if c["arch"] == "t5"]
check("the manifest has T5 cases", len(cases) >= 4)
for case in cases:
    model = os.path.join(golden, manifest["models"][case["model"]]["file"])
    ids = case["input"]["ids"]
    enc = case["outputs"]["encoder"]
    T, E = enc["shape"]
    want = floats(os.path.join(golden, enc["file"]))
    tol = tolerance[case["weight_type"]]
    out = os.path.join(tmp, "tokens.f32")
    r = run("embed", "-m", model, "--prompt-ids", " ".join(map(str, ids)), "--pooling", "none",
            "-o", out)
    check(f"{case['name']}: embed --pooling none -o exits 0", r.returncode == 0, r.stderr.strip())
    if r.returncode != 0:
        continue
    got = floats(out)
    check(f"{case['name']}: {T} x {E} floats written", len(got) == T * E, f"{len(got)} floats")
    if len(got) == T * E:
        e = rel_err(got, want)
        check(f"{case['name']}: token vectors = golden encoder output within {tol} (got {e:.2e})",
              e <= tol, f"{e:.3g}")
    check(f"{case['name']}: the write is reported", f"wrote {T} x {E} float32" in r.stderr,
          r.stderr.strip())
    # TSV: INPUT, POSITION, ID, values
    r = run("embed", "-m", model, "--prompt-ids=" + " ".join(map(str, ids)), "--pooling=none")
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    ok = r.returncode == 0 and len(rows) == T and all(
        row[0] == "0" and int(row[1]) == t and int(row[2]) == ids[t] and len(row) == 3 + E
        for t, row in enumerate(rows))
    check(f"{case['name']}: TSV has one row per token with position and id", ok,
          r.stderr.strip())
    if ok:
        tsv = [float(v) for row in rows for v in row[3:]]
        check(f"{case['name']}: TSV values = golden", rel_err(tsv, want) <= tol)
    # default pooling: one mean vector (the mean of the golden token vectors)
    r = run("embed", "-m", model, "--prompt-ids", " ".join(map(str, ids)), "-o", out)
    got = floats(out) if r.returncode == 0 else []
    mean = [sum(want[t * E + j] for t in range(T)) / T for j in range(E)]
    check(f"{case['name']}: default pooling gives one mean vector",
          len(got) == E and rel_err(got, mean) <= tol, r.stderr.strip())

# A longer input on a model of another width: the buffer holds every token's vector.
small = os.path.join(tmp, "t5-small-random.gguf")
tok = os.path.join(golden, "models", "t5-tiny-relu-f32.gguf")
r = subprocess.run([make_t5, small, "--layers", "1", "--dec-layers", "1", "--embd", "48",
                    "--heads", "2", "--dkv", "24", "--ff", "96", "--vocab", "1536", "--ctx", "128",
                    "--tokenizer", tok], capture_output=True, text=True)
check("make_t5_model writes a 48-wide T5", r.returncode == 0, r.stderr.strip())
if r.returncode == 0:
    ids = [(i * 37) % 1500 + 3 for i in range(69)] + [1]
    out = os.path.join(tmp, "long.f32")
    r = run("embed", "-m", small, "--prompt-ids", " ".join(map(str, ids)), "--pooling", "none",
            "-o", out)
    check("70 token vectors of a 48-wide T5 (exit 0)", r.returncode == 0, r.stderr.strip())
    check("70 x 48 floats written", r.returncode == 0 and os.path.getsize(out) == 70 * 48 * 4)
    # the TSV form of the same run carries the same vectors
    r2 = run("embed", "-m", small, "--prompt-ids", " ".join(map(str, ids)), "--pooling", "none")
    rows = r2.stdout.splitlines()
    check("TSV of the same input has 70 rows", r2.returncode == 0 and len(rows) == 70)
    if r.returncode == 0 and len(rows) == 70:
        tsv = [float(v) for line in rows for v in line.split("\t")[3:]]
        got = floats(out)
        check("TSV and -o agree", len(tsv) == len(got) and rel_err(tsv, got) <= 1e-6)

print(f"{failures} failed")
sys.exit(1 if failures else 0)
