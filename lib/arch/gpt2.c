/*
 * GPT-2: learned absolute positions, pre-LayerNorm with biases, tanh-GELU feed-forward, fused
 * (or split) QKV projection, separate or tied output head. Names are llama.cpp's GGUF names.
 *
 *   x = tok_embd(ids) + pos_embd(pos)                            (n, E)
 *   per layer:  x += Wo · attn(split(Wqkv · ln1(x) + b)) + bo
 *               x += Wdown · gelu(Wup · ln2(x) + bup) + bdown
 *   logits = Wout · ln_f(x)
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "adapter/lora_apply.h"
#include "arch/common.h"
#include "common/alloc.h"
#include "session/kv_cache.h"

typedef struct gpt2_layer {
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;   /* (E) */
    bool fused;
    llm_weight qkv;                               /* (3E, E) when fused */
    const float *qkv_b;                           /* (3E) */
    llm_weight wq, wk, wv;                        /* (E, E) each when split */
    const float *bq, *bk, *bv;
    llm_weight wo;                                /* (E, E) */
    const float *bo;
    llm_weight up, down;                          /* (F, E), (E, F) */
    const float *bup, *bdown;
} gpt2_layer;

typedef struct gpt2_weights {
    llm_weight tok_embd;                          /* (V, E) */
    llm_weight pos_embd;                          /* (n_ctx_train, E) */
    const float *lnf_w, *lnf_b;
    llm_weight output;
    gpt2_layer *layers;
} gpt2_weights;

/* ---------------------------------------------------------------------------------------------- */
/* load                                                                                           */
/* ---------------------------------------------------------------------------------------------- */

static llm_status read_hparams(struct llm_model *m, llm_error *err)
{
    const llm_gguf *g = m->gguf;
    llm_hparams *hp = &m->hp;
    LLM_TRY(llm_hp_u32(g, "gpt2", "embedding_length", true, &hp->n_embd, err));
    LLM_TRY(llm_hp_u32(g, "gpt2", "block_count", true, &hp->n_layer, err));
    LLM_TRY(llm_hp_u32(g, "gpt2", "feed_forward_length", true, &hp->n_ff, err));
    LLM_TRY(llm_hp_u32(g, "gpt2", "attention.head_count", true, &hp->n_head, err));
    LLM_TRY(llm_hp_u32(g, "gpt2", "context_length", true, &hp->n_ctx_train, err));
    hp->norm_eps = 1e-5f;
    LLM_TRY(llm_hp_f32(g, "gpt2", "attention.layer_norm_epsilon", false, &hp->norm_eps, err));
    LLM_CHECK(err, hp->n_embd > 0 && hp->n_layer > 0 && hp->n_head > 0 && hp->n_ff > 0 &&
                       hp->n_ctx_train > 0,
              LLM_ERR_FORMAT, "gpt2 hyper-parameters must be positive");
    LLM_CHECK(err, hp->n_embd % hp->n_head == 0, LLM_ERR_FORMAT,
              "gpt2.embedding_length %u is not a multiple of gpt2.attention.head_count %u",
              hp->n_embd, hp->n_head);
    hp->n_head_kv = hp->n_head;
    hp->head_dim = hp->n_embd / hp->n_head;
    hp->ffn = LLM_FFN_GELU;
    const llm_gguf_tensor *emb = llm_gguf_find_tensor(g, "token_embd.weight");
    LLM_CHECK(err, emb, LLM_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    hp->n_vocab = (uint32_t)emb->ne[1];
    return LLM_OK;
}

/* Biases are optional one by one: a model trained without them (nanoGPT's bias=False) has none
 * of the linear or LayerNorm biases; a missing one reads as NULL (nothing added). */
static llm_status bind_bias(struct llm_model *m, const float **out, const char *name, int64_t n,
                            llm_error *err)
{
    *out = NULL;
    if (!llm_model_has(m, name))
        return LLM_OK;
    return llm_model_bind_vec(m, out, name, n, err);
}

static llm_status gpt2_load(struct llm_model *m, llm_error *err)
{
    LLM_TRY(read_hparams(m, err));
    const llm_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff;
    gpt2_weights *w = llm_calloc(1, sizeof *w);
    LLM_CHECK(err, w, LLM_ERR_NOMEM, "out of memory");
    m->weights = w;
    w->layers = llm_calloc(hp->n_layer, sizeof *w->layers);
    LLM_CHECK(err, w->layers, LLM_ERR_NOMEM, "out of memory");
    LLM_TRY(llm_model_bind(m, &w->tok_embd, "token_embd.weight", E, V, err));
    LLM_TRY(llm_model_bind(m, &w->pos_embd, "position_embd.weight", E, hp->n_ctx_train, err));
    LLM_TRY(llm_model_bind_vec(m, &w->lnf_w, "output_norm.weight", E, err));
    LLM_TRY(bind_bias(m, &w->lnf_b, "output_norm.bias", E, err));
    m->hp.tied_embeddings = !llm_model_has(m, "output.weight");
    if (m->hp.tied_embeddings)
        w->output = w->tok_embd;
    else
        LLM_TRY(llm_model_bind(m, &w->output, "output.weight", E, V, err));
    char name[96];
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        gpt2_layer *L = &w->layers[l];
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, l), name)
        LLM_TRY(llm_model_bind_vec(m, &L->ln1_w, NAME("attn_norm.weight"), E, err));
        LLM_TRY(bind_bias(m, &L->ln1_b, NAME("attn_norm.bias"), E, err));
        LLM_TRY(llm_model_bind_vec(m, &L->ln2_w, NAME("ffn_norm.weight"), E, err));
        LLM_TRY(bind_bias(m, &L->ln2_b, NAME("ffn_norm.bias"), E, err));
        L->fused = llm_model_has(m, NAME("attn_qkv.weight"));
        if (L->fused) {
            LLM_TRY(llm_model_bind(m, &L->qkv, NAME("attn_qkv.weight"), E, 3 * E, err));
            LLM_TRY(bind_bias(m, &L->qkv_b, NAME("attn_qkv.bias"), 3 * E, err));
        } else {
            LLM_TRY(llm_model_bind(m, &L->wq, NAME("attn_q.weight"), E, E, err));
            LLM_TRY(llm_model_bind(m, &L->wk, NAME("attn_k.weight"), E, E, err));
            LLM_TRY(llm_model_bind(m, &L->wv, NAME("attn_v.weight"), E, E, err));
            LLM_TRY(bind_bias(m, &L->bq, NAME("attn_q.bias"), E, err));
            LLM_TRY(bind_bias(m, &L->bk, NAME("attn_k.bias"), E, err));
            LLM_TRY(bind_bias(m, &L->bv, NAME("attn_v.bias"), E, err));
        }
        LLM_TRY(llm_model_bind(m, &L->wo, NAME("attn_output.weight"), E, E, err));
        LLM_TRY(bind_bias(m, &L->bo, NAME("attn_output.bias"), E, err));
        LLM_TRY(llm_model_bind(m, &L->up, NAME("ffn_up.weight"), E, F, err));
        LLM_TRY(bind_bias(m, &L->bup, NAME("ffn_up.bias"), F, err));
        LLM_TRY(llm_model_bind(m, &L->down, NAME("ffn_down.weight"), F, E, err));
        LLM_TRY(bind_bias(m, &L->bdown, NAME("ffn_down.bias"), E, err));
#undef NAME
    }
    return LLM_OK;
}

static void gpt2_unload(struct llm_model *m)
{
    gpt2_weights *w = m->weights;
    if (w)
        llm_mem_free(w->layers);
    llm_mem_free(w);
    m->weights = NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* forward                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

typedef struct gpt2_bufs {
    float *x, *xn;      /* (B, E) */
    float *qkv;         /* (B, 3E): q | k | v per row */
    float *pe;          /* (B, E) position embeddings */
    float *att;         /* (B, E) */
    float *h;           /* (B, F) */
    int32_t *pos;       /* (B) */
    void *scratch;
    size_t scratch_bytes;
} gpt2_bufs;

static void carve(llm_carve *c, const llm_hparams *hp, uint32_t n_ctx, uint32_t B,
                  uint32_t n_threads, gpt2_bufs *b)
{
    const size_t E = hp->n_embd, F = hp->n_ff;
    b->x = llm_carve_floats(c, B * E);
    b->xn = llm_carve_floats(c, B * E);
    b->qkv = llm_carve_floats(c, B * 3 * E);
    b->pe = llm_carve_floats(c, B * E);
    b->att = llm_carve_floats(c, B * E);
    b->h = llm_carve_floats(c, B * F);
    b->pos = llm_carve_bytes(c, B * sizeof(int32_t));
    size_t mm = llm_matmul_scratch_any(B, F > E ? F : E);
    size_t at = llm_op_attention_scratch(n_ctx, (int)hp->n_head, n_threads);
    b->scratch_bytes = mm > at ? mm : at;
    b->scratch = llm_carve_bytes(c, b->scratch_bytes);
}

static size_t gpt2_scratch_bytes(const struct llm_model *m, uint32_t n_ctx, uint32_t n_batch,
                                 uint32_t n_threads)
{
    llm_carve c = {NULL, 0};
    gpt2_bufs b;
    carve(&c, &m->hp, n_ctx, n_batch, n_threads, &b);
    return c.used;
}

static llm_status gpt2_decode(llm_run *r, const int32_t *ids, uint32_t n, uint32_t pos0,
                              float *logits, bool all_logits, llm_error *err)
{
    const struct llm_model *m = r->m;
    const llm_hparams *hp = &m->hp;
    const gpt2_weights *w = m->weights;
    /* learned positions: none beyond the training length */
    LLM_TRY(llm_check_decode_batch(r, n, pos0, r->n_ctx < hp->n_ctx_train ? r->n_ctx
                                                                           : hp->n_ctx_train, err));
    llm_carve c = {r->act, 0};
    gpt2_bufs b;
    carve(&c, hp, r->n_ctx, r->n_batch, llm_pool_threads(r->comp.pool), &b);
    llm_compute comp = llm_run_compute(r, b.scratch, b.scratch_bytes);
    const int64_t E = hp->n_embd;

    for (uint32_t t = 0; t < n; t++)
        b.pos[t] = (int32_t)(pos0 + t);
    llm_op_get_rows(b.x, &w->tok_embd, ids, n);
    llm_op_get_rows(b.pe, &w->pos_embd, b.pos, n);
    llm_op_add(b.x, b.pe, n * E);

    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const gpt2_layer *L = &w->layers[l];
        llm_op_layernorm(b.xn, b.x, L->ln1_w, L->ln1_b, n, E, hp->norm_eps);
        int64_t stride;
        const float *q, *k, *v;
        if (L->fused) {
            llm_run_matmul(r, &comp, b.qkv, b.xn, &L->qkv, L->qkv_b, n);
            stride = 3 * E;
            q = b.qkv;
            k = b.qkv + E;
            v = b.qkv + 2 * E;
        } else {
            /* split projections land in the same (B, 3E)-shaped buffer, tightly packed */
            float *qs = b.qkv, *ks = b.qkv + (size_t)n * E, *vs = b.qkv + 2 * (size_t)n * E;
            llm_run_matmul(r, &comp, qs, b.xn, &L->wq, L->bq, n);
            llm_run_matmul(r, &comp, ks, b.xn, &L->wk, L->bk, n);
            llm_run_matmul(r, &comp, vs, b.xn, &L->wv, L->bv, n);
            stride = E;
            q = qs;
            k = ks;
            v = vs;
        }
        llm_kv_store(r->kv, l, pos0, n, k, stride, v, stride);
        llm_attn_args a = {
            .q = q, .out = b.att,
            .Tq = n, .Tk = pos0 + n,
            .q_stride = stride, .out_stride = E,
            .n_head = (int)hp->n_head, .n_kv_head = (int)hp->n_head,
            .head_dim = (int)hp->head_dim,
            .scale = 1.0f / sqrtf((float)hp->head_dim),
            .causal_offset = pos0,
            .bias = NULL,
        };
        llm_kv_cache_attn_args(r->kv, l, &a);
        llm_op_attention(&comp, &a);
        llm_run_matmul(r, &comp, b.xn, b.att, &L->wo, L->bo, n);
        llm_op_add(b.x, b.xn, n * E);

        llm_op_layernorm(b.xn, b.x, L->ln2_w, L->ln2_b, n, E, hp->norm_eps);
        llm_run_matmul_act(r, &comp, b.h, b.xn, &L->up, L->bup, n, LLM_ACT_GELU_TANH, NULL);
        llm_run_matmul(r, &comp, b.xn, b.h, &L->down, L->bdown, n);
        llm_op_add(b.x, b.xn, n * E);
    }
    const float *rows = all_logits ? b.x : b.x + (size_t)(n - 1) * E;
    uint32_t n_out = all_logits ? n : 1;
    llm_op_layernorm(b.xn, rows, w->lnf_w, w->lnf_b, n_out, E, hp->norm_eps);
    llm_run_matmul(r, &comp, logits, b.xn, &w->output, NULL, n_out);
    return LLM_OK;
}

const llm_arch_ops llm_arch_gpt2 = {
    .name = "gpt2",
    .arch = LLM_ARCH_GPT2,
    .family = LLM_FAMILY_DECODER,
    .load = gpt2_load,
    .unload = gpt2_unload,
    .scratch_bytes = gpt2_scratch_bytes,
    .decode = gpt2_decode,
    .encode = NULL,
};
