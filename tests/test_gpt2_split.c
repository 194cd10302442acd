/*
 * The hand-written GPT-2 pre-tokenizer split (lib/tokenizer/gpt2_split.c) against PCRE2 running
 * the same regex (llm_tok_regex_split), for both forms of the regex (llama.cpp's without the final
 * "|\s+", and Hugging Face's with it): every code point in every class context, the llama.cpp
 * GPT-2 test strings, a whole book, and 20 000 seeded random strings (with random sub-ranges)
 * drawn from every kind of character the regex tells apart, and runs of a million characters.
 * Also checks that the tokenizers loaded from each GPT-2 file format take the hand-written path.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "testdata.h"
#include "common/alloc.h"
#include "tokenizer/gpt2_split.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

static const char RE_SHORT[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

typedef struct checker {
    pcre2_code *re[3]; /* by LLM_GPT2_SPLIT_* */
    pcre2_match_data *md[3];
    llm_tok_ranges want, got;
    size_t n_checked;
} checker;

static void checker_init(checker *c)
{
    memset(c, 0, sizeof *c);
    ck_assert(llm_tok_gpt2_split_ready());
    llm_error err = {0};
    ck_assert_int_eq(llm_tok_gpt2_split_kind(RE_SHORT, strlen(RE_SHORT)), LLM_GPT2_SPLIT_SHORT);
    ck_assert_int_eq(llm_tok_gpt2_split_kind(llm_tok_gpt2_regex, strlen(llm_tok_gpt2_regex)),
                     LLM_GPT2_SPLIT_FULL);
    ck_assert_int_eq(llm_tok_compile_regex(RE_SHORT, strlen(RE_SHORT), &c->re[1], &err), LLM_OK);
    ck_assert_int_eq(
        llm_tok_compile_regex(llm_tok_gpt2_regex, strlen(llm_tok_gpt2_regex), &c->re[2], &err),
        LLM_OK);
    for (int k = 1; k <= 2; k++) {
        c->md[k] = pcre2_match_data_create_from_pattern(c->re[k], NULL);
        ck_assert_ptr_nonnull(c->md[k]);
    }
}

static void checker_free(checker *c)
{
    for (int k = 1; k <= 2; k++) {
        pcre2_match_data_free(c->md[k]);
        pcre2_code_free(c->re[k]);
    }
    llm_mem_free(c->want.v);
    llm_mem_free(c->got.v);
}

/* Escaped copy of s[a, b) for failure messages. */
static const char *show(const char *s, size_t a, size_t b)
{
    static char buf[512];
    size_t o = 0;
    for (size_t i = a; i < b && o + 8 < sizeof buf; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7F && ch != '\\')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02X", ch);
    }
    buf[o] = '\0';
    return buf;
}

/* Both splits of s[a, b) with both regexes must give the same pieces. */
static void check_range(checker *c, const char *s, size_t a, size_t b, const char *what)
{
    for (int k = 1; k <= 2; k++) {
        c->want.n = c->got.n = 0;
        /* Plain tests in this loop: every ck_assert writes a checkpoint to Check's log. */
        if (llm_tok_regex_split(c->re[k], s, a, b, c->md[k], &c->want) != LLM_OK ||
            llm_tok_gpt2_split(k, s, a, b, &c->got) != LLM_OK)
            ck_abort_msg("%s: a split failed", what);
        size_t n = c->want.n < c->got.n ? c->want.n : c->got.n;
        size_t i = 0;
        while (i < n && c->want.v[2 * i] == c->got.v[2 * i] &&
               c->want.v[2 * i + 1] == c->got.v[2 * i + 1])
            i++;
        if (i < n || c->want.n != c->got.n) {
            size_t at = i < c->want.n ? c->want.v[2 * i] : b;
            ck_abort_msg("%s (regex form %d): piece %zu differs: PCRE2 %zu pieces, hand-written "
                         "%zu; PCRE2 [%zu, %zu) vs [%zu, %zu) near '%s'",
                         what, k, i, c->want.n, c->got.n, i < c->want.n ? c->want.v[2 * i] : 0,
                         i < c->want.n ? c->want.v[2 * i + 1] : 0,
                         i < c->got.n ? c->got.v[2 * i] : 0, i < c->got.n ? c->got.v[2 * i + 1] : 0,
                         show(s, at > a + 8 ? at - 8 : a, at + 16 < b ? at + 16 : b));
        }
    }
    c->n_checked++;
}

static size_t put(char *p, int32_t cp)
{
    return llm_tok_utf8_encode(cp, p);
}

/* ---------------------------------------------------------------------------------------------- */

/* Every code point next to each class and to itself, so that any class PCRE2 and the matcher
 * disagree on (letter, number, space or other) changes the pieces. */
START_TEST(every_code_point)
{
    checker c;
    checker_init(&c);
    static const char *ctx[] = {"a", "1", " ", "!", "'", "\n", "  "};
    char buf[64];
    for (int32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++) {
            size_t n = 0;
            n += put(buf + n, cp);
            memcpy(buf + n, ctx[k], strlen(ctx[k]));
            n += strlen(ctx[k]);
            n += put(buf + n, cp);
            n += put(buf + n, cp);
            memcpy(buf + n, ctx[k], strlen(ctx[k]));
            n += strlen(ctx[k]);
            buf[n] = '\0';
            check_range(&c, buf, 0, n, "code point");
        }
    }
    checker_free(&c);
}
END_TEST

START_TEST(llama_cpp_strings)
{
    size_t size = 0;
    char *data = llm_test_read_file(llm_test_path("vocab/ggml-vocab-gpt-2.gguf.inp"), &size);
    ck_assert_ptr_nonnull(data);
    checker c;
    checker_init(&c);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t i = 0, cases = 0;
    while (i < size) {
        char *e = strstr(data + i, sep);
        size_t end = e ? (size_t)(e - data) : size;
        check_range(&c, data, i, end, "ggml-vocab-gpt-2.gguf.inp");
        cases++;
        i = e ? end + strlen(sep) : size;
    }
    ck_assert_uint_ge(cases, 40);
    checker_free(&c);
    free(data);
}
END_TEST

START_TEST(book)
{
    size_t size = 0;
    char *data = llm_test_read_file(llm_test_path("text/botchan.txt"), &size);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_gt(size, 100000);
    checker c;
    checker_init(&c);
    check_range(&c, data, 0, size, "botchan.txt");
    /* and each line alone */
    size_t a = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            check_range(&c, data, a, i, "botchan.txt line");
            a = i;
        }
    }
    checker_free(&c);
    free(data);
}
END_TEST

/* Characters the regex distinguishes, in groups drawn with equal chance. */
static const int32_t ascii_letters[] = {'a', 'b', 'e', 'x', 'A', 'Z', 's', 't', 'r',
                                        'v', 'm', 'l', 'd', 'S', 'T', 'R', 'E', 'L'};
static const int32_t digits[] = {'0', '1', '5', '9'};
static const int32_t punct[] = {'.', ',', '!', '?', '-', '_',  '(',  ')', '"',
                                '#', '@', '~', '`', '$', '\\', 0x7F, 0x01};
static const int32_t spaces[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x20,
                                 0x20,   0x85,   0xA0,   0x1680, 0x180E, 0x2000, 0x2005,
                                 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x200B};
static const int32_t accented[] = {0xE9,   0xC0,   0xF1,   0xDF,   0x0101, 0x0142, 0x03B1,
                                   0x0416, 0x05D0, 0x0627, 0x00AA, 0x02B0, 0x01C5};
static const int32_t cjk[] = {0x4E00, 0x65E5, 0x672C, 0x8A9E,  0x3042,  0x30AB,
                              0xAC00, 0x3002, 0xFF01, 0x20000, 0x31350, 0x11F04};
static const int32_t emoji[] = {0x1F600, 0x1F44D, 0x2764, 0xFE0F, 0x200D, 0x1F3FD, 0x1F1EF};
static const int32_t marks[] = {0x0301, 0x0308, 0x0323, 0x093F, 0x0E31, 0x20DD};
static const int32_t numbers[] = {0x216B, 0x00B2, 0x00BD, 0x0663,  0x0966,
                                  0xFF11, 0x2460, 0x3007, 0x1D7D8, 0x11F50};
static const int32_t odd[] = {0xFFFD, 0xE000, 0x0378, 0x10FFFF, 0xFEFF, 0x00AD, 0x2019};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(random_strings)
{
    static const struct {
        const int32_t *v;
        size_t n;
    } groups[] = {
#define G(a) {a, sizeof a / sizeof a[0]}
        G(ascii_letters), G(digits), G(punct), G(spaces),  G(accented),
        G(cjk),           G(emoji),  G(marks), G(numbers), G(odd),
#undef G
    };
    static const char *contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
                                         "'",  "'S", "'RE", "'r",  "'l", "''",  " '"};
    checker c;
    checker_init(&c);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char buf[1024];
    size_t bounds[256];
    for (int n = 0; n < 20000; n++) {
        size_t len = 0, nb = 0;
        size_t count = 1 + rng_next(&seed) % 40;
        bounds[nb++] = 0;
        for (size_t k = 0; k < count; k++) {
            uint64_t r = rng_next(&seed);
            if (r % 8 == 0) {
                const char *w =
                    contractions[(r >> 8) % (sizeof contractions / sizeof *contractions)];
                memcpy(buf + len, w, strlen(w));
                len += strlen(w);
            } else {
                size_t g = (r >> 8) % (sizeof groups / sizeof groups[0]);
                len += put(buf + len, groups[g].v[(r >> 16) % groups[g].n]);
            }
            bounds[nb++] = len;
        }
        buf[len] = '\0';
        check_range(&c, buf, 0, len, "random string");
        /* a sub-range, as when an earlier pre-tokenizer or an added token cut the text */
        size_t x = bounds[rng_next(&seed) % nb], y = bounds[rng_next(&seed) % nb];
        if (x > y) {
            size_t t = x;
            x = y;
            y = t;
        }
        check_range(&c, buf, x, y, "random sub-range");
    }
    ck_assert_uint_eq(c.n_checked, 40000);
    checker_free(&c);
}
END_TEST

/* Runs of a million characters of one class, where PCRE2 backtracks the furthest. */
START_TEST(long_runs)
{
    static const int32_t fill[] = {' ', '\t', 0x3000, 'a', 0x4E00, '7', 0x216B, '!', 0x1F600};
    static const char *tail[] = {"", "a", " a", "  1", "!", "\n"};
    size_t count = 1u << 20;
    char *buf = malloc(count * 4 + 16);
    ck_assert_ptr_nonnull(buf);
    checker c;
    checker_init(&c);
    for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++) {
        for (size_t t = 0; t < sizeof tail / sizeof tail[0]; t++) {
            size_t n = 0;
            for (size_t k = 0; k < count; k++)
                n += put(buf + n, fill[f]);
            memcpy(buf + n, tail[t], strlen(tail[t]));
            n += strlen(tail[t]);
            buf[n] = '\0';
            check_range(&c, buf, 0, n, "long run");
        }
    }
    checker_free(&c);
    free(buf);
}
END_TEST

/* The GPT-2 tokenizers of every file format take the hand-written split. */
START_TEST(formats_use_it)
{
    static const struct {
        const char *rel;
        int kind;
    } files[] = {
        {"vocab/ggml-vocab-gpt-2.gguf", LLM_GPT2_SPLIT_SHORT},
        {"tokenizers/gpt2/tokenizer.json", LLM_GPT2_SPLIT_FULL},
        {"tokenizers/gpt2/vocab.json", LLM_GPT2_SPLIT_FULL},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct llm_tokenizer *t = NULL;
        llm_error err = {0};
        ck_assert_msg(llm_tokenizer_open_path(llm_test_path(files[i].rel), &t, &err) == LLM_OK,
                      "%s: %s", files[i].rel, err.msg);
        int found = 0;
        for (size_t k = 0; k < t->n_pres; k++)
            if (t->pres[k].gpt2_split)
                found = t->pres[k].gpt2_split;
        ck_assert_msg(found == files[i].kind, "%s: split form %d, expected %d", files[i].rel, found,
                      files[i].kind);
        llm_tokenizer_free(t);
    }
}
END_TEST

static Suite *gpt2_split_suite(void)
{
    Suite *s = suite_create("gpt2_split");
    TCase *tc = tcase_create("code_points");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_code_point);
    suite_add_tcase(s, tc);
    if (llm_test_data_present()) {
        tc = tcase_create("reference_text");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, llama_cpp_strings);
        tcase_add_test(tc, book);
        suite_add_tcase(s, tc);
    } else {
        llm_test_data_left_out("reference_text/llama_cpp_strings, reference_text/book");
    }
    tc = tcase_create("random");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, random_strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("long_runs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, long_runs);
    suite_add_tcase(s, tc);
    if (llm_test_data_present()) {
        tc = tcase_create("formats");
        tcase_add_test(tc, formats_use_it);
        suite_add_tcase(s, tc);
    } else {
        llm_test_data_left_out("formats/formats_use_it");
    }
    return s;
}

int main(void)
{
    return llm_test_run(gpt2_split_suite());
}
