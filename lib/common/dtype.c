/*
 * Tensor element types: block geometry, IEEE half / bfloat16 conversions, and the reference
 * (scalar, bit-exact) dequantization and quantization of the GGUF block formats.
 *
 * The block layouts are ggml's (ggml-common.h), byte for byte, little-endian. Dequantization
 * multiplies in the same order as ggml's dequantize_row_* so results are bit-identical to it;
 * quantization follows ggml's quantize_row_*_ref for the formats listed in llm_quantize_row.
 * The SIMD kernels in lib/kernels are tested against these functions.
 *
 * Not here: importance-matrix quantization and the K-quant encoders (q2_K..q6_K are read-only).
 */
#include "common/dtype.h"

#include <float.h>
#include <math.h>
#include <string.h>

// ------------------------------------------------------------------------------------------------
// traits

#define QK 32    /* elements per block of the legacy formats */
#define QK_K 256 /* elements per super-block of the K formats */

static const llm_dtype_traits dtype_traits[LLM_DTYPE_COUNT] = {
    /*                      name     block  bytes */
    [LLM_DTYPE_F32] = {"f32", 1, 4},
    [LLM_DTYPE_F16] = {"f16", 1, 2},
    [LLM_DTYPE_Q4_0] = {"q4_0", QK, 18},   /* d:f16, qs[16]                       */
    [LLM_DTYPE_Q4_1] = {"q4_1", QK, 20},   /* d:f16, m:f16, qs[16]                */
    [LLM_DTYPE_Q5_0] = {"q5_0", QK, 22},   /* d:f16, qh[4], qs[16]                */
    [LLM_DTYPE_Q5_1] = {"q5_1", QK, 24},   /* d:f16, m:f16, qh[4], qs[16]         */
    [LLM_DTYPE_Q8_0] = {"q8_0", QK, 34},   /* d:f16, qs[32] int8                  */
    [LLM_DTYPE_Q8_1] = {"q8_1", QK, 36},   /* d:f16, s:f16, qs[32] int8           */
    [LLM_DTYPE_Q2_K] = {"q2_K", QK_K, 84}, /* scales[16], qs[64], d, dmin         */
    [LLM_DTYPE_Q3_K] = {"q3_K", QK_K, 110}, /* hmask[32], qs[64], scales[12], d    */
    [LLM_DTYPE_Q4_K] = {"q4_K", QK_K, 144}, /* d, dmin, scales[12], qs[128]        */
    [LLM_DTYPE_Q5_K] = {"q5_K", QK_K, 176}, /* d, dmin, scales[12], qh[32], qs[128] */
    [LLM_DTYPE_Q6_K] = {"q6_K", QK_K, 210}, /* ql[128], qh[64], scales[16] int8, d */
    [LLM_DTYPE_Q8_K] = {"q8_K", QK_K, 292}, /* d:f32, qs[256] int8, bsums[16] i16  */
    [LLM_DTYPE_BF16] = {"bf16", 1, 2},
};

const llm_dtype_traits *llm_dtype_get(uint32_t type)
{
    if (type >= LLM_DTYPE_COUNT || dtype_traits[type].name == NULL)
        return NULL;
    return &dtype_traits[type];
}

uint64_t llm_dtype_row_bytes(uint32_t type, uint64_t n)
{
    const llm_dtype_traits *t = llm_dtype_get(type);
    if (t == NULL || n % t->block_size != 0)
        return 0;
    uint64_t bytes;
    if (!__builtin_mul_overflow(n / t->block_size, (uint64_t)t->type_size, &bytes))
        return bytes;
    return 0;
}

// ------------------------------------------------------------------------------------------------
// half and bfloat16

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float llm_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) /* inf / nan: keep the payload */
        return f32_from_bits(sign | 0x7f800000u | (mant << 13));
    if (exp != 0)
        return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
    if (mant == 0)
        return f32_from_bits(sign);
    /* subnormal: mant · 2^-24, exact in f32 */
    const float v = (float)mant * 0x1p-24f;
    return (sign != 0) ? -v : v;
}

uint16_t llm_f32_to_f16(float f)
{
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) /* inf stays inf; nan becomes the quiet nan ggml writes */
        return (uint16_t)(sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (a < 0x38800000u) { /* below 2^-14: a half subnormal or zero */
        if (a <= 0x33000000u) /* <= 2^-25 rounds (to even) to zero */
            return sign;
        const uint32_t e = a >> 23;
        const uint32_t m = (a & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e; /* value = m·2^(e-150), unit 2^-24 */
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u)))
            r++;
        return (uint16_t)(sign | r);
    }
    /* normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even;
     * a carry out of the mantissa correctly bumps the exponent, up to inf. */
    const uint32_t r = a - 0x38000000u;
    uint32_t h = r >> 13;
    const uint32_t rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++;
    if (h > 0x7c00u)
        h = 0x7c00u;
    return (uint16_t)(sign | h);
}

float llm_bf16_to_f32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

uint16_t llm_f32_to_bf16(float f)
{
    const uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* nan: force quiet (ggml_compute_fp32_to_bf16) */
        return (uint16_t)((u >> 16) | 64u);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

// ------------------------------------------------------------------------------------------------
// block readers

static inline float rd_f16(const uint8_t *p)
{
    return llm_f16_to_f32((uint16_t)(p[0] | (p[1] << 8)));
}

static inline void wr_f16(uint8_t *p, float v)
{
    const uint16_t h = llm_f32_to_f16(v);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

static inline uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* The 6-bit scale and min of sub-block j of a q4_K / q5_K super-block (ggml get_scale_min_k4). */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// ------------------------------------------------------------------------------------------------
// dequantization, one block at a time

static void deq_q4_0(const uint8_t *b, float *y) /* y (32) */
{
    const float d = rd_f16(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < QK / 2; j++) {
        y[j] = (float)((qs[j] & 0x0F) - 8) * d;
        y[j + QK / 2] = (float)((qs[j] >> 4) - 8) * d;
    }
}

static void deq_q4_1(const uint8_t *b, float *y)
{
    const float d = rd_f16(b), m = rd_f16(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < QK / 2; j++) {
        y[j] = (float)(qs[j] & 0x0F) * d + m;
        y[j + QK / 2] = (float)(qs[j] >> 4) * d + m;
    }
}

static void deq_q5_0(const uint8_t *b, float *y)
{
    const float d = rd_f16(b);
    const uint32_t qh = rd_u32(b + 2);
    const uint8_t *qs = b + 6;
    for (int j = 0; j < QK / 2; j++) {
        const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
        const uint8_t xh1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
        const int32_t x0 = ((qs[j] & 0x0F) | xh0) - 16;
        const int32_t x1 = ((qs[j] >> 4) | xh1) - 16;
        y[j] = (float)x0 * d;
        y[j + QK / 2] = (float)x1 * d;
    }
}

static void deq_q5_1(const uint8_t *b, float *y)
{
    const float d = rd_f16(b), m = rd_f16(b + 2);
    const uint32_t qh = rd_u32(b + 4);
    const uint8_t *qs = b + 8;
    for (int j = 0; j < QK / 2; j++) {
        const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
        const uint8_t xh1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
        const int x0 = (qs[j] & 0x0F) | xh0;
        const int x1 = (qs[j] >> 4) | xh1;
        y[j] = (float)x0 * d + m;
        y[j + QK / 2] = (float)x1 * d + m;
    }
}

static void deq_q8_0(const uint8_t *b, float *y)
{
    const float d = rd_f16(b);
    const int8_t *qs = (const int8_t *)(b + 2);
    for (int j = 0; j < QK; j++)
        y[j] = (float)qs[j] * d;
}

static void deq_q8_1(const uint8_t *b, float *y)
{
    const float d = rd_f16(b);
    const int8_t *qs = (const int8_t *)(b + 4);
    for (int j = 0; j < QK; j++)
        y[j] = (float)qs[j] * d;
}

static void deq_q2_K(const uint8_t *b, float *y) /* y (256) */
{
    const uint8_t *scales = b;
    const uint8_t *q = b + 16;
    const float d = rd_f16(b + 80), min = rd_f16(b + 82);
    int is = 0;
    for (int n = 0; n < QK_K; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
            uint8_t sc = scales[is++];
            float dl = d * (float)(sc & 0xF), ml = min * (float)(sc >> 4);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * (float)((int8_t)((q[l] >> shift) & 3)) - ml;
            sc = scales[is++];
            dl = d * (float)(sc & 0xF);
            ml = min * (float)(sc >> 4);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * (float)((int8_t)((q[l + 16] >> shift) & 3)) - ml;
            shift += 2;
        }
        q += 32;
    }
}

static void deq_q3_K(const uint8_t *b, float *y)
{
    const uint8_t *hm = b;
    const uint8_t *q = b + 32;
    const uint8_t *sc12 = b + 96;
    const float d_all = rd_f16(b + 108);
    /* unpack 16 6-bit scales: low 4 bits from bytes 0..7, high 2 bits from bytes 8..11 */
    const uint32_t kmask1 = 0x03030303u, kmask2 = 0x0f0f0f0fu;
    uint32_t aux[4] = {rd_u32(sc12), rd_u32(sc12 + 4), rd_u32(sc12 + 8), 0};
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    int8_t scales[16];
    for (int i = 0; i < 16; i++)
        scales[i] = (int8_t)((aux[i / 4] >> (8 * (i % 4))) & 0xff);
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < QK_K; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
            float dl = d_all * (float)(scales[is++] - 32);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * (float)((int8_t)((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
            dl = d_all * (float)(scales[is++] - 32);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * (float)((int8_t)((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
            shift += 2;
            m = (uint8_t)(m << 1);
        }
        q += 32;
    }
}

/* q4_K and q5_K: pairs of 32-element sub-blocks with 6-bit scales and mins; q5_K adds qh[32]
 * after the scales, two bits of each qh[l] per pair of sub-blocks as the fifth bit. */
static void deq_q45_K(const uint8_t *b, float *y, int fifth_bit)
{
    const float d = rd_f16(b), min = rd_f16(b + 2);
    const uint8_t *scales = b + 4;
    const uint8_t *qh = b + 16;
    const uint8_t *q = fifth_bit ? b + 48 : b + 16;
    int is = 0;
    uint8_t sc, m;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < QK_K; j += 64) {
        scale_min_k4(is + 0, scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; ++l)
            *y++ = d1 * (float)((q[l] & 0xF) + (fifth_bit && (qh[l] & u1) ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l)
            *y++ = d2 * (float)((q[l] >> 4) + (fifth_bit && (qh[l] & u2) ? 16 : 0)) - m2;
        q += 32;
        is += 2;
        u1 = (uint8_t)(u1 << 2);
        u2 = (uint8_t)(u2 << 2);
    }
}

static void deq_q4_K(const uint8_t *b, float *y)
{
    deq_q45_K(b, y, 0);
}

static void deq_q5_K(const uint8_t *b, float *y)
{
    deq_q45_K(b, y, 1);
}

static void deq_q6_K(const uint8_t *b, float *y)
{
    const uint8_t *ql = b;
    const uint8_t *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = rd_f16(b + 208);
    for (int n = 0; n < QK_K; n += 128) {
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int8_t q1 = (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int8_t q2 = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int8_t q3 = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l + 0] = d * (float)sc[is + 0] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

static void deq_q8_K(const uint8_t *b, float *y)
{
    float d;
    memcpy(&d, b, sizeof d);
    const int8_t *qs = (const int8_t *)(b + 4);
    for (int j = 0; j < QK_K; j++)
        y[j] = d * (float)qs[j];
}

void llm_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    const uint8_t *s = src;
    switch (type) {
    case LLM_DTYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case LLM_DTYPE_F16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = llm_f16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
        return;
    case LLM_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = llm_bf16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
        return;
    default:
        break;
    }
    void (*deq)(const uint8_t *, float *) = NULL;
    switch (type) {
    case LLM_DTYPE_Q4_0: deq = deq_q4_0; break;
    case LLM_DTYPE_Q4_1: deq = deq_q4_1; break;
    case LLM_DTYPE_Q5_0: deq = deq_q5_0; break;
    case LLM_DTYPE_Q5_1: deq = deq_q5_1; break;
    case LLM_DTYPE_Q8_0: deq = deq_q8_0; break;
    case LLM_DTYPE_Q8_1: deq = deq_q8_1; break;
    case LLM_DTYPE_Q2_K: deq = deq_q2_K; break;
    case LLM_DTYPE_Q3_K: deq = deq_q3_K; break;
    case LLM_DTYPE_Q4_K: deq = deq_q4_K; break;
    case LLM_DTYPE_Q5_K: deq = deq_q5_K; break;
    case LLM_DTYPE_Q6_K: deq = deq_q6_K; break;
    case LLM_DTYPE_Q8_K: deq = deq_q8_K; break;
    default: return; /* unknown type: callers validate types when loading */
    }
    const llm_dtype_traits *t = &dtype_traits[type];
    const int64_t nb = n / t->block_size;
    for (int64_t i = 0; i < nb; i++)
        deq(s + (size_t)i * t->type_size, dst + i * t->block_size);
}

// ------------------------------------------------------------------------------------------------
// quantization (ggml quantize_row_*_ref)

/* Round to nearest, ties to even, for |v| < 2^22 (ggml nearest_int). */
static inline int nearest_int(float fval)
{
    const float val = fval + 12582912.f;
    int32_t i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* The largest |x[j]|. */
static float abs_max(const float *x, int n)
{
    float amax = 0.0f;
    for (int j = 0; j < n; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    return amax;
}

/* The x[j] of largest magnitude, with its sign (the first of equals), 0 for all zeros. */
static float signed_abs_max(const float *x, int n)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, int n, float *min, float *max)
{
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

static void q_q8_0(const float *x, uint8_t *b)
{
    const float amax = abs_max(x, QK);
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    wr_f16(b, d);
    int8_t *qs = (int8_t *)(b + 2);
    for (int j = 0; j < QK; j++)
        qs[j] = (int8_t)roundf(x[j] * id);
}

static void q_q8_1(const float *x, uint8_t *b)
{
    const float amax = abs_max(x, QK);
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    wr_f16(b, d);
    int8_t *qs = (int8_t *)(b + 4);
    int sum = 0;
    for (int j = 0; j < QK / 2; j++) {
        qs[j] = (int8_t)roundf(x[j] * id);
        qs[j + QK / 2] = (int8_t)roundf(x[j + QK / 2] * id);
        sum += qs[j] + qs[j + QK / 2];
    }
    wr_f16(b + 2, (float)sum * d);
}

static void q_q4_0(const float *x, uint8_t *b)
{
    const float max = signed_abs_max(x, QK);
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    wr_f16(b, d);
    uint8_t *qs = b + 2;
    for (int j = 0; j < QK / 2; j++) {
        const float x0 = x[j] * id, x1 = x[QK / 2 + j] * id;
        int8_t xi0 = (int8_t)(x0 + 8.5f), xi1 = (int8_t)(x1 + 8.5f);
        if (xi0 > 15) xi0 = 15;
        if (xi1 > 15) xi1 = 15;
        qs[j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

static void q_q4_1(const float *x, uint8_t *b)
{
    float min, max;
    min_max(x, QK, &min, &max);
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    wr_f16(b, d);
    wr_f16(b + 2, min);
    uint8_t *qs = b + 4;
    for (int j = 0; j < QK / 2; j++) {
        const float x0 = (x[j] - min) * id, x1 = (x[QK / 2 + j] - min) * id;
        int8_t xi0 = (int8_t)(x0 + 0.5f), xi1 = (int8_t)(x1 + 0.5f);
        if (xi0 > 15) xi0 = 15;
        if (xi1 > 15) xi1 = 15;
        qs[j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

static void q_q5_0(const float *x, uint8_t *b)
{
    const float max = signed_abs_max(x, QK);
    const float d = max / -16;
    const float id = d ? 1.0f / d : 0.0f;
    wr_f16(b, d);
    uint32_t qh = 0;
    uint8_t *qs = b + 6;
    for (int j = 0; j < QK / 2; j++) {
        const float x0 = x[j] * id, x1 = x[QK / 2 + j] * id;
        int8_t xi0 = (int8_t)(x0 + 16.5f), xi1 = (int8_t)(x1 + 16.5f);
        if (xi0 > 31) xi0 = 31;
        if (xi1 > 31) xi1 = 31;
        qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
        qh |= ((uint32_t)(xi0 & 0x10u) >> 4) << (j + 0);
        qh |= ((uint32_t)(xi1 & 0x10u) >> 4) << (j + QK / 2);
    }
    for (int i = 0; i < 4; i++)
        b[2 + i] = (uint8_t)(qh >> (8 * i));
}

static void q_q5_1(const float *x, uint8_t *b)
{
    float min, max;
    min_max(x, QK, &min, &max);
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    wr_f16(b, d);
    wr_f16(b + 2, min);
    uint32_t qh = 0;
    uint8_t *qs = b + 8;
    for (int j = 0; j < QK / 2; j++) {
        const float x0 = (x[j] - min) * id, x1 = (x[QK / 2 + j] - min) * id;
        const uint8_t xi0 = (uint8_t)(x0 + 0.5f), xi1 = (uint8_t)(x1 + 0.5f);
        qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
        qh |= ((uint32_t)(xi0 & 0x10u) >> 4) << (j + 0);
        qh |= ((uint32_t)(xi1 & 0x10u) >> 4) << (j + QK / 2);
    }
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)(qh >> (8 * i));
}

static void q_q8_K(const float *x, uint8_t *b)
{
    const float max = signed_abs_max(x, QK_K);
    int8_t *qs = (int8_t *)(b + 4);
    if (max == 0.0f) {
        memset(b, 0, 292);
        return;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < QK_K; j++) {
        const int v = nearest_int(iscale * x[j]);
        qs[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int j = 0; j < QK_K / 16; j++) {
        int sum = 0;
        for (int i = 0; i < 16; i++)
            sum += qs[j * 16 + i];
        const int16_t s = (int16_t)sum;
        memcpy(b + 260 + 2 * j, &s, sizeof s);
    }
    const float d = 1 / iscale;
    memcpy(b, &d, sizeof d);
}

int llm_quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    uint8_t *o = dst;
    switch (type) {
    case LLM_DTYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return 1;
    case LLM_DTYPE_F16:
        for (int64_t i = 0; i < n; i++)
            wr_f16(o + 2 * i, src[i]);
        return 1;
    case LLM_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            const uint16_t h = llm_f32_to_bf16(src[i]);
            o[2 * i] = (uint8_t)(h & 0xff);
            o[2 * i + 1] = (uint8_t)(h >> 8);
        }
        return 1;
    default:
        break;
    }
    void (*q)(const float *, uint8_t *) = NULL;
    switch (type) {
    case LLM_DTYPE_Q4_0: q = q_q4_0; break;
    case LLM_DTYPE_Q4_1: q = q_q4_1; break;
    case LLM_DTYPE_Q5_0: q = q_q5_0; break;
    case LLM_DTYPE_Q5_1: q = q_q5_1; break;
    case LLM_DTYPE_Q8_0: q = q_q8_0; break;
    case LLM_DTYPE_Q8_1: q = q_q8_1; break;
    case LLM_DTYPE_Q8_K: q = q_q8_K; break;
    default: return 0;
    }
    const llm_dtype_traits *t = &dtype_traits[type];
    if (n % t->block_size != 0)
        return 0;
    const int64_t nb = n / t->block_size;
    for (int64_t i = 0; i < nb; i++)
        q(src + i * t->block_size, o + (size_t)i * t->type_size);
    return 1;
}
