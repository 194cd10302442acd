#!/usr/bin/env python3
"""Stream a continuation of a prompt with the libllm Python package.

    LLM_LIBRARY=build/lib/libllm.so PYTHONPATH=bindings/python \
        python3 examples/python/generate.py [MODEL.gguf [PROMPT]]

Without arguments it runs the project's own model, models/shakespeare-char.gguf, on "ROMEO:".
"""
import os
import sys

import libllm


def main():
    if len(sys.argv) > 3:
        sys.exit("usage: generate.py [MODEL [PROMPT]]")
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "models", "shakespeare-char.gguf")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    prompt = sys.argv[2] if len(sys.argv) > 2 else "ROMEO:"
    with libllm.Model.open(path) as model, model.session(temperature=0, max_tokens=48) as s:
        print(prompt, end="", flush=True)
        for piece in s.stream(prompt):
            print(piece, end="", flush=True)
        print(f"\n[{model.arch}, stopped: {s.stop_reason}]")


if __name__ == "__main__":
    main()
