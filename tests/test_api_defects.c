/*
 * Regression tests for mistakes the public API once made with bad or unlucky input, each through
 * libllm.so as a user calls it, on the real stories260K model:
 *  - a session state "file" that is a directory (once a 2^63-byte allocation);
 *  - feed / feed_prompt with a count beyond the context (once read all ids before checking);
 *  - a saved decoder state with token ids outside the vocabulary (once loaded OK);
 *  - set_float with 1e300 (once stored +inf for temperature and the penalties);
 *  - a YAML alias in a preset (once dropped silently);
 *  - beam search with room for no token or no hypothesis (once returned OK with nothing);
 *  - a cancel noticed while the prompt is evaluated (once left the stop reason at NONE);
 *  - messages that named the wrong problem: the has_logits word, the KV width, a preset path
 *    that is a directory.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <llm/llm.h>

#include "testdata.h"

static llm_model *model;
static char tmpdir[64];

static void setup(void)
{
    ck_assert_int_eq(llm_model_open(llm_test_path("models/stories260K/stories260K.gguf"), NULL,
                                    &model),
                     LLM_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llm-defects-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    llm_model_close(model);
    model = NULL;
    rmdir(tmpdir);
}

static llm_session *session_with(uint32_t n_ctx, uint32_t n_batch, llm_parallel_for_fn pf,
                                 void *host)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = n_ctx;
    o.n_threads = 1;
    o.n_batch = n_batch;
    o.parallel_for = pf;
    o.parallel_host = host;
    llm_session *s = NULL;
    ck_assert_msg(llm_session_create(model, &o, &s) == LLM_OK, "%s", llm_last_error());
    return s;
}

static llm_session *session(uint32_t n_ctx)
{
    return session_with(n_ctx, 0, NULL, NULL);
}

#define ASSERT_MSG_HAS(s, needle)                                                                  \
    ck_assert_msg(strstr(llm_session_last_error(s), needle) != NULL, "message: %s",              \
                  llm_session_last_error(s))

START_TEST(load_file_on_a_directory_is_an_io_error)
{
    llm_session *s = session(64);
    ck_assert_int_eq(llm_session_load_file(s, tmpdir), LLM_ERR_IO);
    ASSERT_MSG_HAS(s, "is a directory");
    ASSERT_MSG_HAS(s, tmpdir);
    llm_session_destroy(s);
}
END_TEST

START_TEST(feed_checks_the_count_before_reading_ids)
{
    llm_session *s = session(64);
    /* a one-element array with a huge count: the count is refused before any id is read (under
     * ASan a read past `one` would be reported) */
    int32_t *one = malloc(sizeof *one);
    one[0] = 1;
    ck_assert_int_eq(llm_session_feed(s, one, (size_t)1 << 40, NULL, 0), LLM_ERR_CONTEXT_FULL);
    ck_assert_int_eq(llm_session_feed(s, one, 65, NULL, 0), LLM_ERR_CONTEXT_FULL);
    ck_assert_int_eq(llm_session_feed_prompt(s, one, (size_t)1 << 40, NULL), LLM_ERR_CONTEXT_FULL);
    ASSERT_MSG_HAS(s, "n_ctx 64");
    ck_assert_uint_eq(llm_session_n_tokens(s), 0);
    ck_assert_int_eq(llm_session_feed(s, one, 1, NULL, 0), LLM_OK);
    free(one);
    llm_session_destroy(s);

    /* with the shift policy, too many new tokens are refused before they are read as well */
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = 64;
    o.n_threads = 1;
    o.context_policy = LLM_CONTEXT_SHIFT;
    ck_assert_int_eq(llm_session_create(model, &o, &s), LLM_OK);
    one = malloc(sizeof *one);
    one[0] = 1;
    ck_assert_int_eq(llm_session_feed(s, one, (size_t)1 << 40, NULL, 0), LLM_ERR_CONTEXT_FULL);
    free(one);
    llm_session_destroy(s);
}
END_TEST

/* A saved state of a short prompt, and the offsets of its header words and token ids. */
enum { OFF_KV_DIM = 4 + 4 * 5, OFF_HAS_LOGITS = 4 + 4 * 9, OFF_TOKENS = 4 + 4 * 10 + 32 };

static unsigned char *saved_state(llm_session *s, size_t *size)
{
    int32_t prompt[3] = {1, 403, 407};
    ck_assert_int_eq(llm_session_feed_prompt(s, prompt, 3, NULL), LLM_OK);
    ck_assert_int_eq(llm_session_save_state(s, NULL, 0, size), LLM_OK);
    unsigned char *buf = malloc(*size);
    ck_assert_int_eq(llm_session_save_state(s, buf, *size, size), LLM_OK);
    int32_t first;
    memcpy(&first, buf + OFF_TOKENS, 4);
    ck_assert_int_eq(first, 1); /* the layout this test edits */
    return buf;
}

START_TEST(state_with_bad_token_ids_is_rejected)
{
    llm_session *s = session(64);
    size_t size;
    unsigned char *buf = saved_state(s, &size);
    const int32_t bad[] = {1 << 30, -1, 512};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, buf, size);
        memcpy(copy + OFF_TOKENS + 4, &bad[i], 4);
        ck_assert_int_eq(llm_session_load_state(s, copy, size), LLM_ERR_FORMAT);
        ASSERT_MSG_HAS(s, "outside the vocabulary");
        free(copy);
    }
    /* the untouched state still loads */
    ck_assert_int_eq(llm_session_load_state(s, buf, size), LLM_OK);
    ck_assert_uint_eq(llm_session_n_tokens(s), 3);
    free(buf);
    llm_session_destroy(s);
}
END_TEST

START_TEST(state_messages_name_the_field)
{
    llm_session *s = session(64);
    size_t size;
    unsigned char *buf = saved_state(s, &size);
    unsigned char *copy = malloc(size);
    uint32_t v = 7;
    memcpy(copy, buf, size);
    memcpy(copy + OFF_HAS_LOGITS, &v, 4);
    ck_assert_int_eq(llm_session_load_state(s, copy, size), LLM_ERR_FORMAT);
    ASSERT_MSG_HAS(s, "has_logits word is 7");
    memcpy(copy, buf, size);
    v = 48;
    memcpy(copy + OFF_KV_DIM, &v, 4);
    ck_assert_int_eq(llm_session_load_state(s, copy, size), LLM_ERR_FORMAT);
    ASSERT_MSG_HAS(s, "KV rows are 48 wide, this model's 32");
    free(copy);
    free(buf);
    llm_session_destroy(s);
}
END_TEST

START_TEST(set_float_rejects_values_beyond_float)
{
    llm_session *s = session(64);
    const llm_param keys[] = {LLM_PARAM_TEMPERATURE, LLM_PARAM_REPEAT_PENALTY,
                              LLM_PARAM_FREQUENCY_PENALTY, LLM_PARAM_PRESENCE_PENALTY,
                              LLM_PARAM_LENGTH_PENALTY};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double before, after;
        ck_assert_int_eq(llm_session_get_float(s, keys[i], &before), LLM_OK);
        ck_assert_int_eq(llm_session_set_float(s, keys[i], 1e300), LLM_ERR_INVALID_ARG);
        ck_assert_int_eq(llm_session_set_float(s, keys[i], -1e300), LLM_ERR_INVALID_ARG);
        ASSERT_MSG_HAS(s, "beyond the range of a float");
        ck_assert_int_eq(llm_session_get_float(s, keys[i], &after), LLM_OK);
        ck_assert(before == after);
    }
    ck_assert_int_eq(llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 3.0e38), LLM_OK);
    llm_session_destroy(s);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(preset_aliases_repeat_the_anchored_value)
{
    llm_session *s = session(64);
    char path[128];
    snprintf(path, sizeof path, "%s/preset.yaml", tmpdir);
    write_file(path, "temperature: &x 0.25\ntop_p: *x\nstop: [&s \"END\", *s]\nmin_p: *x\n");
    ck_assert_msg(llm_session_load_preset(s, path) == LLM_OK, "%s", llm_session_last_error(s));
    double t, p, m;
    llm_session_get_float(s, LLM_PARAM_TEMPERATURE, &t);
    llm_session_get_float(s, LLM_PARAM_TOP_P, &p);
    llm_session_get_float(s, LLM_PARAM_MIN_P, &m);
    ck_assert(t == 0.25 && p == 0.25 && m == 0.25);
    /* an alias of nothing, or of a list, is an error naming it */
    write_file(path, "temperature: 0.5\ntop_p: *nowhere\n");
    ck_assert_int_eq(llm_session_load_preset(s, path), LLM_ERR_FORMAT);
    ASSERT_MSG_HAS(s, ":2: alias '*nowhere'");
    write_file(path, "stop: &l [\"a\"]\ntop_p: *l\n");
    ck_assert_int_eq(llm_session_load_preset(s, path), LLM_ERR_FORMAT);
    unlink(path);
    llm_session_destroy(s);
}
END_TEST

START_TEST(preset_path_that_is_a_directory)
{
    llm_session *s = session(64);
    ck_assert_int_eq(llm_session_load_preset(s, tmpdir), LLM_ERR_IO);
    ASSERT_MSG_HAS(s, "is a directory");
    llm_session_destroy(s);
}
END_TEST

START_TEST(beam_search_with_no_room_is_an_error)
{
    llm_session *s = session(64);
    int32_t prompt[2] = {1, 403};
    ck_assert_int_eq(llm_session_feed_prompt(s, prompt, 2, NULL), LLM_OK);
    llm_session_set_int(s, LLM_PARAM_NUM_BEAMS, 2);
    int32_t ids[16];
    size_t lens[2], n = 99;
    float scores[2];
    ck_assert_int_eq(llm_session_beam_search(s, ids, 0, lens, scores, 2, &n), LLM_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 0);
    ASSERT_MSG_HAS(s, "max_len 0");
    ck_assert_int_eq(llm_session_beam_search(s, ids, 8, lens, scores, 0, &n), LLM_ERR_INVALID_ARG);
    ASSERT_MSG_HAS(s, "n_hyp_cap 0");
    ck_assert_int_eq(llm_session_beam_search(s, ids, 8, lens, scores, 2, &n), LLM_OK);
    ck_assert_uint_ge(n, 1);
    llm_session_destroy(s);
}
END_TEST

/* A host job system that cancels the session the first time it is given work: the cancel is
 * then noticed between prompt batches, deterministically. */
typedef struct canceller {
    llm_session *s;
    int calls;
} canceller;

static void cancelling_parallel_for(void *host, void (*fn)(void *ctx, uint32_t i), void *ctx,
                                    uint32_t n)
{
    canceller *c = host;
    if (c->calls++ == 0 && c->s)
        llm_session_cancel(c->s);
    for (uint32_t i = 0; i < n; i++)
        fn(ctx, i);
}

START_TEST(cancel_during_prompt_sets_the_stop_reason)
{
    canceller c = {NULL, 0};
    llm_session *s = session_with(64, 4, cancelling_parallel_for, &c);
    c.s = s;
    int32_t prompt[12];
    for (int i = 0; i < 12; i++)
        prompt[i] = 1 + 13 * i;
    ck_assert_int_eq(llm_session_feed_prompt(s, prompt, 12, NULL), LLM_ERR_CANCELLED);
    ck_assert_int_eq(llm_session_stop_reason(s), LLM_STOP_CANCELLED);
    ASSERT_MSG_HAS(s, "while evaluating the prompt");
    ck_assert_uint_eq(llm_session_n_tokens(s), 4); /* the first batch, which had started */
    llm_session_destroy(s);
}
END_TEST

static Suite *defects_suite(void)
{
    Suite *s = suite_create("api-defects");
    llm_test_data_require();
    TCase *tc = tcase_create("stories260K");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, load_file_on_a_directory_is_an_io_error);
    tcase_add_test(tc, feed_checks_the_count_before_reading_ids);
    tcase_add_test(tc, state_with_bad_token_ids_is_rejected);
    tcase_add_test(tc, state_messages_name_the_field);
    tcase_add_test(tc, set_float_rejects_values_beyond_float);
    tcase_add_test(tc, preset_aliases_repeat_the_anchored_value);
    tcase_add_test(tc, preset_path_that_is_a_directory);
    tcase_add_test(tc, beam_search_with_no_room_is_an_error);
    tcase_add_test(tc, cancel_during_prompt_sets_the_stop_reason);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(defects_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
