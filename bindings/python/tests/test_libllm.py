"""Tests of the Python package against the built library (LLM_LIBRARY) and the shared data."""
import ctypes
import json
import os
import struct
import unittest

import libllm
from libllm import _native

DATA = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or "../shared/data"
STORIES = os.path.join(DATA, "models", "stories260K", "stories260K.gguf")
HAVE_DATA = os.path.isdir(DATA)
if not HAVE_DATA and os.environ.get("CI") == "true":
    raise SystemExit("FAIL: test data folder %s is missing (CI=true requires it)" % DATA)
needs_data = unittest.skipUnless(HAVE_DATA, "test data folder %s is absent" % DATA)


class Basics(unittest.TestCase):
    def test_version(self):
        self.assertEqual(libllm.version().split(".")[0], str(_native.ABI_MAJOR))
        self.assertIn(libllm.kernel_isa(), ("generic", "avx2", "avx512", "neon"))

    def test_struct_layout_matches_the_c_abi(self):
        # the same numbers tests/test_abi_layout.c pins
        self.assertEqual(ctypes.sizeof(_native.ModelOptions), 72)
        self.assertEqual(ctypes.sizeof(_native.ModelInfo), 72)
        self.assertEqual(ctypes.sizeof(_native.SessionOptions), 48)
        self.assertEqual(ctypes.sizeof(_native.EmbedOptions), 24)
        self.assertEqual(ctypes.sizeof(_native.EmbedResult), 24)
        self.assertEqual(_native.SessionOptions.parallel_for.offset, 32)
        self.assertEqual(_native.ModelInfo.n_params.offset, 56)

    def test_errors_become_exceptions(self):
        with self.assertRaises(OSError) as cm:
            libllm.Model.open("/nonexistent/model.gguf")
        self.assertIn("/nonexistent/model.gguf", str(cm.exception))

    def test_cosine(self):
        self.assertAlmostEqual(libllm.cosine_similarity([1, 0], [2, 0]), 1.0, places=5)


@needs_data
class Generation(unittest.TestCase):
    def test_greedy_matches_reference_ids(self):
        with open(os.path.join(DATA, "models", "stories260K", "stories260K.greedy256.ids")) as f:
            expected = [int(x) for x in f.read().split()]
        with libllm.Model.open(STORIES) as model:
            self.assertEqual(model.arch, "llama")
            self.assertEqual(model.info["n_layer"], 5)
            with model.session(n_ctx=512) as s:
                got = list(s.tokens([1], temperature=0, max_tokens=40, ignore_eos=1))
        self.assertEqual(got, expected[1:41])

    def test_stream_equals_generate(self):
        with libllm.Model.open(STORIES) as model:
            text = model.generate("Once upon a time", temperature=0, max_tokens=30)
            pieces = list(model.stream("Once upon a time", temperature=0, max_tokens=30))
        self.assertGreater(len(pieces), 5)
        self.assertEqual("".join(pieces), text)

    def test_stop_and_errors(self):
        with libllm.Model.open(STORIES) as model, model.session() as s:
            text = s.generate("Once upon a time", temperature=0, max_tokens=30, stop=["was"])
            self.assertNotIn("was", text)
            self.assertEqual(s.stop_reason, "stop")
            with self.assertRaises(libllm.InvalidArgument):
                s.set(top_p=5.0)
            with self.assertRaises(TypeError):
                s.set(no_such_knob=1)

    def test_state_round_trip(self):
        with libllm.Model.open(STORIES) as model, model.session() as s:
            s.generate("Once upon a time", temperature=0.8, seed=5, max_tokens=8)
            state = s.save_state()
            a = s.generate(max_tokens=8)
            s.load_state(state)
            self.assertEqual(s.generate(max_tokens=8), a)

    def test_tokenizer_round_trip(self):
        with libllm.Model.open(STORIES) as model:
            tok = model.tokenizer
            ids = tok.encode("Once upon a time", add_special=True)
            self.assertEqual(ids, [1, 403, 407, 261, 378])
            self.assertEqual(tok.decode(ids, skip_special=True), "Once upon a time")


@needs_data
class EncoderModels(unittest.TestCase):
    def _case(self, name):
        with open(os.path.join(DATA, "golden", "manifest.json")) as f:
            return next(c for c in json.load(f)["cases"] if c["name"] == name)

    def test_t5_greedy_matches_reference(self):
        case = self._case("t5-tiny-gated-f32.text")
        path = os.path.join(DATA, "golden", "models", "t5-tiny-gated-f32.gguf")
        with libllm.Model.open(path) as model, model.session() as s:
            c = s.complete(case["input"]["text"], temperature=0, max_tokens=32)
            eos = model.tokenizer.special("eos")
        # the end-of-text token ends the completion; it is not part of its tokens
        self.assertEqual(case["greedy"]["ids"][-1], eos)
        self.assertEqual(c.finish_reason, "eos")
        self.assertEqual(c.tokens, case["greedy"]["ids"][:-1])

    def test_bert_embedding_matches_reference(self):
        case = self._case("bert-tiny-mean-f32.text")
        path = os.path.join(DATA, "golden", "models", "bert-tiny-mean-f32.gguf")
        with open(os.path.join(DATA, "golden", case["outputs"]["pooled_normalized"]["file"]), "rb") as f:
            raw = f.read()
        ref = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        with libllm.Model.open(path) as model:
            got = list(model.embed([case["input"]["text"]], normalize=True)[0])
        self.assertEqual(len(got), len(ref))
        self.assertLess(max(abs(a - b) for a, b in zip(got, ref)), 2e-3 * max(map(abs, ref)))


@needs_data
class TokenizerFiles(unittest.TestCase):
    def test_gpt2_reference_suite_first_strings(self):
        base = os.path.join(DATA, "vocab", "ggml-vocab-gpt-2.gguf")
        with open(base + ".inp", "rb") as f:
            inputs = f.read().split(b"\n__ggml_vocab_test__\n")[:-1]
        with open(base + ".out") as f:
            outputs = [[int(x) for x in line.split()] for line in f.read().split("\n")]
        with libllm.Tokenizer.from_file(base) as tok:
            for text, ids in list(zip(inputs, outputs))[:10]:
                self.assertEqual(tok.encode(text), ids, text)


# pip install ./bindings/python in a fresh venv: tests/pip_install_test.sh (meson test pip-install)


if __name__ == "__main__":
    unittest.main()
