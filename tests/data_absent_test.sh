#!/bin/sh
# Test programs with cases of both kinds (data-free and data-reading) as a fresh clone runs them:
# with the data folder missing they must run their data-free cases and exit 77 (meson's SKIP)
# with a message naming the folder, and under CI=true they must fail (exit 1) instead.
# usage: data_absent_test.sh TEST_PROGRAM...
missing=/nonexistent/llm-test-data
fails=0
for prog in "$@"; do
    name=$(basename "$prog")
    out=$(env -u CI LLM_TEST_DATA=$missing "$prog" 2>&1)
    rc=$?
    if [ "$rc" -ne 77 ]; then
        echo "FAIL: $name without the data folder exited $rc, not 77 (SKIP):"
        echo "$out" | tail -n 20
        fails=$((fails + 1))
    elif ! echo "$out" | grep -q "SKIP: test data folder '$missing' is missing"; then
        echo "FAIL: $name skipped without saying which folder is missing:"
        echo "$out" | tail -n 5
        fails=$((fails + 1))
    else
        echo "ok: $name skips: $(echo "$out" | grep SKIP:)"
    fi
    out=$(CI=true LLM_TEST_DATA=$missing "$prog" 2>&1)
    rc=$?
    if [ "$rc" -ne 1 ] || ! echo "$out" | grep -q "FAIL: test data folder '$missing' is missing"; then
        echo "FAIL: $name under CI=true without the data folder exited $rc (want 1 and a FAIL line):"
        echo "$out" | tail -n 5
        fails=$((fails + 1))
    else
        echo "ok: $name fails under CI=true"
    fi
done
echo "$# programs checked, $fails failures"
[ "$fails" -eq 0 ]
