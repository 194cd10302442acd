/*
 * The trainer's tensor table: every tensor of the model, in file order, copied into f32 master
 * weights (dequantized where the file is f16, bf16 or quantized), with a gradient and two AdamW
 * moments beside it; then the network views (which tensor is whose query projection, ...) that
 * forward.c walks. GPT-2 biases are optional one by one; a missing output.weight means the head
 * is tied to token_embd.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "train/train.h"

llm_tparam *llm_train_find(const llm_trainer *tr, const char *name)
{
    for (size_t i = 0; i < tr->np; i++)
        if (strcmp(tr->p[i].name, name) == 0)
            return &tr->p[i];
    return NULL;
}

/* A tensor the architecture needs, with the expected shape (ne0, ne1; ne1 = 0 for a vector). */
static llm_status need(llm_trainer *tr, llm_tparam **out, const char *name, int64_t ne0,
                       int64_t ne1, bool optional, llm_error *err)
{
    llm_tparam *p = llm_train_find(tr, name);
    *out = p;
    if (!p) {
        if (optional)
            return LLM_OK;
        return llm_error_set(err, LLM_ERR_FORMAT, "tensor '%s' is missing", name);
    }
    const bool vec = ne1 == 0;
    if (p->ne[0] != ne0 || (vec ? p->n_dims != 1 : p->ne[1] != ne1))
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "tensor '%s' has shape [%lld, %lld], expected [%lld, %lld]", name,
                             (long long)p->ne[0], (long long)p->ne[1], (long long)ne0,
                             (long long)(vec ? 1 : ne1));
    return LLM_OK;
}

/* A checkpoint's AdamW moments are not model tensors. */
static bool is_moment(const char *name)
{
    return strncmp(name, "adam_m.", 7) == 0 || strncmp(name, "adam_v.", 7) == 0;
}

static llm_status copy_tensors(llm_trainer *tr, llm_error *err)
{
    const llm_gguf *g = tr->model->gguf;
    const uint64_t nt = llm_gguf_n_tensors(g);
    tr->p = llm_calloc(nt ? nt : 1, sizeof *tr->p);
    LLM_CHECK(err, tr->p, LLM_ERR_NOMEM, "out of memory");
    size_t total = 0;
    for (uint64_t i = 0; i < nt; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        if (is_moment(t->name))
            continue;
        LLM_CHECK(err, t->n_dims <= 2 && t->ne[2] == 1 && t->ne[3] == 1, LLM_ERR_UNSUPPORTED,
                  "tensor '%s' has %u dimensions; a trainable tensor has 1 or 2", t->name,
                  t->n_dims);
        LLM_CHECK(err, strlen(t->name) < sizeof tr->p[0].name, LLM_ERR_FORMAT,
                  "tensor name '%s' is longer than 63 bytes", t->name);
        llm_tparam *p = &tr->p[tr->np++];
        snprintf(p->name, sizeof p->name, "%s", t->name);
        p->n_dims = t->n_dims;
        p->ne[0] = (int64_t)t->ne[0];
        p->ne[1] = (int64_t)t->ne[1];
        p->n = (size_t)(t->ne[0] * t->ne[1]);
        p->decay = t->n_dims == 2;
        total += (p->n + 15) & ~(size_t)15; /* each array 64-byte aligned */
    }
    tr->n_floats = total;
    uint64_t bytes;
    LLM_CHECK(err, llm_mul_ok(total, 4 * sizeof(float), &bytes) && bytes <= SIZE_MAX,
              LLM_ERR_NOMEM, "model too large to train");
    tr->arena = llm_aligned_alloc((size_t)bytes);
    LLM_CHECK(err, tr->arena, LLM_ERR_NOMEM, "out of memory for %llu bytes of training state",
              (unsigned long long)bytes);
    memset(tr->arena, 0, (size_t)bytes);
    size_t off = 0;
    uint64_t ti = 0;
    for (size_t i = 0; i < tr->np; i++, ti++) {
        llm_tparam *p = &tr->p[i];
        p->w = tr->arena + off;
        p->g = tr->arena + total + off;
        p->m = tr->arena + 2 * total + off;
        p->v = tr->arena + 3 * total + off;
        off += (p->n + 15) & ~(size_t)15;
        while (is_moment(llm_gguf_tensor_at(g, ti)->name))
            ti++;
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, ti);
        LLM_CHECK(err, llm_dtype_get(t->type) != NULL, LLM_ERR_UNSUPPORTED,
                  "tensor '%s' has type %u, which cannot be converted to f32", t->name, t->type);
        const size_t row_bytes = (size_t)llm_dtype_row_bytes(t->type, t->ne[0]);
        for (int64_t r = 0; r < p->ne[1]; r++)
            llm_dequantize_row(t->type, (const uint8_t *)t->data + (size_t)r * row_bytes,
                               p->w + r * p->ne[0], p->ne[0]);
    }
    return LLM_OK;
}

llm_status llm_train_bind(llm_trainer *tr, llm_error *err)
{
    const llm_hparams *hp = &tr->model->hp;
    tr->arch = hp->arch;
    LLM_CHECK(err, hp->arch == LLM_ARCH_GPT2 || hp->arch == LLM_ARCH_LLAMA, LLM_ERR_UNSUPPORTED,
              "training supports the gpt2 and llama architectures, not %s",
              tr->model->ops->name);
    tr->E = hp->n_embd;
    tr->H = hp->n_head;
    tr->KV = hp->n_head_kv;
    tr->hd = hp->head_dim;
    tr->QD = tr->H * tr->hd;
    tr->KD = tr->KV * tr->hd;
    tr->F = hp->n_ff;
    tr->V = hp->n_vocab;
    tr->L = hp->n_layer;
    tr->n_ctx_model = hp->n_ctx_train;
    tr->eps = hp->norm_eps;
    tr->rope_base = hp->rope_freq_base;
    tr->rope_scale = hp->rope_freq_scale;
    tr->n_rot = (int)hp->n_rot;
    LLM_CHECK(err, hp->arch != LLM_ARCH_LLAMA || !hp->rope_neox, LLM_ERR_UNSUPPORTED,
              "training supports the adjacent-pair RoPE of llama only");
    LLM_TRY(copy_tensors(tr, err));

    const int64_t E = tr->E, F = tr->F, V = tr->V;
    const bool gpt2 = tr->arch == LLM_ARCH_GPT2;
    LLM_TRY(need(tr, &tr->tok, "token_embd.weight", E, V, false, err));
    if (gpt2)
        LLM_TRY(need(tr, &tr->pos, "position_embd.weight", E, tr->n_ctx_model, false, err));
    LLM_TRY(need(tr, &tr->onorm_w, "output_norm.weight", E, 0, false, err));
    LLM_TRY(need(tr, &tr->onorm_b, "output_norm.bias", E, 0, true, err));
    LLM_TRY(need(tr, &tr->output, "output.weight", E, V, true, err));
    tr->tied = tr->output == NULL;
    tr->layers = llm_calloc((size_t)tr->L, sizeof *tr->layers);
    LLM_CHECK(err, tr->layers, LLM_ERR_NOMEM, "out of memory");
    char name[96];
    for (int64_t l = 0; l < tr->L; l++) {
        llm_tlayer *y = &tr->layers[l];
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%lld." suffix, (long long)l), name)
        LLM_TRY(need(tr, &y->n1_w, NAME("attn_norm.weight"), E, 0, false, err));
        LLM_TRY(need(tr, &y->n2_w, NAME("ffn_norm.weight"), E, 0, false, err));
        LLM_TRY(need(tr, &y->up_w, NAME("ffn_up.weight"), E, F, false, err));
        LLM_TRY(need(tr, &y->down_w, NAME("ffn_down.weight"), F, E, false, err));
        LLM_TRY(need(tr, &y->o_w, NAME("attn_output.weight"), tr->QD, E, false, err));
        if (gpt2) {
            LLM_TRY(need(tr, &y->n1_b, NAME("attn_norm.bias"), E, 0, true, err));
            LLM_TRY(need(tr, &y->n2_b, NAME("ffn_norm.bias"), E, 0, true, err));
            LLM_CHECK(err, llm_train_find(tr, NAME("attn_qkv.weight")), LLM_ERR_UNSUPPORTED,
                      "training a gpt2 model needs the fused attn_qkv projection (blk.%lld has "
                      "separate q/k/v)", (long long)l);
            LLM_TRY(need(tr, &y->qkv_w, NAME("attn_qkv.weight"), E, 3 * E, false, err));
            LLM_TRY(need(tr, &y->qkv_b, NAME("attn_qkv.bias"), 3 * E, 0, true, err));
            LLM_TRY(need(tr, &y->o_b, NAME("attn_output.bias"), E, 0, true, err));
            LLM_TRY(need(tr, &y->up_b, NAME("ffn_up.bias"), F, 0, true, err));
            LLM_TRY(need(tr, &y->down_b, NAME("ffn_down.bias"), E, 0, true, err));
            if (y->qkv_b)
                tr->has_bias = true;
        } else {
            LLM_TRY(need(tr, &y->q_w, NAME("attn_q.weight"), E, tr->QD, false, err));
            LLM_TRY(need(tr, &y->k_w, NAME("attn_k.weight"), E, tr->KD, false, err));
            LLM_TRY(need(tr, &y->v_w, NAME("attn_v.weight"), E, tr->KD, false, err));
            LLM_TRY(need(tr, &y->gate_w, NAME("ffn_gate.weight"), E, F, false, err));
        }
#undef NAME
    }
    return LLM_OK;
}
