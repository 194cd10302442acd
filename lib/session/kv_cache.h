/*
 * KV cache storage: per layer, K and V for n_ctx positions of kv_dim elements, f32 or f16,
 * allocated once at session creation, and copied by prefix (beam search).
 */
#ifndef LLM_SESSION_KV_CACHE_H
#define LLM_SESSION_KV_CACHE_H

#include "model/model.h"

/* Bytes one cache of these sizes occupies. */
uint64_t llm_kv_cache_bytes(int type, uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim);

llm_status llm_kv_cache_init(llm_kv_cache *kv, int type, uint32_t n_layer, uint32_t n_ctx,
                             uint32_t kv_dim, llm_error *err);
void llm_kv_cache_free(llm_kv_cache *kv);

/* Bytes of one position of one layer's K (or V). */
size_t llm_kv_cache_row_bytes(const llm_kv_cache *kv);

/* Copies positions [0, n_pos) of every layer from src into dst (same geometry). */
void llm_kv_cache_copy(llm_kv_cache *dst, const llm_kv_cache *src, uint32_t n_pos);

#endif /* LLM_SESSION_KV_CACHE_H */
