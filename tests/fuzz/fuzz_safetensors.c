/*
 * libFuzzer target for the safetensors reader: parses the input with
 * llm_safetensors_open_memory and touches every tensor's first and last byte. A failure must
 * come with a message. Seeds are in corpus_safetensors/.
 */
#include <stdint.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    llm_gguf_limits lim;
    llm_gguf_limits_default(&lim);
    llm_safetensors *st = NULL;
    llm_error e = {0};
    if (llm_safetensors_open_memory(data, size, &lim, &st, &e) != LLM_OK) {
        if (st || !e.msg[0])
            __builtin_trap();
        return 0;
    }
    for (uint64_t i = 0; i < llm_safetensors_n_tensors(st); i++) {
        const llm_st_tensor *t = llm_safetensors_tensor_at(st, i);
        if (llm_safetensors_find(st, t->name) != t)
            __builtin_trap();
        if (t->nbytes) {
            const volatile uint8_t *p = t->data;
            (void)p[0];
            (void)p[t->nbytes - 1];
        }
    }
    llm_safetensors_close(st);
    return 0;
}
