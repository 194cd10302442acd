/*
 * libFuzzer target: tokenizer.json parsing (lib/tokenizer/hf_json.c and everything a parsed file
 * switches on: normalizers, pre-tokenizer regexes, merges, post-processors). A file that loads is
 * also used to encode and decode a short text with special-token parsing on.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/error.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct llm_tokenizer *t = NULL;
    llm_error err;
    llm_error_clear(&err);
    if (llm_tokenizer_from_hf_json((const char *)data, size, NULL, &t, &err) != LLM_OK)
        return 0;
    static const char text[] = "Hello  world! <s>caf\xC3\xA9 \xF0\x9F\xA6\x99 12345 [CLS]\n\t";
    int32_t *ids = NULL;
    size_t n = 0;
    if (llm_tokenizer_encode_alloc(t, text, sizeof text - 1,
                                   LLM_ENCODE_ADD_SPECIAL | LLM_ENCODE_PARSE_SPECIAL, &ids, NULL,
                                   &n, &err) == LLM_OK) {
        size_t len = 0;
        llm_tokenizer_decode(t, ids, n, 0, NULL, 0, &len);
        llm_mem_free(ids);
    }
    llm_tokenizer_free(t);
    return 0;
}
