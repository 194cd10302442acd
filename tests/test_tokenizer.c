/*
 * Tokenizer tests against the reference data in ../shared/data:
 *  - the 46-string suites of llama.cpp (ids from Hugging Face tokenizers) for GPT-2, BERT and
 *    Llama 2, and the t5-small suite (ids from the sentencepiece library), through every file
 *    format that carries those tokenizers (GGUF, tokenizer.json in both merge forms,
 *    vocab.json + merges.txt, vocab.txt, spiece.model, and directories);
 *  - the golden models' text prompts (ids as llama.cpp tokenized them, with special tokens);
 *  - round trips, the streaming detokenizer, offsets, invalid and empty input, the caller-buffer
 *    protocol and concurrent use.
 * Debug one case with CK_FORK=no CK_RUN_CASE=suites ./test_tokenizer under gdb.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "testdata.h"
#include "common/alloc.h"
#include "tokenizer/tokenizer.h"

static const char SEP[] = "\n__ggml_vocab_test__\n";

/* ---------------------------------------------------------------------------------------------- */
/* Helpers                                                                                        */

static llm_tokenizer *open_tok(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", llm_test_path(rel));
    llm_tokenizer *t = NULL;
    llm_status st = llm_tokenizer_open(path, &t);
    ck_assert_msg(st == LLM_OK, "open %s: %s: %s", rel, llm_status_string(st), llm_last_error());
    return t;
}

static int32_t *encode(const llm_tokenizer *t, const char *s, size_t len, uint32_t flags,
                       size_t *n)
{
    llm_status st = llm_tokenizer_encode(t, s, len, flags, NULL, 0, n);
    ck_assert_int_eq(st, LLM_OK);
    int32_t *ids = malloc((*n + 1) * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    size_t n2 = 0;
    st = llm_tokenizer_encode(t, s, len, flags, ids, *n, &n2);
    ck_assert_int_eq(st, LLM_OK);
    ck_assert_uint_eq(n2, *n);
    return ids;
}

static char *decode(const llm_tokenizer *t, const int32_t *ids, size_t n, uint32_t flags,
                    size_t *len)
{
    llm_status st = llm_tokenizer_decode(t, ids, n, flags, NULL, 0, len);
    ck_assert_int_eq(st, LLM_OK);
    char *buf = malloc(*len + 1);
    ck_assert_ptr_nonnull(buf);
    st = llm_tokenizer_decode(t, ids, n, flags, buf, *len + 1, len);
    ck_assert_int_eq(st, LLM_OK);
    return buf;
}

typedef struct suite_case {
    const char *tokenizer; /* relative to the data folder */
    const char *inp;
    const char *out;
} suite_case;

static const suite_case suites[] = {
    {"vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-gpt-2.gguf.inp",
     "vocab/ggml-vocab-gpt-2.gguf.out"},
    {"tokenizers/gpt2/vocab.json", "vocab/ggml-vocab-gpt-2.gguf.inp",
     "vocab/ggml-vocab-gpt-2.gguf.out"},
    {"tokenizers/gpt2/tokenizer.json", "vocab/ggml-vocab-gpt-2.gguf.inp",
     "vocab/ggml-vocab-gpt-2.gguf.out"},
    {"tokenizers/gpt2/tokenizer.legacy-merges.json", "vocab/ggml-vocab-gpt-2.gguf.inp",
     "vocab/ggml-vocab-gpt-2.gguf.out"},
    {"tokenizers/gpt2", "vocab/ggml-vocab-gpt-2.gguf.inp", "vocab/ggml-vocab-gpt-2.gguf.out"},
    {"vocab/ggml-vocab-bert-bge.gguf", "vocab/ggml-vocab-bert-bge.gguf.inp",
     "vocab/ggml-vocab-bert-bge.gguf.out"},
    {"tokenizers/bert-base-uncased/vocab.txt", "vocab/ggml-vocab-bert-bge.gguf.inp",
     "vocab/ggml-vocab-bert-bge.gguf.out"},
    {"tokenizers/bert-base-uncased/tokenizer.json", "vocab/ggml-vocab-bert-bge.gguf.inp",
     "vocab/ggml-vocab-bert-bge.gguf.out"},
    {"tokenizers/bert-base-uncased", "vocab/ggml-vocab-bert-bge.gguf.inp",
     "vocab/ggml-vocab-bert-bge.gguf.out"},
    {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf.inp",
     "vocab/ggml-vocab-llama-spm.gguf.out"},
    {"tokenizers/t5-small/spiece.model", "tokenizers/t5-small/t5-small.inp",
     "tokenizers/t5-small/t5-small.spm.out"},
    {"tokenizers/t5-small", "tokenizers/t5-small/t5-small.inp",
     "tokenizers/t5-small/t5-small.spm.out"},
};
#define N_SUITES (sizeof suites / sizeof suites[0])

/* Splits an .inp file into its strings (pointers into buf). */
static size_t split_inp(char *buf, size_t size, char **str, size_t *len, size_t cap)
{
    size_t n = 0, start = 0, sl = strlen(SEP);
    for (size_t i = 0; i + sl <= size;) {
        if (memcmp(buf + i, SEP, sl) == 0) {
            ck_assert(n < cap);
            str[n] = buf + start;
            len[n] = i - start;
            n++;
            i += sl;
            start = i;
        } else {
            i++;
        }
    }
    return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Reference suites                                                                               */

/* Encodes every string of a suite; returns how many match the reference ids. */
static size_t run_suite(const llm_tokenizer *t, const char *inp_rel, const char *out_rel,
                        const char *name, size_t *total)
{
    size_t isz = 0, osz = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s", llm_test_path(inp_rel));
    char *inp = llm_test_read_file(path, &isz);
    snprintf(path, sizeof path, "%s", llm_test_path(out_rel));
    char *out = llm_test_read_file(path, &osz);
    ck_assert_ptr_nonnull(inp);
    ck_assert_ptr_nonnull(out);
    char *str[128];
    size_t len[128];
    size_t n = split_inp(inp, isz, str, len, 128);
    ck_assert_uint_eq(n, 46);
    char *line = out;
    size_t matched = 0;
    for (size_t k = 0; k < n; k++) {
        char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        int32_t expect[512];
        size_t ne = 0;
        for (char *p = line; *p;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            ck_assert(ne < 512);
            expect[ne++] = (int32_t)v;
            p = end;
        }
        size_t got_n = 0;
        int32_t *got = encode(t, str[k], len[k], 0, &got_n);
        bool same = got_n == ne && (ne == 0 || memcmp(got, expect, ne * sizeof *got) == 0);
        if (same)
            matched++;
        else
            fprintf(stderr, "%s: string %zu differs (%zu ids, expected %zu)\n", name, k, got_n,
                    ne);
        free(got);
        line = nl + 1;
    }
    free(inp);
    free(out);
    *total = n;
    return matched;
}

START_TEST(test_suite)
{
    const suite_case *c = &suites[_i];
    llm_tokenizer *t = open_tok(c->tokenizer);
    size_t n = 0, matched = run_suite(t, c->inp, c->out, c->tokenizer, &n);
    ck_assert_msg(matched == n, "%s: %zu/%zu strings match", c->tokenizer, matched, n);
    llm_tokenizer_close(t);
}
END_TEST

/* `llm convert`'s tokenizer export: a Hugging Face directory written as GGUF metadata, then read
 * back (also through a serialized file in memory), tokenizes the suite exactly. */
START_TEST(test_export_gguf)
{
    static const suite_case dirs[] = {
        {"tokenizers/gpt2", "vocab/ggml-vocab-gpt-2.gguf.inp", "vocab/ggml-vocab-gpt-2.gguf.out"},
        {"tokenizers/bert-base-uncased", "vocab/ggml-vocab-bert-bge.gguf.inp",
         "vocab/ggml-vocab-bert-bge.gguf.out"},
        {"tokenizers/t5-small", "tokenizers/t5-small/t5-small.inp",
         "tokenizers/t5-small/t5-small.spm.out"},
    };
    const suite_case *c = &dirs[_i];
    llm_gguf *g = NULL;
    llm_error err;
    llm_error_clear(&err);
    ck_assert_int_eq(llm_gguf_create(&g, &err), LLM_OK);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", llm_test_path(c->tokenizer));
    llm_status st = llm_tokenizer_export_gguf(dir, g, &err);
    ck_assert_msg(st == LLM_OK, "export %s: %s", c->tokenizer, err.msg);
    void *mem = NULL;
    size_t size = 0;
    ck_assert_int_eq(llm_gguf_write_memory(g, &mem, &size, &err), LLM_OK);
    llm_gguf *g2 = NULL;
    ck_assert_int_eq(llm_gguf_open_memory(mem, size, NULL, &g2, &err), LLM_OK);
    const llm_gguf *srcs[2] = {g, g2};
    for (int k = 0; k < 2; k++) {
        struct llm_tokenizer *t = NULL;
        st = llm_tokenizer_from_gguf(srcs[k], &t, &err);
        ck_assert_msg(st == LLM_OK, "reload %s: %s", c->tokenizer, err.msg);
        size_t n = 0, matched = run_suite(t, c->inp, c->out, c->tokenizer, &n);
        ck_assert_msg(matched == n, "%s exported: %zu/%zu strings match", c->tokenizer, matched,
                      n);
        llm_tokenizer_free(t);
    }
    llm_gguf_close(g2);
    llm_gguf_close(g);
    llm_mem_free(mem);
}
END_TEST

/* GPT-2 is an exact inverse: every suite string decodes back from the reference ids. */
START_TEST(test_suite_decode_gpt2)
{
    llm_tokenizer *t = open_tok("vocab/ggml-vocab-gpt-2.gguf");
    size_t isz = 0;
    char *inp = llm_test_read_file(llm_test_path("vocab/ggml-vocab-gpt-2.gguf.inp"), &isz);
    ck_assert_ptr_nonnull(inp);
    char *str[128];
    size_t len[128];
    size_t n = split_inp(inp, isz, str, len, 128);
    for (size_t k = 0; k < n; k++) {
        size_t ni = 0, dl = 0;
        int32_t *ids = encode(t, str[k], len[k], 0, &ni);
        char *d = decode(t, ids, ni, 0, &dl);
        ck_assert_uint_eq(dl, len[k]);
        ck_assert(memcmp(d, str[k], dl) == 0);
        free(ids);
        free(d);
    }
    free(inp);
    llm_tokenizer_close(t);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Golden models: text prompts as llama.cpp tokenized them with add_special=true                  */

START_TEST(test_golden_text)
{
    json_error_t je;
    json_t *m = json_load_file(llm_test_path("golden/manifest.json"), 0, &je);
    ck_assert_msg(m != NULL, "manifest: %s", je.text);
    const json_t *cases = json_object_get(m, "cases");
    const json_t *models = json_object_get(m, "models");
    size_t i, checked = 0;
    const json_t *c;
    json_array_foreach(cases, i, c)
    {
        const json_t *in = json_object_get(c, "input");
        const char *kind = json_string_value(json_object_get(in, "kind"));
        if (!kind || strcmp(kind, "text") != 0)
            continue;
        const char *model = json_string_value(json_object_get(c, "model"));
        const char *file =
            json_string_value(json_object_get(json_object_get(models, model), "file"));
        ck_assert_ptr_nonnull(file);
        char rel[1024];
        snprintf(rel, sizeof rel, "golden/%s", file);
        llm_tokenizer *t = open_tok(rel);
        const char *text = json_string_value(json_object_get(in, "text"));
        const json_t *ids = json_object_get(in, "ids");
        size_t n = 0;
        int32_t *got = encode(t, text, strlen(text), LLM_ENCODE_ADD_SPECIAL, &n);
        ck_assert_msg(n == json_array_size(ids), "%s: %zu ids, expected %zu", model, n,
                      json_array_size(ids));
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(got[k] == json_integer_value(json_array_get(ids, k)),
                          "%s: id %zu is %d, expected %lld", model, k, got[k],
                          (long long)json_integer_value(json_array_get(ids, k)));
        free(got);
        llm_tokenizer_close(t);
        checked++;
    }
    ck_assert_uint_ge(checked, 4);
    json_decref(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Round trip of byte-level BPE on random UTF-8                                                  */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static size_t put_utf8(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static size_t random_text(char *buf, size_t max_chars)
{
    size_t n = rnd() % (max_chars + 1), len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd() % 100, cp;
        if (r < 50)
            cp = 0x20 + rnd() % 95; /* printable ASCII */
        else if (r < 60)
            cp = " \t\n\r"[rnd() % 4];
        else if (r < 70)
            cp = rnd() % 0x80; /* any ASCII, controls included */
        else if (r < 80)
            cp = 0x80 + rnd() % 0x780; /* 2-byte */
        else if (r < 90)
            cp = 0x800 + rnd() % 0xF800; /* 3-byte */
        else
            cp = 0x10000 + rnd() % 0x100000; /* 4-byte */
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 'x';
        len += put_utf8(cp, buf + len);
    }
    return len;
}

START_TEST(test_roundtrip_bytelevel)
{
    static const char *const srcs[] = {"vocab/ggml-vocab-gpt-2.gguf",
                                       "tokenizers/gpt2/tokenizer.json"};
    llm_tokenizer *t = open_tok(srcs[_i]);
    rng_state = 0x9E3779B97F4A7C15ull + (uint64_t)_i;
    char buf[64 * 4 + 4];
    int n_iter = _i == 0 ? 10000 : 2000;
    for (int it = 0; it < n_iter; it++) {
        size_t len = random_text(buf, 64);
        size_t n = 0, dl = 0;
        int32_t *ids = encode(t, buf, len, 0, &n);
        char *d = decode(t, ids, n, 0, &dl);
        ck_assert_msg(dl == len && memcmp(d, buf, len) == 0, "round trip %d differs", it);
        free(ids);
        free(d);
    }
    llm_tokenizer_close(t);
}
END_TEST


/* Every tokenizer.ggml.pre value of llama.cpp's table compiles and splits text. */
START_TEST(test_gguf_pre_values)
{
    static const char *const pres[] = {
        "default", "llama-bpe", "llama3", "qwen2", "starcoder", "falcon", "mpt", "refact",
        "deepseek-llm", "deepseek-coder", "command-r", "roberta-bpe", "gpt-2", "olmo", "gpt-neox",
        "stablelm2", "poro-chat", "viking", "smollm", "jais", "dbrx", "smaug-bpe", "chatglm-bpe"};
    char *toks[256];
    for (int b = 0; b < 256; b++) {
        /* GPT-2's printable stand-in for byte b */
        int cp = b, n = 0;
        if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)) {
            for (int i = 0; i < b; i++)
                if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE))
                    n++;
            cp = 256 + n;
        }
        toks[b] = malloc(4);
        size_t l = put_utf8((uint32_t)cp, toks[b]);
        toks[b][l] = '\0';
    }
    for (size_t k = 0; k < sizeof pres / sizeof pres[0]; k++) {
        llm_gguf *g = NULL;
        llm_error err;
        llm_error_clear(&err);
        ck_assert_int_eq(llm_gguf_create(&g, &err), LLM_OK);
        ck_assert_int_eq(llm_gguf_set_str(g, "tokenizer.ggml.model", "gpt2", 4, &err), LLM_OK);
        ck_assert_int_eq(llm_gguf_set_str(g, "tokenizer.ggml.pre", pres[k], strlen(pres[k]), &err),
                         LLM_OK);
        ck_assert_int_eq(llm_gguf_set_arr_str(g, "tokenizer.ggml.tokens",
                                              (const char *const *)toks, NULL, 256, &err),
                         LLM_OK);
        struct llm_tokenizer *t = NULL;
        llm_status st = llm_tokenizer_from_gguf(g, &t, &err);
        ck_assert_msg(st == LLM_OK, "pre %s: %s", pres[k], err.msg);
        const char *text = "Hello World's 12345 caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87!\n  x";
        size_t n = 0, dl = 0;
        int32_t *ids = encode(t, text, strlen(text), 0, &n);
        ck_assert_uint_eq(n, strlen(text)); /* bytes only: one id per byte */
        char *d = decode(t, ids, n, 0, &dl);
        ck_assert_str_eq(d, text);
        free(d);
        free(ids);
        llm_tokenizer_free(t);
        llm_gguf_close(g);
    }
    /* An unknown value is refused with its name in the message. */
    llm_gguf *g = NULL;
    llm_error err;
    llm_error_clear(&err);
    ck_assert_int_eq(llm_gguf_create(&g, &err), LLM_OK);
    llm_gguf_set_str(g, "tokenizer.ggml.model", "gpt2", 4, &err);
    llm_gguf_set_str(g, "tokenizer.ggml.pre", "no-such-pre", 11, &err);
    llm_gguf_set_arr_str(g, "tokenizer.ggml.tokens", (const char *const *)toks, NULL, 256, &err);
    struct llm_tokenizer *t = NULL;
    ck_assert_int_eq(llm_tokenizer_from_gguf(g, &t, &err), LLM_ERR_UNSUPPORTED);
    ck_assert(strstr(err.msg, "no-such-pre") != NULL);
    llm_gguf_close(g);
    for (int b = 0; b < 256; b++)
        free(toks[b]);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Streaming detokenizer                                                                          */

static bool valid_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = (uint8_t)s[i];
        size_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                                          : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (l == 0 || i + l > n)
            return false;
        for (size_t k = 1; k < l; k++)
            if (((uint8_t)s[i + k] & 0xC0) != 0x80)
                return false;
        i += l;
    }
    return true;
}

static void stream_check(const char *rel, const char *text, uint32_t flags)
{
    llm_tokenizer *t = open_tok(rel);
    size_t n = 0, full_len = 0;
    int32_t *ids = encode(t, text, strlen(text), LLM_ENCODE_ADD_SPECIAL, &n);
    char *full = decode(t, ids, n, flags, &full_len);
    llm_detokenizer *d = NULL;
    ck_assert_int_eq(llm_detokenizer_create(t, flags, &d), LLM_OK);
    char acc[1024];
    size_t acc_len = 0;
    size_t held_back = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[64];
        size_t pl = 0;
        /* Too small a buffer consumes nothing and reports the size. */
        llm_status st = llm_detokenizer_push(d, ids[i], piece, 0, &pl);
        if (st == LLM_ERR_BUFFER_TOO_SMALL)
            ck_assert_uint_gt(pl, 0);
        else
            ck_assert_int_eq(st, LLM_OK);
        if (st == LLM_OK && pl == 0) {
            held_back++;
        } else {
            st = llm_detokenizer_push(d, ids[i], piece, sizeof piece, &pl);
            ck_assert_int_eq(st, LLM_OK);
            ck_assert_msg(valid_utf8(piece, pl), "%s: chunk %zu is not valid UTF-8", rel, i);
            memcpy(acc + acc_len, piece, pl);
            acc_len += pl;
        }
    }
    char tail[64];
    size_t tl = 0;
    ck_assert_int_eq(llm_detokenizer_flush(d, tail, sizeof tail, &tl), LLM_OK);
    memcpy(acc + acc_len, tail, tl);
    acc_len += tl;
    ck_assert_msg(acc_len == full_len && memcmp(acc, full, full_len) == 0,
                  "%s: streamed text '%.*s' differs from decode '%s'", rel, (int)acc_len, acc,
                  full);
    llm_detokenizer_destroy(d);
    free(full);
    free(ids);
    llm_tokenizer_close(t);
}

START_TEST(test_stream_bytelevel)
{
    /* GPT-2 splits these characters' bytes across tokens. */
    const char *text = "caf\xC3\xA9 \xF0\x9F\xA6\x99 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
                       "\xE1\x9E\x80\xE1\x9E\xB6 \xF0\x9F\x98\x80!";
    stream_check("vocab/ggml-vocab-gpt-2.gguf", text, 0);
    /* The split really happens: some id decodes alone to invalid UTF-8. */
    llm_tokenizer *t = open_tok("vocab/ggml-vocab-gpt-2.gguf");
    size_t n = 0;
    int32_t *ids = encode(t, text, strlen(text), 0, &n);
    bool split = false;
    for (size_t i = 0; i < n; i++) {
        size_t pl = 0;
        const char *p = llm_tokenizer_piece(t, ids[i], &pl);
        (void)p;
        char buf[64];
        size_t dl = 0;
        ck_assert_int_eq(llm_tokenizer_decode(t, &ids[i], 1, 0, buf, sizeof buf, &dl), LLM_OK);
        if (strstr(buf, "\xEF\xBF\xBD"))
            split = true;
    }
    ck_assert(split);
    free(ids);
    llm_tokenizer_close(t);
}
END_TEST

START_TEST(test_stream_byte_fallback)
{
    /* Llama 2 writes the llama emoji as four <0xNN> tokens. */
    stream_check("vocab/ggml-vocab-llama-spm.gguf",
                 "Hello \xF0\x9F\xA6\x99 world \xE1\x9E\x80\xE1\x9E\xB6!", LLM_DECODE_SKIP_SPECIAL);
    stream_check("vocab/ggml-vocab-llama-spm.gguf", "  two spaces", 0);
    stream_check("tokenizers/t5-small/spiece.model", "Hello world, how are you?",
                 LLM_DECODE_SKIP_SPECIAL);
    stream_check("vocab/ggml-vocab-bert-bge.gguf", "Hello, world! It isn't here.",
                 LLM_DECODE_SKIP_SPECIAL);
    stream_check("tokenizers/bert-base-uncased/tokenizer.json", "Hello, world! It isn't here.",
                 LLM_DECODE_SKIP_SPECIAL);
}
END_TEST

START_TEST(test_decode_rules)
{
    struct {
        const char *tok, *text, *expect;
    } cases[] = {
        {"vocab/ggml-vocab-llama-spm.gguf", "Hello world", "Hello world"},
        {"vocab/ggml-vocab-llama-spm.gguf", "Hello \xF0\x9F\xA6\x99!", "Hello \xF0\x9F\xA6\x99!"},
        {"tokenizers/t5-small/spiece.model", "Hello world!", "Hello world!"},
        {"tokenizers/bert-base-uncased/vocab.txt", "Hello, World! unaffable.",
         "hello, world! unaffable."},
        {"vocab/ggml-vocab-bert-bge.gguf", "Hello, World! unaffable.",
         "hello, world! unaffable."},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        llm_tokenizer *t = open_tok(cases[k].tok);
        size_t n = 0, dl = 0;
        int32_t *ids = encode(t, cases[k].text, strlen(cases[k].text), LLM_ENCODE_ADD_SPECIAL, &n);
        char *d = decode(t, ids, n, LLM_DECODE_SKIP_SPECIAL, &dl);
        ck_assert_msg(strcmp(d, cases[k].expect) == 0, "%s: decoded '%s', expected '%s'",
                      cases[k].tok, d, cases[k].expect);
        free(d);
        free(ids);
        llm_tokenizer_close(t);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Offsets                                                                                        */

START_TEST(test_offsets)
{
    llm_tokenizer *t = open_tok("vocab/ggml-vocab-gpt-2.gguf");
    const char *text = "The quick brown fox, jumps over 12345 lazy dogs!  And then...\n\tit slept.";
    size_t len = strlen(text), n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, text, len, 0, NULL, 0, &n), LLM_OK);
    int32_t ids[256];
    uint32_t offs[512];
    ck_assert_int_eq(llm_tokenizer_encode_offsets(t, text, len, 0, ids, offs, 256, &n), LLM_OK);
    uint32_t prev_end = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = offs[2 * i], b = offs[2 * i + 1];
        ck_assert_uint_eq(a, prev_end); /* contiguous cover of the input */
        ck_assert_uint_lt(a, b);
        ck_assert_uint_le(b, len);
        size_t m = 0;
        int32_t one[8];
        ck_assert_int_eq(llm_tokenizer_encode(t, text + a, b - a, 0, one, 8, &m), LLM_OK);
        ck_assert_msg(m == 1 && one[0] == ids[i], "token %zu [%u,%u) does not re-encode to %d", i,
                      a, b, ids[i]);
        prev_end = b;
    }
    ck_assert_uint_eq(prev_end, len);
    llm_tokenizer_close(t);

    /* With special tokens, normalization and removed spaces: ranges stay ordered and in bounds,
     * and added tokens have empty ranges at the ends. */
    static const char *const srcs[] = {"vocab/ggml-vocab-bert-bge.gguf",
                                       "tokenizers/t5-small/spiece.model",
                                       "vocab/ggml-vocab-llama-spm.gguf"};
    const char *t2 = "  Caf\xC3\xA9 \xF0\x9F\xA6\x99 na\xC3\xAFve,   r\xC3\xA9sum\xC3\xA9!  ";
    for (size_t k = 0; k < 3; k++) {
        t = open_tok(srcs[k]);
        len = strlen(t2);
        ck_assert_int_eq(llm_tokenizer_encode_offsets(t, t2, len, LLM_ENCODE_ADD_SPECIAL, ids,
                                                      offs, 256, &n),
                         LLM_OK);
        uint32_t last = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_le(offs[2 * i], offs[2 * i + 1]);
            ck_assert_uint_le(offs[2 * i + 1], len);
            ck_assert_uint_ge(offs[2 * i], last);
            last = offs[2 * i];
        }
        llm_tokenizer_close(t);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Edge cases                                                                                     */

START_TEST(test_empty_and_invalid)
{
    static const char *const srcs[] = {
        "vocab/ggml-vocab-gpt-2.gguf",           "vocab/ggml-vocab-bert-bge.gguf",
        "vocab/ggml-vocab-llama-spm.gguf",       "tokenizers/t5-small/spiece.model",
        "tokenizers/gpt2/tokenizer.json",        "tokenizers/bert-base-uncased/vocab.txt",
        "tokenizers/bert-base-uncased/tokenizer.json"};
    for (size_t k = 0; k < sizeof srcs / sizeof srcs[0]; k++) {
        llm_tokenizer *t = open_tok(srcs[k]);
        size_t n = 99;
        ck_assert_int_eq(llm_tokenizer_encode(t, "", 0, 0, NULL, 0, &n), LLM_OK);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(llm_tokenizer_encode(t, NULL, 0, 0, NULL, 0, &n), LLM_OK);
        ck_assert_uint_eq(n, 0);
        /* Invalid UTF-8 never fails: bytes act as U+FFFD. */
        const char bad[] = "ab\xFF\xFE c\xC3 \xE2\x82 \xF0\x9F\x98 d\xED\xA0\x80 \x80\xBF";
        int32_t ids[128];
        ck_assert_int_eq(llm_tokenizer_encode(t, bad, sizeof bad - 1, LLM_ENCODE_ADD_SPECIAL, ids,
                                              128, &n),
                         LLM_OK);
        /* ... and encodes like the same text with U+FFFD written out. */
        const char fixed[] = "ab\xEF\xBF\xBD\xEF\xBF\xBD c\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
                             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD d\xEF\xBF\xBD\xEF\xBF\xBD"
                             "\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD";
        int32_t ids2[128];
        size_t n2 = 0;
        ck_assert_int_eq(llm_tokenizer_encode(t, fixed, sizeof fixed - 1, LLM_ENCODE_ADD_SPECIAL,
                                              ids2, 128, &n2),
                         LLM_OK);
        ck_assert_uint_eq(n, n2);
        ck_assert(memcmp(ids, ids2, n * sizeof *ids) == 0);
        /* Decoding any ids gives valid UTF-8. */
        char out[1024];
        size_t dl = 0;
        ck_assert_int_eq(llm_tokenizer_decode(t, ids, n, 0, out, sizeof out, &dl), LLM_OK);
        ck_assert(valid_utf8(out, dl));
        llm_tokenizer_close(t);
    }
}
END_TEST

START_TEST(test_special_tokens)
{
    llm_tokenizer *t = open_tok("vocab/ggml-vocab-gpt-2.gguf");
    const char *s = "a<|endoftext|>b";
    int32_t ids[32];
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, s, strlen(s), LLM_ENCODE_PARSE_SPECIAL, ids, 32, &n),
                     LLM_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[1], 50256);
    ck_assert_int_eq(llm_tokenizer_encode(t, s, strlen(s), 0, ids, 32, &n), LLM_OK);
    ck_assert_uint_gt(n, 3);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_ne(ids[i], 50256);
    ck_assert_int_eq(llm_tokenizer_special(t, LLM_TOKEN_EOS), 50256);
    ck_assert_int_eq(llm_tokenizer_get_kind(t), LLM_TOKENIZER_BPE);
    ck_assert_uint_eq(llm_tokenizer_vocab_size(t), 50257);
    size_t pl = 0;
    const char *p = llm_tokenizer_piece(t, 262, &pl);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(llm_tokenizer_piece_to_id(t, p, pl), 262);
    ck_assert_ptr_null(llm_tokenizer_piece(t, 50257, &pl));
    ck_assert_int_eq(llm_tokenizer_piece_to_id(t, "no such piece", 13), -1);
    llm_tokenizer_close(t);

    /* Llama: BOS added, "</s>" text parsed only on request. */
    t = open_tok("vocab/ggml-vocab-llama-spm.gguf");
    s = "Hi</s>";
    ck_assert_int_eq(llm_tokenizer_encode(t, s, strlen(s),
                                          LLM_ENCODE_ADD_SPECIAL | LLM_ENCODE_PARSE_SPECIAL, ids,
                                          32, &n),
                     LLM_OK);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[n - 1], 2);
    ck_assert_int_eq(llm_tokenizer_get_kind(t), LLM_TOKENIZER_SPM);
    llm_tokenizer_close(t);

    /* BERT: [CLS] ... [SEP]; T5: ... </s>; decoder start = pad. */
    t = open_tok("tokenizers/bert-base-uncased/vocab.txt");
    ck_assert_int_eq(llm_tokenizer_encode(t, "hi", 2, LLM_ENCODE_ADD_SPECIAL, ids, 32, &n), LLM_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[0], 101);
    ck_assert_int_eq(ids[2], 102);
    ck_assert_int_eq(llm_tokenizer_special(t, LLM_TOKEN_MASK), 103);
    ck_assert_int_eq(llm_tokenizer_get_kind(t), LLM_TOKENIZER_WORDPIECE);
    llm_tokenizer_close(t);
    t = open_tok("tokenizers/t5-small/spiece.model");
    ck_assert_int_eq(llm_tokenizer_encode(t, "hi", 2, LLM_ENCODE_ADD_SPECIAL, ids, 32, &n), LLM_OK);
    ck_assert_int_eq(ids[n - 1], 1);
    ck_assert_int_eq(llm_tokenizer_special(t, LLM_TOKEN_DECODER_START), 0);
    ck_assert_int_eq(llm_tokenizer_special(t, LLM_TOKEN_UNK), 2);
    ck_assert_int_eq(llm_tokenizer_get_kind(t), LLM_TOKENIZER_UNIGRAM);
    llm_tokenizer_close(t);
}
END_TEST

START_TEST(test_buffers_and_args)
{
    llm_tokenizer *t = open_tok("vocab/ggml-vocab-gpt-2.gguf");
    const char *s = "Hello world, this is a test.";
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, s, strlen(s), 0, NULL, 0, &n), LLM_OK);
    ck_assert_uint_gt(n, 2);
    int32_t ids[64];
    size_t n2 = 0;
    ck_assert_int_eq(llm_tokenizer_encode(t, s, strlen(s), 0, ids, 2, &n2),
                     LLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n2, n);
    ck_assert_int_eq(llm_tokenizer_encode(NULL, s, 1, 0, ids, 64, &n2), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_tokenizer_encode(t, s, 1, 0, ids, 64, NULL), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_tokenizer_encode(t, NULL, 5, 0, ids, 64, &n2), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_tokenizer_encode(t, s, 1, 0x80, ids, 64, &n2), LLM_ERR_INVALID_ARG);
    ck_assert(strlen(llm_last_error()) > 0);
    ck_assert_int_eq(llm_tokenizer_encode(t, s, strlen(s), 0, ids, 64, &n2), LLM_OK);
    size_t dl = 0;
    ck_assert_int_eq(llm_tokenizer_decode(t, ids, n2, 0, NULL, 0, &dl), LLM_OK);
    ck_assert_uint_eq(dl, strlen(s));
    char buf[64];
    ck_assert_int_eq(llm_tokenizer_decode(t, ids, n2, 0, buf, 5, &dl), LLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(dl, strlen(s));
    ck_assert_int_eq(llm_tokenizer_decode(t, ids, n2, 0, buf, dl, &dl), LLM_OK); /* no NUL */
    ck_assert(memcmp(buf, s, dl) == 0);
    int32_t bad = 50257;
    ck_assert_int_eq(llm_tokenizer_decode(t, &bad, 1, 0, buf, 64, &dl), LLM_ERR_INVALID_ARG);
    bad = -1;
    ck_assert_int_eq(llm_tokenizer_decode(t, &bad, 1, 0, buf, 64, &dl), LLM_ERR_INVALID_ARG);
    llm_detokenizer *d = NULL;
    ck_assert_int_eq(llm_detokenizer_create(NULL, 0, &d), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(llm_detokenizer_create(t, 0, &d), LLM_OK);
    ck_assert_int_eq(llm_detokenizer_push(d, 99999999, buf, 64, &dl), LLM_ERR_INVALID_ARG);
    llm_detokenizer_destroy(d);
    llm_detokenizer_destroy(NULL);
    ck_assert_uint_eq(llm_tokenizer_vocab_size(NULL), 0);
    ck_assert_int_eq(llm_tokenizer_special(NULL, LLM_TOKEN_BOS), -1);
    ck_assert_int_eq(llm_tokenizer_special(t, (llm_special_token)99), -1);
    llm_tokenizer_close(t);
    llm_tokenizer_close(NULL);

    /* Opening failures carry a message. */
    llm_tokenizer *x = (llm_tokenizer *)1;
    ck_assert_int_eq(llm_tokenizer_open("/nonexistent/tokenizer.json", &x), LLM_ERR_IO);
    ck_assert_ptr_null(x);
    ck_assert(strstr(llm_last_error(), "nonexistent") != NULL);
    ck_assert_int_eq(llm_tokenizer_open(NULL, &x), LLM_ERR_INVALID_ARG);
    /* A data file that is not a tokenizer. */
    ck_assert_int_ne(llm_tokenizer_open(llm_test_path("golden/manifest.json"), &x), LLM_OK);
    ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_bad_inputs_to_loaders)
{
    struct llm_tokenizer *t = NULL;
    llm_error err;
    static const char *const jsons[] = {
        "", "{", "[]", "{}", "{\"model\": 5}", "{\"model\": {\"type\": \"BPE\"}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}",
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}, \"normalizer\": "
        "{\"type\": \"Mystery\"}}",
        "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"ab\"]}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
        "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}}}",
    };
    for (size_t k = 0; k < sizeof jsons / sizeof jsons[0]; k++) {
        llm_error_clear(&err);
        llm_status st = llm_tokenizer_from_hf_json(jsons[k], strlen(jsons[k]), NULL, &t, &err);
        ck_assert_msg(st != LLM_OK, "json %zu accepted", k);
        ck_assert_ptr_null(t);
        ck_assert(strlen(err.msg) > 0);
    }
    static const unsigned char pbs[][8] = {
        {0x0A, 0x05, 0x0A}, {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, {0x12, 0x02, 0x18}, {0x07}};
    for (size_t k = 0; k < sizeof pbs / sizeof pbs[0]; k++) {
        llm_error_clear(&err);
        ck_assert_int_ne(llm_tokenizer_from_spm_model(pbs[k], sizeof pbs[k], NULL, &t, &err),
                         LLM_OK);
        ck_assert_ptr_null(t);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Concurrent use                                                                                 */

typedef struct job {
    const llm_tokenizer *t;
    const char *text;
    size_t len;
    int32_t *ids;
    size_t n;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (int r = 0; r < 20; r++) {
        size_t n = 0;
        if (llm_tokenizer_encode(j->t, j->text, j->len, LLM_ENCODE_ADD_SPECIAL, j->ids, 4096, &n) !=
            LLM_OK)
            return (void *)1;
        if (r > 0 && n != j->n)
            return (void *)1;
        j->n = n;
    }
    return NULL;
}

START_TEST(test_threads)
{
    static const char *const srcs[] = {"vocab/ggml-vocab-gpt-2.gguf",
                                       "tokenizers/t5-small/spiece.model"};
    for (size_t k = 0; k < 2; k++) {
        llm_tokenizer *t = open_tok(srcs[k]);
        const char *texts[4] = {"The quick brown fox jumps over the lazy dog. ",
                                "Once upon a time, there was a little robot.",
                                "Hello \xF0\x9F\xA6\x99 world, caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9",
                                "1234567890 !!!!!! ??? ..."};
        pthread_t th[4];
        job jobs[4];
        int32_t ref[4][4096];
        size_t refn[4];
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(llm_tokenizer_encode(t, texts[i], strlen(texts[i]),
                                                  LLM_ENCODE_ADD_SPECIAL, ref[i], 4096, &refn[i]),
                             LLM_OK);
            jobs[i].t = t;
            jobs[i].text = texts[i];
            jobs[i].len = strlen(texts[i]);
            jobs[i].ids = malloc(4096 * sizeof(int32_t));
            jobs[i].n = 0;
            ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            void *r = NULL;
            pthread_join(th[i], &r);
            ck_assert_ptr_null(r);
            ck_assert_uint_eq(jobs[i].n, refn[i]);
            ck_assert(memcmp(jobs[i].ids, ref[i], refn[i] * sizeof(int32_t)) == 0);
            free(jobs[i].ids);
        }
        llm_tokenizer_close(t);
    }
}
END_TEST

static Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("suites");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_suite, 0, (int)N_SUITES);
    tcase_add_test(tc, test_suite_decode_gpt2);
    suite_add_tcase(s, tc);
    tc = tcase_create("export");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_export_gguf, 0, 3);
    tcase_add_test(tc, test_gguf_pre_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("golden");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_roundtrip_bytelevel, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("decode");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stream_bytelevel);
    tcase_add_test(tc, test_stream_byte_fallback);
    tcase_add_test(tc, test_decode_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("offsets");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_offsets);
    suite_add_tcase(s, tc);
    tc = tcase_create("edge");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_empty_and_invalid);
    tcase_add_test(tc, test_special_tokens);
    tcase_add_test(tc, test_buffers_and_args);
    tcase_add_test(tc, test_bad_inputs_to_loaders);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    llm_test_data_require();
    SRunner *sr = srunner_create(tokenizer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
