/*
 * Where the reference test data lives: $LLM_TEST_DATA, else the meson option baked in at build
 * time. When the folder is missing, the test PROGRAM is skipped (exit 77, which meson reports as
 * SKIP) with a message saying how to get it, except under CI=true, where a missing folder is a
 * failure. The decision is taken in main(), before the suite runs: Check runs each case in a
 * forked process and counts a case that exits (77 or not) as an error, so no case may exit.
 *
 *   - a program whose every case needs the data calls llm_test_data_require() in main();
 *   - a program with cases of both kinds adds the data cases only when llm_test_data_present(),
 *     notes the others with llm_test_data_left_out(), and ends with llm_test_run(suite): the
 *     data-free cases run, and the program exits 77 when they pass but some were left out.
 */
#ifndef LLM_TESTS_TESTDATA_H
#define LLM_TESTS_TESTDATA_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* The data folder, or exits (77 or 1) with a clear message when it is absent. Only from main()
 * (or a suite builder main() calls), never inside a case. */
const char *llm_test_data_require(void);

/* Non-zero when the data folder exists. Under CI=true a missing folder ends the program (exit 1)
 * with a message, since CI must run every case. Only from main() or a suite builder. */
int llm_test_data_present(void);

/* Records that the cases named `what` were not added because the data folder is missing. */
void llm_test_data_left_out(const char *what);

/* Runs the suite and frees it; returns main()'s exit status: 1 when a case failed, 77 (SKIP, with
 * a message naming what was left out and the folder) when all ran cases passed but some were left
 * out by llm_test_data_left_out(), 0 otherwise. */
int llm_test_run(Suite *s);

/* Joins the data folder and a relative path into a static buffer (one per call site is fine).
 * Does not check that the folder exists: the program decided that before the suite ran. */
const char *llm_test_path(const char *rel);

/* Reads a whole file into a malloc'ed buffer; NULL when it cannot. */
void *llm_test_read_file(const char *path, size_t *size);

/* max |a - b| / max |ref| over n floats. */
double llm_test_rel_err(const float *a, const float *ref, size_t n);

#endif /* LLM_TESTS_TESTDATA_H */
