"""Python bindings for libllm: run transformer language models on the CPU.

    import libllm
    with libllm.Model.open("model.gguf") as model:
        print(model.generate("Once upon a time", max_tokens=32, temperature=0))
        for piece in model.stream("One day"):
            print(piece, end="")

Pure ctypes and the standard library; numpy is used for embeddings when it is importable.
Models are immutable and may be shared between threads; a Session belongs to one thread at a time.
"""
import ctypes

from . import _native
from ._native import lib

__all__ = ["version", "kernel_isa", "LLMError", "Tokenizer", "Model", "Session",
           "cosine_similarity"]


def version():
    """The running library's version string ("0.2.0")."""
    return lib.llm_version_string().decode()


def kernel_isa():
    """The kernel tier in use ("generic", "avx2", ...)."""
    return lib.llm_kernel_isa().decode()


# ------------------------------------------------------------------------------------------------
# errors

class LLMError(Exception):
    """A libllm call failed. `status` is the llm_status code, the message says what was wrong."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class InvalidArgument(LLMError, ValueError):
    pass


class FormatError(LLMError):
    pass


class Unsupported(LLMError):
    pass


class ContextFull(LLMError):
    pass


class Cancelled(LLMError):
    pass


_ERRORS = {1: InvalidArgument, 2: MemoryError, 3: OSError, 4: FormatError, 5: Unsupported,
           9: Cancelled, 10: ContextFull, 11: InvalidArgument, 12: FormatError}


def _check(status, message=None):
    if status == 0:
        return
    msg = message if message is not None else lib.llm_last_error().decode(errors="replace")
    text = "%s: %s" % (lib.llm_status_string(status).decode(), msg)
    cls = _ERRORS.get(status, LLMError)
    if cls is MemoryError:
        raise MemoryError(text)
    if cls is OSError:
        err = LLMError(status, text)
        raise OSError(text) from err
    raise cls(status, text)


# ------------------------------------------------------------------------------------------------
# handles

class _Handle:
    """A C handle released by close(): usable as a context manager, released when collected."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# ------------------------------------------------------------------------------------------------
# tokenizer

ENCODE_ADD_SPECIAL = 1
ENCODE_PARSE_SPECIAL = 2
DECODE_SKIP_SPECIAL = 1


class Tokenizer(_Handle):
    """A tokenizer, from a model (`model.tokenizer`) or opened alone with `from_file`."""

    def __init__(self, handle, owner=None):
        self._h = handle
        self._owner = owner  # a Model keeps the borrowed handle alive

    @classmethod
    def from_file(cls, path):
        """Opens a .gguf, tokenizer.json, .model, vocab.txt, vocab.json or a HF directory."""
        h = ctypes.c_void_p()
        _check(lib.llm_tokenizer_open(str(path).encode(), ctypes.byref(h)))
        return cls(h, None)

    def close(self):
        if self._h and self._owner is None:
            lib.llm_tokenizer_close(self._h)
        self._h = None

    def encode(self, text, add_special=False, parse_special=False):
        """Token ids of `text` (str or bytes)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        flags = (ENCODE_ADD_SPECIAL if add_special else 0) | \
                (ENCODE_PARSE_SPECIAL if parse_special else 0)
        n = ctypes.c_size_t()
        st = lib.llm_tokenizer_encode(self._h, data, len(data), flags, None, 0, ctypes.byref(n))
        if st not in (0, 13):
            _check(st)
        buf = (ctypes.c_int32 * max(n.value, 1))()
        _check(lib.llm_tokenizer_encode(self._h, data, len(data), flags, buf, n.value,
                                        ctypes.byref(n)))
        return list(buf[:n.value])

    def decode(self, ids, skip_special=False):
        """Text of a list of ids."""
        ids = list(ids)
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        flags = DECODE_SKIP_SPECIAL if skip_special else 0
        n = ctypes.c_size_t()
        st = lib.llm_tokenizer_decode(self._h, arr, len(ids), flags, None, 0, ctypes.byref(n))
        if st not in (0, 13):
            _check(st)
        buf = ctypes.create_string_buffer(n.value + 1)
        _check(lib.llm_tokenizer_decode(self._h, arr, len(ids), flags, buf, n.value + 1,
                                        ctypes.byref(n)))
        return buf.raw[:n.value].decode(errors="replace")

    @property
    def vocab_size(self):
        return lib.llm_tokenizer_vocab_size(self._h)

    def special(self, name):
        """Id of a special token ("bos", "eos", "unk", "pad", "sep", "cls", "mask") or None."""
        which = ["bos", "eos", "unk", "pad", "sep", "cls", "mask", "eot",
                 "decoder_start"].index(name)
        i = lib.llm_tokenizer_special(self._h, which)
        return None if i < 0 else i


# ------------------------------------------------------------------------------------------------
# sessions

PARAMS = {"temperature": (1, float), "top_k": (2, int), "top_p": (3, float),
          "min_p": (4, float), "typical_p": (5, float), "repeat_penalty": (6, float),
          "frequency_penalty": (7, float), "presence_penalty": (8, float),
          "penalty_last_n": (9, int), "seed": (10, int), "max_tokens": (11, int),
          "threads": (12, int), "num_beams": (13, int), "length_penalty": (14, float),
          "early_stopping": (15, int), "n_best": (16, int), "ignore_eos": (17, int)}

STOP_REASONS = {0: None, 1: "eos", 2: "max_tokens", 3: "stop", 4: "cancelled",
                5: "context_full"}


class Session(_Handle):
    """A conversation with a model (KV cache, sampler). Use from one thread at a time."""

    def __init__(self, model, n_ctx=0, threads=0, kv_f16=False, **params):
        opts = _native.SessionOptions()
        lib.llm_session_options_init(ctypes.byref(opts))
        opts.n_ctx = n_ctx
        opts.n_threads = threads
        opts.kv_type = 1 if kv_f16 else 0
        h = ctypes.c_void_p()
        _check(lib.llm_session_create(model._h, ctypes.byref(opts), ctypes.byref(h)))
        self._h = h
        self.model = model  # keeps the model object alive; the C side holds a reference too
        self.set(**params)

    def close(self):
        if self._h:
            lib.llm_session_destroy(self._h)
        self._h = None

    def _fail(self, st):
        _check(st, lib.llm_session_last_error(self._h).decode(errors="replace"))

    def set(self, stop=None, **params):
        """Sets sampling parameters by name (temperature=0.7, top_k=40, ...) and stop strings."""
        for key, value in params.items():
            if key not in PARAMS:
                raise TypeError("unknown parameter %r (known: %s)" % (key, ", ".join(PARAMS)))
            pid, kind = PARAMS[key]
            if kind is int:
                st = lib.llm_session_set_int(self._h, pid, int(value))
            else:
                st = lib.llm_session_set_float(self._h, pid, float(value))
            if st:
                self._fail(st)
        if stop is not None:
            lib.llm_session_clear_stops(self._h)
            for s in ([stop] if isinstance(stop, str) else stop):
                st = lib.llm_session_add_stop(self._h, s.encode())
                if st:
                    self._fail(st)
        return self

    def load_preset(self, path):
        st = lib.llm_session_load_preset(self._h, str(path).encode())
        if st:
            self._fail(st)

    def feed(self, ids, logits=False):
        """Feeds token ids (a seq2seq model's encoder input). With logits=True returns the
        logits of every position as a list of rows."""
        ids = list(ids)
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        if not logits:
            st = lib.llm_session_feed(self._h, arr, len(ids), None, 0)
            if st:
                self._fail(st)
            return None
        n_vocab = self.model.info["n_vocab"]
        out = (ctypes.c_float * (len(ids) * n_vocab))()
        st = lib.llm_session_feed(self._h, arr, len(ids), out, len(out))
        if st:
            self._fail(st)
        return [list(out[i * n_vocab:(i + 1) * n_vocab]) for i in range(len(ids))]

    def feed_prompt(self, ids):
        """Makes the context equal to `ids`, reusing the cached prefix; returns tokens reused."""
        ids = list(ids)
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        reused = ctypes.c_size_t()
        st = lib.llm_session_feed_prompt(self._h, arr, len(ids), ctypes.byref(reused))
        if st:
            self._fail(st)
        return reused.value

    def logits(self):
        n = ctypes.c_size_t()
        p = lib.llm_session_logits(self._h, ctypes.byref(n))
        return list(p[:n.value]) if p else None

    def _prompt(self, prompt):
        if prompt is None:
            # continue from the current context: a decoder fed zero tokens starts a new
            # generation where the last one ended
            if self.model.info["family"] == 0:
                self.feed([])
            return
        if isinstance(prompt, str):
            ids = self.model.tokenizer.encode(prompt, add_special=True)
        else:
            ids = list(prompt)
        self.feed_prompt(ids)

    def _steps(self, prompt, params):
        """Yields (token id or -1, text piece) until generation stops."""
        self.set(**params)
        self._prompt(prompt)
        tid = ctypes.c_int32()
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        why = ctypes.c_int()
        while True:
            st = lib.llm_session_step(self._h, ctypes.byref(tid), ctypes.byref(text),
                                      ctypes.byref(n), ctypes.byref(why))
            if st:
                self._fail(st)
            piece = ctypes.string_at(text.value, n.value).decode(errors="replace") if n.value else ""
            yield tid.value, piece
            if why.value != 0:
                return

    def stream(self, prompt=None, **params):
        """Yields text pieces as they are generated (after feeding `prompt`, a str or ids)."""
        for _, piece in self._steps(prompt, params):
            if piece:
                yield piece

    def generate(self, prompt=None, **params):
        """The whole continuation as one string."""
        return "".join(self.stream(prompt, **params))

    def tokens(self, prompt=None, **params):
        """Yields generated token ids."""
        for tid, _ in self._steps(prompt, params):
            if tid >= 0:
                yield tid

    @property
    def stop_reason(self):
        return STOP_REASONS.get(lib.llm_session_stop_reason(self._h))

    def cancel(self):
        """Stops generation at the next token; callable from another thread."""
        lib.llm_session_cancel(self._h)

    def save_state(self):
        n = ctypes.c_size_t()
        _check(lib.llm_session_save_state(self._h, None, 0, ctypes.byref(n)))
        buf = ctypes.create_string_buffer(n.value)
        _check(lib.llm_session_save_state(self._h, buf, n.value, ctypes.byref(n)))
        return buf.raw[:n.value]

    def load_state(self, data):
        st = lib.llm_session_load_state(self._h, data, len(data))
        if st:
            self._fail(st)

    def fork(self):
        h = ctypes.c_void_p()
        _check(lib.llm_session_fork(self._h, ctypes.byref(h)))
        s = Session.__new__(Session)
        s._h = h
        s.model = self.model
        return s

    def embed(self, texts, normalize=None, pooling=None, truncate=False):
        """Embeddings of texts: a list of lists (a numpy array when numpy is importable)."""
        return self.model._embed_with(self, texts, normalize, pooling, truncate)


# ------------------------------------------------------------------------------------------------
# models

POOLING = {None: -1, "model": -1, "none": 0, "mean": 1, "cls": 2, "last": 3, "max": 4}


class Model(_Handle):
    """A loaded model (GGUF file or Hugging Face directory). Immutable, thread-safe."""

    def __init__(self, handle):
        self._h = handle
        self._tokenizer = None

    @classmethod
    def open(cls, path, verify=False, mmap=None):
        opts = _native.ModelOptions()
        lib.llm_model_options_init(ctypes.byref(opts))
        opts.verify = 1 if verify else 0
        if mmap is not None:
            opts.load_mode = 1 if mmap else 2
        h = ctypes.c_void_p()
        _check(lib.llm_model_open(str(path).encode(), ctypes.byref(opts), ctypes.byref(h)))
        return cls(h)

    def close(self):
        """Drops this reference; sessions still running keep the model alive."""
        if self._h:
            lib.llm_model_close(self._h)
        self._h = None

    @property
    def info(self):
        i = _native.ModelInfo()
        i.struct_size = ctypes.sizeof(i)
        _check(lib.llm_model_get_info(self._h, ctypes.byref(i)))
        return {name: getattr(i, name) for name, _ in i._fields_ if name != "struct_size"}

    @property
    def arch(self):
        return lib.llm_model_arch_name(self._h).decode()

    @property
    def embedding_dim(self):
        return lib.llm_model_embedding_dim(self._h)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(ctypes.c_void_p(lib.llm_model_tokenizer(self._h)), self)
        return self._tokenizer

    def session(self, **kwargs):
        """A new Session (n_ctx=..., threads=..., and any sampling parameter)."""
        return Session(self, **kwargs)

    def generate(self, prompt, n_ctx=0, threads=0, **params):
        with self.session(n_ctx=n_ctx, threads=threads) as s:
            return s.generate(prompt, **params)

    def stream(self, prompt, n_ctx=0, threads=0, **params):
        with self.session(n_ctx=n_ctx, threads=threads) as s:
            yield from s.stream(prompt, **params)

    def embed(self, texts, normalize=None, pooling=None, truncate=False, threads=0):
        """Sentence embeddings [len(texts)][dim]; normalize/pooling default to the model's."""
        with self.session(threads=threads) as s:
            return self._embed_with(s, texts, normalize, pooling, truncate)

    def _embed_with(self, session, texts, normalize, pooling, truncate):
        single = isinstance(texts, str)
        if single:
            texts = [texts]
        opts = _native.EmbedOptions()
        lib.llm_embed_options_init(ctypes.byref(opts))
        opts.pooling = POOLING[pooling]
        opts.normalize = -1 if normalize is None else int(bool(normalize))
        opts.truncate = int(bool(truncate))
        dim = self.embedding_dim
        arr = (ctypes.c_char_p * len(texts))(*[t.encode() for t in texts])
        out = (ctypes.c_float * (len(texts) * dim))()
        st = lib.llm_session_embed(session._h, arr, len(texts), ctypes.byref(opts), out, len(out),
                                   None)
        if st:
            session._fail(st)
        rows = [list(out[i * dim:(i + 1) * dim]) for i in range(len(texts))]
        try:
            import numpy
            rows = numpy.array(rows, dtype=numpy.float32)
        except ImportError:
            pass
        return rows[0] if single else rows


def cosine_similarity(a, b):
    a = list(a)
    b = list(b)
    fa = (ctypes.c_float * len(a))(*a)
    fb = (ctypes.c_float * len(b))(*b)
    return lib.llm_cosine_similarity(fa, fb, min(len(a), len(b)))
