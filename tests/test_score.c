/*
 * llm_session_score() against PyTorch: ../shared/data/train/manifest.json stores, for fixed id
 * sequences of gpt2-tiny-f32 and stories260K-f32, the per-target negative log-likelihoods that
 * PyTorch autograd computed in float64 (`nll`, [B][T-1], index t = the prediction of ids[t+1]).
 * The library must give each one within 1e-4 relative and exp(mean NLL) — the perplexity — within
 * 1e-5 relative, both over every target and over the second half only (how `llm perplexity`
 * scores a window). Then the call's errors.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "testdata.h"

typedef struct score_ref {
    char model_path[1024];
    int32_t ids[2][64];
    double nll[2][64];
    size_t B, T;
} score_ref;

static void load_ref(const char *model, score_ref *r)
{
    memset(r, 0, sizeof *r);
    json_error_t jerr;
    json_t *root = json_load_file(llm_test_path("train/manifest.json"), 0, &jerr);
    ck_assert_msg(root, "train/manifest.json: %s", jerr.text);
    json_t *m = json_object_get(json_object_get(root, "models"), model);
    ck_assert_msg(m, "manifest has no model %s", model);
    char rel[512];
    snprintf(rel, sizeof rel, "train/%s", json_string_value(json_object_get(m, "model_file")));
    snprintf(r->model_path, sizeof r->model_path, "%s", llm_test_path(rel));
    json_t *c = json_object_get(json_object_get(m, "recipes"), "causal_lm");
    json_t *ids = json_object_get(c, "ids"), *nll = json_object_get(c, "nll");
    r->B = json_array_size(ids);
    r->T = json_array_size(json_array_get(ids, 0));
    ck_assert(r->B == 2 && r->T >= 4 && r->T <= 64);
    for (size_t b = 0; b < r->B; b++) {
        ck_assert_uint_eq(json_array_size(json_array_get(nll, b)), r->T - 1);
        for (size_t t = 0; t < r->T; t++)
            r->ids[b][t] = (int32_t)json_integer_value(json_array_get(json_array_get(ids, b), t));
        for (size_t t = 0; t + 1 < r->T; t++)
            r->nll[b][t] = json_real_value(json_array_get(json_array_get(nll, b), t));
    }
    json_decref(root);
}

static llm_session *open_session(const char *path, llm_model **m, uint32_t threads)
{
    llm_status st = llm_model_open(path, NULL, m);
    ck_assert_msg(st == LLM_OK, "open %s: %s", path, llm_last_error());
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = 64;
    o.n_threads = threads;
    llm_session *s = NULL;
    st = llm_session_create(*m, &o, &s);
    ck_assert_msg(st == LLM_OK, "session: %s", llm_last_error());
    return s;
}

/* Scores both sequences from `first` on and compares with the reference's targets first.. */
static void check_model(const char *model, size_t first, uint32_t threads)
{
    llm_test_data_require();
    score_ref r;
    load_ref(model, &r);
    llm_model *m = NULL;
    llm_session *s = open_session(r.model_path, &m, threads);
    double sum = 0, sum_ref = 0, worst = 0;
    size_t count = 0;
    for (size_t b = 0; b < r.B; b++) {
        double nll[64];
        llm_status st = llm_session_score(s, r.ids[b], r.T, first, nll, 64);
        ck_assert_msg(st == LLM_OK, "%s: score: %s", model, llm_last_error());
        for (size_t j = 0; j + first + 1 < r.T; j++) {
            double ref = r.nll[b][first + j];
            double rel = fabs(nll[j] - ref) / fabs(ref);
            worst = rel > worst ? rel : worst;
            ck_assert_msg(rel <= 1e-4, "%s seq %zu target %zu: nll %.9f, PyTorch %.9f (rel %.2g)",
                          model, b, first + j + 1, nll[j], ref, rel);
            sum += nll[j];
            sum_ref += ref;
            count++;
        }
    }
    double ppl = exp(sum / (double)count), ppl_ref = exp(sum_ref / (double)count);
    double rel = fabs(ppl - ppl_ref) / ppl_ref;
    printf("%s, targets from %zu, %u thread(s): PPL %.6f, PyTorch %.6f, rel %.2g; worst nll rel "
           "%.2g\n", model, first + 1, threads, ppl, ppl_ref, rel, worst);
    ck_assert_msg(rel <= 1e-5, "%s: PPL %.9f, PyTorch %.9f (rel %.2g)", model, ppl, ppl_ref, rel);
    llm_session_destroy(s);
    llm_model_close(m);
}

START_TEST(gpt2_all_targets) { check_model("gpt2-tiny-f32", 0, 1); }
END_TEST
START_TEST(gpt2_second_half) { check_model("gpt2-tiny-f32", 8, 2); }
END_TEST
START_TEST(stories_all_targets) { check_model("stories260K-f32", 0, 2); }
END_TEST
START_TEST(stories_second_half) { check_model("stories260K-f32", 8, 1); }
END_TEST

/* The same numbers at 1 and 2 threads, bit for bit. */
START_TEST(threads_agree)
{
    llm_test_data_require();
    score_ref r;
    load_ref("gpt2-tiny-f32", &r);
    double a[64], b[64];
    for (uint32_t t = 1; t <= 2; t++) {
        llm_model *m = NULL;
        llm_session *s = open_session(r.model_path, &m, t);
        ck_assert(llm_session_score(s, r.ids[0], r.T, 0, t == 1 ? a : b, 64) == LLM_OK);
        llm_session_destroy(s);
        llm_model_close(m);
    }
    ck_assert(memcmp(a, b, (r.T - 1) * sizeof a[0]) == 0);
}
END_TEST

START_TEST(errors)
{
    llm_test_data_require();
    score_ref r;
    load_ref("gpt2-tiny-f32", &r);
    llm_model *m = NULL;
    llm_session *s = open_session(r.model_path, &m, 1);
    double nll[64];
    ck_assert_int_eq(llm_session_score(NULL, r.ids[0], r.T, 0, nll, 64), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_session_score(s, NULL, r.T, 0, nll, 64), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_session_score(s, r.ids[0], r.T, 0, NULL, 64), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_session_score(s, r.ids[0], 1, 0, nll, 64), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_session_score(s, r.ids[0], r.T, r.T - 1, nll, 64), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "nothing to score"));
    ck_assert_int_eq(llm_session_score(s, r.ids[0], r.T, 0, nll, r.T - 2),
                     LLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), "needed"));
    int32_t bad[4] = {1, 2, 1 << 20, 3};
    ck_assert_int_eq(llm_session_score(s, bad, 4, 0, nll, 64), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "index 2"));
    int32_t neg[3] = {1, -5, 3};
    ck_assert_int_eq(llm_session_score(s, neg, 3, 0, nll, 64), LLM_ERR_INVALID_ARG);
    int32_t *many = calloc(65, sizeof *many);
    ck_assert_int_eq(llm_session_score(s, many, 65, 0, nll, 64), LLM_ERR_TOO_LONG);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "context of 64"));
    free(many);
    /* the session still works after the failures */
    ck_assert_int_eq(llm_session_score(s, r.ids[0], r.T, 0, nll, 64), LLM_OK);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

int main(void)
{
    llm_test_data_require(); /* every case reads the reference data: SKIP here, not in a case */
    Suite *su = suite_create("score");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gpt2_all_targets);
    tcase_add_test(tc, gpt2_second_half);
    tcase_add_test(tc, stories_all_targets);
    tcase_add_test(tc, stories_second_half);
    tcase_add_test(tc, threads_agree);
    tcase_add_test(tc, errors);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
