/*
 * AVX2 bodies of the training backward products (kernels.h). Register tiles of four rows by 16
 * columns; every output element is one chain of fused multiply-adds in the order the contract
 * gives (n = 0.. for dX, t = 0.. for dW), and the column tails use fmaf, the same rounding as one
 * vector lane. So an element's bytes never depend on the tile that computed it.
 */
#include <immintrin.h>
#include <math.h>

#include "kernels/kernels.h"

/* R rows (R <= 4) of dX, 16 columns from k. */
static inline void dx_tile16(float *dX, int64_t ldx, const float *dY, int64_t ldy, const float *W,
                             int64_t ldw, int R, int64_t N, int64_t k, int accumulate)
{
    __m256 a[4][2];
    for (int r = 0; r < R; r++) {
        a[r][0] = accumulate ? _mm256_loadu_ps(dX + r * ldx + k) : _mm256_setzero_ps();
        a[r][1] = accumulate ? _mm256_loadu_ps(dX + r * ldx + k + 8) : _mm256_setzero_ps();
    }
    if (R == 4) {
        for (int64_t n = 0; n < N; n++) {
            const float *w = W + n * ldw + k;
            const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
            __m256 b = _mm256_broadcast_ss(dY + n);
            a[0][0] = _mm256_fmadd_ps(b, w0, a[0][0]);
            a[0][1] = _mm256_fmadd_ps(b, w1, a[0][1]);
            b = _mm256_broadcast_ss(dY + ldy + n);
            a[1][0] = _mm256_fmadd_ps(b, w0, a[1][0]);
            a[1][1] = _mm256_fmadd_ps(b, w1, a[1][1]);
            b = _mm256_broadcast_ss(dY + 2 * ldy + n);
            a[2][0] = _mm256_fmadd_ps(b, w0, a[2][0]);
            a[2][1] = _mm256_fmadd_ps(b, w1, a[2][1]);
            b = _mm256_broadcast_ss(dY + 3 * ldy + n);
            a[3][0] = _mm256_fmadd_ps(b, w0, a[3][0]);
            a[3][1] = _mm256_fmadd_ps(b, w1, a[3][1]);
        }
    } else {
        for (int64_t n = 0; n < N; n++) {
            const float *w = W + n * ldw + k;
            const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
            for (int r = 0; r < R; r++) {
                const __m256 b = _mm256_broadcast_ss(dY + r * ldy + n);
                a[r][0] = _mm256_fmadd_ps(b, w0, a[r][0]);
                a[r][1] = _mm256_fmadd_ps(b, w1, a[r][1]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(dX + r * ldx + k, a[r][0]);
        _mm256_storeu_ps(dX + r * ldx + k + 8, a[r][1]);
    }
}

/* One row of dX, one column k (the tail). */
static inline void dx_scalar(float *dX, const float *dY, const float *W, int64_t ldw, int64_t N,
                             int64_t k, int accumulate)
{
    float acc = accumulate ? dX[k] : 0.0f;
    for (int64_t n = 0; n < N; n++)
        acc = fmaf(dY[n], W[n * ldw + k], acc);
    dX[k] = acc;
}

void llm_gemm_dx_f32_avx2(float *dX, int64_t ldx, const float *dY, int64_t ldy, const float *W,
                          int64_t ldw, int64_t T, int64_t N, int64_t K, int accumulate)
{
    const int64_t K16 = K & ~(int64_t)15;
    for (int64_t t = 0; t < T; t += 4) {
        const int R = T - t < 4 ? (int)(T - t) : 4;
        float *x = dX + t * ldx;
        const float *dy = dY + t * ldy;
        for (int64_t k = 0; k < K16; k += 16)
            dx_tile16(x, ldx, dy, ldy, W, ldw, R, N, k, accumulate);
        for (int r = 0; r < R; r++)
            for (int64_t k = K16; k < K; k++)
                dx_scalar(x + r * ldx, dy + r * ldy, W, ldw, N, k, accumulate);
    }
}

/* R rows (R <= 4) n.. of dW, 16 columns from k. */
static inline void dw_tile16(float *dW, int64_t ldw, const float *dY, int64_t ldy, const float *X,
                             int64_t ldx, int R, int64_t T, int64_t k)
{
    __m256 a[4][2];
    for (int r = 0; r < R; r++) {
        a[r][0] = _mm256_loadu_ps(dW + r * ldw + k);
        a[r][1] = _mm256_loadu_ps(dW + r * ldw + k + 8);
    }
    if (R == 4) {
        for (int64_t t = 0; t < T; t++) {
            const float *x = X + t * ldx + k;
            const float *dy = dY + t * ldy;
            const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
            __m256 b = _mm256_broadcast_ss(dy);
            a[0][0] = _mm256_fmadd_ps(b, x0, a[0][0]);
            a[0][1] = _mm256_fmadd_ps(b, x1, a[0][1]);
            b = _mm256_broadcast_ss(dy + 1);
            a[1][0] = _mm256_fmadd_ps(b, x0, a[1][0]);
            a[1][1] = _mm256_fmadd_ps(b, x1, a[1][1]);
            b = _mm256_broadcast_ss(dy + 2);
            a[2][0] = _mm256_fmadd_ps(b, x0, a[2][0]);
            a[2][1] = _mm256_fmadd_ps(b, x1, a[2][1]);
            b = _mm256_broadcast_ss(dy + 3);
            a[3][0] = _mm256_fmadd_ps(b, x0, a[3][0]);
            a[3][1] = _mm256_fmadd_ps(b, x1, a[3][1]);
        }
    } else {
        for (int64_t t = 0; t < T; t++) {
            const float *x = X + t * ldx + k;
            const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
            for (int r = 0; r < R; r++) {
                const __m256 b = _mm256_broadcast_ss(dY + t * ldy + r);
                a[r][0] = _mm256_fmadd_ps(b, x0, a[r][0]);
                a[r][1] = _mm256_fmadd_ps(b, x1, a[r][1]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(dW + r * ldw + k, a[r][0]);
        _mm256_storeu_ps(dW + r * ldw + k + 8, a[r][1]);
    }
}

void llm_gemm_dw_f32_avx2(float *dW, int64_t ldw, const float *dY, int64_t ldy, const float *X,
                          int64_t ldx, int64_t T, int64_t N, int64_t K)
{
    const int64_t K16 = K & ~(int64_t)15;
    for (int64_t n = 0; n < N; n += 4) {
        const int R = N - n < 4 ? (int)(N - n) : 4;
        for (int64_t k = 0; k < K16; k += 16)
            dw_tile16(dW + n * ldw, ldw, dY + n, ldy, X, ldx, R, T, k);
        for (int r = 0; r < R; r++)
            for (int64_t k = K16; k < K; k++) {
                float acc = dW[(n + r) * ldw + k];
                for (int64_t t = 0; t < T; t++)
                    acc = fmaf(dY[t * ldy + n + r], X[t * ldx + k], acc);
                dW[(n + r) * ldw + k] = acc;
            }
    }
}
