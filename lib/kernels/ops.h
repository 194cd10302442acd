/*
 * The compute operations model code calls. Each op works on plain float buffers with the shapes
 * written beside every pointer; the heavy ones go through the kernel table (kernels.h) chosen
 * once per process, and through the thread pool. Partitioning never changes the reduction order,
 * so results are bit-identical for any thread count. Ops never allocate: scratch comes from the
 * caller (sized with the *_scratch functions at session creation).
 */
#ifndef LLM_KERNELS_OPS_H
#define LLM_KERNELS_OPS_H

#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

/* ---- thread pool ---------------------------------------------------------------------------- */

typedef struct llm_pool llm_pool;

/* n_threads 0 = online CPUs. With host_fn set, work goes to the host's parallel_for instead of
 * the library's own threads. Idle workers sleep (condition variable), they do not spin. */
llm_pool *llm_pool_create(uint32_t n_threads, llm_parallel_for_fn host_fn, void *host);
void llm_pool_destroy(llm_pool *pool);                   /* accepts NULL */
uint32_t llm_pool_threads(const llm_pool *pool);         /* 1 for NULL */
/* Runs fn(ctx, i) for i in [0, n) and waits. pool may be NULL (runs inline). */
void llm_pool_run(llm_pool *pool, void (*fn)(void *ctx, uint32_t i), void *ctx, uint32_t n);

/* ---- compute context ------------------------------------------------------------------------ */

typedef struct llm_compute {
    llm_pool *pool;          /* may be NULL */
    void *scratch;           /* 64-byte aligned, for quantized activations and attention rows */
    size_t scratch_bytes;
} llm_compute;

/* A weight matrix as stored in the file: `rows` output features of `cols` inputs each, row-major,
 * every row `llm_dtype_row_bytes(type, cols)` bytes. */
typedef struct llm_weight {
    const void *data;
    uint32_t type;           /* llm_dtype */
    int64_t rows;            /* N (GGUF ne[1]) */
    int64_t cols;            /* K (GGUF ne[0]) */
} llm_weight;

/* ---- linear algebra ------------------------------------------------------------------------- */

/* Scratch bytes llm_op_matmul needs for T rows of K inputs against weights of `type`. */
size_t llm_op_matmul_scratch(uint32_t type, int64_t T, int64_t K);

/* Y (T, N) = X (T, K) · Wᵀ (+ bias (N) when not NULL). */
void llm_op_matmul(const llm_compute *c, float *Y, const float *X, const llm_weight *W,
                   const float *bias, int64_t T);

/* An activation applied to a product's outputs by the thread that computed them. */
typedef enum llm_act {
    LLM_ACT_NONE = 0,
    LLM_ACT_GELU_TANH,     /* y = gelu_tanh(y) */
    LLM_ACT_GELU_ERF,      /* y = gelu_erf(y) */
    LLM_ACT_RELU,          /* y = relu(y) */
    LLM_ACT_SILU_MUL,      /* y = silu(y) · aux, as llm_op_swiglu */
    LLM_ACT_GELU_TANH_MUL  /* y = gelu_tanh(y) · aux, as llm_op_geglu */
} llm_act;

/* llm_op_matmul, then act over Y (aux: (T, N), for the gated forms; else NULL). The bytes are
 * those of the product followed by the element-wise op, with the activation spread over the
 * threads and done while the outputs are still in cache. */
void llm_op_matmul_act(const llm_compute *c, float *Y, const float *X, const llm_weight *W,
                       const float *bias, int64_t T, llm_act act, const float *aux);

/* y (n) = act(y) element-wise, exactly as llm_op_matmul_act applies it (aux (n) for the gated
 * forms, else NULL). For callers that change a product's outputs before its activation. */
void llm_op_act(llm_act act, float *y, const float *aux, int64_t n);

/* dst (n, K) = rows ids[0..n) of W, dequantized. */
void llm_op_get_rows(float *dst, const llm_weight *W, const int32_t *ids, int64_t n);

/* ---- element-wise and row-wise -------------------------------------------------------------- */

void llm_op_rmsnorm(float *y, const float *x, const float *w, int64_t T, int64_t n, float eps);
void llm_op_layernorm(float *y, const float *x, const float *w, const float *b, int64_t T,
                      int64_t n, float eps);
void llm_op_add(float *y, const float *x, int64_t n);              /* y += x */
void llm_op_scale(float *y, float s, int64_t n);                   /* y *= s */
void llm_op_gelu_tanh(float *x, int64_t n);
void llm_op_gelu_erf(float *x, int64_t n);
void llm_op_silu(float *x, int64_t n);
void llm_op_relu(float *x, int64_t n);
void llm_op_swiglu(float *out, const float *gate, const float *up, int64_t n); /* silu(g)·u */
void llm_op_geglu(float *out, const float *gate, const float *up, int64_t n);  /* gelu_tanh(g)·u */
void llm_op_softmax(float *x, int64_t n);                          /* in place, max-subtracted */
/* x (n) = softmax(x · scale + mask) in place; mask (n) additive (-INFINITY hides) or NULL.
 * A row with nothing visible becomes all zeros. */
void llm_op_softmax_ext(float *x, int64_t n, float scale, const float *mask);

/* RoPE on x (T, n_head, head_dim) in place for the first n_rot dims of each head, position pos[t].
 * neox = 0: rotate adjacent pairs (x[2i], x[2i+1]) (GGUF llama "normal" mode); neox = 1: rotate
 * (x[i], x[i + n_rot/2]). theta_i = pos · freq_scale · base^(-2i / n_rot). */
void llm_op_rope(float *x, int64_t T, int n_head, int head_dim, int n_rot, const int32_t *pos,
                 float freq_base, float freq_scale, int neox);

/* ---- attention ------------------------------------------------------------------------------ */

typedef struct llm_attn_args {
    const float *q;          /* (Tq, n_head, head_dim), row stride q_stride floats */
    const void *k;           /* Tk rows of n_kv_head heads of head_dim elements: element d of */
    const void *v;           /* head g at row t is at g·kv_head_stride + t·kv_stride + d */
    float *out;              /* (Tq, n_head, head_dim), row stride out_stride floats */
    int64_t Tq, Tk;
    int64_t q_stride, kv_stride, out_stride;
    int64_t kv_head_stride;  /* 0: head_dim, the heads side by side in a row */
    int kv_type;             /* llm_kv_type: K/V elements are f32 or f16 */
    int n_head, n_kv_head, head_dim;   /* grouped-query: head h reads kv head h / (n_head/n_kv_head) */
    float scale;             /* applied to q·k (1/sqrt(head_dim), or 1 for T5) */
    int64_t causal_offset;   /* < 0: bidirectional; else query i sees keys j <= i + causal_offset */
    const float *bias;       /* additive (n_head, Tq, Tk) or NULL (T5 relative positions) */
} llm_attn_args;

/* Scratch bytes for llm_op_attention with these sizes: per thread, one row of Tk scores for each
 * head of a grouped-query group (at most min(n_head, 8) rows), and at least one row per head
 * (a single query takes all heads at once). A smaller scratch still works (one head at a time,
 * fewer threads); every path gives the same bytes, whatever the scratch or the threads. */
size_t llm_op_attention_scratch(int64_t Tk, int n_head, uint32_t n_threads);
void llm_op_attention(const llm_compute *c, const llm_attn_args *a);

/* ---- misc ----------------------------------------------------------------------------------- */

int64_t llm_op_argmax(const float *x, int64_t n);   /* lowest index on ties */

#endif /* LLM_KERNELS_OPS_H */
