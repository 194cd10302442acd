/*
 * safetensors reader: one file (8-byte little-endian header length, a JSON header, the data
 * buffer), a whole Hugging Face checkpoint (model.safetensors, or shards listed by
 * model.safetensors.index.json), or a buffer in memory (for tests and fuzzing). Like the GGUF
 * reader, every length, shape and offset is untrusted and checked with overflow-safe arithmetic
 * against the file and the limits; `__metadata__` is ignored. Tensor data stays in the mapping
 * (or the buffer the file was read into).
 */
#ifndef LLM_MODEL_SAFETENSORS_H
#define LLM_MODEL_SAFETENSORS_H

#include <stdint.h>

#include "common/error.h"
#include "model/gguf.h"

/* Element types as safetensors names them. The importer uses F32/F16/BF16/I8/U8; the rest are
 * parsed (so checkpoints carrying e.g. I64 position_ids buffers open) but not converted. */
typedef enum llm_st_dtype {
    LLM_ST_F32 = 0,
    LLM_ST_F16 = 1,
    LLM_ST_BF16 = 2,
    LLM_ST_I8 = 3,
    LLM_ST_U8 = 4,
    LLM_ST_F64 = 5,
    LLM_ST_I16 = 6,
    LLM_ST_U16 = 7,
    LLM_ST_I32 = 8,
    LLM_ST_U32 = 9,
    LLM_ST_I64 = 10,
    LLM_ST_U64 = 11,
    LLM_ST_BOOL = 12,
    LLM_ST_F8_E4M3 = 13,
    LLM_ST_F8_E5M2 = 14
} llm_st_dtype;

#define LLM_ST_MAX_DIMS 8

typedef struct llm_st_tensor {
    const char *name;
    uint32_t dtype;                    /* llm_st_dtype */
    uint32_t n_dims;                   /* 0 (a scalar) .. LLM_ST_MAX_DIMS */
    uint64_t shape[LLM_ST_MAX_DIMS];   /* row-major as in PyTorch: shape[n_dims-1] is fastest */
    uint64_t n_elem;
    uint64_t nbytes;
    const void *data;
    const char *file;                  /* the file it came from ("memory" for a buffer) */
} llm_st_tensor;

typedef struct llm_safetensors llm_safetensors;

/* Opens one .safetensors file. limits: max_file_bytes, max_tensor_count, max_string_length
 * (the JSON header), load_mode; NULL for defaults. */
llm_status llm_safetensors_open(const char *path, const llm_gguf_limits *lim,
                                llm_safetensors **out, llm_error *err);
/* Parses a buffer (copied). */
llm_status llm_safetensors_open_memory(const void *data, size_t size, const llm_gguf_limits *lim,
                                       llm_safetensors **out, llm_error *err);
/* Opens the checkpoint of a Hugging Face directory: model.safetensors.index.json (shards, which
 * must be plain file names in `dir`, every tensor of the weight map present in its shard) or
 * else model.safetensors. LLM_ERR_IO when neither exists. */
llm_status llm_safetensors_open_dir(const char *dir, const llm_gguf_limits *lim,
                                    llm_safetensors **out, llm_error *err);
void llm_safetensors_close(llm_safetensors *st);

uint64_t llm_safetensors_n_tensors(const llm_safetensors *st);
/* In the order of the headers (sorted by data offset within a file). */
const llm_st_tensor *llm_safetensors_tensor_at(const llm_safetensors *st, uint64_t i);
const llm_st_tensor *llm_safetensors_find(const llm_safetensors *st, const char *name);

/* "F32", "BF16", ... */
const char *llm_st_dtype_name(uint32_t dtype);
/* Bytes per element; 0 for an unknown type. */
uint32_t llm_st_dtype_size(uint32_t dtype);

#endif /* LLM_MODEL_SAFETENSORS_H */
