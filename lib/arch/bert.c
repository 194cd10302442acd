/*
 * BERT-family encoders (BERT, BGE, MiniLM, E5, ... in llama.cpp's GGUF conventions): post-norm
 * transformer blocks over token + token-type + absolute-position embeddings, bidirectional
 * attention and an exact-erf GELU feed-forward (as Hugging Face's BertIntermediate computes it).
 *
 *   x = LN_embd(tok_embd[id] + token_types[0] + position_embd[pos])
 *   per block:  x = LN_attn(x + O·attn(Q x, K x, V x))
 *               x = LN_out (x + down·gelu(up·x))
 *
 * encode() runs several sequences packed into one batch without padding: every position-wise
 * step (embeddings, projections, norms, FFN) runs on all tokens at once; attention runs once per
 * sequence, so a token only ever sees its own sequence and positions restart at 0 for each.
 * Pooling and normalization are not done here (session/embed.c); this file only produces the
 * last layer's hidden states. There is no decode: an encoder has no KV cache and no LM head.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adapter/lora_apply.h"
#include "arch/arch.h"
#include "common/alloc.h"
#include "common/dtype.h"

/* ---------------------------------------------------------------------------------------------- */
/* weights                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

typedef struct bert_layer {
    llm_weight q, k, v, o;          /* (E, E) each */
    const float *bq, *bk, *bv, *bo; /* (E), NULL when the file has none */
    const float *attn_norm_w, *attn_norm_b;   /* attn_output_norm (E) */
    llm_weight up;                  /* (n_ff, E) */
    llm_weight down;                /* (E, n_ff) */
    const float *bup, *bdown;       /* (n_ff), (E), NULL when absent */
    const float *out_norm_w, *out_norm_b;     /* layer_output_norm (E) */
} bert_layer;

typedef struct bert_weights {
    llm_weight tok_embd;            /* (n_vocab, E) */
    llm_weight type_embd;           /* (n_token_types, E); data NULL when the file has none */
    llm_weight pos_embd;            /* (n_ctx_train, E) */
    const float *embd_norm_w, *embd_norm_b;   /* (E) */
    bool causal;                    /* bert.attention.causal = true (rare; attention is masked) */
    bert_layer *layers;             /* (n_layer) */
} bert_weights;

static const llm_gguf_tensor *find_tensor(const llm_model *m, const char *name)
{
    return llm_gguf_find_tensor(m->gguf, name);
}

/* Binds an optional bias vector: NULL when absent, shape-checked when present. */
static llm_status bind_opt_vec(llm_model *m, const float **out, const char *name, int64_t n,
                               llm_error *err)
{
    *out = NULL;
    if (!llm_model_has(m, name))
        return LLM_OK;
    return llm_model_bind_vec(m, out, name, n, err);
}

static llm_status read_u32(const llm_model *m, const char *key, uint32_t *out, llm_error *err)
{
    LLM_CHECK(err, llm_gguf_get_u32(m->gguf, key, out), LLM_ERR_FORMAT,
              "missing or non-integer metadata key '%s' (required by the bert architecture)",
              key);
    return LLM_OK;
}

static llm_status bert_read_hparams(llm_model *m, bool *causal, llm_error *err)
{
    llm_hparams *hp = &m->hp;
    hp->arch = LLM_ARCH_BERT;
    hp->family = LLM_FAMILY_ENCODER;
    hp->ffn = LLM_FFN_GELU_ERF;
    LLM_TRY(read_u32(m, "bert.embedding_length", &hp->n_embd, err));
    LLM_TRY(read_u32(m, "bert.block_count", &hp->n_layer, err));
    LLM_TRY(read_u32(m, "bert.attention.head_count", &hp->n_head, err));
    LLM_TRY(read_u32(m, "bert.feed_forward_length", &hp->n_ff, err));
    LLM_TRY(read_u32(m, "bert.context_length", &hp->n_ctx_train, err));
    LLM_CHECK(err, hp->n_embd > 0 && hp->n_layer > 0 && hp->n_head > 0 && hp->n_ff > 0 &&
                       hp->n_ctx_train > 0,
              LLM_ERR_FORMAT,
              "bert hyper-parameters must be positive: embedding_length %u, block_count %u, "
              "head_count %u, feed_forward_length %u, context_length %u",
              hp->n_embd, hp->n_layer, hp->n_head, hp->n_ff, hp->n_ctx_train);
    LLM_CHECK(err, hp->n_embd % hp->n_head == 0, LLM_ERR_FORMAT,
              "bert.embedding_length %u is not a multiple of bert.attention.head_count %u",
              hp->n_embd, hp->n_head);
    /* Generous sanity bounds so that later size arithmetic cannot overflow. */
    LLM_CHECK(err, hp->n_embd <= 65536 && hp->n_ff <= 1048576 && hp->n_layer <= 4096 &&
                       hp->n_ctx_train <= 1048576,
              LLM_ERR_FORMAT,
              "bert hyper-parameters out of range: embedding_length %u, feed_forward_length %u, "
              "block_count %u, context_length %u",
              hp->n_embd, hp->n_ff, hp->n_layer, hp->n_ctx_train);
    hp->n_head_kv = hp->n_head;
    hp->head_dim = hp->n_embd / hp->n_head;
    hp->n_layer_enc = 0;

    hp->norm_eps = 1e-12f; /* HF BertConfig.layer_norm_eps default */
    if (llm_gguf_find_key(m->gguf, "bert.attention.layer_norm_epsilon") >= 0)
        LLM_CHECK(err, llm_gguf_get_f32(m->gguf, "bert.attention.layer_norm_epsilon",
                                        &hp->norm_eps) &&
                           hp->norm_eps >= 0.0f && isfinite(hp->norm_eps),
                  LLM_ERR_FORMAT,
                  "metadata 'bert.attention.layer_norm_epsilon' must be a finite number >= 0");

    /* llama.cpp's pooling numbering: 0 none, 1 mean, 2 cls, 3 last (4 = rank needs a classifier
     * head we do not run). Absent means none, as in llama.cpp. */
    hp->pooling = LLM_POOLING_NONE;
    if (llm_gguf_find_key(m->gguf, "bert.pooling_type") >= 0) {
        int64_t p = -1;
        LLM_CHECK(err, llm_gguf_get_i64(m->gguf, "bert.pooling_type", &p), LLM_ERR_FORMAT,
                  "metadata 'bert.pooling_type' is not an integer");
        LLM_CHECK(err, p >= 0 && p <= 3, LLM_ERR_UNSUPPORTED,
                  "bert.pooling_type %lld is not supported (0 none, 1 mean, 2 cls, 3 last)",
                  (long long)p);
        hp->pooling = (int32_t)p;
    }
    /* The Hugging Face importer also records the pooling in llm_pooling numbering, which can say
     * max (4), a sentence-transformers mode llama.cpp's key has no value for. */
    if (llm_gguf_find_key(m->gguf, "llm.pooling_type") >= 0) {
        int64_t p = -1;
        LLM_CHECK(err, llm_gguf_get_i64(m->gguf, "llm.pooling_type", &p) && p >= 0 &&
                           p <= LLM_POOLING_MAX,
                  LLM_ERR_FORMAT,
                  "metadata 'llm.pooling_type' must be 0..4 (none, mean, cls, last, max)");
        hp->pooling = (int32_t)p;
    }
    bool b = false;
    hp->normalize = 0;
    if (llm_gguf_find_key(m->gguf, "llm.normalize") >= 0) {
        LLM_CHECK(err, llm_gguf_get_bool(m->gguf, "llm.normalize", &b), LLM_ERR_FORMAT,
                  "metadata 'llm.normalize' is not a bool");
        hp->normalize = b ? 1 : 0;
    }
    *causal = false;
    if (llm_gguf_find_key(m->gguf, "bert.attention.causal") >= 0) {
        LLM_CHECK(err, llm_gguf_get_bool(m->gguf, "bert.attention.causal", &b), LLM_ERR_FORMAT,
                  "metadata 'bert.attention.causal' is not a bool");
        *causal = b;
    }

    const llm_gguf_tensor *t = find_tensor(m, "token_embd.weight");
    LLM_CHECK(err, t != NULL, LLM_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    LLM_CHECK(err, t->n_dims == 2 && t->ne[0] == hp->n_embd && t->ne[1] > 0 &&
                       t->ne[1] <= INT32_MAX,
              LLM_ERR_FORMAT,
              "tensor 'token_embd.weight' has shape [%llu,%llu], expected [%u,n_vocab]",
              (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], hp->n_embd);
    hp->n_vocab = (uint32_t)t->ne[1];

    hp->n_token_types = 0;
    t = find_tensor(m, "token_types.weight");
    if (t) {
        LLM_CHECK(err, t->n_dims == 2 && t->ne[0] == hp->n_embd && t->ne[1] >= 1 &&
                           t->ne[1] <= 65536,
                  LLM_ERR_FORMAT,
                  "tensor 'token_types.weight' has shape [%llu,%llu], expected [%u,n_types]",
                  (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], hp->n_embd);
        hp->n_token_types = (uint32_t)t->ne[1];
    }
    return LLM_OK;
}

static llm_status bert_bind(llm_model *m, bert_weights *w, llm_error *err)
{
    const llm_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff;
    char name[96];

    LLM_TRY(llm_model_bind(m, &w->tok_embd, "token_embd.weight", E, hp->n_vocab, err));
    if (hp->n_token_types > 0)
        LLM_TRY(llm_model_bind(m, &w->type_embd, "token_types.weight", E, hp->n_token_types,
                               err));
    LLM_TRY(llm_model_bind(m, &w->pos_embd, "position_embd.weight", E, hp->n_ctx_train, err));
    LLM_TRY(llm_model_bind_vec(m, &w->embd_norm_w, "token_embd_norm.weight", E, err));
    LLM_TRY(llm_model_bind_vec(m, &w->embd_norm_b, "token_embd_norm.bias", E, err));

    for (uint32_t il = 0; il < hp->n_layer; il++) {
        bert_layer *l = &w->layers[il];
#define BERT_NAME(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
        LLM_TRY(llm_model_bind(m, &l->q, BERT_NAME("attn_q.weight"), E, E, err));
        LLM_TRY(llm_model_bind(m, &l->k, BERT_NAME("attn_k.weight"), E, E, err));
        LLM_TRY(llm_model_bind(m, &l->v, BERT_NAME("attn_v.weight"), E, E, err));
        LLM_TRY(llm_model_bind(m, &l->o, BERT_NAME("attn_output.weight"), E, E, err));
        LLM_TRY(bind_opt_vec(m, &l->bq, BERT_NAME("attn_q.bias"), E, err));
        LLM_TRY(bind_opt_vec(m, &l->bk, BERT_NAME("attn_k.bias"), E, err));
        LLM_TRY(bind_opt_vec(m, &l->bv, BERT_NAME("attn_v.bias"), E, err));
        LLM_TRY(bind_opt_vec(m, &l->bo, BERT_NAME("attn_output.bias"), E, err));
        LLM_TRY(llm_model_bind_vec(m, &l->attn_norm_w, BERT_NAME("attn_output_norm.weight"), E,
                                   err));
        LLM_TRY(llm_model_bind_vec(m, &l->attn_norm_b, BERT_NAME("attn_output_norm.bias"), E,
                                   err));
        LLM_CHECK(err, !llm_model_has(m, BERT_NAME("ffn_gate.weight")), LLM_ERR_UNSUPPORTED,
                  "tensor '%s': gated BERT feed-forward blocks are not supported", name);
        LLM_TRY(llm_model_bind(m, &l->up, BERT_NAME("ffn_up.weight"), E, F, err));
        LLM_TRY(llm_model_bind(m, &l->down, BERT_NAME("ffn_down.weight"), F, E, err));
        LLM_TRY(bind_opt_vec(m, &l->bup, BERT_NAME("ffn_up.bias"), F, err));
        LLM_TRY(bind_opt_vec(m, &l->bdown, BERT_NAME("ffn_down.bias"), E, err));
        LLM_TRY(llm_model_bind_vec(m, &l->out_norm_w, BERT_NAME("layer_output_norm.weight"), E,
                                   err));
        LLM_TRY(llm_model_bind_vec(m, &l->out_norm_b, BERT_NAME("layer_output_norm.bias"), E,
                                   err));
#undef BERT_NAME
    }
    return LLM_OK;
}

static llm_status bert_load(llm_model *m, llm_error *err)
{
    bool causal = false;
    LLM_TRY(bert_read_hparams(m, &causal, err));
    bert_weights *w = llm_calloc(1, sizeof *w);
    if (w)
        w->layers = llm_calloc(m->hp.n_layer, sizeof *w->layers);
    if (!w || !w->layers) {
        if (w)
            llm_mem_free(w);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for %u bert layers",
                             m->hp.n_layer);
    }
    w->causal = causal;
    llm_status st = bert_bind(m, w, err);
    if (st != LLM_OK) {
        llm_mem_free(w->layers);
        llm_mem_free(w);
        return st;
    }
    m->weights = w;
    return LLM_OK;
}

static void bert_unload(llm_model *m)
{
    bert_weights *w = m->weights;
    if (!w)
        return;
    llm_mem_free(w->layers);
    llm_mem_free(w);
    m->weights = NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* scratch layout                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

/* Tokens one encode() call can take: a whole sequence must fit in one batch (attention is
 * bidirectional), so the batch is the larger of the session's batch and context sizes. */
static uint32_t bert_batch_tokens(uint32_t n_ctx, uint32_t n_batch)
{
    uint32_t t = n_batch > n_ctx ? n_batch : n_ctx;
    return t ? t : 1;
}

/* Byte offsets of every buffer in the run's activation scratch for up to T tokens. */
typedef struct bert_layout {
    size_t x, q, k, v, att, tmp, ff, pos, type_row, comp, total;
    size_t comp_bytes;
} bert_layout;

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static void bert_plan(const llm_model *m, uint32_t T, uint32_t n_threads, bert_layout *L)
{
    const llm_hparams *hp = &m->hp;
    const bert_weights *w = m->weights;
    const size_t E = hp->n_embd, F = hp->n_ff;
    size_t off = 0;
#define BERT_TAKE(field, bytes) (L->field = off, off += align64(bytes))
    BERT_TAKE(x, (size_t)T * E * sizeof(float));    /* (T, E) residual stream */
    BERT_TAKE(q, (size_t)T * E * sizeof(float));    /* (T, n_head, head_dim) */
    BERT_TAKE(k, (size_t)T * E * sizeof(float));
    BERT_TAKE(v, (size_t)T * E * sizeof(float));
    BERT_TAKE(att, (size_t)T * E * sizeof(float));  /* (T, E) attention output, pre-projection */
    BERT_TAKE(tmp, (size_t)T * E * sizeof(float));  /* (T, E) sub-layer output + residual */
    BERT_TAKE(ff, (size_t)T * F * sizeof(float));   /* (T, n_ff) */
    BERT_TAKE(pos, (size_t)T * sizeof(int32_t));    /* (T) position ids */
    BERT_TAKE(type_row, E * sizeof(float));         /* (E) token_types row 0 */
#undef BERT_TAKE
    /* Op scratch: the largest any single matmul or attention call of this pass needs. */
    size_t c = llm_op_attention_scratch(T, (int)hp->n_head, n_threads ? n_threads : 1);
    c = max_sz(c, llm_op_matmul_scratch(LLM_DTYPE_F32, T, (int64_t)E));
    if (w) {
        for (uint32_t il = 0; il < hp->n_layer; il++) {
            const bert_layer *l = &w->layers[il];
            c = max_sz(c, llm_op_matmul_scratch(l->q.type, T, (int64_t)E));
            c = max_sz(c, llm_op_matmul_scratch(l->k.type, T, (int64_t)E));
            c = max_sz(c, llm_op_matmul_scratch(l->v.type, T, (int64_t)E));
            c = max_sz(c, llm_op_matmul_scratch(l->o.type, T, (int64_t)E));
            c = max_sz(c, llm_op_matmul_scratch(l->up.type, T, (int64_t)E));
            c = max_sz(c, llm_op_matmul_scratch(l->down.type, T, (int64_t)F));
        }
    }
    L->comp = off;
    L->comp_bytes = align64(c);
    L->total = off + L->comp_bytes;
}

static size_t bert_scratch_bytes(const llm_model *m, uint32_t n_ctx, uint32_t n_batch,
                                 uint32_t n_threads)
{
    bert_layout L;
    bert_plan(m, bert_batch_tokens(n_ctx, n_batch), n_threads, &L);
    return L.total;
}

/* ---------------------------------------------------------------------------------------------- */
/* row-parallel element-wise steps                                                                */
/* ---------------------------------------------------------------------------------------------- */

/* LayerNorm is cheap per element but runs over (T, E) twice in every layer, and the op is
 * single-threaded, so split rows over the pool (GELU runs inside its product, through
 * llm_op_matmul_act). Each row is computed exactly as a single call would compute it, so the
 * result never depends on the thread count. */
typedef struct bert_rows_job {
    float *y;
    const float *x;
    const float *w, *b;
    int64_t T, n;
    float eps;
    uint32_t parts;
} bert_rows_job;

static void bert_rows_task(void *ctx, uint32_t i)
{
    const bert_rows_job *j = ctx;
    int64_t t0 = j->T * i / j->parts, t1 = j->T * (i + 1) / j->parts;
    if (t1 <= t0)
        return;
    llm_op_layernorm(j->y + t0 * j->n, j->x + t0 * j->n, j->w, j->b, t1 - t0, j->n, j->eps);
}

static void bert_rows_run(llm_pool *pool, bert_rows_job *j)
{
    uint32_t nt = llm_pool_threads(pool);
    j->parts = (uint32_t)(j->T < (int64_t)nt ? j->T : (int64_t)nt);
    if (j->parts <= 1 || (int64_t)j->T * j->n < 4096) {
        j->parts = 1;
        bert_rows_task(j, 0);
        return;
    }
    llm_pool_run(pool, bert_rows_task, j, j->parts);
}

static void bert_layernorm(llm_pool *pool, float *y, const float *x, const float *w,
                           const float *b, int64_t T, int64_t n, float eps)
{
    bert_rows_job j = {.y = y, .x = x, .w = w, .b = b, .T = T, .n = n, .eps = eps};
    bert_rows_run(pool, &j);
}

/* ---------------------------------------------------------------------------------------------- */
/* forward pass                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static llm_status bert_encode(llm_run *r, const int32_t *ids, const uint32_t *seq_start,
                              uint32_t n_seq, float *hidden, llm_error *err)
{
    const llm_model *m = r->m;
    const llm_hparams *hp = &m->hp;
    const bert_weights *w = m->weights;
    const int64_t E = hp->n_embd;
    const int H = (int)hp->n_head, D = (int)hp->head_dim;

    LLM_CHECK(err, ids && seq_start && hidden && n_seq > 0, LLM_ERR_INVALID_ARG,
              "bert encode: ids, seq_start and hidden must be set and n_seq > 0");
    LLM_CHECK(err, seq_start[0] == 0, LLM_ERR_INVALID_ARG,
              "bert encode: seq_start[0] is %u, expected 0", seq_start[0]);
    const uint32_t T = seq_start[n_seq];
    const uint32_t cap = bert_batch_tokens(r->n_ctx, r->n_batch);
    LLM_CHECK(err, T <= cap, LLM_ERR_TOO_LONG,
              "bert encode: batch of %u tokens exceeds the session's %u (max of n_ctx and "
              "n_batch)",
              T, cap);
    for (uint32_t s = 0; s < n_seq; s++) {
        uint32_t len = seq_start[s + 1] - seq_start[s];
        LLM_CHECK(err, seq_start[s + 1] > seq_start[s], LLM_ERR_INVALID_ARG,
                  "bert encode: sequence %u is empty or seq_start is not increasing", s);
        LLM_CHECK(err, len <= hp->n_ctx_train, LLM_ERR_TOO_LONG,
                  "bert encode: sequence %u has %u tokens, the model's context is %u", s, len,
                  hp->n_ctx_train);
    }
    for (uint32_t t = 0; t < T; t++)
        LLM_CHECK(err, ids[t] >= 0 && (uint32_t)ids[t] < hp->n_vocab, LLM_ERR_INVALID_ARG,
                  "bert encode: token id %d at index %u is outside the vocabulary [0, %u)",
                  ids[t], t, hp->n_vocab);

    llm_pool *pool = r->comp.pool;
    /* The op scratch comes last and gets whatever the session allocated beyond the buffers: the
     * thread count may have changed since (LLM_PARAM_N_THREADS), and attention then simply uses
     * as many score rows as fit. */
    bert_layout L;
    bert_plan(m, cap, 1, &L);
    LLM_CHECK(err, r->act && r->act_bytes >= L.total, LLM_ERR_STATE,
              "bert encode: activation scratch is %zu bytes, %zu needed", r->act_bytes, L.total);
    L.comp_bytes = r->act_bytes - L.comp;
    char *base = r->act;
    float *x = (float *)(base + L.x);       /* (T, E) */
    float *q = (float *)(base + L.q);       /* (T, H, D) */
    float *k = (float *)(base + L.k);       /* (T, H, D) */
    float *v = (float *)(base + L.v);       /* (T, H, D) */
    float *att = (float *)(base + L.att);   /* (T, E) */
    float *tmp = (float *)(base + L.tmp);   /* (T, E) */
    float *ff = (float *)(base + L.ff);     /* (T, F) */
    int32_t *pos = (int32_t *)(base + L.pos);            /* (T) */
    float *type_row = (float *)(base + L.type_row);      /* (E) */
    llm_compute c = {.pool = pool, .scratch = base + L.comp, .scratch_bytes = L.comp_bytes};

    // ---- embeddings: tok_embd[id] + token_types[0] + position_embd[pos], then LayerNorm ----
    for (uint32_t s = 0; s < n_seq; s++)
        for (uint32_t t = seq_start[s]; t < seq_start[s + 1]; t++)
            pos[t] = (int32_t)(t - seq_start[s]);
    llm_op_get_rows(tmp, &w->tok_embd, ids, T);
    llm_op_get_rows(att, &w->pos_embd, pos, T);
    llm_op_add(tmp, att, (int64_t)T * E);
    if (w->type_embd.data) {
        /* Token type 0 for every token (single-segment inputs), as llama.cpp does. */
        const int32_t zero = 0;
        llm_op_get_rows(type_row, &w->type_embd, &zero, 1);
        for (uint32_t t = 0; t < T; t++)
            llm_op_add(tmp + (int64_t)t * E, type_row, E);
    }
    bert_layernorm(pool, x, tmp, w->embd_norm_w, w->embd_norm_b, T, E, hp->norm_eps);

    const float scale = 1.0f / sqrtf((float)D);
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const bert_layer *l = &w->layers[il];

        // ---- self-attention, one call per packed sequence ----
        llm_run_matmul(r, &c, q, x, &l->q, l->bq, T);
        llm_run_matmul(r, &c, k, x, &l->k, l->bk, T);
        llm_run_matmul(r, &c, v, x, &l->v, l->bv, T);
        for (uint32_t s = 0; s < n_seq; s++) {
            const int64_t t0 = seq_start[s], len = (int64_t)seq_start[s + 1] - t0;
            llm_attn_args a = {
                .q = q + t0 * E,
                .k = k + t0 * E,
                .v = v + t0 * E,
                .out = att + t0 * E,
                .Tq = len,
                .Tk = len,
                .q_stride = E,
                .kv_stride = E,
                .out_stride = E,
                .kv_type = LLM_KV_F32,
                .n_head = H,
                .n_kv_head = H,
                .head_dim = D,
                .scale = scale,
                .causal_offset = w->causal ? 0 : -1,
                .bias = NULL,
            };
            llm_op_attention(&c, &a);
        }
        llm_run_matmul(r, &c, tmp, att, &l->o, l->bo, T);
        llm_op_add(tmp, x, (int64_t)T * E);                      /* post-norm residual */
        bert_layernorm(pool, x, tmp, l->attn_norm_w, l->attn_norm_b, T, E, hp->norm_eps);

        // ---- feed-forward: down(gelu_erf(up x)) ----
        llm_run_matmul_act(r, &c, ff, x, &l->up, l->bup, T, LLM_ACT_GELU_ERF, NULL);
        llm_run_matmul(r, &c, tmp, ff, &l->down, l->bdown, T);
        llm_op_add(tmp, x, (int64_t)T * E);
        bert_layernorm(pool, x, tmp, l->out_norm_w, l->out_norm_b, T, E, hp->norm_eps);
    }
    memcpy(hidden, x, (size_t)T * (size_t)E * sizeof(float));
    return LLM_OK;
}

const llm_arch_ops llm_arch_bert = {
    .name = "bert",
    .arch = LLM_ARCH_BERT,
    .family = LLM_FAMILY_ENCODER,
    .load = bert_load,
    .unload = bert_unload,
    .scratch_bytes = bert_scratch_bytes,
    .decode = NULL,
    .encode = bert_encode,
};
