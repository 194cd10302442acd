#!/usr/bin/env python3
"""Runs the commands and programs of docs/GUIDE.md and compares what they print with the output
shown there.

```console blocks: each `$ COMMAND` line runs in bash; the lines after it, up to the next `$`, are
its expected stdout. A ```python block followed by a ```text block: the program runs and must
print the text. In expected output `...` alone on a line stands for any lines, `...` within a
line for any characters, and numbers match with a relative tolerance of 1e-4 (the kernels of
another CPU round differently). Commands run in a scratch folder holding the guide's model files
(links into the reference data), with `llm` on PATH and the built Python package importable.

usage: guide_test.py GUIDE.md LLM_CLI LIBLLM_SO PYTHON_PACKAGE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

NUM = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


def blocks(text):
    """(kind, body lines) of each fenced block."""
    out, cur, kind = [], None, None
    for line in text.split("\n"):
        if cur is None:
            m = re.match(r"^```(\w*)\s*$", line)
            if m:
                cur, kind = [], m.group(1)
        elif line.startswith("```"):
            out.append((kind, cur))
            cur = None
        else:
            cur.append(line)
    return out


def line_matches(exp, got):
    parts = re.split(r"(\.\.\.|" + NUM + ")", exp)
    pattern, nums = "", []
    for p in parts:
        if p == "...":
            pattern += ".*?"
        elif p and re.fullmatch(NUM, p):
            pattern += "(" + NUM + ")"
            nums.append(p)
        else:
            pattern += re.escape(p)
    m = re.fullmatch(pattern, got)
    if not m:
        return False
    for e, g in zip(nums, m.groups()):
        if re.fullmatch(r"-?\d+", e):
            if e != g:
                return False
        elif abs(float(e) - float(g)) > 1e-4 * max(1.0, abs(float(e))):
            return False
    return True


def lines_match(exp, got):
    if not exp:
        return not got
    if exp[0] == "...":
        return any(lines_match(exp[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and line_matches(exp[0], got[0]) and lines_match(exp[1:], got[1:])


def main():
    guide, cli, lib, pkg = sys.argv[1:5]
    data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or \
        "../shared/data"
    files = {"stories260K.gguf": "models/stories260K/stories260K.gguf",
             "bert-tiny.gguf": "golden/models/bert-tiny-mean-f32.gguf"}
    if not all(os.path.exists(os.path.join(data, f)) for f in files.values()):
        if os.environ.get("CI") == "true":
            sys.exit("FAIL: the guide's models are missing in %s (CI=true requires them)" % data)
        print("SKIP: the guide's models are missing in %s (set LLM_TEST_DATA)" % data)
        sys.exit(77)
    with open(guide) as f:
        text = f.read()
    work = tempfile.mkdtemp(prefix="llm-guide-")
    for name, rel in files.items():
        os.symlink(os.path.abspath(os.path.join(data, rel)), os.path.join(work, name))
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(cli)) + os.pathsep +
               os.environ.get("PATH", ""), LLM_LIBRARY=os.path.abspath(lib),
               PYTHONPATH=os.path.abspath(pkg), PYTHONDONTWRITEBYTECODE="1")
    cases = []  # (what, command argv, expected lines)
    bl = blocks(text)
    for i, (kind, body) in enumerate(bl):
        if kind == "console":
            cmd = None
            for line in body + ["$"]:
                if line.startswith("$"):
                    if cmd is not None:
                        cases.append((cmd, ["bash", "-o", "pipefail", "-c", cmd], exp))
                    cmd, exp = line[1:].strip(), []
                else:
                    exp.append(line)
        elif kind == "python" and i + 1 < len(bl) and bl[i + 1][0] == "text":
            cases.append(("python: " + body[-1].strip(), [sys.executable, "-c", "\n".join(body)],
                          bl[i + 1][1]))
    failures = 0
    for what, argv, exp in cases:
        if argv[-1] == "":
            continue
        r = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        got = r.stdout.rstrip("\n").split("\n") if r.stdout.strip() else []
        while exp and exp[-1] == "":
            exp = exp[:-1]
        if r.returncode != 0 or not lines_match(exp, got):
            failures += 1
            print("FAIL: %s (exit %d)\n--- expected\n%s\n--- got\n%s\n--- stderr\n%s"
                  % (what, r.returncode, "\n".join(exp), "\n".join(got), r.stderr[-2000:]))
        else:
            print("ok: %s" % what)
    print("%d passed, %d failed" % (len(cases) - failures, failures))
    sys.exit(1 if failures or not cases else 0)


if __name__ == "__main__":
    main()
