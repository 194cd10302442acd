/*
 * Tensor element types, numbered as GGUF numbers them (ggml_type), with their block geometry and
 * reference dequantization. The block layouts are the published GGUF ones, bit for bit.
 */
#ifndef LLM_COMMON_DTYPE_H
#define LLM_COMMON_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum llm_dtype {
    LLM_DTYPE_F32 = 0,
    LLM_DTYPE_F16 = 1,
    LLM_DTYPE_Q4_0 = 2,
    LLM_DTYPE_Q4_1 = 3,
    LLM_DTYPE_Q5_0 = 6,
    LLM_DTYPE_Q5_1 = 7,
    LLM_DTYPE_Q8_0 = 8,
    LLM_DTYPE_Q8_1 = 9,
    LLM_DTYPE_Q2_K = 10,
    LLM_DTYPE_Q3_K = 11,
    LLM_DTYPE_Q4_K = 12,
    LLM_DTYPE_Q5_K = 13,
    LLM_DTYPE_Q6_K = 14,
    LLM_DTYPE_Q8_K = 15,
    LLM_DTYPE_BF16 = 30,
    LLM_DTYPE_COUNT = 31 /* one past the largest number, for tables indexed by type */
} llm_dtype;

typedef struct llm_dtype_traits {
    const char *name;       /* "f32", "q8_0", ... as llama.cpp spells them; NULL = unknown */
    uint32_t block_size;    /* elements per block (1 for f32/f16/bf16) */
    uint32_t type_size;     /* bytes per block */
} llm_dtype_traits;

/* NULL for a number that is not a known type. */
const llm_dtype_traits *llm_dtype_get(uint32_t type);

/* Bytes of a row of n elements; 0 when n is not a multiple of the block size or overflows. */
uint64_t llm_dtype_row_bytes(uint32_t type, uint64_t n);

/* Reference dequantization of n elements (n a multiple of the block size). */
void llm_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/* Reference quantization of n floats (for the GGUF writer and tests); f32/f16/bf16/q8_0/q4_0
 * at least. Returns 0 when the type cannot be written. */
int llm_quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float llm_f16_to_f32(uint16_t h);
uint16_t llm_f32_to_f16(float f);
float llm_bf16_to_f32(uint16_t h);
uint16_t llm_f32_to_bf16(float f);

#endif /* LLM_COMMON_DTYPE_H */
