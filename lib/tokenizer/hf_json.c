/*
 * Hugging Face tokenizer.json (read with jansson): the model (BPE, WordPiece, Unigram), its
 * normalizer, pre-tokenizer, post-processor (TemplateProcessing, BertProcessing,
 * RobertaProcessing, ByteLevel) and decoder, plus added_tokens. BPE merges are accepted both as
 * "a b" strings (older files) and as ["a", "b"] pairs. Special-token ids the API reports come from
 * the post-processor, tokenizer_config.json / special_tokens_map.json beside the file when a
 * directory is known, and the usual spellings otherwise. Components this reader does not know
 * are refused with LLM_ERR_UNSUPPORTED naming the component, rather than silently tokenizing
 * differently.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/gpt2_split.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jbool(const json_t *o, const char *key, bool def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static llm_status b64decode(const char *s, uint8_t **out, size_t *n, llm_error *err)
{
    size_t len = strlen(s);
    uint8_t *buf = llm_malloc(len / 4 * 3 + 4);
    if (!buf)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=')
            break;
        int v = b64val(s[i]);
        if (v < 0) {
            llm_mem_free(buf);
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "precompiled_charsmap: invalid base64 at offset %zu", i);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out = buf;
    *n = k;
    return LLM_OK;
}

static llm_status pattern_regex(const json_t *pat, bool *is_regex, const char **s)
{
    const char *r = jstr(pat, "Regex");
    if (r) {
        *is_regex = true;
        *s = r;
        return LLM_OK;
    }
    *is_regex = false;
    *s = jstr(pat, "String");
    return *s ? LLM_OK : LLM_ERR_FORMAT;
}

static llm_status compile_pattern(const json_t *pat, pcre2_code **re, llm_error *err)
{
    bool is_re;
    const char *s;
    if (pattern_regex(pat, &is_re, &s) != LLM_OK)
        return llm_error_set(err, LLM_ERR_FORMAT, "pattern is neither String nor Regex");
    if (is_re)
        return llm_tok_compile_regex(s, strlen(s), re, err);
    int ec;
    PCRE2_SIZE eo;
    *re = pcre2_compile((PCRE2_SPTR)s, strlen(s), PCRE2_LITERAL | PCRE2_UTF, &ec, &eo, NULL);
    if (!*re)
        return llm_error_set(err, LLM_ERR_FORMAT, "cannot compile literal pattern");
    pcre2_jit_compile(*re, PCRE2_JIT_COMPLETE);
    return LLM_OK;
}

static llm_status load_normalizer(struct llm_tokenizer *t, const json_t *n, int depth,
                                  llm_error *err)
{
    if (!n || json_is_null(n))
        return LLM_OK;
    LLM_CHECK(err, depth < 16, LLM_ERR_FORMAT, "normalizer nesting too deep");
    const char *type = jstr(n, "type");
    LLM_CHECK(err, type, LLM_ERR_FORMAT, "normalizer without a type");
    llm_tok_norm nm;
    memset(&nm, 0, sizeof nm);
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(n, "normalizers");
        size_t i;
        const json_t *x;
        json_array_foreach(arr, i, x) LLM_TRY(load_normalizer(t, x, depth + 1, err));
        return LLM_OK;
    } else if (strcmp(type, "BertNormalizer") == 0) {
        nm.kind = LLM_NORM_BERT;
        nm.clean_text = jbool(n, "clean_text", true);
        nm.chinese_chars = jbool(n, "handle_chinese_chars", true);
        nm.lowercase = jbool(n, "lowercase", true);
        nm.strip_accents = jbool(n, "strip_accents", nm.lowercase);
    } else if (strcmp(type, "Lowercase") == 0) {
        nm.kind = LLM_NORM_LOWERCASE;
    } else if (strcmp(type, "NFC") == 0) {
        nm.kind = LLM_NORM_NFC;
    } else if (strcmp(type, "NFD") == 0) {
        nm.kind = LLM_NORM_NFD;
    } else if (strcmp(type, "NFKC") == 0) {
        nm.kind = LLM_NORM_NFKC;
    } else if (strcmp(type, "NFKD") == 0) {
        nm.kind = LLM_NORM_NFKD;
    } else if (strcmp(type, "StripAccents") == 0) {
        nm.kind = LLM_NORM_STRIP_ACCENTS;
    } else if (strcmp(type, "Strip") == 0) {
        nm.kind = LLM_NORM_STRIP;
        nm.left = jbool(n, "strip_left", true);
        nm.right = jbool(n, "strip_right", true);
    } else if (strcmp(type, "Prepend") == 0) {
        nm.kind = LLM_NORM_PREPEND;
        const char *p = jstr(n, "prepend");
        LLM_CHECK(err, p, LLM_ERR_FORMAT, "Prepend normalizer without 'prepend'");
        nm.str = llm_strdup(p);
        if (!nm.str)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    } else if (strcmp(type, "Replace") == 0) {
        nm.kind = LLM_NORM_REPLACE;
        const char *c = jstr(n, "content");
        bool is_re;
        const char *s;
        LLM_CHECK(err, c && pattern_regex(json_object_get(n, "pattern"), &is_re, &s) == LLM_OK,
                  LLM_ERR_FORMAT, "Replace normalizer needs 'pattern' and 'content'");
        nm.str = llm_strdup(c);
        if (!nm.str)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        if (is_re) {
            llm_status st = llm_tok_compile_regex(s, strlen(s), &nm.re, err);
            if (st != LLM_OK) {
                llm_mem_free(nm.str);
                return st;
            }
        } else {
            nm.pattern = llm_strdup(s);
            if (!nm.pattern) {
                llm_mem_free(nm.str);
                return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
            }
        }
    } else if (strcmp(type, "Precompiled") == 0) {
        nm.kind = LLM_NORM_PRECOMPILED;
        const char *b = jstr(n, "precompiled_charsmap");
        if (b && *b) {
            uint8_t *blob = NULL;
            size_t bn = 0;
            LLM_TRY(b64decode(b, &blob, &bn, err));
            llm_mem_free(t->charsmap.blob);
            llm_status st = llm_tok_charsmap_load(&t->charsmap, blob, bn, err);
            llm_mem_free(blob);
            LLM_TRY(st);
        }
    } else {
        return llm_error_set(err, LLM_ERR_UNSUPPORTED, "normalizer '%s' is not supported", type);
    }
    llm_status st = llm_tok_add_norm(t, &nm, err);
    if (st != LLM_OK) {
        llm_mem_free(nm.str);
        llm_mem_free(nm.pattern);
        pcre2_code_free(nm.re);
    }
    return st;
}

static int behavior_of(const char *b)
{
    if (!b)
        return LLM_SPLIT_ISOLATED;
    if (strcmp(b, "Removed") == 0)
        return LLM_SPLIT_REMOVED;
    if (strcmp(b, "MergedWithPrevious") == 0)
        return LLM_SPLIT_MERGED_PREV;
    if (strcmp(b, "MergedWithNext") == 0)
        return LLM_SPLIT_MERGED_NEXT;
    if (strcmp(b, "Contiguous") == 0)
        return LLM_SPLIT_CONTIGUOUS;
    return LLM_SPLIT_ISOLATED;
}

static llm_status load_pre(struct llm_tokenizer *t, const json_t *n, int depth, bool *byte_level,
                           llm_error *err)
{
    if (!n || json_is_null(n))
        return LLM_OK;
    LLM_CHECK(err, depth < 16, LLM_ERR_FORMAT, "pre-tokenizer nesting too deep");
    const char *type = jstr(n, "type");
    LLM_CHECK(err, type, LLM_ERR_FORMAT, "pre_tokenizer without a type");
    llm_tok_pre p;
    memset(&p, 0, sizeof p);
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(n, "pretokenizers");
        size_t i;
        const json_t *x;
        json_array_foreach(arr, i, x) LLM_TRY(load_pre(t, x, depth + 1, byte_level, err));
        return LLM_OK;
    } else if (strcmp(type, "ByteLevel") == 0) {
        *byte_level = true;
        if (!t->pre_name[0] && jbool(n, "use_regex", true))
            snprintf(t->pre_name, sizeof t->pre_name, "gpt-2");
        p.kind = LLM_PRE_BYTELEVEL;
        p.use_regex = jbool(n, "use_regex", true);
        p.add_prefix_space = jbool(n, "add_prefix_space", false);
        if (p.use_regex) {
            p.gpt2_split = llm_tok_gpt2_split_kind(llm_tok_gpt2_regex, strlen(llm_tok_gpt2_regex));
            LLM_TRY(llm_tok_compile_regex(llm_tok_gpt2_regex, strlen(llm_tok_gpt2_regex), &p.re,
                                          err));
        }
    } else if (strcmp(type, "Split") == 0) {
        /* The split regexes llama.cpp knows by name (for GGUF export). */
        static const struct {
            const char *re, *name;
        } known[] = {
            {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
             "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "llama-bpe"},
            {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
             "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "qwen2"}};
        const char *src = jstr(json_object_get(n, "pattern"), "Regex");
        for (size_t k = 0; src && k < sizeof known / sizeof known[0]; k++)
            if (strcmp(src, known[k].re) == 0)
                snprintf(t->pre_name, sizeof t->pre_name, "%s", known[k].name);
        p.kind = LLM_PRE_SPLIT;
        p.behavior = behavior_of(jstr(n, "behavior"));
        p.invert = jbool(n, "invert", false);
        LLM_TRY(compile_pattern(json_object_get(n, "pattern"), &p.re, err));
    } else if (strcmp(type, "BertPreTokenizer") == 0) {
        p.kind = LLM_PRE_BERT;
    } else if (strcmp(type, "Whitespace") == 0) {
        p.kind = LLM_PRE_WHITESPACE;
    } else if (strcmp(type, "WhitespaceSplit") == 0) {
        p.kind = LLM_PRE_WHITESPACE_SPLIT;
    } else if (strcmp(type, "Metaspace") == 0) {
        p.kind = LLM_PRE_METASPACE;
        const char *rep = jstr(n, "replacement");
        if (rep && strcmp(rep, "\xE2\x96\x81") != 0)
            return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                 "Metaspace with replacement '%s' is not supported", rep);
        const char *scheme = jstr(n, "prepend_scheme");
        if (scheme)
            p.prepend_scheme = strcmp(scheme, "first") == 0   ? LLM_PREPEND_FIRST
                               : strcmp(scheme, "never") == 0 ? LLM_PREPEND_NEVER
                                                              : LLM_PREPEND_ALWAYS;
        else
            p.prepend_scheme =
                jbool(n, "add_prefix_space", true) ? LLM_PREPEND_ALWAYS : LLM_PREPEND_NEVER;
        p.split = jbool(n, "split", true);
    } else if (strcmp(type, "Digits") == 0) {
        p.kind = LLM_PRE_DIGITS;
        p.individual_digits = jbool(n, "individual_digits", false);
    } else if (strcmp(type, "Punctuation") == 0) {
        p.kind = LLM_PRE_PUNCTUATION;
    } else {
        return llm_error_set(err, LLM_ERR_UNSUPPORTED, "pre-tokenizer '%s' is not supported",
                             type);
    }
    llm_status st = llm_tok_add_pre(t, &p, err);
    if (st != LLM_OK)
        pcre2_code_free(p.re);
    return st;
}

static void load_decoder(struct llm_tokenizer *t, const json_t *d)
{
    const char *type = d ? jstr(d, "type") : NULL;
    if (!type)
        return;
    if (strcmp(type, "ByteLevel") == 0) {
        t->dec = LLM_DEC_BYTELEVEL;
    } else if (strcmp(type, "WordPiece") == 0) {
        t->dec = LLM_DEC_WORDPIECE;
        t->dec_cleanup = jbool(d, "cleanup", true);
        const char *p = jstr(d, "prefix");
        if (p && t->wp_prefix && strcmp(p, t->wp_prefix) != 0) {
            char *np = llm_strdup(p);
            if (np) {
                llm_mem_free(t->wp_prefix);
                t->wp_prefix = np;
            }
        }
    } else if (strcmp(type, "Metaspace") == 0) {
        t->dec = LLM_DEC_METASPACE;
        const char *scheme = jstr(d, "prepend_scheme");
        t->dec_strip_first_space = scheme ? strcmp(scheme, "never") != 0
                                          : jbool(d, "add_prefix_space", true);
    } else if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(d, "decoders");
        size_t i;
        const json_t *x;
        json_array_foreach(arr, i, x)
        {
            const char *ty = jstr(x, "type");
            if (!ty)
                continue;
            if (strcmp(ty, "Replace") == 0 || strcmp(ty, "ByteFallback") == 0)
                t->dec = LLM_DEC_SPM;
            else if (strcmp(ty, "Strip") == 0)
                t->dec_strip_first_space = json_integer_value(json_object_get(x, "start")) > 0;
            else if (strcmp(ty, "ByteLevel") == 0)
                t->dec = LLM_DEC_BYTELEVEL;
            else if (strcmp(ty, "Metaspace") == 0) {
                t->dec = LLM_DEC_METASPACE;
                t->dec_strip_first_space = true;
            } else if (strcmp(ty, "WordPiece") == 0) {
                t->dec = LLM_DEC_WORDPIECE;
                t->dec_cleanup = jbool(x, "cleanup", true);
            }
        }
    }
}

static int32_t token_id(const struct llm_tokenizer *t, const char *s)
{
    return s ? llm_tok_find(t, s, strlen(s)) : -1;
}

/* A token named in tokenizer_config.json: a string or {"content": ...}. */
static const char *config_token(const json_t *cfg, const char *key)
{
    const json_t *v = json_object_get(cfg, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_object(v))
        return jstr(v, "content");
    return NULL;
}

static void load_config(struct llm_tokenizer *t, const char *dir, bool *has_bos, bool *has_eos,
                        bool *add_bos, bool *add_eos)
{
    static const struct {
        const char *key;
        int which;
    } keys[] = {{"bos_token", LLM_TOKEN_BOS},   {"eos_token", LLM_TOKEN_EOS},
                {"unk_token", LLM_TOKEN_UNK},   {"pad_token", LLM_TOKEN_PAD},
                {"sep_token", LLM_TOKEN_SEP},   {"cls_token", LLM_TOKEN_CLS},
                {"mask_token", LLM_TOKEN_MASK}};
    static const char *const files[] = {"special_tokens_map.json", "tokenizer_config.json"};
    if (!dir)
        return;
    for (size_t f = 0; f < 2; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        json_t *cfg = json_load_file(path, 0, NULL);
        if (!cfg)
            continue;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            int32_t id = token_id(t, config_token(cfg, keys[k].key));
            if (id >= 0)
                t->special[keys[k].which] = id;
        }
        const json_t *v = json_object_get(cfg, "add_bos_token");
        if (json_is_boolean(v)) {
            *has_bos = true;
            *add_bos = json_is_true(v);
        }
        v = json_object_get(cfg, "add_eos_token");
        if (json_is_boolean(v)) {
            *has_eos = true;
            *add_eos = json_is_true(v);
        }
        json_decref(cfg);
    }
}

static llm_status load_post(struct llm_tokenizer *t, const json_t *pp, llm_error *err)
{
    const char *type = pp ? jstr(pp, "type") : NULL;
    if (!type)
        return LLM_OK;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(pp, "processors");
        size_t i;
        const json_t *x;
        json_array_foreach(arr, i, x) LLM_TRY(load_post(t, x, err));
        return LLM_OK;
    }
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        const json_t *cls = json_object_get(pp, "cls"), *sep = json_object_get(pp, "sep");
        int32_t c = (int32_t)json_integer_value(json_array_get(cls, 1));
        int32_t s = (int32_t)json_integer_value(json_array_get(sep, 1));
        t->post_set = true;
        t->n_post_pre = t->n_post_suf = 0;
        t->post_pre[t->n_post_pre++] = c;
        t->post_suf[t->n_post_suf++] = s;
        if (strcmp(type, "BertProcessing") == 0) {
            t->special[LLM_TOKEN_CLS] = c;
            t->special[LLM_TOKEN_SEP] = s;
        } else {
            t->special[LLM_TOKEN_BOS] = c;
            t->special[LLM_TOKEN_EOS] = s;
        }
        return LLM_OK;
    }
    if (strcmp(type, "TemplateProcessing") == 0) {
        const json_t *single = json_object_get(pp, "single");
        const json_t *specials = json_object_get(pp, "special_tokens");
        t->post_set = true;
        t->n_post_pre = t->n_post_suf = 0;
        bool after = false;
        size_t i;
        const json_t *x;
        json_array_foreach(single, i, x)
        {
            if (json_object_get(x, "Sequence")) {
                after = true;
                continue;
            }
            const char *name = jstr(json_object_get(x, "SpecialToken"), "id");
            LLM_CHECK(err, name, LLM_ERR_FORMAT, "TemplateProcessing item %zu is not understood",
                      i);
            const json_t *spec = json_object_get(specials, name);
            const json_t *ids = json_object_get(spec, "ids");
            int32_t id = json_array_size(ids) > 0
                             ? (int32_t)json_integer_value(json_array_get(ids, 0))
                             : token_id(t, name);
            LLM_CHECK(err, id >= 0, LLM_ERR_FORMAT, "TemplateProcessing token '%s' is unknown",
                      name);
            if (after) {
                LLM_CHECK(err, t->n_post_suf < 4, LLM_ERR_UNSUPPORTED,
                          "TemplateProcessing adds more than 4 tokens after the text");
                t->post_suf[t->n_post_suf++] = id;
            } else {
                LLM_CHECK(err, t->n_post_pre < 4, LLM_ERR_UNSUPPORTED,
                          "TemplateProcessing adds more than 4 tokens before the text");
                t->post_pre[t->n_post_pre++] = id;
            }
        }
        return LLM_OK;
    }
    return LLM_OK; /* ByteLevel (offsets only) and others add no tokens */
}

static llm_status load_vocab(struct llm_tokenizer *t, const json_t *model, const json_t *added,
                             bool unigram, llm_error *err)
{
    const json_t *vocab = json_object_get(model, "vocab");
    size_t n = 0;
    if (unigram) {
        LLM_CHECK(err, json_is_array(vocab), LLM_ERR_FORMAT, "model.vocab is not an array");
        n = json_array_size(vocab);
    } else {
        LLM_CHECK(err, json_is_object(vocab), LLM_ERR_FORMAT, "model.vocab is not an object");
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)vocab, key, val)
        {
            json_int_t id = json_integer_value(val);
            LLM_CHECK(err, json_is_integer(val) && id >= 0 && id < INT32_MAX, LLM_ERR_FORMAT,
                      "model.vocab: id of '%s' is not a valid integer", key);
            if ((size_t)id + 1 > n)
                n = (size_t)id + 1;
        }
    }
    size_t i;
    const json_t *x;
    json_array_foreach(added, i, x)
    {
        json_int_t id = json_integer_value(json_object_get(x, "id"));
        LLM_CHECK(err, id >= 0 && id < INT32_MAX && jstr(x, "content"), LLM_ERR_FORMAT,
                  "added_tokens[%zu] needs an id and a content", i);
        if ((size_t)id + 1 > n)
            n = (size_t)id + 1;
    }
    LLM_TRY(llm_tok_alloc_vocab(t, n, err));
    if (unigram) {
        t->scores = llm_calloc(n, sizeof *t->scores);
        if (!t->scores)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        json_array_foreach(vocab, i, x)
        {
            const json_t *p = json_array_get(x, 0), *s = json_array_get(x, 1);
            LLM_CHECK(err, json_is_string(p) && json_is_number(s), LLM_ERR_FORMAT,
                      "model.vocab[%zu] is not [piece, score]", i);
            LLM_TRY(llm_tok_set_piece(t, i, json_string_value(p), json_string_length(p), err));
            t->scores[i] = (float)json_number_value(s);
        }
    } else {
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)vocab, key, val)
        LLM_TRY(llm_tok_set_piece(t, (size_t)json_integer_value(val), key, strlen(key), err));
    }
    json_array_foreach(added, i, x)
    {
        const json_t *c = json_object_get(x, "content");
        size_t id = (size_t)json_integer_value(json_object_get(x, "id"));
        if (!t->pieces[id])
            LLM_TRY(llm_tok_set_piece(t, id, json_string_value(c), json_string_length(c), err));
    }
    return LLM_OK;
}

static llm_status load_merges(struct llm_tokenizer *t, const json_t *merges, llm_error *err)
{
    size_t n = json_array_size(merges);
    LLM_TRY(llm_tok_merges_reserve(t, n, err));
    size_t i;
    const json_t *x;
    json_array_foreach(merges, i, x)
    {
        LLM_CHECK(err, i < INT32_MAX, LLM_ERR_FORMAT, "too many merges");
        if (json_is_string(x)) {
            const char *s = json_string_value(x);
            size_t len = json_string_length(x);
            const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
            LLM_CHECK(err, sp, LLM_ERR_FORMAT, "model.merges[%zu] has no space", i);
            LLM_TRY(llm_tok_add_merge(t, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp - s) - 1,
                                      (int32_t)i, err));
        } else {
            const json_t *a = json_array_get(x, 0), *b = json_array_get(x, 1);
            LLM_CHECK(err, json_is_string(a) && json_is_string(b), LLM_ERR_FORMAT,
                      "model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", i);
            LLM_TRY(llm_tok_add_merge(t, json_string_value(a), json_string_length(a),
                                      json_string_value(b), json_string_length(b), (int32_t)i,
                                      err));
        }
    }
    return LLM_OK;
}

static llm_status build(struct llm_tokenizer *t, const json_t *root, const char *dir,
                        llm_error *err)
{
    LLM_CHECK(err, json_is_object(root), LLM_ERR_FORMAT, "tokenizer.json is not an object");
    const json_t *model = json_object_get(root, "model");
    LLM_CHECK(err, json_is_object(model), LLM_ERR_FORMAT, "tokenizer.json has no 'model'");
    const char *type = jstr(model, "type");
    const json_t *added = json_object_get(root, "added_tokens");
    if (!type) {
        /* Very old files have no model.type: infer it. */
        if (json_object_get(model, "merges"))
            type = "BPE";
        else if (json_is_array(json_object_get(model, "vocab")))
            type = "Unigram";
        else
            type = "WordPiece";
    }
    bool unigram = strcmp(type, "Unigram") == 0;
    if (strcmp(type, "BPE") == 0) {
        t->kind = LLM_TOKENIZER_BPE;
        t->model = LLM_TOKMODEL_BPE;
    } else if (strcmp(type, "WordPiece") == 0) {
        t->kind = LLM_TOKENIZER_WORDPIECE;
        t->model = LLM_TOKMODEL_WORDPIECE;
    } else if (unigram) {
        t->kind = LLM_TOKENIZER_UNIGRAM;
        t->model = LLM_TOKMODEL_UNIGRAM;
    } else {
        return llm_error_set(err, LLM_ERR_UNSUPPORTED, "model type '%s' is not supported", type);
    }
    LLM_TRY(load_vocab(t, model, added, unigram, err));
    LLM_TRY(load_normalizer(t, json_object_get(root, "normalizer"), 0, err));
    bool byte_level = false;
    LLM_TRY(load_pre(t, json_object_get(root, "pre_tokenizer"), 0, &byte_level, err));
    const json_t *dec = json_object_get(root, "decoder");
    if (!byte_level && dec && jstr(dec, "type") && strcmp(jstr(dec, "type"), "ByteLevel") == 0)
        byte_level = true;

    /* Model options. */
    if (t->model == LLM_TOKMODEL_BPE) {
        t->byte_level = byte_level;
        t->byte_fallback = jbool(model, "byte_fallback", false);
        t->ignore_merges = jbool(model, "ignore_merges", false);
        t->fuse_unk = jbool(model, "fuse_unk", false);
        t->dec = byte_level ? LLM_DEC_BYTELEVEL : LLM_DEC_SPM;
        const char *cp = jstr(model, "continuing_subword_prefix");
        const char *ew = jstr(model, "end_of_word_suffix");
        if ((cp && *cp) || (ew && *ew))
            return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                 "BPE with continuing_subword_prefix / end_of_word_suffix is not "
                                 "supported");
    } else if (t->model == LLM_TOKMODEL_WORDPIECE) {
        const char *p = jstr(model, "continuing_subword_prefix");
        t->wp_prefix = llm_strdup(p ? p : "##");
        if (!t->wp_prefix)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        json_int_t mx = json_integer_value(json_object_get(model, "max_input_chars_per_word"));
        t->wp_max_chars = mx > 0 && mx < UINT32_MAX ? (uint32_t)mx : 100;
        t->dec = LLM_DEC_WORDPIECE;
        t->dec_cleanup = true;
    } else {
        t->fuse_unk = true;
        t->byte_fallback = jbool(model, "byte_fallback", false);
        t->dec = LLM_DEC_METASPACE;
        t->dec_strip_first_space = true;
        const json_t *u = json_object_get(model, "unk_id");
        if (json_is_integer(u))
            t->special[LLM_TOKEN_UNK] = (int32_t)json_integer_value(u);
    }
    load_decoder(t, dec);
    /* Types: added tokens are control (special) or user-defined. */
    size_t i;
    const json_t *x;
    json_array_foreach(added, i, x)
    {
        int32_t id = (int32_t)json_integer_value(json_object_get(x, "id"));
        bool special = jbool(x, "special", false);
        t->types[id] = special ? LLM_TOKTYPE_CONTROL : LLM_TOKTYPE_USER_DEFINED;
        LLM_TRY(llm_tok_add_added(t, id, special, jbool(x, "lstrip", false),
                                  jbool(x, "rstrip", false), err));
    }
    /* Byte-fallback pieces. */
    if (t->byte_fallback) {
        for (size_t id = 0; id < t->n_vocab; id++) {
            const char *p = t->pieces[id];
            if (p && t->piece_len[id] == 6 && p[0] == '<' && p[1] == '0' && p[2] == 'x' &&
                p[5] == '>')
                t->types[id] = LLM_TOKTYPE_BYTE;
        }
    }
    LLM_TRY(llm_tok_finish(t, err));
    if (t->model == LLM_TOKMODEL_BPE)
        LLM_TRY(load_merges(t, json_object_get(model, "merges"), err));
    if (t->model != LLM_TOKMODEL_UNIGRAM) {
        int32_t unk = token_id(t, jstr(model, "unk_token"));
        if (unk >= 0)
            t->special[LLM_TOKEN_UNK] = unk;
    }
    LLM_TRY(load_post(t, json_object_get(root, "post_processor"), err));
    bool has_bos = false, has_eos = false, add_bos = false, add_eos = false;
    load_config(t, dir, &has_bos, &has_eos, &add_bos, &add_eos);
    llm_tok_guess_specials(t);
    if (!t->post_set && (has_bos || has_eos)) {
        t->add_bos = add_bos;
        t->add_eos = add_eos;
    }
    if (t->special[LLM_TOKEN_DECODER_START] < 0 && unigram)
        t->special[LLM_TOKEN_DECODER_START] = t->special[LLM_TOKEN_PAD];
    return llm_tok_finish(t, err);
}

llm_status llm_tokenizer_from_hf_json(const char *json, size_t len, const char *dir,
                                      struct llm_tokenizer **out, llm_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &je);
    if (!root)
        return llm_error_set(err, LLM_ERR_FORMAT, "tokenizer.json line %d column %d: %s",
                             je.line, je.column, je.text);
    struct llm_tokenizer *t = llm_tok_new();
    llm_status st = t ? build(t, root, dir, err)
                      : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (st != LLM_OK) {
        llm_tokenizer_free(t);
        return st;
    }
    *out = t;
    return LLM_OK;
}
