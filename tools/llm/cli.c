/* Helpers shared by the subcommands of `llm`: messages, number and id parsing, file reading. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int llm_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'llm %s --help')\n", cmd);
    va_end(ap);
    return 2;
}

int llm_cli_fail(const char *cmd, llm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    const char *detail = llm_last_error();
    fprintf(stderr, ": %s%s%s\n", llm_status_string(st), detail && *detail ? ": " : "",
            detail ? detail : "");
    return 1;
}

bool llm_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool llm_cli_parse_f64(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v != v)
        return false;
    *out = v;
    return true;
}

bool llm_cli_parse_ids(const char *s, int32_t **ids, size_t *n)
{
    size_t cap = 16, count = 0;
    int32_t *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return false;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX ||
            (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n')) {
            free(buf);
            return false;
        }
        if (count == cap) {
            cap *= 2;
            int32_t *nb = realloc(buf, cap * sizeof *buf);
            if (!nb) {
                free(buf);
                return false;
            }
            buf = nb;
        }
        buf[count++] = (int32_t)v;
        p = end;
    }
    *ids = buf;
    *n = count;
    return true;
}

char *llm_cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

double llm_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
