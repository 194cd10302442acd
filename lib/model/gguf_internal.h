/*
 * The inside of an llm_gguf, shared by the reader (gguf.c), the metadata code (gguf_meta.c) and
 * the builder/writer (gguf_write.c). Nothing outside lib/model/gguf*.c includes this header:
 * everyone else goes through the getters of gguf.h.
 *
 * A metadata value owns all its memory (strings, array elements, nested arrays), whether it was
 * parsed from a file or set by the builder, so one set of getters serves both.
 */
#ifndef LLM_MODEL_GGUF_INTERNAL_H
#define LLM_MODEL_GGUF_INTERNAL_H

#include "model/gguf.h"

/* Deepest nesting of arrays accepted (an array of arrays is depth 2). */
#define LLM_GGUF_MAX_DEPTH 8

typedef struct llm_gguf_value {
    uint32_t type;          /* llm_gguf_type */
    uint32_t elem;          /* ARRAY: element type */
    uint64_t count;         /* ARRAY: element count */
    uint8_t raw[8];         /* scalars: the little-endian bytes, zero-extended */
    char *str;              /* STRING: owned, NUL-terminated */
    uint64_t len;           /* STRING: bytes without the NUL */
    /* ARRAY data:
     *   numeric/bool elements: count * size bytes, little endian;
     *   STRING elements: uint64_t offsets[count + 1] into `pool` (string i is
     *     pool[off[i] .. off[i+1] - 1), NUL-terminated, so its length is off[i+1] - off[i] - 1);
     *   ARRAY elements: llm_gguf_value[count]. */
    void *data;
    char *pool;
} llm_gguf_value;

typedef struct llm_gguf_kv {
    char *key;
    llm_gguf_value v;
} llm_gguf_kv;

/* Open-addressing index from names to positions (slots hold position + 1; 0 = empty). */
typedef struct llm_gguf_index {
    uint64_t *slots;
    uint64_t cap;           /* power of two, or 0 */
} llm_gguf_index;

struct llm_gguf {
    uint32_t version;
    uint64_t alignment;
    uint64_t file_size;     /* the file's size; for a built file, the size it is written with */
    uint64_t data_offset;   /* start of the tensor data section */

    llm_gguf_kv *kv;
    uint64_t n_kv;
    uint64_t cap_kv;
    llm_gguf_index kv_index;

    llm_gguf_tensor *tensors;
    uint64_t n_tensors;
    uint64_t cap_tensors;
    llm_gguf_index tensor_index;

    /* Backing memory of a file that was read: exactly one of map / buf is set. */
    void *map;
    size_t map_size;
    void *buf;

    /* Built in memory: tensors[i].data is owned (llm_aligned_alloc) by the builder. */
    bool builder;
};

/* Size in bytes of one element of a fixed-size type; 0 for STRING, ARRAY and unknown types. */
uint64_t llm_gguf_type_size(uint32_t type);
/* "uint8", "string", ... or "unknown". */
const char *llm_gguf_type_name(uint32_t type);

void llm_gguf_value_free(llm_gguf_value *v);
/* Deep copy. */
llm_status llm_gguf_value_copy(llm_gguf_value *dst, const llm_gguf_value *src, llm_error *err);

/* Index helpers: FNV-1a over the name, linear probing. */
uint64_t llm_gguf_hash(const char *s);
/* Rebuilds `idx` for names[0..n) (each `stride` bytes apart, the name pointer at offset 0). */
llm_status llm_gguf_index_build(llm_gguf_index *idx, const void *items, size_t stride,
                                uint64_t n, llm_error *err);
/* Position of `name`, or -1. */
int64_t llm_gguf_index_find(const llm_gguf_index *idx, const void *items, size_t stride,
                            const char *name);
void llm_gguf_index_free(llm_gguf_index *idx);

/* The value of a key, or NULL. */
const llm_gguf_value *llm_gguf_value_of(const llm_gguf *g, const char *key);

#endif /* LLM_MODEL_GGUF_INTERNAL_H */
