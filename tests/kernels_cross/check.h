/*
 * A minimal stand-in for the subset of Check (libcheck) that tests/test_kernels.c uses, so the
 * kernel test can be cross-built for a target without Check. No forking: a failed assertion
 * prints "file:line:F:tcase:test:i: message" like Check and jumps back to the runner, which
 * moves on to the next test. Not a general replacement.
 */
#ifndef LLM_MINI_CHECK_H
#define LLM_MINI_CHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_NORMAL 0
#define CK_MAX_TESTS 64
#define CK_MAX_TCASES 16

typedef void (*ck_test_fn)(int);

typedef struct TCase {
    const char *name;
    int n;
    struct {
        ck_test_fn fn;
        const char *name;
        int lo, hi;
    } tests[CK_MAX_TESTS];
} TCase;

typedef struct Suite {
    const char *name;
    int n;
    TCase *tcases[CK_MAX_TCASES];
} Suite;

typedef struct SRunner {
    Suite *s;
    int checks, failed;
} SRunner;

static jmp_buf ck_jmp;
static const char *ck_cur_tcase, *ck_cur_test;
static int ck_cur_i;

static inline Suite *suite_create(const char *name)
{
    Suite *s = calloc(1, sizeof *s);
    s->name = name;
    return s;
}

static inline TCase *tcase_create(const char *name)
{
    TCase *tc = calloc(1, sizeof *tc);
    tc->name = name;
    return tc;
}

static inline void suite_add_tcase(Suite *s, TCase *tc)
{
    if (s->n < CK_MAX_TCASES)
        s->tcases[s->n++] = tc;
}

static inline void tcase_set_timeout(TCase *tc, double seconds)
{
    (void)tc;
    (void)seconds;
}

#define tcase_add_test(tc, fn) ck_add((tc), fn, #fn, 0, 1)
#define tcase_add_loop_test(tc, fn, lo, hi) ck_add((tc), fn, #fn, (lo), (hi))

static inline void ck_add(TCase *tc, ck_test_fn fn, const char *name, int lo, int hi)
{
    if (tc->n >= CK_MAX_TESTS)
        return;
    tc->tests[tc->n].fn = fn;
    tc->tests[tc->n].name = name;
    tc->tests[tc->n].lo = lo;
    tc->tests[tc->n].hi = hi;
    tc->n++;
}

static inline SRunner *srunner_create(Suite *s)
{
    SRunner *sr = calloc(1, sizeof *sr);
    sr->s = s;
    return sr;
}

static inline void srunner_run_all(SRunner *sr, int mode)
{
    (void)mode;
    printf("Running suite(s): %s\n", sr->s->name);
    for (int c = 0; c < sr->s->n; c++) {
        TCase *tc = sr->s->tcases[c];
        for (volatile int t = 0; t < tc->n; t++)
            for (volatile int i = tc->tests[t].lo; i < tc->tests[t].hi; i++) {
                ck_cur_tcase = tc->name;
                ck_cur_test = tc->tests[t].name;
                ck_cur_i = i;
                sr->checks++;
                if (setjmp(ck_jmp) == 0)
                    tc->tests[t].fn(i);
                else
                    sr->failed++;
            }
    }
    printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n",
           sr->checks ? 100 * (sr->checks - sr->failed) / sr->checks : 100, sr->checks, sr->failed);
}

static inline int srunner_ntests_failed(SRunner *sr)
{
    return sr->failed;
}

static inline void srunner_free(SRunner *sr)
{
    for (int c = 0; c < sr->s->n; c++)
        free(sr->s->tcases[c]);
    free(sr->s);
    free(sr);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void ck_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("%s:%d:F:%s:%s:%d: ", file, line, ck_cur_tcase, ck_cur_test, ck_cur_i);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    longjmp(ck_jmp, 1);
}

#define START_TEST(name) static void name(int _i __attribute__((unused)))
#define END_TEST

#define ck_assert_msg(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_fail_at(__FILE__, __LINE__, __VA_ARGS__);                                           \
    } while (0)
#define ck_assert(cond) ck_assert_msg((cond), "Assertion '%s' failed", #cond)
#define ck_assert_int_eq(a, b)                                                                     \
    ck_assert_msg((long long)(a) == (long long)(b), "%s == %s: %lld vs %lld", #a, #b,              \
                  (long long)(a), (long long)(b))
#define ck_assert_uint_eq(a, b)                                                                    \
    ck_assert_msg((unsigned long long)(a) == (unsigned long long)(b), "%s == %s: %llu vs %llu",    \
                  #a, #b, (unsigned long long)(a), (unsigned long long)(b))
#define ck_assert_str_eq(a, b)                                                                     \
    ck_assert_msg(strcmp((a), (b)) == 0, "%s == %s: '%s' vs '%s'", #a, #b, (a), (b))

#endif /* LLM_MINI_CHECK_H */
