/*
 * AVX2 + FMA + F16C vector helpers of attention: out += p · v over one head, with V in f32 or
 * f16, for one row or many (the weighted sum of many rows keeps up to 64 outputs in registers
 * while it walks the rows). The scores q · k go through the matrix kernels.
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
