/*
 * The architectures libllm runs. Each one is an llm_arch_ops table (model/model.h) defined in its
 * own file; registry.c maps GGUF `general.architecture` names onto them.
 */
#ifndef LLM_ARCH_ARCH_H
#define LLM_ARCH_ARCH_H

#include "model/model.h"

extern const llm_arch_ops llm_arch_bert, llm_arch_t5, llm_arch_llama, llm_arch_gpt2;

#endif /* LLM_ARCH_ARCH_H */
