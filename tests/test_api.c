/*
 * The public API as a user links it (libllm.so): version and status calls, option structs and
 * their ABI checks, NULL and bad arguments, and the session machinery on the real stories260K
 * model: seeded sampling, stop strings, the step API, cancellation, context limits, state
 * save/restore, fork, prefix reuse and presets.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llm/llm.h>

#include "testdata.h"

/* ---------------------------------------------------------------------------------------------- */
/* basics                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

START_TEST(version_matches_header)
{
    ck_assert_int_eq(llm_version_number(), LLM_VERSION_NUMBER);
    ck_assert_str_eq(llm_version_string(), LLM_VERSION_STRING);
}
END_TEST

START_TEST(status_strings)
{
    for (int st = 0; st <= LLM_ERR_BUFFER_TOO_SMALL; st++)
        ck_assert_str_ne(llm_status_string((llm_status)st), "unknown status");
    ck_assert_str_eq(llm_status_string((llm_status)999), "unknown status");
}
END_TEST

START_TEST(null_arguments_are_errors)
{
    llm_model *m = (llm_model *)0x1;
    /* messages name the argument in the caller's terms, not the C function (a binding's user
     * never sees the C name) */
    ck_assert_int_eq(llm_model_open(NULL, NULL, &m), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(llm_last_error(), "path is NULL: name the model file or directory to open");
    ck_assert_int_eq(llm_model_open("x", NULL, NULL), LLM_ERR_INVALID_ARG);
    ck_assert_str_eq(llm_last_error(), "out is NULL");
    ck_assert_int_eq(llm_session_create(NULL, NULL, NULL), LLM_ERR_INVALID_ARG);
    ck_assert_str_eq(llm_last_error(), "model is NULL (not opened, or closed)");
    ck_assert_int_eq(llm_tokenizer_open(NULL, NULL), LLM_ERR_INVALID_ARG);
    ck_assert_str_eq(llm_last_error(), "path is NULL");
    ck_assert_int_eq(llm_session_set_int(NULL, LLM_PARAM_TOP_K, 1), LLM_ERR_INVALID_ARG);
    ck_assert_str_eq(llm_last_error(), "session is NULL (not created, or destroyed)");
    size_t n;
    ck_assert_int_eq(llm_tokenizer_encode(NULL, "a", 1, 0, NULL, 0, &n), LLM_ERR_INVALID_ARG);
    ck_assert_str_eq(llm_last_error(), "the tokenizer is NULL");
    llm_model_close(NULL);
    llm_session_destroy(NULL);
    llm_tokenizer_close(NULL);
    llm_free(NULL);
    ck_assert_int_eq(llm_session_feed(NULL, NULL, 0, NULL, 0), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_null(llm_session_logits(NULL, NULL));
    ck_assert_str_eq(llm_session_last_error(NULL), "");
    ck_assert(llm_cosine_similarity(NULL, NULL, 3) == 0.0f);
}
END_TEST

START_TEST(missing_file_names_the_path)
{
    llm_model *m = NULL;
    ck_assert_int_eq(llm_model_open("/nonexistent/model.gguf", NULL, &m), LLM_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "/nonexistent/model.gguf"));
}
END_TEST

START_TEST(options_struct_size_checks)
{
    llm_model_options o;
    llm_model_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    llm_model *m = NULL;
    /* too small for the first version */
    o.struct_size = 4;
    ck_assert_int_eq(llm_model_open("/nonexistent.gguf", &o, &m), LLM_ERR_ABI);
    /* a newer caller's larger struct with non-zero unknown fields */
    struct {
        llm_model_options base;
        uint64_t future;
    } big;
    memset(&big, 0, sizeof big);
    llm_model_options_init(&big.base);
    big.base.struct_size = sizeof big;
    big.future = 7;
    ck_assert_int_eq(llm_model_open("/nonexistent.gguf", &big.base, &m), LLM_ERR_ABI);
    /* ... and with zero unknown fields it is accepted (then fails on the missing file) */
    big.future = 0;
    ck_assert_int_eq(llm_model_open("/nonexistent.gguf", &big.base, &m), LLM_ERR_IO);
}
END_TEST

START_TEST(cosine_similarity)
{
    float a[3] = {1, 0, 0}, b[3] = {0, 1, 0}, c[3] = {2, 0, 0};
    ck_assert(llm_cosine_similarity(a, b, 3) == 0.0f);
    ck_assert(llm_cosine_similarity(a, c, 3) > 0.9999f);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* sessions on stories260K                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static llm_model *model;

static void open_stories(void)
{
    ck_assert_int_eq(llm_model_open(llm_test_path("models/stories260K/stories260K.gguf"), NULL,
                                    &model),
                     LLM_OK);
}

static void close_stories(void)
{
    llm_model_close(model);
    model = NULL;
}

static llm_session *session(uint32_t n_ctx, uint32_t threads, int policy)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = n_ctx;
    o.n_threads = threads;
    o.context_policy = policy;
    llm_session *s = NULL;
    ck_assert_msg(llm_session_create(model, &o, &s) == LLM_OK, "%s", llm_last_error());
    return s;
}

typedef struct collected {
    char text[8192];
    size_t len;
    int32_t ids[1024];
    size_t n;
    int cancel_after;
} collected;

static int collect(void *user, int32_t id, const char *text, size_t len)
{
    collected *c = user;
    if (id >= 0 && c->n < 1024)
        c->ids[c->n++] = id;
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, text, len);
        c->len += len;
        c->text[c->len] = '\0';
    }
    return c->cancel_after && (int)c->n >= c->cancel_after;
}

static void run(llm_session *s, const char *prompt, collected *c)
{
    memset(c, 0, sizeof *c);
    llm_status st = llm_session_generate_text(s, prompt, collect, c);
    ck_assert_msg(st == LLM_OK, "generate: %s: %s", llm_status_string(st),
                  llm_session_last_error(s));
}

START_TEST(seeded_sampling_is_reproducible)
{
    collected a, b, c;
    for (int t = 0; t < 3; t++) {
        llm_session *s = session(256, t == 1 ? 2 : 1, LLM_CONTEXT_ERROR);
        llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 1.0);
        llm_session_set_int(s, LLM_PARAM_SEED, t == 2 ? 43 : 42);
        llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 48);
        run(s, "Once upon a time", t == 0 ? &a : t == 1 ? &b : &c);
        llm_session_destroy(s);
    }
    ck_assert_uint_eq(a.n, 48);
    ck_assert_msg(a.n == b.n && memcmp(a.ids, b.ids, a.n * 4) == 0,
                  "same seed, 1 vs 2 threads: different tokens");
    ck_assert_msg(a.n != c.n || memcmp(a.ids, c.ids, a.n * 4) != 0,
                  "different seeds gave the same 48 tokens");
}
END_TEST

START_TEST(stop_string_is_never_emitted)
{
    collected full, cut;
    llm_session *s = session(256, 1, LLM_CONTEXT_ERROR);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 64);
    run(s, "Once upon a time", &full);
    ck_assert_uint_gt(full.len, 40);
    /* a stop string that spans several tokens in the middle of the greedy text */
    char stop[16];
    memcpy(stop, full.text + 20, 10);
    stop[10] = '\0';
    size_t at = (size_t)(strstr(full.text, stop) - full.text);
    ck_assert_int_eq(llm_session_add_stop(s, stop), LLM_OK);
    run(s, "Once upon a time", &cut);
    ck_assert_int_eq(llm_session_stop_reason(s), LLM_STOP_STRING);
    ck_assert_uint_eq(cut.len, at);
    ck_assert_msg(memcmp(cut.text, full.text, at) == 0, "text before the stop differs");
    ck_assert_ptr_null(strstr(cut.text, stop));
    llm_session_destroy(s);
}
END_TEST

START_TEST(step_api_and_cancel)
{
    llm_session *s = session(256, 1, LLM_CONTEXT_ERROR);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 5);
    int32_t id;
    llm_stop_reason why;
    /* stepping before a prompt is a state error, not a crash */
    ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_ERR_STATE);
    int32_t bos = 1;
    ck_assert_int_eq(llm_session_feed_prompt(s, &bos, 1, NULL), LLM_OK);
    int steps = 0;
    do {
        ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_OK);
        steps += id >= 0;
    } while (why == LLM_STOP_NONE);
    ck_assert_int_eq(steps, 5);
    ck_assert_int_eq(why, LLM_STOP_MAX_TOKENS);
    /* a callback cancels */
    collected c;
    memset(&c, 0, sizeof c);
    c.cancel_after = 3;
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 50);
    ck_assert_int_eq(llm_session_feed_prompt(s, &bos, 1, NULL), LLM_OK);
    ck_assert_int_eq(llm_session_generate(s, collect, &c), LLM_ERR_CANCELLED);
    ck_assert_uint_eq(c.n, 3);
    /* the cancel flag (settable from another thread) stops the next step */
    ck_assert_int_eq(llm_session_feed_prompt(s, &bos, 1, NULL), LLM_OK);
    llm_session_cancel(s);
    ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_ERR_CANCELLED);
    ck_assert_int_eq(why, LLM_STOP_CANCELLED);
    /* noticed once: the next generation runs */
    ck_assert_int_eq(llm_session_feed_prompt(s, &bos, 1, NULL), LLM_OK);
    memset(&c, 0, sizeof c);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 4);
    ck_assert_int_eq(llm_session_generate(s, collect, &c), LLM_OK);
    ck_assert_uint_eq(c.n, 4);
    /* a cancel issued just before generate starts (another thread's) is not lost */
    ck_assert_int_eq(llm_session_feed_prompt(s, &bos, 1, NULL), LLM_OK);
    memset(&c, 0, sizeof c);
    llm_session_cancel(s);
    ck_assert_int_eq(llm_session_generate(s, collect, &c), LLM_ERR_CANCELLED);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_int_eq(llm_session_stop_reason(s), LLM_STOP_CANCELLED);
    /* and one issued before the prompt is fed stops the prompt's evaluation */
    llm_session_cancel(s);
    ck_assert_int_eq(llm_session_generate_text(s, "Once upon a time", collect, &c),
                     LLM_ERR_CANCELLED);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_int_eq(llm_session_generate_text(s, "Once upon a time", collect, &c), LLM_OK);
    ck_assert_uint_eq(c.n, 4);
    llm_session_destroy(s);
}
END_TEST

START_TEST(context_full_and_shift)
{
    llm_session *s = session(16, 1, LLM_CONTEXT_ERROR);
    int32_t ids[20];
    for (int i = 0; i < 20; i++)
        ids[i] = 1 + i * 7;
    ck_assert_int_eq(llm_session_feed(s, ids, 20, NULL, 0), LLM_ERR_CONTEXT_FULL);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), "context"));
    ck_assert_int_eq(llm_session_feed(s, ids, 10, NULL, 0), LLM_OK);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 20);
    llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    ck_assert_int_eq(llm_session_generate(s, NULL, NULL), LLM_ERR_CONTEXT_FULL);
    ck_assert_int_eq(llm_session_stop_reason(s), LLM_STOP_CONTEXT_FULL);
    llm_session_destroy(s);

    s = session(16, 1, LLM_CONTEXT_SHIFT);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 40);
    llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    ck_assert_int_eq(llm_session_feed(s, ids, 10, NULL, 0), LLM_OK);
    ck_assert_int_eq(llm_session_generate(s, NULL, NULL), LLM_OK);
    ck_assert_int_eq(llm_session_stop_reason(s), LLM_STOP_MAX_TOKENS);
    ck_assert_uint_le(llm_session_n_tokens(s), 16);
    llm_session_destroy(s);
}
END_TEST

START_TEST(bad_ids_are_rejected)
{
    llm_session *s = session(64, 1, LLM_CONTEXT_ERROR);
    int32_t bad[2] = {1, 100000};
    ck_assert_int_eq(llm_session_feed(s, bad, 2, NULL, 0), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), "100000"));
    ck_assert_uint_eq(llm_session_n_tokens(s), 0);
    ck_assert_int_eq(llm_session_set_int(s, (llm_param)999, 1), LLM_ERR_UNKNOWN_PARAM);
    ck_assert_int_eq(llm_session_set_float(s, LLM_PARAM_TOP_P, 2.0), LLM_ERR_INVALID_ARG);
    llm_session_destroy(s);
}
END_TEST

START_TEST(state_save_restore_and_fork)
{
    llm_session *s = session(128, 1, LLM_CONTEXT_ERROR);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.9);
    llm_session_set_int(s, LLM_PARAM_SEED, 7);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 16);
    collected first, again, forked;
    run(s, "Once upon a time", &first);
    size_t size = 0;
    ck_assert_int_eq(llm_session_save_state(s, NULL, 0, &size), LLM_OK);
    void *buf = malloc(size);
    ck_assert_int_eq(llm_session_save_state(s, buf, size, &size), LLM_OK);
    llm_session *f = NULL;
    ck_assert_int_eq(llm_session_fork(s, &f), LLM_OK);
    memset(&again, 0, sizeof again);
    ck_assert_int_eq(llm_session_generate(s, collect, &again), LLM_OK);
    /* restore and continue: the same tokens again (the generator state is part of the state) */
    collected replay;
    memset(&replay, 0, sizeof replay);
    ck_assert_int_eq(llm_session_load_state(s, buf, size), LLM_OK);
    ck_assert_int_eq(llm_session_generate(s, collect, &replay), LLM_OK);
    ck_assert_uint_eq(again.n, replay.n);
    ck_assert(memcmp(again.ids, replay.ids, again.n * 4) == 0);
    memset(&forked, 0, sizeof forked);
    ck_assert_int_eq(llm_session_generate(f, collect, &forked), LLM_OK);
    ck_assert(forked.n == again.n && memcmp(again.ids, forked.ids, again.n * 4) == 0);
    /* a corrupted state is rejected cleanly */
    ((unsigned char *)buf)[0] ^= 0xff;
    ck_assert_int_eq(llm_session_load_state(s, buf, size), LLM_ERR_FORMAT);
    ck_assert_int_eq(llm_session_load_state(s, buf, 3), LLM_ERR_FORMAT);
    /* and through a file */
    char path[] = "/tmp/llm-state-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(llm_session_save_file(f, path), LLM_OK);
    ck_assert_int_eq(llm_session_load_file(s, path), LLM_OK);
    ck_assert_uint_eq(llm_session_n_tokens(s), llm_session_n_tokens(f));
    unlink(path);
    free(buf);
    llm_session_destroy(f);
    llm_session_destroy(s);
}
END_TEST

START_TEST(prompt_prefix_is_reused)
{
    llm_session *s = session(128, 1, LLM_CONTEXT_ERROR);
    int32_t a[6] = {1, 403, 407, 261, 378, 432};
    int32_t b[7] = {1, 403, 407, 261, 378, 300, 301};
    size_t reused = 99;
    ck_assert_int_eq(llm_session_feed_prompt(s, a, 6, &reused), LLM_OK);
    ck_assert_uint_eq(reused, 0);
    ck_assert_int_eq(llm_session_feed_prompt(s, b, 7, &reused), LLM_OK);
    ck_assert_uint_eq(reused, 5);
    size_t V;
    const float *l1 = llm_session_logits(s, &V);
    float *kept = malloc(V * sizeof *kept);
    memcpy(kept, l1, V * sizeof *kept);
    /* the same logits as a fresh evaluation */
    llm_session *fresh = session(128, 1, LLM_CONTEXT_ERROR);
    ck_assert_int_eq(llm_session_feed_prompt(fresh, b, 7, NULL), LLM_OK);
    ck_assert(memcmp(kept, llm_session_logits(fresh, NULL), V * sizeof *kept) == 0);
    free(kept);
    llm_session_destroy(fresh);
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

START_TEST(presets)
{
    llm_session *s = session(64, 1, LLM_CONTEXT_ERROR);
    const char *path = "/tmp/llm-preset-test.yaml";
    write_file(path, "temperature: 0.5\ntop_k: 12\nstop: [\"\\n\\n\", \"The end\"]\nseed: 3\n");
    ck_assert_msg(llm_session_load_preset(s, path) == LLM_OK, "%s", llm_session_last_error(s));
    double t;
    int64_t k;
    llm_session_get_float(s, LLM_PARAM_TEMPERATURE, &t);
    llm_session_get_int(s, LLM_PARAM_TOP_K, &k);
    ck_assert(t == 0.5);
    ck_assert_int_eq(k, 12);
    write_file(path, "temperature: 0.5\n\ntop_kk: 3\n");
    ck_assert_int_eq(llm_session_load_preset(s, path), LLM_ERR_FORMAT);
    ck_assert_msg(strstr(llm_session_last_error(s), ":3:") != NULL, "message: %s",
                  llm_session_last_error(s));
    write_file(path, "top_p: lots\n");
    ck_assert_int_eq(llm_session_load_preset(s, path), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), ":1:"));
    write_file(path, "top_p: [1\n");
    ck_assert_int_eq(llm_session_load_preset(s, path), LLM_ERR_FORMAT);
    unlink(path);
    llm_session_destroy(s);
}
END_TEST

/* Closing the model first (as garbage collectors may) keeps the session usable. */
START_TEST(model_outlives_close_while_sessions_live)
{
    llm_session *s = session(64, 1, LLM_CONTEXT_ERROR);
    close_stories();
    int32_t bos = 1;
    ck_assert_int_eq(llm_session_feed(s, &bos, 1, NULL, 0), LLM_OK);
    llm_session_destroy(s);
    open_stories(); /* for the fixture's teardown */
}
END_TEST

START_TEST(estimate_memory)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = 256;
    uint64_t bytes = 0;
    ck_assert_int_eq(llm_model_estimate_memory(model, &o, &bytes), LLM_OK);
    /* at least the KV cache: 2 * 5 layers * 256 positions * 32 dims * 4 bytes */
    ck_assert_uint_ge(bytes, 2ull * 5 * 256 * 32 * 4);
    llm_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(llm_model_get_info(model, &info), LLM_OK);
    ck_assert_uint_eq(info.n_embd, 64);
    ck_assert_uint_eq(info.n_layer, 5);
    ck_assert_uint_eq(info.n_head, 8);
    ck_assert_uint_eq(info.n_head_kv, 4);
    ck_assert_uint_eq(info.n_vocab, 512);
    ck_assert_str_eq(llm_model_arch_name(model), "llama");
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("basics");
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, status_strings);
    tcase_add_test(tc, null_arguments_are_errors);
    tcase_add_test(tc, missing_file_names_the_path);
    tcase_add_test(tc, options_struct_size_checks);
    tcase_add_test(tc, cosine_similarity);
    suite_add_tcase(s, tc);

    if (!llm_test_data_present()) {
        llm_test_data_left_out("the 'sessions' cases (stories260K)");
        return s;
    }
    tc = tcase_create("sessions");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, open_stories, close_stories);
    tcase_add_test(tc, seeded_sampling_is_reproducible);
    tcase_add_test(tc, stop_string_is_never_emitted);
    tcase_add_test(tc, step_api_and_cancel);
    tcase_add_test(tc, context_full_and_shift);
    tcase_add_test(tc, bad_ids_are_rejected);
    tcase_add_test(tc, state_save_restore_and_fork);
    tcase_add_test(tc, prompt_prefix_is_reused);
    tcase_add_test(tc, presets);
    tcase_add_test(tc, model_outlives_close_while_sessions_live);
    tcase_add_test(tc, estimate_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return llm_test_run(api_suite());
}
