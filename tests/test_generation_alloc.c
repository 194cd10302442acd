/*
 * Generation allocates nothing per token: after the first step (which may size text buffers),
 * stepping through 64 more tokens makes no call to the library's allocator. Linked against the
 * internal copy of the library to read the allocator's call counter.
 * Also: an f16 KV cache gives logits close to the f32 cache's.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "common/alloc.h"
#include "testdata.h"

static llm_model *model;

static void setup(void)
{
    ck_assert_int_eq(llm_model_open(llm_test_path("models/stories260K/stories260K.gguf"), NULL,
                                    &model),
                     LLM_OK);
}

static void teardown(void)
{
    llm_model_close(model);
}

START_TEST(no_allocation_per_token)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = 256;
    o.n_threads = (uint32_t)_i;
    llm_session *s = NULL;
    ck_assert_int_eq(llm_session_create(model, &o, &s), LLM_OK);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.8);
    llm_session_set_int(s, LLM_PARAM_TOP_K, 0); /* full sort of the vocabulary every step */
    llm_session_set_float(s, LLM_PARAM_REPEAT_PENALTY, 1.1);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 100);
    llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    llm_session_add_stop(s, "zzzz");
    int32_t prompt[4] = {1, 403, 407, 261};
    ck_assert_int_eq(llm_session_feed_prompt(s, prompt, 4, NULL), LLM_OK);
    int32_t id;
    llm_stop_reason why;
    ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_OK);
    uint64_t before = llm_alloc_count();
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_OK);
    uint64_t after = llm_alloc_count();
    ck_assert_msg(after == before, "%llu allocations during 64 tokens",
                  (unsigned long long)(after - before));
    llm_session_destroy(s);
}
END_TEST

START_TEST(f16_cache_close_to_f32)
{
    float *logits[2];
    int32_t ids[12] = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 300, 301};
    for (int kv = 0; kv < 2; kv++) {
        llm_session_options o;
        llm_session_options_init(&o);
        o.n_ctx = 64;
        o.kv_type = kv ? LLM_KV_F16 : LLM_KV_F32;
        llm_session *s = NULL;
        ck_assert_int_eq(llm_session_create(model, &o, &s), LLM_OK);
        logits[kv] = malloc(12 * 512 * sizeof(float));
        ck_assert_int_eq(llm_session_feed(s, ids, 12, logits[kv], 12 * 512), LLM_OK);
        llm_session_destroy(s);
    }
    double err = llm_test_rel_err(logits[1], logits[0], 12 * 512);
    /* f16 keeps 11 bits of mantissa: about 1e-3 relative on the cached keys and values */
    ck_assert_msg(err < 5e-3, "f16 cache differs from f32 by %g", err);
    ck_assert_msg(err > 0, "f16 cache gave bit-identical logits: not in use?");
    free(logits[0]);
    free(logits[1]);
}
END_TEST

int main(void)
{
    llm_test_data_require();
    Suite *su = suite_create("generation-internal");
    TCase *tc = tcase_create("stories260K");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, no_allocation_per_token, 1, 3);
    tcase_add_test(tc, f16_cache_close_to_f32);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
