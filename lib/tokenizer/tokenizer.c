/*
 * The tokenizer object shared by every algorithm: vocabulary and its hash map, special and added
 * tokens, UTF-8 helpers, and the encode pipeline (sanitize -> split on added tokens -> normalize ->
 * pre-tokenize -> model -> post-process). The algorithms themselves live in bpe.c, spm.c,
 * unigram.c and wordpiece.c; the file formats in gguf_vocab.c, hf_json.c, spm_model.c and
 * plain_files.c. Nothing here is mutable after llm_tok_finish(): every encode works on its own
 * buffers.
 */
#include "tokenizer/tokenizer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "tokenizer/tok_internal.h"

/* ---------------------------------------------------------------------------------------------- */
/* UTF-8                                                                                          */

size_t llm_tok_utf8_len(uint8_t c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 1;
}

size_t llm_tok_utf8_valid_len(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    if (n == 0)
        return 0;
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t llm_tok_utf8_decode(const char *s, size_t n, int32_t *cp)
{
    size_t len = llm_tok_utf8_valid_len(s, n);
    if (len == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    const uint8_t *p = (const uint8_t *)s;
    int32_t v;
    switch (len) {
    case 1:
        v = p[0];
        break;
    case 2:
        v = ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        break;
    case 3:
        v = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        break;
    default:
        v = ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        break;
    }
    *cp = v;
    return len;
}

size_t llm_tok_utf8_encode(int32_t cp, char out[4])
{
    uint32_t c = (uint32_t)cp;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to 256 + n. */
static int32_t byte_cp(uint8_t b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        return b;
    int32_t n = 0;
    for (int i = 0; i < b; i++) {
        if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE))
            n++;
    }
    return 256 + n;
}

void llm_tok_byte_to_unicode(uint8_t b, char out[4], size_t *n)
{
    *n = llm_tok_utf8_encode(byte_cp(b), out);
}

int llm_tok_unicode_to_byte(uint32_t cp)
{
    if (cp < 256) {
        uint8_t b = (uint8_t)cp;
        if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
            return b;
        return -1;
    }
    if (cp >= 256 + 68)
        return -1;
    int n = 0;
    for (int i = 0; i < 256; i++) {
        if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE)) {
            if (256 + n == (int)cp)
                return i;
            n++;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Buffers                                                                                        */

llm_status llm_tok_str_reserve(llm_tok_str *t, size_t extra)
{
    if (t->len + extra <= t->cap)
        return LLM_OK;
    if (t->limit && t->len + extra > t->limit) {
        t->over = true;
        return LLM_ERR_LIMIT; /* the caller names the stage */
    }
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->len + extra) {
        if (cap > SIZE_MAX / 16)
            return LLM_ERR_NOMEM;
        cap *= 2;
    }
    char *s = llm_realloc(t->s, cap + 1);
    if (!s)
        return LLM_ERR_NOMEM;
    t->s = s;
    uint32_t *a = llm_realloc(t->ostart, cap * sizeof *a);
    if (!a)
        return LLM_ERR_NOMEM;
    t->ostart = a;
    uint32_t *b = llm_realloc(t->oend, cap * sizeof *b);
    if (!b)
        return LLM_ERR_NOMEM;
    t->oend = b;
    t->cap = cap;
    return LLM_OK;
}

void llm_tok_str_free(llm_tok_str *t)
{
    llm_mem_free(t->s);
    llm_mem_free(t->ostart);
    llm_mem_free(t->oend);
    memset(t, 0, sizeof *t);
}

llm_tok_view llm_tok_str_view(const llm_tok_str *t, size_t from, size_t to)
{
    llm_tok_view v = {t->s + from, t->ostart + from, t->oend + from, to - from};
    return v;
}

llm_status llm_tok_out_grow(llm_tok_out *o)
{
    size_t cap = o->cap ? o->cap * 2 : 64;
    int32_t *ids = llm_realloc(o->ids, cap * sizeof *ids);
    if (!ids)
        return LLM_ERR_NOMEM;
    o->ids = ids;
    uint32_t *offs = llm_realloc(o->offs, cap * 2 * sizeof *offs);
    if (!offs)
        return LLM_ERR_NOMEM;
    o->offs = offs;
    o->cap = cap;
    return LLM_OK;
}

void llm_tok_out_free(llm_tok_out *o)
{
    llm_mem_free(o->ids);
    llm_mem_free(o->offs);
    memset(o, 0, sizeof *o);
}

llm_status llm_tok_ranges_grow(llm_tok_ranges *r)
{
    size_t cap = r->cap ? r->cap * 2 : 32;
    size_t *v = llm_realloc(r->v, cap * 2 * sizeof *v);
    if (!v)
        return LLM_ERR_NOMEM;
    r->v = v;
    r->cap = cap;
    return LLM_OK;
}

llm_status llm_tok_bytes_append(llm_tok_bytes *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = llm_realloc(b->p, cap);
        if (!p)
            return LLM_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Vocabulary                                                                                     */

uint64_t llm_tok_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

struct llm_tokenizer *llm_tok_new(void)
{
    struct llm_tokenizer *t = llm_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    for (size_t i = 0; i < sizeof t->special / sizeof t->special[0]; i++)
        t->special[i] = -1;
    for (int i = 0; i < 256; i++)
        t->byte_ids[i] = -1;
    t->wp_max_chars = 100;
    t->dec_strip_first_space = false;
    t->lim.max_normalize_growth = LLM_TOK_DEFAULT_NORMALIZE_GROWTH;
    t->lim.max_added_token_steps = LLM_TOK_DEFAULT_ADDED_TOKEN_STEPS;
    t->lim.max_regex_steps = LLM_TOK_DEFAULT_REGEX_STEPS;
    return t;
}

llm_status llm_tok_alloc_vocab(struct llm_tokenizer *t, size_t n, llm_error *err)
{
    LLM_CHECK(err, n > 0 && n < (size_t)INT32_MAX, LLM_ERR_FORMAT,
              "vocabulary size %zu is out of range", n);
    t->pieces = llm_calloc(n, sizeof *t->pieces);
    t->piece_len = llm_calloc(n, sizeof *t->piece_len);
    t->types = llm_calloc(n, sizeof *t->types);
    if (!t->pieces || !t->piece_len || !t->types)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for a vocabulary of %zu", n);
    t->n_vocab = n;
    for (size_t i = 0; i < n; i++)
        t->types[i] = LLM_TOKTYPE_NORMAL;
    return LLM_OK;
}

llm_status llm_tok_set_piece(struct llm_tokenizer *t, size_t id, const char *s, size_t n,
                             llm_error *err)
{
    LLM_CHECK(err, id < t->n_vocab, LLM_ERR_FORMAT, "token id %zu out of range (vocab %zu)", id,
              t->n_vocab);
    LLM_CHECK(err, n < UINT32_MAX, LLM_ERR_FORMAT, "token %zu is too long", id);
    char *p = llm_strndup(s, n);
    if (!p)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    llm_mem_free(t->pieces[id]);
    t->pieces[id] = p;
    t->piece_len[id] = (uint32_t)n;
    return LLM_OK;
}

int32_t llm_tok_find(const struct llm_tokenizer *t, const char *s, size_t n)
{
    if (!t->map.slots)
        return -1;
    size_t i = (size_t)llm_tok_hash(s, n) & t->map.mask;
    for (;;) {
        uint32_t v = t->map.slots[i];
        if (v == 0)
            return -1;
        uint32_t id = v - 1;
        if (t->piece_len[id] == n && memcmp(t->pieces[id], s, n) == 0)
            return (int32_t)id;
        i = (i + 1) & t->map.mask;
    }
}

static llm_status build_map(struct llm_tokenizer *t, llm_error *err)
{
    size_t cap = 16;
    while (cap < t->n_vocab * 2)
        cap *= 2;
    t->map.slots = llm_calloc(cap, sizeof *t->map.slots);
    if (!t->map.slots)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for the vocabulary map");
    t->map.mask = cap - 1;
    for (size_t id = 0; id < t->n_vocab; id++) {
        if (!t->pieces[id]) {
            /* A hole in the vocabulary (e.g. tokenizer.json with missing ids): empty piece. */
            t->pieces[id] = llm_strdup("");
            if (!t->pieces[id])
                return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
            t->piece_len[id] = 0;
            t->types[id] = LLM_TOKTYPE_UNUSED;
            continue;
        }
        /* The first id of a duplicated piece wins, as in llama.cpp and HF. */
        if (llm_tok_find(t, t->pieces[id], t->piece_len[id]) >= 0)
            continue;
        size_t i = (size_t)llm_tok_hash(t->pieces[id], t->piece_len[id]) & t->map.mask;
        while (t->map.slots[i])
            i = (i + 1) & t->map.mask;
        t->map.slots[i] = (uint32_t)id + 1;
    }
    return LLM_OK;
}

llm_status llm_tok_add_added(struct llm_tokenizer *t, int32_t id, bool special, bool lstrip,
                             bool rstrip, llm_error *err)
{
    if (id < 0 || (size_t)id >= t->n_vocab)
        return llm_error_set(err, LLM_ERR_FORMAT, "added token id %d out of range (vocab %zu)",
                             id, t->n_vocab);
    for (size_t i = 0; i < t->n_added; i++) {
        if (t->added[i].id == id) {
            t->added[i].special = special;
            return LLM_OK;
        }
    }
    llm_tok_added *a = llm_realloc(t->added, (t->n_added + 1) * sizeof *a);
    if (!a)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    t->added = a;
    llm_tok_added *x = &t->added[t->n_added++];
    memset(x, 0, sizeof *x);
    x->id = id;
    x->special = special;
    x->lstrip = lstrip;
    x->rstrip = rstrip;
    return LLM_OK;
}

llm_status llm_tok_add_norm(struct llm_tokenizer *t, const llm_tok_norm *n, llm_error *err)
{
    llm_tok_norm *a = llm_realloc(t->norms, (t->n_norms + 1) * sizeof *a);
    if (!a)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    t->norms = a;
    t->norms[t->n_norms++] = *n;
    return LLM_OK;
}

llm_status llm_tok_add_pre(struct llm_tokenizer *t, const llm_tok_pre *p, llm_error *err)
{
    llm_tok_pre *a = llm_realloc(t->pres, (t->n_pres + 1) * sizeof *a);
    if (!a)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    t->pres = a;
    t->pres[t->n_pres++] = *p;
    return LLM_OK;
}

llm_status llm_tok_compile_regex(const char *pattern, size_t len, pcre2_code **out,
                                 llm_error *err)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF | PCRE2_UCP, &errcode,
                                   &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "pre-tokenizer regex does not compile at offset %zu: %s",
                             (size_t)erroff, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter on failure */
    *out = re;
    return LLM_OK;
}

static int cmp_added(const void *a, const void *b)
{
    const llm_tok_added *x = a, *y = b;
    uint8_t fx = x->len ? (uint8_t)x->text[0] : 0, fy = y->len ? (uint8_t)y->text[0] : 0;
    if (fx != fy)
        return fx < fy ? -1 : 1;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

/* The match context that carries the regex step limit into every PCRE2 match. */
static llm_status set_match_limits(struct llm_tokenizer *t, llm_error *err)
{
    if (!t->mctx) {
        t->mctx = pcre2_match_context_create(NULL);
        LLM_CHECK(err, t->mctx, LLM_ERR_NOMEM, "out of memory");
    }
    uint64_t steps = t->lim.max_regex_steps ? t->lim.max_regex_steps : UINT32_MAX;
    pcre2_set_match_limit(t->mctx, steps > UINT32_MAX ? UINT32_MAX : (uint32_t)steps);
    for (size_t i = 0; i < t->n_pres; i++)
        t->pres[i].mctx = t->mctx;
    return LLM_OK;
}

/* The most bytes a Replace normalizer can make of one input byte: a literal pattern of p bytes
 * becomes r bytes (r/p per byte); a regex may match the empty string between any two bytes. */
static uint64_t replace_growth(const llm_tok_norm *n)
{
    uint64_t r = n->str ? strlen(n->str) : 0;
    if (n->re)
        return r + 1;
    uint64_t p = n->pattern ? strlen(n->pattern) : 0;
    if (p == 0)
        return 1;
    return r > p ? (r + p - 1) / p : 1;
}

llm_status llm_tokenizer_set_limits(struct llm_tokenizer *t, const llm_tokenizer_options *opt,
                                    llm_error *err)
{
    if (opt) {
        t->lim.max_normalize_growth = opt->max_normalize_growth;
        t->lim.max_added_token_steps = opt->max_added_token_steps;
        t->lim.max_regex_steps = opt->max_regex_steps;
    }
    LLM_TRY(set_match_limits(t, err));
    /* a Sequence of Replace normalizers multiplies: five that each make 40 bytes of one space
     * would make 100 million bytes of every space */
    if (t->lim.max_normalize_growth) {
        uint64_t growth = 1;
        for (size_t i = 0; i < t->n_norms; i++) {
            if (t->norms[i].kind != LLM_NORM_REPLACE)
                continue;
            uint64_t g = replace_growth(&t->norms[i]);
            growth = growth > UINT64_MAX / g ? UINT64_MAX : growth * g;
            if (growth > t->lim.max_normalize_growth) {
                return llm_error_set(err, LLM_ERR_LIMIT,
                                     "normalizer %zu (Replace): the Replace normalizers up to "
                                     "here can make %" PRIu64 " bytes of one input byte, more "
                                     "than the limit of %u "
                                     "(llm_tokenizer_options.max_normalize_growth raises it)",
                                     i + 1, growth, t->lim.max_normalize_growth);
            }
        }
    }
    return LLM_OK;
}

llm_status llm_tok_finish(struct llm_tokenizer *t, llm_error *err)
{
    LLM_TRY(set_match_limits(t, err));
    /* May run again after added tokens change: rebuild everything derived. */
    llm_mem_free(t->map.slots);
    t->map.slots = NULL;
    llm_mem_free(t->trie);
    t->trie = NULL;
    llm_mem_free(t->trie_node_id);
    t->trie_node_id = NULL;
    LLM_TRY(build_map(t, err));
    /* Added tokens: drop empty ones, sort by first byte then longest first. */
    size_t k = 0;
    for (size_t i = 0; i < t->n_added; i++) {
        llm_tok_added a = t->added[i];
        a.text = t->pieces[a.id];
        a.len = t->piece_len[a.id];
        if (a.len > 0)
            t->added[k++] = a;
    }
    t->n_added = k;
    LLM_CHECK(err, k < 65535, LLM_ERR_UNSUPPORTED, "too many added tokens (%zu)", k);
    if (k)
        qsort(t->added, k, sizeof *t->added, cmp_added);
    size_t j = 0;
    for (int b = 0; b < 256; b++) {
        t->added_first[b] = (uint16_t)j;
        while (j < k && (uint8_t)t->added[j].text[0] == b)
            j++;
    }
    t->added_first[256] = (uint16_t)k;

    if (t->model == LLM_TOKMODEL_BPE && t->byte_level) {
        for (int b = 0; b < 256; b++) {
            char u[4];
            size_t n;
            llm_tok_byte_to_unicode((uint8_t)b, u, &n);
            t->byte_ids[b] = llm_tok_find(t, u, n);
        }
    } else {
        for (int b = 0; b < 256; b++) {
            static const char hex[] = "0123456789ABCDEF";
            char p[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
            t->byte_ids[b] = llm_tok_find(t, p, 6);
        }
    }
    if (t->model == LLM_TOKMODEL_SPM)
        t->spm_split = llm_tok_spm_can_split(t);
    if (t->model == LLM_TOKMODEL_UNIGRAM) {
        t->min_score = 3.4e38f;
        t->max_score = -3.4e38f;
        for (size_t i = 0; i < t->n_vocab; i++) {
            if (t->types[i] == LLM_TOKTYPE_NORMAL && t->scores) {
                if (t->scores[i] < t->min_score)
                    t->min_score = t->scores[i];
                if (t->scores[i] > t->max_score)
                    t->max_score = t->scores[i];
            }
        }
        if (t->min_score > t->max_score)
            t->min_score = t->max_score = 0;
        LLM_TRY(llm_tok_build_trie(t, err));
    }
    for (size_t i = 0; i < sizeof t->special / sizeof t->special[0]; i++) {
        if (t->special[i] >= (int32_t)t->n_vocab || t->special[i] < -1)
            t->special[i] = -1;
    }
    if (!t->post_set) {
        t->n_post_pre = t->n_post_suf = 0;
        if (t->add_cls_sep) {
            if (t->special[LLM_TOKEN_CLS] >= 0)
                t->post_pre[t->n_post_pre++] = t->special[LLM_TOKEN_CLS];
            if (t->special[LLM_TOKEN_SEP] >= 0)
                t->post_suf[t->n_post_suf++] = t->special[LLM_TOKEN_SEP];
        } else {
            if (t->add_bos && t->special[LLM_TOKEN_BOS] >= 0)
                t->post_pre[t->n_post_pre++] = t->special[LLM_TOKEN_BOS];
            if (t->add_eos && t->special[LLM_TOKEN_EOS] >= 0)
                t->post_suf[t->n_post_suf++] = t->special[LLM_TOKEN_EOS];
        }
    }
    for (size_t q = 0; q < t->n_post_pre; q++)
        LLM_CHECK(err, t->post_pre[q] >= 0 && (size_t)t->post_pre[q] < t->n_vocab, LLM_ERR_FORMAT,
                  "post-processor token id %d out of range", t->post_pre[q]);
    for (size_t q = 0; q < t->n_post_suf; q++)
        LLM_CHECK(err, t->post_suf[q] >= 0 && (size_t)t->post_suf[q] < t->n_vocab, LLM_ERR_FORMAT,
                  "post-processor token id %d out of range", t->post_suf[q]);
    return LLM_OK;
}

void llm_tokenizer_free(struct llm_tokenizer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_vocab; i++)
        llm_mem_free(t->pieces ? t->pieces[i] : NULL);
    llm_mem_free(t->pieces);
    llm_mem_free(t->piece_len);
    llm_mem_free(t->scores);
    llm_mem_free(t->types);
    llm_mem_free(t->map.slots);
    llm_mem_free(t->added);
    for (size_t i = 0; i < t->n_norms; i++) {
        llm_mem_free(t->norms[i].str);
        llm_mem_free(t->norms[i].pattern);
        pcre2_code_free(t->norms[i].re);
    }
    llm_mem_free(t->norms);
    for (size_t i = 0; i < t->n_pres; i++)
        pcre2_code_free(t->pres[i].re);
    llm_mem_free(t->pres);
    llm_mem_free(t->merges);
    llm_mem_free(t->end_of_word_suffix);
    llm_mem_free(t->cont_prefix);
    llm_mem_free(t->trie);
    llm_mem_free(t->trie_node_id);
    llm_mem_free(t->wp_prefix);
    llm_mem_free(t->wp_word_prefix);
    llm_mem_free(t->charsmap.blob);
    pcre2_match_context_free(t->mctx);
    llm_mem_free(t);
}

/* ---------------------------------------------------------------------------------------------- */
/* Encode pipeline                                                                                */

/* Copies the input into an llm_tok_str with identity offsets; invalid UTF-8 becomes U+FFFD. */
static llm_status sanitize(const char *text, size_t len, llm_tok_str *out)
{
    LLM_TRY(llm_tok_str_reserve(out, len + 8));
    size_t i = 0;
    while (i < len) {
        size_t n = llm_tok_utf8_valid_len(text + i, len - i);
        if (n == 0) {
            /* Keep room for 3 bytes here plus every remaining input byte (copied 1:1). */
            LLM_TRY(llm_tok_str_reserve(out, 3 + (len - i)));
            LLM_TRY(llm_tok_str_append(out, "\xEF\xBF\xBD", 3, (uint32_t)i, (uint32_t)i + 1));
            i++;
            continue;
        }
        /* Fast path for runs of ASCII. */
        size_t j = i;
        while (j < len && (uint8_t)text[j] < 0x80)
            j++;
        if (j > i) {
            memcpy(out->s + out->len, text + i, j - i);
            uint32_t *os = out->ostart + out->len, *oe = out->oend + out->len;
            for (size_t k = 0; k < j - i; k++) {
                os[k] = (uint32_t)(i + k);
                oe[k] = (uint32_t)(i + k) + 1;
            }
            out->len += j - i;
            i = j;
            continue;
        }
        memcpy(out->s + out->len, text + i, n);
        for (size_t k = 0; k < n; k++) {
            out->ostart[out->len + k] = (uint32_t)i;
            out->oend[out->len + k] = (uint32_t)(i + n);
        }
        out->len += n;
        i += n;
    }
    out->s[out->len] = '\0';
    return LLM_OK;
}

static bool is_ws_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Runs normalizers, pre-tokenizers and the model over one text segment. */
static const char *norm_name(llm_tok_norm_kind k)
{
    switch (k) {
    case LLM_NORM_SPM: return "sentencepiece";
    case LLM_NORM_PRECOMPILED: return "Precompiled";
    case LLM_NORM_NFC: return "NFC";
    case LLM_NORM_NFD: return "NFD";
    case LLM_NORM_NFKC: return "NFKC";
    case LLM_NORM_NFKD: return "NFKD";
    case LLM_NORM_BERT: return "BertNormalizer";
    case LLM_NORM_LOWERCASE: return "Lowercase";
    case LLM_NORM_STRIP_ACCENTS: return "StripAccents";
    case LLM_NORM_PREPEND: return "Prepend";
    case LLM_NORM_REPLACE: return "Replace";
    case LLM_NORM_STRIP: return "Strip";
    }
    return "normalizer";
}

static const char *pre_name(llm_tok_pre_kind k)
{
    switch (k) {
    case LLM_PRE_REGEX_SPLIT: return "regex split";
    case LLM_PRE_SPLIT: return "Split";
    case LLM_PRE_BYTELEVEL: return "ByteLevel";
    case LLM_PRE_BERT: return "BertPreTokenizer";
    case LLM_PRE_WHITESPACE: return "Whitespace";
    case LLM_PRE_WHITESPACE_SPLIT: return "WhitespaceSplit";
    case LLM_PRE_METASPACE: return "Metaspace";
    case LLM_PRE_DIGITS: return "Digits";
    case LLM_PRE_PUNCTUATION: return "Punctuation";
    }
    return "pre-tokenizer";
}

/* Runs normalizers, pre-tokenizers and the model over one text segment. */
static llm_status encode_segment(const struct llm_tokenizer *t, llm_tok_view seg, bool first,
                                 llm_tok_bpe_cache **cache, llm_tok_out *out, llm_error *err)
{
    llm_status st = LLM_OK;
    llm_tok_str bufs[2] = {{0}};
    int cur = -1; /* index into bufs of the current text, -1 = seg */
    llm_tok_view v = seg;
    /* every normalizer's output is held to growth * the segment's length: the bound is on the
     * bytes held, so a hostile chain stops before it allocates more than that */
    const uint64_t norm_cap =
        t->lim.max_normalize_growth
            ? llm_limit_scaled(t->lim.max_normalize_growth, seg.len, LLM_TOK_NORMALIZE_SLACK)
            : 0;
    for (size_t i = 0; i < t->n_norms; i++) {
        int nxt = cur == 0 ? 1 : 0;
        bufs[nxt].len = 0;
        bufs[nxt].limit = norm_cap > SIZE_MAX ? 0 : (size_t)norm_cap;
        bufs[nxt].over = false;
        st = llm_tok_normalize(t, &t->norms[i], v, first, &bufs[nxt]);
        if (st == LLM_ERR_LIMIT && bufs[nxt].over) {
            llm_error_set(err, LLM_ERR_LIMIT,
                          "normalizer %zu (%s): the text grew past %" PRIu64 " bytes (%u bytes "
                          "per byte of the %zu-byte input, plus %u); "
                          "llm_tokenizer_options.max_normalize_growth raises it",
                          i + 1, norm_name(t->norms[i].kind), norm_cap,
                          t->lim.max_normalize_growth, seg.len, LLM_TOK_NORMALIZE_SLACK);
            goto done;
        }
        if (st == LLM_ERR_LIMIT) {
            llm_error_set(err, LLM_ERR_LIMIT,
                          "normalizer %zu (%s): a regex match needed more than %" PRIu64
                          " steps (llm_tokenizer_options.max_regex_steps raises it)",
                          i + 1, norm_name(t->norms[i].kind), t->lim.max_regex_steps);
            goto done;
        }
        if (st != LLM_OK)
            goto done;
        cur = nxt;
        v = llm_tok_str_view(&bufs[cur], 0, bufs[cur].len);
    }
    /* the pre-tokenizers rewrite at most a few bytes per byte (Metaspace: 3) */
    bufs[0].limit = bufs[1].limit = 0;
    if (t->model == LLM_TOKMODEL_SPM || t->model == LLM_TOKMODEL_UNIGRAM) {
        if (t->n_pres == 0) {
            st = t->model == LLM_TOKMODEL_SPM ? llm_tok_spm_encode(t, v, cache, out)
                                              : llm_tok_unigram_encode(t, v, out);
            goto done;
        }
    }
    {
        llm_tok_ranges r[2] = {{0}};
        int rc = 0;
        /* Words are ~4 bytes in natural text: size the lists once instead of growing them. */
        size_t guess = v.len / 4 + 16;
        for (int k = 0; k < 2 && st == LLM_OK; k++) {
            r[k].v = llm_malloc(guess * 2 * sizeof *r[k].v);
            r[k].cap = r[k].v ? guess : 0;
        }
        st = llm_tok_ranges_push(&r[0], 0, v.len);
        for (size_t i = 0; i < t->n_pres && st == LLM_OK; i++) {
            int nxt = cur == 0 ? 1 : 0;
            bufs[nxt].len = 0;
            r[1 - rc].n = 0;
            llm_tok_str *rw = &bufs[nxt];
            /* Pre-tokenizers that rewrite text (Metaspace) need the current text as a string. */
            llm_tok_str tmp = {0};
            bool prefix_space = t->pres[i].kind == LLM_PRE_BYTELEVEL && t->pres[i].add_prefix_space;
            bool rewrites = t->pres[i].kind == LLM_PRE_METASPACE || prefix_space;
            if (cur < 0 && rewrites) {
                st = llm_tok_str_reserve(&tmp, v.len);
                if (st == LLM_OK) {
                    memcpy(tmp.s, v.s, v.len);
                    memcpy(tmp.ostart, v.ostart, v.len * sizeof *v.ostart);
                    memcpy(tmp.oend, v.oend, v.len * sizeof *v.oend);
                    tmp.len = v.len;
                }
            }
            if (st == LLM_OK && prefix_space) {
                /* HF ByteLevel(add_prefix_space): a space before each piece that lacks one, then
                 * the usual split. */
                const llm_tok_str *src = cur < 0 ? &tmp : &bufs[cur];
                rw->len = 0;
                llm_tok_ranges *in = &r[rc], *mid = &r[1 - rc];
                for (size_t k = 0; k < in->n && st == LLM_OK; k++) {
                    size_t a = in->v[2 * k], b = in->v[2 * k + 1];
                    size_t start = rw->len;
                    if (b > a && src->s[a] != ' ')
                        st = llm_tok_str_append(rw, " ", 1, src->ostart[a], src->ostart[a]);
                    for (size_t p = a; p < b && st == LLM_OK; p++)
                        st = llm_tok_str_append(rw, src->s + p, 1, src->ostart[p], src->oend[p]);
                    if (st == LLM_OK)
                        st = llm_tok_ranges_push(mid, start, rw->len);
                }
                if (st == LLM_OK) {
                    cur = nxt;
                    v = llm_tok_str_view(&bufs[cur], 0, bufs[cur].len);
                    in->n = 0;
                    st = llm_tok_pretokenize(&t->pres[i], v.s, v.len, first, mid, in, NULL);
                }
                llm_tok_str_free(&tmp);
                continue; /* the result is back in r[rc] */
            }
            if (st == LLM_OK) {
                if (t->pres[i].kind == LLM_PRE_METASPACE) {
                    const llm_tok_str *src = cur < 0 ? &tmp : &bufs[cur];
                    /* rewrite */
                    rw->len = 0;
                    llm_tok_ranges *in = &r[rc];
                    for (size_t k = 0; k < in->n && st == LLM_OK; k++) {
                        size_t a = in->v[2 * k], b = in->v[2 * k + 1];
                        size_t start = rw->len;
                        bool pre = t->pres[i].prepend_scheme == LLM_PREPEND_ALWAYS ||
                                   (t->pres[i].prepend_scheme == LLM_PREPEND_FIRST && first &&
                                    a == 0);
                        if (pre && !(b - a >= 3 && memcmp(src->s + a, "\xE2\x96\x81", 3) == 0) &&
                            b > a) {
                            uint32_t o = src->ostart[a];
                            st = llm_tok_str_append(rw, "\xE2\x96\x81", 3, o, o);
                        }
                        for (size_t p = a; p < b && st == LLM_OK; p++) {
                            if (src->s[p] == ' ')
                                st = llm_tok_str_append(rw, "\xE2\x96\x81", 3, src->ostart[p],
                                                        src->oend[p]);
                            else
                                st = llm_tok_str_append(rw, src->s + p, 1, src->ostart[p],
                                                        src->oend[p]);
                        }
                        if (st != LLM_OK)
                            break;
                        if (!t->pres[i].split) {
                            st = llm_tok_ranges_push(&r[1 - rc], start, rw->len);
                            continue;
                        }
                        size_t ws = start;
                        for (size_t p = start; p < rw->len && st == LLM_OK; p++) {
                            if (p > ws && rw->len - p >= 3 &&
                                memcmp(rw->s + p, "\xE2\x96\x81", 3) == 0) {
                                st = llm_tok_ranges_push(&r[1 - rc], ws, p);
                                ws = p;
                            }
                        }
                        if (st == LLM_OK && rw->len > ws)
                            st = llm_tok_ranges_push(&r[1 - rc], ws, rw->len);
                    }
                    if (st == LLM_OK) {
                        cur = nxt;
                        v = llm_tok_str_view(&bufs[cur], 0, bufs[cur].len);
                    }
                } else {
                    st = llm_tok_pretokenize(&t->pres[i], v.s, v.len, first, &r[rc], &r[1 - rc],
                                             NULL);
                }
            }
            llm_tok_str_free(&tmp);
            rc = 1 - rc;
        }
        for (size_t k = 0; k < r[rc].n && st == LLM_OK; k++) {
            size_t a = r[rc].v[2 * k], b = r[rc].v[2 * k + 1];
            if (b <= a)
                continue;
            llm_tok_view w = {v.s + a, v.ostart + a, v.oend + a, b - a};
            switch (t->model) {
            case LLM_TOKMODEL_BPE:
                st = llm_tok_word_cached(t, cache, w, out, llm_tok_bpe_word_rel);
                break;
            case LLM_TOKMODEL_WORDPIECE:
                st = llm_tok_wordpiece_word(t, w, out);
                break;
            case LLM_TOKMODEL_SPM:
                st = llm_tok_spm_encode(t, w, cache, out);
                break;
            case LLM_TOKMODEL_UNIGRAM:
                st = llm_tok_unigram_encode(t, w, out);
                break;
            }
        }
        llm_mem_free(r[0].v);
        llm_mem_free(r[1].v);
    }
    if (st == LLM_ERR_LIMIT) {
        /* a regex hit its step limit (the normalizers named themselves above) */
        llm_error_set(err, LLM_ERR_LIMIT,
                      "pre-tokenizer: a regex match needed more than %" PRIu64
                      " steps (llm_tokenizer_options.max_regex_steps raises it)",
                      t->lim.max_regex_steps);
        for (size_t i = 0; i < t->n_pres; i++)
            if (t->pres[i].re && t->pres[i].kind != LLM_PRE_BYTELEVEL) {
                llm_error_set(err, LLM_ERR_LIMIT,
                              "pre-tokenizer %zu (%s): a regex match needed more than %" PRIu64
                              " steps (llm_tokenizer_options.max_regex_steps raises it)",
                              i + 1, pre_name(t->pres[i].kind), t->lim.max_regex_steps);
                break;
            }
    }
done:
    llm_tok_str_free(&bufs[0]);
    llm_tok_str_free(&bufs[1]);
    return st;
}

/* Matches an added token at position i of s; returns its index or -1. */
static ptrdiff_t match_added(const struct llm_tokenizer *t, const char *s, size_t len, size_t i,
                             uint32_t flags)
{
    uint8_t b = (uint8_t)s[i];
    for (size_t k = t->added_first[b]; k < t->added_first[b + 1]; k++) {
        const llm_tok_added *a = &t->added[k];
        if (a->special && !(flags & LLM_ENCODE_PARSE_SPECIAL))
            continue;
        if (a->len <= len - i && memcmp(s + i, a->text, a->len) == 0)
            return (ptrdiff_t)k;
    }
    return -1;
}

llm_status llm_tok_encode(const struct llm_tokenizer *t, const char *text, size_t len,
                          uint32_t flags, llm_tok_out *out, llm_error *err)
{
    if (len >= UINT32_MAX - 8)
        return llm_error_set(err, LLM_ERR_TOO_LONG, "text of %zu bytes is too long to encode",
                             len);
    llm_tok_str s = {0};
    llm_tok_bpe_cache *cache = NULL;
    llm_status st = sanitize(text, len, &s);
    if (st == LLM_OK && out->cap < len / 4 + 16) {
        /* About one token per four bytes: reserve once. */
        size_t cap = len / 4 + 16;
        int32_t *ids = llm_realloc(out->ids, cap * sizeof *ids);
        if (ids)
            out->ids = ids;
        uint32_t *offs = ids ? llm_realloc(out->offs, cap * 2 * sizeof *offs) : NULL;
        if (offs) {
            out->offs = offs;
            out->cap = cap;
        }
    }
    bool add = (flags & LLM_ENCODE_ADD_SPECIAL) != 0;
    for (size_t k = 0; add && st == LLM_OK && k < t->n_post_pre; k++)
        st = llm_tok_out_push(out, t->post_pre[k], 0, 0);
    size_t seg_start = 0, i = 0;
    bool first = true;
    uint64_t steps = 0;
    const uint64_t added_cap =
        t->lim.max_added_token_steps
            ? llm_limit_scaled(t->lim.max_added_token_steps, len, LLM_TOK_ADDED_STEPS_SLACK)
            : UINT64_MAX;
    while (st == LLM_OK && i <= s.len) {
        ptrdiff_t k = -1;
        /* Skip bytes no added token starts with (locals: char stores alias everything). */
        {
            const uint8_t *p = (const uint8_t *)s.s;
            const uint16_t *af = t->added_first;
            size_t e = s.len;
            while (i < e && af[p[i]] == af[p[i] + 1])
                i++;
        }
        if (i < s.len) {
            /* candidates sharing the first byte are compared one by one: many long added
             * tokens with one first byte make that quadratic, hence the budget */
            steps += (uint64_t)(t->added_first[(uint8_t)s.s[i] + 1] -
                                t->added_first[(uint8_t)s.s[i]]);
            if (steps > added_cap) {
                st = llm_error_set(err, LLM_ERR_LIMIT,
                                   "added-token matching: %" PRIu64 " candidate comparisons at "
                                   "byte %zu exceed the limit of %" PRIu64 " (%u per input byte, "
                                   "plus %u); llm_tokenizer_options.max_added_token_steps "
                                   "raises it",
                                   steps, i, added_cap, t->lim.max_added_token_steps,
                                   LLM_TOK_ADDED_STEPS_SLACK);
                break;
            }
            k = match_added(t, s.s, s.len, i, flags);
        }
        if (k < 0 && i < s.len) {
            i++;
            continue;
        }
        /* Text segment [seg_start, i) (with lstrip of the following token). */
        size_t seg_end = i;
        if (k >= 0 && t->added[k].lstrip) {
            while (seg_end > seg_start && is_ws_byte(s.s[seg_end - 1]))
                seg_end--;
        }
        if (seg_end > seg_start) {
            st = encode_segment(t, llm_tok_str_view(&s, seg_start, seg_end), first, &cache,
                                out, err);
            first = false;
        }
        if (k < 0 || st != LLM_OK)
            break;
        const llm_tok_added *a = &t->added[k];
        st = llm_tok_out_push(out, a->id, s.ostart[i], s.oend[i + a->len - 1]);
        i += a->len;
        if (a->rstrip) {
            while (i < s.len && is_ws_byte(s.s[i]))
                i++;
        }
        seg_start = i;
        first = t->prefix_after_special;
    }
    for (size_t k = 0; add && st == LLM_OK && k < t->n_post_suf; k++)
        st = llm_tok_out_push(out, t->post_suf[k], (uint32_t)len, (uint32_t)len);
    llm_tok_str_free(&s);
    llm_tok_bpe_cache_free(cache);
    if (st == LLM_ERR_LIMIT)
        return st; /* the stage that stopped wrote the message */
    if (st == LLM_ERR_NOMEM)
        return llm_error_set(err, st, "out of memory while encoding %zu bytes", len);
    if (st != LLM_OK)
        return llm_error_set(err, st, "encoding failed");
    return LLM_OK;
}
