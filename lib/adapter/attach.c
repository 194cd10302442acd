/*
 * Attaching adapters to sessions: the session's list of (adapter, scale), and the lookup table
 * (lora_apply.h) its forward passes read. The model is never touched; a session with adapters
 * differs from one without only by its table. Changing the list rebuilds the table (all
 * allocation happens here, never in a forward pass) and clears the session's context, whose
 * cached keys and values were computed with the previous weights.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/adapter.h"
#include "adapter/lora_apply.h"
#include "common/alloc.h"
#include "session/session.h"

static void table_free(llm_lora_table *t)
{
    if (!t)
        return;
    llm_mem_free(t->slots);
    llm_mem_free(t->pairs);
    llm_aligned_free(t->tmp);
    llm_aligned_free(t->delta);
    llm_mem_free(t);
}

typedef struct entry {
    const void *base;
    size_t order;            /* position in the session's list */
    const llm_adapter_mat *mat;
    float scale;
} entry;

static int cmp_entry(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    uintptr_t pa = (uintptr_t)a->base, pb = (uintptr_t)b->base;
    if (pa != pb)
        return pa < pb ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* The table of a list of adapters; *out = NULL for an empty list. */
static llm_status table_build(struct llm_adapter *const *ads, const float *scales, size_t n,
                              llm_lora_table **out, llm_error *err)
{
    *out = NULL;
    size_t n_pairs = 0;
    uint32_t rank_max = 0;
    int64_t n_out_max = 0;
    for (size_t i = 0; i < n; i++) {
        n_pairs += ads[i]->n_mats;
        rank_max = ads[i]->rank_max > rank_max ? ads[i]->rank_max : rank_max;
        n_out_max = ads[i]->n_out_max > n_out_max ? ads[i]->n_out_max : n_out_max;
    }
    if (n_pairs == 0)
        return LLM_OK;
    llm_lora_table *t = llm_calloc(1, sizeof *t);
    entry *e = llm_calloc(n_pairs, sizeof *e);
    if (t) {
        t->pairs = llm_calloc(n_pairs, sizeof *t->pairs);
        t->slots = llm_calloc(n_pairs, sizeof *t->slots);
        t->tmp = llm_aligned_alloc((size_t)LLM_LORA_ROWS * rank_max * sizeof(float));
        t->delta = llm_aligned_alloc((size_t)LLM_LORA_ROWS * (size_t)n_out_max * sizeof(float));
    }
    if (!t || !e || !t->pairs || !t->slots || !t->tmp || !t->delta) {
        table_free(t);
        llm_mem_free(e);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory attaching adapters");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ads[i]->n_mats; j++) {
            const llm_adapter_mat *mat = &ads[i]->mats[j];
            e[k++] = (entry){mat->base_data, i, mat, llm_adapter_scale(ads[i], mat, scales[i])};
        }
    qsort(e, n_pairs, sizeof *e, cmp_entry);
    for (size_t i = 0; i < n_pairs; i++) {
        t->pairs[i] = (llm_lora_pair){&e[i].mat->a, &e[i].mat->b, e[i].scale};
        if (t->n_slots == 0 || t->slots[t->n_slots - 1].base != e[i].base)
            t->slots[t->n_slots++] = (llm_lora_slot){e[i].base, (uint32_t)i, 0};
        t->slots[t->n_slots - 1].count++;
    }
    t->n_pairs = n_pairs;
    llm_mem_free(e);
    *out = t;
    return LLM_OK;
}

/* Makes (ads, scales, n) the session's list: builds its table first, so a failure changes
 * nothing. Takes over the arrays (freeing them on failure). */
static llm_status set_list(struct llm_session *s, struct llm_adapter **ads, float *scales,
                           size_t n, llm_error *err)
{
    llm_lora_table *t = NULL;
    llm_status st = table_build(ads, scales, n, &t, err);
    if (st != LLM_OK) {
        llm_mem_free(ads);
        llm_mem_free(scales);
        return st;
    }
    table_free(s->lora);
    llm_mem_free(s->adapters);
    llm_mem_free(s->adapter_scales);
    s->adapters = ads;
    s->adapter_scales = scales;
    s->n_adapters = n;
    s->lora = t;
    s->run.lora = t;
    llm_session_reset(s);
    return LLM_OK;
}

/* Copies of the session's list with room for one more. */
static llm_status copy_list(const struct llm_session *s, struct llm_adapter ***ads,
                            float **scales, llm_error *err)
{
    *ads = llm_calloc(s->n_adapters + 1, sizeof **ads);
    *scales = llm_calloc(s->n_adapters + 1, sizeof **scales);
    if (!*ads || !*scales) {
        llm_mem_free(*ads);
        llm_mem_free(*scales);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory attaching an adapter");
    }
    if (s->n_adapters) {
        memcpy(*ads, s->adapters, s->n_adapters * sizeof **ads);
        memcpy(*scales, s->adapter_scales, s->n_adapters * sizeof **scales);
    }
    return LLM_OK;
}

void llm_session_free_adapters(struct llm_session *s)
{
    for (size_t i = 0; i < s->n_adapters; i++)
        llm_adapter_release(s->adapters[i]);
    llm_mem_free(s->adapters);
    llm_mem_free(s->adapter_scales);
    table_free(s->lora);
    s->adapters = NULL;
    s->adapter_scales = NULL;
    s->n_adapters = 0;
    s->lora = NULL;
    s->run.lora = NULL;
}

llm_status llm_session_copy_adapters(struct llm_session *dst, const struct llm_session *src,
                                     llm_error *err)
{
    if (src->n_adapters == 0)
        return LLM_OK;
    struct llm_adapter **ads;
    float *scales;
    LLM_TRY(copy_list(src, &ads, &scales, err));
    LLM_TRY(set_list(dst, ads, scales, src->n_adapters, err));
    for (size_t i = 0; i < dst->n_adapters; i++)
        llm_adapter_retain(dst->adapters[i]);
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* public calls                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

llm_status llm_session_attach_adapter(llm_session *s, llm_adapter *adapter, float scale)
{
    if (!s || !adapter)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        "llm_session_attach_adapter: session and adapter must not be NULL");
    llm_error err = {0};
    if (adapter->model != s->model) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG,
                      "llm_session_attach_adapter: adapter '%s' was opened for another model "
                      "(%s) than the session's (%s)",
                      adapter->name, adapter->model->path, s->model->path);
        return llm_session_fail(s, &err);
    }
    if (!isfinite(scale)) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG,
                      "llm_session_attach_adapter: scale %g of adapter '%s' is not finite",
                      (double)scale, adapter->name);
        return llm_session_fail(s, &err);
    }
    struct llm_adapter **ads;
    float *scales;
    if (copy_list(s, &ads, &scales, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    size_t n = s->n_adapters, at = n;
    for (size_t i = 0; i < n; i++)
        if (ads[i] == adapter)
            at = i; /* attached already: a new scale */
    ads[at] = adapter;
    scales[at] = scale;
    const bool added = at == n;
    if (set_list(s, ads, scales, added ? n + 1 : n, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    if (added)
        llm_adapter_retain(adapter);
    return LLM_OK;
}

llm_status llm_session_detach_adapter(llm_session *s, const llm_adapter *adapter)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_session_detach_adapter: session is NULL");
    llm_error err = {0};
    if (!adapter) {
        llm_session_free_adapters(s);
        llm_session_reset(s);
        return LLM_OK;
    }
    size_t at = s->n_adapters;
    for (size_t i = 0; i < s->n_adapters; i++)
        if (s->adapters[i] == adapter)
            at = i;
    if (at == s->n_adapters) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG,
                      "llm_session_detach_adapter: adapter '%s' is not attached to this session",
                      adapter->name);
        return llm_session_fail(s, &err);
    }
    struct llm_adapter **ads;
    float *scales;
    if (copy_list(s, &ads, &scales, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    struct llm_adapter *gone = ads[at];
    memmove(ads + at, ads + at + 1, (s->n_adapters - at - 1) * sizeof *ads);
    memmove(scales + at, scales + at + 1, (s->n_adapters - at - 1) * sizeof *scales);
    if (set_list(s, ads, scales, s->n_adapters - 1, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    llm_adapter_release(gone);
    return LLM_OK;
}

size_t llm_session_n_adapters(const llm_session *s)
{
    return s ? s->n_adapters : 0;
}
