/*
 * GGUF reader (versions 2 and 3). Every size, count and offset in the file is untrusted: it is
 * checked with overflow-safe arithmetic against the file size and the configured limits before
 * use. The reader owns the mapping (or the buffer) that tensor data points into.
 */
#ifndef LLM_MODEL_GGUF_H
#define LLM_MODEL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum llm_gguf_type {
    LLM_GGUF_UINT8 = 0,
    LLM_GGUF_INT8 = 1,
    LLM_GGUF_UINT16 = 2,
    LLM_GGUF_INT16 = 3,
    LLM_GGUF_UINT32 = 4,
    LLM_GGUF_INT32 = 5,
    LLM_GGUF_FLOAT32 = 6,
    LLM_GGUF_BOOL = 7,
    LLM_GGUF_STRING = 8,
    LLM_GGUF_ARRAY = 9,
    LLM_GGUF_UINT64 = 10,
    LLM_GGUF_INT64 = 11,
    LLM_GGUF_FLOAT64 = 12
} llm_gguf_type;

typedef struct llm_gguf_limits {
    uint64_t max_file_bytes;    /* 0 = none */
    uint64_t max_tensor_count;
    uint64_t max_kv_count;
    uint64_t max_array_length;
    uint64_t max_string_length;
    int load_mode;              /* llm_load_mode */
} llm_gguf_limits;

/* Defaults used when a caller passes NULL limits. */
void llm_gguf_limits_default(llm_gguf_limits *lim);

typedef struct llm_gguf_tensor {
    const char *name;
    uint32_t type;              /* llm_dtype number */
    uint32_t n_dims;            /* 1..4 */
    uint64_t ne[4];             /* ne[0] = row length (fastest), unused dims are 1 */
    uint64_t offset;            /* relative to the data section */
    uint64_t nbytes;
    const void *data;           /* into the mapping or buffer */
} llm_gguf_tensor;

typedef struct llm_gguf llm_gguf;

llm_status llm_gguf_open(const char *path, const llm_gguf_limits *lim, llm_gguf **out,
                         llm_error *err);
/* Parses a buffer in memory (copied). For fuzzing and tests. */
llm_status llm_gguf_open_memory(const void *data, size_t size, const llm_gguf_limits *lim,
                                llm_gguf **out, llm_error *err);
void llm_gguf_close(llm_gguf *g);

uint32_t llm_gguf_version(const llm_gguf *g);
uint64_t llm_gguf_alignment(const llm_gguf *g);
uint64_t llm_gguf_file_size(const llm_gguf *g);
/* Byte offset of the tensor data section in the file (tensor offsets are relative to it). */
uint64_t llm_gguf_data_offset(const llm_gguf *g);

/* Metadata: index of a key or -1. */
int64_t llm_gguf_find_key(const llm_gguf *g, const char *key);
uint64_t llm_gguf_n_kv(const llm_gguf *g);
const char *llm_gguf_key(const llm_gguf *g, uint64_t i);
llm_gguf_type llm_gguf_kv_type(const llm_gguf *g, uint64_t i);

/* Typed getters. They return false when the key is absent or of an incompatible type; any integer
 * type converts to another when the value fits. */
bool llm_gguf_get_u32(const llm_gguf *g, const char *key, uint32_t *out);
bool llm_gguf_get_i64(const llm_gguf *g, const char *key, int64_t *out);
bool llm_gguf_get_f32(const llm_gguf *g, const char *key, float *out);
bool llm_gguf_get_bool(const llm_gguf *g, const char *key, bool *out);
/* Borrowed, not NUL-terminated-safe: use *len. (It is NUL-terminated too.) */
bool llm_gguf_get_str(const llm_gguf *g, const char *key, const char **s, size_t *len);

/* Arrays: element type and count. Nested arrays report LLM_GGUF_ARRAY. */
bool llm_gguf_get_arr(const llm_gguf *g, const char *key, llm_gguf_type *elem, uint64_t *count);
/* Element i of a string array (borrowed, NUL-terminated, length in *len). */
const char *llm_gguf_arr_str(const llm_gguf *g, const char *key, uint64_t i, size_t *len);
/* Numeric arrays converted to the requested type; false when the types do not convert. */
bool llm_gguf_arr_f32(const llm_gguf *g, const char *key, float *dst, uint64_t count);
bool llm_gguf_arr_i32(const llm_gguf *g, const char *key, int32_t *dst, uint64_t count);
/* Raw bytes of a UINT8/INT8 array (e.g. tokenizer.ggml.precompiled_charsmap). */
const void *llm_gguf_arr_data(const llm_gguf *g, const char *key, uint64_t *nbytes);

/* Tensors. */
uint64_t llm_gguf_n_tensors(const llm_gguf *g);
const llm_gguf_tensor *llm_gguf_tensor_at(const llm_gguf *g, uint64_t i);
const llm_gguf_tensor *llm_gguf_find_tensor(const llm_gguf *g, const char *name);

/* Checks every quantized block scale of every tensor for NaN/Inf. */
llm_status llm_gguf_verify(const llm_gguf *g, llm_error *err);

/* ---------------------------------------------------------------------------------------------- */
/* Building a GGUF in memory and writing it (gguf_write.c).
 *
 * A built llm_gguf answers every getter above, with tensor offsets, the data section and the file
 * size laid out as llm_gguf_write() would write them, so a model imported from another format is
 * simply an llm_gguf. Keys keep the order they were first set in; setting a key again replaces
 * its value in place. Setters fail with LLM_ERR_STATE on a GGUF that was opened from a file.
 * Files follow GGUF v3 as llama.cpp reads it: tensor names shorter than 64 bytes, each tensor's
 * data at a multiple of the alignment, in the order added, padded with zeros. */

/* An empty GGUF v3 (alignment 32). Release with llm_gguf_close(). */
llm_status llm_gguf_create(llm_gguf **out, llm_error *err);

/* Any scalar type (not STRING or ARRAY); `value` points at a value of that type. Setting
 * `general.alignment` (uint32, a power of two) also changes the layout's alignment. */
llm_status llm_gguf_set_scalar(llm_gguf *g, const char *key, llm_gguf_type type,
                               const void *value, llm_error *err);
llm_status llm_gguf_set_u32(llm_gguf *g, const char *key, uint32_t v, llm_error *err);
llm_status llm_gguf_set_i32(llm_gguf *g, const char *key, int32_t v, llm_error *err);
llm_status llm_gguf_set_u64(llm_gguf *g, const char *key, uint64_t v, llm_error *err);
llm_status llm_gguf_set_f32(llm_gguf *g, const char *key, float v, llm_error *err);
llm_status llm_gguf_set_bool(llm_gguf *g, const char *key, bool v, llm_error *err);
/* `len` bytes of `s` (which may contain any bytes), copied. */
llm_status llm_gguf_set_str(llm_gguf *g, const char *key, const char *s, size_t len,
                            llm_error *err);
/* An array of `count` fixed-size elements of type `elem` (little endian, as in the file). */
llm_status llm_gguf_set_arr(llm_gguf *g, const char *key, llm_gguf_type elem, const void *data,
                            uint64_t count, llm_error *err);
/* An array of strings; `lens` may be NULL for NUL-terminated strings. */
llm_status llm_gguf_set_arr_str(llm_gguf *g, const char *key, const char *const *strs,
                                const size_t *lens, uint64_t count, llm_error *err);
/* Copies key `i` of `src` (any type, nested arrays included) into `g`. */
llm_status llm_gguf_copy_kv(llm_gguf *g, const llm_gguf *src, uint64_t i, llm_error *err);
/* Removes a key; false when it was not there. */
bool llm_gguf_remove_key(llm_gguf *g, const char *key);

/* Adds a tensor of shape ne[0..n_dims) (ne[0] fastest) whose data (exactly the shape's byte size
 * in `type`) is copied. LLM_ERR_INVALID_ARG for a bad name, shape or type or a duplicate name. */
llm_status llm_gguf_add_tensor(llm_gguf *g, const char *name, uint32_t type, uint32_t n_dims,
                               const uint64_t *ne, const void *data, llm_error *err);
/* The same, taking ownership of `data` (from llm_aligned_alloc; freed even on failure). */
llm_status llm_gguf_add_tensor_owned(llm_gguf *g, const char *name, uint32_t type,
                                     uint32_t n_dims, const uint64_t *ne, void *data,
                                     llm_error *err);
/* Converts tensor `i` to `type` (dequantize to f32, then llm_quantize_row). LLM_ERR_UNSUPPORTED
 * when `type` cannot be written; LLM_ERR_INVALID_ARG when the row length does not fit its
 * block size. */
llm_status llm_gguf_convert_tensor(llm_gguf *g, uint64_t i, uint32_t type, llm_error *err);

/* Lays out offsets, the data section and the file size (the setters keep them current; this is
 * for callers that want to be explicit). */
llm_status llm_gguf_finish(llm_gguf *g, llm_error *err);

/* Writes the GGUF to `path` (replaced atomically through a temporary file beside it). */
llm_status llm_gguf_write(llm_gguf *g, const char *path, llm_error *err);
/* Writes it to memory; release *data with llm_mem_free(). */
llm_status llm_gguf_write_memory(llm_gguf *g, void **data, size_t *size, llm_error *err);

#endif /* LLM_MODEL_GGUF_H */
