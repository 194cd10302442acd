/* KV cache allocation and whole-position copies. Nothing here knows about attention. */
#include "session/kv_cache.h"

#include <string.h>

#include "common/alloc.h"

static size_t elem_bytes(int type)
{
    return type == LLM_KV_F16 ? 2 : 4;
}

uint64_t llm_kv_cache_bytes(int type, uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim)
{
    return 2ull * n_layer * n_ctx * kv_dim * elem_bytes(type);
}

size_t llm_kv_cache_row_bytes(const llm_kv_cache *kv)
{
    return (size_t)kv->kv_dim * elem_bytes(kv->type);
}

llm_status llm_kv_cache_init(llm_kv_cache *kv, int type, uint32_t n_layer, uint32_t n_ctx,
                             uint32_t kv_dim, llm_error *err)
{
    memset(kv, 0, sizeof *kv);
    kv->type = type;
    kv->n_layer = n_layer;
    kv->n_ctx = n_ctx;
    kv->kv_dim = kv_dim;
    if (n_layer == 0)
        return LLM_OK;
    kv->k = llm_calloc(n_layer, sizeof *kv->k);
    kv->v = llm_calloc(n_layer, sizeof *kv->v);
    if (!kv->k || !kv->v)
        goto nomem;
    size_t layer_bytes = (size_t)n_ctx * llm_kv_cache_row_bytes(kv);
    for (uint32_t l = 0; l < n_layer; l++) {
        kv->k[l] = llm_aligned_alloc(layer_bytes);
        kv->v[l] = llm_aligned_alloc(layer_bytes);
        if (!kv->k[l] || !kv->v[l])
            goto nomem;
        /* zeroed so that saved states and forks never expose uninitialized memory */
        memset(kv->k[l], 0, layer_bytes);
        memset(kv->v[l], 0, layer_bytes);
    }
    return LLM_OK;
nomem:
    llm_kv_cache_free(kv);
    return llm_error_set(err, LLM_ERR_NOMEM, "cannot allocate a KV cache of %u layers x %u positions",
                         n_layer, n_ctx);
}

void llm_kv_cache_free(llm_kv_cache *kv)
{
    if (!kv)
        return;
    for (uint32_t l = 0; l < kv->n_layer; l++) {
        if (kv->k)
            llm_aligned_free(kv->k[l]);
        if (kv->v)
            llm_aligned_free(kv->v[l]);
    }
    llm_mem_free(kv->k);
    llm_mem_free(kv->v);
    kv->k = kv->v = NULL;
    kv->n_layer = 0;
}

void llm_kv_cache_copy(llm_kv_cache *dst, const llm_kv_cache *src, uint32_t n_pos)
{
    size_t bytes = (size_t)n_pos * llm_kv_cache_row_bytes(src);
    for (uint32_t l = 0; l < src->n_layer; l++) {
        memcpy(dst->k[l], src->k[l], bytes);
        memcpy(dst->v[l], src->v[l], bytes);
    }
}
