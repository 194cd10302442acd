"""Sessions: a model's context (KV cache) and sampler, and the completions they produce."""
from __future__ import annotations

import ctypes
import random
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple, Union)

from . import _native
from ._native import lib
from .errors import (ERR_CANCELLED, ERR_CONTEXT_FULL, ArgumentTypeError, InvalidArgument,
                     StateError)
from .tokenizer import token_ids

if TYPE_CHECKING:
    from .model import Model

#: A prompt: text (tokenized with the model's special tokens) or token ids.
Prompt = Union[str, Sequence[int]]
#: Stop strings: one or several; generation ends before the first occurrence.
Stop = Union[str, Sequence[str], None]

# llm_param ids of include/llm/llm.h
_INT, _FLOAT, _BOOL = int, float, bool
PARAMS: Dict[str, Tuple[int, type]] = {
    "temperature": (1, _FLOAT), "top_k": (2, _INT), "top_p": (3, _FLOAT), "min_p": (4, _FLOAT),
    "typical_p": (5, _FLOAT), "repeat_penalty": (6, _FLOAT), "frequency_penalty": (7, _FLOAT),
    "presence_penalty": (8, _FLOAT), "penalty_last_n": (9, _INT), "seed": (10, _INT),
    "max_tokens": (11, _INT), "threads": (12, _INT), "num_beams": (13, _INT),
    "length_penalty": (14, _FLOAT), "early_stopping": (15, _BOOL), "n_best": (16, _INT),
    "ignore_eos": (17, _BOOL)}

#: finish_reason of each llm_stop_reason
FINISH_REASONS = {1: "eos", 2: "length", 3: "stop", 4: "cancelled", 5: "context"}
CONTEXT_POLICIES = {"error": 0, "shift": 1}
_FAMILY_DECODER = 0


@dataclass
class Completion:
    """What a generation produced.

    Attributes:
        text: the generated text (without the prompt and without a matched stop string).
        tokens: the generated token ids (an end-of-generation token is not included).
        finish_reason: why it ended: ``"eos"`` (the model ended its text), ``"length"``
            (max_tokens reached), ``"stop"`` (a stop string), ``"cancelled"``
            (:meth:`Session.cancel`) or ``"context"`` (the context is full and the session's
            context_policy is ``"error"``).
        prompt_tokens: the number of prompt tokens fed for it.
    """

    text: str
    tokens: List[int] = field(default_factory=list)
    finish_reason: Optional[str] = None
    prompt_tokens: int = 0

    @property
    def completion_tokens(self) -> int:
        """The number of tokens generated."""
        return len(self.tokens)

    @property
    def total_tokens(self) -> int:
        """prompt_tokens + completion_tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def usage(self) -> Dict[str, int]:
        """``{"prompt_tokens", "completion_tokens", "total_tokens"}`` as OpenAI reports them."""
        return {"prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens}

    def __str__(self) -> str:
        return self.text


def _sampling(values: Dict[str, Any]) -> Dict[str, Any]:
    """The sampling arguments of a call that were given (not None)."""
    return {k: v for k, v in values.items() if k in PARAMS or k == "stop"
            if v is not None}


class Session(_native.Handle):
    """A conversation with a model: its context (KV cache) and sampler. One thread at a time
    (``cancel`` may come from any thread).

    Example:
        >>> with model.session(n_ctx=256, temperature=0) as s:
        ...     c = s.complete("Once upon a time", max_tokens=16)
        ...     print(c.text, c.finish_reason, c.usage)
        ...     more = s.complete(max_tokens=16)   # continues where the last one ended

    Args:
        model: the model (it stays alive while the session lives).
        n_ctx: the context size in tokens (0: the model's training context).
        threads: worker threads (0: one per CPU).
        kv_f16: keep the KV cache in f16 (half the memory).
        context_policy: what generation does when the context is full: ``"error"`` (stop with
            finish_reason ``"context"``) or ``"shift"`` (drop the older half of the context
            after the first token and go on).
        temperature, top_k, ...: sampling parameters, as in :meth:`set`.
    """

    def __init__(self, model: "Model", *, n_ctx: int = 0, threads: int = 0, kv_f16: bool = False,
                 context_policy: str = "error", temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None,
                 min_p: Optional[float] = None, typical_p: Optional[float] = None,
                 repeat_penalty: Optional[float] = None,
                 frequency_penalty: Optional[float] = None,
                 presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
                 seed: Optional[int] = None, max_tokens: Optional[int] = None,
                 stop: Stop = None, ignore_eos: Optional[bool] = None) -> None:
        self._h: Optional[ctypes.c_void_p] = None
        if context_policy not in CONTEXT_POLICIES:
            raise InvalidArgument("context_policy %r is not one of %s"
                                  % (context_policy, ", ".join(map(repr, CONTEXT_POLICIES))))
        for name, v in (("n_ctx", n_ctx), ("threads", threads)):
            if not isinstance(v, int) or v < 0:
                raise InvalidArgument("%s must be an int >= 0, not %r" % (name, v))
        opts = _native.SessionOptions()
        lib.llm_session_options_init(ctypes.byref(opts))
        opts.n_ctx = n_ctx
        opts.n_threads = threads
        opts.kv_type = 1 if kv_f16 else 0
        opts.context_policy = CONTEXT_POLICIES[context_policy]
        h = ctypes.c_void_p()
        _native.check(lib.llm_session_create(model._handle(), ctypes.byref(opts), ctypes.byref(h)))
        self._h = h
        self.model = model  # keeps the Python object alive; the C side holds a reference too
        self.context_policy = context_policy
        self.last_seed: Optional[int] = None
        self._apply(_sampling({k: v for k, v in locals().items() if k != "threads"}))

    # -- lifetime ----------------------------------------------------------------------------- #

    def close(self) -> None:
        """Releases the session (its context and cache)."""
        if self._h:
            lib.llm_session_destroy(self._h)
        self._h = None

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise StateError("the session is closed")
        return self._h

    def _fail(self, st: int) -> None:
        _native.fail(st, lib.llm_session_last_error(self._h).decode(errors="replace"))

    # -- parameters --------------------------------------------------------------------------- #

    def set(self, *, temperature: Optional[float] = None, top_k: Optional[int] = None,
            top_p: Optional[float] = None, min_p: Optional[float] = None,
            typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
            frequency_penalty: Optional[float] = None, presence_penalty: Optional[float] = None,
            penalty_last_n: Optional[int] = None, seed: Optional[int] = None,
            max_tokens: Optional[int] = None, stop: Stop = None,
            ignore_eos: Optional[bool] = None, threads: Optional[int] = None,
            num_beams: Optional[int] = None, length_penalty: Optional[float] = None,
            early_stopping: Optional[bool] = None, n_best: Optional[int] = None) -> "Session":
        """Sets sampling parameters; those left at None keep their value.

        Args:
            temperature: 0 is greedy (default 0.8).
            top_k, top_p, min_p, typical_p: the candidate filters (0 / 1.0 turn one off).
            repeat_penalty, frequency_penalty, presence_penalty, penalty_last_n: penalties of
                recent tokens (penalty_last_n -1: the whole context).
            seed: the sampler's seed; -1 picks a random one.
            max_tokens: the most tokens one generation produces.
            stop: stop strings (a str or a list); generation ends before the first one.
            ignore_eos: keep going past the model's end-of-text token.
            threads: worker threads for the following calls.
            num_beams, length_penalty, early_stopping, n_best: beam search (seq2seq models).

        Raises:
            InvalidArgument: a value out of range (the message names it).

        Example:
            >>> s.set(temperature=0.7, top_k=40, stop=["\\n\\n"])
        """
        self._apply(_sampling(locals()))
        return self

    def _apply(self, params: Dict[str, Any]) -> None:
        h = self._handle()
        for key, value in params.items():
            if key == "stop":
                continue
            pid, kind = PARAMS[key]
            if kind is _FLOAT:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ArgumentTypeError("%s must be a number, not %s"
                                            % (key, type(value).__name__))
                st = lib.llm_session_set_float(h, pid, float(value))
            else:
                if not isinstance(value, (int, bool)):
                    raise ArgumentTypeError("%s must be an int, not %s"
                                            % (key, type(value).__name__))
                if key == "seed" and value == -1:
                    value = random.SystemRandom().getrandbits(63)
                    self.last_seed = value
                st = lib.llm_session_set_int(h, pid, int(value))
            if st:
                self._fail(st)
        stop = params.get("stop")
        if stop is not None:
            stops = [stop] if isinstance(stop, str) else list(stop)
            for s in stops:
                if not isinstance(s, str):
                    raise ArgumentTypeError("stop must be a str or a list of str, not a list "
                                            "holding %s" % type(s).__name__)
            lib.llm_session_clear_stops(h)
            for s in stops:
                if s == "":
                    raise InvalidArgument("stop strings must not be empty")
                st = lib.llm_session_add_stop(h, s.encode())
                if st:
                    self._fail(st)

    def get(self, name: str) -> Union[int, float]:
        """The current value of a parameter named as in :meth:`set`."""
        if name not in PARAMS:
            raise InvalidArgument("unknown parameter %r (known: %s)" % (name, ", ".join(PARAMS)))
        pid, kind = PARAMS[name]
        if kind is _FLOAT:
            v = ctypes.c_double()
            st = lib.llm_session_get_float(self._handle(), pid, ctypes.byref(v))
        else:
            v = ctypes.c_int64()
            st = lib.llm_session_get_int(self._handle(), pid, ctypes.byref(v))
        if st:
            self._fail(st)
        return kind(v.value) if kind is not _BOOL else bool(v.value)

    def load_preset(self, path: str) -> None:
        """Loads sampling parameters from a YAML preset file."""
        st = lib.llm_session_load_preset(self._handle(), str(path).encode())
        if st:
            self._fail(st)

    # -- feeding ------------------------------------------------------------------------------ #

    @property
    def n_tokens(self) -> int:
        """The number of tokens in the context."""
        return int(lib.llm_session_n_tokens(self._handle()))

    def reset(self) -> None:
        """Empties the context."""
        lib.llm_session_reset(self._handle())

    def feed(self, ids: Iterable[int], logits: bool = False) -> Optional[List[List[float]]]:
        """Appends token ids to the context (a seq2seq model's encoder input). With logits=True
        returns the logits of every fed position as a list of rows."""
        h = self._handle()
        ids = token_ids(ids, "ids")
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        if not logits:
            st = lib.llm_session_feed(h, arr, len(ids), None, 0)
            if st:
                self._fail(st)
            return None
        n_vocab = self.model.info["n_vocab"]
        out = (ctypes.c_float * (len(ids) * n_vocab))()
        st = lib.llm_session_feed(h, arr, len(ids), out, len(out))
        if st:
            self._fail(st)
        return [list(out[i * n_vocab:(i + 1) * n_vocab]) for i in range(len(ids))]

    def feed_prompt(self, ids: Iterable[int]) -> int:
        """Makes the context equal to `ids`, reusing the cached common prefix; returns the number
        of tokens reused."""
        ids = token_ids(ids, "ids")
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        reused = ctypes.c_size_t()
        st = lib.llm_session_feed_prompt(self._handle(), arr, len(ids), ctypes.byref(reused))
        if st:
            self._fail(st)
        return reused.value

    def logits(self) -> Optional[List[float]]:
        """The logits of the last position, or None before anything was fed."""
        n = ctypes.c_size_t()
        p = lib.llm_session_logits(self._handle(), ctypes.byref(n))
        return list(p[:n.value]) if p else None

    def _prompt_ids(self, prompt: Optional[Prompt]) -> Optional[List[int]]:
        if prompt is None:
            return None
        if isinstance(prompt, str):
            return self.model.tokenizer.encode(prompt, add_special_tokens=True)
        if isinstance(prompt, (bytes, bytearray)):
            return self.model.tokenizer.encode(bytes(prompt), add_special_tokens=True)
        try:
            return token_ids(prompt, "prompt")
        except ArgumentTypeError:
            raise ArgumentTypeError("prompt must be a str or a sequence of token ids, not %s"
                                    % type(prompt).__name__) from None

    # -- generation --------------------------------------------------------------------------- #

    def _steps(self, prompt: Optional[Prompt], params: Dict[str, Any],
               result: Completion) -> Iterator[Tuple[int, str]]:
        """Yields (token id or -1, text piece) until generation ends; fills result's
        prompt_tokens and finish_reason. The end of the context and a cancel end it with their
        finish reason (the text so far is kept); other failures raise."""
        h = self._handle()
        ids = self._prompt_ids(prompt)
        self._apply(params)
        if ids is None:
            # continue from the current context: a decoder fed zero tokens starts a new
            # generation where the last one ended
            if self.model.info["family"] == _FAMILY_DECODER:
                st = lib.llm_session_feed(h, None, 0, None, 0)
                if st:
                    self._fail(st)
        else:
            result.prompt_tokens = len(ids)
            arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
            st = lib.llm_session_feed_prompt(h, arr, len(ids), None)
            if st == ERR_CANCELLED:
                result.finish_reason = "cancelled"
                return
            if st:
                self._fail(st)  # a prompt that does not fit is an error (ContextFull)
        tid = ctypes.c_int32()
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        why = ctypes.c_int()
        while True:
            st = lib.llm_session_step(h, ctypes.byref(tid), ctypes.byref(text), ctypes.byref(n),
                                      ctypes.byref(why))
            if st and st not in (ERR_CANCELLED, ERR_CONTEXT_FULL):
                self._fail(st)
            piece = ctypes.string_at(text.value, n.value).decode(errors="replace") \
                if n.value else ""
            if tid.value >= 0 and why.value != 1:  # an end-of-generation token is not output
                yield tid.value, piece
            elif piece:
                yield -1, piece
            if why.value != 0 or st:
                result.finish_reason = FINISH_REASONS.get(why.value, "cancelled")
                return

    def stream(self, prompt: Optional[Prompt] = None, *, max_tokens: Optional[int] = None,
               temperature: Optional[float] = None, top_k: Optional[int] = None,
               top_p: Optional[float] = None, min_p: Optional[float] = None,
               typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
               frequency_penalty: Optional[float] = None,
               presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
               seed: Optional[int] = None, stop: Stop = None,
               ignore_eos: Optional[bool] = None) -> Iterator[str]:
        """Yields text pieces as they are generated, after feeding `prompt` (a str, token ids,
        or None to continue from the context). Afterwards :attr:`finish_reason` says why it
        ended. Sampling arguments are as in :meth:`set` and stay set.

        Example:
            >>> for piece in s.stream("Once upon a time", max_tokens=32):
            ...     print(piece, end="", flush=True)
        """
        result = Completion("")
        self._last = result
        for _, piece in self._steps(prompt, _sampling(locals()), result):
            if piece:
                yield piece

    def complete(self, prompt: Optional[Prompt] = None, *, max_tokens: Optional[int] = None,
                 temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                 frequency_penalty: Optional[float] = None,
                 presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
                 seed: Optional[int] = None, stop: Stop = None,
                 ignore_eos: Optional[bool] = None) -> Completion:
        """Generates until a stop condition and returns a :class:`Completion` (text, tokens,
        finish_reason, usage). Reaching the end of the context or a cancel is not an error: the
        result holds the text so far with finish_reason ``"context"`` or ``"cancelled"``.

        Example:
            >>> c = s.complete("Once upon a time", max_tokens=8, temperature=0)
            >>> c.finish_reason, c.usage["completion_tokens"]
            ('length', 8)
        """
        result = Completion("")
        self._last = result
        pieces = []
        for tid, piece in self._steps(prompt, _sampling(locals()), result):
            if tid >= 0:
                result.tokens.append(tid)
            pieces.append(piece)
        result.text = "".join(pieces)
        return result

    def generate(self, prompt: Optional[Prompt] = None, *, max_tokens: Optional[int] = None,
                 temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                 frequency_penalty: Optional[float] = None,
                 presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
                 seed: Optional[int] = None, stop: Stop = None,
                 ignore_eos: Optional[bool] = None) -> str:
        """The text of :meth:`complete` (the reason is in :attr:`finish_reason`).

        Example:
            >>> s.generate("Once upon a time", max_tokens=16, temperature=0)
            ', there was a little girl named Lily.'
        """
        args = _sampling(locals())
        return self.complete(prompt, **args).text

    def tokens(self, prompt: Optional[Prompt] = None, *, max_tokens: Optional[int] = None,
               temperature: Optional[float] = None, top_k: Optional[int] = None,
               top_p: Optional[float] = None, min_p: Optional[float] = None,
               typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
               frequency_penalty: Optional[float] = None,
               presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
               seed: Optional[int] = None, stop: Stop = None,
               ignore_eos: Optional[bool] = None) -> Iterator[int]:
        """Yields the generated token ids (see :meth:`stream`)."""
        result = Completion("")
        self._last = result
        for tid, _ in self._steps(prompt, _sampling(locals()), result):
            if tid >= 0:
                yield tid

    @property
    def finish_reason(self) -> Optional[str]:
        """Why the last generation ended ("eos", "length", "stop", "cancelled", "context"),
        None while it runs or before the first."""
        return FINISH_REASONS.get(lib.llm_session_stop_reason(self._handle()))

    @property
    def stop_reason(self) -> Optional[str]:
        """The older name of :attr:`finish_reason`."""
        return self.finish_reason

    def cancel(self) -> None:
        """Stops the running generation at its next token, from any thread; the generation
        returns the text so far with finish_reason "cancelled". Called while nothing runs, it
        stops the next generation on this session at its start."""
        lib.llm_session_cancel(self._handle())

    # -- state -------------------------------------------------------------------------------- #

    def save_state(self) -> bytes:
        """The session's context and sampler as bytes (docs/SESSION_STATE.md)."""
        n = ctypes.c_size_t()
        h = self._handle()
        st = lib.llm_session_save_state(h, None, 0, ctypes.byref(n))
        if st and st != 13:
            self._fail(st)
        buf = ctypes.create_string_buffer(n.value)
        st = lib.llm_session_save_state(h, buf, n.value, ctypes.byref(n))
        if st:
            self._fail(st)
        return buf.raw[:n.value]

    def load_state(self, data: bytes) -> None:
        """Restores what save_state returned."""
        if not isinstance(data, (bytes, bytearray)):
            raise ArgumentTypeError("data must be bytes, not %s" % type(data).__name__)
        st = lib.llm_session_load_state(self._handle(), bytes(data), len(data))
        if st:
            self._fail(st)

    def fork(self) -> "Session":
        """A copy of this session (context, sampler, parameters)."""
        h = ctypes.c_void_p()
        _native.check(lib.llm_session_fork(self._handle(), ctypes.byref(h)))
        s = Session.__new__(Session)
        s._h = h
        s.model = self.model
        s.context_policy = self.context_policy
        return s

    # -- embeddings --------------------------------------------------------------------------- #

    def encode(self, sentences: Union[str, Iterable[str]], batch_size: int = 32,
               show_progress_bar: Optional[bool] = None, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, *, pooling: Optional[str] = None,
               truncate: bool = False) -> Any:
        """Sentence embeddings with this session (see :meth:`libllm.Model.encode`)."""
        return self.model._encode_with(self, sentences, batch_size, show_progress_bar,
                                       convert_to_numpy, normalize_embeddings, pooling, truncate)

    def embed(self, sentences: Union[str, Iterable[str]], normalize: Optional[bool] = None,
              pooling: Optional[str] = None, truncate: bool = False, *, batch_size: int = 32,
              show_progress_bar: Optional[bool] = None, convert_to_numpy: bool = True,
              normalize_embeddings: bool = False) -> Any:
        """:meth:`encode` under its older name; `normalize` True/False forces normalization
        on/off (None: the model's own)."""
        return self.model._encode_with(self, sentences, batch_size, show_progress_bar,
                                       convert_to_numpy, normalize_embeddings, pooling, truncate,
                                       normalize)


__all__ = ["Session", "Completion", "Prompt", "FINISH_REASONS"]
