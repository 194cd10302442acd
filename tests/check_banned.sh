#!/bin/sh
# lib/ must never abort the host, exit, print or use unbounded string calls (docs/ARCHITECTURE.md).
# Comments are stripped first so that prose may name the calls.
src=${1:-.}
hits=$(find "$src/lib" -name '*.[ch]' -print0 | xargs -0 sed -e 's://.*$::' |
  grep -nE '(^|[^_a-zA-Z0-9.>])(abort|exit|printf|puts|sprintf|vsprintf|strcpy|strcat|atoi|atol|gets)[[:space:]]*\(' || true)
if [ -n "$hits" ]; then
  echo "banned calls in lib/:"
  find "$src/lib" -name '*.[ch]' -print0 | xargs -0 grep -nE '(^|[^_a-zA-Z0-9.>])(abort|exit|printf|puts|sprintf|vsprintf|strcpy|strcat|atoi|atol|gets)[[:space:]]*\(' | grep -v '^\S*:\s*//' 
  exit 1
fi
echo "no banned calls in lib/"
