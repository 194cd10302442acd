"""The Python API in its peers' terms (llama-cpp-python, sentence-transformers, Hugging Face
tokenizers): completion results and finish reasons, the end of the context and cancels that keep
the text, exceptions, encode(), type hints and the package's metadata."""
import builtins
import inspect
import os
import re
import threading
import unittest

import libllm

DATA = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or "../shared/data"
STORIES = os.path.join(DATA, "models", "stories260K", "stories260K.gguf")
BERT = os.path.join(DATA, "golden", "models", "bert-tiny-mean-f32.gguf")
HAVE_DATA = os.path.isdir(DATA)
if not HAVE_DATA and os.environ.get("CI") == "true":
    raise SystemExit("FAIL: test data folder %s is missing (CI=true requires it)" % DATA)
needs_data = unittest.skipUnless(HAVE_DATA, "test data folder %s is absent" % DATA)
HERE = os.path.dirname(os.path.abspath(__file__))


class Exceptions(unittest.TestCase):
    def test_missing_model_is_file_not_found_with_status(self):
        with self.assertRaises(FileNotFoundError) as cm:
            libllm.Model.open("/nonexistent/model.gguf")
        e = cm.exception
        self.assertIsInstance(e, libllm.LLMError)
        self.assertIsInstance(e, libllm.FileMissing)
        self.assertEqual(e.status, libllm.errors.ERR_IO)
        self.assertEqual(e.filename, "/nonexistent/model.gguf")
        self.assertIn("/nonexistent/model.gguf", str(e))
        self.assertNotRegex(str(e), r"\bllm_\w+")

    def test_a_directory_that_is_no_model_is_an_llm_error(self):
        with self.assertRaises(libllm.LLMError) as cm:
            libllm.Model.open(HERE)
        self.assertIn(HERE, str(cm.exception))

    def test_wrong_types_name_the_argument(self):
        with self.assertRaises(TypeError) as cm:
            libllm.Model.open(42)
        self.assertIsInstance(cm.exception, libllm.LLMError)
        self.assertIn("path", str(cm.exception))
        with self.assertRaises(TypeError):
            libllm.Tokenizer.from_file(None)

    def test_every_exception_is_exported(self):
        for name in libllm.errors.__all__:
            self.assertIn(name, libllm.__all__)
            cls = getattr(libllm, name)
            self.assertTrue(issubclass(cls, libllm.LLMError), name)
        for name in libllm.__all__:
            self.assertTrue(hasattr(libllm, name), name)
        self.assertTrue(issubclass(libllm.InvalidArgument, ValueError))
        self.assertTrue(issubclass(libllm.FormatError, ValueError))
        self.assertTrue(issubclass(libllm.OutOfMemory, MemoryError))
        self.assertTrue(issubclass(libllm.IOFailure, OSError))
        self.assertTrue(issubclass(libllm.ArgumentTypeError, TypeError))


@needs_data
class ExceptionsWithAModel(unittest.TestCase):
    def test_messages_name_the_argument_not_a_c_function(self):
        model = libllm.Model.open(STORIES)
        s = model.session()
        with self.assertRaises(ValueError) as cm:
            s.set(top_p=5.0)
        self.assertIn("top_p", str(cm.exception))
        self.assertNotRegex(str(cm.exception), r"\bllm_\w+")
        with self.assertRaises(TypeError) as cm:
            s.generate(42)
        self.assertIn("prompt", str(cm.exception))
        with self.assertRaises(TypeError) as cm:
            s.generate("x", temperature="hot")
        self.assertIn("temperature", str(cm.exception))
        with self.assertRaises(TypeError):
            s.generate("x", no_such_knob=1)  # named keyword arguments, not **params
        s.close()
        model.close()
        with self.assertRaises(libllm.StateError) as cm:
            model.session()
        self.assertIn("closed", str(cm.exception))
        self.assertNotRegex(str(cm.exception), r"\bllm_\w+")
        with self.assertRaises(libllm.StateError):
            s.generate("x")

    def test_a_prompt_longer_than_the_context_is_an_error(self):
        with libllm.Model.open(STORIES) as model, model.session(n_ctx=8) as s:
            with self.assertRaises(libllm.ContextFull) as cm:
                s.complete(list(range(1, 20)))
            self.assertIsInstance(cm.exception, ValueError)


@needs_data
class Completions(unittest.TestCase):
    def setUp(self):
        self.model = libllm.Model.open(STORIES)

    def tearDown(self):
        self.model.close()

    def test_result_has_text_tokens_reason_usage(self):
        c = self.model.complete("Once upon a time", max_tokens=12, temperature=0)
        self.assertIsInstance(c, libllm.Completion)
        self.assertEqual(c.finish_reason, "length")
        self.assertEqual(len(c.tokens), 12)
        self.assertEqual(c.text, self.model.tokenizer.decode(c.tokens))
        self.assertEqual(c.usage, {"prompt_tokens": 5, "completion_tokens": 12,
                                   "total_tokens": 17})
        stopped = self.model.complete("Once upon a time", max_tokens=64, temperature=0,
                                      stop=["was"])
        self.assertEqual(stopped.finish_reason, "stop")
        self.assertNotIn("was", stopped.text)
        # "eos": test_libllm's T5 case, whose greedy output ends with the end-of-text token

    def test_end_of_context_keeps_the_text(self):
        full = self.model.complete("Once upon a time", max_tokens=40, temperature=0,
                                   ignore_eos=True)
        with self.model.session(n_ctx=16) as s:
            c = s.complete("Once upon a time", max_tokens=40, temperature=0, ignore_eos=True)
            self.assertEqual(s.finish_reason, "context")
        self.assertEqual(c.finish_reason, "context")
        self.assertEqual(len(c.tokens), 16 - 5)  # n_ctx less the prompt's tokens
        self.assertEqual(c.tokens, full.tokens[:len(c.tokens)])
        self.assertTrue(full.text.startswith(c.text) and c.text)

    def test_context_policy_shift_is_a_session_parameter(self):
        with self.model.session(n_ctx=16, context_policy="shift") as s:
            c = s.complete("Once upon a time", max_tokens=40, temperature=0, ignore_eos=True)
        self.assertEqual(c.finish_reason, "length")
        self.assertEqual(len(c.tokens), 40)
        m = libllm.Model.open(STORIES, n_ctx=16, context_policy="shift")
        self.assertEqual(m.complete("Once", max_tokens=30, ignore_eos=True).finish_reason,
                         "length")
        m.close()
        with self.assertRaises(ValueError):
            self.model.session(context_policy="wrap")

    def test_cancel_returns_the_text_so_far(self):
        with self.model.session() as s:
            pieces = []
            for piece in s.stream("Once upon a time", max_tokens=100, temperature=0):
                pieces.append(piece)
                if len(pieces) == 3:
                    s.cancel()
            self.assertEqual(s.finish_reason, "cancelled")
            self.assertGreaterEqual(len(pieces), 3)
            self.assertLess(len(pieces), 10)
            # from another thread, during complete()
            started = threading.Event()
            orig = s._steps

            def steps(*a):
                for i, item in enumerate(orig(*a)):
                    if i == 2:
                        started.set()
                        threading.Thread(target=s.cancel).start()
                    yield item
            s._steps = steps
            c = s.complete("One day", max_tokens=200, temperature=0, ignore_eos=True)
            del s._steps
            self.assertTrue(started.is_set())
            self.assertEqual(c.finish_reason, "cancelled")
            self.assertGreater(len(c.tokens), 2)
            self.assertLess(len(c.tokens), 200)
            self.assertEqual(c.text, self.model.tokenizer.decode(c.tokens))

    def test_cancel_just_before_generate_is_not_lost(self):
        with self.model.session() as s:
            s.cancel()
            c = s.complete("Once upon a time", max_tokens=20, temperature=0)
            self.assertEqual(c.finish_reason, "cancelled")
            self.assertEqual(c.tokens, [])
            # noticed once: the next one runs
            c = s.complete("Once upon a time", max_tokens=5, temperature=0)
            self.assertEqual(c.finish_reason, "length")
            self.assertEqual(len(c.tokens), 5)

    def test_openai_shaped_dict_as_llama_cpp_python(self):
        out = self.model("Once upon a time", max_tokens=8, temperature=0)
        self.assertEqual(set(out), {"id", "object", "created", "model", "choices", "usage"})
        self.assertTrue(out["id"].startswith("cmpl-"))
        self.assertEqual(out["object"], "text_completion")
        self.assertIsInstance(out["created"], int)
        self.assertEqual(out["model"], STORIES)
        self.assertEqual(len(out["choices"]), 1)
        choice = out["choices"][0]
        self.assertEqual(set(choice), {"text", "index", "logprobs", "finish_reason"})
        self.assertEqual(choice["index"], 0)
        self.assertIsNone(choice["logprobs"])
        self.assertEqual(choice["finish_reason"], "length")
        self.assertEqual(out["usage"], {"prompt_tokens": 5, "completion_tokens": 8,
                                        "total_tokens": 13})
        same = self.model.create_completion("Once upon a time", max_tokens=8, temperature=0)
        self.assertEqual(same["choices"][0]["text"], choice["text"])
        self.assertEqual(choice["text"],
                         self.model.generate("Once upon a time", max_tokens=8, temperature=0))
        echo = self.model("Once upon a time", max_tokens=8, temperature=0, echo=True)
        self.assertEqual(echo["choices"][0]["text"], "Once upon a time" + choice["text"])
        chunks = list(self.model("Once upon a time", max_tokens=8, temperature=0, stream=True))
        self.assertGreater(len(chunks), 2)
        self.assertEqual("".join(ch["choices"][0]["text"] for ch in chunks), choice["text"])
        self.assertEqual([ch["choices"][0]["finish_reason"] for ch in chunks][-1], "length")
        self.assertTrue(all(ch["choices"][0]["finish_reason"] is None for ch in chunks[:-1]))
        self.assertEqual(self.model("Once upon a time", max_tokens=64, temperature=0,
                                    stop=["was"])["choices"][0]["finish_reason"], "stop")

    def test_seed_minus_one_is_random(self):
        with self.model.session() as s:
            s.set(seed=-1)
            a = s.last_seed
            s.set(seed=-1)
            self.assertNotEqual(a, s.last_seed)

    def test_tokenizer_adds_special_tokens_by_default(self):
        tok = self.model.tokenizer
        self.assertEqual(tok.encode("Once upon a time"), [1, 403, 407, 261, 378])
        self.assertEqual(tok.encode("Once upon a time", add_special_tokens=False),
                         [403, 407, 261, 378])
        self.assertEqual(tok.decode([1, 403, 407, 261, 378], skip_special_tokens=True),
                         "Once upon a time")
        self.assertEqual(self.model.tokenize(b"Once upon a time"), [1, 403, 407, 261, 378])
        self.assertEqual(self.model.detokenize([403, 407]), b"Once upon")
        self.assertEqual(tok.token_to_id(tok.id_to_token(403)), 403)


@needs_data
class Encode(unittest.TestCase):
    def setUp(self):
        self.model = libllm.Model.open(BERT)
        self.dim = self.model.embedding_dim
        self.docs = ["The cat sat on the mat.", "A dog is running in the park.",
                     "Stock markets fell.", "Rain is expected."]

    def tearDown(self):
        self.model.close()

    def rows(self, x):
        return [list(map(float, r)) for r in x]

    def test_one_string_gives_one_vector_any_iterable_gives_rows(self):
        one = self.model.encode(self.docs[0], convert_to_numpy=False)
        self.assertEqual(len(one), self.dim)
        self.assertIsInstance(one[0], float)
        many = self.model.encode(iter(self.docs), convert_to_numpy=False)  # a generator
        self.assertEqual(len(many), 4)
        self.assertEqual(self.rows(many)[0], one)
        self.assertEqual(self.model.encode((d for d in self.docs[:2]), convert_to_numpy=False),
                         many[:2])
        with self.assertRaises(TypeError):
            self.model.encode(42)
        with self.assertRaises(TypeError):
            self.model.encode(["a", 3])

    def test_batch_size_does_not_change_the_vectors(self):
        a = self.rows(self.model.encode(self.docs, batch_size=1, convert_to_numpy=False))
        b = self.rows(self.model.encode(self.docs, batch_size=32, convert_to_numpy=False))
        for x, y in zip(a, b):
            self.assertLess(max(abs(p - q) for p, q in zip(x, y)), 1e-5)
        with self.assertRaises(ValueError):
            self.model.encode(self.docs, batch_size=0)

    def test_normalize_embeddings(self):
        raw = self.rows(self.model.encode(self.docs, convert_to_numpy=False))
        unit = self.rows(self.model.encode(self.docs, normalize_embeddings=True,
                                           convert_to_numpy=False))
        for r, u in zip(raw, unit):
            norm = sum(x * x for x in r) ** 0.5
            self.assertAlmostEqual(sum(x * x for x in u), 1.0, places=4)
            self.assertLess(max(abs(x / norm - y) for x, y in zip(r, u)), 1e-5)
        # embed() is the older name, with the older `normalize` switch
        self.assertEqual(self.rows(self.model.embed(self.docs, normalize=True,
                                                    convert_to_numpy=False)), unit)

    def test_numpy_when_present_a_list_otherwise(self):
        real_import = builtins.__import__

        def no_numpy(name, *a, **k):
            if name == "numpy":
                raise ImportError("no numpy here")
            return real_import(name, *a, **k)
        builtins.__import__ = no_numpy
        try:
            lists = self.model.encode(self.docs)
            one = self.model.encode(self.docs[0])
        finally:
            builtins.__import__ = real_import
        self.assertIsInstance(lists, list)
        self.assertIsInstance(lists[0], list)
        self.assertIsInstance(one, list)
        try:
            import numpy
        except ImportError:
            return
        arr = self.model.encode(self.docs)
        self.assertIsInstance(arr, numpy.ndarray)
        self.assertEqual(arr.shape, (4, self.dim))
        self.assertEqual(arr.dtype, numpy.float32)
        self.assertEqual(self.model.encode(self.docs[0]).shape, (self.dim,))

    def test_progress_bar(self):
        import contextlib
        import io
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.model.encode(self.docs, batch_size=2, show_progress_bar=True)
        self.assertIn("Batches: 2/2", err.getvalue())
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.model.encode(self.docs, batch_size=2)
        self.assertEqual(err.getvalue(), "")

    def test_create_embedding_as_llama_cpp_python(self):
        out = self.model.create_embedding(self.docs[:2])
        self.assertEqual(out["object"], "list")
        self.assertEqual([d["index"] for d in out["data"]], [0, 1])
        self.assertEqual(len(out["data"][0]["embedding"]), self.dim)
        self.assertGreater(out["usage"]["prompt_tokens"], 4)


class Package(unittest.TestCase):
    def test_version_and_py_typed(self):
        self.assertEqual(libllm.__version__, libllm.version())
        pkg = os.path.dirname(libllm.__file__)
        self.assertTrue(os.path.exists(os.path.join(pkg, "py.typed")))
        with open(os.path.join(os.path.dirname(HERE), "pyproject.toml")) as f:
            toml = f.read()
        m = re.search(r"^version\s*=\s*\"([^\"]+)\"", toml, re.M)
        self.assertEqual(m.group(1), libllm.__version__)

    def test_public_calls_have_type_hints_and_docstrings(self):
        missing = []
        for name in libllm.__all__:
            obj = getattr(libllm, name)
            if inspect.isclass(obj):
                self.assertTrue(obj.__doc__, name)
                members = [(name + "." + m, f) for m, f in vars(obj).items()
                           if not m.startswith("_") or m in ("__init__", "__call__")]
            elif callable(obj):
                members = [(name, obj)]
            else:
                continue
            for qual, f in members:
                if isinstance(f, property):
                    f = f.fget
                elif isinstance(f, (classmethod, staticmethod)):
                    f = f.__func__
                if not inspect.isfunction(f):
                    continue
                if not f.__doc__ and not qual.endswith("__init__"):
                    missing.append(qual + " (docstring)")
                hints = f.__annotations__
                if "return" not in hints:
                    missing.append(qual + " (return type)")
                for p in inspect.signature(f).parameters.values():
                    if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) \
                            and p.name not in hints:
                        missing.append("%s(%s) (type)" % (qual, p.name))
        self.assertEqual(missing, [])

    def test_key_calls_have_examples(self):
        for f in (libllm.Model, libllm.Model.open, libllm.Model.generate, libllm.Model.stream,
                  libllm.Model.complete, libllm.Model.create_completion, libllm.Model.encode,
                  libllm.Session.complete, libllm.Session.stream, libllm.Tokenizer.encode):
            self.assertIn(">>>", f.__doc__, f.__qualname__)

    def test_sampling_parameters_are_named(self):
        for f in (libllm.Model.complete, libllm.Model.generate, libllm.Model.stream,
                  libllm.Session.complete, libllm.Session.generate, libllm.Session.stream,
                  libllm.Session.set):
            params = inspect.signature(f).parameters
            self.assertFalse(any(p.kind == p.VAR_KEYWORD for p in params.values()),
                             f.__qualname__)
            for name in ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed",
                         "max_tokens", "stop"):
                self.assertIn(name, params, f.__qualname__)


if __name__ == "__main__":
    unittest.main()
