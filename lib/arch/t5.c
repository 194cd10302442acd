/*
 * T5 and Flan-T5 (encoder-decoder), and the encoder-only `t5encoder` GGUF architecture.
 *
 * The model, after Raffel et al. 2020 and Hugging Face's modeling_t5.py, in llama.cpp's tensor
 * names:
 *   encoder:  x = token_embd[ids]
 *             per block: x += o(attn(rms(x)·q, rms(x)·k, rms(x)·v, bias = rel(j - i), bidirectional))
 *                        x += ffn(rms(x))
 *             enc_out = rms(x) · enc.output_norm
 *   decoder:  x = token_embd[ids]
 *             per block: x += o(attn(...self, causal, bias = rel(j - i) over the decoder buckets))
 *                        x += cross_o(attn(rms(x)·cross_q, enc_out·cross_k, enc_out·cross_v))
 *                        x += ffn(rms(x))
 *             logits = lm_head(rms(x) · dec.output_norm)     (× d_model^-0.5 when tied)
 * Norms are T5's LayerNorm: no mean subtraction, no bias (RMSNorm). Attention is NOT scaled by
 * 1/sqrt(d_kv): T5 folds that into its initialisation. The FFN is relu (T5 v1.0: wo(relu(wi x)))
 * or gated GELU (v1.1 / Flan: wo(gelu_tanh(wi_0 x) * wi_1 x), wi_0 = ffn_gate, wi_1 = ffn_up).
 * The relative-position bias (attn_rel_b, (buckets, n_head)) lives in block 0 of each stack and is
 * shared by all of its blocks, as in HF and llama.cpp. Cross-attention has no position bias.
 *
 * Buffers: everything lives in the run's activation block (llm_run.act, scratch_bytes() large).
 * For an encoder-decoder model its head holds what must survive between calls: the encoder output
 * (enc_out) and the per-layer cross-attention K/V computed from it once per input; run->enc_out,
 * run->cross_k and run->cross_v point there. The rest is per-call scratch. Nothing here allocates
 * after load.
 *
 * Not handled: mT5/umT5 (per-layer relative biases), T5's optional encoder attention masks for
 * padded batches (sequences are packed instead).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adapter/lora_apply.h"
#include "arch/arch.h"
#include "common/alloc.h"
#include "common/dtype.h"
#include "session/kv_cache.h"

/* Query rows per attention call: bounds the (n_head, rows, Tk) bias scratch. */
#define T5_QUERY_BLOCK 32
/* llama.cpp hard-codes the maximum relative distance; HF configs call it
 * relative_attention_max_distance (default 128). */
#define T5_DEFAULT_MAX_DISTANCE 128
#define T5_LIMIT_DIM (1u << 20)

typedef struct t5_attn_w {
    llm_weight q, k, v, o;          /* q,k,v: (inner, d_model); o: (d_model, inner) */
} t5_attn_w;

typedef struct t5_layer {
    const float *attn_norm;         /* (d_model) */
    t5_attn_w self;
    const float *cross_norm;        /* (d_model), decoder only */
    t5_attn_w cross;                /* decoder only */
    const float *ffn_norm;          /* (d_model) */
    llm_weight up;                  /* (d_ff, d_model) wi / wi_1 */
    llm_weight gate;                /* (d_ff, d_model) wi_0, gated models only */
    llm_weight down;                /* (d_model, d_ff) wo */
} t5_layer;

typedef struct t5_weights {
    llm_weight tok_embd;            /* (n_vocab, d_model) */
    llm_weight output;              /* (n_vocab, d_model): lm_head, or tok_embd when tied */
    const float *enc_norm;          /* (d_model) */
    const float *dec_norm;          /* (d_model), encoder-decoder only */
    t5_layer *enc;                  /* [n_layer_enc] */
    t5_layer *dec;                  /* [n_layer] (encoder-decoder only) */
    /* Relative-position bias per head and clamped distance d in [-R, R] (R = max distance):
     * rel[h * (2R + 1) + d + R] = attn_rel_b[bucket(d)][h]. Beyond R every bucket saturates. */
    float *enc_rel;                 /* (n_head, 2R + 1), bidirectional buckets */
    float *dec_rel;                 /* (n_head, 2R + 1), causal buckets */
    int64_t rel_span;               /* R */
    bool gated;
} t5_weights;

static bool is_encdec(const llm_model *m)
{
    return m->hp.family == LLM_FAMILY_ENCODER_DECODER;
}

/* ---------------------------------------------------------------------------------------------- */
/* Relative position buckets                                                                      */
/* ---------------------------------------------------------------------------------------------- */

/* HF T5Attention._relative_position_bucket for rel = memory_pos - query_pos. Bidirectional: half
 * the buckets for rel > 0. Causal: only rel <= 0 counts (future keys are masked anyway). Within a
 * direction the first max_exact distances get a bucket each, the rest are spaced logarithmically
 * up to max_distance, and everything beyond shares the last bucket. The log ratio is evaluated in
 * double; at the exact powers where it is an integer (e.g. 16 of 16 buckets over 128) the double
 * and float forms of HF and llama.cpp all land on the same integer. */
static uint32_t t5_bucket(int64_t rel, uint32_t n_buckets, uint32_t max_distance, bool bidirectional)
{
    uint32_t bucket = 0;
    uint32_t nb = n_buckets;
    int64_t rp;
    if (bidirectional) {
        nb /= 2;
        if (rel > 0)
            bucket += nb;
        rp = rel < 0 ? -rel : rel;
    } else {
        rp = rel < 0 ? -rel : 0;
    }
    uint32_t max_exact = nb / 2;
    if (rp < (int64_t)max_exact)
        return bucket + (uint32_t)rp;
    double large = (double)max_exact + log((double)rp / max_exact) /
                                           log((double)max_distance / max_exact) *
                                           (double)(nb - max_exact);
    int64_t lb = (int64_t)large; /* positive: truncation is floor, as HF's .to(long) */
    if (lb > (int64_t)nb - 1)
        lb = (int64_t)nb - 1;
    return bucket + (uint32_t)lb;
}

/* Reads attn_rel_b (GGUF ne = (n_head, buckets), f32 after conversion: rb[bucket * n_head + h])
 * and expands it into the per-distance table. */
static llm_status t5_load_rel(llm_model *m, const char *name, bool bidirectional, int64_t span,
                              float **out, llm_error *err)
{
    const llm_hparams *hp = &m->hp;
    llm_weight w;
    const float *rb;
    LLM_TRY(llm_model_bind(m, &w, name, hp->n_head, hp->rel_buckets, err)); /* shape check */
    LLM_TRY(llm_model_bind_f32(m, &rb, name, (int64_t)hp->n_head * hp->rel_buckets, err));
    float *tab = llm_calloc((size_t)hp->n_head * (size_t)(2 * span + 1), sizeof *tab);
    LLM_CHECK(err, tab != NULL, LLM_ERR_NOMEM, "cannot allocate the relative bias of '%s'", name);
    for (int64_t d = -span; d <= span; d++) {
        uint32_t b = t5_bucket(d, hp->rel_buckets, hp->rel_max_distance, bidirectional);
        for (uint32_t h = 0; h < hp->n_head; h++)
            tab[(int64_t)h * (2 * span + 1) + d + span] = rb[(size_t)b * hp->n_head + h];
    }
    *out = tab;
    return LLM_OK;
}

/* bias (n_head, Tq, Tk): bias[h][i][j] = rel[h][clamp(j - (qpos0 + i), -R, R) + R]. */
static void t5_fill_bias(float *bias, const float *rel, int64_t span, int n_head, int64_t Tq,
                         int64_t Tk, int64_t qpos0)
{
    int64_t width = 2 * span + 1;
    for (int h = 0; h < n_head; h++) {
        const float *rh = rel + (int64_t)h * width;
        for (int64_t i = 0; i < Tq; i++) {
            float *row = bias + ((int64_t)h * Tq + i) * Tk;
            int64_t qp = qpos0 + i;
            for (int64_t j = 0; j < Tk; j++) {
                int64_t d = j - qp;
                if (d < -span)
                    d = -span;
                else if (d > span)
                    d = span;
                row[j] = rh[d + span];
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Loading                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static void t5_unload(llm_model *m)
{
    t5_weights *w = m->weights;
    if (!w)
        return;
    llm_mem_free(w->enc);
    llm_mem_free(w->dec);
    llm_mem_free(w->enc_rel);
    llm_mem_free(w->dec_rel);
    llm_mem_free(w);
    m->weights = NULL;
}

static llm_status bind_attn(llm_model *m, t5_attn_w *a, const char *prefix, llm_error *err)
{
    const llm_hparams *hp = &m->hp;
    int64_t d = hp->n_embd, inner = (int64_t)hp->n_head * hp->head_dim;
    char name[96];
    snprintf(name, sizeof name, "%s_q.weight", prefix);
    LLM_TRY(llm_model_bind(m, &a->q, name, d, inner, err));
    snprintf(name, sizeof name, "%s_k.weight", prefix);
    LLM_TRY(llm_model_bind(m, &a->k, name, d, inner, err));
    snprintf(name, sizeof name, "%s_v.weight", prefix);
    LLM_TRY(llm_model_bind(m, &a->v, name, d, inner, err));
    snprintf(name, sizeof name, "%s_o.weight", prefix);
    LLM_TRY(llm_model_bind(m, &a->o, name, inner, d, err));
    return LLM_OK;
}

static llm_status bind_layer(llm_model *m, t5_layer *L, const char *stack, uint32_t i,
                             bool decoder, bool gated, llm_error *err)
{
    const llm_hparams *hp = &m->hp;
    int64_t d = hp->n_embd, ff = hp->n_ff;
    char name[96], prefix[64];
    snprintf(name, sizeof name, "%s.blk.%u.attn_norm.weight", stack, i);
    LLM_TRY(llm_model_bind_vec(m, &L->attn_norm, name, d, err));
    snprintf(prefix, sizeof prefix, "%s.blk.%u.attn", stack, i);
    LLM_TRY(bind_attn(m, &L->self, prefix, err));
    if (decoder) {
        snprintf(name, sizeof name, "%s.blk.%u.cross_attn_norm.weight", stack, i);
        LLM_TRY(llm_model_bind_vec(m, &L->cross_norm, name, d, err));
        snprintf(prefix, sizeof prefix, "%s.blk.%u.cross_attn", stack, i);
        LLM_TRY(bind_attn(m, &L->cross, prefix, err));
    }
    snprintf(name, sizeof name, "%s.blk.%u.ffn_norm.weight", stack, i);
    LLM_TRY(llm_model_bind_vec(m, &L->ffn_norm, name, d, err));
    snprintf(name, sizeof name, "%s.blk.%u.ffn_up.weight", stack, i);
    LLM_TRY(llm_model_bind(m, &L->up, name, d, ff, err));
    if (gated) {
        snprintf(name, sizeof name, "%s.blk.%u.ffn_gate.weight", stack, i);
        LLM_TRY(llm_model_bind(m, &L->gate, name, d, ff, err));
    }
    snprintf(name, sizeof name, "%s.blk.%u.ffn_down.weight", stack, i);
    LLM_TRY(llm_model_bind(m, &L->down, name, ff, d, err));
    return LLM_OK;
}

/* Reads `<arch>.<key>` as a u32 into *out; `required` keys must be present. */
static llm_status get_u32(const llm_model *m, const char *arch, const char *key, bool required,
                          uint32_t *out, llm_error *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    if (llm_gguf_get_u32(m->gguf, full, out))
        return LLM_OK;
    LLM_CHECK(err, !required || llm_gguf_find_key(m->gguf, full) < 0, LLM_ERR_FORMAT,
              "metadata '%s' is not an unsigned 32-bit integer", full);
    LLM_CHECK(err, !required, LLM_ERR_FORMAT, "metadata '%s' is missing", full);
    return LLM_OK;
}

static llm_status t5_read_hparams(llm_model *m, const char *arch, llm_error *err)
{
    llm_hparams *hp = &m->hp;
    bool encoder_only = strcmp(arch, "t5encoder") == 0;
    hp->arch = LLM_ARCH_T5;
    hp->family = encoder_only ? LLM_FAMILY_ENCODER : LLM_FAMILY_ENCODER_DECODER;

    LLM_TRY(get_u32(m, arch, "embedding_length", true, &hp->n_embd, err));
    LLM_TRY(get_u32(m, arch, "feed_forward_length", true, &hp->n_ff, err));
    LLM_TRY(get_u32(m, arch, "block_count", true, &hp->n_layer_enc, err));
    hp->n_layer = hp->n_layer_enc; /* the decoder has as many unless the file says otherwise */
    if (!encoder_only)
        LLM_TRY(get_u32(m, arch, "decoder_block_count", false, &hp->n_layer, err));
    LLM_TRY(get_u32(m, arch, "attention.head_count", true, &hp->n_head, err));
    LLM_CHECK(err, hp->n_embd > 0 && hp->n_embd < T5_LIMIT_DIM, LLM_ERR_FORMAT,
              "%s.embedding_length is %u, expected 1..%u", arch, hp->n_embd, T5_LIMIT_DIM - 1);
    LLM_CHECK(err, hp->n_ff > 0 && hp->n_ff < T5_LIMIT_DIM, LLM_ERR_FORMAT,
              "%s.feed_forward_length is %u, expected 1..%u", arch, hp->n_ff, T5_LIMIT_DIM - 1);
    LLM_CHECK(err, hp->n_head > 0 && hp->n_head <= 4096, LLM_ERR_FORMAT,
              "%s.attention.head_count is %u, expected 1..4096", arch, hp->n_head);
    LLM_CHECK(err, hp->n_layer_enc > 0 && hp->n_layer_enc <= 4096, LLM_ERR_FORMAT,
              "%s.block_count is %u, expected 1..4096", arch, hp->n_layer_enc);
    LLM_CHECK(err, hp->n_layer > 0 && hp->n_layer <= 4096, LLM_ERR_FORMAT,
              "%s.decoder_block_count is %u, expected 1..4096", arch, hp->n_layer);
    hp->n_head_kv = hp->n_head;

    uint32_t key_len = hp->n_embd / hp->n_head, value_len;
    LLM_TRY(get_u32(m, arch, "attention.key_length", false, &key_len, err));
    value_len = key_len;
    LLM_TRY(get_u32(m, arch, "attention.value_length", false, &value_len, err));
    LLM_CHECK(err, key_len > 0 && key_len <= 4096, LLM_ERR_FORMAT,
              "%s.attention.key_length is %u, expected 1..4096", arch, key_len);
    LLM_CHECK(err, value_len == key_len, LLM_ERR_UNSUPPORTED,
              "%s.attention.value_length is %u but key_length is %u; T5 uses one d_kv", arch,
              value_len, key_len);
    hp->head_dim = key_len;
    LLM_CHECK(err, (uint64_t)hp->n_head * hp->head_dim < T5_LIMIT_DIM, LLM_ERR_FORMAT,
              "%s: attention width %u heads x %u is too large", arch, hp->n_head, hp->head_dim);

    char full[128];
    float eps = 1e-6f;
    snprintf(full, sizeof full, "%s.attention.layer_norm_rms_epsilon", arch);
    if (!llm_gguf_get_f32(m->gguf, full, &eps)) {
        snprintf(full, sizeof full, "%s.attention.layer_norm_epsilon", arch);
        if (!llm_gguf_get_f32(m->gguf, full, &eps))
            eps = 1e-6f;
    }
    LLM_CHECK(err, eps > 0.0f && eps < 1.0f, LLM_ERR_FORMAT,
              "%s: layer norm epsilon %g is not in (0, 1)", arch, (double)eps);
    hp->norm_eps = eps;

    hp->rel_buckets = 32;
    LLM_TRY(get_u32(m, arch, "attention.relative_buckets_count", false, &hp->rel_buckets, err));
    hp->rel_max_distance = T5_DEFAULT_MAX_DISTANCE;
    LLM_TRY(get_u32(m, arch, "attention.relative_max_distance", false, &hp->rel_max_distance,
                    err));
    LLM_CHECK(err, hp->rel_buckets >= 4 && hp->rel_buckets <= 4096, LLM_ERR_FORMAT,
              "%s.attention.relative_buckets_count is %u, expected 4..4096", arch,
              hp->rel_buckets);
    LLM_CHECK(err,
              hp->rel_max_distance > hp->rel_buckets / 2 && hp->rel_max_distance <= 65536,
              LLM_ERR_FORMAT, "%s: relative max distance %u must be in (%u, 65536]", arch,
              hp->rel_max_distance, hp->rel_buckets / 2);

    hp->n_ctx_train = 512;
    LLM_TRY(get_u32(m, arch, "context_length", false, &hp->n_ctx_train, err));

    int64_t start = 0;
    snprintf(full, sizeof full, "%s.decoder_start_token_id", arch);
    if (!llm_gguf_get_i64(m->gguf, full, &start) &&
        !llm_gguf_get_i64(m->gguf, "tokenizer.ggml.padding_token_id", &start))
        start = 0;
    hp->decoder_start_token = (int32_t)start;

    /* sentence-T5 style embeddings average the encoder output */
    hp->pooling = LLM_POOLING_MEAN;
    hp->normalize = 0;
    return LLM_OK;
}

static llm_status t5_load(llm_model *m, llm_error *err)
{
    llm_hparams *hp = &m->hp;
    const char *arch = "t5";
    size_t arch_len = 0;
    if (!llm_gguf_get_str(m->gguf, "general.architecture", &arch, &arch_len))
        arch = "t5";
    LLM_CHECK(err, strcmp(arch, "t5") == 0 || strcmp(arch, "t5encoder") == 0, LLM_ERR_UNSUPPORTED,
              "general.architecture is '%s', expected 't5' or 't5encoder'", arch);
    LLM_TRY(t5_read_hparams(m, arch, err));

    const llm_gguf_tensor *te = llm_gguf_find_tensor(m->gguf, "token_embd.weight");
    LLM_CHECK(err, te != NULL, LLM_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    LLM_CHECK(err, te->n_dims == 2 && te->ne[1] > 0 && te->ne[1] <= INT32_MAX, LLM_ERR_FORMAT,
              "tensor 'token_embd.weight' must be 2-D (d_model, n_vocab)");
    hp->n_vocab = (uint32_t)te->ne[1];
    bool gated = llm_model_has(m, "enc.blk.0.ffn_gate.weight");
    hp->ffn = gated ? LLM_FFN_GEGLU : LLM_FFN_RELU;

    t5_weights *w = llm_calloc(1, sizeof *w);
    LLM_CHECK(err, w != NULL, LLM_ERR_NOMEM, "cannot allocate the T5 weight table");
    m->weights = w;
    w->gated = gated;
    w->rel_span = hp->rel_max_distance;
    w->enc = llm_calloc(hp->n_layer_enc, sizeof *w->enc);
    if (is_encdec(m))
        w->dec = llm_calloc(hp->n_layer, sizeof *w->dec);
    llm_status st = LLM_OK;
    if (!w->enc || (is_encdec(m) && !w->dec)) {
        st = llm_error_set(err, LLM_ERR_NOMEM, "cannot allocate the T5 layer tables");
        goto fail;
    }

    st = llm_model_bind(m, &w->tok_embd, "token_embd.weight", hp->n_embd, hp->n_vocab, err);
    if (st != LLM_OK)
        goto fail;
    st = llm_model_bind_vec(m, &w->enc_norm, "enc.output_norm.weight", hp->n_embd, err);
    if (st != LLM_OK)
        goto fail;
    st = t5_load_rel(m, "enc.blk.0.attn_rel_b.weight", true, w->rel_span, &w->enc_rel, err);
    if (st != LLM_OK)
        goto fail;
    for (uint32_t i = 0; i < hp->n_layer_enc; i++) {
        st = bind_layer(m, &w->enc[i], "enc", i, false, gated, err);
        if (st != LLM_OK)
            goto fail;
    }
    if (is_encdec(m)) {
        st = llm_model_bind_vec(m, &w->dec_norm, "dec.output_norm.weight", hp->n_embd, err);
        if (st != LLM_OK)
            goto fail;
        st = t5_load_rel(m, "dec.blk.0.attn_rel_b.weight", false, w->rel_span, &w->dec_rel, err);
        if (st != LLM_OK)
            goto fail;
        for (uint32_t i = 0; i < hp->n_layer; i++) {
            st = bind_layer(m, &w->dec[i], "dec", i, true, gated, err);
            if (st != LLM_OK)
                goto fail;
        }
        hp->tied_embeddings = !llm_model_has(m, "output.weight");
        if (hp->tied_embeddings)
            w->output = w->tok_embd;
        else {
            st = llm_model_bind(m, &w->output, "output.weight", hp->n_embd, hp->n_vocab, err);
            if (st != LLM_OK)
                goto fail;
        }
        LLM_CHECK(err, hp->decoder_start_token >= 0 &&
                           (uint32_t)hp->decoder_start_token < hp->n_vocab,
                  LLM_ERR_FORMAT, "t5.decoder_start_token_id %d is outside the vocabulary (%u)",
                  hp->decoder_start_token, hp->n_vocab);
    }
    return LLM_OK;
fail:
    t5_unload(m);
    return st;
}

/* ---------------------------------------------------------------------------------------------- */
/* Buffer layout inside llm_run.act                                                               */
/* ---------------------------------------------------------------------------------------------- */

typedef struct t5_layout {
    /* persistent (encoder-decoder only), at the head of the block */
    size_t enc_out;      /* (t_max, d_model) */
    size_t cross_ptrs;   /* 2 * n_layer pointers */
    size_t cross_kv;     /* 2 * n_layer * (t_max, inner) */
    /* per call */
    size_t x, xn;        /* (t_max, d_model) */
    size_t q, k, v, att; /* (t_max, inner) */
    size_t ff_a, ff_b;   /* (t_max, d_ff) */
    size_t bias;         /* (n_head, T5_QUERY_BLOCK, t_max) */
    size_t ops;          /* kernel scratch */
    size_t ops_bytes;
    size_t total;
    uint32_t t_max;      /* rows of every row buffer: encoder tokens, decoder batch, keys */
} t5_layout;

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static size_t matmul_scratch_max(const t5_layer *L, bool decoder, bool gated, int64_t T)
{
    size_t s = 0;
    const llm_weight *ws[] = {&L->self.q, &L->self.k, &L->self.v, &L->self.o, &L->cross.q,
                              &L->cross.k, &L->cross.v, &L->cross.o, &L->up, &L->gate, &L->down};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
        if ((i >= 4 && i < 8 && !decoder) || (i == 9 && !gated))
            continue;
        s = max_sz(s, llm_op_matmul_scratch(ws[i]->type, T, ws[i]->cols));
    }
    return s;
}

static void t5_plan(const llm_model *m, uint32_t n_ctx, uint32_t n_batch, uint32_t n_threads,
                    t5_layout *L)
{
    const llm_hparams *hp = &m->hp;
    const t5_weights *w = m->weights;
    memset(L, 0, sizeof *L);
    uint32_t t_max = n_ctx > n_batch ? n_ctx : n_batch;
    if (t_max == 0)
        t_max = 1;
    L->t_max = t_max;
    size_t d = hp->n_embd, inner = (size_t)hp->n_head * hp->head_dim, ff = hp->n_ff;
    size_t off = 0;
    if (is_encdec(m)) {
        L->enc_out = off;
        off += align64(t_max * d * sizeof(float));
        L->cross_ptrs = off;
        off += align64(2 * (size_t)hp->n_layer * sizeof(float *));
        L->cross_kv = off;
        off += 2 * (size_t)hp->n_layer * align64(t_max * inner * sizeof(float));
    }
#define T5_TAKE(field, bytes)                                                                      \
    do {                                                                                           \
        L->field = off;                                                                            \
        off += align64(bytes);                                                                     \
    } while (0)
    T5_TAKE(x, t_max * d * sizeof(float));
    T5_TAKE(xn, t_max * d * sizeof(float));
    T5_TAKE(q, t_max * inner * sizeof(float));
    T5_TAKE(k, t_max * inner * sizeof(float));
    T5_TAKE(v, t_max * inner * sizeof(float));
    T5_TAKE(att, t_max * inner * sizeof(float));
    T5_TAKE(ff_a, t_max * ff * sizeof(float));
    T5_TAKE(ff_b, w->gated ? t_max * ff * sizeof(float) : 0);
    T5_TAKE(bias, (size_t)hp->n_head * T5_QUERY_BLOCK * t_max * sizeof(float));
#undef T5_TAKE
    size_t ops = llm_op_attention_scratch(t_max, (int)hp->n_head, n_threads ? n_threads : 1);
    for (uint32_t i = 0; i < hp->n_layer_enc; i++)
        ops = max_sz(ops, matmul_scratch_max(&w->enc[i], false, w->gated, t_max));
    if (is_encdec(m)) {
        for (uint32_t i = 0; i < hp->n_layer; i++)
            ops = max_sz(ops, matmul_scratch_max(&w->dec[i], true, w->gated, t_max));
        ops = max_sz(ops, llm_op_matmul_scratch(w->output.type, t_max, hp->n_embd));
    }
    L->ops = off;
    L->ops_bytes = align64(ops);
    off += L->ops_bytes;
    L->total = off;
}

static size_t t5_scratch_bytes(const llm_model *m, uint32_t n_ctx, uint32_t n_batch,
                               uint32_t n_threads)
{
    t5_layout L;
    /* 0 = "online CPUs": size the per-thread attention rows for a generous count */
    t5_plan(m, n_ctx, n_batch, n_threads ? n_threads : 256, &L);
    return L.total;
}

/* Plans the layout for this run and checks the activation block is large enough. */
static llm_status t5_bind_run(llm_run *r, t5_layout *L, llm_compute *c, llm_error *err)
{
    const llm_model *m = r->m;
    t5_plan(m, r->n_ctx, r->n_batch, llm_pool_threads(r->comp.pool), L);
    LLM_CHECK(err, r->act != NULL && r->act_bytes >= L->total, LLM_ERR_STATE,
              "t5: the session's activation block has %zu bytes, %zu needed for n_ctx %u, "
              "n_batch %u, %u threads",
              r->act_bytes, L->total, r->n_ctx, r->n_batch, llm_pool_threads(r->comp.pool));
    c->pool = r->comp.pool;
    c->scratch = (char *)r->act + L->ops;
    c->scratch_bytes = L->ops_bytes;
    if (is_encdec(m)) {
        char *base = r->act;
        const llm_hparams *hp = &m->hp;
        size_t inner = (size_t)hp->n_head * hp->head_dim;
        r->enc_out = (float *)(base + L->enc_out);
        r->n_enc_cap = L->t_max;
        float **ptrs = (float **)(base + L->cross_ptrs);
        for (uint32_t l = 0; l < hp->n_layer; l++) {
            ptrs[l] = (float *)(base + L->cross_kv +
                                (size_t)(2 * l) * align64(L->t_max * inner * sizeof(float)));
            ptrs[hp->n_layer + l] =
                (float *)(base + L->cross_kv +
                          (size_t)(2 * l + 1) * align64(L->t_max * inner * sizeof(float)));
        }
        r->cross_k = ptrs;
        r->cross_v = ptrs + hp->n_layer;
    }
    return LLM_OK;
}

#define T5_BUF(r, L, field) ((float *)((char *)(r)->act + (L)->field))

/* ---------------------------------------------------------------------------------------------- */
/* Blocks                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Keys and values in (T, inner) f32 buffers, the heads side by side in a row. */
static llm_attn_args t5_rows(const float *k, const float *v, int64_t inner)
{
    return (llm_attn_args){.k = k, .v = v, .kv_type = LLM_KV_F32, .kv_stride = inner};
}

/* Attention of Tq query rows (q, out: (Tq, inner)) against Tk keys (kv: where K and V are, their
 * type and strides), in query blocks so that the bias stays small. Query row i sits at
 * absolute position qpos0 + i. causal: row i sees keys j <= qpos0 + i. rel NULL: no bias. */
static void t5_attend(const llm_compute *c, const llm_model *m, float *out, const float *q,
                      const llm_attn_args *kv, int64_t Tq, int64_t Tk, int64_t qpos0, bool causal,
                      const float *rel, float *bias)
{
    const llm_hparams *hp = &m->hp;
    const t5_weights *w = m->weights;
    int64_t inner = (int64_t)hp->n_head * hp->head_dim;
    for (int64_t i0 = 0; i0 < Tq; i0 += T5_QUERY_BLOCK) {
        int64_t qn = Tq - i0 < T5_QUERY_BLOCK ? Tq - i0 : T5_QUERY_BLOCK;
        /* a causal block never needs keys past its last query */
        int64_t tk = causal ? qpos0 + i0 + qn : Tk;
        if (tk > Tk)
            tk = Tk;
        if (rel)
            t5_fill_bias(bias, rel, w->rel_span, (int)hp->n_head, qn, tk, qpos0 + i0);
        llm_attn_args a = {
            .q = q + i0 * inner,
            .k = kv->k,
            .v = kv->v,
            .out = out + i0 * inner,
            .Tq = qn,
            .Tk = tk,
            .q_stride = inner,
            .kv_stride = kv->kv_stride,
            .kv_head_stride = kv->kv_head_stride,
            .out_stride = inner,
            .kv_type = kv->kv_type,
            .n_head = (int)hp->n_head,
            .n_kv_head = (int)hp->n_head,
            .head_dim = (int)hp->head_dim,
            .scale = 1.0f, /* T5 does not scale q·k */
            .causal_offset = causal ? qpos0 + i0 : -1,
            .bias = rel ? bias : NULL,
        };
        llm_op_attention(c, &a);
    }
}

/* x (T, d) += ffn(rms(x)). */
static void t5_ffn(const llm_compute *c, const llm_model *m, const t5_layer *Lw, llm_run *r,
                   const t5_layout *L, int64_t T)
{
    const llm_hparams *hp = &m->hp;
    float *x = T5_BUF(r, L, x), *xn = T5_BUF(r, L, xn);
    float *a = T5_BUF(r, L, ff_a), *b = T5_BUF(r, L, ff_b);
    llm_op_rmsnorm(xn, x, Lw->ffn_norm, T, hp->n_embd, hp->norm_eps);
    if (hp->ffn == LLM_FFN_GEGLU) {
        llm_run_matmul(r, c, b, xn, &Lw->up, NULL, T);     /* (T, d_ff) wi_1 */
        /* (T, d_ff) gelu_tanh(wi_0 x) * wi_1 x */
        llm_run_matmul_act(r, c, a, xn, &Lw->gate, NULL, T, LLM_ACT_GELU_TANH_MUL, b);
    } else {
        llm_run_matmul_act(r, c, a, xn, &Lw->up, NULL, T, LLM_ACT_RELU, NULL); /* (T, d_ff) */
    }
    llm_run_matmul(r, c, xn, a, &Lw->down, NULL, T);       /* (T, d) */
    llm_op_add(x, xn, T * (int64_t)hp->n_embd);
}

/* ---------------------------------------------------------------------------------------------- */
/* Encoder                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static llm_status t5_encode(llm_run *r, const int32_t *ids, const uint32_t *seq_start,
                            uint32_t n_seq, float *hidden, llm_error *err)
{
    const llm_model *m = r->m;
    const llm_hparams *hp = &m->hp;
    const t5_weights *w = m->weights;
    t5_layout L;
    llm_compute c;
    LLM_CHECK(err, n_seq > 0 && seq_start != NULL && seq_start[0] == 0, LLM_ERR_INVALID_ARG,
              "t5 encode: %u sequences, seq_start[0] must be 0", n_seq);
    LLM_TRY(t5_bind_run(r, &L, &c, err));
    int64_t n = seq_start[n_seq];
    for (uint32_t s = 0; s < n_seq; s++)
        LLM_CHECK(err, seq_start[s + 1] > seq_start[s], LLM_ERR_INVALID_ARG,
                  "t5 encode: sequence %u is empty or seq_start decreases", s);
    LLM_CHECK(err, n <= (int64_t)L.t_max, LLM_ERR_TOO_LONG,
              "t5 encode: %lld tokens, the session takes at most %u per call (n_ctx)",
              (long long)n, L.t_max);
    for (int64_t i = 0; i < n; i++)
        LLM_CHECK(err, ids[i] >= 0 && (uint32_t)ids[i] < hp->n_vocab, LLM_ERR_INVALID_ARG,
                  "t5 encode: token %lld is id %d, outside the vocabulary (%u)", (long long)i,
                  ids[i], hp->n_vocab);

    int64_t d = hp->n_embd, inner = (int64_t)hp->n_head * hp->head_dim;
    float *x = T5_BUF(r, &L, x), *xn = T5_BUF(r, &L, xn);
    float *q = T5_BUF(r, &L, q), *k = T5_BUF(r, &L, k), *v = T5_BUF(r, &L, v);
    float *att = T5_BUF(r, &L, att), *bias = T5_BUF(r, &L, bias);

    llm_op_get_rows(x, &w->tok_embd, ids, n);   /* (n, d); T5 does not scale embeddings */
    for (uint32_t l = 0; l < hp->n_layer_enc; l++) {
        const t5_layer *Lw = &w->enc[l];
        llm_op_rmsnorm(xn, x, Lw->attn_norm, n, d, hp->norm_eps);
        llm_run_matmul(r, &c, q, xn, &Lw->self.q, NULL, n);     /* (n, inner) */
        llm_run_matmul(r, &c, k, xn, &Lw->self.k, NULL, n);
        llm_run_matmul(r, &c, v, xn, &Lw->self.v, NULL, n);
        for (uint32_t s = 0; s < n_seq; s++) {
            int64_t s0 = seq_start[s], len = (int64_t)seq_start[s + 1] - s0;
            const llm_attn_args kv = t5_rows(k + s0 * inner, v + s0 * inner, inner);
            t5_attend(&c, m, att + s0 * inner, q + s0 * inner, &kv, len, len, 0, false,
                      w->enc_rel, bias);
        }
        llm_run_matmul(r, &c, xn, att, &Lw->self.o, NULL, n);   /* (n, d) */
        llm_op_add(x, xn, n * d);
        t5_ffn(&c, m, Lw, r, &L, n);
    }
    bool keep = is_encdec(m) && n_seq == 1;
    float *out = keep ? r->enc_out : hidden;
    if (out)
        llm_op_rmsnorm(out, x, w->enc_norm, n, d, hp->norm_eps);
    if (keep) {
        r->n_enc = (uint32_t)n;
        r->cross_ready = false;
        if (hidden && hidden != out)
            memcpy(hidden, out, (size_t)n * d * sizeof(float));
    }
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Decoder                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* Cross-attention K/V of every decoder layer from the encoder output: once per input. */
static void t5_cross_kv(const llm_compute *c, llm_run *r)
{
    const llm_model *m = r->m;
    const t5_weights *w = m->weights;
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        llm_run_matmul(r, c, r->cross_k[l], r->enc_out, &w->dec[l].cross.k, NULL, r->n_enc);
        llm_run_matmul(r, c, r->cross_v[l], r->enc_out, &w->dec[l].cross.v, NULL, r->n_enc);
    }
    r->cross_ready = true;
}

/* Stores K or V rows (n, kv_dim) at positions pos0.. of a cache layer. */
static llm_status t5_decode(llm_run *r, const int32_t *ids, uint32_t n, uint32_t pos0,
                            float *logits, bool all_logits, llm_error *err)
{
    const llm_model *m = r->m;
    const llm_hparams *hp = &m->hp;
    const t5_weights *w = m->weights;
    LLM_CHECK(err, is_encdec(m), LLM_ERR_STATE,
              "t5encoder models have no decoder; use the embedding calls");
    t5_layout L;
    llm_compute c;
    LLM_TRY(t5_bind_run(r, &L, &c, err));
    LLM_CHECK(err, r->n_enc > 0, LLM_ERR_STATE,
              "t5 decode: no encoder input; feed the input before decoding");
    LLM_CHECK(err, n > 0 && n <= L.t_max, LLM_ERR_INVALID_ARG,
              "t5 decode: %u tokens in one call, expected 1..%u", n, L.t_max);
    llm_kv_cache *kv = r->kv;
    int64_t inner = (int64_t)hp->n_head * hp->head_dim, d = hp->n_embd;
    LLM_CHECK(err, kv && kv->n_layer == hp->n_layer && kv->kv_dim == (uint32_t)inner,
              LLM_ERR_STATE, "t5 decode: the KV cache has %u layers x %u, expected %u x %lld",
              kv ? kv->n_layer : 0, kv ? kv->kv_dim : 0, hp->n_layer, (long long)inner);
    LLM_CHECK(err, (uint64_t)pos0 + n <= kv->n_ctx, LLM_ERR_CONTEXT_FULL,
              "t5 decode: positions %u..%u do not fit a context of %u", pos0, pos0 + n - 1,
              kv->n_ctx);
    for (uint32_t i = 0; i < n; i++)
        LLM_CHECK(err, ids[i] >= 0 && (uint32_t)ids[i] < hp->n_vocab, LLM_ERR_INVALID_ARG,
                  "t5 decode: token %u is id %d, outside the vocabulary (%u)", i, ids[i],
                  hp->n_vocab);
    if (!r->cross_ready)
        t5_cross_kv(&c, r);

    float *x = T5_BUF(r, &L, x), *xn = T5_BUF(r, &L, xn);
    float *q = T5_BUF(r, &L, q), *k = T5_BUF(r, &L, k), *v = T5_BUF(r, &L, v);
    float *att = T5_BUF(r, &L, att), *bias = T5_BUF(r, &L, bias);

    llm_op_get_rows(x, &w->tok_embd, ids, n);   /* (n, d) */
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const t5_layer *Lw = &w->dec[l];
        /* causal self-attention over the cache */
        llm_op_rmsnorm(xn, x, Lw->attn_norm, n, d, hp->norm_eps);
        llm_run_matmul(r, &c, q, xn, &Lw->self.q, NULL, n);
        llm_run_matmul(r, &c, k, xn, &Lw->self.k, NULL, n);
        llm_run_matmul(r, &c, v, xn, &Lw->self.v, NULL, n);
        llm_kv_store(kv, l, pos0, n, k, inner, v, inner);
        llm_attn_args self = {0};
        llm_kv_cache_attn_args(kv, l, &self);
        t5_attend(&c, m, att, q, &self, n, (int64_t)pos0 + n, pos0, true, w->dec_rel, bias);
        llm_run_matmul(r, &c, xn, att, &Lw->self.o, NULL, n);
        llm_op_add(x, xn, n * d);
        /* cross-attention to the encoder output, no position bias */
        llm_op_rmsnorm(xn, x, Lw->cross_norm, n, d, hp->norm_eps);
        llm_run_matmul(r, &c, q, xn, &Lw->cross.q, NULL, n);
        const llm_attn_args cross = t5_rows(r->cross_k[l], r->cross_v[l], inner);
        t5_attend(&c, m, att, q, &cross, n, r->n_enc, 0, false, NULL, bias);
        llm_run_matmul(r, &c, xn, att, &Lw->cross.o, NULL, n);
        llm_op_add(x, xn, n * d);
        t5_ffn(&c, m, Lw, r, &L, n);
    }
    if (!logits)
        return LLM_OK;
    int64_t rows = all_logits ? n : 1;
    const float *src = x + (all_logits ? 0 : (int64_t)(n - 1) * d);
    llm_op_rmsnorm(xn, src, w->dec_norm, rows, d, hp->norm_eps);
    if (hp->tied_embeddings) /* HF: sequence_output * d_model^-0.5 before a tied lm_head */
        llm_op_scale(xn, (float)(1.0 / sqrt((double)d)), rows * d);
    llm_run_matmul(r, &c, logits, xn, &w->output, NULL, rows);   /* (rows, n_vocab) */
    return LLM_OK;
}

const llm_arch_ops llm_arch_t5 = {
    .name = "t5",
    .arch = LLM_ARCH_T5,
    .family = LLM_FAMILY_ENCODER_DECODER,
    .load = t5_load,
    .unload = t5_unload,
    .scratch_bytes = t5_scratch_bytes,
    .decode = t5_decode,
    .encode = t5_encode,
};
