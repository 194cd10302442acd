/*
 * KV cache storage: per layer, K and V for n_ctx positions of n_kv_head heads, f32 or f16,
 * allocated once at session creation, written a position at a time, copied by prefix (beam
 * search) and handed to attention.
 *
 * Layout of one layer's K (and of its V): (n_kv_head, n_ctx, head_dim), each head's positions
 * contiguous. A decoding step reads every head's positions 0..n in order, one head per thread
 * at a time. With the heads of a position side by side instead, two threads taking half of
 * the heads each read alternate halves of every row, and each core's prefetcher also fetched
 * the other core's half: 7 GB/s against 17 GB/s with contiguous heads, two cores reading a
 * GPT-2-small cache.
 */
#ifndef LLM_SESSION_KV_CACHE_H
#define LLM_SESSION_KV_CACHE_H

#include "kernels/ops.h"
#include "model/model.h"

/* Bytes one cache of these sizes occupies (kv_dim = n_kv_head · head_dim). */
uint64_t llm_kv_cache_bytes(int type, uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim);

llm_status llm_kv_cache_init(llm_kv_cache *kv, int type, uint32_t n_layer, uint32_t n_ctx,
                             uint32_t n_kv_head, uint32_t head_dim, llm_error *err);
void llm_kv_cache_free(llm_kv_cache *kv);

/* Bytes of one head at one position (head_dim elements). */
size_t llm_kv_cache_head_bytes(const llm_kv_cache *kv);

/* The head_dim elements of `head` at `pos` in one layer's K or V (kv->k[l] or kv->v[l]). */
void *llm_kv_cache_slot(const llm_kv_cache *kv, void *layer, uint32_t head, uint32_t pos);

/* Stores rows (n, kv_dim) of K and V at positions pos0.. of layer l, converted to the cache's
 * type. k_stride and v_stride are the row strides of the sources in floats. */
void llm_kv_store(llm_kv_cache *kv, uint32_t l, uint32_t pos0, uint32_t n, const float *k,
                  int64_t k_stride, const float *v, int64_t v_stride);

/* Points attention at layer l: sets a->k, a->v, their strides and a->kv_type. */
void llm_kv_cache_attn_args(const llm_kv_cache *kv, uint32_t l, llm_attn_args *a);

/* Copies positions [0, n_pos) of every layer from src into dst (same geometry). */
void llm_kv_cache_copy(llm_kv_cache *dst, const llm_kv_cache *src, uint32_t n_pos);

#endif /* LLM_SESSION_KV_CACHE_H */
