"""Tokenizers: text to token ids and back, in the terms of Hugging Face's tokenizers."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Iterable, List, Optional, Union

from . import _native
from ._native import check, lib
from .errors import ArgumentTypeError, InvalidArgument, StateError

ENCODE_ADD_SPECIAL = 1
ENCODE_PARSE_SPECIAL = 2
DECODE_SKIP_SPECIAL = 1
_BUFFER_TOO_SMALL = 13

SPECIAL_NAMES = ["bos", "eos", "unk", "pad", "sep", "cls", "mask", "eot", "decoder_start"]

Text = Union[str, bytes]


def text_bytes(value: Any, what: str) -> bytes:
    """UTF-8 bytes of a str (or bytes as they are); ArgumentTypeError naming `what` otherwise."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ArgumentTypeError("%s must be a str, not %s" % (what, type(value).__name__))


def token_ids(value: Any, what: str) -> List[int]:
    """A list of int token ids from any iterable of ints; ArgumentTypeError naming `what`."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ArgumentTypeError("%s must be a sequence of token ids (ints), not %s"
                                % (what, type(value).__name__))
    ids = []
    for i, v in enumerate(value):
        try:
            ids.append(int(v))
        except (TypeError, ValueError):
            raise ArgumentTypeError("%s[%d] must be a token id (int), not %s"
                                    % (what, i, type(v).__name__)) from None
    return ids


class Tokenizer(_native.Handle):
    """A tokenizer, from a model (``model.tokenizer``) or opened alone with :meth:`from_file`.

    ``encode`` adds the model's special tokens (BOS, [CLS] ... [SEP]) by default, as Hugging
    Face's ``tokenizer.encode`` does::

        >>> tok = libllm.Tokenizer.from_file("stories260K.gguf")
        >>> tok.encode("Once upon a time")
        [1, 403, 407, 261, 378]
        >>> tok.encode("Once upon a time", add_special_tokens=False)
        [403, 407, 261, 378]
        >>> tok.decode([1, 403, 407, 261, 378], skip_special_tokens=True)
        'Once upon a time'
    """

    def __init__(self, handle: ctypes.c_void_p, owner: Any = None) -> None:
        self._h: Optional[ctypes.c_void_p] = handle
        self._owner = owner  # a Model keeps a borrowed handle alive

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"]) -> "Tokenizer":
        """Opens a .gguf, tokenizer.json, SentencePiece .model, vocab.txt, vocab.json (with
        merges.txt beside it) or a Hugging Face model directory.

        Raises:
            FileMissing: `path` does not exist (a ``FileNotFoundError``).
            FormatError: the file is not a tokenizer libllm reads.
        """
        p = os.fspath(path)
        h = ctypes.c_void_p()
        check(lib.llm_tokenizer_open(p.encode(), ctypes.byref(h)), filename=p)
        return cls(h, None)

    def close(self) -> None:
        """Releases a tokenizer opened with from_file (a model's tokenizer lives with it)."""
        if self._h and self._owner is None:
            lib.llm_tokenizer_close(self._h)
        self._h = None

    def _handle(self) -> ctypes.c_void_p:
        if not self._h:
            raise StateError("the tokenizer is closed")
        if self._owner is not None and not self._owner._h:
            raise StateError("the model this tokenizer belongs to is closed")
        return self._h

    def encode(self, text: Text, add_special_tokens: bool = True, *,
               parse_special: bool = False, add_special: Optional[bool] = None) -> List[int]:
        """Token ids of `text`.

        Args:
            text: a str (or UTF-8 bytes).
            add_special_tokens: add the tokens the model's tokenizer adds around a text (BOS for
                Llama, [CLS] and [SEP] for BERT, </s> for T5), as Hugging Face does by default.
            parse_special: read special-token texts in `text` ("<s>", "[SEP]") as those tokens.
            add_special: the older name of add_special_tokens.

        Example:
            >>> model.tokenizer.encode("Hello world")
            [1, 15043, 3186]
        """
        if add_special is not None:
            add_special_tokens = add_special
        h = self._handle()
        data = text_bytes(text, "text")
        flags = (ENCODE_ADD_SPECIAL if add_special_tokens else 0) | \
                (ENCODE_PARSE_SPECIAL if parse_special else 0)
        n = ctypes.c_size_t()
        st = lib.llm_tokenizer_encode(h, data, len(data), flags, None, 0, ctypes.byref(n))
        if st not in (0, _BUFFER_TOO_SMALL):
            check(st)
        buf = (ctypes.c_int32 * max(n.value, 1))()
        check(lib.llm_tokenizer_encode(h, data, len(data), flags, buf, n.value, ctypes.byref(n)))
        return list(buf[:n.value])

    def encode_batch(self, texts: Iterable[Text], add_special_tokens: bool = True) -> List[List[int]]:
        """encode() of each text."""
        return [self.encode(t, add_special_tokens) for t in texts]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False, *,
               skip_special: Optional[bool] = None) -> str:
        """The text of token ids (invalid UTF-8 from byte tokens becomes U+FFFD).

        Example:
            >>> tok.decode([1, 403, 407], skip_special_tokens=True)
            'Once upon'
        """
        if skip_special is not None:
            skip_special_tokens = skip_special
        h = self._handle()
        ids = token_ids(ids, "ids")
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        flags = DECODE_SKIP_SPECIAL if skip_special_tokens else 0
        n = ctypes.c_size_t()
        st = lib.llm_tokenizer_decode(h, arr, len(ids), flags, None, 0, ctypes.byref(n))
        if st not in (0, _BUFFER_TOO_SMALL):
            check(st)
        buf = ctypes.create_string_buffer(n.value + 1)
        check(lib.llm_tokenizer_decode(h, arr, len(ids), flags, buf, n.value + 1,
                                       ctypes.byref(n)))
        return buf.raw[:n.value].decode(errors="replace")

    @property
    def vocab_size(self) -> int:
        """The number of token ids."""
        return int(lib.llm_tokenizer_vocab_size(self._handle()))

    def get_vocab_size(self) -> int:
        """The number of token ids (Hugging Face tokenizers' name)."""
        return self.vocab_size

    def __len__(self) -> int:
        return self.vocab_size

    def id_to_token(self, id: int) -> Optional[str]:
        """The vocabulary piece of a token id, or None when it is out of range."""
        n = ctypes.c_size_t()
        p = lib.llm_tokenizer_piece(self._handle(), int(id), ctypes.byref(n))
        return ctypes.string_at(p, n.value).decode(errors="replace") if p else None

    def token_to_id(self, token: str) -> Optional[int]:
        """The id of a vocabulary piece, or None when it is not in the vocabulary."""
        data = text_bytes(token, "token")
        i = lib.llm_tokenizer_piece_to_id(self._handle(), data, len(data))
        return None if i < 0 else int(i)

    def special(self, name: str) -> Optional[int]:
        """The id of a special token ("bos", "eos", "unk", "pad", "sep", "cls", "mask", "eot",
        "decoder_start"), or None when the tokenizer has none."""
        if name not in SPECIAL_NAMES:
            raise InvalidArgument("special token name %r is not one of %s"
                                  % (name, ", ".join(SPECIAL_NAMES)))
        i = lib.llm_tokenizer_special(self._handle(), SPECIAL_NAMES.index(name))
        return None if i < 0 else int(i)


__all__ = ["Tokenizer"]
