/*
 * The older plain tokenizer files: a WordPiece vocab.txt (one piece per line, id = line number,
 * BertTokenizer defaults) and a GPT-2 vocab.json + merges.txt pair (byte-level BPE with GPT-2's
 * split regex). Also the pieces of setup the other sources share (GPT-2 and BERT pipelines), and
 * llm_tokenizer_open_path(), which picks the reader from the path.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/path.h"
#include "tokenizer/gpt2_split.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

const char llm_tok_gpt2_regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

llm_status llm_tok_read_file(const char *path, char **data, size_t *len, llm_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return llm_error_set(err, LLM_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = llm_malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : llm_realloc(buf, cap * 2);
            if (!nb) {
                llm_mem_free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory reading '%s'", path);
    if (bad) {
        llm_mem_free(buf);
        return llm_error_set(err, LLM_ERR_IO, "read error on '%s'", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return LLM_OK;
}

llm_status llm_tok_setup_bytelevel(struct llm_tokenizer *t, const char *regex, llm_error *err)
{
    llm_tok_pre p;
    memset(&p, 0, sizeof p);
    p.kind = LLM_PRE_BYTELEVEL;
    p.use_regex = true;
    const char *re = regex ? regex : llm_tok_gpt2_regex;
    p.gpt2_split = llm_tok_gpt2_split_kind(re, strlen(re));
    LLM_TRY(llm_tok_compile_regex(re, strlen(re), &p.re, err));
    llm_status st = llm_tok_add_pre(t, &p, err);
    if (st != LLM_OK)
        pcre2_code_free(p.re);
    return st;
}

llm_status llm_tok_setup_bert(struct llm_tokenizer *t, bool lowercase, bool strip_accents,
                              llm_error *err)
{
    llm_tok_norm n;
    memset(&n, 0, sizeof n);
    n.kind = LLM_NORM_BERT;
    n.clean_text = true;
    n.chinese_chars = true;
    n.strip_accents = strip_accents;
    n.lowercase = lowercase;
    LLM_TRY(llm_tok_add_norm(t, &n, err));
    llm_tok_pre p;
    memset(&p, 0, sizeof p);
    p.kind = LLM_PRE_BERT;
    return llm_tok_add_pre(t, &p, err);
}

/* Marks the usual special-token spellings found in a vocabulary. */
void llm_tok_guess_specials(struct llm_tokenizer *t)
{
    static const struct {
        const char *s;
        int which;
    } names[] = {{"[UNK]", LLM_TOKEN_UNK},   {"[CLS]", LLM_TOKEN_CLS},
                 {"[SEP]", LLM_TOKEN_SEP},   {"[PAD]", LLM_TOKEN_PAD},
                 {"[MASK]", LLM_TOKEN_MASK}, {"<unk>", LLM_TOKEN_UNK},
                 {"<s>", LLM_TOKEN_BOS},     {"</s>", LLM_TOKEN_EOS},
                 {"<pad>", LLM_TOKEN_PAD},   {"<mask>", LLM_TOKEN_MASK},
                 {"<|endoftext|>", LLM_TOKEN_BOS}, {"<|endoftext|>", LLM_TOKEN_EOS}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (t->special[names[i].which] >= 0)
            continue;
        for (size_t id = 0; id < t->n_vocab; id++) {
            if (t->pieces[id] && strcmp(t->pieces[id], names[i].s) == 0) {
                t->special[names[i].which] = (int32_t)id;
                break;
            }
        }
    }
}

static void dir_of(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, cap, ".");
}

llm_status llm_tokenizer_from_vocab_txt(const char *path, struct llm_tokenizer **out,
                                        llm_error *err)
{
    *out = NULL;
    char *data;
    size_t len;
    LLM_TRY(llm_tok_read_file(path, &data, &len, err));
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    if (len > 0 && data[len - 1] != '\n')
        lines++;
    struct llm_tokenizer *t = llm_tok_new();
    llm_status st = t ? LLM_OK : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    if (st == LLM_OK && lines == 0)
        st = llm_error_set(err, LLM_ERR_FORMAT, "'%s' has no tokens", path);
    if (st == LLM_OK)
        st = llm_tok_alloc_vocab(t, lines, err);
    size_t id = 0, start = 0;
    for (size_t i = 0; st == LLM_OK && i <= len && id < lines; i++) {
        if (i == len || data[i] == '\n') {
            size_t e = i;
            if (e > start && data[e - 1] == '\r')
                e--;
            st = llm_tok_set_piece(t, id++, data + start, e - start, err);
            start = i + 1;
        }
    }
    llm_mem_free(data);
    if (st == LLM_OK) {
        t->kind = LLM_TOKENIZER_WORDPIECE;
        t->model = LLM_TOKMODEL_WORDPIECE;
        t->wp_prefix = llm_strdup("##");
        t->dec = LLM_DEC_WORDPIECE;
        t->dec_cleanup = true;
        t->add_cls_sep = true;
        /* BertTokenizer's default is do_lower_case=True; tokenizer_config.json may say not. */
        bool lower = true;
        char dir[4096], cfg[4200];
        dir_of(path, dir, sizeof dir);
        snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
        json_t *j = json_load_file(cfg, 0, NULL);
        if (j) {
            json_t *v = json_object_get(j, "do_lower_case");
            if (json_is_boolean(v))
                lower = json_is_true(v);
            json_decref(j);
        }
        st = t->wp_prefix ? llm_tok_setup_bert(t, lower, lower, err)
                          : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    if (st == LLM_OK)
        st = llm_tok_finish(t, err);
    if (st == LLM_OK) {
        llm_tok_guess_specials(t);
        for (int k = 0; k < 9 && st == LLM_OK; k++) {
            int32_t sid = t->special[k];
            if (sid >= 0) {
                t->types[sid] = LLM_TOKTYPE_CONTROL;
                st = llm_tok_add_added(t, sid, true, false, false, err);
            }
        }
        /* Re-run to index the added tokens and the post-processor. */
        if (st == LLM_OK) {
            st = llm_tok_finish(t, err);
        }
    }
    if (st != LLM_OK) {
        llm_tokenizer_free(t);
        llm_error_prefix(err, "%s", path);
        return st;
    }
    *out = t;
    return LLM_OK;
}

llm_status llm_tokenizer_from_vocab_json(const char *vocab_path, const char *merges_path,
                                         struct llm_tokenizer **out, llm_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *v = json_load_file(vocab_path, 0, &je);
    if (!v)
        return llm_error_set(err, LLM_ERR_FORMAT, "%s:%d: %s", vocab_path, je.line, je.text);
    llm_status st = LLM_OK;
    struct llm_tokenizer *t = NULL;
    char *merges = NULL;
    size_t mlen = 0;
    if (!json_is_object(v)) {
        st = llm_error_set(err, LLM_ERR_FORMAT, "%s: expected an object of piece -> id",
                           vocab_path);
        goto fail;
    }
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || id >= INT32_MAX) {
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s: id of '%s' is not a valid integer",
                               vocab_path, key);
            goto fail;
        }
        if ((size_t)id + 1 > n)
            n = (size_t)id + 1;
    }
    t = llm_tok_new();
    if (!t) {
        st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    st = llm_tok_alloc_vocab(t, n, err);
    json_object_foreach(v, key, val)
    {
        if (st != LLM_OK)
            break;
        st = llm_tok_set_piece(t, (size_t)json_integer_value(val), key, strlen(key), err);
    }
    if (st != LLM_OK)
        goto fail;
    t->kind = LLM_TOKENIZER_BPE;
    t->model = LLM_TOKMODEL_BPE;
    t->byte_level = true;
    t->dec = LLM_DEC_BYTELEVEL;
    snprintf(t->pre_name, sizeof t->pre_name, "gpt-2");
    st = llm_tok_setup_bytelevel(t, NULL, err);
    if (st == LLM_OK)
        st = llm_tok_finish(t, err);
    if (st == LLM_OK)
        st = llm_tok_read_file(merges_path, &merges, &mlen, err);
    size_t nlines = 0;
    for (size_t i = 0; st == LLM_OK && i < mlen; i++)
        nlines += merges[i] == '\n';
    if (st == LLM_OK)
        st = llm_tok_merges_reserve(t, nlines + 1, err);
    int32_t rank = 0;
    size_t start = 0;
    for (size_t i = 0; st == LLM_OK && i <= mlen; i++) {
        if (i < mlen && merges[i] != '\n')
            continue;
        size_t e = i;
        if (e > start && merges[e - 1] == '\r')
            e--;
        const char *line = merges + start;
        size_t ll = e - start;
        start = i + 1;
        if (ll == 0 || (ll >= 8 && memcmp(line, "#version", 8) == 0))
            continue;
        const char *sp = memchr(line + 1, ' ', ll - 1);
        if (!sp) {
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s: merge %d has no space", merges_path,
                               rank);
            break;
        }
        st = llm_tok_add_merge(t, line, (size_t)(sp - line), sp + 1,
                               ll - (size_t)(sp - line) - 1, rank++, err);
    }
    if (st != LLM_OK)
        goto fail;
    llm_tok_guess_specials(t);
    {
        int32_t eot = llm_tok_find(t, "<|endoftext|>", 13);
        if (eot >= 0) {
            t->types[eot] = LLM_TOKTYPE_CONTROL;
            st = llm_tok_add_added(t, eot, true, false, false, err);
            if (st == LLM_OK) {
                st = llm_tok_finish(t, err);
            }
        }
    }
    if (st != LLM_OK)
        goto fail;
    llm_mem_free(merges);
    json_decref(v);
    *out = t;
    return LLM_OK;
fail:
    llm_mem_free(merges);
    llm_tokenizer_free(t);
    json_decref(v);
    return st;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Reads a whole tokenizer file and parses it as tokenizer.json or as a SentencePiece model;
 * files it names are looked up beside it, and a failure message starts with its path. */
static llm_status open_file(const char *path, bool json, struct llm_tokenizer **out,
                            llm_error *err)
{
    char *data;
    size_t len;
    LLM_TRY(llm_tok_read_file(path, &data, &len, err));
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    llm_status st = json ? llm_tokenizer_from_hf_json(data, len, dir, out, err)
                         : llm_tokenizer_from_spm_model(data, len, dir, out, err);
    llm_mem_free(data);
    if (st != LLM_OK)
        llm_error_prefix(err, "%s", path);
    return st;
}

static llm_status open_json(const char *path, struct llm_tokenizer **out, llm_error *err)
{
    return open_file(path, true, out, err);
}

static llm_status open_model(const char *path, struct llm_tokenizer **out, llm_error *err)
{
    return open_file(path, false, out, err);
}

static llm_status open_gguf(const char *path, struct llm_tokenizer **out, llm_error *err)
{
    llm_gguf *g = NULL;
    LLM_TRY(llm_gguf_open(path, NULL, &g, err));
    llm_status st = llm_tokenizer_from_gguf(g, out, err);
    llm_gguf_close(g);
    if (st != LLM_OK)
        llm_error_prefix(err, "%s", path);
    return st;
}

llm_status llm_tokenizer_open_path(const char *path, struct llm_tokenizer **out, llm_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "empty tokenizer path");
    char buf[4200], buf2[4200];
    if (llm_path_is_dir(path)) {
        static const char *const spm[] = {"spiece.model", "tokenizer.model"};
        snprintf(buf, sizeof buf, "%s/tokenizer.json", path);
        if (llm_path_is_file(buf))
            return open_json(buf, out, err);
        for (size_t i = 0; i < 2; i++) {
            snprintf(buf, sizeof buf, "%s/%s", path, spm[i]);
            if (llm_path_is_file(buf))
                return open_model(buf, out, err);
        }
        snprintf(buf, sizeof buf, "%s/vocab.json", path);
        snprintf(buf2, sizeof buf2, "%s/merges.txt", path);
        if (llm_path_is_file(buf) && llm_path_is_file(buf2))
            return llm_tokenizer_from_vocab_json(buf, buf2, out, err);
        snprintf(buf, sizeof buf, "%s/vocab.txt", path);
        if (llm_path_is_file(buf))
            return llm_tokenizer_from_vocab_txt(buf, out, err);
        return llm_error_set(err, LLM_ERR_IO,
                             "'%s' has no tokenizer.json, spiece.model, tokenizer.model, "
                             "vocab.json + merges.txt or vocab.txt",
                             path);
    }
    if (!llm_path_is_file(path))
        return llm_error_set(err, LLM_ERR_IO, "cannot open '%s': no such file", path);
    if (ends_with(path, ".gguf"))
        return open_gguf(path, out, err);
    if (ends_with(path, ".model"))
        return open_model(path, out, err);
    if (ends_with(path, ".txt"))
        return llm_tokenizer_from_vocab_txt(path, out, err);
    if (ends_with(path, "vocab.json")) {
        char dir[4096];
        dir_of(path, dir, sizeof dir);
        snprintf(buf2, sizeof buf2, "%s/merges.txt", dir);
        if (!llm_path_is_file(buf2))
            return llm_error_set(err, LLM_ERR_IO, "'%s' needs merges.txt beside it", path);
        return llm_tokenizer_from_vocab_json(path, buf2, out, err);
    }
    if (ends_with(path, ".json"))
        return open_json(path, out, err);
    /* Sniff: GGUF magic, JSON, else a sentencepiece protobuf. */
    FILE *f = fopen(path, "rb");
    if (!f)
        return llm_error_set(err, LLM_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0)
        return open_gguf(path, out, err);
    if (got >= 1 && magic[0] == '{')
        return open_json(path, out, err);
    return open_model(path, out, err);
}
