/*
 * Bounds on the work one input may cause (llm_tokenizer_options), one hostile file per stage:
 *  - normalizers: tests/hostile/normalizer_replace_chain.json, 648 bytes, five Replace
 *    normalizers that each turn a space into 40 bytes with 20 spaces (a 3.2-million-fold growth
 *    of every space; encoding "hello world" once took 1.3 GB). Refused at open; with the open-time
 *    check bypassed (the fuzz targets' entry point) the encode-time bound refuses it as well;
 *  - pre-tokenizers: a Split regex that backtracks exponentially;
 *  - a Replace normalizer with the same regex;
 *  - added-token matching: thousands of long added tokens that share their first byte.
 * Each is LLM_ERR_LIMIT with the stage and the option named; raising the option lets the same
 * file through. bench_limits measures the time and memory of the refusals.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llm/llm.h>

#include "common/alloc.h"
#include "common/error.h"
#include "tokenizer/tokenizer.h"

#ifndef HOSTILE_DIR
#error "HOSTILE_DIR must name tests/hostile"
#endif

static const char *hostile(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", HOSTILE_DIR, name);
    return path;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

#define ASSERT_LAST_ERROR_HAS(needle)                                                              \
    ck_assert_msg(strstr(llm_last_error(), needle) != NULL, "message: %s", llm_last_error())

START_TEST(replace_chain_is_refused_at_open)
{
    size_t len;
    char *json = slurp(hostile("normalizer_replace_chain.json"), &len);
    ck_assert_uint_eq(len, 648);
    free(json);
    llm_tokenizer *t = (llm_tokenizer *)1;
    ck_assert_int_eq(llm_tokenizer_open(hostile("normalizer_replace_chain.json"), &t),
                     LLM_ERR_LIMIT);
    ck_assert_ptr_null(t);
    ASSERT_LAST_ERROR_HAS("normalizer 2 (Replace)");
    ASSERT_LAST_ERROR_HAS("max_normalize_growth");
    /* a higher limit moves the refusal to a later normalizer; 0 lifts it */
    llm_tokenizer_options o;
    llm_tokenizer_options_init(&o);
    o.max_normalize_growth = 100000;
    ck_assert_int_eq(llm_tokenizer_open_with(hostile("normalizer_replace_chain.json"), &o, &t),
                     LLM_ERR_LIMIT);
    ASSERT_LAST_ERROR_HAS("normalizer 4 (Replace)");
    o.max_normalize_growth = 0;
    ck_assert_int_eq(llm_tokenizer_open_with(hostile("normalizer_replace_chain.json"), &o, &t),
                     LLM_OK);
    int32_t ids[4];
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, "aa", 2, 0, ids, 4, &n), LLM_OK);
    ck_assert_uint_eq(n, 2); /* no space: nothing to grow */
    llm_tokenizer_close(t);
}
END_TEST

/* The parsers' own entry point (what the fuzz targets call) skips the open-time check: the bound
 * on the bytes each normalizer holds refuses the same file while encoding. */
START_TEST(replace_chain_is_refused_while_encoding)
{
    size_t len;
    char *json = slurp(hostile("normalizer_replace_chain.json"), &len);
    struct llm_tokenizer *t = NULL;
    llm_error err;
    llm_error_clear(&err);
    ck_assert_int_eq(llm_tokenizer_from_hf_json(json, len, NULL, &t, &err), LLM_OK);
    free(json);
    int32_t *ids = NULL;
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode_alloc(t, "hello world", 11, 0, &ids, NULL, &n, &err),
                     LLM_ERR_LIMIT);
    ck_assert_msg(strstr(err.msg, "normalizer 3 (Replace): the text grew past 1728 bytes"),
                  "message: %s", err.msg);
    /* texts without the growing character still encode */
    ck_assert_int_eq(llm_tokenizer_encode_alloc(t, "xaxa", 4, 0, &ids, NULL, &n, &err), LLM_OK);
    ck_assert_uint_eq(n, 4);
    llm_mem_free(ids);
    llm_tokenizer_free(t);
}
END_TEST

/* (a|aa)+$ over "aaa...ab" tries every way to split the a's: 2^n steps without a limit. */
static const char backtracking_split[] =
    "{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": "
    "{\"Regex\": \"(a|aa)+$\"}, \"behavior\": \"Isolated\", \"invert\": false}, "
    "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}}";

static const char backtracking_replace[] =
    "{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(a|aa)+$\"}, "
    "\"content\": \"b\"}, "
    "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}}";

static void expect_regex_limit(const char *json, const char *stage)
{
    char path[] = "/tmp/llm-limits-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_text(path, json);
    llm_tokenizer *t = NULL;
    ck_assert_msg(llm_tokenizer_open(path, &t) == LLM_OK, "%s", llm_last_error());
    char text[64];
    memset(text, 'a', 48);
    text[48] = 'b';
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, text, 49, 0, NULL, 0, &n), LLM_ERR_LIMIT);
    ASSERT_LAST_ERROR_HAS(stage);
    ASSERT_LAST_ERROR_HAS("max_regex_steps");
    /* ordinary text is fine */
    ck_assert_int_eq(llm_tokenizer_encode(t, "abab", 4, 0, NULL, 0, &n), LLM_OK);
    llm_tokenizer_close(t);
    unlink(path);
}

START_TEST(backtracking_pre_tokenizer_regex_is_stopped)
{
    expect_regex_limit(backtracking_split, "pre-tokenizer 1 (Split)");
}
END_TEST

START_TEST(backtracking_replace_regex_is_stopped)
{
    expect_regex_limit(backtracking_replace, "normalizer 1 (Replace)");
}
END_TEST

/* 8000 added tokens "a" + 20 letters, and a text of 20000 a's: every position compares all of
 * them (160 million comparisons of up to 21 bytes without the bound). */
START_TEST(added_tokens_sharing_a_first_byte_are_bounded)
{
    enum { N_ADDED = 8000, TEXT = 20000 };
    size_t cap = 256 + (size_t)N_ADDED * 96;
    char *json = malloc(cap);
    size_t at = (size_t)snprintf(json, cap, "{\"added_tokens\": [");
    for (int i = 0; i < N_ADDED; i++) {
        char body[24];
        for (int k = 0; k < 20; k++)
            body[k] = (char)('b' + (i >> (k % 13)) % 24);
        body[20] = '\0';
        at += (size_t)snprintf(json + at, cap - at,
                               "%s{\"id\": %d, \"content\": \"a%s\", \"special\": false}",
                               i ? ", " : "", 2 + i, body);
    }
    at += (size_t)snprintf(json + at, cap - at,
                           "], \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
                           "\"merges\": []}}");
    char path[] = "/tmp/llm-limits-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, json, at), (ssize_t)at);
    close(fd);
    free(json);
    char *text = malloc(TEXT);
    memset(text, 'a', TEXT);
    llm_tokenizer *t = NULL;
    ck_assert_msg(llm_tokenizer_open(path, &t) == LLM_OK, "%s", llm_last_error());
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, text, TEXT, 0, NULL, 0, &n), LLM_ERR_LIMIT);
    ASSERT_LAST_ERROR_HAS("added-token matching");
    ASSERT_LAST_ERROR_HAS("max_added_token_steps");
    ck_assert_int_eq(llm_tokenizer_encode(t, text, 8, 0, NULL, 0, &n), LLM_OK);
    ck_assert_uint_eq(n, 8);
    llm_tokenizer_close(t);
    /* a caller that wants it can allow the work */
    llm_tokenizer_options o;
    llm_tokenizer_options_init(&o);
    o.max_added_token_steps = N_ADDED + 1;
    ck_assert_int_eq(llm_tokenizer_open_with(path, &o, &t), LLM_OK);
    ck_assert_int_eq(llm_tokenizer_encode(t, text, 2000, 0, NULL, 0, &n), LLM_OK);
    ck_assert_uint_eq(n, 2000);
    llm_tokenizer_close(t);
    free(text);
    unlink(path);
}
END_TEST

START_TEST(tokenizer_options_abi)
{
    llm_tokenizer_options o;
    llm_tokenizer_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_uint_eq(o.max_normalize_growth, 64);
    ck_assert_uint_eq(o.max_added_token_steps, 1024);
    ck_assert_uint_eq(o.max_regex_steps, 1000000);
    llm_tokenizer *t = NULL;
    o.struct_size = 4;
    ck_assert_int_eq(llm_tokenizer_open_with(hostile("normalizer_replace_chain.json"), &o, &t),
                     LLM_ERR_ABI);
    /* the model options carry the same fields, with the same defaults */
    llm_model_options mo;
    llm_model_options_init(&mo);
    ck_assert_uint_eq(mo.max_normalize_growth, 64);
    ck_assert_uint_eq(mo.max_added_token_steps, 1024);
    ck_assert_uint_eq(mo.max_regex_steps, 1000000);
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("hostile files");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, replace_chain_is_refused_at_open);
    tcase_add_test(tc, replace_chain_is_refused_while_encoding);
    tcase_add_test(tc, backtracking_pre_tokenizer_regex_is_stopped);
    tcase_add_test(tc, backtracking_replace_regex_is_stopped);
    tcase_add_test(tc, added_tokens_sharing_a_first_byte_are_bounded);
    tcase_add_test(tc, tokenizer_options_abi);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(limits_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
