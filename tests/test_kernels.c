/*
 * Kernel tests: dtype traits and conversions, bit-exact dequantization against hand-built blocks
 * and against the golden models' f32 originals, every ISA variant this CPU runs against the
 * generic oracle on awkward sizes, the ops against float64 references, and thread-count
 * invariance of the parallel ops (identical bytes for 1, 2, 3 and 8 threads).
 *
 * Tolerances (stated per check below):
 *   - dequantization, quantizers: exact (bytes / bits);
 *   - a product of K terms vs the float64 reference of the same (dequantized) operands:
 *     |y − ref| <= 1e-4 · Σ|w·x| + 1e-30, i.e. float rounding of the summation only
 *     (1e-3 for q4_1/q5_1, whose q8_1 activations store their block sums as f16);
 *   - ISA variant vs generic: the same bound, both measured against the float64 reference;
 *   - ops (norms, softmax, RoPE, attention) vs float64: 2e-5 relative to the row's magnitude.
 *
 * The same file builds without the data folder and against a tiny Check stand-in for the
 * aarch64 cross build (tests/kernels_cross/); LLM_KERNELS_STANDALONE drops the golden-model case.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"

#if !defined(LLM_KERNELS_STANDALONE)
#include "model/gguf.h"
#include "testdata.h"
#endif

// ------------------------------------------------------------------------------------------------
// helpers

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float rnd_f(void) /* uniform in [-1, 1) */
{
    return (float)((double)rnd_u32() / 2147483648.0 - 1.0);
}

static void fill_rand(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = rnd_f() * scale;
}

static void put_f16(uint8_t *p, float v)
{
    const uint16_t h = llm_f32_to_f16(v);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

static int float_bits_eq(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static const char *isa_names[] = {"avx2", "avx512", "neon"};

// ------------------------------------------------------------------------------------------------
// dtype traits and conversions

START_TEST(test_traits)
{
    static const struct { uint32_t t; const char *name; uint32_t bs, ts; } want[] = {
        {LLM_DTYPE_F32, "f32", 1, 4},      {LLM_DTYPE_F16, "f16", 1, 2},
        {LLM_DTYPE_BF16, "bf16", 1, 2},    {LLM_DTYPE_Q4_0, "q4_0", 32, 18},
        {LLM_DTYPE_Q4_1, "q4_1", 32, 20},  {LLM_DTYPE_Q5_0, "q5_0", 32, 22},
        {LLM_DTYPE_Q5_1, "q5_1", 32, 24},  {LLM_DTYPE_Q8_0, "q8_0", 32, 34},
        {LLM_DTYPE_Q8_1, "q8_1", 32, 36},  {LLM_DTYPE_Q2_K, "q2_K", 256, 84},
        {LLM_DTYPE_Q3_K, "q3_K", 256, 110}, {LLM_DTYPE_Q4_K, "q4_K", 256, 144},
        {LLM_DTYPE_Q5_K, "q5_K", 256, 176}, {LLM_DTYPE_Q6_K, "q6_K", 256, 210},
        {LLM_DTYPE_Q8_K, "q8_K", 256, 292},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const llm_dtype_traits *tr = llm_dtype_get(want[i].t);
        ck_assert_msg(tr != NULL, "type %u missing", want[i].t);
        ck_assert_msg(strcmp(tr->name, want[i].name) == 0, "type %u named %s", want[i].t, tr->name);
        ck_assert_msg(tr->block_size == want[i].bs && tr->type_size == want[i].ts,
                      "%s: block %u/%u bytes, want %u/%u", tr->name, tr->block_size,
                      tr->type_size, want[i].bs, want[i].ts);
    }
    ck_assert(llm_dtype_get(4) == NULL);
    ck_assert(llm_dtype_get(16) == NULL);
    ck_assert(llm_dtype_get(LLM_DTYPE_COUNT) == NULL);
    ck_assert(llm_dtype_get(1000) == NULL);
    ck_assert(llm_dtype_row_bytes(LLM_DTYPE_Q4_K, 512) == 288);
    ck_assert(llm_dtype_row_bytes(LLM_DTYPE_Q8_0, 33) == 0);
    ck_assert(llm_dtype_row_bytes(LLM_DTYPE_F16, 7) == 14);
    ck_assert(llm_dtype_row_bytes(LLM_DTYPE_F32, UINT64_MAX / 2) == 0); /* overflow */
    ck_assert(llm_dtype_row_bytes(99, 32) == 0);
}
END_TEST

START_TEST(test_half)
{
    /* IEEE binary16 values from the standard's tables */
    static const struct { float f; uint16_t h; } exact[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3C00}, {-2.0f, 0xC000}, {65504.0f, 0x7BFF},
        {0x1p-14f, 0x0400}, {0x1p-24f, 0x0001}, {0x3FFp-24f, 0x03FF}, {0.5f, 0x3800},
        {INFINITY, 0x7C00}, {-INFINITY, 0xFC00},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        ck_assert_msg(llm_f32_to_f16(exact[i].f) == exact[i].h, "f16(%g) = %04x, want %04x",
                      (double)exact[i].f, llm_f32_to_f16(exact[i].f), exact[i].h);
        ck_assert(float_bits_eq(llm_f16_to_f32(exact[i].h), exact[i].f));
    }
    /* rounding: to nearest, ties to even */
    ck_assert_uint_eq(llm_f32_to_f16(0.1f), 0x2E66);
    ck_assert_uint_eq(llm_f32_to_f16(1.0f + 0x1p-11f), 0x3C00);          /* tie → even */
    ck_assert_uint_eq(llm_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02);      /* tie → even (up) */
    ck_assert_uint_eq(llm_f32_to_f16(65520.0f), 0x7C00);                 /* overflow → inf */
    ck_assert_uint_eq(llm_f32_to_f16(65519.0f), 0x7BFF);
    ck_assert_uint_eq(llm_f32_to_f16(0x1p-25f), 0x0000);                 /* tie → even (0) */
    ck_assert_uint_eq(llm_f32_to_f16(0x1.8p-25f), 0x0001);
    ck_assert_uint_eq(llm_f32_to_f16(0x1.8p-24f), 0x0002);               /* tie → even (2) */
    ck_assert((llm_f32_to_f16(NAN) & 0x7C00) == 0x7C00 && (llm_f32_to_f16(NAN) & 0x3FF) != 0);
    /* every half round-trips */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0)
            continue; /* nan */
        ck_assert_msg(llm_f32_to_f16(llm_f16_to_f32((uint16_t)h)) == h, "half %04x", h);
    }
    /* bfloat16: the top half of the f32 bits, rounded to nearest even */
    ck_assert_uint_eq(llm_f32_to_bf16(1.0f), 0x3F80);
    ck_assert_uint_eq(llm_f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);   /* tie → even */
    ck_assert_uint_eq(llm_f32_to_bf16(1.0f + 0x1.8p-8f), 0x3F81);
    ck_assert_uint_eq(llm_f32_to_bf16(1.0f + 0x1p-7f + 0x1p-8f), 0x3F82); /* tie → even (up) */
    ck_assert(float_bits_eq(llm_bf16_to_f32(0xC040), -3.0f));
}
END_TEST

// ------------------------------------------------------------------------------------------------
// dequantization of hand-built blocks; expected values written from the format descriptions,
// element by element

START_TEST(test_dequant_legacy)
{
    uint8_t b[34];
    float y[32];
    /* q4_0: d = 0.5, qs[j] = j | (15 − j) << 4 → y[j] = (j − 8)/2, y[16 + j] = (7 − j)/2 */
    put_f16(b, 0.5f);
    for (int j = 0; j < 16; j++)
        b[2 + j] = (uint8_t)(j | ((15 - j) << 4));
    llm_dequantize_row(LLM_DTYPE_Q4_0, b, y, 32);
    for (int j = 0; j < 16; j++) {
        ck_assert(float_bits_eq(y[j], (float)(j - 8) * 0.5f));
        ck_assert(float_bits_eq(y[16 + j], (float)(7 - j) * 0.5f));
    }
    /* q4_1: d = 0.25, m = −1 → y = u/4 − 1 */
    put_f16(b, 0.25f);
    put_f16(b + 2, -1.0f);
    for (int j = 0; j < 16; j++)
        b[4 + j] = (uint8_t)(j | ((15 - j) << 4));
    llm_dequantize_row(LLM_DTYPE_Q4_1, b, y, 32);
    for (int j = 0; j < 16; j++) {
        ck_assert(float_bits_eq(y[j], (float)j * 0.25f - 1.0f));
        ck_assert(float_bits_eq(y[16 + j], (float)(15 - j) * 0.25f - 1.0f));
    }
    /* q5_0: d = 2, high bits qh = 0xA5A5F00F: element e has bit e */
    const uint32_t qh = 0xA5A5F00Fu;
    put_f16(b, 2.0f);
    for (int i = 0; i < 4; i++)
        b[2 + i] = (uint8_t)(qh >> (8 * i));
    for (int j = 0; j < 16; j++)
        b[6 + j] = (uint8_t)((j * 7 % 16) | ((j * 3 % 16) << 4));
    llm_dequantize_row(LLM_DTYPE_Q5_0, b, y, 32);
    for (int e = 0; e < 32; e++) {
        const int lo = e < 16 ? (e * 7 % 16) : ((e - 16) * 3 % 16);
        const int q = lo + (int)((qh >> e) & 1) * 16;
        ck_assert_msg(float_bits_eq(y[e], (float)(q - 16) * 2.0f), "q5_0[%d] = %g", e, (double)y[e]);
    }
    /* q5_1: d = 0.5, m = 3 */
    put_f16(b, 0.5f);
    put_f16(b + 2, 3.0f);
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)(qh >> (8 * i));
    for (int j = 0; j < 16; j++)
        b[8 + j] = (uint8_t)((j * 7 % 16) | ((j * 3 % 16) << 4));
    llm_dequantize_row(LLM_DTYPE_Q5_1, b, y, 32);
    for (int e = 0; e < 32; e++) {
        const int lo = e < 16 ? (e * 7 % 16) : ((e - 16) * 3 % 16);
        const int q = lo + (int)((qh >> e) & 1) * 16;
        ck_assert(float_bits_eq(y[e], (float)q * 0.5f + 3.0f));
    }
    /* q8_0: d = 0.125, qs = 4e − 64 */
    put_f16(b, 0.125f);
    for (int e = 0; e < 32; e++)
        b[2 + e] = (uint8_t)(int8_t)(4 * e - 64);
    llm_dequantize_row(LLM_DTYPE_Q8_0, b, y, 32);
    for (int e = 0; e < 32; e++)
        ck_assert(float_bits_eq(y[e], (float)(4 * e - 64) * 0.125f));
}
END_TEST

/* 6-bit scale and min of sub-block j (0..7) from the 12 scale bytes of q4_K/q5_K, per the GGUF
 * description: bytes 0..3 hold sc0..3 (low 6 bits) and the top bits of sc4..7, bytes 4..7 the
 * mins m0..3 and the top bits of m4..7, bytes 8..11 the low nibbles of sc4..7 | m4..7 << 4. */
static void k4_scale(const uint8_t *s, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 0x3F;
        *m = s[4 + j] & 0x3F;
    } else {
        *sc = (s[8 + j - 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[8 + j - 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

START_TEST(test_dequant_k)
{
    uint8_t b[292];
    float y[256];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)rnd_u32();

    /* q4_K: element e in sub-block j = e/32; its nibble is byte 32·(j/2) + e%32 of qs, low for
     * even j, high for odd j; w = d·sc_j·q − dmin·m_j */
    put_f16(b, 0.0625f);
    put_f16(b + 2, 0.03125f);
    llm_dequantize_row(LLM_DTYPE_Q4_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        const int j = e / 32, l = e % 32;
        int sc, m;
        k4_scale(b + 4, j, &sc, &m);
        const uint8_t byte = b[16 + 32 * (j / 2) + l];
        const int q = (j % 2) ? byte >> 4 : byte & 0x0F;
        const float want = 0.0625f * (float)sc * (float)q - 0.03125f * (float)m;
        ck_assert_msg(float_bits_eq(y[e], want), "q4_K[%d] %g want %g", e, (double)y[e], (double)want);
    }
    /* q5_K: as q4_K plus bit j of qh[e%32] as the fifth bit */
    llm_dequantize_row(LLM_DTYPE_Q5_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        const int j = e / 32, l = e % 32;
        int sc, m;
        k4_scale(b + 4, j, &sc, &m);
        const uint8_t byte = b[48 + 32 * (j / 2) + l];
        const int q = ((j % 2) ? byte >> 4 : byte & 0x0F) + 16 * ((b[16 + l] >> j) & 1);
        const float want = 0.0625f * (float)sc * (float)q - 0.03125f * (float)m;
        ck_assert_msg(float_bits_eq(y[e], want), "q5_K[%d]", e);
    }
    /* q6_K: 128-element halves h; within a half, quarter r = (e%128)/32 takes the low (r even)
     * or high (r odd... r >= 2) nibble of ql[64h + 32·(r%2) + l] and bits 2r..2r+1 of
     * qh[32h + l]; scale int8 sc[e/16]; w = d·sc·(q − 32) */
    put_f16(b + 208, 0.01f);
    llm_dequantize_row(LLM_DTYPE_Q6_K, b, y, 256);
    const float d6 = llm_f16_to_f32(llm_f32_to_f16(0.01f));
    for (int e = 0; e < 256; e++) {
        const int h = e / 128, r = (e % 128) / 32, l = e % 32;
        const uint8_t lb = b[64 * h + 32 * (r % 2) + l];
        const int lo = r < 2 ? (lb & 0x0F) : (lb >> 4);
        const int hi = (b[128 + 32 * h + l] >> (2 * r)) & 3;
        const int q = (lo | (hi << 4)) - 32;
        const float want = d6 * (float)(int8_t)b[192 + e / 16] * (float)q;
        ck_assert_msg(float_bits_eq(y[e], want), "q6_K[%d]", e);
    }
    /* q2_K: 16 groups of 16; group g's scale byte: low nibble scale, high nibble min; element e
     * of half h = e/128, quarter r = (e%128)/32, l = e%32: bits 2r of qs[32h + l] */
    put_f16(b + 80, 0.5f);
    put_f16(b + 82, 0.25f);
    llm_dequantize_row(LLM_DTYPE_Q2_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        const int h = e / 128, r = (e % 128) / 32, l = e % 32;
        const int q = (b[16 + 32 * h + l] >> (2 * r)) & 3;
        const uint8_t s = b[e / 16];
        const float want = 0.5f * (float)(s & 0xF) * (float)q - 0.25f * (float)(s >> 4);
        ck_assert_msg(float_bits_eq(y[e], want), "q2_K[%d]", e);
    }
    /* q3_K: hmask[32], qs[64], scales[12] (16 6-bit scales, −32), d. Scale g: low 4 bits from
     * byte g%8 of scales (low nibble g < 8, high nibble otherwise), top 2 bits from byte
     * 8 + g%4 at bit 2·(g/4). q = 2 bits as q2_K, minus 4 where hmask[l] bit (e/32) is clear. */
    put_f16(b + 108, 0.125f);
    llm_dequantize_row(LLM_DTYPE_Q3_K, b, y, 256);
    for (int e = 0; e < 256; e++) {
        const int h = e / 128, r = (e % 128) / 32, l = e % 32, g = e / 16;
        const uint8_t *sc = b + 96;
        const int low = g < 8 ? (sc[g] & 0xF) : (sc[g - 8] >> 4);
        const int top = (sc[8 + g % 4] >> (2 * (g / 4))) & 3;
        const int s = (low | (top << 4)) - 32;
        int q = (b[32 + 32 * h + l] >> (2 * r)) & 3;
        if (!((b[l] >> (e / 32)) & 1))
            q -= 4;
        const float want = 0.125f * (float)s * (float)q;
        ck_assert_msg(float_bits_eq(y[e], want), "q3_K[%d] %g want %g", e, (double)y[e], (double)want);
    }
    /* q8_K: d f32, qs int8 */
    const float d8 = 0.0078125f;
    memcpy(b, &d8, 4);
    llm_dequantize_row(LLM_DTYPE_Q8_K, b, y, 256);
    for (int e = 0; e < 256; e++)
        ck_assert(float_bits_eq(y[e], d8 * (float)(int8_t)b[4 + e]));
}
END_TEST

START_TEST(test_quantize_ref)
{
    /* q8_0 of a known block: amax 127 → d = 1, q = round-half-away(x) */
    float x[32];
    uint8_t b[34];
    for (int j = 0; j < 32; j++)
        x[j] = (float)j * 4.0f - 62.5f;
    x[31] = 127.0f;
    ck_assert(llm_quantize_row(LLM_DTYPE_Q8_0, x, b, 32));
    ck_assert_uint_eq(b[0] | (b[1] << 8), 0x3C00);
    for (int j = 0; j < 31; j++)
        ck_assert_int_eq((int8_t)b[2 + j], (int)roundf(x[j]));
    ck_assert_int_eq((int8_t)b[33], 127);
    /* q4_0: max by |x| is −16 → d = 2, q = min(15, trunc(x/2 + 8.5)) */
    for (int j = 0; j < 32; j++)
        x[j] = (float)(j % 16) - 8.0f;
    x[5] = -16.0f;
    ck_assert(llm_quantize_row(LLM_DTYPE_Q4_0, x, b, 32));
    ck_assert_uint_eq(b[0] | (b[1] << 8), 0x4000);
    for (int j = 0; j < 16; j++) {
        const int q0 = (int)(x[j] / 2.0f + 8.5f), q1 = (int)(x[16 + j] / 2.0f + 8.5f);
        ck_assert_int_eq(b[2 + j] & 0xF, q0 > 15 ? 15 : q0);
        ck_assert_int_eq(b[2 + j] >> 4, q1 > 15 ? 15 : q1);
    }
    /* every writable type round-trips within its step */
    static const uint32_t types[] = {LLM_DTYPE_F32, LLM_DTYPE_F16, LLM_DTYPE_BF16, LLM_DTYPE_Q8_0,
                                     LLM_DTYPE_Q4_0, LLM_DTYPE_Q4_1, LLM_DTYPE_Q5_0, LLM_DTYPE_Q5_1,
                                     LLM_DTYPE_Q8_1, LLM_DTYPE_Q8_K};
    static const double step[] = {0, 1.0 / 1024, 1.0 / 128, 1.0 / 127, 1.0 / 8, 2.0 / 15,
                                  1.0 / 16, 2.0 / 31, 1.0 / 127, 1.0 / 127};
    float src[512], back[512];
    uint8_t buf[2048];
    fill_rand(src, 512, 3.0f);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        ck_assert(llm_quantize_row(types[i], src, buf, 512));
        llm_dequantize_row(types[i], buf, back, 512);
        for (int e = 0; e < 512; e++)
            ck_assert_msg(fabs(back[e] - src[e]) <= 3.0 * step[i] * 1.01 + 1e-6, "%s[%d]: %g vs %g",
                          llm_dtype_get(types[i])->name, e, (double)back[e], (double)src[e]);
    }
    ck_assert(!llm_quantize_row(LLM_DTYPE_Q4_K, src, buf, 256));
}
END_TEST

// ------------------------------------------------------------------------------------------------
// golden models: quantized tensors against their f32 originals

#if !defined(LLM_KERNELS_STANDALONE)
static void check_model_pair(const char *f32_path, const char *q_path, uint32_t qtype)
{
    llm_gguf *a = NULL, *b = NULL;
    llm_error err = {0};
    ck_assert_msg(llm_gguf_open(llm_test_path(f32_path), NULL, &a, &err) == LLM_OK, "%s", err.msg);
    ck_assert_msg(llm_gguf_open(llm_test_path(q_path), NULL, &b, &err) == LLM_OK, "%s", err.msg);
    int n_quant = 0;
    for (uint64_t i = 0; i < llm_gguf_n_tensors(b); i++) {
        const llm_gguf_tensor *tq = llm_gguf_tensor_at(b, i);
        const llm_gguf_tensor *tf = llm_gguf_find_tensor(a, tq->name);
        ck_assert_msg(tf != NULL && tf->type == LLM_DTYPE_F32, "%s missing in %s", tq->name, f32_path);
        const int64_t n = (int64_t)(tf->nbytes / 4);
        float *deq = malloc((size_t)n * sizeof(float));
        llm_dequantize_row(tq->type, tq->data, deq, n);
        const float *ref = tf->data;
        const llm_dtype_traits *tr = llm_dtype_get(tq->type);
        const int64_t bs = tr->block_size;
        for (int64_t blk = 0; blk < n / bs; blk++) {
            float amax = 0.0f;
            for (int64_t e = 0; e < bs; e++)
                amax = fmaxf(amax, fabsf(ref[blk * bs + e]));
            /* one quantization step: q8_0 rounds to amax/127 (error <= half a step, plus the
             * f16 rounding of d), q4_0 to amax/8 (a full step at the clipped end) */
            double tol = 0.0;
            if (tq->type == LLM_DTYPE_Q8_0)
                tol = amax / 127.0 * 0.5 * 1.01 + 128.0 * amax / 127.0 / 2048.0;
            else if (tq->type == LLM_DTYPE_Q4_0)
                tol = amax / 8.0 * 1.01;
            for (int64_t e = 0; e < bs; e++) {
                const double diff = fabs((double)deq[blk * bs + e] - ref[blk * bs + e]);
                ck_assert_msg(diff <= tol, "%s %s[%lld]: %g vs %g (tol %g)", q_path, tq->name,
                              (long long)(blk * bs + e), (double)deq[blk * bs + e],
                              (double)ref[blk * bs + e], tol);
            }
        }
        n_quant += tq->type == qtype;
        free(deq);
    }
    ck_assert_msg(n_quant > 0, "%s has no %s tensor", q_path, llm_dtype_get(qtype)->name);
    llm_gguf_close(a);
    llm_gguf_close(b);
}

START_TEST(test_golden_dequant)
{
    check_model_pair("golden/models/gpt2-tiny-f32.gguf", "golden/models/gpt2-tiny-q8_0.gguf",
                     LLM_DTYPE_Q8_0);
    check_model_pair("golden/models/gpt2-tiny-f32.gguf", "golden/models/gpt2-tiny-q4_0.gguf",
                     LLM_DTYPE_Q4_0);
    check_model_pair("golden/models/t5-tiny-relu-f32.gguf", "golden/models/t5-tiny-relu-q8_0.gguf",
                     LLM_DTYPE_Q8_0);
}
END_TEST
#endif

// ------------------------------------------------------------------------------------------------
// products: every ISA against generic and both against float64

static const uint32_t gemm_types[] = {
    LLM_DTYPE_F32,  LLM_DTYPE_F16,  LLM_DTYPE_BF16, LLM_DTYPE_Q8_0, LLM_DTYPE_Q4_0, LLM_DTYPE_Q4_1,
    LLM_DTYPE_Q5_0, LLM_DTYPE_Q5_1, LLM_DTYPE_Q4_K, LLM_DTYPE_Q5_K, LLM_DTYPE_Q6_K, LLM_DTYPE_Q2_K,
    LLM_DTYPE_Q3_K,
};

/* T, N, K-in-blocks-or-elements: K = kmul × block size, or kf for float types */
static const struct { int64_t T, N, kmul, kf; } gemm_sizes[] = {
    {1, 0, 1, 0},   {1, 1, 1, 1},   {1, 31, 1, 31},  {1, 33, 3, 33},  {2, 5, 2, 255},
    {3, 7, 1, 256}, {4, 3, 4, 8},   {5, 33, 2, 100}, {7, 255, 1, 33}, {1, 255, 9, 1000},
    {9, 13, 3, 77}, {16, 48, 2, 512},
};

/* Random weights of any type: quantizable types from random floats; K-quants from random bytes
 * with the scales pinned to sane values. */
static void make_weights(uint32_t type, uint8_t *w, int64_t N, int64_t K)
{
    const llm_dtype_traits *tr = llm_dtype_get(type);
    const size_t rb = (size_t)llm_dtype_row_bytes(type, (uint64_t)K);
    float *f = malloc((size_t)(K > 0 ? K : 1) * sizeof(float));
    for (int64_t n = 0; n < N; n++) {
        uint8_t *row = w + (size_t)n * rb;
        fill_rand(f, K, 0.5f);
        if (llm_quantize_row(type, f, row, K))
            continue;
        for (size_t i = 0; i < rb; i++)
            row[i] = (uint8_t)rnd_u32();
        for (int64_t b = 0; b < K / tr->block_size; b++) {
            uint8_t *blk = row + (size_t)b * tr->type_size;
            switch (type) {
            case LLM_DTYPE_Q4_K:
            case LLM_DTYPE_Q5_K:
                put_f16(blk, 0.01f + 0.001f * (float)(rnd_u32() % 16));
                put_f16(blk + 2, 0.005f);
                break;
            case LLM_DTYPE_Q6_K: put_f16(blk + 208, 0.001f); break;
            case LLM_DTYPE_Q2_K: put_f16(blk + 80, 0.02f); put_f16(blk + 82, 0.01f); break;
            case LLM_DTYPE_Q3_K: put_f16(blk + 108, 0.02f); break;
            default: break;
            }
        }
    }
    free(f);
}

static void check_gemm(const llm_kernels *kern, uint32_t type, int64_t T, int64_t N, int64_t K)
{
    const llm_kernels *gen = llm_kernels_for("generic");
    const uint32_t act = llm_gemm_act_type(type);
    const size_t rb = (size_t)llm_dtype_row_bytes(type, (uint64_t)K);
    const size_t xb = act == LLM_DTYPE_F32 ? (size_t)K * 4 : (size_t)llm_dtype_row_bytes(act, (uint64_t)K);
    uint8_t *W = malloc(rb * (size_t)N + 1);
    float *X = malloc((size_t)(T * K + 1) * sizeof(float));
    uint8_t *Xq = malloc(xb * (size_t)T + 1);
    float *Y = malloc((size_t)(T * N + 1) * sizeof(float));
    float *wd = malloc((size_t)(K + 1) * sizeof(float));
    float *xd = malloc((size_t)(T * K + 1) * sizeof(float));
    make_weights(type, W, N, K);
    fill_rand(X, T * K, 1.0f);
    for (int64_t t = 0; t < T; t++) {
        if (act == LLM_DTYPE_F32) {
            memcpy(Xq + (size_t)t * xb, X + t * K, xb);
            memcpy(xd + t * K, X + t * K, xb);
        } else {
            gen->quant[act](Xq + (size_t)t * xb, X + t * K, K);
            llm_dequantize_row(act, Xq + (size_t)t * xb, xd + t * K, K);
        }
    }
    for (int64_t i = 0; i < T * N; i++)
        Y[i] = NAN;
    kern->gemm[type](Y, N, Xq, xb, W, rb, T, N, K);
    for (int64_t n = 0; n < N; n++) {
        llm_dequantize_row(type, W + (size_t)n * rb, wd, K);
        for (int64_t t = 0; t < T; t++) {
            double ref = 0.0, mag = 0.0;
            for (int64_t k = 0; k < K; k++) {
                ref += (double)wd[k] * xd[t * K + k];
                mag += fabs((double)wd[k] * xd[t * K + k]);
            }
            const double y = Y[t * N + n];
            /* q4_1/q5_1 read q8_1 activations, whose block sum d·Σq is stored as f16 (ggml's
             * format): that term carries up to 2^-11 relative error, hence 1e-3 */
            const double tol = act == LLM_DTYPE_Q8_1 ? 1e-3 : 1e-4;
            ck_assert_msg(fabs(y - ref) <= tol * mag + 1e-30, "%s %s T=%lld N=%lld K=%lld [%lld,%lld]: "
                          "%.9g vs %.9g (mag %g)", kern->isa, llm_dtype_get(type)->name, (long long)T,
                          (long long)N, (long long)K, (long long)t, (long long)n, y, ref, mag);
        }
    }
    free(W);
    free(X);
    free(Xq);
    free(Y);
    free(wd);
    free(xd);
}

static void gemm_sweep(const llm_kernels *kern, int size_index)
{
    const int64_t T = gemm_sizes[size_index].T, N = gemm_sizes[size_index].N;
    for (size_t i = 0; i < sizeof gemm_types / sizeof gemm_types[0]; i++) {
        const uint32_t type = gemm_types[i];
        if (kern->gemm[type] == NULL)
            continue;
        const uint32_t bs = llm_dtype_get(type)->block_size;
        const int64_t K = bs == 1 ? gemm_sizes[size_index].kf : gemm_sizes[size_index].kmul * bs;
        check_gemm(kern, type, T, N, K);
    }
}

START_TEST(test_gemm_generic)
{
    gemm_sweep(llm_kernels_for("generic"), _i);
}
END_TEST

START_TEST(test_gemm_isa)
{
    int ran = 0;
    for (size_t i = 0; i < sizeof isa_names / sizeof isa_names[0]; i++) {
        const llm_kernels *k = llm_kernels_for(isa_names[i]);
        if (k == NULL)
            continue;
        gemm_sweep(k, _i);
        ran++;
    }
    if (!ran && _i == 0)
        fprintf(stderr, "kernels: no SIMD tier available on this CPU/build; only generic tested\n");
}
END_TEST

/* Quantizers, dots and axpys of each ISA against generic. */
START_TEST(test_vec_isa)
{
    const llm_kernels *gen = llm_kernels_for("generic");
    static const int64_t sizes[] = {0, 1, 7, 8, 31, 33, 64, 255, 1000};
    float x[1024], y[1024], y2[1024], f[1024];
    uint16_t h[1024];
    uint8_t qa[2048], qb[2048];
    for (size_t is = 0; is < sizeof isa_names / sizeof isa_names[0]; is++) {
        const llm_kernels *k = llm_kernels_for(isa_names[is]);
        if (k == NULL) {
            fprintf(stderr, "kernels: %s not available here; its kernels are skipped\n", isa_names[is]);
            continue;
        }
        /* quantizers: byte-identical to the reference, including ties and zero blocks */
        static const uint32_t acts[] = {LLM_DTYPE_Q8_0, LLM_DTYPE_Q8_1, LLM_DTYPE_Q8_K};
        for (size_t a = 0; a < 3; a++) {
            for (int rep = 0; rep < 20; rep++) {
                fill_rand(x, 512, rep < 10 ? 2.0f : 100.0f);
                if (rep == 3)
                    for (int e = 0; e < 256; e++) x[e] = 0.0f;
                if (rep == 4) /* exact halves after scaling: ties */
                    for (int e = 0; e < 512; e++)
                        x[e] = (float)((e % 255) - 127) * 0.5f;
                const size_t nb = (size_t)llm_dtype_row_bytes(acts[a], 512);
                memset(qa, 0xAA, nb);
                memset(qb, 0x55, nb);
                gen->quant[acts[a]](qa, x, 512);
                k->quant[acts[a]](qb, x, 512);
                ck_assert_msg(memcmp(qa, qb, nb) == 0, "%s quant %s differs (rep %d)", k->isa,
                              llm_dtype_get(acts[a])->name, rep);
            }
        }
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            const int64_t n = sizes[si];
            fill_rand(x, n, 1.0f);
            fill_rand(f, n, 1.0f);
            for (int64_t i = 0; i < n; i++) {
                h[i] = llm_f32_to_f16(f[i]);
                f[i] = llm_f16_to_f32(h[i]);
            }
            for (int kind = 0; kind < 2; kind++) {
                fill_rand(y, n, 1.0f);
                memcpy(y2, y, (size_t)n * sizeof(float));
                if (kind == 0) {
                    k->axpy_f32(y, 0.75f, f, n);
                    gen->axpy_f32(y2, 0.75f, f, n);
                } else {
                    k->axpy_f16(y, 0.75f, h, n);
                    gen->axpy_f16(y2, 0.75f, h, n);
                }
                for (int64_t i = 0; i < n; i++) /* one fused vs two roundings */
                    ck_assert(fabsf(y[i] - y2[i]) <= 1e-6f * (fabsf(y2[i]) + 1.0f));
            }
            /* the many-row form: the bytes of the tier's axpy once per row, zero weights
             * skipped, rows 1000 elements apart whatever n */
            static float rows_f[5 * 1000];
            static uint16_t rows_h[5 * 1000];
            const float a[5] = {0.5f, 0.0f, -1.25f, 0.75f, -0.0f};
            fill_rand(rows_f, 5 * 1000, 1.0f);
            for (int64_t i = 0; i < 5 * 1000; i++)
                rows_h[i] = llm_f32_to_f16(rows_f[i]);
            for (int kind = 0; kind < 2; kind++) {
                const llm_axpy_rows_fn rows_fn = kind == 0 ? k->axpy_rows_f32 : k->axpy_rows_f16;
                if (rows_fn == NULL)
                    continue;
                fill_rand(y, n, 1.0f);
                memcpy(y2, y, (size_t)n * sizeof(float));
                const size_t esz = kind == 0 ? 4 : 2;
                const uint8_t *base = kind == 0 ? (const uint8_t *)rows_f : (const uint8_t *)rows_h;
                rows_fn(y, a, base, 1000 * esz, 5, n);
                const llm_axpy_fn axpy = kind == 0 ? k->axpy_f32 : k->axpy_f16;
                for (int r = 0; r < 5; r++)
                    if (a[r] != 0.0f)
                        axpy(y2, a[r], base + (size_t)r * 1000 * esz, n);
                ck_assert_msg(memcmp(y, y2, (size_t)n * sizeof(float)) == 0,
                              "%s axpy_rows (%s) differs from axpy per row, n = %lld", k->isa,
                              kind == 0 ? "f32" : "f16", (long long)n);
            }
        }
    }
}
END_TEST

/* e^x of every tier against exp in double: within 3 ulp (relative 3·2^-23) where the result is
 * a normal float, the documented limits outside, and each element's bytes independent of n
 * and of its position (a softmax row is computed with different lengths in prefill and decode) */
START_TEST(test_exp_isa)
{
    for (size_t is = 0; is < sizeof isa_names / sizeof isa_names[0]; is++) {
        const llm_kernels *k = llm_kernels_for(isa_names[is]);
        if (k == NULL)
            continue;
        static float x[4096], y[4096];
        double worst = 0;
        for (int rep = 0; rep < 64; rep++) {
            for (int i = 0; i < 4096; i++) /* -87.3 .. 88.3 in steps that hit many mantissas */
                x[i] = -87.3f + 175.6f * (float)(rep * 4096 + i) / (64.0f * 4096.0f);
            memcpy(y, x, sizeof x);
            k->exp_f32(y, 4096);
            for (int i = 0; i < 4096; i++) {
                const double want = exp((double)x[i]);
                const double rel = fabs(y[i] - want) / want;
                if (rel > worst)
                    worst = rel;
            }
        }
        ck_assert_msg(worst <= 3.0 * 0x1p-23, "%s exp: relative error %g", k->isa, worst);

        float sp[9] = {-INFINITY, INFINITY, NAN, 0.0f, -0.0f, -100.0f, 100.0f, -87.0f, 88.0f};
        k->exp_f32(sp, 9);
        ck_assert_msg(sp[0] == 0.0f && sp[1] == INFINITY && isnan(sp[2]), "%s exp: inf/nan",
                      k->isa);
        ck_assert_msg(sp[3] == 1.0f && sp[4] == 1.0f, "%s exp(0) = %g", k->isa, sp[3]);
        ck_assert_msg(sp[5] >= 0.0f && sp[5] < 1.2e-38f, "%s exp(-100) = %g", k->isa, sp[5]);
        ck_assert_msg(sp[6] == INFINITY, "%s exp(100) = %g", k->isa, sp[6]);
        ck_assert(sp[7] > 1.6e-38f && sp[8] < 1.7e38f && sp[8] > 1.6e38f);

        float one[1], row[37];
        fill_rand(row, 37, 20.0f);
        float ref[37];
        for (int i = 0; i < 37; i++) {
            one[0] = row[i];
            k->exp_f32(one, 1);
            ref[i] = one[0];
        }
        for (int n = 1; n <= 37; n++)
            for (int off = 0; off + n <= 37; off += 5) {
                float part[37];
                memcpy(part, row + off, (size_t)n * sizeof(float));
                k->exp_f32(part, n);
                ck_assert_msg(memcmp(part, ref + off, (size_t)n * sizeof(float)) == 0,
                              "%s exp: bytes depend on position (n %d, offset %d)", k->isa, n, off);
            }
    }
}
END_TEST

// ------------------------------------------------------------------------------------------------
// ops against float64

START_TEST(test_ops_rowwise)
{
    enum { T = 3, N = 67 };
    float x[T * N], y[T * N], w[N], b[N];
    fill_rand(x, T * N, 2.0f);
    fill_rand(w, N, 1.0f);
    fill_rand(b, N, 1.0f);
    llm_op_rmsnorm(y, x, w, T, N, 1e-5f);
    for (int t = 0; t < T; t++) {
        double ss = 0;
        for (int i = 0; i < N; i++)
            ss += (double)x[t * N + i] * x[t * N + i];
        const double r = 1.0 / sqrt(ss / N + 1e-5);
        for (int i = 0; i < N; i++)
            ck_assert(fabs(y[t * N + i] - x[t * N + i] * r * w[i]) <= 2e-5 * (fabs(x[t * N + i] * r) + 1));
    }
    llm_op_layernorm(y, x, w, b, T, N, 1e-5f);
    for (int t = 0; t < T; t++) {
        double mean = 0, var = 0;
        for (int i = 0; i < N; i++)
            mean += x[t * N + i];
        mean /= N;
        for (int i = 0; i < N; i++)
            var += (x[t * N + i] - mean) * (x[t * N + i] - mean);
        const double r = 1.0 / sqrt(var / N + 1e-5);
        for (int i = 0; i < N; i++) {
            const double want = (x[t * N + i] - mean) * r * w[i] + b[i];
            ck_assert(fabs(y[t * N + i] - want) <= 2e-5 * (fabs(want) + 1));
        }
    }
    /* softmax: sums to 1, stable for huge inputs, masked entries exactly 0 */
    float s[5] = {1000.0f, 1001.0f, 999.0f, -INFINITY, 1000.5f};
    llm_op_softmax(s, 5);
    double sum = 0;
    for (int i = 0; i < 5; i++)
        sum += s[i];
    ck_assert(fabs(sum - 1.0) < 1e-6);
    ck_assert(s[3] == 0.0f);
    ck_assert(fabs(s[1] / s[0] - exp(1.0)) < 1e-5);
    float m[3] = {0, -INFINITY, 0}, s2[3] = {1, 2, 3};
    llm_op_softmax_ext(s2, 3, 0.5f, m);
    ck_assert(s2[1] == 0.0f && fabs(s2[2] / s2[0] - exp(1.0)) < 1e-5);
    float all[2] = {-INFINITY, -INFINITY};
    llm_op_softmax(all, 2);
    ck_assert(all[0] == 0.0f && all[1] == 0.0f);
    /* activations */
    float a[6] = {-3.0f, -1.0f, -0.1f, 0.0f, 0.5f, 2.0f};
    float g[6], e[6], si[6];
    memcpy(g, a, sizeof a);
    memcpy(e, a, sizeof a);
    memcpy(si, a, sizeof a);
    llm_op_gelu_tanh(g, 6);
    llm_op_gelu_erf(e, 6);
    llm_op_silu(si, 6);
    for (int i = 0; i < 6; i++) {
        const double v = a[i];
        ck_assert(fabs(g[i] - 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))) < 1e-6);
        ck_assert(fabs(e[i] - 0.5 * v * (1 + erf(v / sqrt(2.0)))) < 1e-6);
        ck_assert(fabs(si[i] - v / (1 + exp(-v))) < 1e-6);
    }
    float gate[4] = {1, -2, 0.5f, 3}, up[4] = {2, 1, -1, 0.5f}, out[4];
    llm_op_swiglu(out, gate, up, 4);
    for (int i = 0; i < 4; i++)
        ck_assert(fabs(out[i] - gate[i] / (1 + exp(-gate[i])) * up[i]) < 1e-6);
    llm_op_geglu(out, gate, up, 4);
    for (int i = 0; i < 4; i++) {
        const double v = gate[i];
        ck_assert(fabs(out[i] - 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))) * up[i]) < 1e-5);
    }
    /* argmax: lowest index on ties, NaN never wins */
    const float am[6] = {1, 5, NAN, 5, -1, 4};
    ck_assert_int_eq(llm_op_argmax(am, 6), 1);
    const float an[3] = {NAN, -2, -1};
    ck_assert_int_eq(llm_op_argmax(an, 3), 2);
}
END_TEST

START_TEST(test_rope)
{
    enum { T = 3, H = 2, D = 10 };
    const int n_rot = 8;
    const int32_t pos[T] = {0, 5, 2047};
    for (int neox = 0; neox < 2; neox++) {
        float x[T * H * D], x0[T * H * D];
        fill_rand(x, T * H * D, 1.0f);
        memcpy(x0, x, sizeof x);
        llm_op_rope(x, T, H, D, n_rot, pos, 10000.0f, 0.5f, neox);
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                const float *v0 = x0 + (t * H + h) * D;
                const float *v = x + (t * H + h) * D;
                for (int i = 0; i < n_rot / 2; i++) {
                    const double th = pos[t] * 0.5 * pow(10000.0, -2.0 * i / n_rot);
                    const int a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
                    ck_assert(fabs(v[a] - (v0[a] * cos(th) - v0[b] * sin(th))) < 2e-6);
                    ck_assert(fabs(v[b] - (v0[a] * sin(th) + v0[b] * cos(th))) < 2e-6);
                }
                for (int i = n_rot; i < D; i++) /* dims past n_rot untouched */
                    ck_assert(float_bits_eq(v[i], v0[i]));
            }
    }
}
END_TEST

/* float64 attention of one configuration; kf and vf are (Tk, n_kv_head, head_dim) */
static void attn_ref(const llm_attn_args *a, const float *kf, const float *vf, double *out)
{
    const int64_t kvs = (int64_t)a->n_kv_head * a->head_dim;
    const int group = a->n_head / a->n_kv_head;
    double *s = malloc((size_t)(a->Tk + 1) * sizeof(double));
    for (int64_t i = 0; i < a->Tq; i++)
        for (int h = 0; h < a->n_head; h++) {
            const int g = h / group;
            int64_t nk = a->Tk;
            if (a->causal_offset >= 0 && i + a->causal_offset + 1 < nk)
                nk = i + a->causal_offset + 1;
            double mx = -INFINITY;
            for (int64_t j = 0; j < nk; j++) {
                double d = 0;
                for (int e = 0; e < a->head_dim; e++)
                    d += (double)a->q[i * a->q_stride + h * a->head_dim + e] *
                         kf[j * kvs + g * a->head_dim + e];
                s[j] = d * a->scale + (a->bias ? a->bias[(h * a->Tq + i) * a->Tk + j] : 0.0);
                if (s[j] > mx)
                    mx = s[j];
            }
            double sum = 0;
            for (int64_t j = 0; j < nk; j++)
                sum += (s[j] = exp(s[j] - mx));
            for (int e = 0; e < a->head_dim; e++) {
                double o = 0;
                for (int64_t j = 0; j < nk; j++)
                    o += s[j] / sum * vf[j * kvs + g * a->head_dim + e];
                out[i * a->out_stride + h * a->head_dim + e] = o;
            }
        }
    free(s);
}

typedef struct attn_case {
    int64_t Tq, Tk, causal;
    int n_head, n_kv_head, head_dim, kv_type, with_bias;
} attn_case;

static const attn_case attn_cases[] = {
    {1, 1, 0, 1, 1, 8, LLM_KV_F32, 0},   {1, 17, 16, 4, 2, 16, LLM_KV_F32, 0},
    {5, 5, 0, 4, 4, 8, LLM_KV_F16, 0},   {7, 12, 5, 8, 2, 33, LLM_KV_F16, 0},
    {6, 6, -1, 4, 4, 16, LLM_KV_F32, 1}, {3, 40, 37, 6, 3, 64, LLM_KV_F32, 1},
    {9, 9, -1, 2, 1, 7, LLM_KV_F16, 0},
    /* single queries (decoding): several blocks of keys plus a partial one, 64 + 16 lanes */
    {1, 45, 44, 6, 3, 64, LLM_KV_F16, 1}, {1, 70, 69, 12, 12, 64, LLM_KV_F32, 0},
    {1, 33, -1, 4, 1, 80, LLM_KV_F16, 0}, {1, 100, 60, 2, 2, 67, LLM_KV_F32, 1},
};

/* Runs one attention case with `threads` threads (0 = no pool) into out. small_scratch: a fixed
 * scratch of G − 1 score rows (G heads per kv head), too small for a group, which takes the
 * one-head-at-a-time path with up to G − 1 items. heads_apart: K and V laid out as a KV cache
 * holds them, (n_kv_head, cap, head_dim) with room for 3 more positions than Tk, instead of
 * (Tk, n_kv_head, head_dim). */
static void run_attn(const attn_case *c, uint32_t threads, float *out, float *kf, float *vf, int check,
                     int small_scratch, int heads_apart)
{
    const int64_t qs = (int64_t)c->n_head * c->head_dim, kvs = (int64_t)c->n_kv_head * c->head_dim;
    const int64_t cap = c->Tk + 3;
    rng_state = 12345;
    float *q = malloc((size_t)(c->Tq * qs) * sizeof(float));
    float *bias = c->with_bias ? malloc((size_t)(c->n_head * c->Tq * c->Tk) * sizeof(float)) : NULL;
    void *k = calloc((size_t)(cap * kvs), 4), *v = calloc((size_t)(cap * kvs), 4);
    fill_rand(q, c->Tq * qs, 1.0f);
    fill_rand(kf, c->Tk * kvs, 1.0f);
    fill_rand(vf, c->Tk * kvs, 1.0f);
    if (bias)
        fill_rand(bias, c->n_head * c->Tq * c->Tk, 2.0f);
    for (int64_t i = 0; i < c->Tk * kvs; i++) {
        /* element i is (t, g, d); where it goes in the layout under test */
        const int64_t t = i / kvs, g = i % kvs / c->head_dim, d = i % c->head_dim;
        const int64_t at = heads_apart ? (g * cap + t) * c->head_dim + d : i;
        if (c->kv_type == LLM_KV_F16) {
            ((uint16_t *)k)[at] = llm_f32_to_f16(kf[i]);
            ((uint16_t *)v)[at] = llm_f32_to_f16(vf[i]);
            kf[i] = llm_f16_to_f32(((uint16_t *)k)[at]);
            vf[i] = llm_f16_to_f32(((uint16_t *)v)[at]);
        } else {
            ((float *)k)[at] = kf[i];
            ((float *)v)[at] = vf[i];
        }
    }
    llm_attn_args a = {
        .q = q, .k = k, .v = v, .out = out, .Tq = c->Tq, .Tk = c->Tk, .q_stride = qs,
        .kv_stride = heads_apart ? c->head_dim : kvs,
        .kv_head_stride = heads_apart ? cap * c->head_dim : 0,
        .out_stride = qs, .kv_type = c->kv_type, .n_head = c->n_head,
        .n_kv_head = c->n_kv_head, .head_dim = c->head_dim,
        .scale = 1.0f / sqrtf((float)c->head_dim), .causal_offset = c->causal, .bias = bias,
    };
    llm_pool *pool = threads ? llm_pool_create(threads, NULL, NULL) : NULL;
    const int G = c->n_head / c->n_kv_head;
    const size_t sb = small_scratch
                          ? (size_t)(G > 1 ? G - 1 : 1) * (((size_t)c->Tk * sizeof(float) + 63) & ~(size_t)63)
                          : llm_op_attention_scratch(c->Tk, c->n_head, llm_pool_threads(pool));
    void *scratch = llm_aligned_alloc(sb);
    llm_compute comp = {pool, scratch, sb};
    llm_op_attention(&comp, &a);
    if (check) {
        double *ref = malloc((size_t)(c->Tq * qs) * sizeof(double));
        attn_ref(&a, kf, vf, ref);
        for (int64_t i = 0; i < c->Tq * qs; i++)
            ck_assert_msg(fabs(out[i] - ref[i]) <= 2e-5 * (fabs(ref[i]) + 1), "attn[%lld] %g vs %g",
                          (long long)i, (double)out[i], ref[i]);
        free(ref);
    }
    llm_aligned_free(scratch);
    llm_pool_destroy(pool);
    free(q);
    free(bias);
    free(k);
    free(v);
}

START_TEST(test_attention)
{
    const attn_case *c = &attn_cases[_i];
    const int64_t n = c->Tq * c->n_head * c->head_dim, nkv = c->Tk * c->n_kv_head * c->head_dim;
    float *out = malloc((size_t)n * sizeof(float)), *out2 = malloc((size_t)n * sizeof(float));
    float *kf = malloc((size_t)nkv * sizeof(float)), *vf = malloc((size_t)nkv * sizeof(float));
    float *first = malloc((size_t)n * sizeof(float));
    for (int layout = 0; layout < 4; layout++) {
        const int small = layout & 1, apart = layout >> 1;
        run_attn(c, 0, out, kf, vf, 1, small, apart);
        /* every path (single query, grouped heads, one head at a time) and both layouts give
         * the same bytes */
        if (layout == 0)
            memcpy(first, out, (size_t)n * sizeof(float));
        else
            ck_assert_msg(memcmp(first, out, (size_t)n * sizeof(float)) == 0,
                          "attention differs with small scratch %d, heads apart %d", small, apart);
        static const uint32_t threads[] = {1, 2, 3, 8};
        for (size_t t = 0; t < 4; t++) {
            run_attn(c, threads[t], out2, kf, vf, 0, small, apart);
            ck_assert_msg(memcmp(out, out2, (size_t)n * sizeof(float)) == 0,
                          "attention differs with %u threads (small scratch %d, heads apart %d)",
                          threads[t], small, apart);
        }
    }
    free(out);
    free(out2);
    free(first);
    free(kf);
    free(vf);
}
END_TEST

/* Decoding one token gives the bytes that token gets inside a batch: every type's
 * matrix-vector path (its own row grouping and prefetch) sums each output as the prefill tiles
 * do. N = 37 rows make nine 4-row tiles and a remainder; K = 1024 holds whole blocks of every
 * type (four K-quant super-blocks). */
START_TEST(test_matmul_one_token_matches_batch)
{
    static const uint32_t types[] = {LLM_DTYPE_F32,  LLM_DTYPE_F16,  LLM_DTYPE_BF16, LLM_DTYPE_Q8_0,
                                     LLM_DTYPE_Q4_0, LLM_DTYPE_Q4_1, LLM_DTYPE_Q5_0, LLM_DTYPE_Q5_1,
                                     LLM_DTYPE_Q4_K, LLM_DTYPE_Q5_K, LLM_DTYPE_Q6_K};
    const int64_t N = 37, T = 7;
    for (size_t ti = 0; ti < 2 * sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti % (sizeof types / sizeof types[0])];
        /* second pass: K = 1120 (35 blocks of 32, not a multiple of the 8 blocks some
         * single-token paths take at a time) except for the 256-element K-quants */
        const int second = ti >= sizeof types / sizeof types[0];
        const int64_t K = second && llm_dtype_get(type)->block_size <= 32 ? 1120 : 1024;
        uint8_t *W = malloc((size_t)llm_dtype_row_bytes(type, K) * N);
        float *X = malloc((size_t)(T * K) * sizeof(float));
        float *Yb = malloc((size_t)(T * N) * sizeof(float)), *y = malloc((size_t)N * sizeof(float));
        make_weights(type, W, N, K);
        fill_rand(X, T * K, 1.0f);
        llm_weight w = {W, type, N, K};
        const size_t sb = llm_op_matmul_scratch(type, T, K);
        void *scratch = llm_aligned_alloc(sb + 64);
        llm_compute c = {NULL, scratch, sb};
        llm_op_matmul(&c, Yb, X, &w, NULL, T);
        for (int64_t t = 0; t < T; t++) {
            llm_op_matmul(&c, y, X + t * K, &w, NULL, 1);
            ck_assert_msg(memcmp(y, Yb + t * N, (size_t)N * sizeof(float)) == 0,
                          "%s, K=%lld: token %lld alone differs from the batch",
                          llm_dtype_get(type)->name, (long long)K, (long long)t);
        }
        llm_aligned_free(scratch);
        free(W);
        free(X);
        free(Yb);
        free(y);
    }
}
END_TEST

/* matmul through ops: bias, and identical bytes for any thread count (T = 1 and prefill) */
START_TEST(test_matmul_threads)
{
    static const uint32_t types[] = {LLM_DTYPE_F32, LLM_DTYPE_F16, LLM_DTYPE_Q8_0, LLM_DTYPE_Q4_0,
                                     LLM_DTYPE_Q4_K, LLM_DTYPE_Q6_K, LLM_DTYPE_Q5_1};
    static const int64_t Ts[] = {1, 5, 13};
    const int64_t N = 301, K = 512;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (size_t tt = 0; tt < 3; tt++) {
            const uint32_t type = types[ti];
            const int64_t T = Ts[tt];
            uint8_t *W = malloc((size_t)llm_dtype_row_bytes(type, K) * N);
            float *X = malloc((size_t)(T * K) * sizeof(float));
            float *bias = malloc((size_t)N * sizeof(float));
            float *Y0 = malloc((size_t)(T * N) * sizeof(float)), *Y = malloc((size_t)(T * N) * sizeof(float));
            make_weights(type, W, N, K);
            fill_rand(X, T * K, 1.0f);
            fill_rand(bias, N, 1.0f);
            llm_weight w = {W, type, N, K};
            const size_t sb = llm_op_matmul_scratch(type, T, K);
            void *scratch = llm_aligned_alloc(sb + 64);
            static const uint32_t threads[] = {0, 1, 2, 3, 8};
            for (size_t th = 0; th < 5; th++) {
                llm_pool *pool = threads[th] ? llm_pool_create(threads[th], NULL, NULL) : NULL;
                llm_compute c = {pool, scratch, sb};
                llm_op_matmul(&c, th == 0 ? Y0 : Y, X, &w, bias, T);
                llm_pool_destroy(pool);
                if (th > 0)
                    ck_assert_msg(memcmp(Y0, Y, (size_t)(T * N) * sizeof(float)) == 0,
                                  "%s T=%lld differs with %u threads", llm_dtype_get(type)->name,
                                  (long long)T, threads[th]);
            }
            /* the bias is added once: compare against the kernel alone */
            llm_compute c0 = {NULL, scratch, sb};
            llm_op_matmul(&c0, Y, X, &w, NULL, T);
            for (int64_t i = 0; i < T * N; i++)
                ck_assert(fabsf(Y0[i] - (Y[i] + bias[i % N])) <= 1e-5f * (fabsf(Y0[i]) + 1));
            llm_aligned_free(scratch);
            free(W);
            free(X);
            free(bias);
            free(Y0);
            free(Y);
        }
}
END_TEST

/* A product with its activation applied by the pool's threads gives the bytes of the product
 * followed by the single-threaded element-wise op, for every activation, 1 and 3 threads. */
START_TEST(test_matmul_act)
{
    const int64_t N = 301, K = 256;
    static const int64_t Ts[] = {1, 6};
    static const llm_act acts[] = {LLM_ACT_GELU_TANH, LLM_ACT_GELU_ERF, LLM_ACT_RELU,
                                   LLM_ACT_SILU_MUL, LLM_ACT_GELU_TANH_MUL};
    const uint32_t type = LLM_DTYPE_Q8_0;
    uint8_t *W = malloc((size_t)llm_dtype_row_bytes(type, K) * N);
    make_weights(type, W, N, K);
    llm_weight w = {W, type, N, K};
    for (size_t tt = 0; tt < 2; tt++) {
        const int64_t T = Ts[tt];
        float *X = malloc((size_t)(T * K) * sizeof(float));
        float *bias = malloc((size_t)N * sizeof(float));
        float *aux = malloc((size_t)(T * N) * sizeof(float));
        float *want = malloc((size_t)(T * N) * sizeof(float));
        float *got = malloc((size_t)(T * N) * sizeof(float));
        fill_rand(X, T * K, 3.0f);
        fill_rand(bias, N, 1.0f);
        fill_rand(aux, T * N, 2.0f);
        const size_t sb = llm_op_matmul_scratch(type, T, K);
        void *scratch = llm_aligned_alloc(sb + 64);
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            llm_compute c0 = {NULL, scratch, sb};
            llm_op_matmul(&c0, want, X, &w, bias, T);
            switch (acts[a]) {
            case LLM_ACT_GELU_TANH: llm_op_gelu_tanh(want, T * N); break;
            case LLM_ACT_GELU_ERF: llm_op_gelu_erf(want, T * N); break;
            case LLM_ACT_RELU: llm_op_relu(want, T * N); break;
            case LLM_ACT_SILU_MUL: llm_op_swiglu(want, want, aux, T * N); break;
            default: llm_op_geglu(want, want, aux, T * N); break;
            }
            const int gated = acts[a] == LLM_ACT_SILU_MUL || acts[a] == LLM_ACT_GELU_TANH_MUL;
            for (uint32_t th = 1; th <= 3; th += 2) {
                llm_pool *pool = llm_pool_create(th, NULL, NULL);
                llm_compute c = {pool, scratch, sb};
                memset(got, 0xFF, (size_t)(T * N) * sizeof(float));
                llm_op_matmul_act(&c, got, X, &w, bias, T, acts[a], gated ? aux : NULL);
                llm_pool_destroy(pool);
                ck_assert_msg(memcmp(want, got, (size_t)(T * N) * sizeof(float)) == 0,
                              "activation %d, T=%lld, %u threads: not the bytes of matmul + op",
                              (int)acts[a], (long long)T, th);
            }
        }
        llm_aligned_free(scratch);
        free(X);
        free(bias);
        free(aux);
        free(want);
        free(got);
    }
    free(W);
}
END_TEST

/* A host parallel_for (runs indices backwards) gives the same bytes as the library's pool. */
static void host_for(void *host, void (*fn)(void *, uint32_t), void *ctx, uint32_t n)
{
    (*(int *)host)++;
    for (uint32_t i = n; i-- > 0;)
        fn(ctx, i);
}

START_TEST(test_pool_host)
{
    const int64_t N = 100, K = 64, T = 3;
    float W[100 * 64], X[3 * 64], Y0[300], Y1[300];
    fill_rand(W, N * K, 1.0f);
    fill_rand(X, T * K, 1.0f);
    llm_weight w = {W, LLM_DTYPE_F32, N, K};
    int calls = 0;
    llm_pool *host = llm_pool_create(4, host_for, &calls);
    llm_pool *own = llm_pool_create(4, NULL, NULL);
    ck_assert_uint_eq(llm_pool_threads(host), 4);
    ck_assert_uint_eq(llm_pool_threads(NULL), 1);
    llm_compute c1 = {host, NULL, 0}, c2 = {own, NULL, 0};
    llm_op_matmul(&c1, Y0, X, &w, NULL, T);
    llm_op_matmul(&c2, Y1, X, &w, NULL, T);
    ck_assert(calls > 0);
    ck_assert(memcmp(Y0, Y1, sizeof Y0) == 0);
    /* many small jobs back to back: no lost wakeups, every index exactly once */
    for (int rep = 0; rep < 2000; rep++)
        llm_op_matmul(&c2, Y1, X, &w, NULL, 1);
    llm_pool_destroy(host);
    llm_pool_destroy(own);
    llm_pool_destroy(NULL);
}
END_TEST

START_TEST(test_get_rows)
{
    const int64_t N = 5, K = 64;
    float f[5 * 64], out[3 * 64], ref[64];
    uint8_t q[5 * 68];
    fill_rand(f, N * K, 1.0f);
    ck_assert(llm_quantize_row(LLM_DTYPE_Q8_0, f, q, N * K));
    llm_weight w = {q, LLM_DTYPE_Q8_0, N, K};
    const int32_t ids[3] = {4, 0, 4};
    llm_op_get_rows(out, &w, ids, 3);
    for (int i = 0; i < 3; i++) {
        llm_dequantize_row(LLM_DTYPE_Q8_0, q + (size_t)ids[i] * 68, ref, K);
        ck_assert(memcmp(out + i * K, ref, sizeof ref) == 0);
    }
}
END_TEST

START_TEST(test_dispatch)
{
    const char *isa = llm_kernel_isa();
    ck_assert(isa != NULL && llm_kernels_for(isa) != NULL);
    ck_assert(llm_cpu_features() != NULL);
    const char *env = getenv("LLM_ISA");
    if (env != NULL && strcmp(env, "generic") == 0)
        ck_assert_str_eq(isa, "generic");
    fprintf(stderr, "kernels: tier %s, cpu features '%s'\n", isa, llm_cpu_features());
}
END_TEST

// ------------------------------------------------------------------------------------------------
// training backward products (gemm_dx_f32, gemm_dw_f32)

/* Each tier: close to a float64 product, and the same bytes whatever the tile the rows come in. */
static void grad_check_tier(const llm_kernels *k, int64_t T, int64_t N, int64_t K)
{
    float *dY = malloc((size_t)(T * N) * sizeof(float)), *W = malloc((size_t)(N * K) * sizeof(float));
    float *X = malloc((size_t)(T * K) * sizeof(float));
    float *a = malloc((size_t)(T * K) * sizeof(float)), *b = malloc((size_t)(T * K) * sizeof(float));
    float *dwa = malloc((size_t)(N * K) * sizeof(float)), *dwb = malloc((size_t)(N * K) * sizeof(float));
    double *ref = malloc((size_t)((T > N ? T : N) * K) * sizeof(double));
    fill_rand(dY, T * N, 1.0f);
    fill_rand(W, N * K, 1.0f);
    fill_rand(X, T * K, 1.0f);
    /* dX = dY · W */
    k->gemm_dx_f32(a, K, dY, N, W, K, T, N, K, 0);
    double max_err = 0, max_ref = 0;
    for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < K; c++) {
            double r = 0;
            for (int64_t n = 0; n < N; n++)
                r += (double)dY[t * N + n] * W[n * K + c];
            max_err = fmax(max_err, fabs(r - a[t * K + c]));
            max_ref = fmax(max_ref, fabs(r));
        }
    ck_assert_msg(max_err <= 1e-5 * max_ref * sqrt((double)N), "%s gemm_dx %lldx%lldx%lld: error %g",
                  k->isa, (long long)T, (long long)N, (long long)K, max_err / max_ref);
    static const int64_t tiles[] = {1, 3, 4, 5, 16};
    for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
        for (int64_t t = 0; t < T; t += tiles[ti]) {
            const int64_t nt = T - t < tiles[ti] ? T - t : tiles[ti];
            k->gemm_dx_f32(b + t * K, K, dY + t * N, N, W, K, nt, N, K, 0);
        }
        ck_assert_msg(memcmp(a, b, (size_t)(T * K) * sizeof(float)) == 0,
                      "%s gemm_dx: bytes depend on a tile of %lld rows", k->isa, (long long)tiles[ti]);
    }
    /* accumulate: dX + dY·W, the sum continuing from the existing value */
    memcpy(b, X, (size_t)(T * K) * sizeof(float));
    k->gemm_dx_f32(b, K, dY, N, W, K, T, N, K, 1);
    for (int64_t i = 0; i < T * K; i++)
        ck_assert_msg(fabs(b[i] - (X[i] + a[i])) <= 1e-4 * (1 + fabs(a[i])) * sqrt((double)N),
                      "%s gemm_dx accumulate at %lld", k->isa, (long long)i);
    /* dW += dYᵀ · X */
    memset(dwa, 0, (size_t)(N * K) * sizeof(float));
    k->gemm_dw_f32(dwa, K, dY, N, X, K, T, N, K);
    max_err = 0;
    max_ref = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < K; c++) {
            double r = 0;
            for (int64_t t = 0; t < T; t++)
                r += (double)dY[t * N + n] * X[t * K + c];
            max_err = fmax(max_err, fabs(r - dwa[n * K + c]));
            max_ref = fmax(max_ref, fabs(r));
        }
    ck_assert_msg(max_err <= 1e-5 * max_ref * sqrt((double)T), "%s gemm_dw %lldx%lldx%lld: error %g",
                  k->isa, (long long)T, (long long)N, (long long)K, max_err / max_ref);
    for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
        memset(dwb, 0, (size_t)(N * K) * sizeof(float));
        for (int64_t n = 0; n < N; n += tiles[ti]) {
            const int64_t nn = N - n < tiles[ti] ? N - n : tiles[ti];
            k->gemm_dw_f32(dwb + n * K, K, dY + n, N, X, K, T, nn, K);
        }
        ck_assert_msg(memcmp(dwa, dwb, (size_t)(N * K) * sizeof(float)) == 0,
                      "%s gemm_dw: bytes depend on a tile of %lld rows", k->isa, (long long)tiles[ti]);
    }
    free(dY); free(W); free(X); free(a); free(b); free(dwa); free(dwb); free(ref);
}

static const int64_t grad_sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {37, 29, 45}, {64, 48, 128},
                                        {20, 257, 128}, {33, 128, 512}, {16, 16, 17}};

START_TEST(test_grad_kernels)
{
    const int64_t *sz = grad_sizes[_i];
    grad_check_tier(llm_kernels_for("generic"), sz[0], sz[1], sz[2]);
    for (size_t i = 0; i < sizeof isa_names / sizeof isa_names[0]; i++) {
        const llm_kernels *k = llm_kernels_for(isa_names[i]);
        if (k != NULL)
            grad_check_tier(k, sz[0], sz[1], sz[2]);
    }
}
END_TEST

// ------------------------------------------------------------------------------------------------

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("dtype");
    tcase_set_timeout(tc, 60); /* the golden-model case reads several files; slow on a busy machine */
    tcase_add_test(tc, test_traits);
    tcase_add_test(tc, test_half);
    tcase_add_test(tc, test_dequant_legacy);
    tcase_add_test(tc, test_dequant_k);
    tcase_add_test(tc, test_quantize_ref);
#if !defined(LLM_KERNELS_STANDALONE)
    if (llm_test_data_present())
        tcase_add_test(tc, test_golden_dequant);
    else
        llm_test_data_left_out("dtype/golden_dequant");
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("gemm");
    tcase_set_timeout(tc, 120);
    const int n_sizes = (int)(sizeof gemm_sizes / sizeof gemm_sizes[0]);
    tcase_add_loop_test(tc, test_gemm_generic, 0, n_sizes);
    tcase_add_loop_test(tc, test_gemm_isa, 0, n_sizes);
    tcase_add_test(tc, test_vec_isa);
    tcase_add_test(tc, test_exp_isa);
    tcase_add_loop_test(tc, test_grad_kernels, 0,
                        (int)(sizeof grad_sizes / sizeof grad_sizes[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("ops");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ops_rowwise);
    tcase_add_test(tc, test_rope);
    tcase_add_loop_test(tc, test_attention, 0, (int)(sizeof attn_cases / sizeof attn_cases[0]));
    tcase_add_test(tc, test_matmul_one_token_matches_batch);
    tcase_add_test(tc, test_get_rows);
    tcase_add_test(tc, test_dispatch);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_matmul_threads);
    tcase_add_test(tc, test_matmul_act);
    tcase_add_test(tc, test_pool_host);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
#if defined(LLM_KERNELS_STANDALONE)
    SRunner *sr = srunner_create(kernels_suite());
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
#else
    return llm_test_run(kernels_suite());
#endif
}
