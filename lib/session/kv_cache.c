/* KV cache allocation, stores, prefix copies, and where each head's rows are (kv_cache.h). */
#include "session/kv_cache.h"

#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"

static size_t elem_bytes(int type)
{
    return type == LLM_KV_F16 ? 2 : 4;
}

uint64_t llm_kv_cache_bytes(int type, uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim)
{
    return 2ull * n_layer * n_ctx * kv_dim * elem_bytes(type);
}

size_t llm_kv_cache_head_bytes(const llm_kv_cache *kv)
{
    return (size_t)kv->head_dim * elem_bytes(kv->type);
}

void *llm_kv_cache_slot(const llm_kv_cache *kv, void *layer, uint32_t head, uint32_t pos)
{
    return (uint8_t *)layer + ((size_t)head * kv->n_ctx + pos) * llm_kv_cache_head_bytes(kv);
}

static void store_head(const llm_kv_cache *kv, void *dst, const float *src)
{
    if (kv->type == LLM_KV_F16) {
        uint16_t *d = dst;
        for (uint32_t i = 0; i < kv->head_dim; i++)
            d[i] = llm_f32_to_f16(src[i]);
    } else {
        memcpy(dst, src, kv->head_dim * sizeof(float));
    }
}

void llm_kv_store(llm_kv_cache *kv, uint32_t l, uint32_t pos0, uint32_t n, const float *k,
                  int64_t k_stride, const float *v, int64_t v_stride)
{
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t g = 0; g < kv->n_kv_head; g++) {
            const size_t at = (size_t)g * kv->head_dim;
            store_head(kv, llm_kv_cache_slot(kv, kv->k[l], g, pos0 + t), k + t * k_stride + at);
            store_head(kv, llm_kv_cache_slot(kv, kv->v[l], g, pos0 + t), v + t * v_stride + at);
        }
}

void llm_kv_cache_attn_args(const llm_kv_cache *kv, uint32_t l, llm_attn_args *a)
{
    a->k = kv->k[l];
    a->v = kv->v[l];
    a->kv_type = kv->type;
    a->kv_stride = kv->head_dim;
    a->kv_head_stride = (int64_t)kv->n_ctx * kv->head_dim;
}

llm_status llm_kv_cache_init(llm_kv_cache *kv, int type, uint32_t n_layer, uint32_t n_ctx,
                             uint32_t n_kv_head, uint32_t head_dim, llm_error *err)
{
    memset(kv, 0, sizeof *kv);
    kv->type = type;
    kv->n_layer = n_layer;
    kv->n_ctx = n_ctx;
    kv->n_kv_head = n_kv_head;
    kv->head_dim = head_dim;
    kv->kv_dim = n_kv_head * head_dim;
    if (n_layer == 0)
        return LLM_OK;
    kv->k = llm_calloc(n_layer, sizeof *kv->k);
    kv->v = llm_calloc(n_layer, sizeof *kv->v);
    if (!kv->k || !kv->v)
        goto nomem;
    size_t layer_bytes = (size_t)n_ctx * n_kv_head * llm_kv_cache_head_bytes(kv);
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
    const size_t bytes = (size_t)n_pos * llm_kv_cache_head_bytes(src);
    for (uint32_t l = 0; l < src->n_layer; l++)
        for (uint32_t g = 0; g < src->n_kv_head; g++) {
            memcpy(llm_kv_cache_slot(dst, dst->k[l], g, 0), llm_kv_cache_slot(src, src->k[l], g, 0),
                   bytes);
            memcpy(llm_kv_cache_slot(dst, dst->v[l], g, 0), llm_kv_cache_slot(src, src->v[l], g, 0),
                   bytes);
        }
}
