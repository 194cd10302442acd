/*
 * Helpers for the programs that write random-weight models of real shapes for benchmarks
 * (make_gpt2_model.c, make_bert_model.c, make_t5_model.c): a seeded Gaussian generator and "add a tensor of this shape and type".
 */
#ifndef LLM_TESTS_MODEL_MAKER_H
#define LLM_TESTS_MODEL_MAKER_H

#include <stdint.h>

#include "model/gguf.h"

/* Exits with a message naming `what` when st is not LLM_OK. */
void maker_check(const char *prog, llm_status st, const llm_error *err, const char *what);

void maker_seed(uint64_t seed);
float maker_gauss(void);

/* Adds tensor `name` of rows x cols (rows 1 = a vector) filled with mean + N(0, sd), stored as
 * `type` (2-D tensors only; vectors stay f32). */
void maker_add(const char *prog, llm_gguf *g, const char *name, uint64_t cols, uint64_t rows,
               float mean, float sd, uint32_t type);

/* Copies every tokenizer.* key of the vocabulary GGUF at `path`; returns the vocabulary size. */
uint64_t maker_copy_vocab(const char *prog, llm_gguf *g, const char *path);

/* A positive decimal of at most 1000000, or exits with a usage error. */
uint32_t maker_arg_u32(const char *prog, const char *s);

/* "f32", "f16", "bf16", "q8_0", "q4_0", ... to a dtype number; -1 when unknown. */
int maker_type(const char *name);

#endif /* LLM_TESTS_MODEL_MAKER_H */
