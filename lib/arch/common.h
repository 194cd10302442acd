/*
 * Pieces the architectures share: carving a run's activation scratch into named buffers, reading
 * hyper-parameters with a key prefix, checking a decoder batch, and a pass's compute context.
 */
#ifndef LLM_ARCH_COMMON_H
#define LLM_ARCH_COMMON_H

#include <stdbool.h>

#include "model/model.h"

/* A bump allocator over the run's scratch; sizes round up to 64 bytes. Used twice: once with
 * base NULL to measure (scratch_bytes), once to carve. */
typedef struct llm_carve {
    char *base;
    size_t used;
} llm_carve;

float *llm_carve_floats(llm_carve *c, size_t n);
void *llm_carve_bytes(llm_carve *c, size_t n);

/* Metadata "<arch>.<key>" getters; `required` ones fail with a message naming the key. */
llm_status llm_hp_u32(const llm_gguf *g, const char *arch, const char *key, bool required,
                      uint32_t *out, llm_error *err);
llm_status llm_hp_f32(const llm_gguf *g, const char *arch, const char *key, bool required,
                      float *out, llm_error *err);

/* Scratch bytes for matmuls of up to T rows of at most K inputs, whatever the weight type and
 * whatever K <= the given one. */
size_t llm_matmul_scratch_any(int64_t T, int64_t K);

/* A decoder pass of n tokens at positions pos0..: 1..n_batch tokens, all below max_pos (the
 * run's context, or less where the model has no positions beyond its training length). */
llm_status llm_check_decode_batch(const llm_run *r, uint32_t n, uint32_t pos0, uint32_t max_pos,
                                  llm_error *err);

/* The compute context for a pass: pool from the run, scratch carved from the run's buffer. */
llm_compute llm_run_compute(const llm_run *r, void *scratch, size_t bytes);

#endif /* LLM_ARCH_COMMON_H */
