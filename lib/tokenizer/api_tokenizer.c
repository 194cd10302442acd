/*
 * Public tokenizer entry points (llm_tokenizer_*, llm_detokenizer_*): argument checks, the
 * caller-buffer protocol (NULL buffer = size query, LLM_ERR_BUFFER_TOO_SMALL with the size
 * needed), and turning internal errors into llm_last_error(). The work happens in the other
 * files of lib/tokenizer/.
 */
#include <llm/llm.h>

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

llm_status llm_tokenizer_open(const char *path, llm_tokenizer **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "%s is NULL",
                        !path ? "path" : "out");
    return llm_tokenizer_open_with(path, NULL, out);
}

void llm_tokenizer_options_init(llm_tokenizer_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->max_normalize_growth = LLM_TOK_DEFAULT_NORMALIZE_GROWTH;
    opt->max_added_token_steps = LLM_TOK_DEFAULT_ADDED_TOKEN_STEPS;
    opt->max_regex_steps = LLM_TOK_DEFAULT_REGEX_STEPS;
}

llm_status llm_tokenizer_open_with(const char *path, const llm_tokenizer_options *opt,
                                   llm_tokenizer **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_tokenizer_open_with: %s is NULL",
                        !path ? "path" : "out");
    llm_error err;
    llm_error_clear(&err);
    llm_tokenizer_options o;
    llm_tokenizer_options_init(&o);
    if (opt && llm_copy_options(&o, sizeof o, opt, sizeof o, "llm_tokenizer_options", &err) !=
                   LLM_OK)
        return llm_error_publish(&err);
    struct llm_tokenizer *t = NULL;
    llm_status st = llm_tokenizer_open_path(path, &t, &err);
    if (st == LLM_OK && (st = llm_tokenizer_set_limits(t, &o, &err)) != LLM_OK) {
        llm_error_prefix(&err, "%s", path);
        llm_tokenizer_free(t);
    }
    if (st != LLM_OK)
        return llm_error_publish(&err);
    *out = t;
    return LLM_OK;
}

void llm_tokenizer_close(llm_tokenizer *tok)
{
    llm_tokenizer_free(tok);
}

llm_status llm_tokenizer_encode_alloc(const struct llm_tokenizer *t, const char *text, size_t len,
                                      uint32_t flags, int32_t **ids, uint32_t **offsets,
                                      size_t *n, llm_error *err)
{
    llm_tok_out o = {0};
    llm_status st = llm_tok_encode(t, text ? text : "", text ? len : 0, flags, &o, err);
    if (st != LLM_OK) {
        llm_tok_out_free(&o);
        return st;
    }
    *ids = o.ids;
    *n = o.n;
    if (offsets)
        *offsets = o.offs;
    else
        llm_mem_free(o.offs);
    return LLM_OK;
}

static llm_status encode_common(const llm_tokenizer *tok, const char *text, size_t len,
                                uint32_t flags, int32_t *ids, uint32_t *offsets, size_t cap,
                                size_t *n_out, const char *fn)
{
    if (n_out)
        *n_out = 0;
    if (!tok || !n_out || (!text && len > 0))
        return llm_fail(LLM_ERR_INVALID_ARG, "%s is NULL",
                        !tok ? "the tokenizer" : !n_out ? "n_out" : "text");
    if (flags & ~(uint32_t)(LLM_ENCODE_ADD_SPECIAL | LLM_ENCODE_PARSE_SPECIAL))
        return llm_fail(LLM_ERR_INVALID_ARG, "unknown encode flags 0x%x", (unsigned)flags);
    llm_error err;
    llm_error_clear(&err);
    llm_tok_out o = {0};
    llm_status st = llm_tok_encode(tok, text ? text : "", text ? len : 0, flags, &o, &err);
    if (st != LLM_OK) {
        llm_tok_out_free(&o);
        return llm_error_publish(&err);
    }
    *n_out = o.n;
    if (ids) {
        size_t k = o.n < cap ? o.n : cap;
        if (k) {
            memcpy(ids, o.ids, k * sizeof *ids);
            if (offsets)
                memcpy(offsets, o.offs, 2 * k * sizeof *offsets);
        }
        if (cap < o.n) {
            llm_tok_out_free(&o);
            return llm_fail(LLM_ERR_BUFFER_TOO_SMALL, "%s: %zu ids needed, room for %zu", fn,
                            *n_out, cap);
        }
    }
    llm_tok_out_free(&o);
    return LLM_OK;
}

llm_status llm_tokenizer_encode(const llm_tokenizer *tok, const char *text, size_t len,
                                uint32_t flags, int32_t *ids, size_t cap, size_t *n_out)
{
    return encode_common(tok, text, len, flags, ids, NULL, cap, n_out, "llm_tokenizer_encode");
}

llm_status llm_tokenizer_encode_offsets(const llm_tokenizer *tok, const char *text, size_t len,
                                        uint32_t flags, int32_t *ids, uint32_t *offsets,
                                        size_t cap, size_t *n_out)
{
    if (ids && !offsets)
        return llm_fail(LLM_ERR_INVALID_ARG, "offsets is NULL with ids given");
    return encode_common(tok, text, len, flags, ids, offsets, cap, n_out,
                         "llm_tokenizer_encode_offsets");
}

/* Whether p[0..n) is a proper prefix of a valid UTF-8 sequence (cut short by the data's end). */
static bool is_valid_prefix(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return false;
    }
    if (n >= need)
        return false;
    for (size_t k = 1; k < n; k++) {
        uint8_t b = p[k];
        if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80)
            return false;
    }
    return true;
}

/* Appends src[0..n) to out, replacing invalid UTF-8 by U+FFFD. With `hold`, a valid but
 * incomplete sequence at the end is not written; *used gets the bytes consumed. */
static llm_status append_lossy(llm_tok_bytes *out, const char *src, size_t n, bool hold,
                               size_t *used)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = (uint8_t)src[i];
        if (c < 0x80) {
            size_t j = i;
            while (j < n && (uint8_t)src[j] < 0x80)
                j++;
            LLM_TRY(llm_tok_bytes_append(out, src + i, j - i));
            i = j;
            continue;
        }
        size_t l = llm_tok_utf8_valid_len(src + i, n - i);
        if (l) {
            LLM_TRY(llm_tok_bytes_append(out, src + i, l));
            i += l;
            continue;
        }
        if (hold && is_valid_prefix((const uint8_t *)src + i, n - i))
            break;
        LLM_TRY(llm_tok_bytes_append(out, "\xEF\xBF\xBD", 3));
        i++;
    }
    *used = i;
    return LLM_OK;
}

static llm_status write_out(const llm_tok_bytes *b, char *buf, size_t cap, size_t *len_out,
                            const char *fn)
{
    if (len_out)
        *len_out = b->n;
    if (!buf)
        return LLM_OK;
    if (cap < b->n)
        return llm_fail(LLM_ERR_BUFFER_TOO_SMALL, "%s: %zu bytes needed, room for %zu", fn, b->n,
                        cap);
    if (b->n)
        memcpy(buf, b->p, b->n);
    if (cap > b->n)
        buf[b->n] = '\0';
    return LLM_OK;
}

llm_status llm_tokenizer_decode(const llm_tokenizer *tok, const int32_t *ids, size_t n,
                                uint32_t flags, char *buf, size_t cap, size_t *len_out)
{
    if (len_out)
        *len_out = 0;
    if (!tok || !len_out || (!ids && n > 0))
        return llm_fail(LLM_ERR_INVALID_ARG, "%s is NULL",
                        !tok ? "the tokenizer" : !len_out ? "len_out" : "ids");
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= tok->n_vocab)
            return llm_fail(LLM_ERR_INVALID_ARG,
                            "ids[%zu] = %d is out of range [0, %zu)", i,
                            ids[i], tok->n_vocab);
    }
    llm_tok_bytes raw = {0}, clean = {0};
    llm_status st = LLM_OK;
    for (size_t i = 0; i < n && st == LLM_OK; i++)
        st = llm_tok_decode_piece(tok, ids[i], raw.n == 0, flags, &raw);
    size_t used = 0;
    if (st == LLM_OK)
        st = llm_tok_bytes_append(&clean, "", 0);
    if (st == LLM_OK)
        st = append_lossy(&clean, raw.p ? raw.p : "", raw.n, false, &used);
    if (st == LLM_OK)
        st = write_out(&clean, buf, cap, len_out, "llm_tokenizer_decode");
    else
        st = llm_fail(st, "out of memory decoding token ids");
    llm_mem_free(raw.p);
    llm_mem_free(clean.p);
    return st;
}

size_t llm_tokenizer_vocab_size(const llm_tokenizer *tok)
{
    return tok ? tok->n_vocab : 0;
}

llm_tokenizer_kind llm_tokenizer_get_kind(const llm_tokenizer *tok)
{
    return tok ? (llm_tokenizer_kind)tok->kind : LLM_TOKENIZER_NONE;
}

int32_t llm_tokenizer_special(const llm_tokenizer *tok, llm_special_token which)
{
    if (!tok || (int)which < 0 || (size_t)which >= sizeof tok->special / sizeof tok->special[0])
        return -1;
    return tok->special[which];
}

const char *llm_tokenizer_piece(const llm_tokenizer *tok, int32_t id, size_t *len)
{
    if (len)
        *len = 0;
    if (!tok || id < 0 || (size_t)id >= tok->n_vocab)
        return NULL;
    if (len)
        *len = tok->piece_len[id];
    return tok->pieces[id];
}

int32_t llm_tokenizer_piece_to_id(const llm_tokenizer *tok, const char *piece, size_t len)
{
    if (!tok || (!piece && len > 0))
        return -1;
    return llm_tok_find(tok, piece ? piece : "", len);
}

/* ---------------------------------------------------------------------------------------------- */
/* Streaming detokenizer                                                                          */

struct llm_detokenizer {
    const llm_tokenizer *tok;
    uint32_t flags;
    bool started;       /* some text was produced already (first-piece rules done) */
    char pending[8];    /* bytes of an incomplete UTF-8 sequence */
    size_t n_pending;
    llm_tok_bytes raw, clean; /* reused across pushes: streaming allocates only while they grow */
};

llm_status llm_detokenizer_create(const llm_tokenizer *tok, uint32_t flags, llm_detokenizer **out)
{
    if (out)
        *out = NULL;
    if (!tok || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "%s is NULL",
                        !tok ? "the tokenizer" : "out");
    if (flags & ~(uint32_t)LLM_DECODE_SKIP_SPECIAL)
        return llm_fail(LLM_ERR_INVALID_ARG, "unknown detokenizer flags 0x%x",
                        (unsigned)flags);
    llm_detokenizer *d = llm_calloc(1, sizeof *d);
    if (!d)
        return llm_fail(LLM_ERR_NOMEM, "out of memory creating a detokenizer");
    d->tok = tok;
    d->flags = flags;
    *out = d;
    return LLM_OK;
}

llm_status llm_detokenizer_push(llm_detokenizer *d, int32_t id, char *buf, size_t cap,
                                size_t *len_out)
{
    if (len_out)
        *len_out = 0;
    if (!d || !len_out)
        return llm_fail(LLM_ERR_INVALID_ARG, "%s is NULL",
                        !d ? "the detokenizer" : "len_out");
    if (id < 0 || (size_t)id >= d->tok->n_vocab)
        return llm_fail(LLM_ERR_INVALID_ARG, "token id %d is out of range [0, %zu)",
                        id, d->tok->n_vocab);
    llm_tok_bytes *raw = &d->raw, *clean = &d->clean;
    raw->n = 0;
    clean->n = 0;
    llm_status st = llm_tok_bytes_append(raw, d->pending, d->n_pending);
    size_t before = raw->n;
    if (st == LLM_OK)
        st = llm_tok_decode_piece(d->tok, id, !d->started, d->flags, raw);
    bool produced = raw->n > before;
    size_t used = 0;
    if (st == LLM_OK)
        st = llm_tok_bytes_append(clean, "", 0);
    if (st == LLM_OK)
        st = append_lossy(clean, raw->p, raw->n, true, &used);
    if (st != LLM_OK) {
        st = llm_fail(st, "out of memory detokenizing");
    } else {
        st = write_out(clean, buf, cap, len_out, "llm_detokenizer_push");
        if (st == LLM_OK && (buf || clean->n == 0)) {
            /* Consumed: keep the held-back tail. */
            size_t rest = raw->n - used;
            if (rest > sizeof d->pending)
                rest = sizeof d->pending;
            memcpy(d->pending, raw->p + used, rest);
            d->n_pending = rest;
            if (produced)
                d->started = true;
        }
    }
    return st;
}

llm_status llm_detokenizer_flush(llm_detokenizer *d, char *buf, size_t cap, size_t *len_out)
{
    if (len_out)
        *len_out = 0;
    if (!d || !len_out)
        return llm_fail(LLM_ERR_INVALID_ARG, "%s is NULL",
                        !d ? "the detokenizer" : "len_out");
    llm_tok_bytes *clean = &d->clean;
    clean->n = 0;
    size_t used = 0;
    llm_status st = llm_tok_bytes_append(clean, "", 0);
    if (st == LLM_OK)
        st = append_lossy(clean, d->pending, d->n_pending, false, &used);
    if (st != LLM_OK) {
        st = llm_fail(st, "out of memory detokenizing");
    } else {
        st = write_out(clean, buf, cap, len_out, "llm_detokenizer_flush");
        if (st == LLM_OK && (buf || clean->n == 0)) {
            d->n_pending = 0;
            d->started = false;
        }
    }
    return st;
}

void llm_detokenizer_destroy(llm_detokenizer *d)
{
    if (d) {
        llm_mem_free(d->raw.p);
        llm_mem_free(d->clean.p);
    }
    llm_mem_free(d);
}
