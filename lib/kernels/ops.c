/*
 * The operations model code calls (ops.h): matrix products through the kernel table and the
 * thread pool, attention over a KV cache, and the row-wise and element-wise functions.
 *
 * Determinism: work is split by outputs only (chunks of weight rows for a product, rows of
 * queries for attention) and the chunk sizes never depend on the thread count, so a result has
 * the same bytes with 1 or 64 threads. No op allocates: quantized activations and attention score
 * rows live in the caller's scratch, sized by llm_op_matmul_scratch / llm_op_attention_scratch.
 *
 * Not here: the SIMD bodies (kernels/<isa>/), graph scheduling, and anything model-specific.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops.h"

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

// ------------------------------------------------------------------------------------------------
// matrix products

size_t llm_op_matmul_scratch(uint32_t type, int64_t T, int64_t K)
{
    const uint32_t act = llm_gemm_act_type(type);
    if (act == LLM_DTYPE_F32 || T <= 0 || K <= 0)
        return 0;
    return ALIGN64((size_t)T * (size_t)llm_dtype_row_bytes(act, (uint64_t)K));
}

typedef struct matmul_job {
    const llm_kernels *kern;
    llm_quant_fn quant;
    float *Y;                /* (T, N) */
    const float *X;          /* (T, K) f32 */
    void *Xq;                /* (T, ldx bytes) activations in the gemm's format */
    size_t ldx;
    const llm_weight *W;     /* (N, K) */
    size_t ldw;
    const float *bias;       /* (N) or NULL */
    llm_act act;
    const float *aux;        /* (T, N) second operand of the gated activations */
    int64_t T, N, K;
    int64_t chunk;           /* weight rows per task */
} matmul_job;

static void apply_act(llm_act act, float *y, const float *aux, int64_t n);

static void matmul_quant_task(void *ctx, uint32_t t)
{
    matmul_job *j = ctx;
    j->quant((uint8_t *)j->Xq + (size_t)t * j->ldx, j->X + (int64_t)t * j->K, j->K);
}

static void matmul_task(void *ctx, uint32_t i)
{
    matmul_job *j = ctx;
    const int64_t n0 = (int64_t)i * j->chunk;
    const int64_t nn = (j->N - n0 < j->chunk) ? j->N - n0 : j->chunk;
    const uint8_t *w = (const uint8_t *)j->W->data + (size_t)n0 * j->ldw;
    j->kern->gemm[j->W->type](j->Y + n0, j->N, j->Xq, j->ldx, w, j->ldw, j->T, nn, j->K);
    if (j->bias != NULL) {
        for (int64_t t = 0; t < j->T; t++) {
            float *y = j->Y + t * j->N + n0; /* (nn) */
            for (int64_t n = 0; n < nn; n++)
                y[n] += j->bias[n0 + n];
        }
    }
    if (j->act != LLM_ACT_NONE)
        for (int64_t t = 0; t < j->T; t++)
            apply_act(j->act, j->Y + t * j->N + n0,
                      j->aux != NULL ? j->aux + t * j->N + n0 : NULL, nn);
}

void llm_op_matmul(const llm_compute *c, float *Y, const float *X, const llm_weight *W,
                   const float *bias, int64_t T)
{
    llm_op_matmul_act(c, Y, X, W, bias, T, LLM_ACT_NONE, NULL);
}

void llm_op_matmul_act(const llm_compute *c, float *Y, const float *X, const llm_weight *W,
                       const float *bias, int64_t T, llm_act act, const float *aux)
{
    if (T <= 0 || W->rows <= 0)
        return;
    const llm_kernels *kern = llm_kernels_get();
    llm_pool *pool = c != NULL ? c->pool : NULL;
    matmul_job j = {
        .kern = kern, .Y = Y, .X = X, .W = W, .bias = bias, .act = act, .aux = aux, .T = T,
        .N = W->rows, .K = W->cols,
        .ldw = (size_t)llm_dtype_row_bytes(W->type, (uint64_t)W->cols),
    };
    const uint32_t act_type = llm_gemm_act_type(W->type);
    if (act_type == LLM_DTYPE_F32) {
        j.Xq = (void *)(uintptr_t)X;
        j.ldx = (size_t)j.K * sizeof(float);
    } else {
        j.quant = kern->quant[act_type];
        j.Xq = c->scratch;
        j.ldx = (size_t)llm_dtype_row_bytes(act_type, (uint64_t)j.K);
        llm_pool_run(T > 1 ? pool : NULL, matmul_quant_task, &j, (uint32_t)T);
    }
    /* Chunks of weight rows. A matrix-vector product is memory-bound: two long contiguous runs
     * per thread keep each core's hardware prefetcher on one stream (small chunks handed out
     * alternately made every core jump every few kilobytes and halved the bandwidth), while
     * the second run still lets a core that finishes early help a late one. Prefill uses
     * chunks small enough that a chunk's rows stay in cache across all T tokens. */
    if (T == 1) {
        const int64_t tasks = 2 * (int64_t)llm_pool_threads(pool);
        j.chunk = (j.N + tasks - 1) / tasks;
        j.chunk = (j.chunk + 7) & ~(int64_t)7; /* whole eight-row groups of the block types */
        if (j.chunk < 16)
            j.chunk = 16;
    } else {
        j.chunk = 48;
    }
    const int64_t n_tasks = (j.N + j.chunk - 1) / j.chunk;
    llm_pool_run(pool, matmul_task, &j, (uint32_t)n_tasks);
}

void llm_op_get_rows(float *dst, const llm_weight *W, const int32_t *ids, int64_t n)
{
    const int64_t K = W->cols;
    const size_t row_bytes = (size_t)llm_dtype_row_bytes(W->type, (uint64_t)K);
    for (int64_t i = 0; i < n; i++) {
        float *out = dst + i * K; /* (K) */
        if (ids[i] < 0 || ids[i] >= W->rows) {
            memset(out, 0, (size_t)K * sizeof(float)); /* callers validate ids first */
            continue;
        }
        llm_dequantize_row(W->type, (const uint8_t *)W->data + (size_t)ids[i] * row_bytes, out, K);
    }
}

// ------------------------------------------------------------------------------------------------
// normalization

void llm_op_rmsnorm(float *y, const float *x, const float *w, int64_t T, int64_t n, float eps)
{
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * n; /* (n) */
        float *yt = y + t * n;       /* (n) */
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)xt[i] * xt[i];
        const float r = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
        for (int64_t i = 0; i < n; i++)
            yt[i] = xt[i] * r * (w != NULL ? w[i] : 1.0f);
    }
}

void llm_op_layernorm(float *y, const float *x, const float *w, const float *b, int64_t T,
                      int64_t n, float eps)
{
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * n; /* (n) */
        float *yt = y + t * n;       /* (n) */
        /* two passes (mean, then variance about it): no cancellation for large means */
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++)
            sum += xt[i];
        const double mean = sum / (double)n;
        double var = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const double d = xt[i] - mean;
            var += d * d;
        }
        const float r = (float)(1.0 / sqrt(var / (double)n + (double)eps));
        const float m = (float)mean;
        for (int64_t i = 0; i < n; i++) {
            float v = (xt[i] - m) * r;
            if (w != NULL)
                v *= w[i];
            if (b != NULL)
                v += b[i];
            yt[i] = v;
        }
    }
}

// ------------------------------------------------------------------------------------------------
// element-wise

void llm_op_add(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

void llm_op_scale(float *y, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] *= s;
}

/* The activations below that need e^x take it from the kernel table, a block at a time (the
 * vector exp is several times faster than expf). EXP_BLOCK floats live on the stack. */
enum { EXP_BLOCK = 256 };

/* out = x·σ(z) · up, or x·σ(z) alone when up is NULL; out may be x. z = x for SiLU; for GELU
 * in its tanh approximation (Hendrycks & Gimpel 2016, as GPT-2 and gelu_pytorch_tanh use),
 * z = 2u, since 0.5·x·(1 + tanh(u)) = x·σ(2u): the same function with one exponential instead
 * of tanhf, and without the cancellation in 1 + tanh(u) for negative x. */
static void x_sigmoid_mul(float *out, const float *x, const float *up, int64_t n, bool gelu)
{
    const llm_exp_fn vexp = llm_kernels_get()->exp_f32;
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    float e[EXP_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += EXP_BLOCK) {
        const int64_t m = n - i0 < EXP_BLOCK ? n - i0 : EXP_BLOCK;
        for (int64_t i = 0; i < m; i++) {
            const float v = x[i0 + i];
            e[i] = gelu ? -2.0f * (k * (v + 0.044715f * v * v * v)) : -v;
        }
        vexp(e, m);
        for (int64_t i = 0; i < m; i++) {
            const float g = x[i0 + i] / (1.0f + e[i]);
            out[i0 + i] = up != NULL ? g * up[i0 + i] : g;
        }
    }
}

void llm_op_gelu_tanh(float *x, int64_t n)
{
    x_sigmoid_mul(x, x, NULL, n, true);
}

void llm_op_gelu_erf(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void llm_op_silu(float *x, int64_t n)
{
    x_sigmoid_mul(x, x, NULL, n, false);
}

void llm_op_relu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void llm_op_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
    x_sigmoid_mul(out, gate, up, n, false);
}

void llm_op_geglu(float *out, const float *gate, const float *up, int64_t n)
{
    x_sigmoid_mul(out, gate, up, n, true);
}

static void apply_act(llm_act act, float *y, const float *aux, int64_t n)
{
    switch (act) {
    case LLM_ACT_GELU_TANH: x_sigmoid_mul(y, y, NULL, n, true); break;
    case LLM_ACT_GELU_ERF: llm_op_gelu_erf(y, n); break;
    case LLM_ACT_RELU: llm_op_relu(y, n); break;
    case LLM_ACT_SILU_MUL: x_sigmoid_mul(y, y, aux, n, false); break;
    case LLM_ACT_GELU_TANH_MUL: x_sigmoid_mul(y, y, aux, n, true); break;
    case LLM_ACT_NONE: break;
    }
}

void llm_op_act(llm_act act, float *y, const float *aux, int64_t n)
{
    apply_act(act, y, aux, n);
}

void llm_op_softmax(float *x, int64_t n)
{
    llm_op_softmax_ext(x, n, 1.0f, NULL);
}

void llm_op_softmax_ext(float *x, int64_t n, float scale, const float *mask)
{
    if (n <= 0)
        return;
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] * scale + (mask != NULL ? mask[i] : 0.0f);
        x[i] = v;
        if (v > max)
            max = v;
    }
    if (max == -INFINITY) { /* everything masked: no distribution; return zeros, not NaN */
        memset(x, 0, (size_t)n * sizeof(float));
        return;
    }
    /* subtracting the max keeps every exp in (0, 1]: no overflow, and the sum is >= 1 */
    for (int64_t i = 0; i < n; i++)
        x[i] -= max;
    llm_kernels_get()->exp_f32(x, n);
    /* four running sums (element i goes to sum i % 4), added pairwise at the end: a fixed
     * order, and a quarter of the dependent additions of one chain */
    double s4[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; l++)
            s4[l] += x[i + l];
    for (int l = 0; i < n; i++, l++)
        s4[l] += x[i];
    const double sum = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    const float inv = (float)(1.0 / sum);
    for (i = 0; i < n; i++)
        x[i] *= inv;
}

// ------------------------------------------------------------------------------------------------
// rotary position embedding

void llm_op_rope(float *x, int64_t T, int n_head, int head_dim, int n_rot, const int32_t *pos,
                 float freq_base, float freq_scale, int neox)
{
    const int half = n_rot / 2;
    enum { MAX_PAIRS = 512 };
    float cs[MAX_PAIRS], sn[MAX_PAIRS]; /* (half) cos and sin of theta_i for this token */
    for (int64_t t = 0; t < T; t++) {
        for (int i = 0; i < half && i < MAX_PAIRS; i++) {
            /* theta_i = pos · freq_scale · base^(-2i/n_rot), evaluated in double so large
             * positions keep their phase */
            const double inv_freq = pow((double)freq_base, -2.0 * i / (double)n_rot);
            const double theta = (double)pos[t] * (double)freq_scale * inv_freq;
            cs[i] = (float)cos(theta);
            sn[i] = (float)sin(theta);
        }
        for (int h = 0; h < n_head; h++) {
            float *v = x + (t * n_head + h) * (int64_t)head_dim; /* (head_dim) */
            for (int i = 0; i < half; i++) {
                float c, s;
                if (i < MAX_PAIRS) {
                    c = cs[i];
                    s = sn[i];
                } else {
                    const double th = (double)pos[t] * (double)freq_scale *
                                      pow((double)freq_base, -2.0 * i / (double)n_rot);
                    c = (float)cos(th);
                    s = (float)sin(th);
                }
                const int i0 = neox ? i : 2 * i;
                const int i1 = neox ? i + half : 2 * i + 1;
                const float x0 = v[i0], x1 = v[i1];
                v[i0] = x0 * c - x1 * s;
                v[i1] = x0 * s + x1 * c;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// attention

static size_t attn_row_bytes(int64_t Tk)
{
    return ALIGN64((size_t)(Tk > 0 ? Tk : 1) * sizeof(float));
}

/* Per thread: one score row for each head of a grouped-query group. Groups are at most n_head
 * heads and in practice 1 to 8; a larger group runs one head at a time in the same scratch. */
#define ATTN_MAX_GROUP 8

size_t llm_op_attention_scratch(int64_t Tk, int n_head, uint32_t n_threads)
{
    if (n_threads == 0)
        n_threads = 1;
    const int rows = n_head < 1 ? 1 : (n_head > ATTN_MAX_GROUP ? ATTN_MAX_GROUP : n_head);
    const size_t per_thread = (size_t)n_threads * (size_t)rows;
    /* a single query (decoding) keeps a score row for every head at once */
    const size_t all_heads = n_head < 1 ? 1 : (size_t)n_head;
    return (per_thread > all_heads ? per_thread : all_heads) * attn_row_bytes(Tk);
}

typedef struct attn_job {
    const llm_attn_args *a;
    const llm_kernels *kern;
    uint8_t *scratch;
    size_t row_bytes;
    size_t item_bytes;       /* scratch of one item: group · row_bytes, or row_bytes */
    int grouped;             /* 1: one item row is a (kv head, query) group; 0: a (head, query) */
    int64_t rows;            /* n_kv_head · Tq or n_head · Tq */
    uint32_t items;
} attn_job;

/* Elements from one kv head's K (or V) to the next */
static int64_t head_stride(const llm_attn_args *a)
{
    return a->kv_head_stride != 0 ? a->kv_head_stride : a->head_dim;
}

/* Keys query i attends to: all Tk, or up to i + causal_offset */
static int64_t visible_keys(const llm_attn_args *a, int64_t i)
{
    if (a->causal_offset >= 0 && i + a->causal_offset + 1 < a->Tk)
        return i + a->causal_offset + 1;
    return a->Tk;
}

/* out (n) += Σ_r p[r] · V row r over `rows` rows ldv bytes apart, skipping zero weights: the
 * tier's row kernel where it has one, else its axpy once per row (the same bytes). */
static void weighted_rows(const attn_job *j, float *out, const float *p, const uint8_t *v,
                          size_t ldv, int64_t rows, int64_t n)
{
    const int f16 = j->a->kv_type == LLM_KV_F16;
    const llm_axpy_rows_fn rows_fn = f16 ? j->kern->axpy_rows_f16 : j->kern->axpy_rows_f32;
    if (rows_fn != NULL) {
        rows_fn(out, p, v, ldv, rows, n);
        return;
    }
    const llm_axpy_fn axpy = f16 ? j->kern->axpy_f16 : j->kern->axpy_f32;
    for (int64_t r = 0; r < rows; r++)
        if (p[r] != 0.0f)
            axpy(out, p[r], v + (size_t)r * ldv, n);
}

/* Heads h0 .. h0+nh-1, which share one kv head, for query i: their scores come from one
 * product of the nh query vectors with the visible cache rows (each K row loaded once for all nh
 * heads, through the register-tiled matrix kernels), then a softmax per head and the weighted
 * sum of V rows. A whole grouped-query group or a single head: the same calls either way, so
 * the bytes do not depend on which the scratch allowed. */
static void attend_heads(const attn_job *j, float *S /* (nh, ldS) */, int h0, int nh, int64_t i)
{
    const llm_attn_args *a = j->a;
    const int g = h0 / (a->n_head / a->n_kv_head);
    const int64_t ldS = (int64_t)(j->row_bytes / sizeof(float));
    const size_t esz = a->kv_type == LLM_KV_F16 ? 2 : 4;
    const float *q = a->q + i * a->q_stride + (int64_t)h0 * a->head_dim;  /* (nh, head_dim) */
    float *out = a->out + i * a->out_stride + (int64_t)h0 * a->head_dim;  /* (nh, head_dim) */

    const int64_t nk = visible_keys(a, i);
    const uint8_t *kbase = (const uint8_t *)a->k + (size_t)(g * head_stride(a)) * esz;
    const uint8_t *vbase = (const uint8_t *)a->v + (size_t)(g * head_stride(a)) * esz;
    const size_t kv_row = (size_t)a->kv_stride * esz;

    /* S (nh, nk) = q (nh, head_dim) · K (nk, head_dim)ᵀ */
    j->kern->gemm[a->kv_type == LLM_KV_F16 ? LLM_DTYPE_F16 : LLM_DTYPE_F32](
        S, ldS, q, (size_t)a->head_dim * sizeof(float), kbase, kv_row, nh, nk, a->head_dim);
    for (int h = 0; h < nh; h++) {
        const float *bias =
            a->bias != NULL ? a->bias + ((int64_t)(h0 + h) * a->Tq + i) * a->Tk : NULL;
        llm_op_softmax_ext(S + h * ldS, nk, a->scale, bias);
    }
    memset(out, 0, (size_t)nh * (size_t)a->head_dim * sizeof(float));
    for (int h = 0; h < nh; h++)
        weighted_rows(j, out + (int64_t)h * a->head_dim, S + h * ldS, vbase, kv_row, nk,
                      a->head_dim);
}

/* Keys per block of the single-query path. Each head's slice of the next block is requested
 * while the current one is used; 8 rows (against 4, 16, 32, 64) kept the most requests in
 * flight without waiting on them. */
#define ATTN_DECODE_BLOCK 8

/* Asks for `rows` rows of `bytes` bytes, `stride` bytes apart, ahead of their use. */
static void prefetch_rows(const uint8_t *p, int64_t rows, size_t stride, size_t bytes)
{
    for (int64_t r = 0; r < rows; r++)
        for (size_t o = 0; o < bytes; o += 64)
            __builtin_prefetch(p + (size_t)r * stride + o, 0, 3);
}

/* A single query (decoding) against a long cache is memory-bound; each item takes a
 * contiguous range of kv heads. Where each head's rows are contiguous (a KV cache), the item
 * reads one head after the other, each a single forward stream. Where the heads sit side by
 * side in a row (T5's cross-attention to its encoder), it walks the rows in order and reads its
 * range of every row together, instead of one head's short slice of every row at a time,
 * which the prefetchers follow poorly. Every score, softmax and weighted sum is computed by
 * the same calls, in the same order, as in attend_heads, so the bytes match the other paths
 * and any number of items. */
static void attn_decode_task(void *ctx, uint32_t item)
{
    const attn_job *j = ctx;
    const llm_attn_args *a = j->a;
    const int G = a->n_head / a->n_kv_head;
    const int g0 = (int)((int64_t)a->n_kv_head * item / j->items);
    const int g1 = (int)((int64_t)a->n_kv_head * (item + 1) / j->items);
    const int64_t ldS = (int64_t)(j->row_bytes / sizeof(float));
    if (head_stride(a) != a->head_dim) {
        for (int g = g0; g < g1; g++)
            attend_heads(j, (float *)(void *)(j->scratch + (size_t)g * G * j->row_bytes), g * G,
                         G, 0);
        return;
    }
    const size_t esz = a->kv_type == LLM_KV_F16 ? 2 : 4;
    const size_t kv_row = (size_t)a->kv_stride * esz;
    const size_t head_bytes = (size_t)a->head_dim * esz;
    const llm_gemm_fn gemm =
        j->kern->gemm[a->kv_type == LLM_KV_F16 ? LLM_DTYPE_F16 : LLM_DTYPE_F32];
    float *S = (float *)(void *)(j->scratch + (size_t)g0 * G * j->row_bytes); /* (heads, ldS) */
    const int64_t nk = visible_keys(a, 0);

    /* S (h, t) = q_h · K (t, g(h)); each head's slice of the next block is requested while
     * this block's slice is multiplied, which spreads the requests evenly over the work */
    for (int64_t t0 = 0; t0 < nk; t0 += ATTN_DECODE_BLOCK) {
        const int64_t nt = nk - t0 < ATTN_DECODE_BLOCK ? nk - t0 : ATTN_DECODE_BLOCK;
        const int64_t next = nk - t0 - nt < ATTN_DECODE_BLOCK ? nk - t0 - nt : ATTN_DECODE_BLOCK;
        for (int g = g0; g < g1; g++) {
            const uint8_t *k = (const uint8_t *)a->k + (size_t)t0 * kv_row + (size_t)g * head_bytes;
            prefetch_rows(k + (size_t)nt * kv_row, next, kv_row, head_bytes);
            gemm(S + (int64_t)(g - g0) * G * ldS + t0, ldS, a->q + (int64_t)g * G * a->head_dim,
                 (size_t)a->head_dim * sizeof(float), k, kv_row, G, nt, a->head_dim);
        }
    }
    for (int h = g0 * G; h < g1 * G; h++) {
        const float *bias = a->bias != NULL ? a->bias + (int64_t)h * a->Tk : NULL;
        llm_op_softmax_ext(S + (int64_t)(h - g0 * G) * ldS, nk, a->scale, bias);
    }
    float *out = a->out + (int64_t)g0 * G * a->head_dim; /* (heads, head_dim) */
    memset(out, 0, (size_t)(g1 - g0) * G * (size_t)a->head_dim * sizeof(float));
    /* out (h) += Σ_t S (h, t) · V (t, g(h)), block by block in t so that each output still sums
     * its rows in order */
    for (int64_t t0 = 0; t0 < nk; t0 += ATTN_DECODE_BLOCK) {
        const int64_t nt = nk - t0 < ATTN_DECODE_BLOCK ? nk - t0 : ATTN_DECODE_BLOCK;
        const int64_t next = nk - t0 - nt < ATTN_DECODE_BLOCK ? nk - t0 - nt : ATTN_DECODE_BLOCK;
        const uint8_t *v = (const uint8_t *)a->v + (size_t)t0 * kv_row + (size_t)g0 * head_bytes;
        for (int h = 0; h < (g1 - g0) * G; h++) {
            if (h % G == 0)
                prefetch_rows(v + (size_t)nt * kv_row + (size_t)(h / G) * head_bytes, next, kv_row,
                              head_bytes);
            weighted_rows(j, out + (int64_t)h * a->head_dim, S + h * ldS + t0,
                          v + (size_t)(h / G) * head_bytes, kv_row, nt, a->head_dim);
        }
    }
}

static void attn_task(void *ctx, uint32_t item)
{
    const attn_job *j = ctx;
    float *s = (float *)(void *)(j->scratch + (size_t)item * j->item_bytes);
    const int64_t r0 = j->rows * item / j->items, r1 = j->rows * (item + 1) / j->items;
    const int nh = j->grouped ? j->a->n_head / j->a->n_kv_head : 1; /* heads per row r */
    for (int64_t r = r0; r < r1; r++)
        attend_heads(j, s, (int)(r / j->a->Tq) * nh, nh, r % j->a->Tq);
}

void llm_op_attention(const llm_compute *c, const llm_attn_args *a)
{
    if (a->Tq <= 0 || a->n_head <= 0 || a->n_kv_head <= 0)
        return;
    llm_pool *pool = c != NULL ? c->pool : NULL;
    const int G = a->n_head / a->n_kv_head;
    attn_job j = {
        .a = a, .kern = llm_kernels_get(), .scratch = c->scratch, .row_bytes = attn_row_bytes(a->Tk),
    };
    /* A single query with a score row for every head: attn_decode_task, one range of kv heads
     * per thread. Otherwise one item per thread, each owning its slice of the scratch:
     * grouped-query heads go together (G score rows per item) when the scratch holds that and
     * the heads split evenly, else one head at a time (one row). All three compute each output
     * with the same calls in the same order, so neither the path nor the thread count changes
     * the bytes. */
    const uint32_t threads = llm_pool_threads(pool);
    if (a->Tq == 1 && a->n_head % a->n_kv_head == 0 &&
        c->scratch_bytes >= (size_t)a->n_head * j.row_bytes) {
        j.items = threads < (uint32_t)a->n_kv_head ? threads : (uint32_t)a->n_kv_head;
        llm_pool_run(pool, attn_decode_task, &j, j.items);
        return;
    }
    j.grouped = a->n_head % a->n_kv_head == 0 && c->scratch_bytes >= (size_t)G * j.row_bytes;
    j.item_bytes = j.grouped ? (size_t)G * j.row_bytes : j.row_bytes;
    j.rows = (int64_t)(j.grouped ? a->n_kv_head : a->n_head) * a->Tq;
    uint32_t items = threads;
    if (c->scratch_bytes / j.item_bytes < items)
        items = (uint32_t)(c->scratch_bytes / j.item_bytes);
    if ((int64_t)items > j.rows)
        items = (uint32_t)j.rows;
    if (items == 0)
        return; /* no scratch: nothing safe to do (callers size it with the function above) */
    j.items = items;
    llm_pool_run(pool, attn_task, &j, items);
}

// ------------------------------------------------------------------------------------------------
// misc

int64_t llm_op_argmax(const float *x, int64_t n)
{
    int64_t best = n > 0 ? 0 : -1;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best] || (x[best] != x[best] && x[i] == x[i]))
            best = i;
    return best;
}
