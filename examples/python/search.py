#!/usr/bin/env python3
"""Semantic search over the lines of a file with libllm sentence embeddings.

    python3 search.py MODEL DOCS.txt "a query" [-k 5]

MODEL is a sentence-embedding model (BGE, MiniLM, E5, ...) as a GGUF file or a Hugging Face
directory. Every line of DOCS.txt is embedded in one batched call (sequences are packed without
padding), the query is embedded the same way, and the lines are printed by decreasing cosine
similarity.

This example talks to the C API directly through ctypes, so it needs nothing but libllm.so:
set LIBLLM to its path when it is not installed where the dynamic loader looks.
"""
import argparse
import ctypes
import ctypes.util
import os
import sys


class EmbedOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("pooling", ctypes.c_int32),
                ("normalize", ctypes.c_int32), ("truncate", ctypes.c_int32),
                ("add_special", ctypes.c_int32)]


class EmbedResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("pooling", ctypes.c_int32),
                ("normalized", ctypes.c_int32), ("n_tokens", ctypes.c_uint64)]


def load_library():
    path = os.environ.get("LIBLLM") or ctypes.util.find_library("llm") or "libllm.so.0"
    lib = ctypes.CDLL(path)
    vp, sz, i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    lib.llm_model_open.argtypes = [ctypes.c_char_p, vp, ctypes.POINTER(vp)]
    lib.llm_model_open.restype = i32
    lib.llm_model_close.argtypes = [vp]
    lib.llm_model_embedding_dim.argtypes = [vp]
    lib.llm_model_embedding_dim.restype = sz
    lib.llm_session_create.argtypes = [vp, vp, ctypes.POINTER(vp)]
    lib.llm_session_create.restype = i32
    lib.llm_session_destroy.argtypes = [vp]
    lib.llm_session_last_error.argtypes = [vp]
    lib.llm_session_last_error.restype = ctypes.c_char_p
    lib.llm_last_error.restype = ctypes.c_char_p
    lib.llm_embed_options_init.argtypes = [ctypes.POINTER(EmbedOptions)]
    lib.llm_session_embed.argtypes = [vp, ctypes.POINTER(ctypes.c_char_p), sz,
                                      ctypes.POINTER(EmbedOptions),
                                      ctypes.POINTER(ctypes.c_float), sz,
                                      ctypes.POINTER(EmbedResult)]
    lib.llm_session_embed.restype = i32
    return lib


class Embedder:
    """A model and a session that turn texts into L2-normalized sentence vectors."""

    def __init__(self, lib, model_path):
        self.lib = lib
        self.model = ctypes.c_void_p()
        if lib.llm_model_open(model_path.encode(), None, ctypes.byref(self.model)) != 0:
            raise RuntimeError(lib.llm_last_error().decode())
        self.session = ctypes.c_void_p()
        if lib.llm_session_create(self.model, None, ctypes.byref(self.session)) != 0:
            lib.llm_model_close(self.model)
            raise RuntimeError(lib.llm_last_error().decode())
        self.dim = lib.llm_model_embedding_dim(self.model)

    def embed(self, texts):
        opt = EmbedOptions()
        self.lib.llm_embed_options_init(ctypes.byref(opt))
        opt.normalize = 1
        opt.truncate = 1
        res = EmbedResult(struct_size=ctypes.sizeof(EmbedResult))
        arr = (ctypes.c_char_p * len(texts))(*[t.encode() for t in texts])
        out = (ctypes.c_float * (len(texts) * self.dim))()
        st = self.lib.llm_session_embed(self.session, arr, len(texts), ctypes.byref(opt), out,
                                        len(out), ctypes.byref(res))
        if st == 8:  # LLM_ERR_STATE: the model names no pooling; mean is the usual choice
            opt.pooling = 1
            st = self.lib.llm_session_embed(self.session, arr, len(texts), ctypes.byref(opt),
                                            out, len(out), ctypes.byref(res))
        if st != 0:
            raise RuntimeError(self.lib.llm_session_last_error(self.session).decode())
        return [list(out[i * self.dim:(i + 1) * self.dim]) for i in range(len(texts))]

    def close(self):
        self.lib.llm_session_destroy(self.session)
        self.lib.llm_model_close(self.model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("docs", help="text file, one document per line")
    ap.add_argument("query")
    ap.add_argument("-k", type=int, default=5, help="results to show")
    args = ap.parse_args()

    with open(args.docs, encoding="utf-8") as f:
        docs = [line.strip() for line in f if line.strip()]
    if not docs:
        sys.exit(f"{args.docs}: no documents")
    emb = Embedder(load_library(), args.model)
    try:
        doc_vecs = emb.embed(docs)
        (q,) = emb.embed([args.query])
    finally:
        emb.close()
    # Normalized vectors: the dot product is the cosine similarity.
    scores = sorted(((sum(a * b for a, b in zip(q, v)), d) for v, d in zip(doc_vecs, docs)),
                    reverse=True)
    for score, doc in scores[:args.k]:
        print(f"{score:6.3f}  {doc}")


if __name__ == "__main__":
    main()
