/*
 * The adapters' terms in a product (lora_apply.h). Building the table is attach.c's job; this
 * file only looks a matrix up and adds scale · (X · Aᵀ) · Bᵀ block by block. It allocates
 * nothing: the block buffers belong to the table.
 */
#include "adapter/lora_apply.h"

#include <stdint.h>

const llm_lora_slot *llm_lora_find(const llm_lora_table *t, const void *base)
{
    if (t == NULL || t->n_slots == 0)
        return NULL;
    const uintptr_t key = (uintptr_t)base;
    size_t lo = 0, hi = t->n_slots;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const uintptr_t at = (uintptr_t)t->slots[mid].base;
        if (at == key)
            return &t->slots[mid];
        if (at < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Y (T, N) += Σ scale · (X (T, K) · Aᵀ) · Bᵀ over the slot's pairs. */
static void add_terms(const llm_lora_table *t, const llm_lora_slot *slot, const llm_compute *c,
                      float *Y, const float *X, int64_t T, int64_t K, int64_t N)
{
    for (uint32_t p = 0; p < slot->count; p++) {
        const llm_lora_pair *pr = &t->pairs[slot->first + p];
        for (int64_t t0 = 0; t0 < T; t0 += LLM_LORA_ROWS) {
            const int64_t tn = T - t0 < LLM_LORA_ROWS ? T - t0 : LLM_LORA_ROWS;
            llm_op_matmul(c, t->tmp, X + t0 * K, pr->a, NULL, tn);      /* (tn, rank) */
            llm_op_matmul(c, t->delta, t->tmp, pr->b, NULL, tn);        /* (tn, N) */
            float *y = Y + t0 * N;                                      /* (tn, N) */
            const float *d = t->delta;
            const float s = pr->scale;
            for (int64_t i = 0; i < tn * N; i++)
                y[i] += s * d[i];
        }
    }
}

void llm_run_matmul_act(const llm_run *r, const llm_compute *c, float *Y, const float *X,
                        const llm_weight *W, const float *bias, int64_t T, llm_act act,
                        const float *aux)
{
    const llm_lora_slot *slot = r != NULL ? llm_lora_find(r->lora, W->data) : NULL;
    if (slot == NULL || T <= 0) {
        llm_op_matmul_act(c, Y, X, W, bias, T, act, aux);
        return;
    }
    llm_op_matmul(c, Y, X, W, bias, T);
    add_terms(r->lora, slot, c, Y, X, T, W->cols, W->rows);
    if (act != LLM_ACT_NONE)
        llm_op_act(act, Y, aux, T * W->rows);
}

void llm_run_matmul(const llm_run *r, const llm_compute *c, float *Y, const float *X,
                    const llm_weight *W, const float *bias, int64_t T)
{
    llm_run_matmul_act(r, c, Y, X, W, bias, T, LLM_ACT_NONE, NULL);
}
