#!/bin/sh
# libllm embedded in another meson project (tests/subproject_host) the way docs/EMBEDDING.md says:
# subprojects/libllm (here a link to this source tree) with libllm.wrap's [provide] llm =
# libllm_dep. The host builds and runs, and the subproject builds only the library: no `llm`
# program, no tests or examples, no static internal copy.
# usage: subproject_test.sh SOURCE_ROOT
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/tests/subproject_host" "$tmp/host"
mkdir "$tmp/host/subprojects"
mv "$tmp/host/libllm.wrap" "$tmp/host/subprojects/"
ln -s "$src" "$tmp/host/subprojects/libllm"
# the subproject even where a libllm is installed on the system
if ! meson setup "$tmp/build" "$tmp/host" --force-fallback-for=llm >"$tmp/setup.log" 2>&1 ||
   ! ninja -C "$tmp/build" >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/setup.log" "$tmp/build.log" 2>/dev/null
    echo "FAIL: the host project does not build"
    exit 1
fi
grep -q "Looking for a fallback subproject for the dependency llm" "$tmp/setup.log" &&
grep -q "Dependency llm found: YES" "$tmp/setup.log" || {
    grep -i "llm" "$tmp/setup.log" | tail -n 5
    echo "FAIL: dependency('llm') did not come from the subproject's [provide]"
    exit 1
}
"$tmp/build/host"
fails=0
sub="$tmp/build/subprojects/libllm"
for unwanted in tools/llm/llm lib/libllm_internal.a tests examples; do
    if [ -e "$sub/$unwanted" ]; then
        echo "FAIL: the subproject build made $unwanted"
        fails=$((fails + 1))
    fi
done
built=$(find "$sub" -name '*.so*' -o -name '*.a' | sed "s|$sub/||" | sort | tr '\n' ' ')
echo "the subproject built: $built"
[ "$fails" -eq 0 ] && echo "subproject: ok"
[ "$fails" -eq 0 ]
