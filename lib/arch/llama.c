/*
 * Llama-style decoders: RMSNorm, rotary positions (adjacent-pair "normal" mode as GGUF stores
 * Llama weights), grouped-query attention, SwiGLU feed-forward, separate or tied output head.
 * Tensor and key names are llama.cpp's (token_embd, blk.N.attn_q, llama.rope.freq_base, ...).
 *
 * One pass evaluates a batch of n tokens at positions pos0..pos0+n-1:
 *   x = embed(ids)                                           (n, E)
 *   per layer:  x += Wo · attn(rope(Wq·rms(x)), cache(rope(Wk·rms(x))), cache(Wv·rms(x)))
 *               x += Wdown · (silu(Wgate·rms(x)) ⊙ Wup·rms(x))
 *   logits = Wout · rms(x)                                   (n or 1, V)
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "adapter/lora_apply.h"
#include "arch/common.h"
#include "common/alloc.h"
#include "session/kv_cache.h"

typedef struct llama_layer {
    const float *attn_norm, *ffn_norm;   /* (E) */
    llm_weight wq, wk, wv, wo;            /* (H*hd, E), (kv, E), (kv, E), (E, H*hd) */
    llm_weight gate, up, down;            /* (F, E), (F, E), (E, F) */
} llama_layer;

typedef struct llama_weights {
    llm_weight tok_embd;                  /* (V, E) */
    const float *out_norm;                /* (E) */
    llm_weight output;                    /* (V, E), token_embd when tied */
    llama_layer *layers;
} llama_weights;

/* ---------------------------------------------------------------------------------------------- */
/* load                                                                                           */
/* ---------------------------------------------------------------------------------------------- */

static llm_status read_hparams(struct llm_model *m, llm_error *err)
{
    const llm_gguf *g = m->gguf;
    llm_hparams *hp = &m->hp;
    LLM_TRY(llm_hp_u32(g, "llama", "embedding_length", true, &hp->n_embd, err));
    LLM_TRY(llm_hp_u32(g, "llama", "block_count", true, &hp->n_layer, err));
    LLM_TRY(llm_hp_u32(g, "llama", "feed_forward_length", true, &hp->n_ff, err));
    LLM_TRY(llm_hp_u32(g, "llama", "attention.head_count", true, &hp->n_head, err));
    hp->n_head_kv = hp->n_head;
    LLM_TRY(llm_hp_u32(g, "llama", "attention.head_count_kv", false, &hp->n_head_kv, err));
    hp->n_ctx_train = 2048;
    LLM_TRY(llm_hp_u32(g, "llama", "context_length", false, &hp->n_ctx_train, err));
    hp->norm_eps = 1e-5f;
    LLM_TRY(llm_hp_f32(g, "llama", "attention.layer_norm_rms_epsilon", false, &hp->norm_eps, err));
    LLM_CHECK(err, hp->n_embd > 0 && hp->n_layer > 0 && hp->n_head > 0 && hp->n_ff > 0,
              LLM_ERR_FORMAT, "llama hyper-parameters must be positive (embedding %u, blocks %u, "
              "heads %u, feed-forward %u)", hp->n_embd, hp->n_layer, hp->n_head, hp->n_ff);
    LLM_CHECK(err, hp->n_embd % hp->n_head == 0, LLM_ERR_FORMAT,
              "llama.embedding_length %u is not a multiple of llama.attention.head_count %u",
              hp->n_embd, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    LLM_CHECK(err, hp->n_head_kv > 0 && hp->n_head % hp->n_head_kv == 0, LLM_ERR_FORMAT,
              "llama.attention.head_count %u is not a multiple of head_count_kv %u", hp->n_head,
              hp->n_head_kv);
    hp->n_rot = hp->head_dim;
    LLM_TRY(llm_hp_u32(g, "llama", "rope.dimension_count", false, &hp->n_rot, err));
    LLM_CHECK(err, hp->n_rot <= hp->head_dim && hp->n_rot % 2 == 0, LLM_ERR_FORMAT,
              "llama.rope.dimension_count %u must be even and at most the head size %u",
              hp->n_rot, hp->head_dim);
    hp->rope_freq_base = 10000.0f;
    LLM_TRY(llm_hp_f32(g, "llama", "rope.freq_base", false, &hp->rope_freq_base, err));
    hp->rope_freq_scale = 1.0f;
    float factor = 0.0f;
    const char *stype = NULL;
    size_t stype_len = 0;
    if (llm_gguf_get_str(g, "llama.rope.scaling.type", &stype, &stype_len) &&
        strcmp(stype, "linear") == 0) {
        LLM_TRY(llm_hp_f32(g, "llama", "rope.scaling.factor", false, &factor, err));
        if (factor > 0)
            hp->rope_freq_scale = 1.0f / factor;
    } else if (stype && strcmp(stype, "none") != 0) {
        return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                             "llama.rope.scaling.type '%s' is not supported (linear, none)", stype);
    }
    hp->rope_neox = 0;
    hp->ffn = LLM_FFN_SWIGLU;
    const llm_gguf_tensor *emb = llm_gguf_find_tensor(g, "token_embd.weight");
    LLM_CHECK(err, emb, LLM_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    hp->n_vocab = (uint32_t)emb->ne[1];
    return LLM_OK;
}

static llm_status llama_load(struct llm_model *m, llm_error *err)
{
    LLM_TRY(read_hparams(m, err));
    const llm_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff;
    const int64_t QD = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KD = (int64_t)hp->n_head_kv * hp->head_dim;
    llama_weights *w = llm_calloc(1, sizeof *w);
    LLM_CHECK(err, w, LLM_ERR_NOMEM, "out of memory");
    m->weights = w;
    w->layers = llm_calloc(hp->n_layer, sizeof *w->layers);
    LLM_CHECK(err, w->layers, LLM_ERR_NOMEM, "out of memory");
    LLM_TRY(llm_model_bind(m, &w->tok_embd, "token_embd.weight", E, V, err));
    LLM_TRY(llm_model_bind_vec(m, &w->out_norm, "output_norm.weight", E, err));
    m->hp.tied_embeddings = !llm_model_has(m, "output.weight");
    if (m->hp.tied_embeddings)
        w->output = w->tok_embd;
    else
        LLM_TRY(llm_model_bind(m, &w->output, "output.weight", E, V, err));
    char name[96];
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        llama_layer *L = &w->layers[l];
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, l), name)
        LLM_TRY(llm_model_bind_vec(m, &L->attn_norm, NAME("attn_norm.weight"), E, err));
        LLM_TRY(llm_model_bind_vec(m, &L->ffn_norm, NAME("ffn_norm.weight"), E, err));
        LLM_TRY(llm_model_bind(m, &L->wq, NAME("attn_q.weight"), E, QD, err));
        LLM_TRY(llm_model_bind(m, &L->wk, NAME("attn_k.weight"), E, KD, err));
        LLM_TRY(llm_model_bind(m, &L->wv, NAME("attn_v.weight"), E, KD, err));
        LLM_TRY(llm_model_bind(m, &L->wo, NAME("attn_output.weight"), QD, E, err));
        LLM_TRY(llm_model_bind(m, &L->gate, NAME("ffn_gate.weight"), E, F, err));
        LLM_TRY(llm_model_bind(m, &L->up, NAME("ffn_up.weight"), E, F, err));
        LLM_TRY(llm_model_bind(m, &L->down, NAME("ffn_down.weight"), F, E, err));
#undef NAME
    }
    return LLM_OK;
}

static void llama_unload(struct llm_model *m)
{
    llama_weights *w = m->weights;
    if (w)
        llm_mem_free(w->layers);
    llm_mem_free(w);
    m->weights = NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* forward                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

typedef struct llama_bufs {
    float *x, *xn;         /* (B, E) */
    float *q, *k, *v;      /* (B, QD), (B, KD), (B, KD) */
    float *att;            /* (B, QD) */
    float *g, *u;          /* (B, F) */
    int32_t *pos;          /* (B) */
    void *scratch;         /* matmul and attention scratch */
    size_t scratch_bytes;
} llama_bufs;

static size_t compute_scratch(const llm_hparams *hp, uint32_t n_ctx, uint32_t B,
                              uint32_t n_threads)
{
    size_t mm = llm_matmul_scratch_any(B, hp->n_ff > hp->n_embd ? hp->n_ff : hp->n_embd);
    size_t at = llm_op_attention_scratch(n_ctx, (int)hp->n_head, n_threads);
    return mm > at ? mm : at;
}

static void carve(llm_carve *c, const llm_hparams *hp, uint32_t n_ctx, uint32_t B,
                  uint32_t n_threads, llama_bufs *b)
{
    const size_t E = hp->n_embd, F = hp->n_ff;
    const size_t QD = (size_t)hp->n_head * hp->head_dim, KD = (size_t)hp->n_head_kv * hp->head_dim;
    b->x = llm_carve_floats(c, B * E);
    b->xn = llm_carve_floats(c, B * E);
    b->q = llm_carve_floats(c, B * QD);
    b->k = llm_carve_floats(c, B * KD);
    b->v = llm_carve_floats(c, B * KD);
    b->att = llm_carve_floats(c, B * QD);
    b->g = llm_carve_floats(c, B * F);
    b->u = llm_carve_floats(c, B * F);
    b->pos = llm_carve_bytes(c, B * sizeof(int32_t));
    b->scratch_bytes = compute_scratch(hp, n_ctx, B, n_threads);
    b->scratch = llm_carve_bytes(c, b->scratch_bytes);
}

static size_t llama_scratch_bytes(const struct llm_model *m, uint32_t n_ctx, uint32_t n_batch,
                                  uint32_t n_threads)
{
    llm_carve c = {NULL, 0};
    llama_bufs b;
    carve(&c, &m->hp, n_ctx, n_batch, n_threads, &b);
    return c.used;
}

static llm_status llama_decode(llm_run *r, const int32_t *ids, uint32_t n, uint32_t pos0,
                               float *logits, bool all_logits, llm_error *err)
{
    const struct llm_model *m = r->m;
    const llm_hparams *hp = &m->hp;
    const llama_weights *w = m->weights;
    LLM_TRY(llm_check_decode_batch(r, n, pos0, r->n_ctx, err));
    llm_carve c = {r->act, 0};
    llama_bufs b;
    carve(&c, hp, r->n_ctx, r->n_batch, llm_pool_threads(r->comp.pool), &b);
    llm_compute comp = llm_run_compute(r, b.scratch, b.scratch_bytes);

    const int64_t E = hp->n_embd;
    const int64_t QD = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KD = (int64_t)hp->n_head_kv * hp->head_dim;
    for (uint32_t t = 0; t < n; t++)
        b.pos[t] = (int32_t)(pos0 + t);

    llm_op_get_rows(b.x, &w->tok_embd, ids, n);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const llama_layer *L = &w->layers[l];
        /* attention */
        llm_op_rmsnorm(b.xn, b.x, L->attn_norm, n, E, hp->norm_eps);
        llm_run_matmul(r, &comp, b.q, b.xn, &L->wq, NULL, n);
        llm_run_matmul(r, &comp, b.k, b.xn, &L->wk, NULL, n);
        llm_run_matmul(r, &comp, b.v, b.xn, &L->wv, NULL, n);
        llm_op_rope(b.q, n, (int)hp->n_head, (int)hp->head_dim, (int)hp->n_rot, b.pos,
                    hp->rope_freq_base, hp->rope_freq_scale, hp->rope_neox);
        llm_op_rope(b.k, n, (int)hp->n_head_kv, (int)hp->head_dim, (int)hp->n_rot, b.pos,
                    hp->rope_freq_base, hp->rope_freq_scale, hp->rope_neox);
        llm_kv_store(r->kv, l, pos0, n, b.k, KD, b.v, KD);
        llm_attn_args a = {
            .q = b.q, .out = b.att,
            .Tq = n, .Tk = pos0 + n,
            .q_stride = QD, .out_stride = QD,
            .n_head = (int)hp->n_head, .n_kv_head = (int)hp->n_head_kv,
            .head_dim = (int)hp->head_dim,
            .scale = 1.0f / sqrtf((float)hp->head_dim),
            .causal_offset = pos0,
            .bias = NULL,
        };
        llm_kv_cache_attn_args(r->kv, l, &a);
        llm_op_attention(&comp, &a);
        llm_run_matmul(r, &comp, b.xn, b.att, &L->wo, NULL, n);
        llm_op_add(b.x, b.xn, n * E);
        /* feed-forward */
        llm_op_rmsnorm(b.xn, b.x, L->ffn_norm, n, E, hp->norm_eps);
        llm_run_matmul(r, &comp, b.u, b.xn, &L->up, NULL, n);
        llm_run_matmul_act(r, &comp, b.g, b.xn, &L->gate, NULL, n, LLM_ACT_SILU_MUL, b.u);
        llm_run_matmul(r, &comp, b.xn, b.g, &L->down, NULL, n);
        llm_op_add(b.x, b.xn, n * E);
    }
    /* output head: every row, or only the last */
    const float *rows = all_logits ? b.x : b.x + (size_t)(n - 1) * E;
    uint32_t n_out = all_logits ? n : 1;
    llm_op_rmsnorm(b.xn, rows, w->out_norm, n_out, E, hp->norm_eps);
    llm_run_matmul(r, &comp, logits, b.xn, &w->output, NULL, n_out);
    return LLM_OK;
}

const llm_arch_ops llm_arch_llama = {
    .name = "llama",
    .arch = LLM_ARCH_LLAMA,
    .family = LLM_FAMILY_DECODER,
    .load = llama_load,
    .unload = llama_unload,
    .scratch_bytes = llama_scratch_bytes,
    .decode = llama_decode,
    .encode = NULL,
};
