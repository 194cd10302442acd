/*
 * libFuzzer target: tokenizers from GGUF metadata (lib/tokenizer/gguf_vocab.c on top of the GGUF
 * reader): any tokenizer.ggml.* content, then encoding and decoding a text with every flag.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/error.h"
#include "model/gguf.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    llm_gguf *g = NULL;
    llm_error err;
    llm_error_clear(&err);
    llm_gguf_limits lim;
    llm_gguf_limits_default(&lim);
    lim.max_array_length = 1 << 16;
    lim.max_string_length = 1 << 16;
    if (llm_gguf_open_memory(data, size, &lim, &g, &err) != LLM_OK)
        return 0;
    struct llm_tokenizer *t = NULL;
    if (llm_tokenizer_from_gguf(g, &t, &err) == LLM_OK) {
        static const char text[] = " Hello  world! <s>[CLS] caf\xC3\xA9 \xF0\x9F\xA6\x99 123\n";
        int32_t *ids = NULL;
        size_t n = 0;
        if (llm_tokenizer_encode_alloc(t, text, sizeof text - 1,
                                       LLM_ENCODE_ADD_SPECIAL | LLM_ENCODE_PARSE_SPECIAL, &ids,
                                       NULL, &n, &err) == LLM_OK) {
            size_t len = 0;
            llm_tokenizer_decode(t, ids, n, 0, NULL, 0, &len);
            llm_mem_free(ids);
        }
        llm_tokenizer_free(t);
    }
    llm_gguf_close(g);
    return 0;
}
