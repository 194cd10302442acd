/*
 * Forward-with-activations and backward bodies of grad_ops.h. The heavy products go through the
 * kernel table (gemm for the forward, gemm_dx / gemm_dw for the backward) in fixed tiles of
 * output rows; the row-wise operations run on the calling thread.
 */
#include "train/grad_ops.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"

// ------------------------------------------------------------------------------------------------
// products

void llm_grad_matmul_fwd(llm_pool *pool, float *Y, const float *X, const float *W,
                         const float *bias, int64_t T, int64_t N, int64_t K)
{
    llm_weight w = {.data = W, .type = LLM_DTYPE_F32, .rows = N, .cols = K};
    llm_compute c = {.pool = pool, .scratch = NULL, .scratch_bytes = 0};
    llm_op_matmul(&c, Y, X, &w, bias, T);
}

enum { DX_ROWS = 16, DW_ROWS = 16 }; /* tile heights: fixed, never from the thread count */

typedef struct grad_mm_job {
    const llm_kernels *k;
    float *out;
    const float *dY, *B; /* B: W for dx, X for dw */
    int64_t T, N, K;
    int accumulate;
} grad_mm_job;

static void dx_task(void *ctx, uint32_t i)
{
    const grad_mm_job *j = ctx;
    const int64_t t0 = (int64_t)i * DX_ROWS;
    const int64_t nt = j->T - t0 < DX_ROWS ? j->T - t0 : DX_ROWS;
    j->k->gemm_dx_f32(j->out + t0 * j->K, j->K, j->dY + t0 * j->N, j->N, j->B, j->K, nt, j->N,
                      j->K, j->accumulate);
}

void llm_grad_matmul_dx(llm_pool *pool, float *dX, const float *dY, const float *W, int64_t T,
                        int64_t N, int64_t K, int accumulate)
{
    if (T <= 0 || K <= 0)
        return;
    grad_mm_job j = {llm_kernels_get(), dX, dY, W, T, N, K, accumulate};
    llm_pool_run(pool, dx_task, &j, (uint32_t)((T + DX_ROWS - 1) / DX_ROWS));
}

static void dw_task(void *ctx, uint32_t i)
{
    const grad_mm_job *j = ctx;
    const int64_t n0 = (int64_t)i * DW_ROWS;
    const int64_t nn = j->N - n0 < DW_ROWS ? j->N - n0 : DW_ROWS;
    j->k->gemm_dw_f32(j->out + n0 * j->K, j->K, j->dY + n0, j->N, j->B, j->K, j->T, nn, j->K);
}

void llm_grad_matmul_dw(llm_pool *pool, float *dW, const float *dY, const float *X, int64_t T,
                        int64_t N, int64_t K)
{
    if (T <= 0 || N <= 0)
        return;
    grad_mm_job j = {llm_kernels_get(), dW, dY, X, T, N, K, 0};
    llm_pool_run(pool, dw_task, &j, (uint32_t)((N + DW_ROWS - 1) / DW_ROWS));
}

void llm_grad_bias(float *db, const float *dY, int64_t T, int64_t N)
{
    for (int64_t t = 0; t < T; t++) {
        const float *dy = dY + t * N; /* (N) */
        for (int64_t n = 0; n < N; n++)
            db[n] += dy[n];
    }
}

// ------------------------------------------------------------------------------------------------
// norms

void llm_grad_layernorm_fwd(float *y, float *xhat, float *rstd, const float *x, const float *w,
                            const float *b, int64_t T, int64_t n, float eps)
{
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * n; /* (n) */
        float *yt = y + t * n, *ht = xhat + t * n;
        /* the arithmetic of llm_op_layernorm, so the forward has inference's bytes */
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
        rstd[t] = r;
        for (int64_t i = 0; i < n; i++) {
            float v = (xt[i] - m) * r;
            ht[i] = v;
            if (w != NULL)
                v *= w[i];
            if (b != NULL)
                v += b[i];
            yt[i] = v;
        }
    }
}

void llm_grad_layernorm_bwd(float *dx, const float *dy, const float *xhat, const float *rstd,
                            const float *w, float *dw, float *db, int64_t T, int64_t n)
{
    for (int64_t t = 0; t < T; t++) {
        const float *g = dy + t * n, *h = xhat + t * n; /* (n) */
        float *d = dx + t * n;
        double s1 = 0.0, s2 = 0.0; /* mean of dxhat and of dxhat·xhat */
        for (int64_t i = 0; i < n; i++) {
            const double gh = (double)g[i] * (w != NULL ? w[i] : 1.0f);
            s1 += gh;
            s2 += gh * h[i];
        }
        const float m1 = (float)(s1 / (double)n), m2 = (float)(s2 / (double)n);
        for (int64_t i = 0; i < n; i++) {
            const float gh = g[i] * (w != NULL ? w[i] : 1.0f);
            d[i] += rstd[t] * (gh - m1 - h[i] * m2);
        }
        if (dw != NULL)
            for (int64_t i = 0; i < n; i++)
                dw[i] += g[i] * h[i];
        if (db != NULL)
            for (int64_t i = 0; i < n; i++)
                db[i] += g[i];
    }
}

void llm_grad_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w, int64_t T,
                          int64_t n, float eps)
{
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * n; /* (n) */
        float *yt = y + t * n;
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)xt[i] * xt[i];
        const float r = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
        rstd[t] = r;
        for (int64_t i = 0; i < n; i++)
            yt[i] = xt[i] * r * (w != NULL ? w[i] : 1.0f);
    }
}

void llm_grad_rmsnorm_bwd(float *dx, const float *dy, const float *x, const float *rstd,
                          const float *w, float *dw, int64_t T, int64_t n)
{
    for (int64_t t = 0; t < T; t++) {
        const float *g = dy + t * n, *xt = x + t * n; /* (n) */
        float *d = dx + t * n;
        const float r = rstd[t];
        double s = 0.0; /* sum of (dy·w)·x */
        for (int64_t i = 0; i < n; i++)
            s += (double)g[i] * (w != NULL ? w[i] : 1.0f) * xt[i];
        const float c = (float)(s / (double)n * (double)r * r * r);
        for (int64_t i = 0; i < n; i++)
            d[i] += r * g[i] * (w != NULL ? w[i] : 1.0f) - xt[i] * c;
        if (dw != NULL)
            for (int64_t i = 0; i < n; i++)
                dw[i] += g[i] * xt[i] * r;
    }
}

// ------------------------------------------------------------------------------------------------
// activations

void llm_grad_gelu_bwd(float *dx, const float *dy, const float *x, int64_t n)
{
    /* gelu(x) = x·σ(z), z = 2k(x + 0.044715x³): the form the forward evaluates */
    const float k = 0.7978845608028654f;
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        const float z = 2.0f * k * (v + 0.044715f * v * v * v);
        const float s = 1.0f / (1.0f + expf(-z));
        const float dz = 2.0f * k * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * (s + v * s * (1.0f - s) * dz);
    }
}

void llm_grad_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u,
                         int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-g[i]));
        const float d = dh[i]; /* du or dg may be dh */
        const float gi = g[i], ui = u[i];
        du[i] = d * (gi * s);
        dg[i] = d * ui * s * (1.0f + gi * (1.0f - s));
    }
}

// ------------------------------------------------------------------------------------------------
// attention

static void attn_fwd_task(void *ctx, uint32_t item)
{
    const llm_grad_attn *a = ctx;
    const int64_t b = item / (uint32_t)a->n_head;
    const int h = (int)(item % (uint32_t)a->n_head);
    const int g = h / (a->n_head / a->n_kv);
    const int hd = a->head_dim;
    const int64_t S = a->S;
    for (int64_t i = 0; i < S; i++) {
        const float *q = a->q + (b * S + i) * a->q_stride + h * hd; /* (hd) */
        float *p = a->P + (((b * a->n_head + h) * S) + i) * S;      /* (S) */
        float mx = -INFINITY;
        for (int64_t j = 0; j <= i; j++) {
            const float *k = a->k + (b * S + j) * a->kv_stride + g * hd;
            float s = 0.0f;
            for (int d = 0; d < hd; d++)
                s += q[d] * k[d];
            s *= a->scale;
            p[j] = s;
            mx = s > mx ? s : mx;
        }
        double sum = 0.0;
        for (int64_t j = 0; j <= i; j++) {
            p[j] = expf(p[j] - mx);
            sum += p[j];
        }
        const float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j <= i; j++)
            p[j] *= inv;
        for (int64_t j = i + 1; j < S; j++)
            p[j] = 0.0f;
        float *o = a->out + (b * S + i) * a->out_stride + h * hd; /* (hd) */
        for (int d = 0; d < hd; d++)
            o[d] = 0.0f;
        for (int64_t j = 0; j <= i; j++) {
            const float *v = a->v + (b * S + j) * a->kv_stride + g * hd;
            const float pj = p[j];
            for (int d = 0; d < hd; d++)
                o[d] += pj * v[d];
        }
    }
}

void llm_grad_attn_fwd(llm_pool *pool, const llm_grad_attn *a)
{
    llm_pool_run(pool, attn_fwd_task, (void *)a, (uint32_t)(a->B * a->n_head));
}

typedef struct attn_bwd_job {
    const llm_grad_attn *a;
    const float *dout;
    float *dq, *dk, *dv, *scratch;
} attn_bwd_job;

/* One (sequence, kv head): every query head of the group, so dk and dv have one writer. */
static void attn_bwd_task(void *ctx, uint32_t item)
{
    const attn_bwd_job *j = ctx;
    const llm_grad_attn *a = j->a;
    const int64_t b = item / (uint32_t)a->n_kv;
    const int g = (int)(item % (uint32_t)a->n_kv);
    const int rep = a->n_head / a->n_kv, hd = a->head_dim;
    const int64_t S = a->S;
    float *dp = j->scratch + (int64_t)item * S; /* (S) */
    for (int64_t t = 0; t < S; t++) {
        memset(j->dk + (b * S + t) * a->kv_stride + g * hd, 0, (size_t)hd * sizeof(float));
        memset(j->dv + (b * S + t) * a->kv_stride + g * hd, 0, (size_t)hd * sizeof(float));
    }
    for (int h = g * rep; h < (g + 1) * rep; h++) {
        for (int64_t i = 0; i < S; i++) {
            const float *p = a->P + (((b * a->n_head + h) * S) + i) * S;       /* (S) */
            const float *go = j->dout + (b * S + i) * a->out_stride + h * hd;  /* (hd) */
            const float *q = a->q + (b * S + i) * a->q_stride + h * hd;
            float *dq = j->dq + (b * S + i) * a->q_stride + h * hd;
            double D = 0.0;
            for (int64_t t = 0; t <= i; t++) {
                const float *v = a->v + (b * S + t) * a->kv_stride + g * hd;
                float s = 0.0f;
                for (int d = 0; d < hd; d++)
                    s += go[d] * v[d];
                dp[t] = s;
                D += (double)p[t] * s;
            }
            const float Df = (float)D;
            for (int d = 0; d < hd; d++)
                dq[d] = 0.0f;
            for (int64_t t = 0; t <= i; t++) {
                const float ds = p[t] * (dp[t] - Df) * a->scale;
                const float *k = a->k + (b * S + t) * a->kv_stride + g * hd;
                float *dk = j->dk + (b * S + t) * a->kv_stride + g * hd;
                float *dv = j->dv + (b * S + t) * a->kv_stride + g * hd;
                for (int d = 0; d < hd; d++) {
                    dq[d] += ds * k[d];
                    dk[d] += ds * q[d];
                    dv[d] += p[t] * go[d];
                }
            }
        }
    }
}

void llm_grad_attn_bwd(llm_pool *pool, const llm_grad_attn *a, const float *dout, float *dq,
                       float *dk, float *dv, float *scratch)
{
    attn_bwd_job j = {a, dout, dq, dk, dv, scratch};
    llm_pool_run(pool, attn_bwd_task, &j, (uint32_t)(a->B * a->n_kv));
}

// ------------------------------------------------------------------------------------------------
// loss

double llm_grad_cross_entropy(float *logits, const int32_t *targets, const float *scale,
                              const float *weight, double *nll, int64_t T, int64_t V)
{
    double total = 0.0;
    for (int64_t t = 0; t < T; t++) {
        float *l = logits + t * V; /* (V) */
        float mx = l[0];
        for (int64_t j = 1; j < V; j++)
            mx = l[j] > mx ? l[j] : mx;
        const float lt = l[targets[t]];
        double sum = 0.0;
        for (int64_t j = 0; j < V; j++) {
            l[j] = expf(l[j] - mx);
            sum += l[j];
        }
        const double e = log(sum) - ((double)lt - (double)mx);
        if (nll != NULL)
            nll[t] = e;
        total += (weight != NULL ? weight[t] : 1.0) * e;
        const float sc = scale != NULL ? scale[t] : 1.0f;
        const float inv = (float)(1.0 / sum) * sc;
        for (int64_t j = 0; j < V; j++)
            l[j] *= inv;
        l[targets[t]] -= sc;
    }
    return total;
}
