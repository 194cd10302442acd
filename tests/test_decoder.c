/*
 * Decoder models (GPT-2, Llama) against references:
 *  - stories260K (a real trained model): 256 greedy ids from BOS and the logits at positions 0-3
 *    computed by llama2.c's reference implementation;
 *  - the golden GPT-2 and Llama models: prompt logits, greedy-step logits with the KV cache, and
 *    greedy ids while the reference margin exceeds the tolerance;
 *  - identical results for 1 and 2 threads.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "golden.h"
#include "testdata.h"

static llm_model *open_model(const char *path)
{
    llm_model *m = NULL;
    llm_status st = llm_model_open(path, NULL, &m);
    ck_assert_msg(st == LLM_OK, "open %s: %s: %s", path, llm_status_string(st), llm_last_error());
    return m;
}

static llm_session *new_session(llm_model *m, uint32_t n_ctx, uint32_t threads)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = n_ctx;
    o.n_threads = threads;
    llm_session *s = NULL;
    llm_status st = llm_session_create(m, &o, &s);
    ck_assert_msg(st == LLM_OK, "session: %s", llm_last_error());
    return s;
}

static int32_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return (int32_t)best;
}

/* ---------------------------------------------------------------------------------------------- */
/* stories260K                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

START_TEST(stories_greedy_256)
{
    size_t size = 0;
    char *text = llm_test_read_file(llm_test_path("models/stories260K/stories260K.greedy256.ids"),
                                    &size);
    ck_assert_ptr_nonnull(text);
    int32_t expected[300];
    size_t n_expected = 0;
    for (char *p = text, *end; n_expected < 300; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        expected[n_expected++] = (int32_t)v;
    }
    free(text);
    ck_assert_uint_eq(n_expected, 257); /* BOS + 256 */

    llm_model *m = open_model(llm_test_path("models/stories260K/stories260K.gguf"));
    llm_session *s = new_session(m, 512, 2);
    ck_assert_int_eq(llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0), LLM_OK);
    ck_assert_int_eq(llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 256), LLM_OK);
    ck_assert_int_eq(llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1), LLM_OK);
    ck_assert_int_eq(llm_session_feed_prompt(s, expected, 1, NULL), LLM_OK);
    for (size_t k = 1; k < n_expected; k++) {
        int32_t id = -1;
        llm_stop_reason why;
        ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_OK);
        ck_assert_msg(id == expected[k], "greedy step %zu: got %d, expected %d", k - 1, id,
                      expected[k]);
    }
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

START_TEST(stories_logits_pos0_3)
{
    size_t size = 0;
    float *ref = llm_test_read_file(
        llm_test_path("models/stories260K/stories260K.greedy.logits_pos0-3.f32"), &size);
    ck_assert_ptr_nonnull(ref);
    ck_assert_uint_eq(size, 4 * 512 * sizeof(float));
    llm_model *m = open_model(llm_test_path("models/stories260K/stories260K.gguf"));
    llm_session *s = new_session(m, 128, 1);
    int32_t ids[4] = {1, 403, 407, 261};
    float logits[4 * 512];
    ck_assert_int_eq(llm_session_feed(s, ids, 4, logits, 4 * 512), LLM_OK);
    double max_diff = 0;
    for (size_t i = 0; i < 4 * 512; i++)
        max_diff = fmax(max_diff, fabs(logits[i] - ref[i]));
    ck_assert_msg(max_diff <= 1e-4, "max |logit - reference| = %g > 1e-4", max_diff);
    free(ref);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* golden decoder cases                                                                           */
/* ---------------------------------------------------------------------------------------------- */

static golden_case cases[32];
static size_t n_cases;

static void load_cases(void)
{
    n_cases = golden_cases("gpt2", cases, 32);
    n_cases += golden_cases("llama", cases + n_cases, 32 - n_cases);
}

/* Prompt logits at every position, and (f32 models) the greedy-step logits with the cache. */
START_TEST(golden_case_matches)
{
    load_cases();
    ck_assert_uint_gt(n_cases, (size_t)_i);
    const golden_case *c = &cases[_i];
    llm_model *m = open_model(c->model_path);
    llm_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(llm_model_get_info(m, &info), LLM_OK);
    const size_t V = info.n_vocab;
    llm_session *s = new_session(m, 128, 2);

    size_t rows, cols;
    float *ref = golden_output(c, "logits", &rows, &cols);
    ck_assert_ptr_nonnull(ref);
    ck_assert_uint_eq(rows, c->n_ids);
    ck_assert_uint_eq(cols, V);
    float *logits = malloc(rows * V * sizeof *logits);
    ck_assert_int_eq(llm_session_feed(s, c->ids, c->n_ids, logits, rows * V), LLM_OK);
    double err = llm_test_rel_err(logits, ref, rows * V);
    ck_assert_msg(err <= c->tol, "%s: prompt logits error %g > %g", c->name, err, c->tol);
    free(ref);

    float *steps = golden_output(c, "greedy_logits", &rows, &cols);
    const float *cur = logits + (c->n_ids - 1) * V;
    float *last = malloc(V * sizeof *last);
    memcpy(last, cur, V * sizeof *last);
    /* greedy ids while the reference margin makes the choice decidable */
    double decidable = 2.0 * c->tol * c->max_abs_logit;
    for (size_t k = 0; k < c->n_greedy; k++) {
        if (steps && k < rows) {
            double e = llm_test_rel_err(last, steps + k * V, V);
            ck_assert_msg(e <= c->tol, "%s: greedy step %zu logits error %g > %g", c->name, k, e,
                          c->tol);
        }
        if (c->margins[k] < decidable)
            break;
        ck_assert_msg(argmax(last, V) == c->greedy[k], "%s: greedy step %zu: got %d expected %d",
                      c->name, k, argmax(last, V), c->greedy[k]);
        /* feed the reference's token so later steps stay comparable */
        ck_assert_int_eq(llm_session_feed(s, &c->greedy[k], 1, last, V), LLM_OK);
    }
    free(steps);
    free(last);
    free(logits);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

/* 1 and 2 threads give the same bytes. */
START_TEST(golden_thread_invariance)
{
    load_cases();
    ck_assert_uint_gt(n_cases, (size_t)_i);
    const golden_case *c = &cases[_i];
    llm_model *m = open_model(c->model_path);
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    size_t n = c->n_ids * info.n_vocab;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (int t = 1; t <= 2; t++) {
        llm_session *s = new_session(m, 128, (uint32_t)t);
        ck_assert_int_eq(llm_session_feed(s, c->ids, c->n_ids, t == 1 ? a : b, n), LLM_OK);
        llm_session_destroy(s);
    }
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s: 1 and 2 threads differ", c->name);
    free(a);
    free(b);
    llm_model_close(m);
}
END_TEST

static Suite *decoder_suite(void)
{
    llm_test_data_require();
    load_cases();
    Suite *s = suite_create("decoder");
    TCase *tc = tcase_create("stories260K");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stories_greedy_256);
    tcase_add_test(tc, stories_logits_pos0_3);
    suite_add_tcase(s, tc);
    tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, golden_case_matches, 0, (int)n_cases);
    tcase_add_loop_test(tc, golden_thread_invariance, 0, (int)n_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(decoder_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
