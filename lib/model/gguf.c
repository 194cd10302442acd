/*
 * GGUF reader, versions 2 and 3 (little endian), after ggml's docs/gguf.md:
 *
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
 *   n_kv  x { string key, u32 type, value }            string = u64 length + bytes (no NUL)
 *   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
 *   padding to general.alignment (default 32), then the data section; tensor offsets are
 *   relative to it and multiples of the alignment.
 *
 * Every length, count, offset and shape is untrusted. Each one is checked with overflow-safe
 * arithmetic against what is left of the file and against the caller's limits before anything is
 * allocated or dereferenced, and each failure names the field, the byte offset and what was
 * expected. Metadata is copied into owned values (gguf_meta.c); tensor data stays in the mapping
 * (or in the buffer the file was read into) and is never copied.
 *
 * Not done here: big-endian files (reported as unsupported), GGUF v1, interpreting metadata.
 */
#include "model/gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/dtype.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32

void llm_gguf_limits_default(llm_gguf_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->max_file_bytes = 0;
    lim->max_tensor_count = 65536;
    lim->max_kv_count = 65536;
    lim->max_array_length = 16u << 20;
    lim->max_string_length = 16u << 20;
    lim->load_mode = 0;
}

// ------------------------------------------------------------------------------------------------
// Cursor over the file bytes

typedef struct rd {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    const llm_gguf_limits *lim;
    llm_error *err;
} rd;

static uint64_t rd_left(const rd *r)
{
    return r->size - r->pos;
}

static llm_status rd_need(rd *r, uint64_t n, const char *what)
{
    if (n > rd_left(r))
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": %s needs %" PRIu64 " bytes but the file ends "
                             "after %" PRIu64 " (file size %" PRIu64 ")",
                             r->pos, what, n, rd_left(r), r->size);
    return LLM_OK;
}

static llm_status rd_u32(rd *r, uint32_t *out, const char *what)
{
    LLM_TRY(rd_need(r, 4, what));
    memcpy(out, r->p + r->pos, 4);
    r->pos += 4;
    return LLM_OK;
}

static llm_status rd_u64(rd *r, uint64_t *out, const char *what)
{
    LLM_TRY(rd_need(r, 8, what));
    memcpy(out, r->p + r->pos, 8);
    r->pos += 8;
    return LLM_OK;
}

/* A string's length and position, validated (length within limits and the file); the cursor
 * moves past it. `what` names it in messages. */
static llm_status rd_str_span(rd *r, uint64_t *start, uint64_t *len, const char *what)
{
    uint64_t at = r->pos;
    LLM_TRY(rd_u64(r, len, what));
    if (r->lim->max_string_length && *len > r->lim->max_string_length)
        return llm_error_set(r->err, LLM_ERR_LIMIT,
                             "offset %" PRIu64 ": %s has length %" PRIu64
                             ", above the limit of %" PRIu64 " bytes",
                             at, what, *len, r->lim->max_string_length);
    if (*len > rd_left(r))
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": %s has length %" PRIu64
                             " but only %" PRIu64 " bytes are left in the file (size %" PRIu64 ")",
                             at, what, *len, rd_left(r), r->size);
    *start = r->pos;
    r->pos += *len;
    return LLM_OK;
}

/* A name (key or tensor name): non-empty, no NUL inside; copied. */
static llm_status rd_name(rd *r, char **out, const char *what)
{
    uint64_t at = r->pos, start, len;
    LLM_TRY(rd_str_span(r, &start, &len, what));
    if (len == 0)
        return llm_error_set(r->err, LLM_ERR_FORMAT, "offset %" PRIu64 ": %s is empty", at,
                             what);
    if (memchr(r->p + start, '\0', len))
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": %s contains a NUL byte", at, what);
    *out = llm_strndup((const char *)r->p + start, len);
    if (!*out)
        return llm_error_set(r->err, LLM_ERR_NOMEM, "out of memory reading %s", what);
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// Metadata values

static llm_status rd_value(rd *r, uint32_t type, llm_gguf_value *v, const char *key, int depth);

static llm_status rd_array(rd *r, llm_gguf_value *v, const char *key, int depth)
{
    uint64_t at = r->pos;
    uint32_t elem;
    uint64_t count;
    LLM_TRY(rd_u32(r, &elem, "array element type"));
    LLM_TRY(rd_u64(r, &count, "array length"));
    if (elem > LLM_GGUF_FLOAT64)
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": key '%s': array element type %" PRIu32
                             " is not a GGUF type (0..12)",
                             at, key, elem);
    if (elem == LLM_GGUF_ARRAY && depth + 1 >= LLM_GGUF_MAX_DEPTH)
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": key '%s': arrays nested deeper than %d", at, key,
                             LLM_GGUF_MAX_DEPTH);
    if (r->lim->max_array_length && count > r->lim->max_array_length)
        return llm_error_set(r->err, LLM_ERR_LIMIT,
                             "offset %" PRIu64 ": key '%s': array of %" PRIu64
                             " elements, above the limit of %" PRIu64,
                             at, key, count, r->lim->max_array_length);
    /* Smallest encoding of one element: fixed size, 8 (string length), 12 (array header). */
    uint64_t min_elem = llm_gguf_type_size(elem);
    if (elem == LLM_GGUF_STRING)
        min_elem = 8;
    else if (elem == LLM_GGUF_ARRAY)
        min_elem = 12;
    uint64_t min_bytes;
    if (!llm_mul_ok(count, min_elem, &min_bytes) || min_bytes > rd_left(r))
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": key '%s': array of %" PRIu64 " %s elements "
                             "needs at least %" PRIu64 " x %" PRIu64
                             " bytes but only %" PRIu64 " are left in the file",
                             at, key, count, llm_gguf_type_name(elem), count, min_elem,
                             rd_left(r));
    v->type = LLM_GGUF_ARRAY;
    v->elem = elem;
    v->count = 0;

    if (elem == LLM_GGUF_ARRAY) {
        llm_gguf_value *kids = llm_calloc(count ? count : 1, sizeof *kids);
        if (!kids)
            return llm_error_set(r->err, LLM_ERR_NOMEM, "key '%s': out of memory", key);
        v->data = kids;
        for (uint64_t i = 0; i < count; i++) {
            /* Each element is a whole array value: element type, count, elements. */
            v->count = i + 1;
            LLM_TRY(rd_array(r, &kids[i], key, depth + 1));
        }
        return LLM_OK;
    }

    if (elem == LLM_GGUF_STRING) {
        /* Pass 1: validate every length and size the pool. */
        uint64_t start = r->pos, pool = 0;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t s, len, t;
            /* The fast path checks inline; the message is only formatted on failure. */
            if (rd_left(r) >= 8) {
                memcpy(&len, r->p + r->pos, 8);
                if (len <= rd_left(r) - 8 &&
                    (!r->lim->max_string_length || len <= r->lim->max_string_length)) {
                    r->pos += 8 + len;
                    if (!llm_add_ok(pool, len + 1, &t))
                        return llm_error_set(r->err, LLM_ERR_FORMAT,
                                             "key '%s': string array too large", key);
                    pool = t;
                    continue;
                }
            }
            char what[64];
            snprintf(what, sizeof what, "element %" PRIu64 " of the string array", i);
            llm_status st = rd_str_span(r, &s, &len, what);
            if (st != LLM_OK) {
                llm_error_prefix(r->err, "key '%s'", key);
                return st;
            }
            if (!llm_add_ok(pool, len + 1, &t))
                return llm_error_set(r->err, LLM_ERR_FORMAT, "key '%s': string array too large",
                                     key);
            pool = t;
        }
        uint64_t *off = llm_malloc((count + 1) * sizeof *off);
        char *pb = llm_malloc(pool ? pool : 1);
        if (!off || !pb) {
            llm_mem_free(off);
            llm_mem_free(pb);
            return llm_error_set(r->err, LLM_ERR_NOMEM,
                                 "key '%s': out of memory for %" PRIu64 " strings", key, count);
        }
        /* Pass 2: copy (already validated). */
        r->pos = start;
        uint64_t o = 0;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t len;
            memcpy(&len, r->p + r->pos, 8);
            r->pos += 8;
            off[i] = o;
            memcpy(pb + o, r->p + r->pos, len);
            pb[o + len] = '\0';
            o += len + 1;
            r->pos += len;
        }
        off[count] = o;
        v->data = off;
        v->pool = pb;
        v->count = count;
        return LLM_OK;
    }

    /* Fixed-size elements: one copy. min_bytes is the exact size here. */
    v->data = llm_malloc(min_bytes ? min_bytes : 1);
    if (!v->data)
        return llm_error_set(r->err, LLM_ERR_NOMEM, "key '%s': out of memory for %" PRIu64
                             " bytes", key, min_bytes);
    memcpy(v->data, r->p + r->pos, min_bytes);
    r->pos += min_bytes;
    v->count = count;
    return LLM_OK;
}

static llm_status rd_value(rd *r, uint32_t type, llm_gguf_value *v, const char *key, int depth)
{
    memset(v, 0, sizeof *v);
    uint64_t at = r->pos;
    if (type == LLM_GGUF_STRING) {
        uint64_t start, len;
        char what[96];
        snprintf(what, sizeof what, "value of key '%.60s'", key);
        LLM_TRY(rd_str_span(r, &start, &len, what));
        v->type = LLM_GGUF_STRING;
        v->str = llm_strndup((const char *)r->p + start, len);
        v->len = len;
        if (!v->str)
            return llm_error_set(r->err, LLM_ERR_NOMEM, "key '%s': out of memory", key);
        return LLM_OK;
    }
    if (type == LLM_GGUF_ARRAY)
        return rd_array(r, v, key, depth);
    uint64_t sz = llm_gguf_type_size(type);
    if (!sz)
        return llm_error_set(r->err, LLM_ERR_FORMAT,
                             "offset %" PRIu64 ": key '%s': value type %" PRIu32
                             " is not a GGUF type (0..12)",
                             at - 4, key, type);
    char what[96];
    snprintf(what, sizeof what, "value of key '%.60s'", key);
    LLM_TRY(rd_need(r, sz, what));
    v->type = type;
    memcpy(v->raw, r->p + r->pos, sz);
    r->pos += sz;
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// Closing

static void gguf_free_contents(llm_gguf *g)
{
    for (uint64_t i = 0; i < g->n_kv; i++) {
        llm_mem_free(g->kv[i].key);
        llm_gguf_value_free(&g->kv[i].v);
    }
    llm_mem_free(g->kv);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        llm_mem_free((char *)g->tensors[i].name);
        if (g->builder)
            llm_aligned_free((void *)g->tensors[i].data);
    }
    llm_mem_free(g->tensors);
    llm_gguf_index_free(&g->kv_index);
    llm_gguf_index_free(&g->tensor_index);
    if (g->map)
        munmap(g->map, g->map_size);
    llm_aligned_free(g->buf);
}

void llm_gguf_close(llm_gguf *g)
{
    if (!g)
        return;
    gguf_free_contents(g);
    llm_mem_free(g);
}

// ------------------------------------------------------------------------------------------------
// Parsing

static llm_status parse_header(llm_gguf *g, rd *r, uint64_t *n_tensors, uint64_t *n_kv)
{
    llm_error *err = r->err;
    if (r->size < 4 || memcmp(r->p, GGUF_MAGIC, 4) != 0) {
        if (r->size < 4)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "file of %" PRIu64 " bytes is too short for the GGUF magic",
                                 r->size);
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "offset 0: magic is %02x %02x %02x %02x, expected \"GGUF\" "
                             "(47 47 55 46): not a GGUF file",
                             r->p[0], r->p[1], r->p[2], r->p[3]);
    }
    r->pos = 4;
    LLM_TRY(rd_u32(r, &g->version, "version"));
    if (g->version != 2 && g->version != 3) {
        if (g->version == 1)
            return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                 "offset 4: GGUF version 1 is not supported (expected 2 or 3)");
        if ((g->version & 0xffff) == 0 && (g->version >> 24) >= 1 && (g->version >> 24) <= 3)
            return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                 "offset 4: version field 0x%08" PRIx32
                                 " looks like a big-endian GGUF file, which is not supported",
                                 g->version);
        return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                             "offset 4: GGUF version %" PRIu32 " is not supported (expected 2 or 3)",
                             g->version);
    }
    LLM_TRY(rd_u64(r, n_tensors, "tensor count"));
    LLM_TRY(rd_u64(r, n_kv, "metadata count"));
    const llm_gguf_limits *lim = r->lim;
    if (lim->max_tensor_count && *n_tensors > lim->max_tensor_count)
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "offset 8: tensor count %" PRIu64 " is above the limit of %" PRIu64,
                             *n_tensors, lim->max_tensor_count);
    if (lim->max_kv_count && *n_kv > lim->max_kv_count)
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "offset 16: metadata count %" PRIu64 " is above the limit of %" PRIu64,
                             *n_kv, lim->max_kv_count);
    /* A key-value takes at least 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8. */
    if (*n_kv > rd_left(r) / 14)
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "offset 16: metadata count %" PRIu64
                             " cannot fit in the %" PRIu64 " bytes left in the file",
                             *n_kv, rd_left(r));
    if (*n_tensors > rd_left(r) / 33)
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "offset 8: tensor count %" PRIu64
                             " cannot fit in the %" PRIu64 " bytes left in the file",
                             *n_tensors, rd_left(r));
    return LLM_OK;
}

static llm_status parse_kvs(llm_gguf *g, rd *r, uint64_t n_kv)
{
    llm_error *err = r->err;
    g->kv = llm_calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    if (!g->kv)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for %" PRIu64 " keys", n_kv);
    g->cap_kv = n_kv;
    /* The index is filled as keys arrive so duplicates are found in O(1). */
    uint64_t cap = 16;
    while (cap < 2 * n_kv)
        cap *= 2;
    g->kv_index.slots = llm_calloc(cap, sizeof(uint64_t));
    g->kv_index.cap = g->kv_index.slots ? cap : 0;
    if (!g->kv_index.slots)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory indexing keys");

    for (uint64_t i = 0; i < n_kv; i++) {
        uint64_t at = r->pos;
        char what[64];
        snprintf(what, sizeof what, "key %" PRIu64, i);
        char *key = NULL;
        LLM_TRY(rd_name(r, &key, what));
        g->kv[i].key = key;
        g->n_kv = i + 1;
        if (llm_gguf_index_find(&g->kv_index, g->kv, sizeof g->kv[0], key) >= 0)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "offset %" PRIu64 ": duplicate key '%s'", at, key);
        uint64_t h = llm_gguf_hash(key) & (cap - 1);
        while (g->kv_index.slots[h])
            h = (h + 1) & (cap - 1);
        g->kv_index.slots[h] = i + 1;

        uint32_t type;
        char twhat[96];
        snprintf(twhat, sizeof twhat, "type of key '%.60s'", key);
        LLM_TRY(rd_u32(r, &type, twhat));
        LLM_TRY(rd_value(r, type, &g->kv[i].v, key, 0));
    }

    /* general.alignment: a uint32 power of two. */
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const llm_gguf_value *al = llm_gguf_value_of(g, "general.alignment");
    if (al) {
        if (al->type != LLM_GGUF_UINT32)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "key 'general.alignment' has type %s, expected uint32",
                                 llm_gguf_type_name(al->type));
        uint32_t a;
        memcpy(&a, al->raw, 4);
        if (a == 0 || (a & (a - 1)) != 0)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "key 'general.alignment' is %" PRIu32
                                 ", expected a power of two",
                                 a);
        g->alignment = a;
    }
    return LLM_OK;
}

static llm_status parse_tensor_infos(llm_gguf *g, rd *r, uint64_t n_tensors)
{
    llm_error *err = r->err;
    g->tensors = llm_calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    if (!g->tensors)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for %" PRIu64 " tensors",
                             n_tensors);
    g->cap_tensors = n_tensors;
    uint64_t cap = 16;
    while (cap < 2 * n_tensors)
        cap *= 2;
    g->tensor_index.slots = llm_calloc(cap, sizeof(uint64_t));
    if (!g->tensor_index.slots)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory indexing tensors");
    g->tensor_index.cap = cap;

    for (uint64_t i = 0; i < n_tensors; i++) {
        uint64_t at = r->pos;
        char what[64];
        snprintf(what, sizeof what, "name of tensor %" PRIu64, i);
        char *name = NULL;
        LLM_TRY(rd_name(r, &name, what));
        llm_gguf_tensor *t = &g->tensors[i];
        t->name = name;
        g->n_tensors = i + 1;
        if (llm_gguf_find_tensor(g, name))
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "offset %" PRIu64 ": duplicate tensor name '%s'", at, name);
        uint64_t h = llm_gguf_hash(name) & (cap - 1);
        while (g->tensor_index.slots[h])
            h = (h + 1) & (cap - 1);
        g->tensor_index.slots[h] = i + 1;

        uint64_t dims_at = r->pos;
        LLM_TRY(rd_u32(r, &t->n_dims, "tensor dimension count"));
        if (t->n_dims < 1 || t->n_dims > 4)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "offset %" PRIu64 ": tensor '%s' has %" PRIu32
                                 " dimensions, expected 1 to 4",
                                 dims_at, name, t->n_dims);
        uint64_t n_elem = 1;
        for (uint32_t d = 0; d < 4; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne_at = r->pos;
            LLM_TRY(rd_u64(r, &t->ne[d], "tensor dimension"));
            if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
                return llm_error_set(err, LLM_ERR_FORMAT,
                                     "offset %" PRIu64 ": tensor '%s' dimension %" PRIu32
                                     " is %" PRIu64 ", expected 1 to 2^63-1",
                                     ne_at, name, d, t->ne[d]);
            if (!llm_mul_ok(n_elem, t->ne[d], &n_elem) || n_elem > (uint64_t)INT64_MAX)
                return llm_error_set(err, LLM_ERR_FORMAT,
                                     "offset %" PRIu64 ": tensor '%s': element count overflows "
                                     "at dimension %" PRIu32,
                                     ne_at, name, d);
        }
        uint64_t type_at = r->pos;
        LLM_TRY(rd_u32(r, &t->type, "tensor type"));
        LLM_TRY(rd_u64(r, &t->offset, "tensor data offset"));
        const llm_dtype_traits *tr = llm_dtype_get(t->type);
        if (!tr || !tr->name)
            return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                 "offset %" PRIu64 ": tensor '%s' has unknown type %" PRIu32,
                                 type_at, name, t->type);
        if (t->ne[0] % tr->block_size != 0)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "offset %" PRIu64 ": tensor '%s': row length %" PRIu64
                                 " is not a multiple of the %s block size %" PRIu32,
                                 dims_at + 4, name, t->ne[0], tr->name, tr->block_size);
        uint64_t row = llm_dtype_row_bytes(t->type, t->ne[0]);
        uint64_t rows = n_elem / t->ne[0];
        if (row == 0 || !llm_mul_ok(row, rows, &t->nbytes))
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "offset %" PRIu64 ": tensor '%s': byte size of %" PRIu64
                                 " %s elements overflows",
                                 dims_at + 4, name, n_elem, tr->name);
        if (t->offset % g->alignment != 0)
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "offset %" PRIu64 ": tensor '%s' data offset %" PRIu64
                                 " is not a multiple of the alignment %" PRIu64,
                                 type_at + 4, name, t->offset, g->alignment);
    }
    return LLM_OK;
}

/* Parses the whole file held at data[0..size), which stays alive as long as g. */
static llm_status parse(llm_gguf *g, const uint8_t *data, uint64_t size,
                        const llm_gguf_limits *lim, llm_error *err)
{
    rd r = {.p = data, .size = size, .pos = 0, .lim = lim, .err = err};
    uint64_t n_tensors, n_kv;
    g->file_size = size;
    LLM_TRY(parse_header(g, &r, &n_tensors, &n_kv));
    LLM_TRY(parse_kvs(g, &r, n_kv));
    LLM_TRY(parse_tensor_infos(g, &r, n_tensors));

    uint64_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
    if (!llm_add_ok(r.pos, pad, &g->data_offset))
        return llm_error_set(err, LLM_ERR_FORMAT, "data section offset overflows");
    uint64_t avail = size > g->data_offset ? size - g->data_offset : 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        llm_gguf_tensor *t = &g->tensors[i];
        uint64_t end;
        if (!llm_add_ok(t->offset, t->nbytes, &end) || end > avail) {
            uint64_t abs_start = 0, abs_end = 0;
            bool ok = llm_add_ok(g->data_offset, t->offset, &abs_start) &&
                      llm_add_ok(abs_start, t->nbytes, &abs_end);
            if (ok)
                return llm_error_set(err, LLM_ERR_FORMAT,
                                     "tensor '%s': data range [%" PRIu64 ", %" PRIu64
                                     ") ends past the end of the file (%" PRIu64 " bytes)",
                                     t->name, abs_start, abs_end, size);
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "tensor '%s': data offset %" PRIu64 " + %" PRIu64
                                 " bytes overflows (file has %" PRIu64 " bytes)",
                                 t->name, t->offset, t->nbytes, size);
        }
        t->data = data + g->data_offset + t->offset;
    }
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// Opening

static llm_status gguf_new(llm_gguf **out, llm_error *err)
{
    *out = llm_calloc(1, sizeof **out);
    if (!*out)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    (*out)->alignment = GGUF_DEFAULT_ALIGNMENT;
    return LLM_OK;
}

llm_status llm_gguf_open_memory(const void *data, size_t size, const llm_gguf_limits *lim,
                                llm_gguf **out, llm_error *err)
{
    llm_gguf_limits dl;
    if (!out)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_open_memory: data is NULL");
    if (!lim) {
        llm_gguf_limits_default(&dl);
        lim = &dl;
    }
    if (lim->max_file_bytes && size > lim->max_file_bytes)
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "buffer of %zu bytes is above the limit of %" PRIu64, size,
                             lim->max_file_bytes);
    llm_gguf *g;
    LLM_TRY(gguf_new(&g, err));
    g->buf = llm_aligned_alloc(size ? size : 1);
    if (!g->buf) {
        llm_gguf_close(g);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory copying %zu bytes", size);
    }
    if (size)
        memcpy(g->buf, data, size);
    llm_status st = parse(g, g->buf, size, lim, err);
    if (st != LLM_OK) {
        llm_gguf_close(g);
        return st;
    }
    *out = g;
    return LLM_OK;
}

static llm_status read_all(int fd, void *dst, uint64_t size, const char *path, llm_error *err)
{
    uint8_t *p = dst;
    uint64_t done = 0;
    while (done < size) {
        uint64_t want = size - done;
        if (want > (1u << 30))
            want = 1u << 30;
        ssize_t n = pread(fd, p + done, (size_t)want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return llm_error_set(err, LLM_ERR_IO, "%s: read failed at offset %" PRIu64 ": %s",
                                 path, done, strerror(errno));
        if (n == 0)
            return llm_error_set(err, LLM_ERR_IO,
                                 "%s: file shrank while reading (got %" PRIu64 " of %" PRIu64
                                 " bytes)",
                                 path, done, size);
        done += (uint64_t)n;
    }
    return LLM_OK;
}

llm_status llm_gguf_open(const char *path, const llm_gguf_limits *lim, llm_gguf **out,
                         llm_error *err)
{
    llm_gguf_limits dl;
    if (!out)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_open: out is NULL");
    *out = NULL;
    if (!path)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_open: path is NULL");
    if (!lim) {
        llm_gguf_limits_default(&dl);
        lim = &dl;
    }
    if (lim->load_mode < 0 || lim->load_mode > 2)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "load mode %d is not 0, 1 or 2",
                             lim->load_mode);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return llm_error_set(err, LLM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return llm_error_set(err, LLM_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return llm_error_set(err, LLM_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (lim->max_file_bytes && size > lim->max_file_bytes) {
        close(fd);
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "%s: file of %" PRIu64 " bytes is above the limit of %" PRIu64, path,
                             size, lim->max_file_bytes);
    }
    if (size > SIZE_MAX) {
        close(fd);
        return llm_error_set(err, LLM_ERR_LIMIT, "%s: file of %" PRIu64
                             " bytes does not fit in the address space", path, size);
    }
    llm_gguf *g;
    llm_status s = gguf_new(&g, err);
    if (s != LLM_OK) {
        close(fd);
        return s;
    }
    const uint8_t *base = NULL;
    if (lim->load_mode != 2 && size > 0) {
        void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            g->map = m;
            g->map_size = (size_t)size;
            base = m;
        } else if (lim->load_mode == 1) {
            int e = errno;
            close(fd);
            llm_gguf_close(g);
            return llm_error_set(err, LLM_ERR_IO, "%s: cannot memory-map: %s", path,
                                 strerror(e));
        }
    }
    if (!base) {
        g->buf = llm_aligned_alloc(size ? (size_t)size : 1);
        if (!g->buf) {
            close(fd);
            llm_gguf_close(g);
            return llm_error_set(err, LLM_ERR_NOMEM, "%s: out of memory reading %" PRIu64
                                 " bytes", path, size);
        }
        s = read_all(fd, g->buf, size, path, err);
        if (s != LLM_OK) {
            close(fd);
            llm_gguf_close(g);
            return s;
        }
        base = g->buf;
    }
    close(fd);
    s = parse(g, base, size, lim, err);
    if (s != LLM_OK) {
        llm_error_prefix(err, "%s", path);
        llm_gguf_close(g);
        return s;
    }
    *out = g;
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// Verification of quantized block scales

static bool f16_finite(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return (h & 0x7c00) != 0x7c00;
}

llm_status llm_gguf_verify(const llm_gguf *g, llm_error *err)
{
    if (!g)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_gguf_verify: NULL file");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const llm_gguf_tensor *t = &g->tensors[i];
        /* Byte offsets of the f16 scales in one block; the Q8_K scale is an f32. */
        int offs[2] = {-1, -1};
        const char *names[2] = {"d", "dmin"};
        bool f32_scale = false;
        switch (t->type) {
        case LLM_DTYPE_Q4_0: case LLM_DTYPE_Q5_0: case LLM_DTYPE_Q8_0:
            offs[0] = 0; break;
        case LLM_DTYPE_Q4_1: case LLM_DTYPE_Q5_1:
            offs[0] = 0; offs[1] = 2; names[1] = "m"; break;
        case LLM_DTYPE_Q8_1:
            offs[0] = 0; offs[1] = 2; names[1] = "s"; break;
        case LLM_DTYPE_Q2_K:
            offs[0] = 80; offs[1] = 82; break;
        case LLM_DTYPE_Q3_K:
            offs[0] = 108; break;
        case LLM_DTYPE_Q4_K: case LLM_DTYPE_Q5_K:
            offs[0] = 0; offs[1] = 2; break;
        case LLM_DTYPE_Q6_K:
            offs[0] = 208; break;
        case LLM_DTYPE_Q8_K:
            offs[0] = 0; f32_scale = true; break;
        default:
            continue;
        }
        const llm_dtype_traits *tr = llm_dtype_get(t->type);
        if (!tr || !tr->type_size)
            continue;
        const uint8_t *p = t->data;
        uint64_t n_blocks = t->nbytes / tr->type_size;
        for (uint64_t b = 0; b < n_blocks; b++) {
            const uint8_t *blk = p + b * tr->type_size;
            for (int k = 0; k < 2; k++) {
                if (offs[k] < 0)
                    continue;
                bool ok;
                if (f32_scale) {
                    float f;
                    memcpy(&f, blk + offs[k], 4);
                    ok = isfinite(f);
                } else {
                    ok = f16_finite(blk + offs[k]);
                }
                if (!ok)
                    return llm_error_set(err, LLM_ERR_FORMAT,
                                         "tensor '%s' (%s): block %" PRIu64
                                         " (data offset %" PRIu64 ") has a non-finite scale %s",
                                         t->name, tr->name, b,
                                         g->data_offset + t->offset + b * tr->type_size + offs[k],
                                         names[k]);
            }
        }
    }
    return LLM_OK;
}
