/* Helpers shared by the architecture files (see common.h). */
#include "arch/common.h"

#include <stdio.h>
#include <string.h>

#include "common/dtype.h"

void *llm_carve_bytes(llm_carve *c, size_t n)
{
    size_t at = c->used;
    c->used += (n + 63) & ~(size_t)63;
    return c->base ? c->base + at : NULL;
}

float *llm_carve_floats(llm_carve *c, size_t n)
{
    return llm_carve_bytes(c, n * sizeof(float));
}

llm_status llm_hp_u32(const llm_gguf *g, const char *arch, const char *key, bool required,
                      uint32_t *out, llm_error *err)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    if (llm_gguf_get_u32(g, name, out))
        return LLM_OK;
    LLM_CHECK(err, !required && llm_gguf_find_key(g, name) < 0, LLM_ERR_FORMAT,
              "metadata key '%s' is %s", name,
              llm_gguf_find_key(g, name) < 0 ? "missing" : "not an unsigned 32-bit integer");
    return LLM_OK;
}

llm_status llm_hp_f32(const llm_gguf *g, const char *arch, const char *key, bool required,
                      float *out, llm_error *err)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    if (llm_gguf_get_f32(g, name, out))
        return LLM_OK;
    LLM_CHECK(err, !required && llm_gguf_find_key(g, name) < 0, LLM_ERR_FORMAT,
              "metadata key '%s' is %s", name,
              llm_gguf_find_key(g, name) < 0 ? "missing" : "not a number");
    return LLM_OK;
}

llm_status llm_check_decode_batch(const llm_run *r, uint32_t n, uint32_t pos0, uint32_t max_pos,
                                  llm_error *err)
{
    LLM_CHECK(err, n > 0 && n <= r->n_batch, LLM_ERR_INVALID_ARG,
              "batch of %u tokens (1..%u allowed)", n, r->n_batch);
    LLM_CHECK(err, (uint64_t)pos0 + n <= max_pos, LLM_ERR_CONTEXT_FULL,
              "positions %u..%u exceed the context of %u", pos0, pos0 + n - 1, max_pos);
    return LLM_OK;
}

llm_compute llm_run_compute(const llm_run *r, void *scratch, size_t bytes)
{
    llm_compute c = {r->comp.pool, scratch, bytes};
    return c;
}

size_t llm_matmul_scratch_any(int64_t T, int64_t K)
{
    /* rounded up to the largest block (256) so that every type's row size is defined and an
     * upper bound for every smaller K the model uses */
    K = (K + 255) / 256 * 256;
    size_t best = 0;
    for (uint32_t type = 0; type < LLM_DTYPE_COUNT; type++) {
        if (!llm_dtype_get(type))
            continue;
        size_t b = llm_op_matmul_scratch(type, T, K);
        if (b > best)
            best = b;
    }
    return best;
}
