/*
 * GGUF metadata: the value representation shared by the reader and the builder, the name index,
 * and the typed getters of gguf.h. Getters never fail loudly: they answer false when a key is
 * absent or its value does not convert (an integer converts to another integer type only when it
 * fits; integers and float64 convert to float32). Parsing lives in gguf.c, writing in
 * gguf_write.c.
 */
#include "model/gguf_internal.h"

#include <string.h>

#include "common/alloc.h"

// ------------------------------------------------------------------------------------------------
// Types

uint64_t llm_gguf_type_size(uint32_t type)
{
    switch (type) {
    case LLM_GGUF_UINT8: case LLM_GGUF_INT8: case LLM_GGUF_BOOL: return 1;
    case LLM_GGUF_UINT16: case LLM_GGUF_INT16: return 2;
    case LLM_GGUF_UINT32: case LLM_GGUF_INT32: case LLM_GGUF_FLOAT32: return 4;
    case LLM_GGUF_UINT64: case LLM_GGUF_INT64: case LLM_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

const char *llm_gguf_type_name(uint32_t type)
{
    static const char *const names[] = {"uint8", "int8",  "uint16", "int16",  "uint32",
                                        "int32", "float32", "bool", "string", "array",
                                        "uint64", "int64", "float64"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

// ------------------------------------------------------------------------------------------------
// Values

void llm_gguf_value_free(llm_gguf_value *v)
{
    if (!v)
        return;
    if (v->type == LLM_GGUF_ARRAY && v->elem == LLM_GGUF_ARRAY && v->data) {
        llm_gguf_value *kids = v->data;
        for (uint64_t i = 0; i < v->count; i++)
            llm_gguf_value_free(&kids[i]);
    }
    llm_mem_free(v->data);
    llm_mem_free(v->pool);
    llm_mem_free(v->str);
    memset(v, 0, sizeof *v);
}

llm_status llm_gguf_value_copy(llm_gguf_value *dst, const llm_gguf_value *src, llm_error *err)
{
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->elem = src->elem;
    dst->count = src->count;
    memcpy(dst->raw, src->raw, sizeof dst->raw);
    dst->len = src->len;
    if (src->type == LLM_GGUF_STRING) {
        dst->str = llm_strndup(src->str ? src->str : "", src->len);
        if (!dst->str)
            goto nomem;
        return LLM_OK;
    }
    if (src->type != LLM_GGUF_ARRAY)
        return LLM_OK;
    if (src->elem == LLM_GGUF_ARRAY) {
        llm_gguf_value *kids = llm_calloc(src->count ? src->count : 1, sizeof *kids);
        if (!kids)
            goto nomem;
        dst->data = kids;
        const llm_gguf_value *skids = src->data;
        for (uint64_t i = 0; i < src->count; i++) {
            llm_status st = llm_gguf_value_copy(&kids[i], &skids[i], err);
            if (st != LLM_OK) {
                dst->count = i;
                llm_gguf_value_free(dst);
                return st;
            }
        }
        return LLM_OK;
    }
    uint64_t bytes;
    if (src->elem == LLM_GGUF_STRING) {
        const uint64_t *off = src->data;
        bytes = (src->count + 1) * sizeof(uint64_t);
        dst->data = llm_malloc(bytes);
        dst->pool = llm_malloc(off[src->count] ? off[src->count] : 1);
        if (!dst->data || !dst->pool)
            goto nomem;
        memcpy(dst->data, src->data, bytes);
        memcpy(dst->pool, src->pool, off[src->count]);
        return LLM_OK;
    }
    bytes = src->count * llm_gguf_type_size(src->elem);
    dst->data = llm_malloc(bytes ? bytes : 1);
    if (!dst->data)
        goto nomem;
    if (bytes)
        memcpy(dst->data, src->data, bytes);
    return LLM_OK;
nomem:
    llm_gguf_value_free(dst);
    return llm_error_set(err, LLM_ERR_NOMEM, "out of memory copying a metadata value");
}

// ------------------------------------------------------------------------------------------------
// Name index

uint64_t llm_gguf_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static const char *name_at(const void *items, size_t stride, uint64_t i)
{
    const char *const *p = (const char *const *)((const char *)items + i * stride);
    return *p;
}

void llm_gguf_index_free(llm_gguf_index *idx)
{
    llm_mem_free(idx->slots);
    idx->slots = NULL;
    idx->cap = 0;
}

llm_status llm_gguf_index_build(llm_gguf_index *idx, const void *items, size_t stride,
                                uint64_t n, llm_error *err)
{
    uint64_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint64_t *slots = llm_calloc(cap, sizeof *slots);
    if (!slots)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory indexing %llu names",
                             (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t h = llm_gguf_hash(name_at(items, stride, i)) & (cap - 1);
        while (slots[h])
            h = (h + 1) & (cap - 1);
        slots[h] = i + 1;
    }
    llm_mem_free(idx->slots);
    idx->slots = slots;
    idx->cap = cap;
    return LLM_OK;
}

int64_t llm_gguf_index_find(const llm_gguf_index *idx, const void *items, size_t stride,
                            const char *name)
{
    if (!idx->cap || !name)
        return -1;
    uint64_t h = llm_gguf_hash(name) & (idx->cap - 1);
    while (idx->slots[h]) {
        uint64_t i = idx->slots[h] - 1;
        if (strcmp(name_at(items, stride, i), name) == 0)
            return (int64_t)i;
        h = (h + 1) & (idx->cap - 1);
    }
    return -1;
}

// ------------------------------------------------------------------------------------------------
// Getters

int64_t llm_gguf_find_key(const llm_gguf *g, const char *key)
{
    if (!g || !key)
        return -1;
    return llm_gguf_index_find(&g->kv_index, g->kv, sizeof g->kv[0], key);
}

const llm_gguf_value *llm_gguf_value_of(const llm_gguf *g, const char *key)
{
    int64_t i = llm_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kv[i].v;
}

uint64_t llm_gguf_n_kv(const llm_gguf *g)
{
    return g ? g->n_kv : 0;
}

const char *llm_gguf_key(const llm_gguf *g, uint64_t i)
{
    return g && i < g->n_kv ? g->kv[i].key : NULL;
}

llm_gguf_type llm_gguf_kv_type(const llm_gguf *g, uint64_t i)
{
    return g && i < g->n_kv ? (llm_gguf_type)g->kv[i].v.type : (llm_gguf_type)-1;
}

/* An integer element as signed or unsigned 64-bit; false for non-integers. */
static bool int_of(uint32_t type, const uint8_t *p, int64_t *s, uint64_t *u, bool *is_signed)
{
    *is_signed = true;
    switch (type) {
    case LLM_GGUF_UINT8: *u = p[0]; *is_signed = false; return true;
    case LLM_GGUF_INT8: *s = (int8_t)p[0]; return true;
    case LLM_GGUF_BOOL: *u = p[0] != 0; *is_signed = false; return true;
    case LLM_GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); *u = x; *is_signed = false; return true; }
    case LLM_GGUF_INT16: { int16_t x; memcpy(&x, p, 2); *s = x; return true; }
    case LLM_GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); *u = x; *is_signed = false; return true; }
    case LLM_GGUF_INT32: { int32_t x; memcpy(&x, p, 4); *s = x; return true; }
    case LLM_GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); *u = x; *is_signed = false; return true; }
    case LLM_GGUF_INT64: { int64_t x; memcpy(&x, p, 8); *s = x; return true; }
    default: return false;
    }
}

static bool to_i64(uint32_t type, const uint8_t *p, int64_t *out)
{
    int64_t s = 0;
    uint64_t u = 0;
    bool sg;
    if (type == LLM_GGUF_BOOL || !int_of(type, p, &s, &u, &sg))
        return false;
    if (!sg) {
        if (u > (uint64_t)INT64_MAX)
            return false;
        s = (int64_t)u;
    }
    *out = s;
    return true;
}

static bool to_f64(uint32_t type, const uint8_t *p, double *out)
{
    if (type == LLM_GGUF_FLOAT32) {
        float f;
        memcpy(&f, p, 4);
        *out = f;
        return true;
    }
    if (type == LLM_GGUF_FLOAT64) {
        memcpy(out, p, 8);
        return true;
    }
    int64_t s = 0;
    uint64_t u = 0;
    bool sg;
    if (type == LLM_GGUF_BOOL || !int_of(type, p, &s, &u, &sg))
        return false;
    *out = sg ? (double)s : (double)u;
    return true;
}

bool llm_gguf_get_u32(const llm_gguf *g, const char *key, uint32_t *out)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    int64_t s = 0;
    uint64_t u = 0;
    bool sg;
    if (!v || v->type == LLM_GGUF_BOOL || !int_of(v->type, v->raw, &s, &u, &sg))
        return false;
    if (sg) {
        if (s < 0 || s > (int64_t)UINT32_MAX)
            return false;
        u = (uint64_t)s;
    }
    if (u > UINT32_MAX)
        return false;
    if (out)
        *out = (uint32_t)u;
    return true;
}

bool llm_gguf_get_i64(const llm_gguf *g, const char *key, int64_t *out)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    int64_t x;
    if (!v || !to_i64(v->type, v->raw, &x))
        return false;
    if (out)
        *out = x;
    return true;
}

bool llm_gguf_get_f32(const llm_gguf *g, const char *key, float *out)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    double d;
    if (!v || !to_f64(v->type, v->raw, &d))
        return false;
    if (out)
        *out = (float)d;
    return true;
}

bool llm_gguf_get_bool(const llm_gguf *g, const char *key, bool *out)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_BOOL)
        return false;
    if (out)
        *out = v->raw[0] != 0;
    return true;
}

bool llm_gguf_get_str(const llm_gguf *g, const char *key, const char **s, size_t *len)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_STRING)
        return false;
    if (s)
        *s = v->str;
    if (len)
        *len = (size_t)v->len;
    return true;
}

bool llm_gguf_get_arr(const llm_gguf *g, const char *key, llm_gguf_type *elem, uint64_t *count)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_ARRAY)
        return false;
    if (elem)
        *elem = (llm_gguf_type)v->elem;
    if (count)
        *count = v->count;
    return true;
}

const char *llm_gguf_arr_str(const llm_gguf *g, const char *key, uint64_t i, size_t *len)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_ARRAY || v->elem != LLM_GGUF_STRING || i >= v->count)
        return NULL;
    const uint64_t *off = v->data;
    if (len)
        *len = (size_t)(off[i + 1] - off[i] - 1);
    return v->pool + off[i];
}

bool llm_gguf_arr_f32(const llm_gguf *g, const char *key, float *dst, uint64_t count)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_ARRAY || count > v->count)
        return false;
    uint64_t sz = llm_gguf_type_size(v->elem);
    if (!sz || v->elem == LLM_GGUF_BOOL)
        return false;
    const uint8_t *p = v->data;
    for (uint64_t i = 0; i < count; i++) {
        double d;
        if (!to_f64(v->elem, p + i * sz, &d))
            return false;
        if (dst)
            dst[i] = (float)d;
    }
    return true;
}

bool llm_gguf_arr_i32(const llm_gguf *g, const char *key, int32_t *dst, uint64_t count)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_ARRAY || count > v->count)
        return false;
    uint64_t sz = llm_gguf_type_size(v->elem);
    if (!sz || v->elem == LLM_GGUF_BOOL || v->elem == LLM_GGUF_FLOAT32 ||
        v->elem == LLM_GGUF_FLOAT64)
        return false;
    const uint8_t *p = v->data;
    for (uint64_t i = 0; i < count; i++) {
        int64_t x;
        if (!to_i64(v->elem, p + i * sz, &x) || x < INT32_MIN || x > INT32_MAX)
            return false;
        if (dst)
            dst[i] = (int32_t)x;
    }
    return true;
}

const void *llm_gguf_arr_data(const llm_gguf *g, const char *key, uint64_t *nbytes)
{
    const llm_gguf_value *v = llm_gguf_value_of(g, key);
    if (!v || v->type != LLM_GGUF_ARRAY || (v->elem != LLM_GGUF_UINT8 && v->elem != LLM_GGUF_INT8))
        return NULL;
    if (nbytes)
        *nbytes = v->count;
    return v->data;
}

// ------------------------------------------------------------------------------------------------
// Tensors

uint64_t llm_gguf_n_tensors(const llm_gguf *g)
{
    return g ? g->n_tensors : 0;
}

const llm_gguf_tensor *llm_gguf_tensor_at(const llm_gguf *g, uint64_t i)
{
    return g && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const llm_gguf_tensor *llm_gguf_find_tensor(const llm_gguf *g, const char *name)
{
    if (!g || !name)
        return NULL;
    int64_t i = llm_gguf_index_find(&g->tensor_index, g->tensors, sizeof g->tensors[0], name);
    return i < 0 ? NULL : &g->tensors[i];
}

uint32_t llm_gguf_version(const llm_gguf *g)
{
    return g ? g->version : 0;
}

uint64_t llm_gguf_alignment(const llm_gguf *g)
{
    return g ? g->alignment : 0;
}

uint64_t llm_gguf_file_size(const llm_gguf *g)
{
    return g ? g->file_size : 0;
}

uint64_t llm_gguf_data_offset(const llm_gguf *g)
{
    return g ? g->data_offset : 0;
}
