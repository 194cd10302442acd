/*
 * Reference matrix products Y = X · Wᵀ for every weight type, and the quantizers of the 8-bit
 * activation formats. Plain C, one output at a time, written to be read: these are the oracle the
 * SIMD variants are tested against, and the fallback on CPUs without them.
 *
 * Quantized weights take 8-bit activations (kernels.h): within a block the products are summed
 * as integers, exactly, and the block's scales are applied once, in float. The K-quants follow
 * the structure of ggml's vec_dot_q*_K_q8_K (sub-block scales applied to integer sums, mins
 * through the activation's per-16 sums).
 *
 * Not here: any blocking for cache or registers; see x86_avx2/ for that.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "kernels/kernels.h"

#define QK 32
#define QK_K 256

static inline float f16(const uint8_t *p)
{
    return llm_f16_to_f32((uint16_t)(p[0] | (p[1] << 8)));
}

static inline uint32_t u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline float f32le(const uint8_t *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

/* Every gemm below is this loop around a per-type dot of one activation row and one weight row. */
#define DEFINE_GEMM(name, dot)                                                                     \
    LLM_GEMM_FN(name)                                                                              \
    {                                                                                              \
        for (int64_t t = 0; t < T; t++) {                                                          \
            const uint8_t *x = (const uint8_t *)X + (size_t)t * ldx; /* (K) activations */         \
            for (int64_t n = 0; n < N; n++) {                                                      \
                const uint8_t *w = (const uint8_t *)W + (size_t)n * ldw; /* (K) weights */         \
                Y[t * ldy + n] = dot(x, w, K);                                                     \
            }                                                                                      \
        }                                                                                          \
    }

// ------------------------------------------------------------------------------------------------
// float weights, f32 activations

static float dot_f32_f32(const uint8_t *x, const uint8_t *w, int64_t K)
{
    const float *a = (const float *)(const void *)x, *b = (const float *)(const void *)w;
    float s = 0.0f;
    for (int64_t k = 0; k < K; k++)
        s += a[k] * b[k];
    return s;
}

static float dot_f32_f16(const uint8_t *x, const uint8_t *w, int64_t K)
{
    const float *a = (const float *)(const void *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < K; k++)
        s += a[k] * f16(w + 2 * k);
    return s;
}

static float dot_f32_bf16(const uint8_t *x, const uint8_t *w, int64_t K)
{
    const float *a = (const float *)(const void *)x;
    float s = 0.0f;
    for (int64_t k = 0; k < K; k++)
        s += a[k] * llm_bf16_to_f32((uint16_t)(w[2 * k] | (w[2 * k + 1] << 8)));
    return s;
}

DEFINE_GEMM(llm_gemm_f32_generic, dot_f32_f32)
DEFINE_GEMM(llm_gemm_f16_generic, dot_f32_f16)
DEFINE_GEMM(llm_gemm_bf16_generic, dot_f32_bf16)

// ------------------------------------------------------------------------------------------------
// legacy 32-element blocks against q8_0 / q8_1 activations

/* q8_0 activation block: d:f16, qs[32]. q8_1: d:f16, s:f16 (= d · Σqs), qs[32]. */

static float dot_q8_0(const uint8_t *x, const uint8_t *w, int64_t K)
{
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK; b++, x += 34, w += 34) {
        const int8_t *qx = (const int8_t *)(x + 2), *qw = (const int8_t *)(w + 2);
        int32_t sumi = 0;
        for (int j = 0; j < QK; j++)
            sumi += qx[j] * qw[j];
        s += (float)sumi * (f16(w) * f16(x));
    }
    return s;
}

static float dot_q4_0(const uint8_t *x, const uint8_t *w, int64_t K)
{
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK; b++, x += 34, w += 18) {
        const int8_t *qx = (const int8_t *)(x + 2);
        const uint8_t *qw = w + 2;
        int32_t sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            sumi += ((qw[j] & 0x0F) - 8) * qx[j];
            sumi += ((qw[j] >> 4) - 8) * qx[j + QK / 2];
        }
        s += (float)sumi * (f16(w) * f16(x));
    }
    return s;
}

static float dot_q5_0(const uint8_t *x, const uint8_t *w, int64_t K)
{
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK; b++, x += 34, w += 22) {
        const int8_t *qx = (const int8_t *)(x + 2);
        const uint32_t qh = u32le(w + 2);
        const uint8_t *qw = w + 6;
        int32_t sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            const int h0 = (int)((qh >> j) & 1u) << 4, h1 = (int)((qh >> (j + 16)) & 1u) << 4;
            sumi += (((qw[j] & 0x0F) | h0) - 16) * qx[j];
            sumi += (((qw[j] >> 4) | h1) - 16) * qx[j + QK / 2];
        }
        s += (float)sumi * (f16(w) * f16(x));
    }
    return s;
}

static float dot_q4_1(const uint8_t *x, const uint8_t *w, int64_t K)
{
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK; b++, x += 36, w += 20) {
        const int8_t *qx = (const int8_t *)(x + 4);
        const uint8_t *qw = w + 4;
        int32_t sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            sumi += (qw[j] & 0x0F) * qx[j];
            sumi += (qw[j] >> 4) * qx[j + QK / 2];
        }
        /* Σ (d_w u + m_w)(d_x q) = d_w d_x Σ u q + m_w · (d_x Σ q) */
        s += (float)sumi * (f16(w) * f16(x)) + f16(w + 2) * f16(x + 2);
    }
    return s;
}

static float dot_q5_1(const uint8_t *x, const uint8_t *w, int64_t K)
{
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK; b++, x += 36, w += 24) {
        const int8_t *qx = (const int8_t *)(x + 4);
        const uint32_t qh = u32le(w + 4);
        const uint8_t *qw = w + 8;
        int32_t sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            const int h0 = (int)((qh >> j) & 1u) << 4, h1 = (int)((qh >> (j + 16)) & 1u) << 4;
            sumi += ((qw[j] & 0x0F) | h0) * qx[j];
            sumi += ((qw[j] >> 4) | h1) * qx[j + QK / 2];
        }
        s += (float)sumi * (f16(w) * f16(x)) + f16(w + 2) * f16(x + 2);
    }
    return s;
}

DEFINE_GEMM(llm_gemm_q8_0_generic, dot_q8_0)
DEFINE_GEMM(llm_gemm_q4_0_generic, dot_q4_0)
DEFINE_GEMM(llm_gemm_q4_1_generic, dot_q4_1)
DEFINE_GEMM(llm_gemm_q5_0_generic, dot_q5_0)
DEFINE_GEMM(llm_gemm_q5_1_generic, dot_q5_1)

// ------------------------------------------------------------------------------------------------
// K-quants against q8_K activations (d:f32, qs[256], bsums[16]: sums of qs by 16)

static inline int16_t bsum(const uint8_t *x, int j)
{
    int16_t v;
    memcpy(&v, x + 260 + 2 * j, sizeof v);
    return v;
}

static inline void scale_min_k4(int j, const uint8_t *q, int *d, int *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

/* q4_K: d, dmin, scales[12], qs[128]; sub-block j of 32 has scale sc_j and min m_j (6 bits):
 * w = d·sc_j·u − dmin·m_j. Σ w·x = d_x·(d·Σ_j sc_j Σ u q − dmin·Σ_j m_j Σ q).
 * q5_K: the same with qh[32] after the scales, whose bit j of qh[l] is the fifth bit of u. */
static float dot_q45_K(const uint8_t *x, const uint8_t *w, int64_t K, bool fifth_bit)
{
    const size_t wb = fifth_bit ? 176 : 144;
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK_K; b++, x += 292, w += wb) {
        const int8_t *qx = (const int8_t *)(x + 4);
        const uint8_t *qh = w + 16, *q = fifth_bit ? w + 48 : w + 16;
        int32_t sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(j, w + 4, &sc, &m);
            const uint8_t *qj = q + (j / 2) * 32;
            const int shift = (j % 2) * 4;
            int32_t dot = 0;
            for (int l = 0; l < 32; l++) {
                const int hi = fifth_bit ? ((qh[l] >> j) & 1) << 4 : 0;
                dot += (((qj[l] >> shift) & 0xF) | hi) * qx[j * 32 + l];
            }
            sumi += sc * dot;
            summ += m * (bsum(x, 2 * j) + bsum(x, 2 * j + 1));
        }
        s += f32le(x) * (f16(w) * (float)sumi - f16(w + 2) * (float)summ);
    }
    return s;
}

static float dot_q4_K(const uint8_t *x, const uint8_t *w, int64_t K)
{
    return dot_q45_K(x, w, K, false);
}

static float dot_q5_K(const uint8_t *x, const uint8_t *w, int64_t K)
{
    return dot_q45_K(x, w, K, true);
}

/* q6_K: ql[128], qh[64], scales[16] (int8, one per 16), d. w = d·sc·(q − 32), q 6 bits. */
static float dot_q6_K(const uint8_t *x, const uint8_t *w, int64_t K)
{
    float s = 0.0f;
    for (int64_t b = 0; b < K / QK_K; b++, x += 292, w += 210) {
        const int8_t *qx = (const int8_t *)(x + 4);
        const int8_t *sc = (const int8_t *)(w + 192);
        int8_t q[QK_K];
        const uint8_t *ql = w, *qh = w + 128;
        for (int n = 0; n < QK_K; n += 128) {
            for (int l = 0; l < 32; l++) {
                q[n + l + 0] = (int8_t)(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[n + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[n + l + 64] = (int8_t)(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[n + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
            ql += 64;
            qh += 32;
        }
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++) {
            int32_t dot = 0;
            for (int l = 0; l < 16; l++)
                dot += q[j * 16 + l] * qx[j * 16 + l];
            sumi += sc[j] * dot;
        }
        s += f32le(x) * (f16(w + 208) * (float)sumi);
    }
    return s;
}

DEFINE_GEMM(llm_gemm_q4_K_generic, dot_q4_K)
DEFINE_GEMM(llm_gemm_q5_K_generic, dot_q5_K)
DEFINE_GEMM(llm_gemm_q6_K_generic, dot_q6_K)

// ------------------------------------------------------------------------------------------------
// fallback: dequantize one block at a time, f32 activations

static float dot_deq(uint32_t type, const uint8_t *x, const uint8_t *w, int64_t K)
{
    const llm_dtype_traits *tr = llm_dtype_get(type);
    const float *a = (const float *)(const void *)x;
    float buf[QK_K]; /* (block_size) one dequantized block */
    float s = 0.0f;
    for (int64_t k = 0; k < K; k += tr->block_size, w += tr->type_size) {
        llm_dequantize_row(type, w, buf, tr->block_size);
        for (uint32_t j = 0; j < tr->block_size; j++)
            s += a[k + j] * buf[j];
    }
    return s;
}

static float dot_q2_K(const uint8_t *x, const uint8_t *w, int64_t K)
{
    return dot_deq(LLM_DTYPE_Q2_K, x, w, K);
}

static float dot_q3_K(const uint8_t *x, const uint8_t *w, int64_t K)
{
    return dot_deq(LLM_DTYPE_Q3_K, x, w, K);
}

DEFINE_GEMM(llm_gemm_q2_K_generic, dot_q2_K)
DEFINE_GEMM(llm_gemm_q3_K_generic, dot_q3_K)

// ------------------------------------------------------------------------------------------------
// activation quantizers: the reference ones (lib/common/dtype.c)

LLM_QUANT_FN(llm_quant_q8_0_generic)
{
    llm_quantize_row(LLM_DTYPE_Q8_0, x, dst, K);
}

LLM_QUANT_FN(llm_quant_q8_1_generic)
{
    llm_quantize_row(LLM_DTYPE_Q8_1, x, dst, K);
}

LLM_QUANT_FN(llm_quant_q8_K_generic)
{
    llm_quantize_row(LLM_DTYPE_Q8_K, x, dst, K);
}

// ------------------------------------------------------------------------------------------------
// attention vectors

LLM_AXPY_FN(llm_axpy_f32_generic)
{
    const float *b = x;
    for (int64_t i = 0; i < n; i++)
        y[i] += a * b[i];
}

LLM_AXPY_FN(llm_axpy_f16_generic)
{
    const uint16_t *b = x;
    for (int64_t i = 0; i < n; i++)
        y[i] += a * llm_f16_to_f32(b[i]);
}

// ------------------------------------------------------------------------------------------------
// elementwise

LLM_EXP_FN(llm_exp_f32_generic)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = expf(x[i]);
}
