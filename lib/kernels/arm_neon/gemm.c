/*
 * AArch64 NEON kernels: products with f32, f16, q8_0 and q4_0 weights, the q8_0 activation
 * quantizer, and the attention vector helpers. The slots this file leaves empty keep the
 * generic kernels (dispatch.c).
 *
 * Same tile rules as x86_avx2/: an RT × RN register tile walks K once, every output owns its
 * 4-lane accumulator(s), updated in the same order whatever the tile shape, so outputs never
 * depend on tile boundaries (thread-count invariance). Int8 dots use SDOT where the compiler
 * targets it (__ARM_FEATURE_DOTPROD), else SMULL + SADALP.
 *
 * The file is built twice: once for baseline ARMv8-A (everything), and once with
 * LLM_NEON_DOTPROD_ONLY and -march=armv8.2-a+dotprod, which keeps only the int8 products,
 * named *_neon_dotprod; dispatch.c picks those when the CPU reports ASIMDDP.
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"

#define QK 32
#define INLINE static inline __attribute__((always_inline))

INLINE float f16le(const uint8_t *p)
{
    __fp16 h;
    memcpy(&h, p, sizeof h);
    return (float)h;
}

#if defined(LLM_NEON_DOTPROD_ONLY)
#define QNAME(name) name##_dotprod
#else
#define QNAME(name) name
#endif

#if !defined(LLM_NEON_DOTPROD_ONLY)
// ------------------------------------------------------------------------------------------------
// float weights

enum { WF32 = 0, WF16 = 1 };

INLINE float32x4_t load_w4(int wt, const uint8_t *w, int64_t k)
{
    if (wt == WF32)
        return vld1q_f32((const float *)(const void *)w + k);
    return vcvt_f32_f16(vld1_f16((const __fp16 *)(const void *)(w + 2 * k)));
}

INLINE float32x4_t load_w_tail(int wt, const uint8_t *w, int64_t k, int64_t rem)
{
    uint8_t buf[16] = {0};
    const size_t esz = wt == WF32 ? 4 : 2;
    memcpy(buf, w + esz * k, esz * (size_t)rem);
    return load_w4(wt, buf, 0);
}

INLINE float32x4_t load_x_tail(const float *x, int64_t k, int64_t rem)
{
    float buf[4] = {0};
    memcpy(buf, x + k, sizeof(float) * (size_t)rem);
    return vld1q_f32(buf);
}

INLINE void tile_float(const int wt, const int RT, const int RN, float *Y, int64_t ldy,
                       const float *X, int64_t ldx, const uint8_t *W, size_t ldw, int64_t K)
{
    float32x4_t acc[4][4]; /* (RT, RN) */
    for (int t = 0; t < RT; t++)
        for (int n = 0; n < RN; n++)
            acc[t][n] = vdupq_n_f32(0.0f);
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t w[4];
        for (int n = 0; n < RN; n++)
            w[n] = load_w4(wt, W + (size_t)n * ldw, k);
        for (int t = 0; t < RT; t++) {
            const float32x4_t x = vld1q_f32(X + t * ldx + k);
            for (int n = 0; n < RN; n++)
                acc[t][n] = vfmaq_f32(acc[t][n], x, w[n]);
        }
    }
    if (k < K) {
        float32x4_t w[4];
        for (int n = 0; n < RN; n++)
            w[n] = load_w_tail(wt, W + (size_t)n * ldw, k, K - k);
        for (int t = 0; t < RT; t++) {
            const float32x4_t x = load_x_tail(X + t * ldx, k, K - k);
            for (int n = 0; n < RN; n++)
                acc[t][n] = vfmaq_f32(acc[t][n], x, w[n]);
        }
    }
    for (int t = 0; t < RT; t++)
        for (int n = 0; n < RN; n++)
            Y[t * ldy + n] = vaddvq_f32(acc[t][n]);
}

#endif /* !LLM_NEON_DOTPROD_ONLY */

#define TILE_SWITCH(fn, wt, rt, rn, ...)                                                           \
    switch ((rt) * 8 + (rn)) {                                                                     \
    case 1 * 8 + 1: fn(wt, 1, 1, __VA_ARGS__); break;                                              \
    case 1 * 8 + 2: fn(wt, 1, 2, __VA_ARGS__); break;                                              \
    case 1 * 8 + 3: fn(wt, 1, 3, __VA_ARGS__); break;                                              \
    case 1 * 8 + 4: fn(wt, 1, 4, __VA_ARGS__); break;                                              \
    case 2 * 8 + 1: fn(wt, 2, 1, __VA_ARGS__); break;                                              \
    case 2 * 8 + 2: fn(wt, 2, 2, __VA_ARGS__); break;                                              \
    case 3 * 8 + 1: fn(wt, 3, 1, __VA_ARGS__); break;                                              \
    case 3 * 8 + 2: fn(wt, 3, 2, __VA_ARGS__); break;                                              \
    case 4 * 8 + 1: fn(wt, 4, 1, __VA_ARGS__); break;                                              \
    case 4 * 8 + 2: fn(wt, 4, 2, __VA_ARGS__); break;                                              \
    default: break;                                                                                \
    }

/* Decode: 1 × 4 tiles. Prefill: groups of 2 rows outside, tiles of 4 tokens inside. */
#define GEMM_DRIVER(tile, wt, X, ldx, W)                                                           \
    do {                                                                                           \
        if (T == 1) {                                                                              \
            int64_t n = 0;                                                                         \
            for (; n + 4 <= N; n += 4)                                                             \
                tile(wt, 1, 4, Y + n, ldy, X, ldx, W + (size_t)n * ldw, ldw, K);                   \
            if (n < N)                                                                             \
                TILE_SWITCH(tile, wt, 1, N - n, Y + n, ldy, X, ldx, W + (size_t)n * ldw, ldw, K);  \
            break;                                                                                 \
        }                                                                                          \
        for (int64_t n = 0; n < N; n += 2) {                                                       \
            const int rn = (int)(N - n < 2 ? N - n : 2);                                           \
            for (int64_t t = 0; t < T; t += 4) {                                                   \
                const int rt = (int)(T - t < 4 ? T - t : 4);                                       \
                TILE_SWITCH(tile, wt, rt, rn, Y + t * ldy + n, ldy, X + t * ldx, ldx,              \
                            W + (size_t)n * ldw, ldw, K);                                          \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#if !defined(LLM_NEON_DOTPROD_ONLY)
LLM_GEMM_FN(llm_gemm_f32_neon)
{
    const float *Xf = X;
    const uint8_t *Wb = W;
    const int64_t ldxf = (int64_t)(ldx / sizeof(float));
    GEMM_DRIVER(tile_float, WF32, Xf, ldxf, Wb);
}

LLM_GEMM_FN(llm_gemm_f16_neon)
{
    const float *Xf = X;
    const uint8_t *Wb = W;
    const int64_t ldxf = (int64_t)(ldx / sizeof(float));
    GEMM_DRIVER(tile_float, WF16, Xf, ldxf, Wb);
}

#endif /* !LLM_NEON_DOTPROD_ONLY */

// ------------------------------------------------------------------------------------------------
// q8_0 and q4_0 weights against q8_0 activations

enum { WQ8_0 = 0, WQ4_0 = 1 };

/* Σ a·b of 32 int8 pairs, as 4 int32 lanes */
INLINE int32x4_t dot32(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1)
{
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, b0), a1, b1);
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(a0), vget_low_s8(b0));
    int16x8_t p1 = vmull_high_s8(a0, b0);
    int16x8_t p2 = vmull_s8(vget_low_s8(a1), vget_low_s8(b1));
    int16x8_t p3 = vmull_high_s8(a1, b1);
    int32x4_t s = vpaddlq_s16(p0);
    s = vpadalq_s16(s, p1);
    s = vpadalq_s16(s, p2);
    return vpadalq_s16(s, p3);
#endif
}

INLINE void tile_q(const int wt, const int RT, const int RN, float *Y, int64_t ldy,
                   const uint8_t *X, size_t ldx, const uint8_t *W, size_t ldw, int64_t K)
{
    const size_t wb = wt == WQ8_0 ? 34 : 18;
    float32x4_t acc[4][4]; /* (RT, RN) */
    for (int t = 0; t < RT; t++)
        for (int n = 0; n < RN; n++)
            acc[t][n] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < K / QK; b++) {
        int8x16_t w0[4], w1[4];
        float dw[4];
        for (int n = 0; n < RN; n++) {
            const uint8_t *blk = W + (size_t)n * ldw + (size_t)b * wb;
            dw[n] = f16le(blk);
            if (wt == WQ8_0) {
                w0[n] = vld1q_s8((const int8_t *)(blk + 2));
                w1[n] = vld1q_s8((const int8_t *)(blk + 18));
            } else {
                const uint8x16_t q = vld1q_u8(blk + 2);
                w0[n] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
                w1[n] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
            }
        }
        for (int t = 0; t < RT; t++) {
            const uint8_t *xb = X + (size_t)t * ldx + (size_t)b * 34;
            const float dx = f16le(xb);
            const int8x16_t x0 = vld1q_s8((const int8_t *)(xb + 2));
            const int8x16_t x1 = vld1q_s8((const int8_t *)(xb + 18));
            for (int n = 0; n < RN; n++) {
                const float32x4_t p = vcvtq_f32_s32(dot32(w0[n], w1[n], x0, x1));
                acc[t][n] = vfmaq_n_f32(acc[t][n], p, dw[n] * dx);
            }
        }
    }
    for (int t = 0; t < RT; t++)
        for (int n = 0; n < RN; n++)
            Y[t * ldy + n] = vaddvq_f32(acc[t][n]);
}

LLM_GEMM_FN(QNAME(llm_gemm_q8_0_neon))
{
    const uint8_t *Xb = X, *Wb = W;
    GEMM_DRIVER(tile_q, WQ8_0, Xb, ldx, Wb);
}

LLM_GEMM_FN(QNAME(llm_gemm_q4_0_neon))
{
    const uint8_t *Xb = X, *Wb = W;
    GEMM_DRIVER(tile_q, WQ4_0, Xb, ldx, Wb);
}

#if !defined(LLM_NEON_DOTPROD_ONLY)
/* Byte-identical to quantize_row_q8_0_ref: vcvtaq rounds to nearest, ties away (= roundf). */
LLM_QUANT_FN(llm_quant_q8_0_neon)
{
    for (int64_t b = 0; b < K / QK; b++) {
        const float *xb = x + b * QK;
        uint8_t *out = (uint8_t *)dst + b * 34;
        float32x4_t v[8];
        float32x4_t mx = vdupq_n_f32(0.0f);
        for (int i = 0; i < 8; i++) {
            v[i] = vld1q_f32(xb + 4 * i);
            mx = vmaxq_f32(mx, vabsq_f32(v[i]));
        }
        const float amax = vmaxvq_f32(mx);
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        const __fp16 dh = (__fp16)d;
        memcpy(out, &dh, 2);
        for (int i = 0; i < 8; i += 2) {
            const int32x4_t a = vcvtaq_s32_f32(vmulq_n_f32(v[i], id));
            const int32x4_t c = vcvtaq_s32_f32(vmulq_n_f32(v[i + 1], id));
            const int16x8_t s16 = vcombine_s16(vmovn_s32(a), vmovn_s32(c));
            vst1_s8((int8_t *)(out + 2 + 4 * i), vmovn_s16(s16));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// attention vectors

LLM_AXPY_FN(llm_axpy_f32_neon)
{
    const float *b = x;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(b + i), a));
    for (; i < n; i++)
        y[i] += a * b[i];
}

LLM_AXPY_FN(llm_axpy_f16_neon)
{
    const __fp16 *b = x;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vcvt_f32_f16(vld1_f16(b + i)), a));
    for (; i < n; i++)
        y[i] += a * (float)b[i];
}
#endif /* !LLM_NEON_DOTPROD_ONLY */
