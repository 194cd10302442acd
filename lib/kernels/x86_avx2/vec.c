/*
 * AVX2 + FMA + F16C vector helpers of attention: out += p · v over one head, with V in f32 or
 * f16, for one row or many (the weighted sum of many rows keeps up to 64 outputs in registers
 * while it walks the rows). The scores q · k go through the matrix kernels. Also e^x for
 * softmax and the sigmoid-based activations.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

static inline __m256 ld_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

LLM_AXPY_FN(llm_axpy_f32_avx2)
{
    const float *b = x;
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(b + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * b[i];
}

LLM_AXPY_FN(llm_axpy_f16_avx2)
{
    const uint16_t *b = x;
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, ld_f16(b + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * _cvtsh_ss(b[i]);
}

/* The outputs stay in registers (64 at a time, then 8 at a time) while the rows pass; each
 * row's update is the same fused multiply-add per lane as the axpy above, and the scalar tail
 * the same expression, so the sum over rows has the bytes of one axpy per row. */
#define AXPY_ROWS_BODY(LOAD)                                                                       \
    const uint8_t *base = x;                                                                       \
    int64_t i = 0;                                                                                 \
    for (; i + 64 <= n; i += 64) {                                                                 \
        __m256 acc[8];                                                                             \
        _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++)                                        \
            acc[v] = _mm256_loadu_ps(y + i + 8 * v);                                               \
        for (int64_t r = 0; r < rows; r++) {                                                       \
            if (a[r] == 0.0f)                                                                      \
                continue;                                                                          \
            const __m256 av = _mm256_set1_ps(a[r]);                                                \
            _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++)                                    \
                acc[v] = _mm256_fmadd_ps(av, LOAD(base + (size_t)r * ldx, i + 8 * v), acc[v]);     \
        }                                                                                          \
        _Pragma("GCC unroll 8") for (int v = 0; v < 8; v++)                                        \
            _mm256_storeu_ps(y + i + 8 * v, acc[v]);                                               \
    }                                                                                              \
    for (; i + 8 <= n; i += 8) {                                                                   \
        __m256 acc = _mm256_loadu_ps(y + i);                                                       \
        for (int64_t r = 0; r < rows; r++)                                                         \
            if (a[r] != 0.0f)                                                                      \
                acc = _mm256_fmadd_ps(_mm256_set1_ps(a[r]), LOAD(base + (size_t)r * ldx, i), acc); \
        _mm256_storeu_ps(y + i, acc);                                                              \
    }

static inline __m256 row_f32(const uint8_t *row, int64_t i)
{
    return _mm256_loadu_ps((const float *)(const void *)row + i);
}

static inline __m256 row_f16(const uint8_t *row, int64_t i)
{
    return ld_f16((const uint16_t *)(const void *)row + i);
}

LLM_AXPY_ROWS_FN(llm_axpy_rows_f32_avx2)
{
    AXPY_ROWS_BODY(row_f32)
    for (int64_t r = 0; r < rows && i < n; r++)
        if (a[r] != 0.0f)
            for (int64_t k = i; k < n; k++)
                y[k] += a[r] * ((const float *)(const void *)(base + (size_t)r * ldx))[k];
}

LLM_AXPY_ROWS_FN(llm_axpy_rows_f16_avx2)
{
    AXPY_ROWS_BODY(row_f16)
    for (int64_t r = 0; r < rows && i < n; r++) {
        const uint16_t *row = (const uint16_t *)(const void *)(base + (size_t)r * ldx);
        if (a[r] != 0.0f)
            for (int64_t k = i; k < n; k++)
                y[k] += a[r] * _cvtsh_ss(row[k]);
    }
}

/* e^x for eight lanes: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts, so r is exact to
 * a few ulp), e^r by the degree-6 minimax polynomial of Cephes' expf, 2^n built in the exponent
 * field. Within 2^-23 relative (1 ulp) of e^x where the result is a normal float. Below
 * ln(FLT_MIN) the result is 0 (expf gives a subnormal, less than 1.2e-38); above 88.376 it is
 * +inf (where e^x is between 2^127.5 and FLT_MAX); NaN stays NaN; e^−inf = 0 exactly, as
 * masked softmax entries need. */
static inline __m256 exp8(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.33654475f), hi = _mm256_set1_ps(88.37626266f);
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 fn = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    fn = _mm256_min_ps(fn, _mm256_set1_ps(127.0f)); /* 2^n must stay a normal float */
    __m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

LLM_EXP_FN(llm_exp_f32_avx2)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) { /* the same lanes for the last few, so no element depends on its position */
        float buf[8] = {0};
        memcpy(buf, x + i, sizeof(float) * (size_t)(n - i));
        _mm256_storeu_ps(buf, exp8(_mm256_loadu_ps(buf)));
        memcpy(x + i, buf, sizeof(float) * (size_t)(n - i));
    }
}
