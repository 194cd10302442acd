"""The exceptions of libllm.

Every failure of a library call raises an :class:`LLMError` whose ``status`` is the C library's
``llm_status`` code and whose message says what was wrong in the caller's terms. The subclasses
also derive from the built-in exception a Python user expects for that kind of failure, so
``except FileNotFoundError`` or ``except ValueError`` work as they do elsewhere::

    try:
        model = libllm.Model.open("missing.gguf")
    except FileNotFoundError as e:      # also libllm.FileMissing, libllm.LLMError
        print(e.filename, e.status)     # missing.gguf 3

The end of the context and a cancel are not errors: a generation that meets them returns the text
so far with ``finish_reason`` ``"context"`` or ``"cancelled"``.
"""
from __future__ import annotations

import errno
from typing import Dict, Optional, Type

# llm_status codes (include/llm/llm.h)
OK = 0
ERR_INVALID_ARG = 1
ERR_NOMEM = 2
ERR_IO = 3
ERR_FORMAT = 4
ERR_UNSUPPORTED = 5
ERR_ABI = 6
ERR_UNKNOWN_PARAM = 7
ERR_STATE = 8
ERR_CANCELLED = 9
ERR_CONTEXT_FULL = 10
ERR_TOO_LONG = 11
ERR_LIMIT = 12
ERR_BUFFER_TOO_SMALL = 13


class LLMError(Exception):
    """A libllm call failed.

    Attributes:
        status: the ``llm_status`` code of the failure (``libllm.errors.ERR_IO``, ...).
        message: what was wrong, naming the argument, file or value.
    """

    status: int
    message: str

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class InvalidArgument(LLMError, ValueError):
    """An argument has a value the call does not accept (out of range, unknown name, ...)."""


class ArgumentTypeError(InvalidArgument, TypeError):
    """An argument has the wrong type (a number where text or token ids are expected, ...)."""


class TooLong(InvalidArgument):
    """An input is longer than the model accepts (pass ``truncate=True`` to cut it)."""


class OutOfMemory(LLMError, MemoryError):
    """An allocation failed."""


class IOFailure(LLMError, OSError):
    """A file could not be opened, read or written."""


class FileMissing(IOFailure, FileNotFoundError):
    """The named file or directory does not exist. ``filename`` names it."""


class FormatError(LLMError, ValueError):
    """A model, tokenizer or preset file is malformed; the message says where."""


class Unsupported(LLMError, ValueError):
    """An architecture, tensor type or option this build of libllm does not support."""


class LimitExceeded(LLMError, ValueError):
    """An input exceeds a configured limit (file size, tensor count, ...)."""


class StateError(LLMError, RuntimeError):
    """A call made in the wrong order, or on a closed model, tokenizer or session."""


class TemplateError(StateError):
    """A chat template called raise_exception(message): the conversation is not one the model's
    template accepts (jinja2's TemplateError in transformers). The message is the template's."""


class Cancelled(LLMError):
    """Work without a partial result (an embedding) was stopped by ``Session.cancel()``."""


class ContextFull(LLMError, ValueError):
    """A prompt does not fit in the session's context (create it with a larger ``n_ctx``)."""


_BY_STATUS: Dict[int, Type[LLMError]] = {
    ERR_INVALID_ARG: InvalidArgument,
    ERR_NOMEM: OutOfMemory,
    ERR_IO: IOFailure,
    ERR_FORMAT: FormatError,
    ERR_UNSUPPORTED: Unsupported,
    ERR_UNKNOWN_PARAM: InvalidArgument,
    ERR_STATE: StateError,
    ERR_CANCELLED: Cancelled,
    ERR_CONTEXT_FULL: ContextFull,
    ERR_TOO_LONG: TooLong,
    ERR_LIMIT: LimitExceeded,
}


def error_for(status: int, message: str, filename: Optional[str] = None) -> LLMError:
    """The exception for a failed call: its class from the status, FileMissing for an I/O error
    on a path that does not exist."""
    cls = _BY_STATUS.get(status, LLMError)
    if cls is IOFailure and filename is not None:
        import os
        if not os.path.lexists(filename):
            e = FileMissing(message, status)
            e.errno = errno.ENOENT
            e.strerror = message
            e.filename = filename
            return e
    e = cls(message, status)
    if isinstance(e, OSError):
        e.strerror = message
        e.filename = filename
    return e


__all__ = ["LLMError", "InvalidArgument", "ArgumentTypeError", "TooLong", "OutOfMemory",
           "IOFailure", "FileMissing", "FormatError", "Unsupported", "LimitExceeded",
           "StateError", "Cancelled", "ContextFull"]
