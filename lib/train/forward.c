/*
 * The training forward and backward passes of the two decoder architectures over the trainer's
 * f32 master weights. The forward computes what lib/arch/gpt2.c and lib/arch/llama.c compute,
 * with the same operations in the same order (so its logits are inference's), and keeps the
 * activations of llm_tacts; the backward walks the layers in reverse and adds every tensor's
 * gradient into its g array.
 *
 * GPT-2:  x = tok[ids] + pos[t];  per layer  x += Wo·attn(Wqkv·ln1(x)+b)+bo,
 *                                            x += Wdown·gelu(Wup·ln2(x)+bup)+bdown
 * Llama:  x = tok[ids];           per layer  x += Wo·attn(rope(Wq·rms(x)), rope(Wk·rms(x)), Wv·rms(x)),
 *                                            x += Wdown·(silu(Wgate·rms(x)) ⊙ Wup·rms(x))
 * logits = Wout·norm(x), Wout = token_embd when tied.
 */
#include <math.h>
#include <string.h>

#include "train/train.h"

#define W(p) ((p) != NULL ? (p)->w : NULL)
#define G(p) ((p) != NULL ? (p)->g : NULL)

static void attn_args(const llm_trainer *tr, const llm_tacts *a, int64_t B, int64_t S,
                      llm_grad_attn *g)
{
    const bool gpt2 = tr->arch == LLM_ARCH_GPT2;
    *g = (llm_grad_attn){
        .B = B, .S = S,
        .n_head = (int)tr->H, .n_kv = (int)tr->KV, .head_dim = (int)tr->hd,
        .scale = 1.0f / sqrtf((float)tr->hd),
        .q = a->q,
        .k = gpt2 ? a->q + tr->E : a->k,
        .v = gpt2 ? a->q + 2 * tr->E : a->v,
        .q_stride = gpt2 ? 3 * tr->E : tr->QD,
        .kv_stride = gpt2 ? 3 * tr->E : tr->KD,
        .P = a->P,
        .out = a->att,
        .out_stride = tr->QD,
    };
}

void llm_train_forward(llm_trainer *tr, const int32_t *ids, int64_t B, int64_t S)
{
    const int64_t N = B * S, E = tr->E, F = tr->F;
    const bool gpt2 = tr->arch == LLM_ARCH_GPT2;
    llm_pool *pool = tr->pool;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < S; i++) {
            tr->in_ids[b * S + i] = ids[b * S + i];
            tr->pos_ids[b * S + i] = (int32_t)i;
            tr->neg_pos[b * S + i] = -(int32_t)i;
        }
    float *x = tr->L > 0 ? tr->acts[0].x_in : tr->x_out;
    for (int64_t r = 0; r < N; r++) {
        memcpy(x + r * E, tr->tok->w + (int64_t)ids[r] * E, (size_t)E * sizeof(float));
        if (gpt2) {
            const float *pe = tr->pos->w + (int64_t)tr->pos_ids[r] * E;
            for (int64_t e = 0; e < E; e++)
                x[r * E + e] += pe[e];
        }
    }
    for (int64_t l = 0; l < tr->L; l++) {
        const llm_tlayer *y = &tr->layers[l];
        llm_tacts *a = &tr->acts[l];
        float *next = l + 1 < tr->L ? tr->acts[l + 1].x_in : tr->x_out;
        if (gpt2) {
            llm_grad_layernorm_fwd(a->xn1, a->h1, a->r1, a->x_in, y->n1_w->w, W(y->n1_b), N, E,
                                   tr->eps);
            llm_grad_matmul_fwd(pool, a->q, a->xn1, y->qkv_w->w, W(y->qkv_b), N, 3 * E, E);
        } else {
            llm_grad_rmsnorm_fwd(a->xn1, a->r1, a->x_in, y->n1_w->w, N, E, tr->eps);
            llm_grad_matmul_fwd(pool, a->q, a->xn1, y->q_w->w, NULL, N, tr->QD, E);
            llm_grad_matmul_fwd(pool, a->k, a->xn1, y->k_w->w, NULL, N, tr->KD, E);
            llm_grad_matmul_fwd(pool, a->v, a->xn1, y->v_w->w, NULL, N, tr->KD, E);
            llm_op_rope(a->q, N, (int)tr->H, (int)tr->hd, tr->n_rot, tr->pos_ids, tr->rope_base,
                        tr->rope_scale, 0);
            llm_op_rope(a->k, N, (int)tr->KV, (int)tr->hd, tr->n_rot, tr->pos_ids,
                        tr->rope_base, tr->rope_scale, 0);
        }
        llm_grad_attn ga;
        attn_args(tr, a, B, S, &ga);
        llm_grad_attn_fwd(pool, &ga);
        llm_grad_matmul_fwd(pool, a->x_mid, a->att, y->o_w->w, W(y->o_b), N, E, tr->QD);
        llm_op_add(a->x_mid, a->x_in, N * E);
        if (gpt2) {
            llm_grad_layernorm_fwd(a->xn2, a->h2, a->r2, a->x_mid, y->n2_w->w, W(y->n2_b), N, E,
                                   tr->eps);
            llm_grad_matmul_fwd(pool, a->f_pre, a->xn2, y->up_w->w, W(y->up_b), N, F, E);
            memcpy(a->f_act, a->f_pre, (size_t)(N * F) * sizeof(float));
            llm_op_gelu_tanh(a->f_act, N * F);
        } else {
            llm_grad_rmsnorm_fwd(a->xn2, a->r2, a->x_mid, y->n2_w->w, N, E, tr->eps);
            llm_grad_matmul_fwd(pool, a->f_up, a->xn2, y->up_w->w, NULL, N, F, E);
            llm_grad_matmul_fwd(pool, a->f_pre, a->xn2, y->gate_w->w, NULL, N, F, E);
            llm_op_swiglu(a->f_act, a->f_pre, a->f_up, N * F);
        }
        llm_grad_matmul_fwd(pool, next, a->f_act, y->down_w->w, W(y->down_b), N, E, F);
        llm_op_add(next, a->x_mid, N * E);
    }
    if (gpt2)
        llm_grad_layernorm_fwd(tr->xnf, tr->hf, tr->rf, tr->x_out, tr->onorm_w->w,
                               W(tr->onorm_b), N, E, tr->eps);
    else
        llm_grad_rmsnorm_fwd(tr->xnf, tr->rf, tr->x_out, tr->onorm_w->w, N, E, tr->eps);
    const llm_tparam *head = tr->tied ? tr->tok : tr->output;
    llm_grad_matmul_fwd(pool, tr->logits, tr->xnf, head->w, NULL, N, tr->V, E);
}

void llm_train_backward(llm_trainer *tr, int64_t B, int64_t S)
{
    const int64_t N = B * S, E = tr->E, F = tr->F, V = tr->V;
    const bool gpt2 = tr->arch == LLM_ARCH_GPT2;
    llm_pool *pool = tr->pool;
    llm_tparam *head = tr->tied ? tr->tok : tr->output;
    float *dx = tr->dx, *dn = tr->dn;

    llm_grad_matmul_dx(pool, dn, tr->logits, head->w, N, V, E, 0);
    llm_grad_matmul_dw(pool, head->g, tr->logits, tr->xnf, N, V, E);
    memset(dx, 0, (size_t)(N * E) * sizeof(float));
    if (gpt2)
        llm_grad_layernorm_bwd(dx, dn, tr->hf, tr->rf, tr->onorm_w->w, tr->onorm_w->g,
                               G(tr->onorm_b), N, E);
    else
        llm_grad_rmsnorm_bwd(dx, dn, tr->x_out, tr->rf, tr->onorm_w->w, tr->onorm_w->g, N, E);

    for (int64_t l = tr->L - 1; l >= 0; l--) {
        const llm_tlayer *y = &tr->layers[l];
        const llm_tacts *a = &tr->acts[l];
        /* feed-forward: next = down(f_act) + x_mid */
        llm_grad_matmul_dx(pool, tr->dh, dx, y->down_w->w, N, E, F, 0);
        llm_grad_matmul_dw(pool, y->down_w->g, dx, a->f_act, N, E, F);
        if (y->down_b)
            llm_grad_bias(y->down_b->g, dx, N, E);
        if (gpt2) {
            llm_grad_gelu_bwd(tr->dh, tr->dh, a->f_pre, N * F);
            llm_grad_matmul_dx(pool, dn, tr->dh, y->up_w->w, N, F, E, 0);
            llm_grad_matmul_dw(pool, y->up_w->g, tr->dh, a->xn2, N, F, E);
            if (y->up_b)
                llm_grad_bias(y->up_b->g, tr->dh, N, F);
            llm_grad_layernorm_bwd(dx, dn, a->h2, a->r2, y->n2_w->w, y->n2_w->g, G(y->n2_b), N,
                                   E);
        } else {
            /* dg into dg, du into dh (in place: dh is read before it is written) */
            llm_grad_swiglu_bwd(tr->dg, tr->dh, tr->dh, a->f_pre, a->f_up, N * F);
            llm_grad_matmul_dx(pool, dn, tr->dg, y->gate_w->w, N, F, E, 0);
            llm_grad_matmul_dx(pool, dn, tr->dh, y->up_w->w, N, F, E, 1);
            llm_grad_matmul_dw(pool, y->gate_w->g, tr->dg, a->xn2, N, F, E);
            llm_grad_matmul_dw(pool, y->up_w->g, tr->dh, a->xn2, N, F, E);
            llm_grad_rmsnorm_bwd(dx, dn, a->x_mid, a->r2, y->n2_w->w, y->n2_w->g, N, E);
        }
        /* attention: x_mid = o(att) + x_in */
        llm_grad_matmul_dx(pool, tr->datt, dx, y->o_w->w, N, E, tr->QD, 0);
        llm_grad_matmul_dw(pool, y->o_w->g, dx, a->att, N, E, tr->QD);
        if (y->o_b)
            llm_grad_bias(y->o_b->g, dx, N, E);
        llm_grad_attn ga;
        attn_args(tr, a, B, S, &ga);
        if (gpt2) {
            const int64_t D = 3 * E;
            llm_grad_attn_bwd(pool, &ga, tr->datt, tr->dq, tr->dq + E, tr->dq + 2 * E,
                              tr->attn_scratch);
            llm_grad_matmul_dx(pool, dn, tr->dq, y->qkv_w->w, N, D, E, 0);
            llm_grad_matmul_dw(pool, y->qkv_w->g, tr->dq, a->xn1, N, D, E);
            if (y->qkv_b)
                llm_grad_bias(y->qkv_b->g, tr->dq, N, D);
            llm_grad_layernorm_bwd(dx, dn, a->h1, a->r1, y->n1_w->w, y->n1_w->g, G(y->n1_b), N,
                                   E);
        } else {
            llm_grad_attn_bwd(pool, &ga, tr->datt, tr->dq, tr->dk, tr->dv, tr->attn_scratch);
            /* RoPE is a rotation: its backward rotates by the opposite angle */
            llm_op_rope(tr->dq, N, (int)tr->H, (int)tr->hd, tr->n_rot, tr->neg_pos,
                        tr->rope_base, tr->rope_scale, 0);
            llm_op_rope(tr->dk, N, (int)tr->KV, (int)tr->hd, tr->n_rot, tr->neg_pos,
                        tr->rope_base, tr->rope_scale, 0);
            llm_grad_matmul_dx(pool, dn, tr->dq, y->q_w->w, N, tr->QD, E, 0);
            llm_grad_matmul_dx(pool, dn, tr->dk, y->k_w->w, N, tr->KD, E, 1);
            llm_grad_matmul_dx(pool, dn, tr->dv, y->v_w->w, N, tr->KD, E, 1);
            llm_grad_matmul_dw(pool, y->q_w->g, tr->dq, a->xn1, N, tr->QD, E);
            llm_grad_matmul_dw(pool, y->k_w->g, tr->dk, a->xn1, N, tr->KD, E);
            llm_grad_matmul_dw(pool, y->v_w->g, tr->dv, a->xn1, N, tr->KD, E);
            llm_grad_rmsnorm_bwd(dx, dn, a->x_in, a->r1, y->n1_w->w, y->n1_w->g, N, E);
        }
    }
    /* embeddings, row after row in order */
    for (int64_t r = 0; r < N; r++) {
        float *gt = tr->tok->g + (int64_t)tr->in_ids[r] * E;
        const float *d = dx + r * E;
        for (int64_t e = 0; e < E; e++)
            gt[e] += d[e];
        if (gpt2) {
            float *gp = tr->pos->g + (int64_t)tr->pos_ids[r] * E;
            for (int64_t e = 0; e < E; e++)
                gp[e] += d[e];
        }
    }
}
