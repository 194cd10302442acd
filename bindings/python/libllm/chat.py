"""Chat templates: render a conversation the way transformers' ``apply_chat_template`` does,
with the model's own Jinja2 template or any other, in libllm's sandboxed engine."""
from __future__ import annotations

import ctypes
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import _native
from ._native import lib
from .errors import ArgumentTypeError, TemplateError

Messages = Sequence[Mapping[str, Any]]

_ERR_STATE = 8


def _json(value: Any, what: str) -> Optional[bytes]:
    if value is None:
        return None
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except (TypeError, ValueError) as e:
        raise ArgumentTypeError("%s must be JSON-serializable: %s" % (what, e)) from None


def _options(add_generation_prompt: bool, tools: Any, documents: Any, bos_token: Optional[str],
             eos_token: Optional[str], now: Optional[str], variables: Dict[str, Any]
             ) -> _native.ChatOptions:
    o = _native.ChatOptions()
    lib.llm_chat_options_init(ctypes.byref(o))
    o.add_generation_prompt = 1 if add_generation_prompt else 0
    o.bos_token = bos_token.encode() if bos_token is not None else None
    o.eos_token = eos_token.encode() if eos_token is not None else None
    o.tools_json = _json(tools, "tools")
    o.documents_json = _json(documents, "documents")
    o.now = now.encode() if now is not None else None
    o.extra_json = _json(variables, "template variables") if variables else None
    return o


def render(template: Optional[str], messages: Messages, *, model_handle: Any = None,
           add_generation_prompt: bool = False, tools: Optional[List[Any]] = None,
           documents: Optional[List[Any]] = None, bos_token: Optional[str] = None,
           eos_token: Optional[str] = None, now: Optional[str] = None,
           **variables: Any) -> str:
    """The rendering of `messages` through `template` (or, with template None, the model's own
    template with its BOS/EOS texts). Extra keyword arguments become template variables."""
    if isinstance(messages, (str, bytes)) or not hasattr(messages, "__iter__"):
        raise ArgumentTypeError("messages must be a list of {'role': ..., 'content': ...} "
                                "dicts, not %s" % type(messages).__name__)
    msgs = _json(list(messages), "messages")
    o = _options(add_generation_prompt, tools, documents, bos_token, eos_token, now, variables)
    out = ctypes.c_void_p()
    n = ctypes.c_size_t()
    if template is None:
        st = lib.llm_model_chat_render(model_handle, msgs, ctypes.byref(o), ctypes.byref(out),
                                       ctypes.byref(n))
    else:
        if not isinstance(template, str):
            raise ArgumentTypeError("chat_template must be a str, not %s"
                                    % type(template).__name__)
        st = lib.llm_chat_template_render(template.encode(), msgs, ctypes.byref(o),
                                          ctypes.byref(out), ctypes.byref(n))
    if st == _ERR_STATE:
        raise TemplateError(_native.last_error(), st)
    _native.check(st)
    try:
        return ctypes.string_at(out.value, n.value).decode()
    finally:
        lib.llm_free(out)


def render_chat_template(template: str, messages: Messages, *,
                         add_generation_prompt: bool = False,
                         tools: Optional[List[Any]] = None,
                         documents: Optional[List[Any]] = None, bos_token: Optional[str] = None,
                         eos_token: Optional[str] = None, now: Optional[str] = None,
                         **variables: Any) -> str:
    """Renders `messages` through a Jinja2 chat template as transformers does: `tools` and
    `documents` are None unless given, bos_token/eos_token undefined unless given, `now` (an
    ISO-8601 time) fixes what strftime_now() reports, and other keyword arguments become
    template variables.

    Raises:
        TemplateError: the template called raise_exception() (its message).
        FormatError: a syntax error in the template, or an operation it does not support.
        LimitExceeded: the render ran past the sandbox's bounds.

    Example:
        >>> libllm.render_chat_template(
        ...     "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}",
        ...     [{"role": "user", "content": "Hi"}])
        '<|user|>Hi'
    """
    return render(template, messages, add_generation_prompt=add_generation_prompt, tools=tools,
                  documents=documents, bos_token=bos_token, eos_token=eos_token, now=now,
                  **variables)
