/*
 * Opening adapters: the checks of an adapter GGUF against the model it is meant for, the f32
 * copies of A and B, reference counting, and the public open/close calls. What the adapter
 * changes in a forward pass is lora_apply.c's; attaching it to sessions is attach.c's.
 *
 * An adapter GGUF is checked as llama.cpp's loader checks it (src/llama-adapter.cpp) and a little
 * more: every tensor is <base>.lora_a or <base>.lora_b, each has its partner, the base is a matrix
 * of the model that the forward pass multiplies (not an embedding table looked up by id), and
 * W.ne[0] == A.ne[0], W.ne[1] == B.ne[1], A.ne[1] == B.ne[0].
 */
#include "adapter/adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "common/path.h"

/* ---------------------------------------------------------------------------------------------- */
/* reference counting                                                                             */
/* ---------------------------------------------------------------------------------------------- */

static void adapter_free(struct llm_adapter *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_mats; i++) {
        llm_mem_free(a->mats[i].base_name);
        llm_aligned_free((void *)a->mats[i].a.data);
        llm_aligned_free((void *)a->mats[i].b.data);
    }
    llm_mem_free(a->mats);
    llm_mem_free(a->path);
    llm_mem_free(a->name);
    if (a->model)
        llm_model_release(a->model);
    llm_mem_free(a);
}

void llm_adapter_retain(struct llm_adapter *a)
{
    atomic_fetch_add(&a->refs, 1);
}

void llm_adapter_release(struct llm_adapter *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1)
        adapter_free(a);
}

float llm_adapter_scale(const struct llm_adapter *a, const llm_adapter_mat *mat, float s)
{
    /* llama.cpp: scale = adapter_scale · alpha / rank, and alpha 0 means no alpha/rank factor */
    return a->alpha != 0.0f ? s * a->alpha / (float)mat->rank : s;
}

const llm_adapter_mat *llm_adapter_find(const struct llm_adapter *a, const void *base_data)
{
    for (size_t i = 0; i < a->n_mats; i++)
        if (a->mats[i].base_data == base_data)
            return &a->mats[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* checks                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Matrices that are looked up by id (or added), never multiplied: an adapter on them would
 * silently do nothing, so it is refused. */
static bool is_table(const char *base)
{
    static const char *const tables[] = {"token_embd.weight", "position_embd.weight",
                                         "token_types.weight"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (strcmp(base, tables[i]) == 0)
            return true;
    return ends_with(base, ".attn_rel_b.weight");
}

static const char *dtype_name(uint32_t type)
{
    const llm_dtype_traits *t = llm_dtype_get(type);
    return t && t->name ? t->name : "unknown";
}

/* An f32 copy of a 2-D adapter tensor. */
static llm_status copy_f32(const llm_gguf_tensor *t, const char *what, llm_weight *w,
                           llm_error *err)
{
    const llm_dtype_traits *tr = llm_dtype_get(t->type);
    LLM_CHECK(err, tr && tr->name && t->ne[0] % tr->block_size == 0, LLM_ERR_UNSUPPORTED,
              "%s: tensor '%s' has type %s, which cannot be read as an adapter matrix", what,
              t->name, dtype_name(t->type));
    uint64_t n = t->ne[0] * t->ne[1];
    float *dst = llm_aligned_alloc((size_t)n * sizeof *dst);
    LLM_CHECK(err, dst, LLM_ERR_NOMEM, "%s: out of memory copying tensor '%s'", what, t->name);
    const size_t row_bytes = (size_t)llm_dtype_row_bytes(t->type, t->ne[0]);
    for (uint64_t r = 0; r < t->ne[1]; r++)
        llm_dequantize_row(t->type, (const uint8_t *)t->data + r * row_bytes, dst + r * t->ne[0],
                           (int64_t)t->ne[0]);
    w->data = dst;
    w->type = LLM_DTYPE_F32;
    w->cols = (int64_t)t->ne[0];
    w->rows = (int64_t)t->ne[1];
    return LLM_OK;
}

static int cmp_mat(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)((const llm_adapter_mat *)x)->base_data;
    uintptr_t b = (uintptr_t)((const llm_adapter_mat *)y)->base_data;
    return a < b ? -1 : a > b;
}

static llm_status check_meta(const struct llm_model *m, const llm_gguf *g, const char *what,
                             float *alpha, llm_error *err)
{
    const char *s = NULL;
    size_t len = 0;
    if (!llm_gguf_get_str(g, "general.type", &s, &len))
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "%s: metadata key 'general.type' is missing: not an adapter file "
                             "(llama.cpp's LoRA GGUF sets it to 'adapter')",
                             what);
    LLM_CHECK(err, strcmp(s, "adapter") == 0, LLM_ERR_FORMAT,
              "%s: general.type is '%s', expected 'adapter' (this is not an adapter file)", what,
              s);
    LLM_CHECK(err, llm_gguf_get_str(g, "adapter.type", &s, &len), LLM_ERR_FORMAT,
              "%s: metadata key 'adapter.type' is missing (expected 'lora')", what);
    LLM_CHECK(err, strcmp(s, "lora") == 0, LLM_ERR_UNSUPPORTED,
              "%s: adapter.type is '%s'; only 'lora' adapters are supported", what, s);
    LLM_CHECK(err, llm_gguf_get_str(g, "general.architecture", &s, &len), LLM_ERR_FORMAT,
              "%s: metadata key 'general.architecture' is missing", what);
    LLM_CHECK(err, strcmp(s, m->ops->name) == 0, LLM_ERR_INVALID_ARG,
              "%s: the adapter is for architecture '%s', the model is '%s'", what, s,
              m->ops->name);
    *alpha = 0.0f;
    if (llm_gguf_find_key(g, "adapter.lora.alpha") >= 0) {
        LLM_CHECK(err, llm_gguf_get_f32(g, "adapter.lora.alpha", alpha), LLM_ERR_FORMAT,
                  "%s: adapter.lora.alpha is not a number", what);
        LLM_CHECK(err, *alpha == *alpha && *alpha >= 0.0f && *alpha < 1e30f, LLM_ERR_FORMAT,
                  "%s: adapter.lora.alpha is %g, expected a finite number >= 0", what,
                  (double)*alpha);
    }
    return LLM_OK;
}

/* Fills one pair from tensor `ta` (<base>.lora_a); finds its partner and the base. */
static llm_status resolve_pair(const struct llm_model *m, const llm_gguf *g, const char *what,
                               const llm_gguf_tensor *ta, llm_adapter_mat *out, llm_error *err)
{
    const size_t base_len = strlen(ta->name) - strlen(".lora_a");
    char base[128], bname[136];
    LLM_CHECK(err, base_len < sizeof base, LLM_ERR_FORMAT, "%s: tensor name '%s' is too long",
              what, ta->name);
    memcpy(base, ta->name, base_len);
    base[base_len] = '\0';
    snprintf(bname, sizeof bname, "%s.lora_b", base);
    const llm_gguf_tensor *tb = llm_gguf_find_tensor(g, bname);
    LLM_CHECK(err, tb, LLM_ERR_FORMAT, "%s: tensor '%s' has no partner '%s'", what, ta->name,
              bname);
    LLM_CHECK(err, !is_table(base), LLM_ERR_UNSUPPORTED,
              "%s: an adapter on '%s' is not supported (embedding and position tables are "
              "looked up, not multiplied)",
              what, base);
    const llm_gguf_tensor *w = llm_gguf_find_tensor(m->gguf, base);
    LLM_CHECK(err, w, LLM_ERR_INVALID_ARG,
              "%s: tensor '%s' adapts '%s', which this %s model does not have", what, ta->name,
              base, m->ops->name);
    LLM_CHECK(err, w->n_dims == 2, LLM_ERR_INVALID_ARG,
              "%s: '%s' adapts '%s', which is not a matrix (%u dimensions)", what, ta->name, base,
              w->n_dims);
    LLM_CHECK(err, ta->n_dims == 2 && tb->n_dims == 2, LLM_ERR_FORMAT,
              "%s: '%s' and '%s' must be 2-D tensors", what, ta->name, bname);
    /* the checks of llama.cpp's loader, with both shapes in the message */
    LLM_CHECK(err, ta->ne[0] == w->ne[0] && tb->ne[1] == w->ne[1] && ta->ne[1] == tb->ne[0] &&
                       ta->ne[1] > 0,
              LLM_ERR_INVALID_ARG,
              "%s: '%s' has shape [%llu,%llu] and '%s' [%llu,%llu]; the model's '%s' "
              "[%llu,%llu] needs [%llu,rank] and [rank,%llu]",
              what, ta->name, (unsigned long long)ta->ne[0], (unsigned long long)ta->ne[1], bname,
              (unsigned long long)tb->ne[0], (unsigned long long)tb->ne[1], base,
              (unsigned long long)w->ne[0], (unsigned long long)w->ne[1],
              (unsigned long long)w->ne[0], (unsigned long long)w->ne[1]);
    out->base_name = llm_strdup(base);
    LLM_CHECK(err, out->base_name, LLM_ERR_NOMEM, "out of memory");
    out->base_data = w->data;
    out->n_in = (int64_t)w->ne[0];
    out->n_out = (int64_t)w->ne[1];
    out->rank = (uint32_t)ta->ne[1];
    LLM_TRY(copy_f32(ta, what, &out->a, err));
    LLM_TRY(copy_f32(tb, what, &out->b, err));
    return LLM_OK;
}

llm_status llm_adapter_from_gguf(struct llm_model *m, const llm_gguf *g, const char *what,
                                 struct llm_adapter **out, llm_error *err)
{
    float alpha = 0.0f;
    LLM_TRY(check_meta(m, g, what, &alpha, err));
    const uint64_t n_t = llm_gguf_n_tensors(g);
    size_t n_pairs = 0;
    for (uint64_t i = 0; i < n_t; i++) {
        const char *name = llm_gguf_tensor_at(g, i)->name;
        bool is_a = ends_with(name, ".lora_a"), is_b = ends_with(name, ".lora_b");
        LLM_CHECK(err, is_a || is_b, LLM_ERR_FORMAT,
                  "%s: tensor '%s' is neither <name>.lora_a nor <name>.lora_b", what, name);
        if (is_b) {
            char aname[136];
            snprintf(aname, sizeof aname, "%.*s.lora_a", (int)(strlen(name) - 7), name);
            LLM_CHECK(err, llm_gguf_find_tensor(g, aname), LLM_ERR_FORMAT,
                      "%s: tensor '%s' has no partner '%s'", what, name, aname);
        }
        n_pairs += is_a;
    }
    LLM_CHECK(err, n_pairs > 0, LLM_ERR_FORMAT, "%s: the adapter has no lora_a/lora_b tensors",
              what);

    struct llm_adapter *a = llm_calloc(1, sizeof *a);
    LLM_CHECK(err, a, LLM_ERR_NOMEM, "out of memory");
    atomic_init(&a->refs, 1);
    llm_model_retain(m);
    a->model = m;
    a->alpha = alpha;
    a->mats = llm_calloc(n_pairs, sizeof *a->mats);
    const char *name = NULL;
    size_t name_len = 0;
    if (llm_gguf_get_str(g, "general.name", &name, &name_len) && name_len > 0)
        a->name = llm_strdup(name);
    else {
        const char *slash = strrchr(what, '/');
        a->name = llm_strdup(slash && slash[1] ? slash + 1 : what);
    }
    a->path = llm_strdup(what);
    llm_status st = a->mats && a->name && a->path ? LLM_OK
                                                  : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n_t && st == LLM_OK; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        if (!ends_with(t->name, ".lora_a"))
            continue;
        st = resolve_pair(m, g, what, t, &a->mats[a->n_mats], err);
        a->n_mats++; /* also after a failure: adapter_free releases what the pair holds */
    }
    if (st != LLM_OK) {
        adapter_free(a);
        return st;
    }
    qsort(a->mats, a->n_mats, sizeof *a->mats, cmp_mat);
    for (size_t i = 0; i < a->n_mats; i++) {
        if (i > 0 && a->mats[i].base_data == a->mats[i - 1].base_data) {
            /* two names for one matrix (e.g. a tied output and its embedding) */
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s: '%s' and '%s' adapt the same matrix",
                               what, a->mats[i - 1].base_name, a->mats[i].base_name);
            adapter_free(a);
            return st;
        }
        if (a->mats[i].rank > a->rank_max)
            a->rank_max = a->mats[i].rank;
        if (a->mats[i].n_out > a->n_out_max)
            a->n_out_max = a->mats[i].n_out;
    }
    *out = a;
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* public calls                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

llm_status llm_adapter_open(llm_model *model, const char *path, llm_adapter **out)
{
    if (out)
        *out = NULL;
    if (!model || !path || !out)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        "llm_adapter_open: model, path and out must not be NULL");
    llm_error err = {0};
    llm_gguf *g = NULL;
    llm_status st;
    if (llm_path_is_dir(path))
        st = llm_peft_import(model, path, &g, &err);
    else
        st = llm_gguf_open(path, NULL, &g, &err);
    if (st == LLM_OK)
        st = llm_adapter_from_gguf(model, g, path, out, &err);
    llm_gguf_close(g);
    if (st != LLM_OK) {
        if (strncmp(err.msg, path, strlen(path)) != 0)
            llm_error_prefix(&err, "%s", path);
        return llm_error_publish(&err);
    }
    return LLM_OK;
}

void llm_adapter_close(llm_adapter *adapter)
{
    llm_adapter_release(adapter);
}

const char *llm_adapter_name(const llm_adapter *adapter)
{
    return adapter ? adapter->name : NULL;
}
