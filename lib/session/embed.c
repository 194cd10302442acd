/*
 * Sentence embeddings: tokenize many texts, pack them into batches without padding, run the
 * architecture's encode() on each batch (every sequence attends only to itself), then pool each
 * sequence's token vectors into one embedding (mean, CLS, last or max) and optionally
 * L2-normalize it. Also the token-level path (pooling none) for one sequence of ids.
 *
 * What it does not do: it never splits one sequence over two batches (attention is
 * bidirectional, so a sequence must be whole), and it keeps no state between calls: the
 * session's decoder context is untouched for encoder models. For an encoder-decoder model the
 * encoder output in the session is overwritten, so the session is reset afterwards.
 *
 * Results are independent of batching and of the thread count: a token's hidden state depends
 * only on its own sequence, and pooling sums in a fixed (token) order in double precision.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "session/session.h"

/* Size of the first published version of each struct (the ABI floor). */
#define EMBED_OPTIONS_V1 (offsetof(llm_embed_options, add_special) + sizeof(int32_t))
#define EMBED_RESULT_V1 (offsetof(llm_embed_result, n_tokens) + sizeof(uint64_t))

void llm_embed_options_init(llm_embed_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->pooling = LLM_POOLING_MODEL;
    opt->normalize = -1;
    opt->truncate = 0;
    opt->add_special = 1;
}

// ------------------------------------------------------------------------------------------------
// options and pooling
// ------------------------------------------------------------------------------------------------

/* What one call does, after the options met the model. */
typedef struct embed_plan {
    llm_embed_options opt;
    int pooling;          /* resolved llm_pooling, never LLM_POOLING_MODEL */
    int normalize;        /* resolved 0/1 */
    uint32_t dim;         /* n_embd */
    uint32_t batch_cap;   /* tokens per encode() call */
    uint32_t seq_limit;   /* tokens one sequence may have */
    bool one_per_batch;   /* encoder-decoder: encode() takes a single sequence */
} embed_plan;

static llm_status embed_prepare(llm_session *s, const llm_embed_options *user, embed_plan *p,
                                llm_error *err)
{
    const llm_model *m = s->model;
    const llm_hparams *hp = &m->hp;
    memset(p, 0, sizeof *p);
    llm_embed_options_init(&p->opt);
    if (user)
        LLM_TRY(llm_copy_options(&p->opt, sizeof p->opt, user, EMBED_OPTIONS_V1,
                                 "llm_embed_options", err));
    LLM_CHECK(err, m->ops && m->ops->encode && hp->family != LLM_FAMILY_DECODER,
              LLM_ERR_UNSUPPORTED,
              "embeddings need an encoder; '%s' is a decoder-only model",
              m->ops && m->ops->name ? m->ops->name : "this");
    LLM_CHECK(err, p->opt.pooling >= LLM_POOLING_MODEL && p->opt.pooling <= LLM_POOLING_MAX,
              LLM_ERR_INVALID_ARG,
              "llm_embed_options.pooling is %d, expected -1 (model) or 0..4 (none, mean, cls, "
              "last, max)",
              (int)p->opt.pooling);
    LLM_CHECK(err, p->opt.normalize >= -1 && p->opt.normalize <= 1, LLM_ERR_INVALID_ARG,
              "llm_embed_options.normalize is %d, expected -1 (model), 0 or 1",
              (int)p->opt.normalize);

    p->pooling = p->opt.pooling;
    if (p->pooling == LLM_POOLING_MODEL) {
        p->pooling = hp->pooling;
        /* Encoder-decoder files say nothing about pooling; sentence-T5 averages. */
        if (p->pooling == LLM_POOLING_NONE && hp->family == LLM_FAMILY_ENCODER_DECODER)
            p->pooling = LLM_POOLING_MEAN;
    }
    if (p->opt.normalize >= 0)
        p->normalize = p->opt.normalize;
    else /* the model's Normalize module applies to sentence embeddings, not token vectors */
        p->normalize = p->pooling != LLM_POOLING_NONE && hp->normalize ? 1 : 0;

    p->dim = hp->n_embd;
    const llm_run *r = &s->run;
    p->batch_cap = r->n_batch > r->n_ctx ? r->n_batch : r->n_ctx;
    if (p->batch_cap == 0)
        p->batch_cap = 1;
    p->seq_limit = hp->n_ctx_train && hp->n_ctx_train < p->batch_cap ? hp->n_ctx_train
                                                                     : p->batch_cap;
    p->one_per_batch = hp->family == LLM_FAMILY_ENCODER_DECODER;
    return LLM_OK;
}

/* The result struct is filled as far as the caller's struct_size reaches. */
static llm_status check_result(const llm_embed_result *res, llm_error *err)
{
    LLM_CHECK(err, !res || res->struct_size >= EMBED_RESULT_V1, LLM_ERR_ABI,
              "llm_embed_result.struct_size is %zu, at least %zu expected (set it to "
              "sizeof(llm_embed_result))",
              res ? res->struct_size : (size_t)0, (size_t)EMBED_RESULT_V1);
    return LLM_OK;
}

static void put_result(llm_embed_result *res, const embed_plan *p, uint64_t n_tokens)
{
    if (!res)
        return;
    res->pooling = p->pooling;
    res->normalized = p->normalize;
    res->n_tokens = n_tokens;
}

/* v (dim) /= ||v||₂; an all-zero vector stays zero. */
static void l2_normalize(float *v, uint32_t dim)
{
    double ss = 0;
    for (uint32_t i = 0; i < dim; i++)
        ss += (double)v[i] * v[i];
    if (ss <= 0)
        return;
    const double inv = 1.0 / sqrt(ss);
    for (uint32_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] * inv);
}

/* out (dim) = pooling of h (n, dim), n >= 1. */
static void pool_sequence(float *out, const float *h, uint32_t n, uint32_t dim, int pooling,
                          int normalize)
{
    switch (pooling) {
    case LLM_POOLING_CLS:
        memcpy(out, h, dim * sizeof(float));
        break;
    case LLM_POOLING_LAST:
        memcpy(out, h + (size_t)(n - 1) * dim, dim * sizeof(float));
        break;
    case LLM_POOLING_MAX:
        memcpy(out, h, dim * sizeof(float));
        for (uint32_t t = 1; t < n; t++)
            for (uint32_t i = 0; i < dim; i++)
                if (h[(size_t)t * dim + i] > out[i])
                    out[i] = h[(size_t)t * dim + i];
        break;
    case LLM_POOLING_MEAN:
    default:
        for (uint32_t i = 0; i < dim; i++) {
            double acc = 0;
            for (uint32_t t = 0; t < n; t++)
                acc += h[(size_t)t * dim + i];
            out[i] = (float)(acc / n);
        }
        break;
    }
    if (normalize)
        l2_normalize(out, dim);
}

// ------------------------------------------------------------------------------------------------
// batches of texts
// ------------------------------------------------------------------------------------------------

typedef struct embed_batch {
    int32_t *ids;          /* (batch_cap) packed token ids */
    uint32_t *seq_start;   /* (batch_cap + 1) */
    size_t *seq_text;      /* (batch_cap) index of the text of each sequence */
    float *hidden;         /* (batch_cap, dim) */
    uint32_t n_seq;
    uint32_t n_tok;
} embed_batch;

static void batch_free(embed_batch *b)
{
    llm_mem_free(b->ids);
    llm_mem_free(b->seq_start);
    llm_mem_free(b->seq_text);
    llm_aligned_free(b->hidden);
}

static llm_status batch_alloc(embed_batch *b, const embed_plan *p, llm_error *err)
{
    memset(b, 0, sizeof *b);
    b->ids = llm_calloc(p->batch_cap, sizeof *b->ids);
    b->seq_start = llm_calloc((size_t)p->batch_cap + 1, sizeof *b->seq_start);
    b->seq_text = llm_calloc(p->batch_cap, sizeof *b->seq_text);
    b->hidden = llm_aligned_alloc((size_t)p->batch_cap * p->dim * sizeof(float));
    if (!b->ids || !b->seq_start || !b->seq_text || !b->hidden) {
        batch_free(b);
        return llm_error_set(err, LLM_ERR_NOMEM,
                             "out of memory for an embedding batch of %u tokens x %u floats",
                             p->batch_cap, p->dim);
    }
    return LLM_OK;
}

/* Encodes the packed sequences and pools each into its text's row of out. */
static llm_status batch_flush(llm_session *s, embed_batch *b, const embed_plan *p, float *out,
                              llm_error *err)
{
    if (b->n_seq == 0)
        return LLM_OK;
    LLM_CHECK(err, !atomic_exchange(&s->cancel, false), LLM_ERR_CANCELLED, "embedding cancelled");
    LLM_TRY(s->model->ops->encode(&s->run, b->ids, b->seq_start, b->n_seq, b->hidden, err));
    for (uint32_t q = 0; q < b->n_seq; q++) {
        const uint32_t t0 = b->seq_start[q], n = b->seq_start[q + 1] - t0;
        pool_sequence(out + b->seq_text[q] * p->dim, b->hidden + (size_t)t0 * p->dim, n, p->dim,
                      p->pooling, p->normalize);
    }
    b->n_seq = 0;
    b->n_tok = 0;
    b->seq_start[0] = 0;
    return LLM_OK;
}

/* Cuts ids (n > limit) to limit tokens, keeping a closing special token ([SEP], </s>) last. */
static size_t truncate_ids(const llm_tokenizer *tok, int32_t *ids, size_t n, size_t limit,
                           bool added_special)
{
    if (n <= limit || limit == 0)
        return n < limit ? n : limit;
    if (added_special) {
        const int32_t last = ids[n - 1];
        if (last >= 0 && (last == llm_tokenizer_special(tok, LLM_TOKEN_SEP) ||
                          last == llm_tokenizer_special(tok, LLM_TOKEN_EOS)))
            ids[limit - 1] = last;
    }
    return limit;
}

static llm_status tokenize_text(const llm_tokenizer *tok, const char *text, uint32_t flags,
                                size_t index, int32_t **buf, size_t *cap, size_t *n,
                                llm_error *err)
{
    const size_t len = strlen(text);
    for (int attempt = 0; attempt < 2; attempt++) {
        llm_status st = llm_tokenizer_encode(tok, text, len, flags, *buf, *cap, n);
        if (st == LLM_OK)
            return LLM_OK;
        if (st != LLM_ERR_BUFFER_TOO_SMALL || attempt == 1)
            return llm_error_set(err, st, "text %zu: tokenizing failed: %s", index,
                                 llm_last_error());
        size_t want = *n + 16;
        int32_t *nb = llm_realloc(*buf, want * sizeof *nb);
        LLM_CHECK(err, nb != NULL, LLM_ERR_NOMEM, "text %zu: out of memory for %zu token ids",
                  index, want);
        *buf = nb;
        *cap = want;
    }
    return LLM_OK;
}

static llm_status embed_texts(llm_session *s, const char *const *texts, size_t n_texts,
                              const embed_plan *p, float *out, uint64_t *n_tokens,
                              llm_error *err)
{
    const llm_tokenizer *tok = s->model->tok;
    LLM_CHECK(err, tok != NULL, LLM_ERR_STATE, "the model has no tokenizer; use "
                                               "llm_session_embed_ids with token ids");
    const uint32_t flags = p->opt.add_special ? LLM_ENCODE_ADD_SPECIAL : 0;
    embed_batch b;
    LLM_TRY(batch_alloc(&b, p, err));
    size_t tcap = 256, n = 0;
    int32_t *tbuf = llm_malloc(tcap * sizeof *tbuf);
    llm_status st = tbuf ? LLM_OK
                         : llm_error_set(err, LLM_ERR_NOMEM, "out of memory for token ids");
    for (size_t i = 0; st == LLM_OK && i < n_texts; i++) {
        if (!texts[i]) {
            st = llm_error_set(err, LLM_ERR_INVALID_ARG, "texts[%zu] is NULL", i);
            break;
        }
        st = tokenize_text(tok, texts[i], flags, i, &tbuf, &tcap, &n, err);
        if (st != LLM_OK)
            break;
        if (n == 0) {
            st = llm_error_set(err, LLM_ERR_INVALID_ARG,
                               "text %zu gives no tokens, so it has no embedding", i);
            break;
        }
        if (n > p->seq_limit) {
            if (!p->opt.truncate) {
                st = llm_error_set(err, LLM_ERR_TOO_LONG,
                                   "text %zu has %zu tokens; at most %u fit (model context %u, "
                                   "session n_ctx/n_batch %u); set truncate to cut it",
                                   i, n, p->seq_limit, s->model->hp.n_ctx_train, p->batch_cap);
                break;
            }
            n = truncate_ids(tok, tbuf, n, p->seq_limit, p->opt.add_special != 0);
        }
        if (b.n_seq > 0 && (b.n_tok + n > p->batch_cap || p->one_per_batch)) {
            st = batch_flush(s, &b, p, out, err);
            if (st != LLM_OK)
                break;
        }
        memcpy(b.ids + b.n_tok, tbuf, n * sizeof *tbuf);
        b.seq_text[b.n_seq] = i;
        b.n_tok += (uint32_t)n;
        b.seq_start[++b.n_seq] = b.n_tok;
        *n_tokens += n;
    }
    if (st == LLM_OK)
        st = batch_flush(s, &b, p, out, err);
    llm_mem_free(tbuf);
    batch_free(&b);
    return st;
}

// ------------------------------------------------------------------------------------------------
// public entry points
// ------------------------------------------------------------------------------------------------

llm_status llm_session_embed(llm_session *s, const char *const *texts, size_t n_texts,
                             const llm_embed_options *opt, float *out, size_t cap,
                             llm_embed_result *result)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    llm_error err;
    llm_error_clear(&err);
    embed_plan p;
    if (embed_prepare(s, opt, &p, &err) != LLM_OK || check_result(result, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    if (n_texts > 0 && (!texts || !out)) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG, "%s is NULL with %zu texts",
                      !texts ? "texts" : "out", n_texts);
        return llm_session_fail(s, &err);
    }
    if (p.pooling == LLM_POOLING_NONE) {
        llm_error_set(&err, LLM_ERR_STATE,
                      "pooling is none (%s), which gives one vector per token; use "
                      "llm_session_embed_ids for token vectors or choose a pooling",
                      p.opt.pooling == LLM_POOLING_MODEL ? "the model defines no pooling"
                                                         : "as requested");
        return llm_session_fail(s, &err);
    }
    if (n_texts > SIZE_MAX / p.dim || cap < n_texts * p.dim) {
        llm_error_set(&err, LLM_ERR_BUFFER_TOO_SMALL,
                      "out has room for %zu floats, %zu texts x %u dims need %zu", cap, n_texts,
                      p.dim, n_texts * (size_t)p.dim);
        return llm_session_fail(s, &err);
    }
    uint64_t n_tokens = 0;
    llm_status st = embed_texts(s, texts, n_texts, &p, out, &n_tokens, &err);
    if (p.one_per_batch && n_texts > 0)
        llm_session_reset(s);
    if (st != LLM_OK)
        return llm_session_fail(s, &err);
    put_result(result, &p, n_tokens);
    return LLM_OK;
}

llm_status llm_session_embed_ids(llm_session *s, const int32_t *ids, size_t n,
                                 const llm_embed_options *opt, float *out, size_t cap,
                                 llm_embed_result *result)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    llm_error err;
    llm_error_clear(&err);
    embed_plan p;
    if (embed_prepare(s, opt, &p, &err) != LLM_OK || check_result(result, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    if (!ids || n == 0 || !out) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG,
                      "%s", !out ? "out is NULL"
                                                        : "needs at least one token id");
        return llm_session_fail(s, &err);
    }
    if (n > p.seq_limit && !p.opt.truncate) {
        llm_error_set(&err, LLM_ERR_TOO_LONG,
                      "%zu token ids; at most %u fit (model context %u, session n_ctx/n_batch "
                      "%u); set truncate to cut them",
                      n, p.seq_limit, s->model->hp.n_ctx_train, p.batch_cap);
        return llm_session_fail(s, &err);
    }
    if (n > p.seq_limit)
        n = p.seq_limit;
    const bool tokens = p.pooling == LLM_POOLING_NONE;
    const size_t need = tokens ? n * p.dim : p.dim;
    if (cap < need) {
        llm_error_set(&err, LLM_ERR_BUFFER_TOO_SMALL,
                      "out has room for %zu floats, %zu needed (%s)", cap, need,
                      tokens ? "pooling none: one vector per token" : "one pooled vector");
        return llm_session_fail(s, &err);
    }
    uint32_t seq_start[2] = {0, (uint32_t)n};
    float *hidden = tokens ? out : llm_aligned_alloc(n * p.dim * sizeof(float));
    if (!hidden) {
        llm_error_set(&err, LLM_ERR_NOMEM, "out of memory for %zu x %u hidden states", n, p.dim);
        return llm_session_fail(s, &err);
    }
    llm_status st = s->model->ops->encode(&s->run, ids, seq_start, 1, hidden, &err);
    if (st == LLM_OK) {
        if (tokens) {
            if (p.normalize)
                for (size_t t = 0; t < n; t++)
                    l2_normalize(out + t * p.dim, p.dim);
        } else {
            pool_sequence(out, hidden, (uint32_t)n, p.dim, p.pooling, p.normalize);
        }
    }
    if (!tokens)
        llm_aligned_free(hidden);
    if (p.one_per_batch)
        llm_session_reset(s);
    if (st != LLM_OK)
        return llm_session_fail(s, &err);
    put_result(result, &p, n);
    return LLM_OK;
}
