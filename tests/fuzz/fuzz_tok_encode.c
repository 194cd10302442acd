/*
 * libFuzzer target: encoding arbitrary bytes (invalid UTF-8 included) with each kind of
 * tokenizer, then decoding the ids whole and through the streaming detokenizer. The tokenizers
 * are small ones described inline, so the target needs no data files. The first input byte picks
 * the tokenizer and the flags.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const defs[] = {
    /* byte-level BPE, GPT-2 regex, one special token */
    "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"\\u0120\":3,"
    "\"\\u0120a\":4,\"<|e|>\":5},\"merges\":[\"a b\",\"\\u0120 a\"]},"
    "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false},"
    "\"decoder\":{\"type\":\"ByteLevel\"},"
    "\"added_tokens\":[{\"id\":5,\"content\":\"<|e|>\",\"special\":true}]}",
    /* WordPiece with the BERT normalizer */
    "{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,"
    "\"[CLS]\":1,\"[SEP]\":2,\"a\":3,\"##b\":4,\"!\":5,\"\\u00e9\":6}},"
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":true},"
    "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",2],\"cls\":[\"[CLS]\",1]},"
    "\"added_tokens\":[{\"id\":1,\"content\":\"[CLS]\",\"special\":true}]}",
    /* Unigram with Metaspace and NFKC */
    "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],[\"\\u2581\",-1],"
    "[\"a\",-2],[\"\\u2581a\",-1.5],[\"b\",-3],[\"ab\",-2.5]]},"
    "\"normalizer\":{\"type\":\"NFKC\"},"
    "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\","
    "\"prepend_scheme\":\"always\"},\"decoder\":{\"type\":\"Metaspace\"}}",
    /* char-level BPE with byte fallback (Llama-style tokenizer.json) */
    "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"fuse_unk\":true,\"unk_token\":\"<unk>\","
    "\"vocab\":{\"<unk>\":0,\"<0xC3>\":1,\"<0xA9>\":2,\"<0xF0>\":3,\"\\u2581\":4,\"a\":5,"
    "\"\\u2581a\":6},\"merges\":[[\"\\u2581\",\"a\"]]},"
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\","
    "\"prepend\":\"\\u2581\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
    "\"content\":\"\\u2581\"}]},\"decoder\":{\"type\":\"Sequence\",\"decoders\":["
    "{\"type\":\"Replace\"},{\"type\":\"ByteFallback\"},{\"type\":\"Strip\",\"start\":1}]}}",
};
#define N_DEFS (sizeof defs / sizeof defs[0])

static struct llm_tokenizer *toks[N_DEFS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    llm_error err;
    size_t which = data[0] % N_DEFS;
    if (!toks[which]) {
        llm_error_clear(&err);
        if (llm_tokenizer_from_hf_json(defs[which], strlen(defs[which]), NULL, &toks[which],
                                       &err) != LLM_OK)
            __builtin_trap(); /* the built-in definitions must load */
    }
    uint32_t flags = (data[0] >> 4) & 3u;
    int32_t *ids = NULL;
    uint32_t *offs = NULL;
    size_t n = 0;
    if (llm_tokenizer_encode_alloc(toks[which], (const char *)data + 1, size - 1, flags, &ids,
                                   &offs, &n, &err) != LLM_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (offs[2 * i] > offs[2 * i + 1] || offs[2 * i + 1] > size - 1)
            __builtin_trap();
    }
    size_t len = 0;
    llm_tokenizer_decode(toks[which], ids, n, 0, NULL, 0, &len);
    llm_detokenizer *d = NULL;
    if (llm_detokenizer_create(toks[which], LLM_DECODE_SKIP_SPECIAL, &d) == LLM_OK) {
        char buf[256];
        for (size_t i = 0; i < n; i++)
            llm_detokenizer_push(d, ids[i], buf, sizeof buf, &len);
        llm_detokenizer_flush(d, buf, sizeof buf, &len);
        llm_detokenizer_destroy(d);
    }
    llm_mem_free(ids);
    llm_mem_free(offs);
    return 0;
}
