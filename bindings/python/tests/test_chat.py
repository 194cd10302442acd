"""Chat templates from Python: rendering against the shared references (Python's Jinja2 in
transformers' environment), errors, and create_chat_completion's llama-cpp-python shape."""
import ctypes
import json
import os
import unittest

import libllm
from libllm import _native

DATA = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or "../shared/data"
STORIES = os.path.join(DATA, "models", "stories260K", "stories260K.gguf")
CASES = os.path.join(DATA, "chat_templates", "cases.json")
HAVE_DATA = os.path.isdir(DATA)
if not HAVE_DATA and os.environ.get("CI") == "true":
    raise SystemExit("FAIL: test data folder %s is missing (CI=true requires it)" % DATA)
needs_data = unittest.skipUnless(HAVE_DATA, "test data folder %s is absent" % DATA)

SIMPLE = ("{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
          "{% if add_generation_prompt %}assistant:{% endif %}")
CONVERSATION = [{"role": "system", "content": "Tell a story."},
                {"role": "user", "content": "Once upon a time"}]


class Rendering(unittest.TestCase):
    def test_struct_layout_matches_the_c_abi(self):
        self.assertEqual(ctypes.sizeof(_native.ChatOptions), 88)  # tests/test_abi_layout.c
        self.assertEqual(_native.ChatOptions.max_steps.offset, 64)

    def test_render_and_variables(self):
        out = libllm.render_chat_template(
            "{{ bos_token is defined }}|{% for m in messages %}<{{ m.role }}>{{ m.content }}"
            "{% endfor %}|{{ tools[0].name }}|{{ extra }}|{{ strftime_now('%d %b %Y') }}",
            [{"role": "user", "content": "Hi \u00e9"}], tools=[{"name": "f"}], extra=[1, 2],
            now="2024-07-26T12:00:00")
        self.assertEqual(out, "False|<user>Hi \u00e9|f|[1, 2]|26 Jul 2024")

    def test_errors(self):
        with self.assertRaises(libllm.TemplateError) as cm:
            libllm.render_chat_template("{{ raise_exception('roles must alternate') }}", [])
        self.assertEqual(str(cm.exception), "roles must alternate")
        self.assertIsInstance(cm.exception, RuntimeError)
        with self.assertRaises(libllm.FormatError) as cm:
            libllm.render_chat_template("{% if %}", [])
        self.assertIn("line 1, column", str(cm.exception))
        with self.assertRaises(libllm.LimitExceeded):
            libllm.render_chat_template("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", [])
        with self.assertRaises(TypeError):
            libllm.render_chat_template("x", "not a list")
        with self.assertRaises(TypeError):
            libllm.render_chat_template("x", [{"content": object()}])

    @needs_data
    def test_shared_reference_cases(self):
        with open(CASES, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        failed = []
        for c in cases:
            with open(os.path.join(DATA, "chat_templates", c["template_file"]),
                      encoding="utf-8", newline="") as f:
                template = f.read()
            kw = {}
            if c["bos_token"] is not None:
                kw["bos_token"] = c["bos_token"]
            if c["eos_token"] is not None:
                kw["eos_token"] = c["eos_token"]
            try:
                got = libllm.render_chat_template(
                    template, c["messages"], add_generation_prompt=c["add_generation_prompt"],
                    tools=c["tools"], documents=c["documents"], now="2024-07-26T12:00:00", **kw)
                if got != c.get("expected"):
                    failed.append(c["id"])
            except libllm.TemplateError as e:
                if c.get("error", {}).get("message") != str(e):
                    failed.append(c["id"])
            except libllm.LLMError:
                if "error" not in c:
                    failed.append(c["id"])
        self.assertEqual(failed, [])


@needs_data
class ChatCompletion(unittest.TestCase):
    def test_create_chat_completion(self):
        with libllm.Model.open(STORIES) as model:
            self.assertIsNone(model.chat_template)
            with self.assertRaises(libllm.Unsupported):
                model.apply_chat_template(CONVERSATION)
            prompt = model.apply_chat_template(CONVERSATION, add_generation_prompt=True,
                                               chat_template=SIMPLE)
            self.assertEqual(prompt, "<s>system: Tell a story.\nuser: Once upon a time\n"
                                     "assistant:")
            ids = model.apply_chat_template(CONVERSATION, add_generation_prompt=True,
                                            chat_template=SIMPLE, tokenize=True)
            self.assertEqual(ids[0], model.tokenizer.encode("x")[0])  # the BOS token itself
            out = model.create_chat_completion(CONVERSATION, chat_template=SIMPLE,
                                               temperature=0, max_tokens=12)
            self.assertEqual(out["object"], "chat.completion")
            self.assertTrue(out["id"].startswith("chatcmpl-"))
            choice = out["choices"][0]
            self.assertEqual(choice["message"]["role"], "assistant")
            self.assertEqual(choice["finish_reason"], "length")
            self.assertEqual(out["usage"]["prompt_tokens"], len(ids))
            self.assertEqual(out["usage"]["completion_tokens"], 12)
            # the reply is what greedy completion of the rendered prompt gives
            self.assertEqual(choice["message"]["content"],
                             model.complete(ids, temperature=0, max_tokens=12).text)
            chunks = list(model.create_chat_completion(CONVERSATION, chat_template=SIMPLE,
                                                       temperature=0, max_tokens=12,
                                                       stream=True))
            self.assertEqual(chunks[0]["choices"][0]["delta"], {"role": "assistant"})
            self.assertEqual(chunks[-1]["choices"][0]["finish_reason"], "length")
            self.assertTrue(all(c["object"] == "chat.completion.chunk" for c in chunks))
            text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
            self.assertEqual(text, choice["message"]["content"])


if __name__ == "__main__":
    unittest.main()
