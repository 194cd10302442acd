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

const char *llm_test_data_require(void)
{
    const char *dir = data_dir();
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return dir;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "FAIL: test data folder '%s' is missing (CI=true requires it)\n", dir);
        exit(1);
    }
    fprintf(stderr,
            "SKIP: test data folder '%s' is missing; set LLM_TEST_DATA or -Dtest_data=PATH "
            "to the shared data folder\n",
            dir);
    exit(77);
}

const char *llm_test_path(const char *rel)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", llm_test_data_require(), rel);
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
