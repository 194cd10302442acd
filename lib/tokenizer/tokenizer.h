/*
 * Internal entry points of the tokenizer room, for the model loader, the converter and the public
 * API file (api_tokenizer.c). A tokenizer is immutable once built and safe to use from many
 * threads at once.
 */
#ifndef LLM_TOKENIZER_TOKENIZER_H
#define LLM_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

#include "common/error.h"
#include "model/gguf.h"

/* Builds a tokenizer from the tokenizer.ggml.* metadata of a GGUF file (llama.cpp conventions:
 * models gpt2, llama, bert, t5). */
llm_status llm_tokenizer_from_gguf(const llm_gguf *g, struct llm_tokenizer **out, llm_error *err);

/* Opens a tokenizer from a path: .gguf, tokenizer.json, sentencepiece .model, vocab.txt,
 * vocab.json (merges.txt beside it) or a Hugging Face directory. */
llm_status llm_tokenizer_open_path(const char *path, struct llm_tokenizer **out, llm_error *err);

/* Per-format loaders (also used by the fuzz targets). `dir` may be NULL; it is where
 * tokenizer_config.json / special_tokens_map.json are looked for. */
llm_status llm_tokenizer_from_hf_json(const char *json, size_t len, const char *dir,
                                      struct llm_tokenizer **out, llm_error *err);
llm_status llm_tokenizer_from_spm_model(const void *data, size_t len, const char *dir,
                                        struct llm_tokenizer **out, llm_error *err);
llm_status llm_tokenizer_from_vocab_txt(const char *path, struct llm_tokenizer **out,
                                        llm_error *err);
llm_status llm_tokenizer_from_vocab_json(const char *vocab_path, const char *merges_path,
                                         struct llm_tokenizer **out, llm_error *err);

void llm_tokenizer_free(struct llm_tokenizer *t);

/* Sets the bounds on the work of one encode from the public options (NULL: the defaults) and
 * checks what the files allow against them: a chain of Replace normalizers that could grow a
 * text beyond max_normalize_growth is LLM_ERR_LIMIT here, before any text is encoded. */
llm_status llm_tokenizer_set_limits(struct llm_tokenizer *t, const llm_tokenizer_options *opt,
                                    llm_error *err);

/* Encodes into malloc'ed (llm_malloc) arrays; *offsets may be NULL when not wanted. */
llm_status llm_tokenizer_encode_alloc(const struct llm_tokenizer *t, const char *text, size_t len,
                                      uint32_t flags, int32_t **ids, uint32_t **offsets,
                                      size_t *n, llm_error *err);

/* Writes the tokenizer.ggml.* metadata for the Hugging Face model directory `hf_dir` into a
 * GGUF being built, as llama.cpp's convert_hf_to_gguf.py does for gpt2/llama/bert/t5. */
llm_status llm_tokenizer_export_gguf(const char *hf_dir, llm_gguf *builder, llm_error *err);
/* The same for a tokenizer already open (any source it came from). */
llm_status llm_tokenizer_write_gguf(const struct llm_tokenizer *t, llm_gguf *builder,
                                    llm_error *err);

#endif /* LLM_TOKENIZER_TOKENIZER_H */
