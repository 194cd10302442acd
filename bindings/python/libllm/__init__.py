"""libllm for Python: run transformer language models (GPT-2, Llama, BERT, T5) on the CPU.

Text completion, in libllm's terms and in llama-cpp-python's::

    import libllm

    with libllm.Model("stories260K.gguf") as model:
        c = model.complete("Once upon a time", max_tokens=32, temperature=0)
        print(c.text, c.finish_reason, c.usage)
        for piece in model.stream("One day", max_tokens=32):
            print(piece, end="", flush=True)
        out = model("Once upon a time", max_tokens=16)   # the dict llama-cpp-python returns
        print(out["choices"][0]["text"])

Sentence embeddings, in sentence-transformers' terms::

    with libllm.Model("bge-small-en-v1.5.gguf") as model:
        vectors = model.encode(["The cat sat on the mat.", "A dog runs."],
                               normalize_embeddings=True)   # numpy array (2, 384)

Chat, in llama-cpp-python's and transformers' terms::

    out = model.create_chat_completion([{"role": "user", "content": "Hi!"}], max_tokens=64)
    print(out["choices"][0]["message"]["content"])
    prompt = model.apply_chat_template(messages, add_generation_prompt=True)

Tokenizers, in Hugging Face's terms: ``model.tokenizer.encode(text)`` adds the model's special
tokens, ``decode(ids, skip_special_tokens=True)``.

Failures raise :class:`LLMError` subclasses that are also the built-in exception Python users
expect (``FileNotFoundError`` for a missing model file, ``ValueError`` for a bad value or a
malformed file); ``.status`` is the C library's status code.

The package is ctypes over ``libllm.so``: the copy ``pip install ./bindings/python`` built and
put inside the package, or ``$LLM_LIBRARY`` when that is set. numpy is used for embeddings when
it is installed. Models are immutable and may be shared between threads; a Session belongs to one
thread at a time.
"""
from __future__ import annotations

from . import errors
from ._native import lib
from .errors import (ArgumentTypeError, Cancelled, ContextFull, FileMissing, FormatError,
                     InvalidArgument, IOFailure, LimitExceeded, LLMError, OutOfMemory,
                     StateError, TemplateError, TooLong, Unsupported)
from .chat import render_chat_template
from .model import Model, cosine_similarity
from .session import FINISH_REASONS, Completion, Prompt, Session
from .tokenizer import Tokenizer

#: The version of this package; the library it loads reports its own in :func:`version`.
__version__ = "0.2.0"


def version() -> str:
    """The loaded library's version string ("0.2.0")."""
    return lib.llm_version_string().decode()


def kernel_isa() -> str:
    """The kernel tier in use ("generic", "avx2", "avx512", "neon")."""
    return lib.llm_kernel_isa().decode()


def library_path() -> str:
    """The path of the libllm.so this package loaded."""
    return str(lib._name)


__all__ = [
    "__version__", "version", "kernel_isa", "library_path",
    "Model", "Session", "Completion", "Tokenizer", "Prompt", "FINISH_REASONS",
    "cosine_similarity", "render_chat_template", "errors",
    "LLMError", "InvalidArgument", "ArgumentTypeError", "TooLong", "OutOfMemory", "IOFailure",
    "FileMissing", "FormatError", "Unsupported", "LimitExceeded", "StateError", "TemplateError",
    "Cancelled", "ContextFull",
]
