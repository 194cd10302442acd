/*
 * Writes a Hugging Face directory's tokenizer as GGUF tokenizer.ggml.* metadata, the way
 * llama.cpp's convert_hf_to_gguf.py does for its four families:
 *   gpt2  byte-level BPE: tokens, token_type, merges ("a b"), pre = the split regex's name
 *   llama SentencePiece BPE (tokenizer.model): tokens, scores, token_type
 *   bert  WordPiece: tokens rewritten to llama.cpp's form ("##x" -> "x", "x" -> "▁x", "[..]" kept)
 *   t5    unigram (spiece.model): tokens, scores, token_type, precompiled_charsmap and the
 *         whitespace flags
 * plus the special ids and add_bos_token / add_eos_token. The tokenizer is first loaded with the
 * library's own readers, so what is written is exactly what those readers understood; a
 * sentencepiece model in the directory is preferred for llama and t5, as the converter does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/path.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

static llm_status open_for_export(const char *dir, struct llm_tokenizer **out, llm_error *err)
{
    static const char *const spm[] = {"tokenizer.model", "spiece.model"};
    char path[4200];
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, spm[i]);
        if (!llm_path_is_file(path))
            continue;
        char *data;
        size_t len;
        LLM_TRY(llm_tok_read_file(path, &data, &len, err));
        llm_status st = llm_tokenizer_from_spm_model(data, len, dir, out, err);
        llm_mem_free(data);
        if (st != LLM_OK)
            llm_error_prefix(err, "%s", path);
        return st;
    }
    return llm_tokenizer_open_path(dir, out, err);
}

typedef struct merge_ref {
    int32_t rank, a, b;
} merge_ref;

static int cmp_rank(const void *x, const void *y)
{
    const merge_ref *p = x, *q = y;
    return (p->rank > q->rank) - (p->rank < q->rank);
}

static llm_status write_merges(const struct llm_tokenizer *t, llm_gguf *g, llm_error *err)
{
    size_t n = 0;
    for (size_t i = 0; t->merges && i <= t->merges_mask; i++)
        n += t->merges[i].key != 0;
    if (n == 0)
        return LLM_OK;
    merge_ref *m = llm_malloc(n * sizeof *m);
    char **strs = llm_calloc(n, sizeof *strs);
    llm_status st = m && strs ? LLM_OK : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; st == LLM_OK && i <= t->merges_mask; i++) {
        uint64_t key = t->merges[i].key;
        if (!key)
            continue;
        m[k].rank = t->merges[i].rank;
        m[k].a = (int32_t)(key >> 32) - 1;
        m[k].b = (int32_t)(key & 0xFFFFFFFFu) - 1;
        k++;
    }
    if (st == LLM_OK)
        qsort(m, n, sizeof *m, cmp_rank);
    for (size_t i = 0; st == LLM_OK && i < n; i++) {
        size_t la = t->piece_len[m[i].a], lb = t->piece_len[m[i].b];
        strs[i] = llm_malloc(la + lb + 2);
        if (!strs[i]) {
            st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(strs[i], t->pieces[m[i].a], la);
        strs[i][la] = ' ';
        memcpy(strs[i] + la + 1, t->pieces[m[i].b], lb);
        strs[i][la + lb + 1] = '\0';
    }
    if (st == LLM_OK)
        st = llm_gguf_set_arr_str(g, "tokenizer.ggml.merges", (const char *const *)strs, NULL, n,
                                  err);
    for (size_t i = 0; strs && i < n; i++)
        llm_mem_free(strs[i]);
    llm_mem_free(strs);
    llm_mem_free(m);
    return st;
}

/* llama.cpp's name for the split regex of a byte-level BPE. */
static const char *pre_name(const struct llm_tokenizer *t)
{
    return t->pre_name[0] ? t->pre_name : "default";
}

static llm_status write_charsmap(const struct llm_tokenizer *t, llm_gguf *g, llm_error *err)
{
    const llm_tok_charsmap *cm = &t->charsmap;
    if (!cm->units || cm->n_units == 0)
        return LLM_OK;
    size_t tsz = cm->n_units * 4, total = 4 + tsz + cm->n_normalized;
    uint8_t *b = llm_malloc(total);
    if (!b)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    b[0] = (uint8_t)tsz;
    b[1] = (uint8_t)(tsz >> 8);
    b[2] = (uint8_t)(tsz >> 16);
    b[3] = (uint8_t)(tsz >> 24);
    for (size_t i = 0; i < cm->n_units; i++) {
        uint32_t u = cm->units[i];
        b[4 + 4 * i] = (uint8_t)u;
        b[5 + 4 * i] = (uint8_t)(u >> 8);
        b[6 + 4 * i] = (uint8_t)(u >> 16);
        b[7 + 4 * i] = (uint8_t)(u >> 24);
    }
    memcpy(b + 4 + tsz, cm->normalized, cm->n_normalized);
    llm_status st =
        llm_gguf_set_arr(g, "tokenizer.ggml.precompiled_charsmap", LLM_GGUF_UINT8, b, total, err);
    llm_mem_free(b);
    return st;
}

static llm_status export_tok(const struct llm_tokenizer *t, llm_gguf *g, llm_error *err)
{
    const char *model;
    switch (t->model) {
    case LLM_TOKMODEL_BPE:
        LLM_CHECK(err, t->byte_level, LLM_ERR_UNSUPPORTED,
                  "a BPE tokenizer.json that is not byte-level needs its tokenizer.model to be "
                  "converted");
        model = "gpt2";
        break;
    case LLM_TOKMODEL_SPM:
        model = "llama";
        break;
    case LLM_TOKMODEL_WORDPIECE:
        model = "bert";
        break;
    default:
        model = "t5";
        break;
    }
    size_t n = t->n_vocab;
    LLM_TRY(llm_gguf_set_str(g, "tokenizer.ggml.model", model, strlen(model), err));
    const char *pre = t->model == LLM_TOKMODEL_BPE        ? pre_name(t)
                      : t->model == LLM_TOKMODEL_WORDPIECE ? "bert-bge"
                                                           : "default";
    LLM_TRY(llm_gguf_set_str(g, "tokenizer.ggml.pre", pre, strlen(pre), err));

    /* Tokens (WordPiece rewritten to llama.cpp's phantom-space form). */
    char **strs = llm_calloc(n, sizeof *strs);
    size_t *lens = llm_calloc(n, sizeof *lens);
    int32_t *types = llm_calloc(n, sizeof *types);
    llm_status st = strs && lens && types ? LLM_OK
                                          : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    size_t cpl = t->wp_prefix ? strlen(t->wp_prefix) : 0;
    for (size_t i = 0; st == LLM_OK && i < n; i++) {
        const char *p = t->pieces[i];
        size_t l = t->piece_len[i];
        types[i] = t->types[i] ? t->types[i] : LLM_TOKTYPE_NORMAL;
        if (t->model == LLM_TOKMODEL_WORDPIECE && !(l >= 2 && p[0] == '[' && p[l - 1] == ']')) {
            strs[i] = llm_malloc(l + 4);
            if (!strs[i]) {
                st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
                break;
            }
            if (cpl && l >= cpl && memcmp(p, t->wp_prefix, cpl) == 0) {
                memcpy(strs[i], p + cpl, l - cpl);
                lens[i] = l - cpl;
            } else {
                memcpy(strs[i], "\xE2\x96\x81", 3);
                memcpy(strs[i] + 3, p, l);
                lens[i] = l + 3;
            }
        } else {
            strs[i] = llm_malloc(l + 1);
            if (!strs[i]) {
                st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(strs[i], p, l);
            lens[i] = l;
        }
    }
    if (st == LLM_OK)
        st = llm_gguf_set_arr_str(g, "tokenizer.ggml.tokens", (const char *const *)strs, lens, n,
                                  err);
    if (st == LLM_OK)
        st = llm_gguf_set_arr(g, "tokenizer.ggml.token_type", LLM_GGUF_INT32, types, n, err);
    if (st == LLM_OK && t->scores)
        st = llm_gguf_set_arr(g, "tokenizer.ggml.scores", LLM_GGUF_FLOAT32, t->scores, n, err);
    for (size_t i = 0; strs && i < n; i++)
        llm_mem_free(strs[i]);
    llm_mem_free(strs);
    llm_mem_free(lens);
    llm_mem_free(types);
    LLM_TRY(st);
    if (t->model == LLM_TOKMODEL_BPE)
        LLM_TRY(write_merges(t, g, err));
    if (t->model == LLM_TOKMODEL_WORDPIECE)
        LLM_TRY(llm_gguf_set_u32(g, "tokenizer.ggml.token_type_count", 2, err));

    for (size_t k = 0; k < llm_tok_n_special_keys; k++) {
        int32_t v = t->special[llm_tok_special_keys[k].which];
        if (v >= 0)
            LLM_TRY(llm_gguf_set_u32(g, llm_tok_special_keys[k].key, (uint32_t)v, err));
    }
    /* What the post-processor adds, as the two flags llama.cpp knows. */
    bool add_bos = t->n_post_pre > 0, add_eos = t->n_post_suf > 0;
    if (t->model != LLM_TOKMODEL_WORDPIECE) {
        LLM_TRY(llm_gguf_set_bool(g, "tokenizer.ggml.add_bos_token", add_bos, err));
        LLM_TRY(llm_gguf_set_bool(g, "tokenizer.ggml.add_eos_token", add_eos, err));
    }
    for (size_t k = 0; k < t->n_norms; k++) {
        const llm_tok_norm *nm = &t->norms[k];
        if (nm->kind != LLM_NORM_SPM)
            continue;
        LLM_TRY(llm_gguf_set_bool(g, "tokenizer.ggml.add_space_prefix", nm->add_dummy_prefix,
                                  err));
        if (t->model == LLM_TOKMODEL_UNIGRAM)
            LLM_TRY(llm_gguf_set_bool(g, "tokenizer.ggml.remove_extra_whitespaces",
                                      nm->remove_extra_ws, err));
    }
    if (t->model == LLM_TOKMODEL_UNIGRAM)
        LLM_TRY(write_charsmap(t, g, err));
    return LLM_OK;
}

llm_status llm_tokenizer_export_gguf(const char *hf_dir, llm_gguf *builder, llm_error *err)
{
    if (!hf_dir || !builder)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_tokenizer_export_gguf: %s is NULL",
                             !hf_dir ? "hf_dir" : "builder");
    struct llm_tokenizer *t = NULL;
    LLM_TRY(open_for_export(hf_dir, &t, err));
    llm_status st = export_tok(t, builder, err);
    llm_tokenizer_free(t);
    if (st != LLM_OK)
        llm_error_prefix(err, "tokenizer of %s", hf_dir);
    return st;
}

llm_status llm_tokenizer_write_gguf(const struct llm_tokenizer *t, llm_gguf *builder,
                                    llm_error *err)
{
    if (!t || !builder)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_tokenizer_write_gguf: NULL argument");
    LLM_TRY(export_tok(t, builder, err));
    /* llama.cpp requires the merges key of a gpt2 vocabulary, even an empty one */
    if (t->model == LLM_TOKMODEL_BPE && llm_gguf_find_key(builder, "tokenizer.ggml.merges") < 0)
        LLM_TRY(llm_gguf_set_arr_str(builder, "tokenizer.ggml.merges", NULL, NULL, 0, err));
    return LLM_OK;
}
