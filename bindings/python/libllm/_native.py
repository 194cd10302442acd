"""Loading libllm.so and declaring every C function's argument and result types.

The library is found, in order, at $LLM_LIBRARY, next to this package (an installed wheel may
carry it), then on the system's library path (libllm.so.0). Its major version must match the one
this package was written for.
"""
import ctypes
import ctypes.util
import os
from typing import Any, Iterator, NoReturn, Optional, TypeVar

from . import errors

ABI_MAJOR = 0

c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_uint32_p = ctypes.POINTER(ctypes.c_uint32)
c_float_p = ctypes.POINTER(ctypes.c_float)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)

TOKEN_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p,
                            ctypes.c_size_t)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
PARALLEL_FN = ctypes.c_void_p


class ModelOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("load_mode", ctypes.c_int32),
                ("verify", ctypes.c_int32), ("max_file_bytes", ctypes.c_uint64),
                ("max_tensor_count", ctypes.c_uint64), ("max_kv_count", ctypes.c_uint64),
                ("max_array_length", ctypes.c_uint64), ("max_string_length", ctypes.c_uint64),
                ("max_normalize_growth", ctypes.c_uint32), ("max_added_token_steps", ctypes.c_uint32),
                ("max_regex_steps", ctypes.c_uint64)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("arch", ctypes.c_int32),
                ("family", ctypes.c_int32), ("n_vocab", ctypes.c_uint32),
                ("n_embd", ctypes.c_uint32), ("n_layer", ctypes.c_uint32),
                ("n_layer_encoder", ctypes.c_uint32), ("n_head", ctypes.c_uint32),
                ("n_head_kv", ctypes.c_uint32), ("n_ff", ctypes.c_uint32),
                ("n_ctx_train", ctypes.c_uint32), ("pooling", ctypes.c_int32),
                ("weight_type", ctypes.c_int32), ("n_params", ctypes.c_uint64),
                ("weight_bytes", ctypes.c_uint64)]


class SessionOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_ctx", ctypes.c_uint32),
                ("n_threads", ctypes.c_uint32), ("n_batch", ctypes.c_uint32),
                ("kv_type", ctypes.c_int32), ("context_policy", ctypes.c_int32),
                ("parallel_for", PARALLEL_FN), ("parallel_host", ctypes.c_void_p)]


class EmbedOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("pooling", ctypes.c_int32),
                ("normalize", ctypes.c_int32), ("truncate", ctypes.c_int32),
                ("add_special", ctypes.c_int32)]


class EmbedResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("pooling", ctypes.c_int32),
                ("normalized", ctypes.c_int32), ("n_tokens", ctypes.c_uint64)]


class ChatOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("add_generation_prompt", ctypes.c_int32),
                ("bos_token", ctypes.c_char_p), ("eos_token", ctypes.c_char_p),
                ("tools_json", ctypes.c_char_p), ("documents_json", ctypes.c_char_p),
                ("now", ctypes.c_char_p), ("extra_json", ctypes.c_char_p),
                ("max_steps", ctypes.c_uint64), ("max_output", ctypes.c_uint64),
                ("max_depth", ctypes.c_uint64)]


# (name, restype, argtypes) of every function in <llm/llm.h>
_P = ctypes.c_void_p
_S = ctypes.c_int  # llm_status
SIGNATURES = [
    ("llm_version_number", ctypes.c_int, []),
    ("llm_version_string", ctypes.c_char_p, []),
    ("llm_status_string", ctypes.c_char_p, [ctypes.c_int]),
    ("llm_last_error", ctypes.c_char_p, []),
    ("llm_set_logger", None, [LOG_FN, _P, ctypes.c_int]),
    ("llm_free", None, [_P]),
    ("llm_kernel_isa", ctypes.c_char_p, []),
    ("llm_cpu_features", ctypes.c_char_p, []),
    ("llm_cosine_similarity", ctypes.c_float, [c_float_p, c_float_p, ctypes.c_size_t]),
    ("llm_tokenizer_open", _S, [ctypes.c_char_p, ctypes.POINTER(_P)]),
    ("llm_tokenizer_close", None, [_P]),
    ("llm_tokenizer_encode", _S, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
                                  c_int32_p, ctypes.c_size_t, c_size_t_p]),
    ("llm_tokenizer_encode_offsets", _S, [_P, ctypes.c_char_p, ctypes.c_size_t,
                                          ctypes.c_uint32, c_int32_p, c_uint32_p,
                                          ctypes.c_size_t, c_size_t_p]),
    ("llm_tokenizer_decode", _S, [_P, c_int32_p, ctypes.c_size_t, ctypes.c_uint32,
                                  ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("llm_tokenizer_vocab_size", ctypes.c_size_t, [_P]),
    ("llm_tokenizer_get_kind", ctypes.c_int, [_P]),
    ("llm_tokenizer_special", ctypes.c_int32, [_P, ctypes.c_int]),
    ("llm_tokenizer_piece", ctypes.c_void_p, [_P, ctypes.c_int32, c_size_t_p]),
    ("llm_tokenizer_piece_to_id", ctypes.c_int32, [_P, ctypes.c_char_p, ctypes.c_size_t]),
    ("llm_detokenizer_create", _S, [_P, ctypes.c_uint32, ctypes.POINTER(_P)]),
    ("llm_detokenizer_push", _S, [_P, ctypes.c_int32, ctypes.c_char_p, ctypes.c_size_t,
                                  c_size_t_p]),
    ("llm_detokenizer_flush", _S, [_P, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("llm_detokenizer_destroy", None, [_P]),
    ("llm_model_options_init", None, [ctypes.POINTER(ModelOptions)]),
    ("llm_model_open", _S, [ctypes.c_char_p, ctypes.POINTER(ModelOptions), ctypes.POINTER(_P)]),
    ("llm_model_close", None, [_P]),
    ("llm_model_get_info", _S, [_P, ctypes.POINTER(ModelInfo)]),
    ("llm_model_arch_name", ctypes.c_char_p, [_P]),
    ("llm_model_embedding_dim", ctypes.c_size_t, [_P]),
    ("llm_model_tokenizer", _P, [_P]),
    ("llm_session_options_init", None, [ctypes.POINTER(SessionOptions)]),
    ("llm_model_estimate_memory", _S, [_P, ctypes.POINTER(SessionOptions),
                                       ctypes.POINTER(ctypes.c_uint64)]),
    ("llm_session_create", _S, [_P, ctypes.POINTER(SessionOptions), ctypes.POINTER(_P)]),
    ("llm_session_destroy", None, [_P]),
    ("llm_session_last_error", ctypes.c_char_p, [_P]),
    ("llm_session_model", _P, [_P]),
    ("llm_session_reset", None, [_P]),
    ("llm_session_n_tokens", ctypes.c_size_t, [_P]),
    ("llm_session_feed", _S, [_P, c_int32_p, ctypes.c_size_t, c_float_p, ctypes.c_size_t]),
    ("llm_session_feed_prompt", _S, [_P, c_int32_p, ctypes.c_size_t, c_size_t_p]),
    ("llm_session_logits", c_float_p, [_P, c_size_t_p]),
    ("llm_session_set_int", _S, [_P, ctypes.c_int, ctypes.c_int64]),
    ("llm_session_set_float", _S, [_P, ctypes.c_int, ctypes.c_double]),
    ("llm_session_get_int", _S, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]),
    ("llm_session_get_float", _S, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]),
    ("llm_session_set_logit_bias", _S, [_P, ctypes.c_int32, ctypes.c_float]),
    ("llm_session_add_stop", _S, [_P, ctypes.c_char_p]),
    ("llm_session_clear_stops", None, [_P]),
    ("llm_session_load_preset", _S, [_P, ctypes.c_char_p]),
    ("llm_session_step", _S, [_P, c_int32_p, ctypes.POINTER(ctypes.c_void_p), c_size_t_p,
                              ctypes.POINTER(ctypes.c_int)]),
    ("llm_session_generate", _S, [_P, TOKEN_FN, _P]),
    ("llm_session_generate_text", _S, [_P, ctypes.c_char_p, TOKEN_FN, _P]),
    ("llm_session_stop_reason", ctypes.c_int, [_P]),
    ("llm_session_cancel", None, [_P]),
    ("llm_session_beam_search", _S, [_P, c_int32_p, ctypes.c_size_t, c_size_t_p, c_float_p,
                                     ctypes.c_size_t, c_size_t_p]),
    ("llm_embed_options_init", None, [ctypes.POINTER(EmbedOptions)]),
    ("llm_session_embed", _S, [_P, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                               ctypes.POINTER(EmbedOptions), c_float_p, ctypes.c_size_t,
                               ctypes.POINTER(EmbedResult)]),
    ("llm_session_embed_ids", _S, [_P, c_int32_p, ctypes.c_size_t, ctypes.POINTER(EmbedOptions),
                                   c_float_p, ctypes.c_size_t, ctypes.POINTER(EmbedResult)]),
    ("llm_model_classifier", ctypes.c_int, [_P, c_size_t_p]),
    ("llm_model_label", ctypes.c_char_p, [_P, ctypes.c_size_t]),
    ("llm_session_classify", _S, [_P, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                  c_float_p, c_float_p, ctypes.c_size_t]),
    ("llm_session_save_state", _S, [_P, _P, ctypes.c_size_t, c_size_t_p]),
    ("llm_session_load_state", _S, [_P, _P, ctypes.c_size_t]),
    ("llm_session_save_file", _S, [_P, ctypes.c_char_p]),
    ("llm_session_load_file", _S, [_P, ctypes.c_char_p]),
    ("llm_session_fork", _S, [_P, ctypes.POINTER(_P)]),
    ("llm_chat_options_init", None, [ctypes.POINTER(ChatOptions)]),
    ("llm_chat_template_render", _S, [ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.POINTER(ChatOptions), ctypes.POINTER(_P),
                                      c_size_t_p]),
    ("llm_model_chat_template", ctypes.c_char_p, [_P]),
    ("llm_model_chat_render", _S, [_P, ctypes.c_char_p, ctypes.POINTER(ChatOptions),
                                   ctypes.POINTER(_P), c_size_t_p]),
]


_H = TypeVar("_H", bound="Handle")


class Handle:
    """A native handle's Python lifetime: `with` closes it, and so does garbage collection
    (quietly: at interpreter exit the library may already be gone). Subclasses define close()."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _candidates() -> Iterator[str]:
    env = os.environ.get("LLM_LIBRARY")
    if env:
        yield env
        return
    # a wheel built by `pip install ./bindings/python` carries the library beside this file
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libllm.so", "libllm.so.%d" % ABI_MAJOR):
        path = os.path.join(here, name)
        if os.path.exists(path):
            yield path
    yield "libllm.so.%d" % ABI_MAJOR
    found = ctypes.util.find_library("llm")
    if found:
        yield found


def load() -> ctypes.CDLL:
    failures = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            failures.append(str(e))
    else:
        raise ImportError("libllm: cannot load libllm.so (install the package with "
                          "`pip install ./bindings/python`, which bundles it, or set LLM_LIBRARY "
                          "to its path): " + "; ".join(failures))
    for name, restype, argtypes in SIGNATURES:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    major = lib.llm_version_number() // 1000000
    if major != ABI_MAJOR:
        raise ImportError("libllm: the library is version %s, this package needs %d.x"
                          % (lib.llm_version_string().decode(), ABI_MAJOR))
    return lib


lib = load()


def last_error() -> str:
    """The calling thread's last error message."""
    return lib.llm_last_error().decode(errors="replace")


def check(status: int, message: Optional[str] = None, filename: Optional[str] = None) -> None:
    """Raises the LLMError subclass of a failed call's status (nothing for LLM_OK)."""
    if status != 0:
        fail(status, message, filename)


def fail(status: int, message: Optional[str] = None, filename: Optional[str] = None) -> NoReturn:
    raise errors.error_for(status, message if message is not None else last_error(), filename)
