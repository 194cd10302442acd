/*
 * Test fixtures: Hugging Face PEFT LoRA folders (adapter_config.json + adapter_model.safetensors)
 * made from the values of a llama.cpp adapter GGUF, the way PEFT would have saved the same
 * adapter: GGUF names back to Hugging Face module paths, lora_a/lora_b as lora_A/lora_B (the same
 * bytes), and Llama's q/k lora_B rows back in Hugging Face order (the inverse of the converter's
 * permutation). The library only reads such folders; this writes them.
 */
#ifndef LLM_TESTS_PEFT_WRITER_H
#define LLM_TESTS_PEFT_WRITER_H

#include <stdint.h>

typedef struct peft_fixture {
    const char *arch;             /* "gpt2" or "llama" */
    uint32_t n_head, n_head_kv;   /* llama: for the q/k row order */
    const char *config_json;      /* NULL: written from the GGUF (r, lora_alpha, target_modules) */
} peft_fixture;

/* Writes the folder `dir` (created) from the adapter GGUF at `gguf_path`. 0 on success. */
int peft_write_from_gguf(const char *gguf_path, const char *dir, const peft_fixture *fx);

/* Removes what peft_write_from_gguf wrote. */
void peft_remove(const char *dir);

#endif /* LLM_TESTS_PEFT_WRITER_H */
