#!/bin/sh
# `pip install ./bindings/python` as a user runs it, in a fresh virtual environment: the wheel
# builds libllm from the repository's sources (meson-python) and carries libllm.so inside the
# package, so `import libllm` works with nothing set; LLM_LIBRARY still picks another copy.
# Offline, so the system's meson-python (Debian: python3-mesonpy) builds it: --no-build-isolation
# in a venv that sees the system's packages.
# usage: pip_install_test.sh SOURCE_ROOT BUILT_LIBLLM_SO
set -u
src=$1
built=$2
py=/usr/bin/python3
if ! "$py" -c "import mesonpy, venv, ensurepip" 2>/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $py lacks meson-python, venv or ensurepip (install python3-mesonpy python3-venv)"
        exit 1
    fi
    echo "SKIP: $py lacks meson-python, venv or ensurepip (install python3-mesonpy python3-venv)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set -e
"$py" -m venv --system-site-packages "$tmp/venv"
# meson-python 0.12 keeps a native file in the source folder that makes a new build folder fail
rm -f "$src/bindings/python/.mesonpy-native-file.ini"
cd "$tmp"
if ! env -u LLM_LIBRARY "$tmp/venv/bin/pip" install --no-build-isolation --no-index \
        --config-settings builddir="$tmp/wheel-build" "$src/bindings/python" >"$tmp/pip.log" 2>&1; then
    tail -n 40 "$tmp/pip.log"
    echo "FAIL: pip install ./bindings/python"
    exit 1
fi
rm -f "$src/bindings/python/.mesonpy-native-file.ini"
grep "Successfully installed" "$tmp/pip.log"
# nothing set: the bundled library
env -u LLM_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH "$tmp/venv/bin/python" - "$tmp/venv" <<'PY'
import os, sys
import libllm
where = libllm.library_path()
print("import libllm:", libllm.__version__, "library", libllm.version(), "from", where)
assert where.startswith(sys.argv[1]) and os.path.dirname(where) == os.path.dirname(libllm.__file__), where
assert libllm.__version__ == libllm.version()
data = os.environ.get("LLM_TEST_DATA") or os.environ.get("LLM_TEST_DATA_BUILD") or ""
stories = os.path.join(data, "models", "stories260K", "stories260K.gguf")
bert = os.path.join(data, "golden", "models", "bert-tiny-mean-f32.gguf")
if os.path.exists(stories):
    with libllm.Model(stories) as m:
        c = m.complete("Once upon a time", max_tokens=8, temperature=0)
        print("complete:", repr(c.text), c.finish_reason)
        assert c.finish_reason == "length" and len(c.tokens) == 8
if os.path.exists(bert):
    with libllm.Model(bert) as m:
        v = m.encode(["a cat", "a dog"])
        try:
            import numpy
            assert isinstance(v, numpy.ndarray) and v.shape == (2, m.embedding_dim), type(v)
            print("encode: numpy", v.shape)
        except ImportError:
            assert isinstance(v, list) and len(v) == 2
            print("encode: list (no numpy)", len(v))
PY
# LLM_LIBRARY overrides the bundled copy
LLM_LIBRARY="$built" "$tmp/venv/bin/python" -c "
import libllm, sys
assert libllm.library_path() == sys.argv[1], libllm.library_path()
print('LLM_LIBRARY:', libllm.library_path())" "$built"
echo "pip install in a fresh venv: ok"
