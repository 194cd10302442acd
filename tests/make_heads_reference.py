#!/usr/bin/python3
"""Reference outputs for the encoder task heads, computed without libllm.

1. Sequence classification on the shared training data (data/train/bert-tiny-*-f32/seq_cls):
   logits = cls_head.weight @ pooled + cls_head.bias and their softmax, in float64 with numpy,
   from the PyTorch pooled outputs stored there.
2. Two tiny Hugging Face folders with one random BERT encoder, written here, and their outputs
   from a BERT forward pass written below in PyTorch (float64), following the Hugging Face
   modeling_bert layout (post-LayerNorm encoder, erf GELU):
     tests/data/heads/bert-seqcls-tiny  BertForSequenceClassification (pooler + classifier,
                                        id2label), with the logits and probabilities of a few texts;
     tests/data/heads/bert-mlm-tiny     BertForMaskedLM (cls.predictions, decoder tied to the word
                                        embeddings), with the top-5 tokens of every [MASK].
   Texts use whole words of the tiny vocabulary only, so the ids are those of the word list.

Writes tests/data/heads/expected.json. Needs Debian's python3-numpy and python3-torch:
    /usr/bin/python3 tests/make_heads_reference.py [DATA_DIR]
"""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "heads")
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# 1. cls_head on the stored pooled outputs

def seq_cls_reference():
    man = json.load(open(os.path.join(DATA, "train", "manifest.json")))
    out = {}
    for key in ("bert-tiny-mean-f32", "bert-tiny-cls-f32"):
        rec = man["models"][key]["recipes"]["seq_cls"]
        d = os.path.join(DATA, "train", key, "seq_cls")
        E = man["models"][key]["hparams"]["n_embd"]
        L = rec["n_labels"]
        pooled = np.fromfile(os.path.join(d, "pooled.f32"), "<f4").astype(np.float64).reshape(-1, E)
        w = np.fromfile(os.path.join(d, "cls_head.weight.f32"), "<f4").astype(np.float64)
        b = np.fromfile(os.path.join(d, "cls_head.bias.f32"), "<f4").astype(np.float64)
        logits = pooled @ w.reshape(L, E).T + b
        # the manifest's logits come from the same torch run: the two must agree
        assert np.abs(logits - np.array(rec["logits"])).max() < 1e-6, key
        out[key] = {"seqs": rec["seqs"], "logits": logits.tolist(),
                    "probs": softmax(logits).tolist()}
    return out


# ---------------------------------------------------------------------------------------------
# 2. tiny Hugging Face folders

WORDS = ("the a cat dog sat ran on to mat park good bad day night sun moon tree house red blue "
         "big small happy sad runs jumps sleeps eats fish bird and is was very").split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
CFG = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
       "intermediate_size": 32, "max_position_embeddings": 32, "type_vocab_size": 2,
       "vocab_size": len(VOCAB), "layer_norm_eps": 1e-12, "hidden_act": "gelu",
       "model_type": "bert", "pad_token_id": 0}


def encoder_weights(rng):
    E, F, T, V = CFG["hidden_size"], CFG["intermediate_size"], CFG["max_position_embeddings"], len(VOCAB)
    w = {}
    def lin(name, n_out, n_in, scale=0.3):
        w[name + ".weight"] = rng.standard_normal((n_out, n_in)) * scale
        w[name + ".bias"] = rng.standard_normal(n_out) * 0.1
    def ln(name, n):
        w[name + ".weight"] = 1.0 + rng.standard_normal(n) * 0.1
        w[name + ".bias"] = rng.standard_normal(n) * 0.1
    w["bert.embeddings.word_embeddings.weight"] = rng.standard_normal((V, E)) * 0.5
    w["bert.embeddings.position_embeddings.weight"] = rng.standard_normal((T, E)) * 0.2
    w["bert.embeddings.token_type_embeddings.weight"] = rng.standard_normal((2, E)) * 0.2
    ln("bert.embeddings.LayerNorm", E)
    for i in range(CFG["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % i
        lin(p + "attention.self.query", E, E)
        lin(p + "attention.self.key", E, E)
        lin(p + "attention.self.value", E, E)
        lin(p + "attention.output.dense", E, E)
        ln(p + "attention.output.LayerNorm", E)
        lin(p + "intermediate.dense", F, E)
        lin(p + "output.dense", E, F)
        ln(p + "output.LayerNorm", E)
    return w


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * t(w) + t(b)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / np.sqrt(2.0)))


def encode(w, ids):
    """Hidden states (T, E) of BertModel for one sequence, token type 0, no padding."""
    E, H, eps = CFG["hidden_size"], CFG["num_attention_heads"], CFG["layer_norm_eps"]
    D = E // H
    T = len(ids)
    x = (t(w["bert.embeddings.word_embeddings.weight"])[ids]
         + t(w["bert.embeddings.position_embeddings.weight"])[:T]
         + t(w["bert.embeddings.token_type_embeddings.weight"])[0])
    x = layer_norm(x, w["bert.embeddings.LayerNorm.weight"], w["bert.embeddings.LayerNorm.bias"], eps)
    def lin(name, v):
        return v @ t(w[name + ".weight"]).T + t(w[name + ".bias"])
    for i in range(CFG["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % i
        q = lin(p + "attention.self.query", x).view(T, H, D).transpose(0, 1)
        k = lin(p + "attention.self.key", x).view(T, H, D).transpose(0, 1)
        v = lin(p + "attention.self.value", x).view(T, H, D).transpose(0, 1)
        a = torch.softmax(q @ k.transpose(1, 2) / np.sqrt(D), dim=-1) @ v  # (H, T, D)
        a = a.transpose(0, 1).reshape(T, E)
        x = layer_norm(lin(p + "attention.output.dense", a) + x,
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(lin(p + "intermediate.dense", x))
        x = layer_norm(lin(p + "output.dense", h) + x, w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    return x


def tokenize(text):
    return [VOCAB.index("[CLS]")] + [VOCAB.index(word) for word in text.split()] + [VOCAB.index("[SEP]")]


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_folder(name, cfg, tensors):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    open(os.path.join(d, "vocab.txt"), "w").write("\n".join(VOCAB) + "\n")
    json.dump({"do_lower_case": True}, open(os.path.join(d, "tokenizer_config.json"), "w"))
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)


def seqcls_folder(rng, enc):
    E = CFG["hidden_size"]
    labels = ["negative", "neutral", "positive"]
    w = dict(enc)
    w["bert.pooler.dense.weight"] = rng.standard_normal((E, E)) * 0.4
    w["bert.pooler.dense.bias"] = rng.standard_normal(E) * 0.1
    w["classifier.weight"] = rng.standard_normal((len(labels), E)) * 0.8
    w["classifier.bias"] = rng.standard_normal(len(labels)) * 0.1
    cfg = dict(CFG, architectures=["BertForSequenceClassification"],
               id2label={str(i): l for i, l in enumerate(labels)},
               label2id={l: i for i, l in enumerate(labels)})
    write_folder("bert-seqcls-tiny", cfg, w)
    texts = ["the cat sat on the mat", "a dog ran to the park", "good day", "the big red house is very small"]
    logits = []
    for text in texts:
        h = encode(w, tokenize(text))
        z = torch.tanh(h[0] @ t(w["bert.pooler.dense.weight"]).T + t(w["bert.pooler.dense.bias"]))
        logits.append((z @ t(w["classifier.weight"]).T + t(w["classifier.bias"])).tolist())
    logits = np.array(logits)
    return {"labels": labels, "texts": texts, "logits": logits.tolist(),
            "probs": softmax(logits).tolist()}


def mlm_folder(rng, enc):
    E, V = CFG["hidden_size"], len(VOCAB)
    w = dict(enc)
    w["cls.predictions.transform.dense.weight"] = rng.standard_normal((E, E)) * 0.4
    w["cls.predictions.transform.dense.bias"] = rng.standard_normal(E) * 0.1
    w["cls.predictions.transform.LayerNorm.weight"] = 1.0 + rng.standard_normal(E) * 0.1
    w["cls.predictions.transform.LayerNorm.bias"] = rng.standard_normal(E) * 0.1
    w["cls.predictions.bias"] = rng.standard_normal(V) * 0.2
    cfg = dict(CFG, architectures=["BertForMaskedLM"])
    write_folder("bert-mlm-tiny", cfg, w)
    texts = ["the cat [MASK] on the mat", "a [MASK] ran to the [MASK]", "[MASK] day"]
    out = []
    for text in texts:
        ids = tokenize(text)
        h = encode(w, ids)
        masks = []
        for pos, i in enumerate(ids):
            if i != VOCAB.index("[MASK]"):
                continue
            g = h[pos] @ t(w["cls.predictions.transform.dense.weight"]).T + t(w["cls.predictions.transform.dense.bias"])
            g = layer_norm(gelu(g), w["cls.predictions.transform.LayerNorm.weight"],
                           w["cls.predictions.transform.LayerNorm.bias"], CFG["layer_norm_eps"])
            logits = g @ t(w["bert.embeddings.word_embeddings.weight"]).T + t(w["cls.predictions.bias"])
            p = torch.softmax(logits, dim=-1).numpy()
            top = np.argsort(-p, kind="stable")[:5]
            masks.append({"position": pos, "ids": top.tolist(),
                          "pieces": [VOCAB[j] for j in top], "probs": p[top].tolist()})
        out.append({"text": text, "masks": masks})
    return out


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(16016)
    enc = encoder_weights(rng)
    expected = {
        "generator": "tests/make_heads_reference.py (numpy %s, torch %s, float64)" % (np.__version__, torch.__version__),
        "seq_cls_head": seq_cls_reference(),
        "bert-seqcls-tiny": seqcls_folder(rng, enc),
        "bert-mlm-tiny": mlm_folder(rng, enc),
    }
    json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"), indent=1)
    print("wrote", os.path.join(OUT, "expected.json"))


if __name__ == "__main__":
    main()
