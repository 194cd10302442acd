/*
 * GPT-2's pre-tokenizer regex without a regex engine:
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * (llama.cpp drops the final "|\s+"; both forms are handled). Why: with PCRE2 (JIT) the split
 * took about a fifth of byte-level BPE encoding, this matcher a third of that; `llm bench tokenize`
 * with the GPT-2 vocabulary on botchan.txt went from about 17.5 to 21.5 MB/s (x86-64, one thread).
 * The project rule is to use PCRE2 for pre-tokenizer regexes unless a hand-written matcher is
 * measured both exact and faster: tests/test_gpt2_split.c compares its pieces with PCRE2's for
 * every code point in every class context, on the llama.cpp test strings, a book, 20 000 random
 * strings of every kind of character the regex tells apart, and million-character runs.
 *
 * Character classes come from PCRE2 itself, not from utf8proc: Debian's PCRE2 10.42 knows Unicode
 * 14 and utf8proc 2.8 Unicode 15, which disagree on some 4 400 code points (e.g. the Kawi letters
 * U+11F04..), and PCRE2's \s includes U+180E, which is no longer White_Space. Each non-ASCII code
 * point is asked once per process, with (\p{L})|(\p{N})|(\s) compiled like the split regexes
 * (UTF + UCP), and remembered in a 4-bit table; ASCII has a fixed table, checked against PCRE2 by
 * the test.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "tokenizer/gpt2_split.h"

enum { C_OTHER = 0, C_LETTER = 1, C_NUMBER = 2, C_SPACE = 3, C_KNOWN = 8 };

static const char re_short[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

int llm_tok_gpt2_split_kind(const char *pattern, size_t len)
{
    size_t n = sizeof re_short - 1;
    if (!pattern || len < n || memcmp(pattern, re_short, n) != 0)
        return LLM_GPT2_SPLIT_NONE;
    if (len == n)
        return LLM_GPT2_SPLIT_SHORT;
    if (len == n + 4 && memcmp(pattern + n, "|\\s+", 4) == 0)
        return LLM_GPT2_SPLIT_FULL;
    return LLM_GPT2_SPLIT_NONE;
}

/* ASCII: letters, digits, and \s = TAB LF VT FF CR SPACE. */
#define L_ C_LETTER
#define N_ C_NUMBER
#define S_ C_SPACE
#define O_ C_OTHER
static const uint8_t ascii_class[128] = {
    O_, O_, O_, O_, O_, O_, O_, O_, O_, S_, S_, S_, S_, S_, O_, O_, /* 0x00 */
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, /* 0x10 */
    S_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, /* 0x20 */
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, O_, O_, O_, O_, O_, O_, /* 0x30 */
    O_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, /* 0x40 */
    L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, O_, O_, O_, O_, O_, /* 0x50 */
    O_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, /* 0x60 */
    L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, O_, O_, O_, O_, O_, /* 0x70 */
};
#undef L_
#undef N_
#undef S_
#undef O_

/* 4 bits per code point (C_KNOWN | class), 8 per word; filled on first sight, never cleared.
 * Every thread would store the same value, so relaxed atomics suffice. */
static atomic_uint class_cache[0x110000 / 8];
static pcre2_code *class_re;
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static void class_init(void)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    static const char pat[] = "(\\p{L})|(\\p{N})|(\\s)";
    class_re = pcre2_compile((PCRE2_SPTR)pat, sizeof pat - 1, PCRE2_UTF | PCRE2_UCP, &errcode,
                             &erroff, NULL);
}

bool llm_tok_gpt2_split_ready(void)
{
    pthread_once(&class_once, class_init);
    return class_re != NULL;
}

/* Class of code point cp (>= 0x80) as PCRE2 sees it; -1 when PCRE2 fails (out of memory). */
static int class_of(int32_t cp)
{
    atomic_uint *w = &class_cache[(uint32_t)cp >> 3];
    unsigned shift = ((uint32_t)cp & 7) * 4;
    unsigned v = (atomic_load_explicit(w, memory_order_relaxed) >> shift) & 15;
    if (v & C_KNOWN)
        return (int)(v & 3);
    char buf[4];
    size_t n = llm_tok_utf8_encode(cp, buf);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    if (!md)
        return -1;
    int rc =
        pcre2_match(class_re, (PCRE2_SPTR)buf, n, 0, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, NULL);
    int c = C_OTHER;
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        pcre2_match_data_free(md);
        return -1;
    }
    if (rc > 0)
        c = rc == 2 ? C_LETTER : rc == 3 ? C_NUMBER : C_SPACE; /* rc = highest group + 1 */
    pcre2_match_data_free(md);
    atomic_fetch_or_explicit(w, (unsigned)(C_KNOWN | c) << shift, memory_order_relaxed);
    return c;
}

/* Class and byte length of the character at s[i] (i < b); -1 when out of memory. */
static inline int char_at(const char *s, size_t i, size_t b, size_t *len)
{
    uint8_t c = (uint8_t)s[i];
    if (c < 0x80) {
        *len = 1;
        return ascii_class[c];
    }
    int32_t cp;
    *len = llm_tok_utf8_decode(s + i, b - i, &cp);
    return class_of(cp);
}

/* End of the run of class c that starts at j. */
static inline size_t run_end(const char *s, size_t j, size_t b, int c, int *oom)
{
    while (j < b) {
        size_t l;
        int k = char_at(s, j, b, &l);
        if (k != c) {
            *oom |= k < 0;
            break;
        }
        j += l;
    }
    return j;
}

/* End of the match that starts at i, or i when none does (every alternative consumes). */
static size_t match_at(int kind, const char *s, size_t i, size_t b, size_t *first_len, int *oom)
{
    size_t l0;
    int c0 = char_at(s, i, b, &l0);
    *first_len = l0;
    if (c0 < 0) {
        *oom = 1;
        return i;
    }
    if (s[i] == '\'' && i + 1 < b) {
        char x = s[i + 1];
        if (x == 's' || x == 't' || x == 'm' || x == 'd')
            return i + 2;
        if (i + 2 < b) {
            char y = s[i + 2];
            if ((x == 'r' && y == 'e') || (x == 'v' && y == 'e') || (x == 'l' && y == 'l'))
                return i + 3;
        }
    }
    if (c0 != C_SPACE)
        return run_end(s, i + l0, b, c0, oom); /* \p{L}+, \p{N}+ or [^\s\p{L}\p{N}]+ */
    if (s[i] == ' ' && i + 1 < b) {
        size_t l1;
        int c1 = char_at(s, i + 1, b, &l1);
        if (c1 < 0) {
            *oom = 1;
            return i;
        }
        if (c1 != C_SPACE)
            return run_end(s, i + 1 + l1, b, c1, oom); /* " ?" then one of the three runs */
    }
    /* \s+(?!\S): the whole run at the end of the text, else the run less its last character
     * when that leaves one; then \s+ (full form only) takes the single character. */
    size_t j = i + l0, last = i;
    while (j < b) {
        size_t l;
        int c = char_at(s, j, b, &l);
        if (c != C_SPACE) {
            if (c < 0) {
                *oom = 1;
                return i;
            }
            break;
        }
        last = j;
        j += l;
    }
    if (j == b)
        return b;
    if (last > i)
        return last;
    return kind == LLM_GPT2_SPLIT_FULL ? j : i;
}

llm_status llm_tok_gpt2_split(int kind, const char *s, size_t a, size_t b, llm_tok_ranges *out)
{
    size_t i = a, gap = a;
    int oom = 0;
    while (i < b) {
        size_t l0;
        size_t e = match_at(kind, s, i, b, &l0, &oom);
        if (oom)
            return LLM_ERR_NOMEM;
        if (e == i) {
            i += l0; /* no match here: the text joins the gap before the next match */
            continue;
        }
        if (i > gap)
            LLM_TRY(llm_tok_ranges_push(out, gap, i));
        LLM_TRY(llm_tok_ranges_push(out, i, e));
        i = gap = e;
    }
    if (gap < b)
        LLM_TRY(llm_tok_ranges_push(out, gap, b));
    return LLM_OK;
}
