#!/usr/bin/env python3
"""The default model (models/shakespeare-char.gguf) and README command 1.

1. The file follows llama.cpp's conventions for a GPT-2 with a byte-level vocabulary, read here
   with an independent GGUF reader: general.architecture "gpt2"; the gpt2.* hyper-parameter keys
   llama.cpp's GPT-2 loader reads; tokenizer.ggml.model "gpt2" with a pre-tokenizer llama.cpp
   knows ("gpt-2"), 257 tokens in GPT-2's byte-to-unicode spelling, token types, a merges array
   (empty: every byte is a token), BOS/EOS; llama.cpp's tensor names, including the biases its
   loader requires. With ../shared/data beside the project, the key and tensor-name sets are also
   compared with a GPT-2 file llama.cpp's converter wrote (golden/models/gpt2-tiny-f32.gguf).
2. README.md's first command, run with the built `llm`, prints exactly the text README.md shows.

    default_model_test.py PATH/TO/llm SOURCE_ROOT
"""
import os
import re
import struct
import subprocess
import sys

llm, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
MODEL = os.path.join(root, "models", "shakespeare-char.gguf")
failed = False


def check(what, ok):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed |= not ok


def read_gguf(path):
    """Metadata and tensor (name, type, dims) of a GGUF v3 file."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
              12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert data[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    tensors = {}
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        ttype, _off = take("I"), take("Q")
        tensors[name] = (ttype, dims)
    return version, kv, tensors


def bytes_to_unicode():
    """GPT-2's byte-to-unicode table (the spelling of byte tokens in a byte-level BPE vocab)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


check("models/shakespeare-char.gguf exists", os.path.isfile(MODEL))
if os.path.isfile(MODEL):
    size = os.path.getsize(MODEL)
    check("the model is at most 4 MB (%d bytes)" % size, size <= 4 * 1024 * 1024)
    version, kv, tensors = read_gguf(MODEL)
    check("GGUF version 3", version == 3)
    check("general.architecture is gpt2", kv.get("general.architecture") == "gpt2")
    for key in ("gpt2.context_length", "gpt2.embedding_length", "gpt2.feed_forward_length",
                "gpt2.block_count", "gpt2.attention.head_count",
                "gpt2.attention.layer_norm_epsilon"):
        check("has %s" % key, key in kv)
    check("tokenizer.ggml.model is gpt2", kv.get("tokenizer.ggml.model") == "gpt2")
    check("tokenizer.ggml.pre is llama.cpp's 'gpt-2' (got %r)" % kv.get("tokenizer.ggml.pre"),
          kv.get("tokenizer.ggml.pre") == "gpt-2")
    toks = kv.get("tokenizer.ggml.tokens", [])
    b2u = bytes_to_unicode()
    check("257 tokens: the 256 bytes in GPT-2's spelling, then <|endoftext|>",
          len(toks) == 257 and all(toks[b] == b2u[b] for b in range(256))
          and toks[256] == "<|endoftext|>")
    types = kv.get("tokenizer.ggml.token_type", [])
    check("token types: bytes normal (1), <|endoftext|> control (3)",
          len(types) == 257 and set(types[:256]) == {1} and types[256] == 3)
    check("a merges array (llama.cpp requires one)", isinstance(kv.get("tokenizer.ggml.merges"), list))
    check("BOS and EOS are <|endoftext|>",
          kv.get("tokenizer.ggml.bos_token_id") == 256 and kv.get("tokenizer.ggml.eos_token_id") == 256)
    n_layer = kv.get("gpt2.block_count", 0)
    need = ["token_embd.weight", "position_embd.weight", "output_norm.weight", "output_norm.bias"]
    for i in range(n_layer):
        for t in ("attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"):
            need += ["blk.%d.%s.weight" % (i, t), "blk.%d.%s.bias" % (i, t)]
    missing = [t for t in need if t not in tensors]
    check("every tensor llama.cpp's GPT-2 loader requires (missing: %s)" % missing, not missing)
    extra = [t for t in tensors if t not in need and t != "output.weight"]
    check("no tensor llama.cpp does not know (extra: %s)" % extra, not extra)
    check("matrices stored as f16 or q8_0",
          all(tensors[t][0] in (1, 8) for t in tensors if len(tensors[t][1]) == 2))
    data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or ""
    golden = os.path.join(data, "golden", "models", "gpt2-tiny-f32.gguf")
    if os.path.isfile(golden):
        _, gkv, gt = read_gguf(golden)
        gkeys = {k for k in gkv if k.startswith("gpt2.")}
        keys = {k for k in kv if k.startswith("gpt2.")}
        check("the same gpt2.* keys as llama.cpp's converter writes (%s)" % sorted(gkeys ^ keys),
              gkeys == keys)
        pattern = lambda names: {re.sub(r"blk\.\d+\.", "blk.N.", n) for n in names}
        check("the same tensor names as llama.cpp's converter writes (%s)"
              % sorted(pattern(gt) ^ pattern(tensors)),
              pattern(tensors) <= pattern(gt))
    else:
        print("skip: no golden GPT-2 file to compare with (%s)" % golden)

# README command 1: the generate part of the first command, and the text README.md shows
readme = open(os.path.join(root, "README.md")).read()
m = re.search(r"build/tools/llm/llm generate (.*?)\n```", readme)
check("README's first command runs llm generate", m is not None)
shown = re.search(r"With the default model the first command prints[^`]*```\n(.*?)\n```", readme,
                  re.S)
check("README shows the first command's output", shown is not None)
if m and shown:
    # run it as the README writes it, from the repository root, with MODEL unset
    env = {k: v for k, v in os.environ.items() if k != "MODEL"}
    env["LLM"] = llm
    out = subprocess.run(["sh", "-c", '"$LLM" generate ' + m.group(1)], capture_output=True,
                         text=True, cwd=root, env=env)
    check("the first command exits 0 (%s)" % out.stderr.strip()[-200:], out.returncode == 0)
    same = out.stdout.rstrip("\n") == shown.group(1)
    check("it prints exactly README's text", same)
    if not same:
        print("--- printed:\n%s\n--- README:\n%s" % (out.stdout, shown.group(1)))
sys.exit(1 if failed else 0)
