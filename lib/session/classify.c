/*
 * The encoder task heads at inference (model.h, llm_heads): sequence classification on the
 * pooled output and fill-mask with the masked-LM head. Both run the encoder through the
 * embedding path (embed.c: packed batches, no padding) and then the small head here. They are
 * one-shot calls, not a generation loop: the few buffers they need are allocated per call.
 *
 *   classification  z = pool(h)                 (the model's pooling, not normalized), or
 *                   z = tanh(Wp · h_CLS + bp)   (BertForSequenceClassification's pooler)
 *                   logits = Wc · z + bc;  probs = softmax | sigmoid | identity (llm_classifier)
 *   masked LM       g = LayerNorm(gelu(Wd · h_mask + bd));  logits = E · g + b  (E: token_embd)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "session/session.h"
#include "tokenizer/tokenizer.h"

/* y (N) = W (N, K) · x (K) + b, accumulated in double (W f32). */
static void small_matvec(float *y, const llm_weight *W, const float *b, const float *x)
{
    const float *w = W->data;
    for (int64_t n = 0; n < W->rows; n++) {
        double acc = b ? (double)b[n] : 0.0;
        for (int64_t k = 0; k < W->cols; k++)
            acc += (double)w[n * W->cols + k] * (double)x[k];
        y[n] = (float)acc;
    }
}

static void head_logits(const llm_heads *h, const float *pooled, float *logits, float *tmp)
{
    if (h->cls == LLM_CLS_POOLER) {
        small_matvec(tmp, &h->pooler, h->pooler_b, pooled);
        for (int64_t i = 0; i < h->pooler.rows; i++)
            tmp[i] = tanhf(tmp[i]);
        pooled = tmp;
    }
    small_matvec(logits, &h->cls_out, h->cls_out_b, pooled);
}

static void head_probs(int32_t problem, const float *logits, float *probs, uint32_t L)
{
    if (problem == LLM_CLASSIFIER_SINGLE_LABEL) {
        float mx = logits[0];
        for (uint32_t j = 1; j < L; j++)
            mx = logits[j] > mx ? logits[j] : mx;
        double sum = 0.0;
        for (uint32_t j = 0; j < L; j++)
            sum += exp((double)logits[j] - mx);
        for (uint32_t j = 0; j < L; j++)
            probs[j] = (float)(exp((double)logits[j] - mx) / sum);
    } else if (problem == LLM_CLASSIFIER_MULTI_LABEL) {
        for (uint32_t j = 0; j < L; j++)
            probs[j] = (float)(1.0 / (1.0 + exp(-(double)logits[j])));
    } else {
        memcpy(probs, logits, L * sizeof *probs);
    }
}

static llm_status check_head(llm_session *s, size_t n, float *probs, float *logits, size_t cap,
                             llm_error *err)
{
    const llm_heads *h = &s->model->heads;
    LLM_CHECK(err, h->cls != LLM_CLS_NONE, LLM_ERR_UNSUPPORTED,
              "%s has no classification head (tensors cls_head.* or cls.output.*, from a "
              "BertForSequenceClassification folder)",
              s->model->path);
    LLM_CHECK(err, probs || logits, LLM_ERR_INVALID_ARG, "probs and logits are both NULL");
    LLM_CHECK(err, cap >= n * h->n_labels, LLM_ERR_BUFFER_TOO_SMALL,
              "room for %zu floats, %zu needed (%zu inputs x %u labels)", cap,
              n * h->n_labels, n, h->n_labels);
    return LLM_OK;
}

/* The head over pooled vectors (n, E). */
static llm_status finish(llm_session *s, const float *pooled, size_t n, float *probs,
                         float *logits, llm_error *err)
{
    const llm_heads *h = &s->model->heads;
    const uint32_t L = h->n_labels, E = s->model->hp.n_embd;
    float *tmp = llm_malloc(((size_t)E + L) * sizeof *tmp);
    LLM_CHECK(err, tmp, LLM_ERR_NOMEM, "out of memory");
    float *lg = tmp + E;
    for (size_t t = 0; t < n; t++) {
        head_logits(h, pooled + t * E, lg, tmp);
        if (logits)
            memcpy(logits + t * L, lg, L * sizeof *lg);
        if (probs)
            head_probs(h->problem, lg, probs + t * L, L);
    }
    llm_mem_free(tmp);
    return LLM_OK;
}

static void head_embed_options(const llm_session *s, llm_embed_options *o)
{
    llm_embed_options_init(o);
    o->normalize = 0;
    /* the pooler reads the [CLS] row; the linear head the model's own pooling */
    o->pooling = s->model->heads.cls == LLM_CLS_POOLER ? LLM_POOLING_CLS : LLM_POOLING_MODEL;
}

llm_status llm_session_classify(llm_session *s, const char *const *texts, size_t n_texts,
                                float *probs, float *logits, size_t cap)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_session_classify: session is NULL");
    llm_error err = {0};
    if (check_head(s, n_texts, probs, logits, cap, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    if (!texts || n_texts == 0) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG, "llm_session_classify: no texts");
        return llm_session_fail(s, &err);
    }
    const size_t E = s->model->hp.n_embd;
    float *pooled = llm_malloc(n_texts * E * sizeof *pooled);
    if (!pooled) {
        llm_error_set(&err, LLM_ERR_NOMEM, "out of memory for %zu pooled vectors", n_texts);
        return llm_session_fail(s, &err);
    }
    llm_embed_options o;
    head_embed_options(s, &o);
    llm_status st = llm_session_embed(s, texts, n_texts, &o, pooled, n_texts * E, NULL);
    if (st == LLM_OK && finish(s, pooled, n_texts, probs, logits, &err) != LLM_OK)
        st = llm_session_fail(s, &err);
    llm_mem_free(pooled);
    return st;
}

llm_status llm_session_classify_ids(llm_session *s, const int32_t *ids, size_t n, float *probs,
                                    float *logits, size_t cap)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_session_classify_ids: session is NULL");
    llm_error err = {0};
    if (check_head(s, 1, probs, logits, cap, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    const size_t E = s->model->hp.n_embd;
    float *pooled = llm_malloc(E * sizeof *pooled);
    if (!pooled) {
        llm_error_set(&err, LLM_ERR_NOMEM, "out of memory");
        return llm_session_fail(s, &err);
    }
    llm_embed_options o;
    head_embed_options(s, &o);
    llm_status st = llm_session_embed_ids(s, ids, n, &o, pooled, E, NULL);
    if (st == LLM_OK && finish(s, pooled, 1, probs, logits, &err) != LLM_OK)
        st = llm_session_fail(s, &err);
    llm_mem_free(pooled);
    return st;
}

// ------------------------------------------------------------------------------------------------
// fill-mask

/* The k largest of x (n), best first (lowest id on ties). */
static void top_k(const float *x, size_t n, size_t k, int32_t *ids, float *vals)
{
    for (size_t j = 0; j < k; j++) {
        ids[j] = -1;
        vals[j] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > vals[k - 1]) && ids[k - 1] >= 0)
            continue;
        size_t j = k - 1;
        while (j > 0 && (x[i] > vals[j - 1] || ids[j - 1] < 0)) {
            vals[j] = vals[j - 1];
            ids[j] = ids[j - 1];
            j--;
        }
        vals[j] = x[i];
        ids[j] = (int32_t)i;
    }
}

static llm_status fill_mask(llm_session *s, const char *text, size_t k, int32_t *out_ids,
                            float *out_probs, size_t cap, size_t *n_masks, llm_error *err)
{
    const struct llm_model *m = s->model;
    const llm_heads *h = &m->heads;
    LLM_CHECK(err, h->mlm, LLM_ERR_UNSUPPORTED,
              "%s has no masked-LM head (a BertForMaskedLM folder's cls.predictions)", m->path);
    LLM_CHECK(err, text, LLM_ERR_INVALID_ARG, "text is NULL");
    const int32_t mask = llm_tokenizer_special(m->tok, LLM_TOKEN_MASK);
    LLM_CHECK(err, mask >= 0, LLM_ERR_UNSUPPORTED, "the tokenizer has no mask token");
    const uint32_t flags = LLM_ENCODE_ADD_SPECIAL | LLM_ENCODE_PARSE_SPECIAL;
    size_t n = 0;
    llm_tokenizer_encode(m->tok, text, strlen(text), flags, NULL, 0, &n);
    int32_t *ids = llm_malloc((n ? n : 1) * sizeof *ids);
    LLM_CHECK(err, ids, LLM_ERR_NOMEM, "out of memory");
    llm_status st = llm_tokenizer_encode(m->tok, text, strlen(text), flags, ids, n, &n);
    size_t nm = 0;
    for (size_t i = 0; i < n; i++)
        nm += ids[i] == mask;
    *n_masks = nm;
    if (st == LLM_OK && nm == 0) {
        const char *piece = llm_tokenizer_piece(m->tok, mask, NULL);
        st = llm_error_set(err, LLM_ERR_INVALID_ARG, "the text has no mask token (%s)",
                           piece ? piece : "?");
    }
    if (st != LLM_OK || (!out_ids && !out_probs)) {
        llm_mem_free(ids);
        return st;
    }
    if (k == 0 || cap < nm * k) {
        llm_mem_free(ids);
        return k == 0 ? llm_error_set(err, LLM_ERR_INVALID_ARG, "k is 0")
                      : llm_error_set(err, LLM_ERR_BUFFER_TOO_SMALL,
                                      "room for %zu entries, %zu needed (%zu masks x %zu)", cap,
                                      nm * k, nm, k);
    }
    const int64_t E = m->hp.n_embd, V = h->mlm_out.rows;
    if ((size_t)k > (size_t)V)
        k = (size_t)V;
    float *hid = llm_malloc((size_t)n * E * sizeof *hid);          /* (n, E) */
    float *g = llm_malloc((size_t)nm * E * 2 * sizeof *g);          /* (nm, E) twice */
    float *lg = llm_malloc((size_t)nm * V * sizeof *lg);            /* (nm, V) */
    const size_t sb = llm_op_matmul_scratch(h->mlm_out.type, (int64_t)nm, E);
    void *scratch = sb ? llm_aligned_alloc(sb) : NULL;
    int32_t *top = llm_malloc(k * sizeof *top);
    float *topv = llm_malloc(k * sizeof *topv);
    if (!hid || !g || !lg || (sb && !scratch) || !top || !topv) {
        st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        goto done;
    }
    llm_embed_options o;
    llm_embed_options_init(&o);
    o.pooling = LLM_POOLING_NONE;
    o.normalize = 0;
    if ((st = llm_session_embed_ids(s, ids, n, &o, hid, (size_t)n * E, NULL)) != LLM_OK) {
        *err = s->err;
        goto done;
    }
    /* the masked rows through the transform: dense, GELU (erf), LayerNorm */
    float *x = g + (size_t)nm * E;
    for (size_t i = 0, r = 0; i < n; i++)
        if (ids[i] == mask)
            small_matvec(x + (r++) * E, &h->mlm_dense, h->mlm_dense_b, hid + i * E);
    llm_op_gelu_erf(x, (int64_t)nm * E);
    llm_op_layernorm(g, x, h->mlm_norm_w, h->mlm_norm_b, (int64_t)nm, E, h->mlm_eps);
    llm_compute c = {.pool = s->pool, .scratch = scratch, .scratch_bytes = sb};
    llm_op_matmul(&c, lg, g, &h->mlm_out, h->mlm_out_b, (int64_t)nm);  /* (nm, V) */
    for (size_t r = 0; r < nm; r++) {
        float *row = lg + r * V;
        llm_op_softmax(row, V);
        top_k(row, (size_t)V, k, top, topv);
        for (size_t j = 0; j < k; j++) {
            if (out_ids)
                out_ids[r * k + j] = top[j];
            if (out_probs)
                out_probs[r * k + j] = topv[j];
        }
    }
done:
    llm_mem_free(ids);
    llm_mem_free(hid);
    llm_mem_free(g);
    llm_mem_free(lg);
    llm_aligned_free(scratch);
    llm_mem_free(top);
    llm_mem_free(topv);
    return st;
}

llm_status llm_session_fill_mask(llm_session *s, const char *text, size_t k, int32_t *ids,
                                 float *probs, size_t cap, size_t *n_masks)
{
    size_t dummy = 0;
    if (!n_masks)
        n_masks = &dummy;
    *n_masks = 0;
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_session_fill_mask: session is NULL");
    llm_error err = {0};
    if (fill_mask(s, text, k, ids, probs, cap, n_masks, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    return LLM_OK;
}
