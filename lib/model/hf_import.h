/*
 * Hugging Face directory import: config.json + safetensors (single or sharded) + the optional
 * sentence-transformers pooling config become an llm_gguf built in memory, with exactly the tensor
 * names, layouts and metadata keys llama.cpp's convert_hf_to_gguf.py would write, so every
 * architecture binds the same names whatever the source. Architectures: gpt2, llama, bert, t5.
 *
 * Tensor types: 2-D weights keep their safetensors type (F32, F16 or BF16; I8/U8 become F32);
 * 1-D tensors (norms, biases) become F32, as llama.cpp stores them. Tokenizer files are not read
 * here (the tokenizer module reads them); see llm_hf_export_tokenizer().
 */
#ifndef LLM_MODEL_HF_IMPORT_H
#define LLM_MODEL_HF_IMPORT_H

#include <stdbool.h>

#include "common/error.h"
#include "model/gguf.h"

/* Imports the model in `dir`. `lim` (NULL for defaults) bounds the safetensors files. On success
 * *out is a built GGUF (llm_gguf_close() releases it). LLM_ERR_IO (no config.json or weights),
 * LLM_ERR_FORMAT (malformed JSON, missing tensor, shape mismatch: messages name the tensor and
 * both shapes), LLM_ERR_UNSUPPORTED (architecture or dtype), LLM_ERR_LIMIT, LLM_ERR_NOMEM. */
llm_status llm_hf_import(const char *dir, const llm_gguf_limits *lim, llm_gguf **out,
                         llm_error *err);

/* Implemented by the tokenizer module (lib/tokenizer/export_gguf.c, also declared in
 * tokenizer/tokenizer.h): writes the tokenizer.ggml.* metadata of the Hugging Face directory into
 * a GGUF being built. The reference is strong on purpose: a weak one would not pull the object out
 * of the static library, and `llm convert` would then silently write no tokenizer. */
llm_status llm_tokenizer_export_gguf(const char *hf_dir, llm_gguf *builder, llm_error *err);

/* Adds tokenizer metadata through llm_tokenizer_export_gguf() when the folder has tokenizer files
 * (tokenizer.json, tokenizer.model, spiece.model, vocab.json or vocab.txt); *done says whether it
 * ran. A folder without any is not an error. */
llm_status llm_hf_export_tokenizer(const char *hf_dir, llm_gguf *builder, bool *done,
                                   llm_error *err);

/* Called after each tensor with the number done and the total. */
typedef void (*llm_convert_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Retypes the tensors of a built GGUF for writing, as llama.cpp's converter chooses: 2-D weight
 * matrices become `type` (f32, f16, bf16, q8_0 or q4_0, through llm_quantize_row); 1-D tensors,
 * norms, position_embd, token_types and T5's attn_rel_b stay f32; a matrix whose rows do not fit
 * the block size of a quantized type falls back to f16, as convert_hf_to_gguf.py does. Sets
 * general.file_type (0 f32, 1 f16, 2 q4_0, 7 q8_0, 32 bf16). `progress` may be NULL. */
llm_status llm_hf_convert_types(llm_gguf *g, uint32_t type, llm_convert_progress_fn progress,
                                void *user, llm_error *err);

/* The type llm_hf_convert_types() gives a tensor. */
uint32_t llm_hf_convert_type_of(const llm_gguf_tensor *t, uint32_t type);

#endif /* LLM_MODEL_HF_IMPORT_H */
