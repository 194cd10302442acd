/*
 * Normalizers: sentencepiece's (precompiled charsmap + whitespace rules, normalizer.cc), the
 * Hugging Face ones tokenizer.json names (NFC/NFD/NFKC/NFKD, Lowercase, StripAccents,
 * BertNormalizer, Prepend, Replace, Strip, Precompiled), and the Unicode classes the BERT
 * pre-tokenizer needs. Unicode data comes from utf8proc only. Every step keeps, for each output
 * byte, the original byte range it came from, so token offsets survive normalization. Unicode
 * normalization forms are applied per run of a starter and its combining marks.
 */
#include <string.h>
#include <utf8proc.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"

static const char SPACE_SYMBOL[] = "\xE2\x96\x81"; /* ▁ U+2581 */

/* ---------------------------------------------------------------------------------------------- */
/* Unicode classes                                                                                */

bool llm_tok_is_whitespace(int32_t cp)
{
    if ((cp >= 9 && cp <= 13) || cp == 0x20 || cp == 0x85)
        return true;
    if (cp < 0x80)
        return false;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool llm_tok_is_punct(int32_t cp)
{
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return true;
    if (cp < 0x80)
        return false;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return true;
    default:
        return false;
    }
}

static bool is_other(int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
        return true;
    default:
        return false;
    }
}

static bool is_chinese(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static llm_status append_cp(llm_tok_str *out, int32_t cp, uint32_t a, uint32_t b)
{
    char u[4];
    size_t n = llm_tok_utf8_encode(cp, u);
    return llm_tok_str_append(out, u, n, a, b);
}

/* Lowercase as Rust's char::to_lowercase does for the common case (utf8proc simple mapping, with
 * the one multi-character mapping U+0130 handled). */
static llm_status append_lower(llm_tok_str *out, int32_t cp, uint32_t a, uint32_t b)
{
    if (cp == 0x130) {
        LLM_TRY(append_cp(out, 'i', a, b));
        return append_cp(out, 0x307, a, b);
    }
    return append_cp(out, utf8proc_tolower(cp), a, b);
}

/* Decomposes cp (NFD) into buf; returns the count. */
static size_t decompose(int32_t cp, utf8proc_int32_t *buf, size_t cap)
{
    int last = 0;
    utf8proc_ssize_t n =
        utf8proc_decompose_char(cp, buf, (utf8proc_ssize_t)cap, UTF8PROC_DECOMPOSE, &last);
    if (n < 0 || (size_t)n > cap) {
        buf[0] = cp;
        return 1;
    }
    return (size_t)n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Precompiled charsmap (sentencepiece's darts-clone double array)                                */

llm_status llm_tok_charsmap_load(llm_tok_charsmap *cm, const void *blob, size_t n, llm_error *err)
{
    memset(cm, 0, sizeof *cm);
    if (n == 0)
        return LLM_OK;
    LLM_CHECK(err, n >= 4, LLM_ERR_FORMAT, "precompiled_charsmap: %zu bytes, need at least 4", n);
    const uint8_t *p = blob;
    uint32_t trie_size = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                         ((uint32_t)p[3] << 24);
    LLM_CHECK(err, trie_size % 4 == 0 && trie_size <= n - 4, LLM_ERR_FORMAT,
              "precompiled_charsmap: trie size %u does not fit in %zu bytes", trie_size, n);
    size_t n_norm = n - 4 - trie_size;
    /* One block: the units decoded to host order (malloc alignment suits uint32_t), then the
     * normalized strings and a NUL guard. */
    char *both = llm_malloc(trie_size + n_norm + 1);
    if (!both)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    uint32_t *units = (uint32_t *)(void *)both;
    for (size_t i = 0; i < trie_size / 4; i++) {
        const uint8_t *u = p + 4 + 4 * i;
        units[i] = (uint32_t)u[0] | ((uint32_t)u[1] << 8) | ((uint32_t)u[2] << 16) |
                   ((uint32_t)u[3] << 24);
    }
    memcpy(both + trie_size, p + 4 + trie_size, n_norm);
    both[trie_size + n_norm] = '\0';
    cm->blob = both;
    cm->units = (const uint32_t *)(void *)both;
    cm->n_units = trie_size / 4;
    cm->normalized = both + trie_size;
    cm->n_normalized = n_norm;
    return LLM_OK;
}

/* Longest rule matching a prefix of s[0..n): returns the consumed length (0 = none) and sets the
 * replacement. */
static size_t charsmap_match(const llm_tok_charsmap *cm, const char *s, size_t n, const char **rep,
                             size_t *rep_len)
{
    if (!cm->units || cm->n_units == 0)
        return 0;
    const uint32_t *u = cm->units;
    size_t pos = 0;
    uint32_t unit = u[0];
    pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
    size_t best = 0;
    uint32_t best_val = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        pos ^= c;
        if (pos >= cm->n_units)
            break;
        unit = u[pos];
        if ((unit & ((1u << 31) | 0xFF)) != c)
            break;
        pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
        if (pos >= cm->n_units)
            break;
        if ((unit >> 8) & 1) {
            best = i + 1;
            best_val = u[pos] & ((1u << 31) - 1);
        }
    }
    if (best == 0 || best_val >= cm->n_normalized)
        return 0;
    const char *r = cm->normalized + best_val;
    size_t max = cm->n_normalized - best_val;
    const char *z = memchr(r, '\0', max);
    size_t rl = z ? (size_t)(z - r) : max;
    /* A replacement that is not valid UTF-8 (a damaged file) is ignored: the regex engine and
     * the models rely on valid text. */
    for (size_t i = 0; i < rl;) {
        size_t l = llm_tok_utf8_valid_len(r + i, rl - i);
        if (l == 0)
            return 0;
        i += l;
    }
    *rep = r;
    *rep_len = rl;
    return best;
}

/* sentencepiece NormalizePrefix(): the replacement of the longest rule or the next character. */
static size_t norm_prefix(const llm_tok_charsmap *cm, const char *s, size_t n, const char **rep,
                          size_t *rep_len)
{
    size_t k = charsmap_match(cm, s, n, rep, rep_len);
    if (k)
        return k;
    size_t l = llm_tok_utf8_valid_len(s, n);
    if (l == 0) {
        *rep = "\xEF\xBF\xBD";
        *rep_len = 3;
        return 1;
    }
    *rep = s;
    *rep_len = l;
    return l;
}

static llm_status norm_spm(const struct llm_tokenizer *t, const llm_tok_norm *nm, llm_tok_view in,
                           bool first, llm_tok_str *out)
{
    const llm_tok_charsmap *cm = &t->charsmap;
    size_t i = 0;
    const char *rep;
    size_t rl;
    if (nm->remove_extra_ws) {
        while (i < in.len) {
            size_t k = norm_prefix(cm, in.s + i, in.len - i, &rep, &rl);
            if (!(rl == 1 && rep[0] == ' '))
                break;
            i += k;
        }
    }
    if (i >= in.len)
        return LLM_OK;
    /* Room for every space becoming "▁" at once; rules that expand more grow it as needed. */
    LLM_TRY(llm_tok_str_reserve(out, in.len * 3 + 16));
    if (nm->add_dummy_prefix && first) {
        if (nm->escape_ws)
            LLM_TRY(llm_tok_str_append(out, SPACE_SYMBOL, 3, in.ostart[i], in.ostart[i]));
        else
            LLM_TRY(llm_tok_str_append(out, " ", 1, in.ostart[i], in.ostart[i]));
    }
    bool prev_space = nm->remove_extra_ws;
    while (i < in.len) {
        size_t k = norm_prefix(cm, in.s + i, in.len - i, &rep, &rl);
        uint32_t a = in.ostart[i], b = in.oend[i + k - 1];
        if (prev_space) {
            while (rl > 0 && rep[0] == ' ') {
                rep++;
                rl--;
            }
        }
        if (rl > 0) {
            for (size_t j = 0; j < rl; j++) {
                if (nm->escape_ws && rep[j] == ' ')
                    LLM_TRY(llm_tok_str_append(out, SPACE_SYMBOL, 3, a, b));
                else
                    LLM_TRY(llm_tok_str_append(out, rep + j, 1, a, b));
            }
            prev_space = rep[rl - 1] == ' ';
        }
        i += k;
        if (!nm->remove_extra_ws)
            prev_space = false;
    }
    if (nm->remove_extra_ws) {
        const char *sp = nm->escape_ws ? SPACE_SYMBOL : " ";
        size_t sl = nm->escape_ws ? 3 : 1;
        while (out->len >= sl && memcmp(out->s + out->len - sl, sp, sl) == 0)
            out->len -= sl;
        if (out->s)
            out->s[out->len] = '\0';
    }
    return LLM_OK;
}

static llm_status norm_precompiled(const struct llm_tokenizer *t, llm_tok_view in,
                                   llm_tok_str *out)
{
    size_t i = 0;
    while (i < in.len) {
        const char *rep;
        size_t rl;
        size_t k = norm_prefix(&t->charsmap, in.s + i, in.len - i, &rep, &rl);
        LLM_TRY(llm_tok_str_append(out, rep, rl, in.ostart[i], in.oend[i + k - 1]));
        i += k;
    }
    return LLM_OK;
}

/* Unicode normalization forms, applied per starter + combining marks. */
static llm_status norm_form(llm_tok_norm_kind kind, llm_tok_view in, llm_tok_str *out)
{
    utf8proc_option_t opt = UTF8PROC_STABLE;
    switch (kind) {
    case LLM_NORM_NFC:
        opt |= UTF8PROC_COMPOSE;
        break;
    case LLM_NORM_NFD:
        opt |= UTF8PROC_DECOMPOSE;
        break;
    case LLM_NORM_NFKC:
        opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
        break;
    default:
        opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
        break;
    }
    size_t i = 0;
    while (i < in.len) {
        if ((uint8_t)in.s[i] < 0x80 &&
            (i + 1 >= in.len || (uint8_t)in.s[i + 1] < 0x80)) {
            LLM_TRY(llm_tok_str_append(out, in.s + i, 1, in.ostart[i], in.oend[i]));
            i++;
            continue;
        }
        /* A chunk: one character and the combining marks after it. */
        size_t j = i;
        int32_t cp;
        j += llm_tok_utf8_decode(in.s + j, in.len - j, &cp);
        while (j < in.len) {
            int32_t c2;
            size_t l = llm_tok_utf8_decode(in.s + j, in.len - j, &c2);
            if (utf8proc_get_property(c2)->combining_class == 0)
                break;
            j += l;
        }
        utf8proc_uint8_t *res = NULL;
        utf8proc_ssize_t rn =
            utf8proc_map((const utf8proc_uint8_t *)in.s + i, (utf8proc_ssize_t)(j - i), &res, opt);
        if (rn < 0) {
            LLM_TRY(llm_tok_str_append(out, in.s + i, j - i, in.ostart[i], in.oend[j - 1]));
        } else {
            llm_status st =
                llm_tok_str_append(out, (const char *)res, (size_t)rn, in.ostart[i], in.oend[j - 1]);
            free(res); /* utf8proc allocates with malloc */
            LLM_TRY(st);
        }
        i = j;
    }
    return LLM_OK;
}

static llm_status norm_bert(const llm_tok_norm *nm, llm_tok_view in, llm_tok_str *out)
{
    size_t i = 0;
    LLM_TRY(llm_tok_str_reserve(out, in.len + 16));
    while (i < in.len) {
        int32_t cp;
        size_t l = llm_tok_utf8_decode(in.s + i, in.len - i, &cp);
        uint32_t a = in.ostart[i], b = in.oend[i + l - 1];
        i += l;
        if (cp < 0x80 && cp > 0x20 && cp != 0x7F) {
            /* Fast path: printable ASCII. */
            char c = (char)cp;
            if (nm->lowercase && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            LLM_TRY(llm_tok_str_append(out, &c, 1, a, b));
            continue;
        }
        if (nm->clean_text) {
            if (cp == 0 || cp == 0xFFFD ||
                (cp != '\t' && cp != '\n' && cp != '\r' && is_other(cp)))
                continue;
            if (cp == '\t' || cp == '\n' || cp == '\r' || llm_tok_is_whitespace(cp))
                cp = ' ';
        }
        if (nm->chinese_chars && is_chinese(cp)) {
            LLM_TRY(llm_tok_str_append(out, " ", 1, a, b));
            LLM_TRY(append_cp(out, cp, a, b));
            LLM_TRY(llm_tok_str_append(out, " ", 1, a, b));
            continue;
        }
        utf8proc_int32_t dec[32];
        size_t nd = 1;
        dec[0] = cp;
        if (nm->strip_accents)
            nd = decompose(cp, dec, 32);
        for (size_t k = 0; k < nd; k++) {
            if (nm->strip_accents && utf8proc_category(dec[k]) == UTF8PROC_CATEGORY_MN)
                continue;
            if (nm->lowercase)
                LLM_TRY(append_lower(out, dec[k], a, b));
            else
                LLM_TRY(append_cp(out, dec[k], a, b));
        }
    }
    return LLM_OK;
}

static llm_status norm_simple(const llm_tok_norm *nm, llm_tok_view in, llm_tok_str *out)
{
    size_t i = 0;
    while (i < in.len) {
        int32_t cp;
        size_t l = llm_tok_utf8_decode(in.s + i, in.len - i, &cp);
        uint32_t a = in.ostart[i], b = in.oend[i + l - 1];
        i += l;
        if (nm->kind == LLM_NORM_LOWERCASE) {
            LLM_TRY(append_lower(out, cp, a, b));
        } else { /* STRIP_ACCENTS: drop nonspacing marks */
            if (utf8proc_category(cp) == UTF8PROC_CATEGORY_MN)
                continue;
            LLM_TRY(append_cp(out, cp, a, b));
        }
    }
    return LLM_OK;
}

static llm_status norm_replace(const llm_tok_norm *nm, pcre2_match_context *mctx,
                               llm_tok_view in, llm_tok_str *out)
{
    const char *rep = nm->str ? nm->str : "";
    size_t rl = strlen(rep);
    if (nm->re) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(nm->re, NULL);
        if (!md)
            return LLM_ERR_NOMEM;
        size_t i = 0;
        llm_status st = LLM_OK;
        while (i <= in.len && st == LLM_OK) {
            int rc = pcre2_match(nm->re, (PCRE2_SPTR)in.s, in.len, i, PCRE2_NO_UTF_CHECK, md,
                                 mctx);
            if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                rc == PCRE2_ERROR_HEAPLIMIT) {
                st = LLM_ERR_LIMIT; /* llm_tokenizer_options.max_regex_steps */
                break;
            }
            if (rc < 0) {
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = ov[0], me = ov[1];
            for (size_t k = i; k < ms && st == LLM_OK; k++)
                st = llm_tok_str_append(out, in.s + k, 1, in.ostart[k], in.oend[k]);
            if (st != LLM_OK)
                break;
            if (me > ms)
                st = llm_tok_str_append(out, rep, rl, in.ostart[ms], in.oend[me - 1]);
            if (me == ms) {
                if (me >= in.len)
                    break;
                size_t l = llm_tok_utf8_len((uint8_t)in.s[me]);
                for (size_t k = me; k < me + l && k < in.len && st == LLM_OK; k++)
                    st = llm_tok_str_append(out, in.s + k, 1, in.ostart[k], in.oend[k]);
                i = me + l;
            } else {
                i = me;
            }
        }
        for (size_t k = i; k < in.len && st == LLM_OK; k++)
            st = llm_tok_str_append(out, in.s + k, 1, in.ostart[k], in.oend[k]);
        pcre2_match_data_free(md);
        return st;
    }
    const char *pat = nm->pattern ? nm->pattern : "";
    size_t pl = strlen(pat);
    size_t i = 0;
    while (i < in.len) {
        if (pl > 0 && in.len - i >= pl && memcmp(in.s + i, pat, pl) == 0) {
            LLM_TRY(llm_tok_str_append(out, rep, rl, in.ostart[i], in.oend[i + pl - 1]));
            i += pl;
            continue;
        }
        LLM_TRY(llm_tok_str_append(out, in.s + i, 1, in.ostart[i], in.oend[i]));
        i++;
    }
    return LLM_OK;
}

llm_status llm_tok_normalize(const struct llm_tokenizer *t, const llm_tok_norm *n,
                             llm_tok_view in, bool first, llm_tok_str *out)
{
    out->len = 0;
    LLM_TRY(llm_tok_str_reserve(out, in.len + 4));
    out->s[0] = '\0';
    switch (n->kind) {
    case LLM_NORM_SPM:
        return norm_spm(t, n, in, first, out);
    case LLM_NORM_PRECOMPILED:
        return norm_precompiled(t, in, out);
    case LLM_NORM_NFC:
    case LLM_NORM_NFD:
    case LLM_NORM_NFKC:
    case LLM_NORM_NFKD:
        return norm_form(n->kind, in, out);
    case LLM_NORM_BERT:
        return norm_bert(n, in, out);
    case LLM_NORM_LOWERCASE:
    case LLM_NORM_STRIP_ACCENTS:
        return norm_simple(n, in, out);
    case LLM_NORM_PREPEND:
        if (in.len > 0 && n->str)
            LLM_TRY(llm_tok_str_append(out, n->str, strlen(n->str), in.ostart[0], in.ostart[0]));
        for (size_t k = 0; k < in.len; k++)
            LLM_TRY(llm_tok_str_append(out, in.s + k, 1, in.ostart[k], in.oend[k]));
        return LLM_OK;
    case LLM_NORM_REPLACE:
        return norm_replace(n, t->mctx, in, out);
    case LLM_NORM_STRIP: {
        size_t a = 0, b = in.len;
        if (n->left)
            while (a < b && llm_tok_is_whitespace((uint8_t)in.s[a]))
                a++;
        if (n->right)
            while (b > a && llm_tok_is_whitespace((uint8_t)in.s[b - 1]))
                b--;
        for (size_t k = a; k < b; k++)
            LLM_TRY(llm_tok_str_append(out, in.s + k, 1, in.ostart[k], in.oend[k]));
        return LLM_OK;
    }
    }
    return LLM_OK;
}
