/*
 * Reference bodies of the two products of a training backward pass (kernels.h): the input
 * gradient dX = dY·W and the weight gradient dW += dYᵀ·X, in plain C. Each output is one sum
 * taken in a fixed order (n = 0.. for dX, t = 0.. for dW), so any tiling gives the same bytes.
 */
#include "kernels/kernels.h"

void llm_gemm_dx_f32_generic(float *dX, int64_t ldx, const float *dY, int64_t ldy,
                             const float *W, int64_t ldw, int64_t T, int64_t N, int64_t K,
                             int accumulate)
{
    for (int64_t t = 0; t < T; t++) {
        float *out = dX + t * ldx;       /* (K) */
        const float *dy = dY + t * ldy;  /* (N) */
        if (!accumulate)
            for (int64_t k = 0; k < K; k++)
                out[k] = 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float a = dy[n];
            const float *w = W + n * ldw; /* (K) */
            for (int64_t k = 0; k < K; k++)
                out[k] += a * w[k];
        }
    }
}

void llm_gemm_dw_f32_generic(float *dW, int64_t ldw, const float *dY, int64_t ldy,
                             const float *X, int64_t ldx, int64_t T, int64_t N, int64_t K)
{
    for (int64_t n = 0; n < N; n++) {
        float *out = dW + n * ldw; /* (K) */
        for (int64_t t = 0; t < T; t++) {
            const float a = dY[t * ldy + n];
            const float *x = X + t * ldx; /* (K) */
            for (int64_t k = 0; k < K; k++)
                out[k] += a * x[k];
        }
    }
}
