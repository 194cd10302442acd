"""Model.classify against tests/data/heads/expected.json (made by tests/make_heads_reference.py
with numpy and PyTorch, without libllm)."""
import json
import os
import unittest

import libllm

HEADS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests",
                     "data", "heads")


class ClassifyTest(unittest.TestCase):
    def test_reference_probabilities(self):
        with open(os.path.join(HEADS, "expected.json")) as f:
            ref = json.load(f)["bert-seqcls-tiny"]
        with libllm.Model(os.path.join(HEADS, "bert-seqcls-tiny")) as model:
            got = model.classify(ref["texts"])
            self.assertEqual(len(got), len(ref["texts"]))
            for g, probs, logits in zip(got, ref["probs"], ref["logits"]):
                for j, name in enumerate(ref["labels"]):
                    self.assertAlmostEqual(g["scores"][name], probs[j], delta=1e-5)
                    self.assertAlmostEqual(g["logits"][j], logits[j], delta=1e-4)
                best = max(range(len(probs)), key=lambda j: probs[j])
                self.assertEqual(g["label"], ref["labels"][best])
            self.assertEqual(model.classify("good day")[0]["label"], got[2]["label"])

    def test_no_head(self):
        with libllm.Model(os.path.join(HEADS, "bert-mlm-tiny")) as model:
            with self.assertRaises(libllm.LLMError):
                model.classify(["x"])


if __name__ == "__main__":
    unittest.main()
