/*
 * Tokenizers from GGUF metadata, with llama.cpp's conventions (src/llama-vocab.cpp):
 *   tokenizer.ggml.model  gpt2 -> byte-level BPE, split regexes chosen by tokenizer.ggml.pre
 *                         llama -> SentencePiece BPE (scores, byte fallback, dummy prefix)
 *                         bert  -> WordPiece over llama.cpp's "▁word" / "piece" vocabulary
 *                         t5    -> unigram with the precompiled charsmap
 * plus tokens, scores, token_type, merges, the special ids (a value of -1 / 0xFFFFFFFF means
 * none), add_bos_token / add_eos_token, add_space_prefix and remove_extra_whitespaces.
 * Control tokens are matched in text only with LLM_ENCODE_PARSE_SPECIAL; user-defined tokens
 * always, as llama.cpp does.
 */
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/gpt2_split.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

/* llama.cpp's pre-tokenizer regex lists, by tokenizer.ggml.pre. */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3                                                                                  \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"  \
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                   \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"  \
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct pre_def {
    const char *names; /* '|'-separated tokenizer.ggml.pre values */
    const char *regex[6];
    bool ignore_merges;
    bool add_bos;
} pre_def;

static const pre_def pre_defs[] = {
    {"llama3|llama-v3|llama-bpe|falcon3|pixtral|dbrx|smaug-bpe|chatglm-bpe", {RE_LLAMA3}, true,
     true},
    /* Characters that Unicode normalization would fold (Greek oxia letters, the Ohm and Kelvin
     * signs) are written as escapes so that no editor or tool changes them. */
    {"deepseek-llm",
     {"[\r\n]",
      "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-"
      "ὗὙὛὝὟ-\\x{1f7d}ᾀ-ᾴᾶ-ᾼ\\x{1fbe}ῂ-ῄῆ-ῌῐ-\\x{1fd3}ῖ-\\x{1fdb}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212a}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗ"
      "Ａ-Ｚａ-ｚ\\x{10400}-\\x{1044f}𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
      "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"},
     false,
     false},
    {"deepseek-coder",
     {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"},
     false,
     false},
    {"falcon",
     {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"},
     false,
     false},
    {"starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b", {"\\p{N}", RE_GPT2}, false,
     false},
    {"gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|"
     "roberta-bpe|mpt|olmo|jais|trillion|gpt-neox",
     {RE_GPT2},
     false,
     false},
    {"qwen2|deepseek-r1-qwen|stablelm2|hunyuan", {RE_QWEN2}, false, false},
    {"poro-chat|bloom|gpt3-finnish", {" ?[^(\\s|.,!?…。，、।۔،)]+"}, false, false},
    {"viking", {" ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}"}, false, false},
    {"default",
     {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"},
     false,
     false},
};

static bool name_in(const char *list, const char *name, size_t len)
{
    const char *p = list;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && memcmp(p, name, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

const llm_tok_special_key llm_tok_special_keys[] = {
    {"tokenizer.ggml.bos_token_id", LLM_TOKEN_BOS},
    {"tokenizer.ggml.eos_token_id", LLM_TOKEN_EOS},
    {"tokenizer.ggml.unknown_token_id", LLM_TOKEN_UNK},
    {"tokenizer.ggml.seperator_token_id", LLM_TOKEN_SEP},
    {"tokenizer.ggml.padding_token_id", LLM_TOKEN_PAD},
    {"tokenizer.ggml.cls_token_id", LLM_TOKEN_CLS},
    {"tokenizer.ggml.mask_token_id", LLM_TOKEN_MASK},
    {"tokenizer.ggml.eot_token_id", LLM_TOKEN_EOT},
};
const size_t llm_tok_n_special_keys = sizeof llm_tok_special_keys / sizeof llm_tok_special_keys[0];

static int32_t get_id(const llm_gguf *g, const char *key)
{
    int64_t v;
    if (!llm_gguf_get_i64(g, key, &v))
        return -1;
    if (v < 0 || v >= INT32_MAX)
        return -1; /* includes 0xFFFFFFFF written for "none" */
    return (int32_t)v;
}

static bool get_bool(const llm_gguf *g, const char *key, bool def)
{
    bool b;
    return llm_gguf_get_bool(g, key, &b) ? b : def;
}

static llm_status setup_gpt2(struct llm_tokenizer *t, const llm_gguf *g, llm_error *err)
{
    const char *pre = "default";
    size_t pre_len = 7;
    if (!llm_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len)) {
        pre = "default";
        pre_len = 7;
    }
    const pre_def *d = NULL;
    for (size_t i = 0; i < sizeof pre_defs / sizeof pre_defs[0]; i++) {
        if (name_in(pre_defs[i].names, pre, pre_len)) {
            d = &pre_defs[i];
            break;
        }
    }
    if (!d)
        return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                             "tokenizer.ggml.pre = '%.*s' is not a supported pre-tokenizer",
                             (int)(pre_len > 64 ? 64 : pre_len), pre);
    for (size_t k = 0; k < 6 && d->regex[k]; k++) {
        llm_tok_pre p;
        memset(&p, 0, sizeof p);
        p.kind = LLM_PRE_REGEX_SPLIT;
        p.gpt2_split = llm_tok_gpt2_split_kind(d->regex[k], strlen(d->regex[k]));
        LLM_TRY(llm_tok_compile_regex(d->regex[k], strlen(d->regex[k]), &p.re, err));
        llm_status st = llm_tok_add_pre(t, &p, err);
        if (st != LLM_OK) {
            pcre2_code_free(p.re);
            return st;
        }
    }
    if (pre_len < sizeof t->pre_name) {
        memcpy(t->pre_name, pre, pre_len);
        t->pre_name[pre_len] = '\0';
    }
    t->ignore_merges = d->ignore_merges;
    t->add_bos = d->add_bos;
    return LLM_OK;
}

static llm_status build(struct llm_tokenizer *t, const llm_gguf *g, llm_error *err)
{
    const char *model;
    size_t mlen;
    LLM_CHECK(err, llm_gguf_get_str(g, "tokenizer.ggml.model", &model, &mlen), LLM_ERR_FORMAT,
              "GGUF has no tokenizer.ggml.model");
    llm_gguf_type et;
    uint64_t n;
    LLM_CHECK(err,
              llm_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n) && et == LLM_GGUF_STRING,
              LLM_ERR_FORMAT, "GGUF has no string array tokenizer.ggml.tokens");
    LLM_CHECK(err, n > 0 && n < INT32_MAX, LLM_ERR_FORMAT,
              "tokenizer.ggml.tokens has %llu entries", (unsigned long long)n);
    LLM_TRY(llm_tok_alloc_vocab(t, (size_t)n, err));
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = llm_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &len);
        LLM_CHECK(err, s, LLM_ERR_FORMAT, "tokenizer.ggml.tokens[%llu] is unreadable",
                  (unsigned long long)i);
        LLM_TRY(llm_tok_set_piece(t, (size_t)i, s, len, err));
    }
    uint64_t cnt;
    if (llm_gguf_get_arr(g, "tokenizer.ggml.scores", &et, &cnt)) {
        LLM_CHECK(err, cnt == n, LLM_ERR_FORMAT,
                  "tokenizer.ggml.scores has %llu entries, expected %llu",
                  (unsigned long long)cnt, (unsigned long long)n);
        t->scores = llm_malloc((size_t)n * sizeof *t->scores);
        if (!t->scores)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        LLM_CHECK(err, llm_gguf_arr_f32(g, "tokenizer.ggml.scores", t->scores, n), LLM_ERR_FORMAT,
                  "tokenizer.ggml.scores is not numeric");
        for (uint64_t i = 0; i < n; i++)
            if (t->scores[i] != t->scores[i])
                t->scores[i] = 0.0f;
    }
    if (llm_gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &cnt)) {
        LLM_CHECK(err, cnt == n, LLM_ERR_FORMAT,
                  "tokenizer.ggml.token_type has %llu entries, expected %llu",
                  (unsigned long long)cnt, (unsigned long long)n);
        int32_t *ty = llm_malloc((size_t)n * sizeof *ty);
        if (!ty)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        bool ok = llm_gguf_arr_i32(g, "tokenizer.ggml.token_type", ty, n);
        for (uint64_t i = 0; ok && i < n; i++)
            t->types[i] = ty[i] >= 1 && ty[i] <= 6 ? (uint8_t)ty[i] : LLM_TOKTYPE_NORMAL;
        llm_mem_free(ty);
        LLM_CHECK(err, ok, LLM_ERR_FORMAT, "tokenizer.ggml.token_type is not an integer array");
    }
    for (size_t k = 0; k < llm_tok_n_special_keys; k++) {
        int32_t v = get_id(g, llm_tok_special_keys[k].key);
        if (v >= 0 && (size_t)v < n)
            t->special[llm_tok_special_keys[k].which] = v;
    }
    /* the spelling some writers use instead of llama.cpp's "seperator" */
    int32_t sep = get_id(g, "tokenizer.ggml.separator_token_id");
    if (sep >= 0 && (size_t)sep < n)
        t->special[LLM_TOKEN_SEP] = sep;

    bool has_merges = false;
    if (mlen == 4 && memcmp(model, "gpt2", 4) == 0) {
        t->kind = LLM_TOKENIZER_BPE;
        t->model = LLM_TOKMODEL_BPE;
        t->byte_level = true;
        t->dec = LLM_DEC_BYTELEVEL;
        LLM_TRY(setup_gpt2(t, g, err));
        has_merges = true;
    } else if (mlen == 5 && memcmp(model, "llama", 5) == 0) {
        t->kind = LLM_TOKENIZER_SPM;
        t->model = LLM_TOKMODEL_SPM;
        t->byte_fallback = true;
        bool prefix = get_bool(g, "tokenizer.ggml.add_space_prefix", true);
        llm_tok_norm nm;
        memset(&nm, 0, sizeof nm);
        nm.kind = LLM_NORM_SPM;
        nm.add_dummy_prefix = prefix;
        nm.remove_extra_ws = false;
        nm.escape_ws = true;
        LLM_TRY(llm_tok_add_norm(t, &nm, err));
        t->prefix_after_special = true;
        t->dec = LLM_DEC_SPM;
        t->dec_strip_first_space = prefix;
        t->add_bos = true;
        if (t->special[LLM_TOKEN_UNK] < 0)
            t->special[LLM_TOKEN_UNK] = 0;
    } else if (mlen == 4 && memcmp(model, "bert", 4) == 0) {
        t->kind = LLM_TOKENIZER_WORDPIECE;
        t->model = LLM_TOKMODEL_WORDPIECE;
        t->wp_word_prefix = llm_strdup("\xE2\x96\x81");
        t->wp_prefix = llm_strdup("");
        if (!t->wp_word_prefix || !t->wp_prefix)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        t->dec = LLM_DEC_WPM_GGUF;
        t->dec_cleanup = true;
        t->add_cls_sep = true;
        if (t->special[LLM_TOKEN_CLS] < 0)
            t->special[LLM_TOKEN_CLS] = t->special[LLM_TOKEN_BOS];
        if (t->special[LLM_TOKEN_SEP] < 0)
            t->special[LLM_TOKEN_SEP] = t->special[LLM_TOKEN_EOS];
        if (t->special[LLM_TOKEN_BOS] < 0)
            t->special[LLM_TOKEN_BOS] = t->special[LLM_TOKEN_CLS];
        if (t->special[LLM_TOKEN_EOS] < 0)
            t->special[LLM_TOKEN_EOS] = t->special[LLM_TOKEN_SEP];
        LLM_TRY(llm_tok_setup_bert(t, true, true, err));
    } else if (mlen == 2 && memcmp(model, "t5", 2) == 0) {
        t->kind = LLM_TOKENIZER_UNIGRAM;
        t->model = LLM_TOKMODEL_UNIGRAM;
        t->fuse_unk = true;
        uint64_t nb = 0;
        const void *cm = llm_gguf_arr_data(g, "tokenizer.ggml.precompiled_charsmap", &nb);
        if (cm && nb)
            LLM_TRY(llm_tok_charsmap_load(&t->charsmap, cm, (size_t)nb, err));
        bool prefix = get_bool(g, "tokenizer.ggml.add_space_prefix", true);
        llm_tok_norm nm;
        memset(&nm, 0, sizeof nm);
        nm.kind = LLM_NORM_SPM;
        nm.add_dummy_prefix = prefix;
        nm.remove_extra_ws = get_bool(g, "tokenizer.ggml.remove_extra_whitespaces", false);
        nm.escape_ws = true;
        LLM_TRY(llm_tok_add_norm(t, &nm, err));
        t->prefix_after_special = true;
        t->dec = LLM_DEC_METASPACE;
        t->dec_strip_first_space = prefix;
        t->add_eos = true;
        int32_t ds = get_id(g, "t5.decoder_start_token_id");
        t->special[LLM_TOKEN_DECODER_START] = ds >= 0 && (size_t)ds < n
                                                  ? ds
                                                  : t->special[LLM_TOKEN_PAD];
    } else {
        return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                             "tokenizer.ggml.model = '%.*s' is not supported (gpt2, llama, bert, "
                             "t5 are)",
                             (int)(mlen > 32 ? 32 : mlen), model);
    }
    t->add_bos = get_bool(g, "tokenizer.ggml.add_bos_token", t->add_bos);
    t->add_eos = get_bool(g, "tokenizer.ggml.add_eos_token", t->add_eos);
    if (t->add_cls_sep) /* llama.cpp's WPM adds [CLS] / [SEP] unless the file says otherwise */
        t->add_cls_sep = get_bool(g, "tokenizer.ggml.add_bos_token", true);
    for (size_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->types[i];
        if (ty == LLM_TOKTYPE_CONTROL || ty == LLM_TOKTYPE_USER_DEFINED ||
            (ty == LLM_TOKTYPE_UNKNOWN && t->model != LLM_TOKMODEL_UNIGRAM))
            LLM_TRY(llm_tok_add_added(t, (int32_t)i, ty != LLM_TOKTYPE_USER_DEFINED, false,
                                      false, err));
    }
    LLM_TRY(llm_tok_finish(t, err));
    if (has_merges) {
        uint64_t nm = 0;
        if (llm_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &nm)) {
            LLM_CHECK(err, et == LLM_GGUF_STRING && nm < INT32_MAX, LLM_ERR_FORMAT,
                      "tokenizer.ggml.merges is not a string array");
            LLM_TRY(llm_tok_merges_reserve(t, (size_t)nm, err));
            for (uint64_t i = 0; i < nm; i++) {
                size_t len;
                const char *s = llm_gguf_arr_str(g, "tokenizer.ggml.merges", i, &len);
                LLM_CHECK(err, s, LLM_ERR_FORMAT, "tokenizer.ggml.merges[%llu] is unreadable",
                          (unsigned long long)i);
                const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
                LLM_CHECK(err, sp, LLM_ERR_FORMAT, "tokenizer.ggml.merges[%llu] has no space",
                          (unsigned long long)i);
                LLM_TRY(llm_tok_add_merge(t, s, (size_t)(sp - s), sp + 1,
                                          len - (size_t)(sp - s) - 1, (int32_t)i, err));
            }
        }
    }
    return LLM_OK;
}

llm_status llm_tokenizer_from_gguf(const llm_gguf *g, struct llm_tokenizer **out, llm_error *err)
{
    *out = NULL;
    if (!g)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_tokenizer_from_gguf: NULL gguf");
    struct llm_tokenizer *t = llm_tok_new();
    if (!t)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    llm_status st = build(t, g, err);
    if (st != LLM_OK) {
        llm_tokenizer_free(t);
        return st;
    }
    *out = t;
    return LLM_OK;
}
