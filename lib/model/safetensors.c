/*
 * safetensors reader (https://github.com/huggingface/safetensors, "Format"):
 *
 *   u64 N (little endian) | N bytes of JSON | data buffer
 *   JSON: { "__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [..],
 *           "data_offsets": [begin, end]}, ... }   offsets relative to the data buffer
 *
 * The header is parsed with jansson (duplicate keys rejected). Every shape and offset is checked
 * with overflow-safe arithmetic: begin <= end <= buffer size and end - begin equal to the element
 * count times the element size. Sharded checkpoints are read through
 * model.safetensors.index.json, whose shard names must be plain file names (no path traversal).
 * Files are memory-mapped or read as limits->load_mode says.
 *
 * Not done here: converting dtypes or layouts (hf_import.c does that), writing safetensors.
 */
#include "model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/path.h"
#include "model/gguf_internal.h"

/* A header larger than this is refused even without a configured limit (the reference
 * implementation stops at 100 MB). */
#define ST_MAX_HEADER (100u << 20)

typedef struct st_file {
    char *path;
    void *map;
    size_t map_size;
    void *buf;
} st_file;

struct llm_safetensors {
    st_file *files;
    uint64_t n_files;
    llm_st_tensor *tensors;
    uint64_t n_tensors;
    uint64_t cap_tensors;
    llm_gguf_index index;
};

static const struct {
    const char *name;
    uint32_t size;
} dtypes[] = {
    [LLM_ST_F32] = {"F32", 4},         [LLM_ST_F16] = {"F16", 2},   [LLM_ST_BF16] = {"BF16", 2},
    [LLM_ST_I8] = {"I8", 1},           [LLM_ST_U8] = {"U8", 1},     [LLM_ST_F64] = {"F64", 8},
    [LLM_ST_I16] = {"I16", 2},         [LLM_ST_U16] = {"U16", 2},   [LLM_ST_I32] = {"I32", 4},
    [LLM_ST_U32] = {"U32", 4},         [LLM_ST_I64] = {"I64", 8},   [LLM_ST_U64] = {"U64", 8},
    [LLM_ST_BOOL] = {"BOOL", 1},       [LLM_ST_F8_E4M3] = {"F8_E4M3", 1},
    [LLM_ST_F8_E5M2] = {"F8_E5M2", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *llm_st_dtype_name(uint32_t dtype)
{
    return dtype < N_DTYPES ? dtypes[dtype].name : "unknown";
}

uint32_t llm_st_dtype_size(uint32_t dtype)
{
    return dtype < N_DTYPES ? dtypes[dtype].size : 0;
}

// ------------------------------------------------------------------------------------------------
// Lifetime and lookup

void llm_safetensors_close(llm_safetensors *st)
{
    if (!st)
        return;
    for (uint64_t i = 0; i < st->n_tensors; i++)
        llm_mem_free((char *)st->tensors[i].name);
    llm_mem_free(st->tensors);
    for (uint64_t i = 0; i < st->n_files; i++) {
        if (st->files[i].map)
            munmap(st->files[i].map, st->files[i].map_size);
        llm_aligned_free(st->files[i].buf);
        llm_mem_free(st->files[i].path);
    }
    llm_mem_free(st->files);
    llm_gguf_index_free(&st->index);
    llm_mem_free(st);
}

uint64_t llm_safetensors_n_tensors(const llm_safetensors *st)
{
    return st ? st->n_tensors : 0;
}

const llm_st_tensor *llm_safetensors_tensor_at(const llm_safetensors *st, uint64_t i)
{
    return st && i < st->n_tensors ? &st->tensors[i] : NULL;
}

const llm_st_tensor *llm_safetensors_find(const llm_safetensors *st, const char *name)
{
    if (!st || !name)
        return NULL;
    int64_t i = llm_gguf_index_find(&st->index, st->tensors, sizeof st->tensors[0], name);
    return i < 0 ? NULL : &st->tensors[i];
}

// ------------------------------------------------------------------------------------------------
// Header parsing

static bool json_u64(const json_t *j, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return false;
    *out = (uint64_t)json_integer_value(j);
    return true;
}

static int cmp_offset(const void *a, const void *b)
{
    const llm_st_tensor *x = a, *y = b;
    const uint8_t *px = x->data, *py = y->data;
    return px < py ? -1 : px > py;
}

/* Parses the file held at base[0..size) (already registered as st->files[fi]). */
static llm_status parse_file(llm_safetensors *st, uint64_t fi, const uint8_t *base, uint64_t size,
                             const llm_gguf_limits *lim, llm_error *err)
{
    const char *fname = st->files[fi].path;
    if (size < 8)
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "%s: file of %" PRIu64 " bytes is too short for the 8-byte header "
                             "length",
                             fname, size);
    uint64_t hlen;
    memcpy(&hlen, base, 8);
    uint64_t hmax = lim->max_string_length ? lim->max_string_length : ST_MAX_HEADER;
    if (hmax > ST_MAX_HEADER)
        hmax = ST_MAX_HEADER;
    if (hlen > hmax)
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "%s: offset 0: JSON header of %" PRIu64
                             " bytes is above the limit of %" PRIu64,
                             fname, hlen, hmax);
    if (hlen > size - 8)
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "%s: offset 0: JSON header length %" PRIu64
                             " runs past the end of the file (%" PRIu64 " bytes)",
                             fname, hlen, size);
    if (hlen < 2 || base[8] != '{')
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "%s: offset 8: the header is not a JSON object", fname);
    const uint8_t *data = base + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)base + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return llm_error_set(err, LLM_ERR_FORMAT, "%s: JSON header, offset %d: %s", fname,
                             8 + jerr.position, jerr.text);
    llm_status status = LLM_OK;
    if (!json_is_object(root)) {
        status = llm_error_set(err, LLM_ERR_FORMAT, "%s: the JSON header is not an object", fname);
        goto done;
    }
    uint64_t n_new = json_object_size(root);
    if (lim->max_tensor_count && st->n_tensors + n_new > lim->max_tensor_count + 1) {
        status = llm_error_set(err, LLM_ERR_LIMIT,
                               "%s: %" PRIu64 " tensors, above the limit of %" PRIu64, fname,
                               st->n_tensors + n_new, lim->max_tensor_count);
        goto done;
    }
    if (st->n_tensors + n_new > st->cap_tensors) {
        uint64_t cap = st->n_tensors + n_new;
        llm_st_tensor *t = llm_realloc(st->tensors, (size_t)cap * sizeof *t);
        if (!t) {
            status = llm_error_set(err, LLM_ERR_NOMEM, "%s: out of memory", fname);
            goto done;
        }
        st->tensors = t;
        st->cap_tensors = cap;
    }
    uint64_t first = st->n_tensors;
    const char *name;
    json_t *val;
    json_object_foreach(root, name, val) {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        if (!*name) {
            status = llm_error_set(err, LLM_ERR_FORMAT, "%s: a tensor has an empty name", fname);
            goto done;
        }
        json_t *jd = json_object_get(val, "dtype");
        json_t *js = json_object_get(val, "shape");
        json_t *jo = json_object_get(val, "data_offsets");
        if (!json_is_object(val) || !json_is_string(jd) || !json_is_array(js) ||
            !json_is_array(jo) || json_array_size(jo) != 2) {
            status = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s: tensor '%s': expected an object with \"dtype\" (string), "
                                   "\"shape\" (array) and \"data_offsets\" ([begin, end])",
                                   fname, name);
            goto done;
        }
        llm_st_tensor t = {0};
        const char *dn = json_string_value(jd);
        t.dtype = UINT32_MAX;
        for (uint32_t k = 0; k < N_DTYPES; k++)
            if (strcmp(dn, dtypes[k].name) == 0)
                t.dtype = k;
        if (t.dtype == UINT32_MAX) {
            status = llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                   "%s: tensor '%s' has unknown dtype \"%.40s\"", fname, name, dn);
            goto done;
        }
        if (json_array_size(js) > LLM_ST_MAX_DIMS) {
            status = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s: tensor '%s' has %zu dimensions, at most %d are supported",
                                   fname, name, json_array_size(js), LLM_ST_MAX_DIMS);
            goto done;
        }
        t.n_dims = (uint32_t)json_array_size(js);
        t.n_elem = 1;
        for (uint32_t d = 0; d < t.n_dims; d++) {
            if (!json_u64(json_array_get(js, d), &t.shape[d])) {
                status = llm_error_set(err, LLM_ERR_FORMAT,
                                       "%s: tensor '%s': shape[%" PRIu32
                                       "] is not a non-negative integer",
                                       fname, name, d);
                goto done;
            }
            if (!llm_mul_ok(t.n_elem, t.shape[d], &t.n_elem)) {
                status = llm_error_set(err, LLM_ERR_FORMAT,
                                       "%s: tensor '%s': element count overflows", fname, name);
                goto done;
            }
        }
        uint64_t begin, end;
        if (!json_u64(json_array_get(jo, 0), &begin) || !json_u64(json_array_get(jo, 1), &end)) {
            status = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s: tensor '%s': data_offsets are not non-negative integers",
                                   fname, name);
            goto done;
        }
        if (!llm_mul_ok(t.n_elem, dtypes[t.dtype].size, &t.nbytes)) {
            status = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s: tensor '%s': byte size overflows", fname, name);
            goto done;
        }
        if (begin > end || end > data_size) {
            status = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s: tensor '%s': data range [%" PRIu64 ", %" PRIu64
                                   ") is not within the %" PRIu64 "-byte data buffer (file offset %"
                                   PRIu64 ")",
                                   fname, name, begin, end, data_size, 8 + hlen);
            goto done;
        }
        if (end - begin != t.nbytes) {
            status = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s: tensor '%s': data range [%" PRIu64 ", %" PRIu64
                                   ") holds %" PRIu64 " bytes, expected %" PRIu64
                                   " (%" PRIu64 " %s elements)",
                                   fname, name, begin, end, end - begin, t.nbytes, t.n_elem,
                                   dtypes[t.dtype].name);
            goto done;
        }
        if (llm_safetensors_find(st, name)) {
            status = llm_error_set(err, LLM_ERR_FORMAT, "%s: duplicate tensor name '%s'", fname,
                                   name);
            goto done;
        }
        t.data = data + begin;
        t.file = fname;
        t.name = llm_strdup(name);
        if (!t.name) {
            status = llm_error_set(err, LLM_ERR_NOMEM, "%s: out of memory", fname);
            goto done;
        }
        /* Names are unique within a header (jansson rejects duplicate keys); the index covers
         * the files read before this one. */
        st->tensors[st->n_tensors++] = t;
    }
    if (st->n_tensors > first)
        qsort(st->tensors + first, (size_t)(st->n_tensors - first), sizeof st->tensors[0],
              cmp_offset);
    status = llm_gguf_index_build(&st->index, st->tensors, sizeof st->tensors[0], st->n_tensors,
                                  err);
done:
    json_decref(root);
    return status;
}

// ------------------------------------------------------------------------------------------------
// Files

static llm_status add_file(llm_safetensors *st, const char *path, uint64_t *fi, llm_error *err)
{
    st_file *f = llm_realloc(st->files, (size_t)(st->n_files + 1) * sizeof *f);
    if (!f)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    st->files = f;
    memset(&f[st->n_files], 0, sizeof *f);
    f[st->n_files].path = llm_strdup(path);
    if (!f[st->n_files].path)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    *fi = st->n_files++;
    return LLM_OK;
}

/* Maps or reads a whole file into st->files[fi]; base and size describe it. */
static llm_status load_file(st_file *f, const llm_gguf_limits *lim, const uint8_t **base,
                            uint64_t *size, llm_error *err)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return llm_error_set(err, LLM_ERR_IO, "%s: cannot open: %s", f->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return llm_error_set(err, LLM_ERR_IO, "%s: not a readable regular file", f->path);
    }
    *size = (uint64_t)sb.st_size;
    if ((lim->max_file_bytes && *size > lim->max_file_bytes) || *size > SIZE_MAX) {
        close(fd);
        return llm_error_set(err, LLM_ERR_LIMIT,
                             "%s: file of %" PRIu64 " bytes is above the limit of %" PRIu64,
                             f->path, *size, lim->max_file_bytes);
    }
    *base = NULL;
    if (lim->load_mode != 2 && *size > 0) {
        void *m = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            f->map = m;
            f->map_size = (size_t)*size;
            *base = m;
        } else if (lim->load_mode == 1) {
            int e = errno;
            close(fd);
            return llm_error_set(err, LLM_ERR_IO, "%s: cannot memory-map: %s", f->path,
                                 strerror(e));
        }
    }
    if (!*base) {
        f->buf = llm_aligned_alloc(*size ? (size_t)*size : 1);
        if (!f->buf) {
            close(fd);
            return llm_error_set(err, LLM_ERR_NOMEM, "%s: out of memory for %" PRIu64 " bytes",
                                 f->path, *size);
        }
        uint64_t done = 0;
        while (done < *size) {
            ssize_t n = pread(fd, (uint8_t *)f->buf + done, (size_t)(*size - done), (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(fd);
                return llm_error_set(err, LLM_ERR_IO, "%s: read failed at offset %" PRIu64,
                                     f->path, done);
            }
            done += (uint64_t)n;
        }
        *base = f->buf;
    }
    close(fd);
    return LLM_OK;
}

static llm_status st_new(llm_safetensors **out, const llm_gguf_limits **lim,
                         llm_gguf_limits *dl, llm_error *err)
{
    if (!*lim) {
        llm_gguf_limits_default(dl);
        *lim = dl;
    }
    *out = llm_calloc(1, sizeof **out);
    return *out ? LLM_OK : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
}

static llm_status open_into(llm_safetensors *st, const char *path, const llm_gguf_limits *lim,
                            llm_error *err)
{
    uint64_t fi;
    const uint8_t *base = NULL;
    uint64_t size = 0;
    LLM_TRY(add_file(st, path, &fi, err));
    LLM_TRY(load_file(&st->files[fi], lim, &base, &size, err));
    return parse_file(st, fi, base, size, lim, err);
}

llm_status llm_safetensors_open(const char *path, const llm_gguf_limits *lim,
                                llm_safetensors **out, llm_error *err)
{
    llm_gguf_limits dl;
    if (!out || !path)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_safetensors_open: NULL argument");
    *out = NULL;
    llm_safetensors *st;
    LLM_TRY(st_new(&st, &lim, &dl, err));
    llm_status s = open_into(st, path, lim, err);
    if (s != LLM_OK) {
        llm_safetensors_close(st);
        return s;
    }
    *out = st;
    return LLM_OK;
}

llm_status llm_safetensors_open_memory(const void *data, size_t size, const llm_gguf_limits *lim,
                                       llm_safetensors **out, llm_error *err)
{
    llm_gguf_limits dl;
    if (!out || (!data && size))
        return llm_error_set(err, LLM_ERR_INVALID_ARG,
                             "llm_safetensors_open_memory: NULL argument");
    *out = NULL;
    llm_safetensors *st;
    LLM_TRY(st_new(&st, &lim, &dl, err));
    uint64_t fi;
    llm_status s = add_file(st, "memory", &fi, err);
    if (s == LLM_OK && lim->max_file_bytes && size > lim->max_file_bytes)
        s = llm_error_set(err, LLM_ERR_LIMIT, "buffer of %zu bytes is above the limit of %" PRIu64,
                          size, lim->max_file_bytes);
    if (s == LLM_OK) {
        st->files[fi].buf = llm_aligned_alloc(size ? size : 1);
        if (!st->files[fi].buf)
            s = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        else if (size)
            memcpy(st->files[fi].buf, data, size);
    }
    if (s == LLM_OK)
        s = parse_file(st, fi, st->files[fi].buf, size, lim, err);
    if (s != LLM_OK) {
        llm_safetensors_close(st);
        return s;
    }
    *out = st;
    return LLM_OK;
}

/* Reads the shard list of an index file and opens each shard once. */
static llm_status open_sharded(llm_safetensors *st, const char *dir, const char *index_path,
                               const llm_gguf_limits *lim, llm_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return llm_error_set(err, LLM_ERR_FORMAT, "%s: line %d: %s", index_path, jerr.line,
                             jerr.text);
    llm_status s = LLM_OK;
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map)) {
        s = llm_error_set(err, LLM_ERR_FORMAT, "%s: \"weight_map\" is missing or not an object",
                          index_path);
        goto done;
    }
    const char *name;
    json_t *v;
    /* Open shards in the order they first appear. */
    json_object_foreach(map, name, v) {
        const char *shard = json_string_value(v);
        if (!shard || !*shard || strchr(shard, '/') || strcmp(shard, ".") == 0 ||
            strcmp(shard, "..") == 0) {
            s = llm_error_set(err, LLM_ERR_FORMAT,
                              "%s: weight_map[\"%s\"] is not a plain file name in the directory",
                              index_path, name);
            goto done;
        }
        char *path = llm_path_join(dir, shard);
        if (!path) {
            s = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
            goto done;
        }
        bool seen = false;
        for (uint64_t i = 0; i < st->n_files && !seen; i++)
            seen = strcmp(st->files[i].path, path) == 0;
        if (!seen)
            s = open_into(st, path, lim, err);
        llm_mem_free(path);
        if (s != LLM_OK)
            goto done;
    }
    json_object_foreach(map, name, v) {
        const llm_st_tensor *t = llm_safetensors_find(st, name);
        const char *shard = json_string_value(v);
        size_t sl = strlen(shard), fl = t ? strlen(t->file) : 0;
        if (!t || fl < sl + 1 || strcmp(t->file + fl - sl, shard) != 0 || t->file[fl - sl - 1] != '/') {
            s = llm_error_set(err, LLM_ERR_FORMAT,
                              "%s: tensor '%s' is listed in shard '%s' but %s", index_path, name,
                              shard, t ? "was found in another shard" : "is not in it");
            goto done;
        }
    }
done:
    json_decref(root);
    return s;
}

llm_status llm_safetensors_open_dir(const char *dir, const llm_gguf_limits *lim,
                                    llm_safetensors **out, llm_error *err)
{
    llm_gguf_limits dl;
    if (!out || !dir)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_safetensors_open_dir: NULL argument");
    *out = NULL;
    llm_safetensors *st;
    LLM_TRY(st_new(&st, &lim, &dl, err));
    char *index = llm_path_join(dir, "model.safetensors.index.json");
    char *single = llm_path_join(dir, "model.safetensors");
    llm_status s = LLM_OK;
    if (!index || !single)
        s = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    else if (llm_path_is_file(index))
        s = open_sharded(st, dir, index, lim, err);
    else if (llm_path_is_file(single))
        s = open_into(st, single, lim, err);
    else
        s = llm_error_set(err, LLM_ERR_IO,
                          "%s: no model.safetensors or model.safetensors.index.json", dir);
    llm_mem_free(index);
    llm_mem_free(single);
    if (s != LLM_OK) {
        llm_safetensors_close(st);
        return s;
    }
    *out = st;
    return LLM_OK;
}
