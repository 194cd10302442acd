"""Models: open a GGUF file or a Hugging Face directory, complete text, embed sentences."""
from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
import uuid
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from . import _native, chat
from ._native import lib
from .errors import ArgumentTypeError, InvalidArgument, StateError, Unsupported
from .session import Completion, Prompt, Session, Stop
from .tokenizer import Tokenizer, text_bytes

logger = logging.getLogger("libllm")

POOLING = {None: -1, "model": -1, "none": 0, "mean": 1, "cls": 2, "last": 3, "max": 4}
_BUFFER_TOO_SMALL = 13

# llama-cpp-python reports only these two; libllm's own reasons map onto them
_OPENAI_FINISH = {"eos": "stop", "stop": "stop", "cancelled": "stop", "length": "length",
                  "context": "length"}


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


class Model(_native.Handle):
    """A loaded model: a GGUF file (GPT-2, Llama, BERT, T5 as llama.cpp's converters write them)
    or a Hugging Face directory (config.json, tokenizer.json, *.safetensors). Immutable and safe
    to share between threads; each thread uses its own :class:`Session`.

    Example:
        >>> import libllm
        >>> with libllm.Model("stories260K.gguf") as model:
        ...     print(model.generate("Once upon a time", max_tokens=16, temperature=0))
        ...     out = model("Once upon a time", max_tokens=16)     # llama-cpp-python's dict
        ...     print(out["choices"][0]["text"], out["usage"])

    Args:
        path: the model file or directory.
        verify: check every tensor's data while opening.
        mmap: map the file (True), read it into memory (False), or let libllm choose (None).
        n_ctx, threads, context_policy: defaults of the sessions this model's own calls
            (generate, complete, create_completion, encode) create; see :class:`Session`.

    Raises:
        FileMissing: `path` does not exist (a ``FileNotFoundError``).
        FormatError: the file is not a model libllm reads (a ``ValueError``).
        Unsupported: its architecture or a tensor type is not supported (a ``ValueError``).
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], *, verify: bool = False,
                 mmap: Optional[bool] = None, n_ctx: int = 0, threads: int = 0,
                 context_policy: str = "error") -> None:
        self._h: Optional[ctypes.c_void_p] = None
        self._tokenizer: Optional[Tokenizer] = None
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentTypeError("path must be a str or a path, not %s" % type(path).__name__)
        self.path = os.fspath(path)
        self.n_ctx = n_ctx
        self.threads = threads
        self.context_policy = context_policy
        opts = _native.ModelOptions()
        lib.llm_model_options_init(ctypes.byref(opts))
        opts.verify = 1 if verify else 0
        if mmap is not None:
            opts.load_mode = 1 if mmap else 2
        h = ctypes.c_void_p()
        _native.check(lib.llm_model_open(self.path.encode(), ctypes.byref(opts), ctypes.byref(h)),
                      filename=self.path)
        self._h = h

    @classmethod
    def open(cls, path: Union[str, "os.PathLike[str]"], *, verify: bool = False,
             mmap: Optional[bool] = None, n_ctx: int = 0, threads: int = 0,
             context_policy: str = "error") -> "Model":
        """Opens a model; the same as ``Model(path, ...)``.

        Example:
            >>> model = libllm.Model.open("stories260K.gguf")
            >>> model.arch, model.info["n_layer"]
            ('llama', 5)
        """
        return cls(path, verify=verify, mmap=mmap, n_ctx=n_ctx, threads=threads,
                   context_policy=context_policy)

    def close(self) -> None:
        """Drops this reference; sessions still running keep the model alive."""
        if self._h:
            lib.llm_model_close(self._h)
        self._h = None

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise StateError("the model %s is closed" % getattr(self, "path", ""))
        return self._h

    # -- what it is --------------------------------------------------------------------------- #

    @property
    def info(self) -> Dict[str, int]:
        """Hyper-parameters: arch, family, n_vocab, n_embd, n_layer, n_head, n_ctx_train, ..."""
        i = _native.ModelInfo()
        i.struct_size = ctypes.sizeof(i)
        _native.check(lib.llm_model_get_info(self._handle(), ctypes.byref(i)))
        return {name: getattr(i, name) for name, _ in i._fields_ if name != "struct_size"}

    @property
    def arch(self) -> str:
        """The architecture name ("gpt2", "llama", "bert", "t5")."""
        return lib.llm_model_arch_name(self._handle()).decode()

    @property
    def embedding_dim(self) -> int:
        """The length of a sentence embedding."""
        return int(lib.llm_model_embedding_dim(self._handle()))

    def get_sentence_embedding_dimension(self) -> int:
        """The length of a sentence embedding (sentence-transformers' name)."""
        return self.embedding_dim

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer (lives as long as the model)."""
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(ctypes.c_void_p(lib.llm_model_tokenizer(self._handle())),
                                        self)
        return self._tokenizer

    def tokenize(self, text: Union[bytes, str], add_bos: bool = True,
                 special: bool = False) -> List[int]:
        """Token ids of `text` (llama-cpp-python's call): add_bos adds the model's special
        tokens, special reads special-token texts as those tokens."""
        return self.tokenizer.encode(text, add_bos, parse_special=special)

    def detokenize(self, tokens: Iterable[int]) -> bytes:
        """The UTF-8 bytes of token ids (llama-cpp-python's call)."""
        return self.tokenizer.decode(tokens).encode()

    # -- sessions and completions ------------------------------------------------------------- #

    def session(self, *, n_ctx: Optional[int] = None, threads: Optional[int] = None,
                kv_f16: bool = False, context_policy: Optional[str] = None,
                **sampling: Any) -> Session:
        """A new :class:`Session`; n_ctx, threads and context_policy default to the model's.
        Sampling parameters (temperature=..., max_tokens=..., stop=...) are as in
        :meth:`Session.set`.

        Example:
            >>> with model.session(n_ctx=512, context_policy="shift", temperature=0) as s:
            ...     print(s.generate("Once upon a time", max_tokens=32))
        """
        return Session(self, n_ctx=self.n_ctx if n_ctx is None else n_ctx,
                       threads=self.threads if threads is None else threads, kv_f16=kv_f16,
                       context_policy=self.context_policy if context_policy is None
                       else context_policy, **sampling)

    def complete(self, prompt: Prompt, *, max_tokens: Optional[int] = None,
                 temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                 frequency_penalty: Optional[float] = None,
                 presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
                 seed: Optional[int] = None, stop: Stop = None,
                 ignore_eos: Optional[bool] = None) -> Completion:
        """A :class:`Completion` of `prompt` in a new session (parameters left at None keep the
        library's defaults: temperature 0.8, top_k 40, top_p 0.95, max_tokens 256, ...).

        Example:
            >>> c = model.complete("Once upon a time", max_tokens=8, temperature=0)
            >>> c.text, c.finish_reason, c.usage
            (', there was a little girl named', 'length', {'prompt_tokens': 5, ...})
        """
        args = {k: v for k, v in locals().items() if k not in ("self", "prompt")}
        with self.session() as s:
            return s.complete(prompt, **args)

    def generate(self, prompt: Prompt, *, max_tokens: Optional[int] = None,
                 temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                 frequency_penalty: Optional[float] = None,
                 presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
                 seed: Optional[int] = None, stop: Stop = None,
                 ignore_eos: Optional[bool] = None) -> str:
        """The text of :meth:`complete`.

        Example:
            >>> model.generate("Once upon a time", max_tokens=16, temperature=0)
            ', there was a little girl named Lily.'
        """
        args = {k: v for k, v in locals().items() if k not in ("self", "prompt")}
        return self.complete(prompt, **args).text

    def stream(self, prompt: Prompt, *, max_tokens: Optional[int] = None,
               temperature: Optional[float] = None, top_k: Optional[int] = None,
               top_p: Optional[float] = None, min_p: Optional[float] = None,
               typical_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
               frequency_penalty: Optional[float] = None,
               presence_penalty: Optional[float] = None, penalty_last_n: Optional[int] = None,
               seed: Optional[int] = None, stop: Stop = None,
               ignore_eos: Optional[bool] = None) -> Iterator[str]:
        """Yields the text pieces of a completion as they are generated.

        Example:
            >>> for piece in model.stream("Once upon a time", max_tokens=32):
            ...     print(piece, end="", flush=True)
        """
        args = {k: v for k, v in locals().items() if k not in ("self", "prompt")}
        with self.session() as s:
            yield from s.stream(prompt, **args)

    def create_completion(self, prompt: Prompt, *, max_tokens: Optional[int] = 16,
                          temperature: float = 0.8, top_p: float = 0.95, min_p: float = 0.05,
                          typical_p: float = 1.0, echo: bool = False, stop: Stop = None,
                          frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                          repeat_penalty: float = 1.0, top_k: int = 40, stream: bool = False,
                          seed: Optional[int] = None) -> Any:
        """A completion as llama-cpp-python's ``Llama.create_completion`` returns it (the
        defaults are its defaults too): an OpenAI ``text_completion`` dict, or with stream=True
        an iterator of such dicts, each holding the next piece of text, the last one the
        finish_reason. finish_reason is OpenAI's: "stop" (the model's end, a stop string, a
        cancel) or "length" (max_tokens, the end of the context); :meth:`complete` tells them
        apart. max_tokens None or <= 0 generates until the end of the context.

        Example:
            >>> out = model.create_completion("Once upon a time", max_tokens=8, temperature=0)
            >>> out["choices"][0]["text"], out["choices"][0]["finish_reason"]
            (', there was a little girl named', 'length')
            >>> out["usage"]
            {'prompt_tokens': 5, 'completion_tokens': 8, 'total_tokens': 13}
        """
        if max_tokens is None or max_tokens <= 0:
            max_tokens = 1 << 62
        args: Dict[str, Any] = dict(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                                    min_p=min_p, typical_p=typical_p, stop=stop,
                                    frequency_penalty=frequency_penalty,
                                    presence_penalty=presence_penalty,
                                    repeat_penalty=repeat_penalty, top_k=top_k, seed=seed)
        args = {k: v for k, v in args.items() if v is not None}
        head = {"id": "cmpl-%s" % uuid.uuid4(), "object": "text_completion",
                "created": int(time.time()), "model": self.path}
        prefix = prompt if echo and isinstance(prompt, str) else \
            self.tokenizer.decode(prompt) if echo else ""
        if stream:
            return self._completion_chunks(prompt, args, head, prefix)
        c = self.complete(prompt, **args)
        return dict(head, choices=[{"text": prefix + c.text, "index": 0, "logprobs": None,
                                    "finish_reason": _OPENAI_FINISH.get(c.finish_reason or "",
                                                                        "stop")}],
                    usage=c.usage)

    def _completion_chunks(self, prompt: Prompt, args: Dict[str, Any], head: Dict[str, Any],
                           prefix: str) -> Iterator[Dict[str, Any]]:
        with self.session() as s:
            if prefix:
                yield dict(head, choices=[{"text": prefix, "index": 0, "logprobs": None,
                                           "finish_reason": None}])
            for piece in s.stream(prompt, **args):
                yield dict(head, choices=[{"text": piece, "index": 0, "logprobs": None,
                                           "finish_reason": None}])
            yield dict(head, choices=[{"text": "", "index": 0, "logprobs": None,
                                       "finish_reason": _OPENAI_FINISH.get(
                                           s.finish_reason or "", "stop")}])

    def __call__(self, prompt: Prompt, *, max_tokens: Optional[int] = 16,
                 temperature: float = 0.8, top_p: float = 0.95, min_p: float = 0.05,
                 typical_p: float = 1.0, echo: bool = False, stop: Stop = None,
                 frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                 repeat_penalty: float = 1.0, top_k: int = 40, stream: bool = False,
                 seed: Optional[int] = None) -> Any:
        """:meth:`create_completion` (llama-cpp-python's ``llm(prompt, ...)``)."""
        return self.create_completion(prompt, max_tokens=max_tokens, temperature=temperature,
                                      top_p=top_p, min_p=min_p, typical_p=typical_p, echo=echo,
                                      stop=stop, frequency_penalty=frequency_penalty,
                                      presence_penalty=presence_penalty,
                                      repeat_penalty=repeat_penalty, top_k=top_k, stream=stream,
                                      seed=seed)

    # -- chat --------------------------------------------------------------------------------- #

    @property
    def chat_template(self) -> Optional[str]:
        """The model's Jinja2 chat template (GGUF ``tokenizer.chat_template``, or
        ``chat_template`` of a Hugging Face folder), or None when it has none."""
        t = lib.llm_model_chat_template(self._handle())
        return t.decode() if t is not None else None

    def _special_text(self, which: int) -> Optional[str]:
        tok = self.tokenizer
        tid = lib.llm_tokenizer_special(tok._h, which)
        if tid < 0:
            return None
        n = ctypes.c_size_t()
        p = lib.llm_tokenizer_piece(tok._h, tid, ctypes.byref(n))
        return ctypes.string_at(p, n.value).decode(errors="replace") if p else None

    def apply_chat_template(self, messages: "chat.Messages", *,
                            add_generation_prompt: bool = False,
                            tools: Optional[List[Any]] = None,
                            documents: Optional[List[Any]] = None,
                            chat_template: Optional[str] = None, tokenize: bool = False,
                            now: Optional[str] = None, **kwargs: Any) -> Union[str, List[int]]:
        """Renders a conversation with the model's chat template as transformers'
        ``tokenizer.apply_chat_template`` does (its argument names; tokenize defaults to False
        here). chat_template replaces the model's template; bos_token/eos_token are the model's
        unless given as keyword arguments; other keyword arguments become template variables;
        `now` (ISO-8601) fixes what strftime_now() reports. With tokenize=True the token ids
        (special-token texts read as the tokens, nothing added: the template places them).

        Raises:
            Unsupported: the model has no chat template and none was given.
            TemplateError: the template rejected the conversation (raise_exception).
            FormatError, LimitExceeded: the template is broken or ran past the sandbox.

        Example:
            >>> model.apply_chat_template([{"role": "user", "content": "Hi"}],
            ...                           add_generation_prompt=True)
            '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
        """
        if chat_template is None:
            text = chat.render(None, messages, model_handle=self._handle(),
                               add_generation_prompt=add_generation_prompt, tools=tools,
                               documents=documents, now=now, **kwargs)
        else:
            kwargs.setdefault("bos_token", self._special_text(0))
            kwargs.setdefault("eos_token", self._special_text(1))
            text = chat.render(chat_template, messages,
                               add_generation_prompt=add_generation_prompt, tools=tools,
                               documents=documents, now=now, **kwargs)
        if tokenize:
            return self.tokenizer.encode(text, add_special_tokens=False, parse_special=True)
        return text

    def create_chat_completion(self, messages: "chat.Messages", *,
                               tools: Optional[List[Any]] = None, temperature: float = 0.2,
                               top_p: float = 0.95, top_k: int = 40, min_p: float = 0.05,
                               typical_p: float = 1.0, stream: bool = False, stop: Stop = None,
                               seed: Optional[int] = None, max_tokens: Optional[int] = None,
                               presence_penalty: float = 0.0, frequency_penalty: float = 0.0,
                               repeat_penalty: float = 1.0,
                               chat_template: Optional[str] = None) -> Any:
        """A chat completion as llama-cpp-python's ``Llama.create_chat_completion`` returns it
        (its defaults too): the conversation is rendered with the model's chat template (or
        `chat_template`) and add_generation_prompt, then completed. Returns an OpenAI
        ``chat.completion`` dict, or with stream=True an iterator of ``chat.completion.chunk``
        dicts: the first delta holds the role, the next ones the text, the last one is empty
        with the finish_reason ("stop" or "length"). max_tokens None or <= 0 generates until the
        end of the context.

        Example:
            >>> out = model.create_chat_completion(
            ...     [{"role": "system", "content": "Be brief."},
            ...      {"role": "user", "content": "Name a colour."}], max_tokens=16)
            >>> out["choices"][0]["message"]
            {'role': 'assistant', 'content': 'Blue.'}
            >>> out["usage"]["completion_tokens"]
            3
        """
        ids = self.apply_chat_template(messages, add_generation_prompt=True, tools=tools,
                                       chat_template=chat_template, tokenize=True)
        if max_tokens is None or max_tokens <= 0:
            max_tokens = 1 << 62
        args: Dict[str, Any] = dict(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                                    top_k=top_k, min_p=min_p, typical_p=typical_p, stop=stop,
                                    seed=seed, presence_penalty=presence_penalty,
                                    frequency_penalty=frequency_penalty,
                                    repeat_penalty=repeat_penalty)
        args = {k: v for k, v in args.items() if v is not None}
        head = {"id": "chatcmpl-%s" % uuid.uuid4(), "created": int(time.time()),
                "model": self.path}
        if stream:
            return self._chat_chunks(ids, args, head)
        c = self.complete(ids, **args)
        return dict(head, object="chat.completion",
                    choices=[{"index": 0, "message": {"role": "assistant", "content": c.text},
                              "logprobs": None,
                              "finish_reason": _OPENAI_FINISH.get(c.finish_reason or "",
                                                                  "stop")}],
                    usage=c.usage)

    def _chat_chunks(self, ids: List[int], args: Dict[str, Any],
                     head: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
        chunk = dict(head, object="chat.completion.chunk")
        with self.session() as s:
            yield dict(chunk, choices=[{"index": 0, "delta": {"role": "assistant"},
                                        "logprobs": None, "finish_reason": None}])
            for piece in s.stream(ids, **args):
                yield dict(chunk, choices=[{"index": 0, "delta": {"content": piece},
                                            "logprobs": None, "finish_reason": None}])
            yield dict(chunk, choices=[{"index": 0, "delta": {}, "logprobs": None,
                                        "finish_reason": _OPENAI_FINISH.get(
                                            s.finish_reason or "", "stop")}])

    # -- embeddings --------------------------------------------------------------------------- #

    def encode(self, sentences: Union[str, Iterable[str]], batch_size: int = 32,
               show_progress_bar: Optional[bool] = None, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, *, pooling: Optional[str] = None,
               truncate: bool = False) -> Any:
        """Sentence embeddings with sentence-transformers' ``encode`` semantics.

        Args:
            sentences: one str (gives one vector) or any iterable of str, a generator included
                (gives one row per sentence).
            batch_size: sentences per library call (the library packs each batch's tokens
                without padding).
            show_progress_bar: a progress line on stderr; None shows it when the "libllm"
                logger is at INFO or DEBUG, as sentence-transformers does.
            convert_to_numpy: a ``numpy.ndarray`` of float32, shape (n, dim) or (dim,). Without
                numpy installed, and with convert_to_numpy=False, a list of lists of float
                (a list of float for one str).
            normalize_embeddings: L2-normalize every vector. False keeps the model's own output,
                which is normalized already when the model's pipeline says so (BGE, E5, ...),
                as sentence-transformers' Normalize module does.
            pooling: "mean", "cls", "last", "max" instead of the model's own pooling.
            truncate: cut sentences longer than the model's context instead of raising TooLong.

        Example:
            >>> with libllm.Model("bge-small-en-v1.5.gguf") as model:
            ...     v = model.encode(["The cat sat on the mat.", "A dog runs."])
            ...     v.shape
            (2, 384)
        """
        with self.session() as s:
            return self._encode_with(s, sentences, batch_size, show_progress_bar,
                                     convert_to_numpy, normalize_embeddings, pooling, truncate)

    def embed(self, sentences: Union[str, Iterable[str]], normalize: Optional[bool] = None,
              pooling: Optional[str] = None, truncate: bool = False, *, batch_size: int = 32,
              show_progress_bar: Optional[bool] = None, convert_to_numpy: bool = True,
              normalize_embeddings: bool = False) -> Any:
        """:meth:`encode` under its older name; `normalize` True/False forces normalization
        on/off (None: the model's own)."""
        with self.session() as s:
            return self._encode_with(s, sentences, batch_size, show_progress_bar,
                                     convert_to_numpy, normalize_embeddings, pooling, truncate,
                                     normalize)

    def classify(self, texts: Union[str, Sequence[str]]) -> List[Dict[str, Any]]:
        """Label probabilities of texts from the model's classification head (a Hugging Face
        BertForSequenceClassification folder, or cls_head.* tensors), one dict per text:
        ``label`` (the most likely), ``score`` (its probability), ``scores`` (every label's)
        and ``logits`` (the head's raw outputs). Labels are config.json's id2label names, or
        ``LABEL_i``.

        Example:
            >>> with libllm.Model("bert-sst2/") as model:
            ...     model.classify(["a fine film"])[0]["label"]
            'positive'
        """
        items = [texts] if isinstance(texts, str) else list(texts)
        if not items:
            raise InvalidArgument("texts must not be empty")
        n_labels = ctypes.c_size_t(0)
        if not lib.llm_model_classifier(self._handle(), ctypes.byref(n_labels)):
            raise Unsupported("%s has no classification head" % self.path)
        L = n_labels.value
        names = []
        for j in range(L):
            raw = lib.llm_model_label(self._handle(), j)
            names.append(raw.decode("utf-8", "replace") if raw else "LABEL_%d" % j)
        arr = (ctypes.c_char_p * len(items))(*[text_bytes(t, "text") for t in items])
        probs = (ctypes.c_float * (len(items) * L))()
        logits = (ctypes.c_float * (len(items) * L))()
        with self.session() as s:
            st = lib.llm_session_classify(s._handle(), arr, len(items), probs, logits, len(probs))
            if st:
                s._fail(st)
        out = []
        for i in range(len(items)):
            row = list(probs[i * L:(i + 1) * L])
            best = max(range(L), key=lambda j: row[j])
            out.append({"label": names[best], "score": row[best],
                        "scores": dict(zip(names, row)),
                        "logits": list(logits[i * L:(i + 1) * L])})
        return out

    def create_embedding(self, input: Union[str, Sequence[str]]) -> Dict[str, Any]:
        """Embeddings as llama-cpp-python's ``create_embedding`` returns them: an OpenAI
        ``list`` of ``embedding`` objects with usage counts."""
        texts = [input] if isinstance(input, str) else list(input)
        with self.session() as s:
            rows, n_tokens = self._embed_rows(s, texts, 32, False, -1, pooling=None,
                                              truncate=False)
        return {"object": "list", "model": self.path,
                "data": [{"object": "embedding", "embedding": r, "index": i}
                         for i, r in enumerate(rows)],
                "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}}

    def _encode_with(self, session: Session, sentences: Any, batch_size: int,
                     show_progress_bar: Optional[bool], convert_to_numpy: bool,
                     normalize_embeddings: bool, pooling: Optional[str], truncate: bool,
                     normalize: Optional[bool] = None) -> Any:
        single = isinstance(sentences, str)
        if single:
            texts = [sentences]
        elif isinstance(sentences, bytes) or not hasattr(sentences, "__iter__"):
            raise ArgumentTypeError("sentences must be a str or an iterable of str, not %s"
                                    % type(sentences).__name__)
        else:
            texts = list(sentences)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise ArgumentTypeError("sentences[%d] must be a str, not %s"
                                        % (i, type(t).__name__))
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgument("batch_size must be an int >= 1, not %r" % (batch_size,))
        if pooling not in POOLING:
            raise InvalidArgument("pooling %r is not one of %s"
                                  % (pooling, ", ".join(k for k in POOLING if k)))
        if normalize is None:
            norm = 1 if normalize_embeddings else -1
        else:
            norm = 1 if normalize else 0
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() in (logging.INFO, logging.DEBUG)
        rows, _ = self._embed_rows(session, texts, batch_size, bool(show_progress_bar), norm,
                                   pooling, truncate)
        np = _numpy() if convert_to_numpy else None
        if np is not None:
            arr = np.array(rows, dtype=np.float32).reshape(len(rows), self.embedding_dim)
            return arr[0] if single else arr
        return rows[0] if single else rows

    def _embed_rows(self, session: Session, texts: List[str], batch_size: int, progress: bool,
                    norm: int, pooling: Optional[str], truncate: bool) -> Any:
        opts = _native.EmbedOptions()
        lib.llm_embed_options_init(ctypes.byref(opts))
        opts.pooling = POOLING[pooling]
        opts.normalize = norm
        opts.truncate = int(bool(truncate))
        dim = self.embedding_dim
        rows: List[List[float]] = []
        n_tokens = 0
        n_batches = (len(texts) + batch_size - 1) // batch_size
        for b in range(n_batches):
            batch = texts[b * batch_size:(b + 1) * batch_size]
            arr = (ctypes.c_char_p * len(batch))(*[text_bytes(t, "sentence") for t in batch])
            out = (ctypes.c_float * (len(batch) * dim))()
            res = _native.EmbedResult()
            res.struct_size = ctypes.sizeof(res)
            st = lib.llm_session_embed(session._handle(), arr, len(batch), ctypes.byref(opts),
                                       out, len(out), ctypes.byref(res))
            if st:
                session._fail(st)
            n_tokens += res.n_tokens
            rows.extend(list(out[i * dim:(i + 1) * dim]) for i in range(len(batch)))
            if progress:
                sys.stderr.write("\rBatches: %d/%d" % (b + 1, n_batches))
                sys.stderr.flush()
        if progress and n_batches:
            sys.stderr.write("\n")
        return rows, n_tokens


def cosine_similarity(a: Iterable[float], b: Iterable[float]) -> float:
    """The cosine similarity of two vectors (0 when either is all zeros)."""
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    if len(a) != len(b):
        raise InvalidArgument("the vectors have different lengths (%d and %d)" % (len(a), len(b)))
    fa = (ctypes.c_float * max(len(a), 1))(*a)
    fb = (ctypes.c_float * max(len(b), 1))(*b)
    return float(lib.llm_cosine_similarity(fa, fb, len(a)))


__all__ = ["Model", "cosine_similarity"]
