#!/bin/sh
# Runs openai_test.cjs with the official `openai` npm package, installed (once) into the build
# folder, never into the source tree.
#   openai_test.sh PATH/TO/llm BUILD_DIR
set -u
llm=$1
npm_dir=$2/serve-npm
here=$(dirname "$0")
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL: $1"; exit 1; fi
  echo "SKIP: $1"
  exit 77
}
data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-../shared/data}}
stories="$data/models/stories260K/stories260K.gguf"
bert="$data/golden/models/bert-tiny-mean-f32.gguf"
template="$data/chat_templates/templates/zephyr-tinyllama-1.1b-chat-v1.0.jinja"
for f in "$stories" "$bert"; do
  [ -f "$f" ] || skip "$f is missing (set LLM_TEST_DATA)"
done
command -v node >/dev/null || skip "node is not installed"
"$llm" serve --help >/dev/null 2>&1 || skip "this llm has no HTTP server (libmicrohttpd missing)"
if [ ! -f "$npm_dir/node_modules/openai/package.json" ]; then
  command -v npm >/dev/null || skip "npm is not installed"
  mkdir -p "$npm_dir"
  echo "installing the openai npm package into $npm_dir"
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent openai@6) ||
    skip "npm could not install the openai package"
fi
[ -f "$template" ] || skip "$template is missing"
exec node "$here/openai_test.cjs" "$npm_dir" "$llm" "$stories" "$bert" "$template"
