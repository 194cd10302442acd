/*
 * The building blocks of a training step: forward passes that keep what their backward needs,
 * and the backward of every operation GPT-2 and Llama use. f32 throughout, no allocation (the
 * caller passes every buffer), and no dependence on the thread count: parallel work is split by
 * output rows only, and each output is one sum taken in a fixed order.
 *
 * Shapes are written beside every pointer: T rows, n (or K, N) columns, row-major.
 * Backward functions that say "+=" add into their outputs (the residual stream and the weight
 * gradients accumulate); the others overwrite.
 */
#ifndef LLM_TRAIN_GRAD_OPS_H
#define LLM_TRAIN_GRAD_OPS_H

#include <stdint.h>

#include "kernels/ops.h"

/* ---- products ------------------------------------------------------------------------------- */

/* Y (T, N) = X (T, K) · Wᵀ (+ bias): the inference product (llm_op_matmul) over f32 weights. */
void llm_grad_matmul_fwd(llm_pool *pool, float *Y, const float *X, const float *W,
                         const float *bias, int64_t T, int64_t N, int64_t K);
/* dX (T, K) = dY (T, N) · W (N, K), or += when accumulate. */
void llm_grad_matmul_dx(llm_pool *pool, float *dX, const float *dY, const float *W, int64_t T,
                        int64_t N, int64_t K, int accumulate);
/* dW (N, K) += dYᵀ · X (T, K). */
void llm_grad_matmul_dw(llm_pool *pool, float *dW, const float *dY, const float *X, int64_t T,
                        int64_t N, int64_t K);
/* db (N) += sum over rows of dY (T, N). */
void llm_grad_bias(float *db, const float *dY, int64_t T, int64_t N);

/* ---- norms ---------------------------------------------------------------------------------- */

/* y = xhat·w + b with xhat = (x − mean)·rstd: the bytes of llm_op_layernorm; keeps xhat (T, n)
 * and rstd (T). w, b may be NULL. */
void llm_grad_layernorm_fwd(float *y, float *xhat, float *rstd, const float *x, const float *w,
                            const float *b, int64_t T, int64_t n, float eps);
/* dx (T, n) += ∂/∂x; dw, db (n) += (each may be NULL). */
void llm_grad_layernorm_bwd(float *dx, const float *dy, const float *xhat, const float *rstd,
                            const float *w, float *dw, float *db, int64_t T, int64_t n);
/* y = x·rstd·w, rstd = 1/sqrt(mean(x²) + eps): the bytes of llm_op_rmsnorm; keeps rstd (T). */
void llm_grad_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w, int64_t T,
                          int64_t n, float eps);
/* dx (T, n) += ∂/∂x; dw (n) += (may be NULL). */
void llm_grad_rmsnorm_bwd(float *dx, const float *dy, const float *x, const float *rstd,
                          const float *w, float *dw, int64_t T, int64_t n);

/* ---- activations ---------------------------------------------------------------------------- */

/* dx (n) = dy · gelu_tanh'(x). */
void llm_grad_gelu_bwd(float *dx, const float *dy, const float *x, int64_t n);
/* h = silu(g)·u: dg = dh·u·silu'(g), du = dh·silu(g) (n each). */
void llm_grad_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u,
                         int64_t n);

/* ---- attention ------------------------------------------------------------------------------ */

/* Causal attention of B sequences of S positions each (row b·S + i), grouped-query: head h reads
 * kv head h / (n_head / n_kv). Keeps the probabilities P (B, n_head, S, S). */
typedef struct llm_grad_attn {
    int64_t B, S;
    int n_head, n_kv, head_dim;
    float scale;
    const float *q;        /* (B·S, n_head·head_dim), row stride q_stride */
    const float *k, *v;    /* (B·S, n_kv·head_dim), row stride kv_stride */
    int64_t q_stride, kv_stride;
    float *P;              /* (B, n_head, S, S); entries above the diagonal are 0 */
    float *out;            /* (B·S, n_head·head_dim), row stride out_stride */
    int64_t out_stride;
} llm_grad_attn;

void llm_grad_attn_fwd(llm_pool *pool, const llm_grad_attn *a);
/* From dout (rows like out): dq (like q), dk and dv (like k, v; overwritten). scratch holds
 * B·n_kv·S floats. */
void llm_grad_attn_bwd(llm_pool *pool, const llm_grad_attn *a, const float *dout, float *dq,
                       float *dk, float *dv, float *scratch);

/* ---- loss ----------------------------------------------------------------------------------- */

/* Softmax cross-entropy of T rows of V logits against targets[t]. logits are replaced by the
 * gradient (softmax − onehot)·scale[t]. nll[t] (may be NULL) gets each row's −log p(target).
 * Returns sum over t of weight[t]·nll[t] (weight NULL = 1 each). */
double llm_grad_cross_entropy(float *logits, const int32_t *targets, const float *scale,
                              const float *weight, double *nll, int64_t T, int64_t V);

#endif /* LLM_TRAIN_GRAD_OPS_H */
