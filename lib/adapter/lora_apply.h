/*
 * Low-rank adapters in the forward pass. A session that has adapters attached resolves them into
 * an llm_lora_table: for every base matrix an adapter changes (keyed by the address of the
 * matrix's data, which is unique and stable because models are immutable), the (A, B, scale)
 * pairs to add. Architectures call llm_run_matmul / llm_run_matmul_act for every product with a
 * weight matrix; without a table (or for a matrix no adapter touches) those are exactly
 * llm_op_matmul / llm_op_matmul_act, so a session without adapters computes the same bytes.
 *
 *   Y = act(X · Wᵀ + bias + Σ_pairs scale · (X · Aᵀ) · Bᵀ)
 *
 * with A (rank, K) and B (N, rank) as llama.cpp stores them (ggml ne [K, rank] and [rank, N]).
 * The low-rank terms run in row blocks of LLM_LORA_ROWS through the same product kernels, so
 * their bytes do not depend on the thread count either.
 */
#ifndef LLM_ADAPTER_LORA_APPLY_H
#define LLM_ADAPTER_LORA_APPLY_H

#include "model/model.h"

/* Rows of X handled per low-rank block; the table's buffers hold that many rows. */
#define LLM_LORA_ROWS 32

typedef struct llm_lora_pair {
    const llm_weight *a;     /* (rank, K) f32 */
    const llm_weight *b;     /* (N, rank) f32 */
    float scale;             /* user scale · alpha / rank */
} llm_lora_pair;

typedef struct llm_lora_slot {
    const void *base;        /* data of the base matrix: the key */
    uint32_t first, count;   /* its pairs, in attach order */
} llm_lora_slot;

typedef struct llm_lora_table {
    llm_lora_slot *slots;    /* sorted by base address */
    size_t n_slots;
    llm_lora_pair *pairs;
    size_t n_pairs;
    float *tmp;              /* (LLM_LORA_ROWS, rank_max): X · Aᵀ */
    float *delta;            /* (LLM_LORA_ROWS, n_out_max): (X · Aᵀ) · Bᵀ */
} llm_lora_table;

/* Y (T, N) = X (T, K) · Wᵀ (+ bias) plus the attached adapters' terms for W. */
void llm_run_matmul(const llm_run *r, const llm_compute *c, float *Y, const float *X,
                    const llm_weight *W, const float *bias, int64_t T);
/* The same, then act (aux: (T, N) for the gated forms) after the adapters' terms. */
void llm_run_matmul_act(const llm_run *r, const llm_compute *c, float *Y, const float *X,
                        const llm_weight *W, const float *bias, int64_t T, llm_act act,
                        const float *aux);

/* The slot of a base matrix, or NULL. */
const llm_lora_slot *llm_lora_find(const llm_lora_table *t, const void *base);

#endif /* LLM_ADAPTER_LORA_APPLY_H */
