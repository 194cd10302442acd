/*
 * `llm bench kernels [-t N] [--quick] [--dram]`: speed of the matrix products against what the
 * machine can do. It measures two hardware limits first:
 *   - stream bandwidth: a triad a = b + s·c over three 64 MiB arrays (bytes read + written),
 *     and a read-only sum over 192 MiB (a matrix×vector product only reads);
 *   - FMA peak: independent chains of 8-lane fused multiply-adds kept in registers;
 *   - int8-dot peak: the cheapest exact AVX2 int8 dot sequence (vpmaddubsw, vpmaddwd, vpaddd)
 *     kept in registers, counted as 2 ops per multiply-accumulate;
 * then reports, per weight type and shape, matrix×vector in GB/s of weights streamed (ratio to
 * the triad) and matrix×matrix (64 tokens) in GFLOP/s (ratio to the FMA peak for float weights,
 * to the int8-dot peak for quantized ones), at 1 thread and at N threads.
 *
 * Every figure is the fastest of repeated runs (the least disturbed by other processes).
 *
 * Shapes: GPT-2 small (768×768, 3072×768, and 8192 rows of the 50257×768 output matrix) and
 * TinyLlama-like (2048×2048, 5632×2048). Only the TinyLlama matrices exceed a 32 MiB L3 in f32,
 * so smaller shapes can read from cache and beat the DRAM triad; a last table streams every
 * type from DRAM (see dram_mv_gbs), the figure that decoding speed follows.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench_kernels.h"
#include "cli.h"
#include "common/alloc.h"
#include "common/dtype.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

// ------------------------------------------------------------------------------------------------
// hardware limits

typedef struct triad_job {
    float *a, *b, *c;
    size_t n;
    uint32_t parts;
} triad_job;

static void triad_part(void *ctx, uint32_t i)
{
    triad_job *j = ctx;
    const size_t lo = j->n * i / j->parts, hi = j->n * (i + 1) / j->parts;
    for (size_t k = lo; k < hi; k++)
        j->a[k] = j->b[k] + 3.0f * j->c[k];
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static float read_sum(const float *a, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t k = 0; k + 32 <= n; k += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(a + k));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(a + k + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(a + k + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(a + k + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    return out[0];
}
#else
static float read_sum(const float *a, size_t n)
{
    float s[8] = {0};
    for (size_t k = 0; k + 8 <= n; k += 8)
        for (int i = 0; i < 8; i++)
            s[i] += a[k + i];
    return s[0];
}
#endif

typedef struct read_job {
    const float *a;
    size_t n;
    uint32_t parts;
    volatile float sink;
} read_job;

static void read_part(void *ctx, uint32_t i)
{
    read_job *j = ctx;
    const size_t lo = (j->n * i / j->parts) & ~(size_t)31, hi = (j->n * (i + 1) / j->parts) & ~(size_t)31;
    j->sink = read_sum(j->a + lo, hi - lo);
}

/* read-only bandwidth (what a matrix-vector product needs): sums over 192 MiB */
static double read_gbs(llm_pool *pool)
{
    const size_t n = (size_t)48 << 20;
    float *a = llm_aligned_alloc(n * 4);
    if (a == NULL)
        return 0.0;
    for (size_t k = 0; k < n; k++)
        a[k] = 1.0f;
    read_job j = {a, n, llm_pool_threads(pool), 0.0f};
    double best = 1e30;
    for (int rep = 0; rep < 10; rep++) {
        const double t0 = now();
        llm_pool_run(pool, read_part, &j, j.parts);
        const double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    llm_aligned_free(a);
    return (double)n * 4.0 / best * 1e-9;
}

static double stream_gbs(llm_pool *pool)
{
    const size_t n = (size_t)16 << 20; /* 64 MiB per array */
    triad_job j = {llm_aligned_alloc(n * 4), llm_aligned_alloc(n * 4), llm_aligned_alloc(n * 4), n,
                   llm_pool_threads(pool)};
    if (!j.a || !j.b || !j.c)
        return 0.0;
    for (size_t k = 0; k < n; k++) {
        j.a[k] = 0.0f;
        j.b[k] = 1.0f;
        j.c[k] = 2.0f;
    }
    double best = 1e30;
    for (int rep = 0; rep < 10; rep++) {
        const double t0 = now();
        llm_pool_run(pool, triad_part, &j, j.parts);
        const double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    llm_aligned_free(j.a);
    llm_aligned_free(j.b);
    llm_aligned_free(j.c);
    return 3.0 * (double)n * 4.0 / best * 1e-9;
}

double llm_bench_read_gbs(uint32_t threads)
{
    llm_pool *pool = llm_pool_create(threads, NULL, NULL);
    double gbs = pool ? read_gbs(pool) : 0.0;
    llm_pool_destroy(pool);
    return gbs;
}

double llm_bench_stream_gbs(uint32_t threads)
{
    llm_pool *pool = llm_pool_create(threads, NULL, NULL);
    double gbs = pool ? stream_gbs(pool) : 0.0;
    llm_pool_destroy(pool);
    return gbs;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static float fma_loop(long iters)
{
    __m256 a[10];
#pragma GCC unroll 10
    for (int i = 0; i < 10; i++)
        a[i] = _mm256_set1_ps((float)i);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 10
        for (int i = 0; i < 10; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < 10; i++)
        s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2"))) static int int8_loop(long iters)
{
    /* four independent chains with distinct operands (few enough to stay in registers); the
     * empty asm makes every operand look new each iteration, so no product is hoisted out of
     * the loop or shared between chains */
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    __m256i u0 = _mm256_set1_epi8(1), u1 = _mm256_set1_epi8(2), u2 = _mm256_set1_epi8(3),
            u3 = _mm256_set1_epi8(4);
    const __m256i s = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    for (long it = 0; it < iters; it++) {
        __asm__ volatile("" : "+x"(u0), "+x"(u1), "+x"(u2), "+x"(u3));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(u0, s), ones));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_maddubs_epi16(u1, s), ones));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(_mm256_maddubs_epi16(u2, s), ones));
        acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(_mm256_maddubs_epi16(u3, s), ones));
    }
    const __m256i t = _mm256_add_epi32(_mm256_add_epi32(acc0, acc1), _mm256_add_epi32(acc2, acc3));
    return _mm256_extract_epi32(t, 0);
}
#endif

typedef struct peak_job {
    int kind;
    long iters;
    volatile float sink;
} peak_job;

static void peak_part(void *ctx, uint32_t i)
{
    peak_job *j = ctx;
    (void)i;
#if defined(__x86_64__)
    if (j->kind == 0)
        j->sink = fma_loop(j->iters);
    else
        j->sink = (float)int8_loop(j->iters);
#else
    (void)j;
#endif
}

/* GFLOP/s (kind 0) or int8 GOP/s (kind 1) of `threads` cores; 0 where not measured */
static double peak(llm_pool *pool, int kind)
{
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0.0;
    peak_job j = {kind, 2000000, 0.0f};
    const uint32_t parts = llm_pool_threads(pool);
    double best = 1e30;
    for (int rep = 0; rep < 30; rep++) {
        const double t0 = now();
        llm_pool_run(pool, peak_part, &j, parts);
        const double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    /* fma: 10 chains × 8 lanes × 2 flops; int8: 4 chains × 32 MACs × 2 ops */
    const double per_iter = kind == 0 ? 160.0 : 256.0;
    return per_iter * (double)j.iters * parts / best * 1e-9;
#else
    (void)pool;
    (void)kind;
    return 0.0;
#endif
}

// ------------------------------------------------------------------------------------------------
// products

static void make_weights(uint32_t type, uint8_t *w, int64_t N, int64_t K)
{
    const llm_dtype_traits *tr = llm_dtype_get(type);
    const size_t rb = (size_t)llm_dtype_row_bytes(type, (uint64_t)K);
    float *f = malloc((size_t)K * sizeof(float));
    for (int64_t n = 0; n < N; n++) {
        uint8_t *row = w + (size_t)n * rb;
        for (int64_t k = 0; k < K; k++)
            f[k] = frand() * 0.05f;
        if (llm_quantize_row(type, f, row, K))
            continue;
        for (size_t i = 0; i < rb; i++)
            row[i] = (uint8_t)(frand() * 127.0f + 128.0f);
        for (int64_t b = 0; b < K / tr->block_size; b++) {
            uint8_t *blk = row + (size_t)b * tr->type_size;
            const uint16_t d = llm_f32_to_f16(0.001f);
            const size_t at = type == LLM_DTYPE_Q6_K ? 208 : 0;
            memcpy(blk + at, &d, 2);
            if (type != LLM_DTYPE_Q6_K)
                memcpy(blk + 2, &d, 2);
        }
    }
    free(f);
}

typedef struct shape {
    const char *name;
    int64_t N, K;
} shape;

static const shape shapes[] = {
    {"gpt2 768x768", 768, 768},
    {"gpt2 3072x768", 3072, 768},
    {"gpt2 lm_head 8192x768", 8192, 768},
    {"llama 2048x2048", 2048, 2048},
    {"llama 5632x2048", 5632, 2048},
};

static const uint32_t types[] = {LLM_DTYPE_F32,  LLM_DTYPE_F16,  LLM_DTYPE_BF16, LLM_DTYPE_Q8_0,
                                 LLM_DTYPE_Q4_0, LLM_DTYPE_Q4_1, LLM_DTYPE_Q5_0, LLM_DTYPE_Q5_1,
                                 LLM_DTYPE_Q4_K, LLM_DTYPE_Q5_K, LLM_DTYPE_Q6_K};

/* Seconds per call: the fastest single call within `budget` seconds of calls. The minimum, not
 * the mean, so that other processes on a shared machine disturb the figure as little as
 * possible (each call is long enough, >= 0.1 ms, for the clock). */
static double time_matmul(const llm_compute *c, float *Y, const float *X, const llm_weight *w,
                          int64_t T, double budget)
{
    llm_op_matmul(c, Y, X, w, NULL, T); /* warm up */
    double best = 1e30;
    const double start = now();
    int calls = 0;
    while (calls < 5 || now() - start < budget) {
        const double t0 = now();
        llm_op_matmul(c, Y, X, w, NULL, T);
        const double dt = now() - t0;
        if (dt < best)
            best = dt;
        calls++;
    }
    return best;
}

/* Matrix × vector from DRAM: GB/s of weights streamed when no weight byte is in cache, as in
 * decoding a model larger than the last-level cache. Copies of the matrix fill at least
 * 256 MiB and one pass visits each once; the figure is the fastest of three passes. */
static double dram_mv_gbs(const llm_compute *c, float *Y, const float *X, uint32_t type,
                          int64_t N, int64_t K)
{
    const size_t bytes = (size_t)llm_dtype_row_bytes(type, (uint64_t)K) * (size_t)N;
    const size_t copies = ((size_t)256 << 20) / bytes + 1;
    uint8_t *W = llm_aligned_alloc(bytes * copies);
    if (W == NULL)
        return 0.0;
    make_weights(type, W, N, K);
    for (size_t i = 1; i < copies; i++)
        memcpy(W + i * bytes, W, bytes);
    double best = 1e30;
    for (int pass = 0; pass < 3; pass++) {
        const double t0 = now();
        for (size_t i = 0; i < copies; i++) {
            llm_weight w = {W + i * bytes, type, N, K};
            llm_op_matmul(c, Y, X, &w, NULL, 1);
        }
        const double dt = (now() - t0) / (double)copies;
        if (dt < best)
            best = dt;
    }
    llm_aligned_free(W);
    return (double)bytes / best * 1e-9;
}

enum { OPT_QUICK = LLM_CLI_LONG_ONLY, OPT_DRAM };

const llm_cli_opt llm_bench_kernels_opts[] = {
    LLM_CLI_OPT_THREADS,
    {OPT_QUICK, "quick", LLM_CLI_FLAG, NULL},
    {OPT_DRAM, "dram", LLM_CLI_FLAG, NULL},
    LLM_CLI_OPT_END,
};

int llm_bench_kernels(int argc, char **argv)
{
    uint32_t threads = 2;
    int quick = 0, dram_only = 0;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "bench kernels", llm_bench_kernels_opts, argc, argv);
    int opt;
    int64_t t = threads;
    while ((opt = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (opt) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP:
            printf("usage: llm bench kernels [-t N] [--quick] [--dram]\n");
            return 0;
        case 't':
            if (llm_cli_value_threads(&p, &t))
                return 2;
            threads = (uint32_t)t;
            break;
        case OPT_QUICK: quick = 1; break;
        case OPT_DRAM: dram_only = 1; break;
        default:
            fprintf(stderr, "usage: llm bench kernels [-t N] [--quick] [--dram]\n");
            return 2;
        }
    }
    const uint32_t tcounts[2] = {1, threads};
    const int n_tc = threads > 1 ? 2 : 1;
    const double budget = quick ? 0.05 : 0.3;
    const int64_t Tm = 64; /* tokens of the matrix×matrix runs */

    printf("kernels: %s   cpu: %s\n", llm_kernel_isa(), llm_cpu_features());
    double bw[2] = {0, 0}, rd[2] = {0, 0}, fpeak[2] = {0, 0}, ipeak[2] = {0, 0};
    llm_pool *pools[2] = {NULL, NULL};
    for (int ti = 0; ti < n_tc; ti++) {
        pools[ti] = llm_pool_create(tcounts[ti], NULL, NULL);
        bw[ti] = stream_gbs(pools[ti]);
        rd[ti] = read_gbs(pools[ti]);
        fpeak[ti] = peak(pools[ti], 0);
        ipeak[ti] = peak(pools[ti], 1);
        printf("limits @%u thread%s: stream triad %.1f GB/s, stream read %.1f GB/s, "
               "FMA peak %.1f GFLOP/s, int8-dot peak %.1f GOP/s\n", tcounts[ti],
               tcounts[ti] > 1 ? "s" : "", bw[ti], rd[ti], fpeak[ti], ipeak[ti]);
    }
    if (!dram_only) {
        printf("\nmv: matrix x vector, weights streamed, ratio to the triad and to the read "
               "stream;\nmm: matrix x matrix of %d tokens, ratio to the FMA peak (float "
               "weights) or the\nint8-dot peak (quantized weights)\n", 64);
        printf("\n%-24s %-5s %3s %9s %7s %6s %11s %6s\n", "shape (N x K)", "type", "thr",
               "mv GB/s", "/triad", "/read", "mm GFLOP/s", "/peak");
    }

    int64_t maxN = 0, maxK = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        maxN = shapes[s].N > maxN ? shapes[s].N : maxN;
        maxK = shapes[s].K > maxK ? shapes[s].K : maxK;
    }
    float *X = llm_aligned_alloc((size_t)(Tm * maxK) * sizeof(float));
    float *Y = llm_aligned_alloc((size_t)(Tm * maxN) * sizeof(float));
    const size_t scratch_bytes = llm_op_matmul_scratch(LLM_DTYPE_Q8_K, Tm, maxK) + 4096 +
                                 (size_t)(Tm * maxK) * 2;
    void *scratch = llm_aligned_alloc(scratch_bytes);
    if (!X || !Y || !scratch) {
        fprintf(stderr, "llm bench kernels: out of memory\n");
        return 1;
    }
    for (int64_t i = 0; i < Tm * maxK; i++)
        X[i] = frand();

    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && !dram_only; s++) {
        for (size_t ty = 0; ty < sizeof types / sizeof types[0]; ty++) {
            const uint32_t type = types[ty];
            const int64_t N = shapes[s].N, K = shapes[s].K;
            const size_t bytes = (size_t)llm_dtype_row_bytes(type, (uint64_t)K) * (size_t)N;
            uint8_t *W = llm_aligned_alloc(bytes);
            if (W == NULL)
                continue;
            make_weights(type, W, N, K);
            llm_weight w = {W, type, N, K};
            const int quant = llm_gemm_act_type(type) != LLM_DTYPE_F32;
            for (int ti = 0; ti < n_tc; ti++) {
                llm_compute c = {pools[ti], scratch, scratch_bytes};
                const double tv = time_matmul(&c, Y, X, &w, 1, budget);
                const double tm = time_matmul(&c, Y, X, &w, Tm, budget);
                const double gbs = (double)bytes / tv * 1e-9;
                const double gflops = 2.0 * (double)Tm * (double)N * (double)K / tm * 1e-9;
                const double pk = quant ? ipeak[ti] : fpeak[ti];
                printf("%-24s %-5s %3u %9.1f %6.0f%% %5.0f%% %11.1f %5.0f%%\n", shapes[s].name,
                       llm_dtype_get(type)->name, tcounts[ti], gbs, 100.0 * gbs / bw[ti],
                       100.0 * gbs / rd[ti], gflops, pk > 0 ? 100.0 * gflops / pk : 0.0);
            }
            llm_aligned_free(W);
        }
    }

    /* the shapes above mostly fit the L3 cache; decoding real models streams from DRAM */
    printf("\nmv from DRAM: %s rows, each matrix read once per pass (256 MiB of copies)\n",
           "llama 5632x2048");
    printf("%-24s %-5s %3s %9s %7s %6s\n", "shape (N x K)", "type", "thr", "mv GB/s", "/triad",
           "/read");
    for (size_t ty = 0; ty < sizeof types / sizeof types[0]; ty++) {
        for (int ti = 0; ti < n_tc; ti++) {
            llm_compute c = {pools[ti], scratch, scratch_bytes};
            const double gbs = dram_mv_gbs(&c, Y, X, types[ty], 5632, 2048);
            printf("%-24s %-5s %3u %9.1f %6.0f%% %5.0f%%\n", "dram 5632x2048",
                   llm_dtype_get(types[ty])->name, tcounts[ti], gbs, 100.0 * gbs / bw[ti],
                   100.0 * gbs / rd[ti]);
        }
    }
    llm_aligned_free(X);
    llm_aligned_free(Y);
    llm_aligned_free(scratch);
    for (int ti = 0; ti < n_tc; ti++)
        llm_pool_destroy(pools[ti]);
    return 0;
}
