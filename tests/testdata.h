/*
 * Where the reference test data lives: $LLM_TEST_DATA, else the meson option baked in at build
 * time. A test that needs it calls llm_test_data_require(): when the folder is missing the test is
 * skipped (exit 77, which meson reports as SKIP) with a message saying how to get it, except under
 * CI=true, where a missing folder is a failure.
 */
#ifndef LLM_TESTS_TESTDATA_H
#define LLM_TESTS_TESTDATA_H

#include <stddef.h>
#include <stdint.h>

/* The data folder, or exits (77 or 1) with a clear message when it is absent. */
const char *llm_test_data_require(void);

/* Joins the data folder and a relative path into a static buffer (one per call site is fine). */
const char *llm_test_path(const char *rel);

/* Reads a whole file into a malloc'ed buffer; NULL when it cannot. */
void *llm_test_read_file(const char *path, size_t *size);

/* max |a - b| / max |ref| over n floats. */
double llm_test_rel_err(const float *a, const float *ref, size_t n);

#endif /* LLM_TESTS_TESTDATA_H */
