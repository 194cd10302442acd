#!/usr/bin/env python3
"""Semantic search over the lines of a file with libllm sentence embeddings.

    LLM_LIBRARY=build/lib/libllm.so PYTHONPATH=bindings/python \
        python3 examples/python/search.py MODEL DOCS.txt "a query" [-k 5]

MODEL is a sentence-embedding model (BGE, MiniLM, E5, ...) as a GGUF file or a Hugging Face
directory. Every line of DOCS.txt is embedded in one batched call (sequences are packed without
padding), the query is embedded the same way, and the lines are printed by decreasing cosine
similarity.

Without arguments it checks itself on the tiny BERT of the reference data
($LLM_TEST_DATA/golden/models/bert-tiny-mean-f32.gguf; exit status 77 when it is absent): a query
equal to one of the documents must come first with similarity 1.
"""
import argparse
import os
import sys

import libllm

BUILTIN_DOCS = [
    "The cat sat on the mat.",
    "A dog is running in the park.",
    "Stock markets fell sharply on Monday.",
    "The new house had three bedrooms and a garden.",
    "They were the first ones in the new house.",
    "Heavy rain is expected over the weekend.",
]


def rank(model, docs, query, k):
    """(similarity, document) pairs, best first. Pooling is the model's own (mean when it names
    none); vectors are L2-normalized so that a dot product is the cosine similarity."""
    pooling = "mean" if model.info["pooling"] == 0 else None
    with model.session() as s:
        doc_vecs = s.embed(docs, normalize=True, pooling=pooling, truncate=True)
        q = s.embed(query, normalize=True, pooling=pooling, truncate=True)
    scores = [(float(sum(a * b for a, b in zip(q, v))), d) for v, d in zip(doc_vecs, docs)]
    return sorted(scores, reverse=True)[:k]


def self_test():
    data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") \
        or "../shared/data"
    path = os.path.join(data, "golden", "models", "bert-tiny-mean-f32.gguf")
    if not os.path.exists(path):
        print(f"SKIP: {path} is missing (set LLM_TEST_DATA)", file=sys.stderr)
        sys.exit(77)
    query = BUILTIN_DOCS[4]
    with libllm.Model.open(path) as model:
        top = rank(model, BUILTIN_DOCS, query, 3)
    for score, doc in top:
        print(f"{score:6.3f}  {doc}")
    if top[0][1] != query or top[0][0] < 0.9999:
        sys.exit("FAIL: the query's own document is not first with similarity 1")


def main():
    if len(sys.argv) == 1:
        self_test()
        return
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
    with libllm.Model.open(args.model) as model:
        for score, doc in rank(model, docs, args.query, args.k):
            print(f"{score:6.3f}  {doc}")


if __name__ == "__main__":
    main()
