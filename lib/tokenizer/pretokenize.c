/*
 * Pre-tokenizers: cut normalized text into words before the model sees it. Regex splits use
 * PCRE2 (UTF + UCP, JIT); GPT-2's regex has a hand-written matcher instead, measured exact and
 * faster (gpt2_split.c). llama.cpp's lists of expressions are applied one after the other, each
 * splitting the pieces of the previous one and keeping the gaps between matches as pieces;
 * Hugging Face's Split applies its delimiter behavior. The BERT, whitespace, digit and
 * punctuation splitters classify characters with utf8proc. Pieces are byte ranges of the text;
 * nothing is copied.
 */
#include <string.h>
#include <utf8proc.h>

#include "common/alloc.h"
#include "tokenizer/gpt2_split.h"
#include "tokenizer/tok_internal.h"

/* One regex over s[a, b): appends (start, end, is_match) triples through two range lists. */
static bool is_limit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT;
}

static llm_status find_matches(const pcre2_code *re, const pcre2_match_context *mctx,
                               const char *s, size_t a, size_t b, pcre2_match_data *md,
                               llm_tok_ranges *m)
{
    size_t pos = a;
    /* The JIT entry skips pcre2_match()'s per-call checks, which cost as much as the match
     * itself on short words. */
    size_t jit_size = 0;
    bool jit = pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0;
    while (pos < b) {
        pcre2_match_context *mc = (pcre2_match_context *)mctx; /* PCRE2 only reads it */
        int rc = jit ? pcre2_jit_match(re, (PCRE2_SPTR)s, b, pos, PCRE2_NO_UTF_CHECK, md, mc)
                     : pcre2_match(re, (PCRE2_SPTR)s, b, pos, PCRE2_NO_UTF_CHECK, md, mc);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && !is_limit(rc) && jit) {
            /* The JIT stack is small (e.g. a lookahead over a huge run of spaces): the
             * interpreter keeps its backtracking on the heap. */
            rc = pcre2_match(re, (PCRE2_SPTR)s, b, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                             mc);
        }
        /* the step limit (llm_tokenizer_options.max_regex_steps) bounds backtracking */
        if (is_limit(rc))
            return LLM_ERR_LIMIT;
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (ms < pos || me > b)
            break;
        if (me == ms) {
            /* Empty match: move on by one character. */
            pos = ms + llm_tok_utf8_len((uint8_t)s[ms]);
            continue;
        }
        LLM_TRY(llm_tok_ranges_push(m, ms, me));
        pos = me;
    }
    return LLM_OK;
}

static llm_status regex_split(const pcre2_code *re, const pcre2_match_context *mctx,
                              const char *s, size_t a, size_t b, pcre2_match_data *md,
                              llm_tok_ranges *out)
{
    llm_tok_ranges m = {0};
    llm_status st = find_matches(re, mctx, s, a, b, md, &m);
    size_t prev = a;
    for (size_t k = 0; k < m.n && st == LLM_OK; k++) {
        size_t ms = m.v[2 * k], me = m.v[2 * k + 1];
        if (ms > prev)
            st = llm_tok_ranges_push(out, prev, ms);
        if (st == LLM_OK)
            st = llm_tok_ranges_push(out, ms, me);
        prev = me;
    }
    if (st == LLM_OK && prev < b)
        st = llm_tok_ranges_push(out, prev, b);
    llm_mem_free(m.v);
    return st;
}

llm_status llm_tok_regex_split(const pcre2_code *re, const char *s, size_t a, size_t b,
                               pcre2_match_data *md, llm_tok_ranges *out)
{
    return regex_split(re, NULL, s, a, b, md, out);
}

/* HF Split with behavior and invert. */
static llm_status split_hf(const llm_tok_pre *p, const char *s, size_t a, size_t b,
                           pcre2_match_data *md, llm_tok_ranges *out)
{
    llm_tok_ranges m = {0};
    llm_status st = find_matches(p->re, p->mctx, s, a, b, md, &m);
    /* Build (start, end, is_delim) pieces. */
    size_t n = 0, cap = m.n * 2 + 2;
    size_t *pc = llm_malloc(cap * 3 * sizeof *pc);
    if (!pc) {
        llm_mem_free(m.v);
        return LLM_ERR_NOMEM;
    }
    size_t prev = a;
    for (size_t k = 0; k < m.n; k++) {
        size_t ms = m.v[2 * k], me = m.v[2 * k + 1];
        if (ms > prev) {
            pc[3 * n] = prev, pc[3 * n + 1] = ms, pc[3 * n + 2] = p->invert ? 1 : 0;
            n++;
        }
        pc[3 * n] = ms, pc[3 * n + 1] = me, pc[3 * n + 2] = p->invert ? 0 : 1;
        n++;
        prev = me;
    }
    if (prev < b) {
        pc[3 * n] = prev, pc[3 * n + 1] = b, pc[3 * n + 2] = p->invert ? 1 : 0;
        n++;
    }
    size_t pend_a = 0, pend_b = 0;
    bool pend = false;
    for (size_t k = 0; k < n && st == LLM_OK; k++) {
        size_t x = pc[3 * k], y = pc[3 * k + 1];
        bool delim = pc[3 * k + 2] != 0;
        switch (p->behavior) {
        case LLM_SPLIT_REMOVED:
            if (!delim)
                st = llm_tok_ranges_push(out, x, y);
            break;
        case LLM_SPLIT_ISOLATED:
            st = llm_tok_ranges_push(out, x, y);
            break;
        case LLM_SPLIT_MERGED_PREV:
            if (delim && out->n > 0 && k > 0)
                out->v[2 * out->n - 1] = y;
            else
                st = llm_tok_ranges_push(out, x, y);
            break;
        case LLM_SPLIT_MERGED_NEXT:
            if (delim) {
                if (!pend)
                    pend_a = x;
                pend = true;
                pend_b = y;
            } else {
                st = llm_tok_ranges_push(out, pend ? pend_a : x, y);
                pend = false;
            }
            break;
        default: /* CONTIGUOUS */
            if (delim && k > 0 && pc[3 * (k - 1) + 2] && out->n > 0)
                out->v[2 * out->n - 1] = y;
            else
                st = llm_tok_ranges_push(out, x, y);
            break;
        }
        (void)pend_b;
    }
    if (st == LLM_OK && pend)
        st = llm_tok_ranges_push(out, pend_a, pend_b);
    llm_mem_free(pc);
    llm_mem_free(m.v);
    return st;
}

enum { CLS_KEEP = 0, CLS_REMOVE = 1, CLS_ISOLATE = 2, CLS_CONTIG = 3 };

static int classify(llm_tok_pre_kind kind, bool individual, int32_t cp)
{
    switch (kind) {
    case LLM_PRE_BERT:
        if (llm_tok_is_whitespace(cp))
            return CLS_REMOVE;
        return llm_tok_is_punct(cp) ? CLS_ISOLATE : CLS_KEEP;
    case LLM_PRE_WHITESPACE_SPLIT:
        return llm_tok_is_whitespace(cp) ? CLS_REMOVE : CLS_KEEP;
    case LLM_PRE_DIGITS:
        if (cp >= '0' && cp <= '9')
            return individual ? CLS_ISOLATE : CLS_CONTIG;
        return CLS_KEEP;
    case LLM_PRE_PUNCTUATION:
        return llm_tok_is_punct(cp) ? CLS_ISOLATE : CLS_KEEP;
    default:
        return CLS_KEEP;
    }
}

static llm_status split_chars(const llm_tok_pre *p, const char *s, size_t a, size_t b,
                              llm_tok_ranges *out)
{
    size_t word = a;
    int prev_cls = -1;
    size_t i = a;
    while (i < b) {
        int32_t cp;
        size_t l = llm_tok_utf8_decode(s + i, b - i, &cp);
        int c = classify(p->kind, p->individual_digits, cp);
        if (c == CLS_KEEP) {
            if (prev_cls == CLS_CONTIG && i > word) {
                LLM_TRY(llm_tok_ranges_push(out, word, i));
                word = i;
            }
        } else if (c == CLS_CONTIG) {
            if (prev_cls != CLS_CONTIG && i > word) {
                LLM_TRY(llm_tok_ranges_push(out, word, i));
                word = i;
            }
        } else {
            if (i > word)
                LLM_TRY(llm_tok_ranges_push(out, word, i));
            if (c == CLS_ISOLATE)
                LLM_TRY(llm_tok_ranges_push(out, i, i + l));
            word = i + l;
        }
        prev_cls = c;
        i += l;
    }
    if (b > word)
        LLM_TRY(llm_tok_ranges_push(out, word, b));
    return LLM_OK;
}

/* \w+|[^\w\s]+ */
static bool is_word_char(int32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
           (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO) || c == UTF8PROC_CATEGORY_PC;
}

static llm_status split_whitespace(const char *s, size_t a, size_t b, llm_tok_ranges *out)
{
    size_t i = a, start = a;
    int cur = 0; /* 0 none, 1 word, 2 other */
    while (i < b) {
        int32_t cp;
        size_t l = llm_tok_utf8_decode(s + i, b - i, &cp);
        int c = llm_tok_is_whitespace(cp) ? 0 : is_word_char(cp) ? 1 : 2;
        if (c != cur) {
            if (cur != 0 && i > start)
                LLM_TRY(llm_tok_ranges_push(out, start, i));
            start = i;
            cur = c;
        }
        i += l;
    }
    if (cur != 0 && b > start)
        LLM_TRY(llm_tok_ranges_push(out, start, b));
    return LLM_OK;
}

llm_status llm_tok_pretokenize(const llm_tok_pre *p, const char *s, size_t len, bool first,
                               llm_tok_ranges *in, llm_tok_ranges *out, llm_tok_str *rewrite)
{
    (void)len;
    (void)first;
    (void)rewrite;
    /* GPT-2's regex has a hand-written matcher (gpt2_split.c), exact and faster. */
    bool gpt2 = p->gpt2_split != LLM_GPT2_SPLIT_NONE && llm_tok_gpt2_split_ready() &&
                (p->kind == LLM_PRE_REGEX_SPLIT || (p->kind == LLM_PRE_BYTELEVEL && p->use_regex));
    pcre2_match_data *md = NULL;
    if (p->re && !gpt2) {
        md = pcre2_match_data_create_from_pattern(p->re, NULL);
        if (!md)
            return LLM_ERR_NOMEM;
    }
    llm_status st = LLM_OK;
    for (size_t k = 0; k < in->n && st == LLM_OK; k++) {
        size_t a = in->v[2 * k], b = in->v[2 * k + 1];
        if (b <= a)
            continue;
        switch (p->kind) {
        case LLM_PRE_REGEX_SPLIT:
            st = gpt2 ? llm_tok_gpt2_split(p->gpt2_split, s, a, b, out)
                      : regex_split(p->re, p->mctx, s, a, b, md, out);
            break;
        case LLM_PRE_BYTELEVEL:
            if (gpt2)
                st = llm_tok_gpt2_split(p->gpt2_split, s, a, b, out);
            else if (p->use_regex && p->re)
                st = regex_split(p->re, p->mctx, s, a, b, md, out);
            else
                st = llm_tok_ranges_push(out, a, b);
            break;
        case LLM_PRE_SPLIT:
            st = split_hf(p, s, a, b, md, out);
            break;
        case LLM_PRE_WHITESPACE:
            st = split_whitespace(s, a, b, out);
            break;
        case LLM_PRE_BERT:
        case LLM_PRE_WHITESPACE_SPLIT:
        case LLM_PRE_DIGITS:
        case LLM_PRE_PUNCTUATION:
            st = split_chars(p, s, a, b, out);
            break;
        default:
            st = llm_tok_ranges_push(out, a, b);
            break;
        }
    }
    pcre2_match_data_free(md);
    return st;
}
