/*
 * GGUF builder and writer. A built llm_gguf keeps owned metadata values (the same representation
 * the reader produces) and owned, 64-byte aligned tensor buffers; after every change the layout
 * (tensor offsets, data section offset, file size) is recomputed so that the reader's getters
 * describe exactly the file llm_gguf_write() produces.
 *
 * The file is GGUF v3 as ggml's gguf.cpp writes it: header, key-values in insertion order, tensor
 * infos in insertion order, zero padding to the alignment, then each tensor's data padded with
 * zeros to the alignment. ggml requires tensor offsets to be exactly these running, padded sums
 * and names to be shorter than 64 bytes (GGML_MAX_NAME); both hold by construction.
 *
 * Not done here: streaming tensors that do not fit in memory.
 */
#include "model/gguf_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/dtype.h"

#define GGML_MAX_NAME 64

// ------------------------------------------------------------------------------------------------
// Creation and key storage

llm_status llm_gguf_create(llm_gguf **out, llm_error *err)
{
    if (!out)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_create: out is NULL");
    llm_gguf *g = llm_calloc(1, sizeof *g);
    if (!g) {
        *out = NULL;
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    g->version = 3;
    g->alignment = 32;
    g->builder = true;
    *out = g;
    return llm_gguf_finish(g, err);
}

static llm_status check_builder(const llm_gguf *g, const char *key, llm_error *err)
{
    if (!g)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "GGUF builder is NULL");
    if (!g->builder)
        return llm_error_set(err, LLM_ERR_STATE,
                             "cannot change a GGUF that was opened from a file");
    if (!key || !*key)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "metadata key is NULL or empty");
    return LLM_OK;
}

/* Stores `v` (taken over; freed on failure) under `key`. */
static llm_status put_value(llm_gguf *g, const char *key, llm_gguf_value *v, llm_error *err)
{
    llm_status st = check_builder(g, key, err);
    if (st != LLM_OK) {
        llm_gguf_value_free(v);
        return st;
    }
    if (strcmp(key, "general.alignment") == 0) {
        uint32_t a = 0;
        if (v->type == LLM_GGUF_UINT32)
            memcpy(&a, v->raw, 4);
        if (v->type != LLM_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0) {
            llm_gguf_value_free(v);
            return llm_error_set(err, LLM_ERR_INVALID_ARG,
                                 "general.alignment must be a uint32 power of two");
        }
        g->alignment = a;
    }
    int64_t at = llm_gguf_find_key(g, key);
    if (at >= 0) {
        llm_gguf_value_free(&g->kv[at].v);
        g->kv[at].v = *v;
        return llm_gguf_finish(g, err);
    }
    if (g->n_kv == g->cap_kv) {
        uint64_t cap = g->cap_kv ? 2 * g->cap_kv : 16;
        llm_gguf_kv *kv = llm_realloc(g->kv, cap * sizeof *kv);
        if (!kv) {
            llm_gguf_value_free(v);
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory adding key '%s'", key);
        }
        g->kv = kv;
        g->cap_kv = cap;
    }
    char *k = llm_strdup(key);
    if (!k) {
        llm_gguf_value_free(v);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory adding key '%s'", key);
    }
    g->kv[g->n_kv].key = k;
    g->kv[g->n_kv].v = *v;
    g->n_kv++;
    st = llm_gguf_index_build(&g->kv_index, g->kv, sizeof g->kv[0], g->n_kv, err);
    if (st != LLM_OK)
        return st;
    return llm_gguf_finish(g, err);
}

llm_status llm_gguf_set_scalar(llm_gguf *g, const char *key, llm_gguf_type type,
                               const void *value, llm_error *err)
{
    uint64_t sz = llm_gguf_type_size(type);
    if (!sz || !value)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "key '%s': %s is not a scalar type",
                             key ? key : "(null)", llm_gguf_type_name(type));
    llm_gguf_value v = {0};
    v.type = type;
    memcpy(v.raw, value, sz);
    if (type == LLM_GGUF_BOOL)
        v.raw[0] = v.raw[0] != 0;
    return put_value(g, key, &v, err);
}

llm_status llm_gguf_set_u32(llm_gguf *g, const char *key, uint32_t v, llm_error *err)
{
    return llm_gguf_set_scalar(g, key, LLM_GGUF_UINT32, &v, err);
}

llm_status llm_gguf_set_i32(llm_gguf *g, const char *key, int32_t v, llm_error *err)
{
    return llm_gguf_set_scalar(g, key, LLM_GGUF_INT32, &v, err);
}

llm_status llm_gguf_set_u64(llm_gguf *g, const char *key, uint64_t v, llm_error *err)
{
    return llm_gguf_set_scalar(g, key, LLM_GGUF_UINT64, &v, err);
}

llm_status llm_gguf_set_f32(llm_gguf *g, const char *key, float v, llm_error *err)
{
    return llm_gguf_set_scalar(g, key, LLM_GGUF_FLOAT32, &v, err);
}

llm_status llm_gguf_set_bool(llm_gguf *g, const char *key, bool v, llm_error *err)
{
    uint8_t b = v ? 1 : 0;
    return llm_gguf_set_scalar(g, key, LLM_GGUF_BOOL, &b, err);
}

llm_status llm_gguf_set_str(llm_gguf *g, const char *key, const char *s, size_t len,
                            llm_error *err)
{
    if (!s && len)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "key '%s': string is NULL",
                             key ? key : "(null)");
    llm_gguf_value v = {0};
    v.type = LLM_GGUF_STRING;
    v.str = llm_strndup(s ? s : "", len);
    v.len = len;
    if (!v.str)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    return put_value(g, key, &v, err);
}

llm_status llm_gguf_set_arr(llm_gguf *g, const char *key, llm_gguf_type elem, const void *data,
                            uint64_t count, llm_error *err)
{
    uint64_t sz = llm_gguf_type_size(elem), bytes;
    if (!sz)
        return llm_error_set(err, LLM_ERR_INVALID_ARG,
                             "key '%s': %s arrays are set with llm_gguf_set_arr_str",
                             key ? key : "(null)", llm_gguf_type_name(elem));
    if (!llm_mul_ok(count, sz, &bytes) || bytes > SIZE_MAX || (!data && count))
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "key '%s': bad array of %" PRIu64
                             " elements", key ? key : "(null)", count);
    llm_gguf_value v = {0};
    v.type = LLM_GGUF_ARRAY;
    v.elem = elem;
    v.count = count;
    v.data = llm_malloc(bytes ? (size_t)bytes : 1);
    if (!v.data)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    if (bytes)
        memcpy(v.data, data, (size_t)bytes);
    return put_value(g, key, &v, err);
}

llm_status llm_gguf_set_arr_str(llm_gguf *g, const char *key, const char *const *strs,
                                const size_t *lens, uint64_t count, llm_error *err)
{
    if ((!strs && count) || count >= SIZE_MAX / sizeof(uint64_t))
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "key '%s': bad string array",
                             key ? key : "(null)");
    uint64_t pool = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (!strs[i] && (!lens || lens[i]))
            return llm_error_set(err, LLM_ERR_INVALID_ARG, "key '%s': string %" PRIu64
                                 " is NULL", key ? key : "(null)", i);
        pool += (lens ? lens[i] : strlen(strs[i])) + 1;
    }
    llm_gguf_value v = {0};
    v.type = LLM_GGUF_ARRAY;
    v.elem = LLM_GGUF_STRING;
    v.count = count;
    uint64_t *off = llm_malloc((size_t)(count + 1) * sizeof *off);
    char *pb = llm_malloc(pool ? (size_t)pool : 1);
    v.data = off;
    v.pool = pb;
    if (!off || !pb) {
        llm_gguf_value_free(&v);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    uint64_t o = 0;
    for (uint64_t i = 0; i < count; i++) {
        size_t len = lens ? lens[i] : strlen(strs[i]);
        off[i] = o;
        if (len)
            memcpy(pb + o, strs[i], len);
        pb[o + len] = '\0';
        o += len + 1;
    }
    off[count] = o;
    return put_value(g, key, &v, err);
}

llm_status llm_gguf_copy_kv(llm_gguf *g, const llm_gguf *src, uint64_t i, llm_error *err)
{
    if (!src || i >= src->n_kv)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_copy_kv: no key %" PRIu64, i);
    llm_gguf_value v;
    LLM_TRY(llm_gguf_value_copy(&v, &src->kv[i].v, err));
    return put_value(g, src->kv[i].key, &v, err);
}

bool llm_gguf_remove_key(llm_gguf *g, const char *key)
{
    if (!g || !g->builder)
        return false;
    int64_t at = llm_gguf_find_key(g, key);
    if (at < 0)
        return false;
    if (strcmp(key, "general.alignment") == 0)
        g->alignment = 32;
    llm_mem_free(g->kv[at].key);
    llm_gguf_value_free(&g->kv[at].v);
    memmove(&g->kv[at], &g->kv[at + 1], (size_t)(g->n_kv - (uint64_t)at - 1) * sizeof g->kv[0]);
    g->n_kv--;
    /* Rebuilding cannot fail for lack of memory in a way that matters: on failure the old index
     * is kept, so fall back to a full rebuild attempt and leave the key removed either way. */
    if (llm_gguf_index_build(&g->kv_index, g->kv, sizeof g->kv[0], g->n_kv, NULL) != LLM_OK)
        llm_gguf_index_free(&g->kv_index);
    llm_gguf_finish(g, NULL);
    return true;
}

// ------------------------------------------------------------------------------------------------
// Tensors

static llm_status tensor_bytes(const char *name, uint32_t type, uint32_t n_dims,
                               const uint64_t *ne, uint64_t *nbytes, llm_error *err)
{
    const llm_dtype_traits *tr = llm_dtype_get(type);
    if (!tr || !tr->name)
        return llm_error_set(err, LLM_ERR_UNSUPPORTED, "tensor '%s': unknown type %" PRIu32,
                             name, type);
    if (n_dims < 1 || n_dims > 4 || !ne)
        return llm_error_set(err, LLM_ERR_INVALID_ARG,
                             "tensor '%s': %" PRIu32 " dimensions, expected 1 to 4", name, n_dims);
    uint64_t rows = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0 || ne[d] > (uint64_t)INT64_MAX)
            return llm_error_set(err, LLM_ERR_INVALID_ARG,
                                 "tensor '%s': dimension %" PRIu32 " is %" PRIu64, name, d, ne[d]);
        if (d > 0 && !llm_mul_ok(rows, ne[d], &rows))
            return llm_error_set(err, LLM_ERR_INVALID_ARG, "tensor '%s': shape overflows", name);
    }
    if (ne[0] % tr->block_size != 0)
        return llm_error_set(err, LLM_ERR_INVALID_ARG,
                             "tensor '%s': row length %" PRIu64
                             " is not a multiple of the %s block size %" PRIu32,
                             name, ne[0], tr->name, tr->block_size);
    uint64_t row = llm_dtype_row_bytes(type, ne[0]);
    if (!row || !llm_mul_ok(row, rows, nbytes) || *nbytes > SIZE_MAX / 2)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "tensor '%s': byte size overflows", name);
    return LLM_OK;
}

llm_status llm_gguf_add_tensor_owned(llm_gguf *g, const char *name, uint32_t type,
                                     uint32_t n_dims, const uint64_t *ne, void *data,
                                     llm_error *err)
{
    llm_status st = LLM_OK;
    uint64_t nbytes = 0;
    if (!g || !g->builder) {
        st = llm_error_set(err, g ? LLM_ERR_STATE : LLM_ERR_INVALID_ARG,
                           "cannot add a tensor to a GGUF that was opened from a file");
        goto fail;
    }
    if (!name || !*name || strlen(name) >= GGML_MAX_NAME) {
        st = llm_error_set(err, LLM_ERR_INVALID_ARG,
                           "tensor name '%s' is empty or longer than %d bytes",
                           name ? name : "(null)", GGML_MAX_NAME - 1);
        goto fail;
    }
    if (!data) {
        st = llm_error_set(err, LLM_ERR_INVALID_ARG, "tensor '%s': data is NULL", name);
        goto fail;
    }
    if (llm_gguf_find_tensor(g, name)) {
        st = llm_error_set(err, LLM_ERR_INVALID_ARG, "duplicate tensor name '%s'", name);
        goto fail;
    }
    st = tensor_bytes(name, type, n_dims, ne, &nbytes, err);
    if (st != LLM_OK)
        goto fail;
    if (g->n_tensors == g->cap_tensors) {
        uint64_t cap = g->cap_tensors ? 2 * g->cap_tensors : 16;
        llm_gguf_tensor *t = llm_realloc(g->tensors, cap * sizeof *t);
        if (!t) {
            st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory adding tensor '%s'", name);
            goto fail;
        }
        g->tensors = t;
        g->cap_tensors = cap;
    }
    char *nm = llm_strdup(name);
    if (!nm) {
        st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory adding tensor '%s'", name);
        goto fail;
    }
    llm_gguf_tensor *t = &g->tensors[g->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < 4; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nbytes = nbytes;
    t->data = data;
    LLM_TRY(llm_gguf_index_build(&g->tensor_index, g->tensors, sizeof g->tensors[0],
                                 g->n_tensors, err));
    return llm_gguf_finish(g, err);
fail:
    llm_aligned_free(data);
    return st;
}

llm_status llm_gguf_add_tensor(llm_gguf *g, const char *name, uint32_t type, uint32_t n_dims,
                               const uint64_t *ne, const void *data, llm_error *err)
{
    uint64_t nbytes;
    LLM_TRY(tensor_bytes(name ? name : "(null)", type, n_dims, ne, &nbytes, err));
    if (!data)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "tensor '%s': data is NULL",
                             name ? name : "(null)");
    void *copy = llm_aligned_alloc((size_t)nbytes);
    if (!copy)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for tensor '%s' (%" PRIu64
                             " bytes)", name ? name : "(null)", nbytes);
    memcpy(copy, data, (size_t)nbytes);
    return llm_gguf_add_tensor_owned(g, name, type, n_dims, ne, copy, err);
}

llm_status llm_gguf_convert_tensor(llm_gguf *g, uint64_t i, uint32_t type, llm_error *err)
{
    if (!g || !g->builder || i >= g->n_tensors)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_convert_tensor: no tensor %"
                             PRIu64 " in a built GGUF", i);
    llm_gguf_tensor *t = &g->tensors[i];
    if (t->type == type)
        return LLM_OK;
    uint64_t nbytes;
    LLM_TRY(tensor_bytes(t->name, type, t->n_dims, t->ne, &nbytes, err));
    const llm_dtype_traits *src = llm_dtype_get(t->type);
    uint64_t n_row = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3];
    uint64_t src_row = llm_dtype_row_bytes(t->type, n_row);
    uint64_t dst_row = llm_dtype_row_bytes(type, n_row);
    float *tmp = llm_malloc((size_t)n_row * sizeof *tmp);
    uint8_t *dst = llm_aligned_alloc((size_t)nbytes);
    if (!tmp || !dst) {
        llm_mem_free(tmp);
        llm_aligned_free(dst);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory converting tensor '%s'", t->name);
    }
    const uint8_t *s = t->data;
    for (uint64_t r = 0; r < rows; r++) {
        llm_dequantize_row(t->type, s + r * src_row, tmp, (int64_t)n_row);
        if (!llm_quantize_row(type, tmp, dst + r * dst_row, (int64_t)n_row)) {
            const llm_dtype_traits *dt = llm_dtype_get(type);
            llm_mem_free(tmp);
            llm_aligned_free(dst);
            return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                 "tensor '%s': cannot write type %s (from %s)", t->name,
                                 dt && dt->name ? dt->name : "?", src ? src->name : "?");
        }
    }
    llm_mem_free(tmp);
    llm_aligned_free((void *)t->data);
    t->data = dst;
    t->type = type;
    t->nbytes = nbytes;
    return llm_gguf_finish(g, err);
}

// ------------------------------------------------------------------------------------------------
// Serialization. One routine both measures (f == NULL) and writes.

/* Writes go to a FILE, or into `mem` (of `cap` bytes), or nowhere (measuring). */
typedef struct sink {
    FILE *f;
    uint8_t *mem;
    uint64_t cap;
    uint64_t n;
    bool failed;
} sink;

static void put(sink *s, const void *p, uint64_t n)
{
    if (s->f && !s->failed && n && fwrite(p, 1, (size_t)n, s->f) != n)
        s->failed = true;
    if (s->mem && !s->failed && n) {
        if (n > s->cap - s->n)
            s->failed = true;
        else
            memcpy(s->mem + s->n, p, (size_t)n);
    }
    s->n += n;
}

static void put_u32(sink *s, uint32_t v)
{
    put(s, &v, 4);
}

static void put_u64(sink *s, uint64_t v)
{
    put(s, &v, 8);
}

static void put_str(sink *s, const char *p, uint64_t len)
{
    put_u64(s, len);
    put(s, p, len);
}

static void put_zeros(sink *s, uint64_t n)
{
    static const uint8_t zeros[64];
    while (n) {
        uint64_t k = n < sizeof zeros ? n : sizeof zeros;
        put(s, zeros, k);
        n -= k;
    }
}

/* The body of an array value: element type, count, elements. */
static void put_array(sink *s, const llm_gguf_value *v)
{
    put_u32(s, v->elem);
    put_u64(s, v->count);
    if (v->elem == LLM_GGUF_ARRAY) {
        const llm_gguf_value *kids = v->data;
        for (uint64_t i = 0; i < v->count; i++)
            put_array(s, &kids[i]);
    } else if (v->elem == LLM_GGUF_STRING) {
        const uint64_t *off = v->data;
        for (uint64_t i = 0; i < v->count; i++)
            put_str(s, v->pool + off[i], off[i + 1] - off[i] - 1);
    } else {
        put(s, v->data, v->count * llm_gguf_type_size(v->elem));
    }
}

static void put_header(sink *s, const llm_gguf *g)
{
    put(s, "GGUF", 4);
    put_u32(s, 3);
    put_u64(s, g->n_tensors);
    put_u64(s, g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const llm_gguf_value *v = &g->kv[i].v;
        put_str(s, g->kv[i].key, strlen(g->kv[i].key));
        put_u32(s, v->type);
        if (v->type == LLM_GGUF_STRING)
            put_str(s, v->str, v->len);
        else if (v->type == LLM_GGUF_ARRAY)
            put_array(s, v);
        else
            put(s, v->raw, llm_gguf_type_size(v->type));
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const llm_gguf_tensor *t = &g->tensors[i];
        put_str(s, t->name, strlen(t->name));
        put_u32(s, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_u64(s, t->ne[d]);
        put_u32(s, t->type);
        put_u64(s, t->offset);
    }
}

static uint64_t pad_to(uint64_t x, uint64_t a)
{
    return (a - x % a) % a;
}

llm_status llm_gguf_finish(llm_gguf *g, llm_error *err)
{
    if (!g)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_finish: NULL");
    if (!g->builder)
        return LLM_OK;
    uint64_t off = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        g->tensors[i].offset = off;
        off += g->tensors[i].nbytes + pad_to(g->tensors[i].nbytes, g->alignment);
    }
    sink s = {0};
    put_header(&s, g);
    g->data_offset = s.n + pad_to(s.n, g->alignment);
    /* Like gguf-py, a file without tensors ends right after its metadata, unpadded. */
    g->file_size = g->n_tensors ? g->data_offset + off : s.n;
    return LLM_OK;
}

static llm_status write_stream(llm_gguf *g, FILE *f, uint8_t *mem, const char *what,
                               llm_error *err)
{
    LLM_TRY(llm_gguf_finish(g, err));
    sink s = {.f = f, .mem = mem, .cap = mem ? g->file_size : 0};
    put_header(&s, g);
    if (g->n_tensors)
        put_zeros(&s, g->data_offset - s.n);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const llm_gguf_tensor *t = &g->tensors[i];
        put(&s, t->data, t->nbytes);
        put_zeros(&s, pad_to(t->nbytes, g->alignment));
    }
    if (s.failed || s.n != g->file_size)
        return llm_error_set(err, LLM_ERR_IO, "%s: write failed after %" PRIu64 " bytes: %s",
                             what, s.n, strerror(errno));
    return LLM_OK;
}

llm_status llm_gguf_write(llm_gguf *g, const char *path, llm_error *err)
{
    if (!g || !path)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_write: NULL argument");
    if (!g->builder)
        return llm_error_set(err, LLM_ERR_STATE, "llm_gguf_write: only a built GGUF is written");
    size_t n = strlen(path);
    char *tmp = llm_malloc(n + 16);
    if (!tmp)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp%d", path, (int)(getpid() % 100000));
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        llm_status st = llm_error_set(err, LLM_ERR_IO, "%s: cannot create: %s", tmp,
                                      strerror(errno));
        llm_mem_free(tmp);
        return st;
    }
    llm_status st = write_stream(g, f, NULL, path, err);
    if (fclose(f) != 0 && st == LLM_OK)
        st = llm_error_set(err, LLM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (st == LLM_OK && rename(tmp, path) != 0)
        st = llm_error_set(err, LLM_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp,
                           strerror(errno));
    if (st != LLM_OK)
        remove(tmp);
    llm_mem_free(tmp);
    return st;
}

llm_status llm_gguf_write_memory(llm_gguf *g, void **data, size_t *size, llm_error *err)
{
    if (!g || !data || !size)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_write_memory: NULL argument");
    *data = NULL;
    *size = 0;
    if (!g->builder)
        return llm_error_set(err, LLM_ERR_STATE,
                             "llm_gguf_write_memory: only a built GGUF is written");
    LLM_TRY(llm_gguf_finish(g, err));
    if (g->file_size > SIZE_MAX)
        return llm_error_set(err, LLM_ERR_NOMEM, "GGUF of %" PRIu64 " bytes is too large",
                             g->file_size);
    void *buf = llm_malloc((size_t)g->file_size);
    if (!buf)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for %" PRIu64 " bytes",
                             g->file_size);
    llm_status st = write_stream(g, NULL, buf, "memory", err);
    if (st != LLM_OK) {
        llm_mem_free(buf);
        return st;
    }
    *data = buf;
    *size = (size_t)g->file_size;
    return LLM_OK;
}
