/*
 * AVX2 + FMA + F16C matrix products Y = X · Wᵀ (see kernels.h for the contract).
 *
 * Shape of every kernel: a register tile of RT tokens × RN weight rows. The tile walks K once;
 * each output keeps its own 8-lane accumulator, updated in the same order whatever the tile
 * shape, and is reduced by the same horizontal sum at the end, so an output's bytes never depend
 * on where the tile boundaries fall (thread-count invariance). Prefill (T > 1) uses 4 × 3 tiles
 * for float weights and 4 × 2 for the K-quants, so each weight vector loaded or unpacked serves
 * four tokens; decode (T = 1) walks f32 rows one at a time (one forward stream), f16 and bf16
 * rows four at a time (from four quarters of the rows: four streams) and K-quant rows two at a
 * time (from the two halves), with software prefetch ahead. The legacy
 * block types (q8_0, q4_0, q4_1, q5_0, q5_1) are the exception: eight rows share one
 * accumulator, one row per lane (their section explains why the bytes still do not depend on
 * the tiles). Within a call the loops run over groups of rows outside and tiles of tokens
 * inside, so a group's weights stay in L1 while every token passes over them.
 *
 * Quantized weights multiply 8-bit activations with vpmaddubsw: signed q8_0 weights through the
 * |x| · sign(w, x) identity, unsigned ones (the 4- and 5-bit types, K-quants) directly, and the
 * offsets (−8 and −16 of q4_0 and q5_0, mins, −32 of q6_K) are taken out through the
 * activations' block sums.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define QK 32
#define QK_K 256
#define INLINE static inline __attribute__((always_inline))

INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

// ------------------------------------------------------------------------------------------------
// float weights

enum { WF32 = 0, WF16 = 1, WBF16 = 2 };

/* 8 weights from element k of a row of type wt, as f32 */
INLINE __m256 load_w8(int wt, const uint8_t *w, int64_t k)
{
    if (wt == WF32)
        return _mm256_loadu_ps((const float *)(const void *)w + k);
    const __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(w + 2 * k));
    if (wt == WF16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* the last K % 8 elements, zero padded */
INLINE __m256 load_w_tail(int wt, const uint8_t *w, int64_t k, int64_t rem)
{
    uint8_t buf[32] = {0};
    const size_t esz = wt == WF32 ? 4 : 2;
    memcpy(buf, w + esz * k, esz * (size_t)rem);
    return load_w8(wt, buf, 0);
}

INLINE __m256 load_x_tail(const float *x, int64_t k, int64_t rem)
{
    float buf[8] = {0};
    memcpy(buf, x + k, sizeof(float) * (size_t)rem);
    return _mm256_loadu_ps(buf);
}

/* Bytes ahead of its use that a single token's float row, read as its own stream, is asked for */
#define STREAM_PREFETCH 1024

/* Outputs (RT tokens) x (RN weight rows); the tile's rows are rs rows apart in W and Y. */
INLINE void tile_float(const int wt, const int RT, const int RN, float *Y, int64_t ldy,
                       const float *X, int64_t ldx, const uint8_t *W, size_t ldw, int64_t rs,
                       int64_t K)
{
    __m256 acc[4][4]; /* (RT, RN) */
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            acc[t][n] = _mm256_setzero_ps();
    int64_t k = 0;
    const size_t esz = wt == WF32 ? 4 : 2;
    for (; k + 8 <= K; k += 8) {
        __m256 w[4];
        /* matrix x vector: memory-bound, so fetch ahead, once per cache line: along each row's
         * own stream, or the same place in the next tile's rows (adjacent rows: RN rows on) */
        if (RT == 1 && (k * (int64_t)esz) % 64 == 0)
#pragma GCC unroll 4
            for (int n = 0; n < RN; n++)
                _mm_prefetch((const char *)(W + (size_t)(n * rs) * ldw + (size_t)k * esz +
                                            (RN == 1 || rs > 1 ? STREAM_PREFETCH
                                                               : (size_t)RN * ldw)),
                             _MM_HINT_T0);
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            w[n] = load_w8(wt, W + (size_t)(n * rs) * ldw, k);
#pragma GCC unroll 4
        for (int t = 0; t < RT; t++) {
            const __m256 x = _mm256_loadu_ps(X + t * ldx + k);
#pragma GCC unroll 4
            for (int n = 0; n < RN; n++)
                acc[t][n] = _mm256_fmadd_ps(x, w[n], acc[t][n]);
        }
    }
    if (k < K) {
        __m256 w[4];
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            w[n] = load_w_tail(wt, W + (size_t)(n * rs) * ldw, k, K - k);
#pragma GCC unroll 4
        for (int t = 0; t < RT; t++) {
            const __m256 x = load_x_tail(X + t * ldx, k, K - k);
#pragma GCC unroll 4
            for (int n = 0; n < RN; n++)
                acc[t][n] = _mm256_fmadd_ps(x, w[n], acc[t][n]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            Y[t * ldy + n * rs] = hsum(acc[t][n]);
}

/* Dispatch a (rt, rn) tile to a specialization with compile-time extents. */
#define TILE_SWITCH(fn, wt, rt, rn, ...)                                                           \
    switch ((rt) * 8 + (rn)) {                                                                     \
    case 1 * 8 + 1: fn(wt, 1, 1, __VA_ARGS__); break;                                              \
    case 1 * 8 + 2: fn(wt, 1, 2, __VA_ARGS__); break;                                              \
    case 1 * 8 + 3: fn(wt, 1, 3, __VA_ARGS__); break;                                              \
    case 1 * 8 + 4: fn(wt, 1, 4, __VA_ARGS__); break;                                              \
    case 2 * 8 + 1: fn(wt, 2, 1, __VA_ARGS__); break;                                              \
    case 2 * 8 + 2: fn(wt, 2, 2, __VA_ARGS__); break;                                              \
    case 2 * 8 + 3: fn(wt, 2, 3, __VA_ARGS__); break;                                              \
    case 3 * 8 + 1: fn(wt, 3, 1, __VA_ARGS__); break;                                              \
    case 3 * 8 + 2: fn(wt, 3, 2, __VA_ARGS__); break;                                              \
    case 3 * 8 + 3: fn(wt, 3, 3, __VA_ARGS__); break;                                              \
    case 4 * 8 + 1: fn(wt, 4, 1, __VA_ARGS__); break;                                              \
    case 4 * 8 + 2: fn(wt, 4, 2, __VA_ARGS__); break;                                              \
    case 4 * 8 + 3: fn(wt, 4, 3, __VA_ARGS__); break;                                              \
    default: break;                                                                                \
    }

INLINE void gemm_float(const int wt, float *Y, int64_t ldy, const void *Xv, size_t ldx_bytes,
                       const void *Wv, size_t ldw, int64_t T, int64_t N, int64_t K)
{
    const float *X = Xv;
    const uint8_t *W = Wv;
    const int64_t ldx = (int64_t)(ldx_bytes / sizeof(float));
    if (T == 1) {
        /* f32 rows one at a time (a single forward stream per thread). f16 and bf16 rows four
         * at a time, so that the conversions and four accumulation chains overlap (f16 from
         * DRAM at 2 threads: 14-19 GB/s against 7-14 one row at a time), taken from four
         * quarters of the rows: four long streams. Four adjacent rows of a short matrix (GPT-2's
         * 768 columns) shared each 4 KiB page among four streams, which the prefetchers
         * followed poorly: 11-12 GB/s where 3072 columns read at 17. Short rows of any type
         * (attention heads) go four adjacent rows at a time. */
        int64_t n = 0;
        if (wt != WF32 && K > 256) {
            const int64_t q = N / 4;
            for (; n < q; n++)
                tile_float(wt, 1, 4, Y + n, ldy, X, ldx, W + (size_t)n * ldw, ldw, q, K);
            n = 4 * q;
        } else if (K <= 256) {
            for (; n + 4 <= N; n += 4)
                tile_float(wt, 1, 4, Y + n, ldy, X, ldx, W + (size_t)n * ldw, ldw, 1, K);
        }
        for (; n < N; n++)
            tile_float(wt, 1, 1, Y + n, ldy, X, ldx, W + (size_t)n * ldw, ldw, 1, K);
        return;
    }
    for (int64_t n = 0; n < N; n += 3) {
        const int rn = (int)(N - n < 3 ? N - n : 3);
        const uint8_t *w = W + (size_t)n * ldw;
        int64_t t = 0;
        if (rn == 3)
            for (; t + 4 <= T; t += 4)
                tile_float(wt, 4, 3, Y + t * ldy + n, ldy, X + t * ldx, ldx, w, ldw, 1, K);
        for (; t < T; t += 4) {
            const int rt = (int)(T - t < 4 ? T - t : 4);
            TILE_SWITCH(tile_float, wt, rt, rn, Y + t * ldy + n, ldy, X + t * ldx, ldx, w, ldw, 1,
                        K);
        }
    }
}

LLM_GEMM_FN(llm_gemm_f32_avx2)
{
    gemm_float(WF32, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_f16_avx2)
{
    gemm_float(WF16, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_bf16_avx2)
{
    gemm_float(WBF16, Y, ldy, X, ldx, W, ldw, T, N, K);
}

// ------------------------------------------------------------------------------------------------
// q8_0, q4_0, q4_1, q5_0, q5_1: eight weight rows in the eight lanes of one accumulator
//
// Each output is Σ_b float(i_b) · (d_w,b · d_x,b) (+ Σ_b m_w,b · s_x,b for the _1 types with a
// min), accumulated block after block by fused multiply-adds, where i_b is an exact integer:
// Σ (u − o) · x over the block, u the unsigned 4- or 5-bit quant and o its offset (8 for q4_0,
// 16 for q5_0, 0 for the _1 types), or Σ w · x for q8_0. The integers of eight rows are reduced
// into one vector (row r in lane r) and a single vfmadd updates all eight outputs: per weight
// block about half the instructions of a per-row accumulator (the low and high halves are also
// added before widening). Prefill and decode give the same bytes, because each output's
// sequence of roundings is fixed by the block order alone: the 4- and 5-bit types decode with
// the same tiles (bound by memory, not by instructions), q8_0 one or two rows at a time with the
// same integers and the same fused multiply-adds (matvec_q8_0).

enum { WQ4_0 = 0, WQ4_1 = 1, WQ5_0 = 2, WQ5_1 = 3, WQ8_0 = 4 };

/* Bytes per block, and the offsets in it of the min, the fifth bits and the quants */
static const int blk_bytes[] = {18, 20, 22, 24, 34};
static const int blk_min[] = {0, 2, 0, 2, 0};
static const int blk_qh[] = {0, 0, 2, 4, 0};
static const int blk_qs[] = {2, 4, 6, 8, 2};

/* 32 bytes, each 0xFF where the matching bit of the 32-bit word is set */
INLINE __m256i bytes_from_bits(uint32_t x32)
{
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/* The 8 f16 values at byte boff of rows off[0..7] (byte offsets from W), as f32 lanes. */
INLINE __m256 f16_of_rows8(const uint8_t *W, const size_t *off, size_t boff)
{
    uint16_t v[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
        memcpy(&v[r], W + off[r] + boff, sizeof v[r]);
    const __m128i h = _mm_set_epi16((short)v[7], (short)v[6], (short)v[5], (short)v[4],
                                     (short)v[3], (short)v[2], (short)v[1], (short)v[0]);
    return _mm256_cvtph_ps(h);
}

INLINE uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lane j of the low half: the sum of the four lanes in the low half of m[j]; lane j of the
 * high half: the same for its high half. With rows j and j + 4 in the halves of m[j], as in
 * the tiles below, that leaves row r in lane r. */
INLINE __m256i sum_halves4(const __m256i m[4])
{
    return _mm256_hadd_epi32(_mm256_hadd_epi32(m[0], m[1]), _mm256_hadd_epi32(m[2], m[3]));
}

/* The first nstore lanes of y to Y, lane r at Y[r·ys] */
INLINE void store_lanes(float *Y, int64_t ys, __m256 y, int nstore)
{
    if (nstore == 8 && ys == 1) {
        _mm256_storeu_ps(Y, y);
    } else {
        float tmp[8];
        _mm256_storeu_ps(tmp, y);
        for (int r = 0; r < nstore; r++)
            Y[r * ys] = tmp[r];
    }
}

/* Σ w · x over the 32 quants of a q8_0 weight block and an activation block, as 8 partial sums:
 * |x| · sign(w, x) in vpmaddubsw */
INLINE __m256i dot_q8_block(const uint8_t *wq, const uint8_t *xq)
{
    const __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)xq);
    const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)wq);
    return _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x)),
        _mm256_set1_epi16(1));
}

/* Bytes ahead of its use that each row a single token reads as its own stream is asked for */
#define ROW_PREFETCH 512

/* RT tokens × eight rows. off[r] is the byte offset of row r from W (rows past the end of a
 * matrix repeat its last row; their lanes are not stored). Lane r goes to Y[r·ys] for the first
 * nstore lanes. ys > 1: a single token's rows, eight separate streams, each asked for
 * ROW_PREFETCH bytes ahead (every other block covers every cache line of a row). */
INLINE void tile8(const int wt, const int RT, float *Y, int64_t ldy, int64_t ys,
                  const uint8_t *X, size_t ldx, const uint8_t *W, const size_t *off, int nstore,
                  int64_t K)
{
    const int has_min = wt == WQ4_1 || wt == WQ5_1, five = wt == WQ5_0 || wt == WQ5_1;
    const size_t wb = (size_t)blk_bytes[wt], qs = (size_t)blk_qs[wt], qh = (size_t)blk_qh[wt];
    const size_t xb = has_min ? 36 : 34, xq = has_min ? 4 : 2; /* q8_1 or q8_0 activations */
    const int64_t nb = K / QK;
    const __m256i ones = _mm256_set1_epi16(1), low4 = _mm256_set1_epi8(0x0F);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    const __m256i offset = _mm256_set1_epi8(wt == WQ4_0 ? 8 : 16);
    __m256 acc[4], accm[4];
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++) {
        acc[t] = _mm256_setzero_ps();
        accm[t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        const size_t boff = (size_t)b * wb;
        if (ys > 1 && b % 2 == 0)
#pragma GCC unroll 8
            for (int r = 0; r < 8; r++)
                _mm_prefetch((const char *)W + off[r] + boff + ROW_PREFETCH, _MM_HINT_T0);
        /* rows j and j + 4 share a register: the pairwise sums below then leave row r in
         * lane r. Low nibbles are elements 0..15 of a block, high nibbles 16..31. */
        __m256i lo[4], hi[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const uint8_t *ra = W + off[j] + boff, *rb = W + off[j + 4] + boff;
            const __m256i w = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(ra + qs))),
                _mm_loadu_si128((const __m128i *)(const void *)(rb + qs)), 1);
            lo[j] = _mm256_and_si256(w, low4);
            hi[j] = _mm256_and_si256(_mm256_srli_epi16(w, 4), low4);
            if (five) { /* fifth bits of elements 0..15 of both rows, then of 16..31 */
                const uint32_t ha = load_u32(ra + qh), hb = load_u32(rb + qh);
                lo[j] = _mm256_or_si256(
                    lo[j], _mm256_and_si256(bytes_from_bits((ha & 0xFFFF) | (hb << 16)), bit4));
                const uint32_t hbits = (ha >> 16) | (hb & 0xFFFF0000u);
                hi[j] = _mm256_or_si256(hi[j], _mm256_and_si256(bytes_from_bits(hbits), bit4));
            }
        }
        const __m256 dw = f16_of_rows8(W, off, boff);
        const __m256 mw = has_min ? f16_of_rows8(W, off, boff + (size_t)blk_min[wt]) : dw;
#pragma GCC unroll 4
        for (int t = 0; t < RT; t++) {
            const uint8_t *xblk = X + (size_t)t * ldx + (size_t)b * xb;
            const __m256i xl = _mm256_broadcastsi128_si256(
                _mm_loadu_si128((const __m128i *)(const void *)(xblk + xq)));
            const __m256i xh = _mm256_broadcastsi128_si256(
                _mm_loadu_si128((const __m128i *)(const void *)(xblk + xq + 16)));
            /* 16-bit sums stay below 2 · 2 · 31 · 127 + 2 · 2 · 16 · 127 in magnitude */
            const __m256i c16 = has_min ? _mm256_setzero_si256()
                                        : _mm256_add_epi16(_mm256_maddubs_epi16(offset, xl),
                                                           _mm256_maddubs_epi16(offset, xh));
            __m256i m[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[j], xl),
                                             _mm256_maddubs_epi16(hi[j], xh));
                if (!has_min)
                    p = _mm256_sub_epi16(p, c16);
                m[j] = _mm256_madd_epi16(p, ones);
            }
            const __m256i i8 = sum_halves4(m);
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(f16(xblk)));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i8), d, acc[t]);
            if (has_min) /* Σ m_w · s_x, s_x = d_x · Σ x of the activation block */
                accm[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(f16(xblk + 2)), accm[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
        store_lanes(Y + t * ldy, ys, has_min ? _mm256_add_ps(acc[t], accm[t]) : acc[t], nstore);
}

/* q8_0 the same way: each block in two halves, rows j and j + 4 side by side in a register,
 * multiplied as |x| · sign(w, x) (|x| once per token for all eight rows); the 16-bit pair sums
 * (up to 2 · 127 · 127) are widened before the halves are added. */
INLINE void tile8_q8(const int RT, float *Y, int64_t ldy, const uint8_t *X, size_t ldx,
                     const uint8_t *W, const size_t *off, int nstore, int64_t K)
{
    const size_t wb = 34, xb = 34;
    const int64_t nb = K / QK;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
        acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const size_t boff = (size_t)b * wb;
        __m256i w[4][2]; /* (pair, half) */
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const uint8_t *ra = W + off[j] + boff + 2 + 16 * h;
                const uint8_t *rb = W + off[j + 4] + boff + 2 + 16 * h;
                w[j][h] = _mm256_inserti128_si256(
                    _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ra)),
                    _mm_loadu_si128((const __m128i *)(const void *)rb), 1);
            }
        const __m256 dw = f16_of_rows8(W, off, boff);
#pragma GCC unroll 4
        for (int t = 0; t < RT; t++) {
            const uint8_t *xblk = X + (size_t)t * ldx + (size_t)b * xb;
            __m256i x[2], ax[2];
            x[0] = _mm256_broadcastsi128_si256(
                _mm_loadu_si128((const __m128i *)(const void *)(xblk + 2)));
            x[1] = _mm256_broadcastsi128_si256(
                _mm_loadu_si128((const __m128i *)(const void *)(xblk + 18)));
            ax[0] = _mm256_sign_epi8(x[0], x[0]);
            ax[1] = _mm256_sign_epi8(x[1], x[1]);
            __m256i m[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m256i p0 = _mm256_maddubs_epi16(ax[0], _mm256_sign_epi8(w[j][0], x[0]));
                const __m256i p1 = _mm256_maddubs_epi16(ax[1], _mm256_sign_epi8(w[j][1], x[1]));
                m[j] = _mm256_add_epi32(_mm256_madd_epi16(p0, ones), _mm256_madd_epi16(p1, ones));
            }
            const __m256i i8 = sum_halves4(m);
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(f16(xblk)));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i8), d, acc[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
        store_lanes(Y + t * ldy, 1, acc[t], nstore);
}

/* q8_0 for one token: R rows (1 or 2) side by side, each read front to back, a forward stream
 * per row. Each output gets the bytes of tile8_q8: the same exact block integers (here eight
 * blocks of one row reduced into the lanes of one vector), the same d_w · d_x products, and the
 * same fused multiply-adds in block order, done one lane at a time. That chain of dependent
 * multiply-adds bounds one row; two rows run two chains at once. */
INLINE void rows_q8_0(const int R, float *const *y, const uint8_t *const *row, const uint8_t *X,
                      int64_t nb)
{
    const size_t wb = 34, xb = 34;
    const size_t bstep[8] = {0, 34, 68, 102, 136, 170, 204, 238};
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        float fi[2][8], fd[2][8];
#pragma GCC unroll 2
        for (int r = 0; r < R; r++) {
            __m256i m[8];
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                const uint8_t *blk = row[r] + (size_t)(b + k) * wb;
                _mm_prefetch((const char *)blk + 32 * wb, _MM_HINT_T0);
                m[k] = dot_q8_block(blk + 2, X + (size_t)(b + k) * xb + 2);
            }
            /* block k's sum into lane k: within each 128-bit half, then across the halves */
            const __m256i h0 = sum_halves4(m), h1 = sum_halves4(m + 4);
            const __m256i i8 = _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20),
                                                _mm256_permute2x128_si256(h0, h1, 0x31));
            const __m256 d = _mm256_mul_ps(f16_of_rows8(row[r], bstep, (size_t)b * wb),
                                           f16_of_rows8(X, bstep, (size_t)b * xb));
            _mm256_storeu_ps(fi[r], _mm256_cvtepi32_ps(i8));
            _mm256_storeu_ps(fd[r], d);
        }
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
#pragma GCC unroll 2
            for (int r = 0; r < R; r++)
                acc[r] = _mm_fmadd_ss(_mm_set_ss(fi[r][k]), _mm_set_ss(fd[r][k]), acc[r]);
    }
    for (; b < nb; b++)
#pragma GCC unroll 2
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = row[r] + (size_t)b * wb, *xblk = X + (size_t)b * xb;
            const __m256i m = dot_q8_block(blk + 2, xblk + 2);
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
            const float d = f16(blk) * f16(xblk);
            acc[r] = _mm_fmadd_ss(_mm_cvtepi32_ps(s4), _mm_set_ss(d), acc[r]);
        }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
        *y[r] = _mm_cvtss_f32(acc[r]);
}

/* Rows n and n + N/2 together: two streams, each through a contiguous half of the run */
static void matvec_q8_0(float *Y, const uint8_t *X, const uint8_t *W, size_t ldw, int64_t N,
                        int64_t K)
{
    const int64_t half = N / 2;
    for (int64_t n = 0; n < half; n++) {
        float *const y[2] = {Y + n, Y + n + half};
        const uint8_t *const row[2] = {W + (size_t)n * ldw, W + (size_t)(n + half) * ldw};
        rows_q8_0(2, y, row, X, K / QK);
    }
    if (N % 2) {
        float *const y[1] = {Y + N - 1};
        const uint8_t *const row[1] = {W + (size_t)(N - 1) * ldw};
        rows_q8_0(1, y, row, X, K / QK);
    }
}

/* One group of eight adjacent rows (q8_0 or the 4- and 5-bit types) */
INLINE void group8(const int wt, const int RT, float *Y, int64_t ldy, const uint8_t *X,
                   size_t ldx, const uint8_t *W, const size_t *off, int nstore, int64_t K)
{
    if (wt == WQ8_0)
        tile8_q8(RT, Y, ldy, X, ldx, W, off, nstore, K);
    else
        tile8(wt, RT, Y, ldy, 1, X, ldx, W, off, nstore, K);
}

/* A single token (4- and 5-bit types): rows n, n + N/8, ..., n + 7·N/8 together, eight streams
 * each through a contiguous eighth of the run. Eight adjacent rows (one contiguous run, asked
 * for two groups ahead) read 12-16 GB/s from DRAM in GPT-2-small's products, eight streams
 * 13-18, and its decoding went from 88-95% to 104-114% of the triad bound. Returns the rows
 * done (a multiple of eight). */
INLINE int64_t decode_rows8(const int wt, float *Y, const uint8_t *X, const uint8_t *W, size_t ldw,
                            int64_t N, int64_t K)
{
    const int64_t q = N / 8;
    size_t off[8];
    for (int r = 0; r < 8; r++)
        off[r] = (size_t)(r * q) * ldw;
    for (int64_t n = 0; n < q; n++)
        tile8(wt, 1, Y + n, 0, q, X, 0, W + (size_t)n * ldw, off, 8, K);
    return 8 * q;
}

INLINE void gemm_rows8(const int wt, float *Y, int64_t ldy, const uint8_t *X, size_t ldx,
                       const uint8_t *W, size_t ldw, int64_t T, int64_t N, int64_t K)
{
    const int64_t n0 = T == 1 && wt != WQ8_0 ? decode_rows8(wt, Y, X, W, ldw, N, K) : 0;
    for (int64_t n = n0; n < N; n += 8) {
        const int rows = (int)(N - n < 8 ? N - n : 8);
        size_t off[8];
        for (int r = 0; r < 8; r++)
            off[r] = (size_t)(r < rows ? r : rows - 1) * ldw;
        const uint8_t *w = W + (size_t)n * ldw;
        float *y = Y + n;
        int64_t t = 0;
        for (; t + 4 <= T; t += 4)
            group8(wt, 4, y + t * ldy, ldy, X + (size_t)t * ldx, ldx, w, off, rows, K);
        for (; t < T; t++)
            group8(wt, 1, y + t * ldy, ldy, X + (size_t)t * ldx, ldx, w, off, rows, K);
    }
}

LLM_GEMM_FN(llm_gemm_q8_0_avx2)
{
    if (T == 1)
        matvec_q8_0(Y, X, W, ldw, N, K);
    else
        gemm_rows8(WQ8_0, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_q4_0_avx2)
{
    gemm_rows8(WQ4_0, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_q4_1_avx2)
{
    gemm_rows8(WQ4_1, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_q5_0_avx2)
{
    gemm_rows8(WQ5_0, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_q5_1_avx2)
{
    gemm_rows8(WQ5_1, Y, ldy, X, ldx, W, ldw, T, N, K);
}

// ------------------------------------------------------------------------------------------------
// K-quants against q8_K. Per row and super-block the scales are unpacked once into int16 lanes
// (each 32-element sub-block's pair then picked by one byte shuffle) with the correction
// coefficients (mins of q4_K/q5_K, 32·scale of q6_K); the quants themselves are re-extracted
// from the block bytes for each token (a few shifts and masks, cheaper than a store and
// reload). Then
//   Σ w·x = d_x · (d · Σ_g sc_g Σ u·x − dm · Σ_g c_g · bsum_g)  with u the unsigned quants.

enum { WQ4_K = 0, WQ5_K = 1, WQ6_K = 2 };

typedef struct kscales {
    __m256i lo, hi;    /* int16 scales: 16-element scales 0..7 / 8..15 in both 128-bit halves */
    __m256i corr;      /* (16) int16 correction coefficient per 16 elements */
    float d, dm;
} kscales;

/* Sub-block j of 32 elements: its two 16-element scales in the two 128-bit halves, picked from
 * ks by one byte shuffle (q4_K and q5_K have one scale per 32: the same in both halves) */
INLINE __m256i scale_k(const int wt, const kscales *ks, int j)
{
    if (wt == WQ6_K) {
        const int a = (2 * j) % 8, b = (2 * j + 1) % 8;
        const __m256i pick = _mm256_setr_m128i(_mm_set1_epi16((short)((2 * a + 1) << 8 | 2 * a)),
                                               _mm_set1_epi16((short)((2 * b + 1) << 8 | 2 * b)));
        return _mm256_shuffle_epi8(j < 4 ? ks->lo : ks->hi, pick);
    }
    return _mm256_shuffle_epi8(ks->lo, _mm256_set1_epi16((short)((2 * j + 1) << 8 | 2 * j)));
}

INLINE void scales_k(const int wt, const uint8_t *w, kscales *ks)
{
    if (wt == WQ6_K) {
        const __m128i s8 = _mm_loadu_si128((const __m128i *)(const void *)(w + 192));
        const __m256i s16 = _mm256_cvtepi8_epi16(s8); /* (16) */
        ks->lo = _mm256_permute2x128_si256(s16, s16, 0x00);
        ks->hi = _mm256_permute2x128_si256(s16, s16, 0x11);
        ks->corr = _mm256_slli_epi16(s16, 5);
        ks->d = f16(w + 208);
        ks->dm = ks->d;
        return;
    }
    /* 12 bytes → sc0..7 in bytes 0..7 and m0..7 in bytes 8..15 (the packing of get_scale_min_k4) */
    uint32_t u[4];
    memcpy(u, w + 4, 12);
    const uint32_t km1 = 0x3f3f3f3fu, km2 = 0x0f0f0f0fu, km3 = 0x03030303u;
    u[3] = ((u[2] >> 4) & km2) | (((u[1] >> 6) & km3) << 4);
    const uint32_t m03 = u[1] & km1;
    u[1] = (u[2] & km2) | (((u[0] >> 6) & km3) << 4);
    u[2] = m03;
    u[0] &= km1;
    const uint8_t *b = (const uint8_t *)u;
    ks->lo = _mm256_broadcastsi128_si256(
        _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)b)));
    ks->hi = ks->lo;
    /* mins per 16 elements: m_j twice */
    const __m128i m8 = _mm_loadl_epi64((const __m128i *)(const void *)(b + 8));
    ks->corr = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    ks->d = f16(w);
    ks->dm = f16(w + 2);
}

/* unsigned quants of elements 32j..32j+31 of a super-block */
INLINE __m256i quants_k(const int wt, const uint8_t *w, int j)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    if (wt == WQ6_K) {
        const int h = j / 4, r = j % 4;
        const __m256i l = _mm256_loadu_si256((const __m256i *)(const void *)(w + 64 * h + 32 * (r % 2)));
        const __m256i hh = _mm256_loadu_si256((const __m256i *)(const void *)(w + 128 + 32 * h));
        const __m256i lo = r < 2 ? _mm256_and_si256(l, m4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4);
        __m256i hi;
        switch (r) {
        case 0: hi = _mm256_slli_epi16(hh, 4); break;
        case 1: hi = _mm256_slli_epi16(hh, 2); break;
        case 2: hi = hh; break;
        default: hi = _mm256_srli_epi16(hh, 2); break;
        }
        return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
    }
    const uint8_t *q = w + (wt == WQ5_K ? 48 : 16) + 32 * (j / 2);
    const __m256i qs = _mm256_loadu_si256((const __m256i *)(const void *)q);
    __m256i u = (j % 2) ? _mm256_and_si256(_mm256_srli_epi16(qs, 4), m4) : _mm256_and_si256(qs, m4);
    if (wt == WQ5_K) {
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(const void *)(w + 16));
        const __m256i bit = _mm256_set1_epi8((char)(1 << j));
        u = _mm256_or_si256(u, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit),
                                                _mm256_set1_epi8(0x10)));
    }
    return u;
}

/* Outputs (RT tokens) x (RN weight rows); the tile's rows are rs rows apart in W and Y. A single
 * token's rows rs > 1 apart are separate streams, each asked for ROW_PREFETCH bytes ahead. */
INLINE void tile_k(const int wt, const int RT, const int RN, float *Y, int64_t ldy,
                   const uint8_t *X, size_t ldx, const uint8_t *W, size_t ldw, int64_t rs,
                   int64_t K)
{
    static const size_t wbytes[] = {144, 176, 210};
    const size_t wb = wbytes[wt];
    __m256 acc[4][4]; /* (RT, RN) */
    __m256 accm[4][4]; /* (RT, RN) correction terms, lane 0 only */
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++) {
            acc[t][n] = _mm256_setzero_ps();
            accm[t][n] = _mm256_setzero_ps();
        }
    const int64_t nb = K / QK_K;
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++) {
            const uint8_t *w = W + (size_t)(n * rs) * ldw + (size_t)b * wb;
            if (RT == 1) /* matrix x vector: memory-bound, so fetch every line of this block's
                          * place in the next tile's rows (adjacent rows: RN rows on), or
                          * ROW_PREFETCH bytes on along each row's own stream */
                for (size_t o = 0; o < wb; o += 64)
                    _mm_prefetch((const char *)(w + (rs > 1 ? ROW_PREFETCH : (size_t)RN * ldw) + o),
                                 _MM_HINT_T0);
            kscales ks;
            scales_k(wt, w, &ks);
#pragma GCC unroll 4
            for (int t = 0; t < RT; t++) {
                const uint8_t *xb = X + (size_t)t * ldx + (size_t)b * 292;
                float dx;
                memcpy(&dx, xb, sizeof dx);
                __m256i s0 = _mm256_setzero_si256(), s1 = s0;
#pragma GCC unroll 8
                for (int j = 0; j < 8; j += 2) {
                    const __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(xb + 4 + 32 * j));
                    const __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(xb + 36 + 32 * j));
                    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(quants_k(wt, w, j), x0), scale_k(wt, &ks, j)));
                    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_maddubs_epi16(quants_k(wt, w, j + 1), x1), scale_k(wt, &ks, j + 1)));
                }
                const __m256i sumi = _mm256_add_epi32(s0, s1);
                const __m256i bs = _mm256_loadu_si256((const __m256i *)(const void *)(xb + 260));
                const __m256i cm = _mm256_madd_epi16(bs, ks.corr); /* (8) partial Σ c_g · bsum_g */
                acc[t][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(dx * ks.d), acc[t][n]);
                accm[t][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(cm), _mm256_set1_ps(dx * ks.dm), accm[t][n]);
            }
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < RT; t++)
#pragma GCC unroll 4
        for (int n = 0; n < RN; n++)
            Y[t * ldy + n * rs] = hsum(acc[t][n]) - hsum(accm[t][n]);
}

INLINE void gemm_k(const int wt, float *Y, int64_t ldy, const void *Xv, size_t ldx,
                   const void *Wv, size_t ldw, int64_t T, int64_t N, int64_t K)
{
    const uint8_t *X = Xv, *W = Wv;
    if (T == 1) { /* rows n and n + N/2 together: two streams through the halves of the run */
        const int64_t half = N / 2;
        for (int64_t n = 0; n < half; n++)
            tile_k(wt, 1, 2, Y + n, ldy, X, ldx, W + (size_t)n * ldw, ldw, half, K);
        if (N % 2)
            tile_k(wt, 1, 1, Y + N - 1, ldy, X, ldx, W + (size_t)(N - 1) * ldw, ldw, 1, K);
        return;
    }
    for (int64_t n = 0; n < N; n += 2) {
        const int rn = (int)(N - n < 2 ? N - n : 2);
        const uint8_t *w = W + (size_t)n * ldw;
        for (int64_t t = 0; t < T; t += 4) {
            const int rt = (int)(T - t < 4 ? T - t : 4);
            TILE_SWITCH(tile_k, wt, rt, rn, Y + t * ldy + n, ldy, X + (size_t)t * ldx, ldx, w, ldw, 1,
                        K);
        }
    }
}

LLM_GEMM_FN(llm_gemm_q4_K_avx2)
{
    gemm_k(WQ4_K, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_q5_K_avx2)
{
    gemm_k(WQ5_K, Y, ldy, X, ldx, W, ldw, T, N, K);
}

LLM_GEMM_FN(llm_gemm_q6_K_avx2)
{
    gemm_k(WQ6_K, Y, ldy, X, ldx, W, ldw, T, N, K);
}

// ------------------------------------------------------------------------------------------------
// activation quantizers: byte-identical to the reference ones in lib/common/dtype.c

INLINE float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* roundf (ties away from zero) of 8 floats, exactly: v − trunc(v) is exact in binary floats */
INLINE __m256i round_away(__m256 v)
{
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_sub_ps(v, t);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 up = _mm256_cmp_ps(_mm256_and_ps(frac, absmask), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_andnot_ps(absmask, v), _mm256_set1_ps(1.0f)); /* ±1 */
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

/* 32 int32 → 32 int8 in element order */
INLINE __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d)
{
    const __m256i ab = _mm256_packs_epi32(a, b);
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

INLINE void quant_q8(const float *x, uint8_t *out, int with_sum)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4], mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        mx = _mm256_max_ps(mx, _mm256_and_ps(v[i], absmask));
    }
    const float amax = hmax(mx);
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; i++)
        q[i] = round_away(_mm256_mul_ps(v[i], idv));
    const __m256i packed = pack32(q[0], q[1], q[2], q[3]);
    const uint16_t dh = _cvtss_sh(d, 0);
    memcpy(out, &dh, 2);
    _mm256_storeu_si256((__m256i *)(void *)(out + (with_sum ? 4 : 2)), packed);
    if (with_sum) {
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        const uint16_t sh = _cvtss_sh((float)_mm_cvtsi128_si32(s4) * d, 0);
        memcpy(out + 2, &sh, 2);
    }
}

LLM_QUANT_FN(llm_quant_q8_0_avx2)
{
    for (int64_t b = 0; b < K / QK; b++)
        quant_q8(x + b * QK, (uint8_t *)dst + b * 34, 0);
}

LLM_QUANT_FN(llm_quant_q8_1_avx2)
{
    for (int64_t b = 0; b < K / QK; b++)
        quant_q8(x + b * QK, (uint8_t *)dst + b * 36, 1);
}

LLM_QUANT_FN(llm_quant_q8_K_avx2)
{
    for (int64_t b = 0; b < K / QK_K; b++) {
        const float *xb = x + b * QK_K;
        uint8_t *out = (uint8_t *)dst + b * 292;
        /* max by |x|, first occurrence wins (as the reference's strict '>') */
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float ax = xb[j] < 0 ? -xb[j] : xb[j];
            if (ax > amax) {
                amax = ax;
                max = xb[j];
            }
        }
        if (amax == 0.0f) {
            memset(out, 0, 292);
            continue;
        }
        const float iscale = -127.f / max;
        const __m256 is = _mm256_set1_ps(iscale);
        const __m256i hi = _mm256_set1_epi32(127);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i q[4];
            for (int i = 0; i < 4; i++) /* nearest, ties to even: the reference's nearest_int */
                q[i] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(xb + j + 8 * i))), hi);
            _mm256_storeu_si256((__m256i *)(void *)(out + 4 + j), pack32(q[0], q[1], q[2], q[3]));
        }
        const int8_t *qs = (const int8_t *)(out + 4);
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++)
                s += qs[16 * g + i];
            const int16_t s16 = (int16_t)s;
            memcpy(out + 260 + 2 * g, &s16, 2);
        }
        const float d = 1 / iscale;
        memcpy(out, &d, sizeof d);
    }
}
