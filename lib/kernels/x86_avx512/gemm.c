/*
 * AVX-512 (F/BW/VL/DQ + VNNI) kernels: products with f32, f16, q8_0 and q4_0 weights. The
 * other slots keep the AVX2 kernels (dispatch.c): for matrix×vector
 * products memory bandwidth, not vector width, sets the speed.
 *
 * Tiles follow x86_avx2/: each output owns one 16-lane accumulator, updated in the same order
 * whatever the tile shape (thread-count invariance). Quantized weights take two 32-element
 * blocks per zmm register: |w| and x negated where w < 0 go through one VPDPBUSD (u8 × s8 → s32),
 * the two blocks' scales ride in the two halves of one scale vector. An odd last block is
 * loaded into the low half with the high half zero.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define QK 32
#define INLINE static inline __attribute__((always_inline))

INLINE float f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

// ------------------------------------------------------------------------------------------------
// float weights

enum { WF32 = 0, WF16 = 1 };

INLINE __m512 load_w16(int wt, const uint8_t *w, int64_t k, __mmask16 m)
{
    if (wt == WF32)
        return _mm512_maskz_loadu_ps(m, (const float *)(const void *)w + k);
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + 2 * k));
}

INLINE void tile_float(const int wt, const int RT, const int RN, float *Y, int64_t ldy,
                       const float *X, int64_t ldx, const uint8_t *W, size_t ldw, int64_t K)
{
    __m512 acc[4][4]; /* (RT, RN) */
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            acc[t][n] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1u);
        __m512 w[4];
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            w[n] = load_w16(wt, W + (size_t)n * ldw, k, m);
#pragma GCC unroll 4
        for (int t = 0; t < RT; t++) {
            const __m512 x = _mm512_maskz_loadu_ps(m, X + t * ldx + k);
#pragma GCC unroll 4
            for (int n = 0; n < RN; n++)
                acc[t][n] = _mm512_fmadd_ps(x, w[n], acc[t][n]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            Y[t * ldy + n] = _mm512_reduce_add_ps(acc[t][n]);
}

#define TILE_SWITCH(fn, wt, rt, rn, ...)                                                           \
    switch ((rt) * 8 + (rn)) {                                                                     \
    case 1 * 8 + 1: fn(wt, 1, 1, __VA_ARGS__); break;                                              \
    case 1 * 8 + 2: fn(wt, 1, 2, __VA_ARGS__); break;                                              \
    case 1 * 8 + 3: fn(wt, 1, 3, __VA_ARGS__); break;                                              \
    case 1 * 8 + 4: fn(wt, 1, 4, __VA_ARGS__); break;                                              \
    case 2 * 8 + 1: fn(wt, 2, 1, __VA_ARGS__); break;                                              \
    case 2 * 8 + 2: fn(wt, 2, 2, __VA_ARGS__); break;                                              \
    case 2 * 8 + 3: fn(wt, 2, 3, __VA_ARGS__); break;                                              \
    case 2 * 8 + 4: fn(wt, 2, 4, __VA_ARGS__); break;                                              \
    case 3 * 8 + 1: fn(wt, 3, 1, __VA_ARGS__); break;                                              \
    case 3 * 8 + 2: fn(wt, 3, 2, __VA_ARGS__); break;                                              \
    case 3 * 8 + 3: fn(wt, 3, 3, __VA_ARGS__); break;                                              \
    case 3 * 8 + 4: fn(wt, 3, 4, __VA_ARGS__); break;                                              \
    case 4 * 8 + 1: fn(wt, 4, 1, __VA_ARGS__); break;                                              \
    case 4 * 8 + 2: fn(wt, 4, 2, __VA_ARGS__); break;                                              \
    case 4 * 8 + 3: fn(wt, 4, 3, __VA_ARGS__); break;                                              \
    case 4 * 8 + 4: fn(wt, 4, 4, __VA_ARGS__); break;                                              \
    default: break;                                                                                \
    }

/* Decode: 1 × 4 tiles; prefill: groups of 4 rows outside, tiles of 4 tokens inside. */
#define GEMM_DRIVER(tile, wt, X, ldx, W)                                                           \
    do {                                                                                           \
        const int64_t step_n = 4;                                                                  \
        for (int64_t n = 0; n < N; n += step_n) {                                                  \
            const int rn = (int)(N - n < step_n ? N - n : step_n);                                 \
            for (int64_t t = 0; t < T; t += 4) {                                                   \
                const int rt = (int)(T - t < 4 ? T - t : 4);                                       \
                TILE_SWITCH(tile, wt, rt, rn, Y + t * ldy + n, ldy, X + t * ldx, ldx,              \
                            W + (size_t)n * ldw, ldw, K);                                          \
            }                                                                                      \
        }                                                                                          \
    } while (0)

LLM_GEMM_FN(llm_gemm_f32_avx512)
{
    const float *Xf = X;
    const uint8_t *Wb = W;
    const int64_t ldxf = (int64_t)(ldx / sizeof(float));
    GEMM_DRIVER(tile_float, WF32, Xf, ldxf, Wb);
}

LLM_GEMM_FN(llm_gemm_f16_avx512)
{
    const float *Xf = X;
    const uint8_t *Wb = W;
    const int64_t ldxf = (int64_t)(ldx / sizeof(float));
    GEMM_DRIVER(tile_float, WF16, Xf, ldxf, Wb);
}

// ------------------------------------------------------------------------------------------------
// q8_0 / q4_0 weights against q8_0 activations, VNNI

enum { WQ8_0 = 0, WQ4_0 = 1 };

/* the 32 signed quants of one block */
INLINE __m256i block_q(const int wt, const uint8_t *blk)
{
    if (wt == WQ8_0)
        return _mm256_loadu_si256((const __m256i *)(const void *)(blk + 2));
    const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(blk + 2));
    const __m256i both = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q),
                                          _mm256_set1_epi8(0x0F));
    return _mm256_sub_epi8(both, _mm256_set1_epi8(8));
}

INLINE __m512i pair(__m256i lo, __m256i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

INLINE __m512 scales2(float lo, float hi)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(lo)), _mm256_set1_ps(hi), 1);
}

INLINE void tile_q(const int wt, const int RT, const int RN, float *Y, int64_t ldy,
                   const uint8_t *X, size_t ldx, const uint8_t *W, size_t ldw, int64_t K)
{
    const size_t wb = wt == WQ8_0 ? 34 : 18;
    const int64_t nb = K / QK;
    __m512 acc[4][4]; /* (RT, RN) */
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            acc[t][n] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        const int two = b + 1 < nb;
        __m512i wa[4];
        __mmask64 neg[4];
        float dw0[4], dw1[4];
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++) {
            const uint8_t *blk = W + (size_t)n * ldw + (size_t)b * wb;
            const __m512i w = pair(block_q(wt, blk), two ? block_q(wt, blk + wb) : _mm256_setzero_si256());
            wa[n] = _mm512_abs_epi8(w);
            neg[n] = _mm512_movepi8_mask(w);
            dw0[n] = f16(blk);
            dw1[n] = two ? f16(blk + wb) : 0.0f;
        }
#pragma GCC unroll 4
        for (int t = 0; t < RT; t++) {
            const uint8_t *xb = X + (size_t)t * ldx + (size_t)b * 34;
            const __m512i x = pair(_mm256_loadu_si256((const __m256i *)(const void *)(xb + 2)),
                                   two ? _mm256_loadu_si256((const __m256i *)(const void *)(xb + 36))
                                       : _mm256_setzero_si256());
            const float dx0 = f16(xb), dx1 = two ? f16(xb + 34) : 0.0f;
#pragma GCC unroll 4
            for (int n = 0; n < RN; n++) {
                const __m512i xs = _mm512_mask_sub_epi8(x, neg[n], _mm512_setzero_si512(), x);
                const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wa[n], xs);
                acc[t][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), scales2(dw0[n] * dx0, dw1[n] * dx1),
                                            acc[t][n]);
            }
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            Y[t * ldy + n] = _mm512_reduce_add_ps(acc[t][n]);
}

LLM_GEMM_FN(llm_gemm_q8_0_avx512)
{
    const uint8_t *Xb = X, *Wb = W;
    GEMM_DRIVER(tile_q, WQ8_0, Xb, ldx, Wb);
}

LLM_GEMM_FN(llm_gemm_q4_0_avx512)
{
    const uint8_t *Xb = X, *Wb = W;
    GEMM_DRIVER(tile_q, WQ4_0, Xb, ldx, Wb);
}
