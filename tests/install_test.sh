#!/bin/sh
# Installs the build into a temporary prefix and builds example programs against it with nothing
# but `pkg-config --cflags --libs llm`, in C and in C++, then runs them.
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp" --no-rebuild >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp" -name llm.pc | head -n 1)
[ -n "$pc" ] || { echo "llm.pc was not installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
export PKG_CONFIG_PATH="$(dirname "$pc")"
cflags=$(pkg-config --define-variable=prefix="$tmp$prefix" --cflags llm)
libs=$(pkg-config --define-variable=prefix="$tmp$prefix" --libs llm)
libdir=$(pkg-config --define-variable=prefix="$tmp$prefix" --variable=libdir llm)
echo "cflags: $cflags"
echo "libs:   $libs"
# users get only the include path: no private defines of the dependencies (utf8proc's
# -DUTF8PROC_EXPORTS once leaked through Requires.private)
case " $cflags " in
  *" -D"*) echo "FAIL: pkg-config --cflags llm has a define: $cflags"; exit 1 ;;
esac

cc -std=c11 -Wall -Wextra -Werror "$src/examples/version.c" $cflags $libs \
  -Wl,-rpath,"$libdir" -o "$tmp/version-c"
"$tmp/version-c"
c++ -std=c++17 -Wall -Wextra -Werror "$src/examples/version.cpp" $cflags $libs \
  -Wl,-rpath,"$libdir" -o "$tmp/version-cpp"
"$tmp/version-cpp"

cc -std=c11 -Wall -Wextra -Werror "$src/examples/generate.c" $cflags $libs \
  -Wl,-rpath,"$libdir" -o "$tmp/generate"
data=${LLM_TEST_DATA:-${LLM_TEST_DATA_BUILD:-}}
if [ -n "$data" ] && [ -f "$data/models/stories260K/stories260K.gguf" ]; then
  "$tmp/generate" "$data/models/stories260K/stories260K.gguf" "Once upon a time"
else
  echo "test data absent: built generate.c but did not run it"
fi
