/*
 * The sampling chain on hand-made logits, where the right answer is known without running a
 * model: each filter keeps exactly the tokens its definition keeps, penalties follow their
 * formulas, and draws follow the distribution (seeded, so the test is deterministic).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "session/sampler.h"

#define V 8

static llm_sampler smp;
/* logits of 8 tokens: token 3 best, then 5, 1, ... */
static const float logits[V] = {0.0f, 2.0f, -1.0f, 4.0f, -3.0f, 3.0f, 1.0f, -2.0f};

static void setup(void)
{
    ck_assert_int_eq(llm_sampler_init(&smp, V, NULL), LLM_OK);
    smp.top_k = 0;
    smp.top_p = 1.0f;
    smp.min_p = 0.0f;
    smp.typical_p = 1.0f;
    smp.temperature = 1.0f;
    llm_sampler_seed(&smp, 1);
}

static void teardown(void)
{
    llm_sampler_free(&smp);
}

/* Draws n tokens and counts them. */
static void histogram(int n, int counts[V])
{
    for (int i = 0; i < V; i++)
        counts[i] = 0;
    for (int i = 0; i < n; i++)
        counts[llm_sampler_sample(&smp, logits, NULL, 0)]++;
}

START_TEST(greedy_is_argmax)
{
    smp.temperature = 0.0f;
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, NULL, 0), 3);
    /* ties go to the lower id */
    float tie[V] = {1, 5, 5, 0, 0, 0, 0, 0};
    ck_assert_int_eq(llm_sampler_sample(&smp, tie, NULL, 0), 1);
}
END_TEST

START_TEST(top_k_keeps_k)
{
    smp.top_k = 2;
    int c[V];
    histogram(2000, c);
    ck_assert_int_eq(c[3] + c[5], 2000);
    /* p(3) / p(5) = e^(4-3) */
    double ratio = (double)c[3] / c[5];
    ck_assert_msg(fabs(ratio - exp(1.0)) < 0.4, "ratio %g, expected e", ratio);
}
END_TEST

START_TEST(top_p_keeps_the_nucleus)
{
    /* softmax: p3 ≈ 0.63, p5 ≈ 0.23, p1 ≈ 0.086: 0.8 needs tokens 3 and 5 */
    smp.top_p = 0.8f;
    int c[V];
    histogram(2000, c);
    ck_assert_int_eq(c[3] + c[5], 2000);
    ck_assert_int_gt(c[5], 0);
}
END_TEST

START_TEST(min_p_drops_the_unlikely)
{
    /* keep p >= 0.3 * p_max: p5/p3 = e^-1 ≈ 0.37 stays, p1/p3 = e^-2 ≈ 0.14 goes */
    smp.min_p = 0.3f;
    int c[V];
    histogram(2000, c);
    ck_assert_int_eq(c[3] + c[5], 2000);
}
END_TEST

START_TEST(typical_p_keeps_some)
{
    smp.typical_p = 0.5f;
    int c[V];
    histogram(500, c);
    int kinds = 0;
    for (int i = 0; i < V; i++)
        kinds += c[i] > 0;
    ck_assert_int_ge(kinds, 1);
    ck_assert_int_lt(kinds, V);
}
END_TEST

START_TEST(temperature_sharpens)
{
    int hot[V], cold[V];
    smp.temperature = 2.0f;
    histogram(2000, hot);
    smp.temperature = 0.25f;
    histogram(2000, cold);
    ck_assert_int_gt(cold[3], hot[3]);
    ck_assert_int_gt(cold[3], 1900); /* e^(-4) of the next one */
}
END_TEST

START_TEST(logit_bias_and_penalties)
{
    smp.temperature = 0.0f;
    ck_assert_int_eq(llm_sampler_set_bias(&smp, 3, -INFINITY, NULL), LLM_OK);
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, NULL, 0), 5);
    ck_assert_int_eq(llm_sampler_set_bias(&smp, 3, 0.0f, NULL), LLM_OK); /* removes it */
    ck_assert_int_eq(llm_sampler_set_bias(&smp, 99, 1.0f, NULL), LLM_ERR_INVALID_ARG);
    /* repetition penalty 2: token 3's logit 4 -> 2 < token 5's 3 */
    int32_t recent[3] = {3, 3, 3};
    smp.repeat_penalty = 2.0f;
    smp.penalty_last_n = 64;
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, recent, 3), 5);
    /* frequency penalty: 3 occurrences x 0.4 = 1.2: 4 - 1.2 = 2.8 < 3 */
    smp.repeat_penalty = 1.0f;
    smp.frequency_penalty = 0.4f;
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, recent, 3), 5);
    smp.frequency_penalty = 0.3f; /* 4 - 0.9 = 3.1 > 3 */
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, recent, 3), 3);
    /* presence penalty counts once */
    smp.frequency_penalty = 0.0f;
    smp.presence_penalty = 1.5f;
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, recent, 3), 5);
    /* the window: tokens older than penalty_last_n are not penalized */
    int32_t old[4] = {3, 0, 0, 0};
    smp.penalty_last_n = 3;
    ck_assert_int_eq(llm_sampler_sample(&smp, logits, old, 4), 3);
}
END_TEST

START_TEST(seeded_draws_repeat)
{
    int32_t a[50], b[50];
    llm_sampler_seed(&smp, 99);
    for (int i = 0; i < 50; i++)
        a[i] = llm_sampler_sample(&smp, logits, NULL, 0);
    llm_sampler_seed(&smp, 99);
    for (int i = 0; i < 50; i++)
        b[i] = llm_sampler_sample(&smp, logits, NULL, 0);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(a[i], b[i]);
}
END_TEST

/* The candidate order, written out independently for qsort */
static int order(const void *pa, const void *pb)
{
    const llm_candidate *a = pa, *b = pb;
    if (isnan(a->logit) || isnan(b->logit)) {
        if (isnan(a->logit) && isnan(b->logit))
            return a->id < b->id ? -1 : 1;
        return isnan(a->logit) ? 1 : -1;
    }
    if (a->logit > b->logit)
        return -1;
    if (a->logit < b->logit)
        return 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* A vocabulary large enough for the radix sort, and small k for the heap: both give the order
 * qsort gives, over ties, −0 and +0, infinities and NaN. */
START_TEST(select_top_orders_every_candidate)
{
    enum { N = 5000 };
    static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.5f, -1.5f};
    llm_candidate *c = malloc(N * sizeof *c), *tmp = malloc(N * sizeof *tmp);
    llm_candidate *want = malloc(N * sizeof *want);
    uint32_t x = 12345;
    static const size_t ks[] = {1, 4, 40, 255, 256, 1000, N};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        const size_t k = ks[t];
        for (int i = 0; i < N; i++) {
            x = x * 1664525u + 1013904223u;
            /* a few hundred distinct values, so most logits are tied with others */
            const float v = (x >> 28) < 2 ? specials[(x >> 8) % 7]
                                           : (float)((int)((x >> 8) % 400) - 200) / 16.0f;
            c[i] = want[i] = (llm_candidate){i, v, 0.0f};
        }
        qsort(want, N, sizeof *want, order);
        llm_sampler_select_top(c, tmp, N, k);
        for (size_t i = 0; i < k; i++)
            ck_assert_msg(c[i].id == want[i].id, "k %zu: place %zu holds id %d (%g), want %d (%g)",
                          k, i, c[i].id, (double)c[i].logit, want[i].id, (double)want[i].logit);
    }
    free(c);
    free(tmp);
    free(want);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sampler");
    TCase *tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, greedy_is_argmax);
    tcase_add_test(tc, top_k_keeps_k);
    tcase_add_test(tc, top_p_keeps_the_nucleus);
    tcase_add_test(tc, min_p_drops_the_unlikely);
    tcase_add_test(tc, typical_p_keeps_some);
    tcase_add_test(tc, temperature_sharpens);
    tcase_add_test(tc, logit_bias_and_penalties);
    tcase_add_test(tc, seeded_draws_repeat);
    tcase_add_test(tc, select_top_orders_every_candidate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
