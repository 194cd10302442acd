/* Test-data location and small file helpers shared by the tests. */
#include "testdata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef LLM_TEST_DATA_DEFAULT
#define LLM_TEST_DATA_DEFAULT "../shared/data"
#endif

static const char *data_dir(void)
{
    const char *env = getenv("LLM_TEST_DATA");
    return env && *env ? env : LLM_TEST_DATA_DEFAULT;
}

static const char how_to_get_it[] = "set LLM_TEST_DATA or -Dtest_data=PATH to the shared data folder";

int llm_test_data_present(void)
{
    const char *dir = data_dir();
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "FAIL: test data folder '%s' is missing (CI=true requires it); %s\n", dir,
                how_to_get_it);
        exit(1);
    }
    return 0;
}

/* Set while llm_test_run() runs the suite (the forked cases inherit it). */
static int running_cases;

const char *llm_test_data_require(void)
{
    if (llm_test_data_present())
        return data_dir();
    if (running_cases) {
        fprintf(stderr,
                "FAIL: llm_test_data_require() called inside a case, where Check counts any exit "
                "as an error; add the case only when llm_test_data_present() (tests/testdata.h)\n");
        exit(1);
    }
    fprintf(stderr, "SKIP: test data folder '%s' is missing; %s\n", data_dir(), how_to_get_it);
    exit(77);
}

/* What llm_test_data_left_out() recorded, for llm_test_run()'s message. */
static char left_out[1024];

void llm_test_data_left_out(const char *what)
{
    size_t n = strlen(left_out);
    snprintf(left_out + n, sizeof left_out - n, "%s%s", n ? ", " : "", what);
}

int llm_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    running_cases = 1;
    srunner_run_all(sr, CK_NORMAL);
    running_cases = 0;
    const int failed = srunner_ntests_failed(sr);
    const int ran = srunner_ntests_run(sr);
    srunner_free(sr);
    if (failed)
        return 1;
    if (left_out[0]) {
        fprintf(stderr,
                "SKIP: test data folder '%s' is missing, so these cases did not run: %s (the %d "
                "others passed); %s\n",
                data_dir(), left_out, ran, how_to_get_it);
        return 77;
    }
    return 0;
}

const char *llm_test_path(const char *rel)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", data_dir(), rel);
    return buf;
}

void *llm_test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (size)
            *size = (size_t)n;
    }
    return buf;
}

double llm_test_rel_err(const float *a, const float *ref, size_t n)
{
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)ref[i]);
        if (!(d <= max_diff))
            max_diff = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
    }
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}
