/*
 * Datasets: a text file (one UTF-8 text), a JSONL file (one {"text": ...} object per line, each
 * a document followed by end-of-text), or ids given by the caller. Text is tokenized once, here;
 * the trainer only copies windows out of the id array. Every error names the file and line.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"
#include "train/dataset.h"

void llm_dataset_options_init(llm_dataset_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->format = LLM_DATASET_AUTO;
    o->val_fraction = 0.1f;
    o->add_eot = 1;
    o->text_key = NULL;
}

void llm_dataset_close(llm_dataset *ds)
{
    if (!ds)
        return;
    llm_mem_free(ds->ids);
    llm_mem_free(ds->mask);
    llm_mem_free(ds);
}

uint64_t llm_dataset_n_tokens(const llm_dataset *ds, llm_split split)
{
    if (!ds)
        return 0;
    return split == LLM_SPLIT_TRAIN ? ds->n_train
           : split == LLM_SPLIT_VALIDATION ? ds->n - ds->n_train
                                           : 0;
}

static llm_status get_options(const llm_dataset_options *opt, llm_dataset_options *o,
                              llm_error *err)
{
    llm_dataset_options_init(o);
    if (opt)
        LLM_TRY(llm_copy_options(o, sizeof *o, opt, sizeof *o, "llm_dataset_options", err));
    LLM_CHECK(err, o->val_fraction >= 0.0f && o->val_fraction < 1.0f, LLM_ERR_INVALID_ARG,
              "val_fraction %g must be in [0, 1)", (double)o->val_fraction);
    LLM_CHECK(err, o->format >= LLM_DATASET_AUTO && o->format <= LLM_DATASET_JSONL,
              LLM_ERR_INVALID_ARG, "format %d is not an llm_dataset_format", o->format);
    return LLM_OK;
}

/* The train part: the first floor(n·(1 − f)) tokens (nanoGPT's data[:int(n*0.9)]). */
static void split(llm_dataset *ds, float f)
{
    ds->n_train = (uint64_t)floor((double)ds->n * (1.0 - (double)f));
    if (ds->n_train > ds->n)
        ds->n_train = ds->n;
}

llm_status llm_dataset_from_ids(const int32_t *ids, const uint8_t *mask, size_t n,
                                const llm_dataset_options *opt, llm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ids || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_dataset_from_ids: ids and out must not be NULL");
    llm_error err = {0};
    llm_dataset_options o;
    if (get_options(opt, &o, &err) != LLM_OK)
        return llm_error_publish(&err);
    if (n == 0)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_dataset_from_ids: the dataset is empty");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0)
            return llm_fail(LLM_ERR_INVALID_ARG, "llm_dataset_from_ids: id %d at %zu is negative",
                            ids[i], i);
    llm_dataset *ds = llm_calloc(1, sizeof *ds);
    if (ds)
        ds->ids = llm_calloc(n, sizeof *ds->ids);
    if (ds && mask)
        ds->mask = llm_malloc(n);
    if (!ds || !ds->ids || (mask && !ds->mask)) {
        llm_dataset_close(ds);
        return llm_fail(LLM_ERR_NOMEM, "out of memory for %zu tokens", n);
    }
    memcpy(ds->ids, ids, n * sizeof *ids);
    if (mask)
        for (size_t i = 0; i < n; i++)
            ds->mask[i] = mask[i] != 0;
    ds->n = n;
    split(ds, o.val_fraction);
    *out = ds;
    return LLM_OK;
}

/* A growing id array. */
typedef struct id_vec {
    int32_t *v;
    size_t n, cap;
} id_vec;

static llm_status push_ids(id_vec *a, const int32_t *ids, size_t n, llm_error *err)
{
    if (a->n + n > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->n + n)
            cap *= 2;
        int32_t *v = llm_realloc(a->v, cap * sizeof *v);
        LLM_CHECK(err, v, LLM_ERR_NOMEM, "out of memory for %zu tokens", cap);
        a->v = v;
        a->cap = cap;
    }
    memcpy(a->v + a->n, ids, n * sizeof *ids);
    a->n += n;
    return LLM_OK;
}

/* 1-based line and column of byte `at`. */
static void locate(const char *s, size_t at, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (size_t i = 0; i < at; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static llm_status check_utf8(const char *s, size_t n, const char *path, size_t line0,
                             llm_error *err)
{
    for (size_t i = 0; i < n;) {
        size_t l = llm_tok_utf8_valid_len(s + i, n - i);
        if (l == 0) {
            size_t line, col;
            locate(s, i, &line, &col);
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "%s:%zu:%zu: invalid UTF-8 (byte 0x%02x at offset %zu)", path,
                                 line0 + line - 1, col, (unsigned)(uint8_t)s[i], i);
        }
        i += l;
    }
    return LLM_OK;
}

static llm_status tokenize(const llm_tokenizer *tok, const char *text, size_t len, id_vec *a,
                           llm_error *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    LLM_TRY(llm_tokenizer_encode_alloc(tok, text, len, 0, &ids, NULL, &n, err));
    llm_status st = push_ids(a, ids, n, err);
    llm_mem_free(ids);
    return st;
}

static llm_status read_jsonl(const char *path, const char *data, size_t size,
                             const llm_tokenizer *tok, const llm_dataset_options *o, id_vec *a,
                             llm_error *err)
{
    const char *key = o->text_key ? o->text_key : "text";
    const int32_t eot = llm_tokenizer_special(tok, LLM_TOKEN_EOS);
    size_t line = 0, records = 0;
    for (size_t p = 0; p < size;) {
        const char *nl = memchr(data + p, '\n', size - p);
        size_t end = nl ? (size_t)(nl - data) : size;
        line++;
        const char *s = data + p;
        size_t n = end - p;
        p = nl ? end + 1 : size;
        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
            k++;
        if (k == n)
            continue; /* blank line */
        LLM_TRY(check_utf8(s, n, path, line, err));
        json_error_t je;
        json_t *obj = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
        if (!obj)
            return llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu:%d: not valid JSON: %s", path, line,
                                 je.column, je.text);
        llm_status st = LLM_OK;
        const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        if (!json_is_object(obj))
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: a record must be a JSON object "
                               "with a string field \"%s\"", path, line, key);
        else if (!v)
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: the record has no field \"%s\"",
                               path, line, key);
        else if (!json_is_string(v))
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: field \"%s\" is not a string",
                               path, line, key);
        if (st == LLM_OK)
            st = tokenize(tok, json_string_value(v), json_string_length(v), a, err);
        if (st == LLM_OK && o->add_eot && eot >= 0)
            st = push_ids(a, &eot, 1, err);
        json_decref(obj);
        LLM_TRY(st);
        records++;
    }
    LLM_CHECK(err, records > 0, LLM_ERR_INVALID_ARG, "%s: the file holds no record", path);
    return LLM_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static llm_status dataset_open(const char *path, const llm_tokenizer *tok,
                               const llm_dataset_options *o, llm_dataset **out, llm_error *err)
{
    char *data = NULL;
    size_t size = 0;
    LLM_TRY(llm_tok_read_file(path, &data, &size, err));
    llm_status st = LLM_OK;
    if (size == 0)
        st = llm_error_set(err, LLM_ERR_INVALID_ARG, "%s: the file is empty", path);
    int fmt = o->format;
    if (fmt == LLM_DATASET_AUTO)
        fmt = ends_with(path, ".jsonl") || ends_with(path, ".json") ? LLM_DATASET_JSONL
                                                                    : LLM_DATASET_TEXT;
    id_vec a = {0};
    if (st == LLM_OK && fmt == LLM_DATASET_JSONL)
        st = read_jsonl(path, data, size, tok, o, &a, err);
    else if (st == LLM_OK) {
        st = check_utf8(data, size, path, 1, err);
        if (st == LLM_OK)
            st = tokenize(tok, data, size, &a, err);
    }
    llm_mem_free(data);
    if (st == LLM_OK && a.n == 0)
        st = llm_error_set(err, LLM_ERR_INVALID_ARG, "%s: the text gives no tokens", path);
    llm_dataset *ds = NULL;
    if (st == LLM_OK) {
        ds = llm_calloc(1, sizeof *ds);
        if (!ds)
            st = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    if (st != LLM_OK) {
        llm_mem_free(a.v);
        return st;
    }
    ds->ids = a.v;
    ds->n = a.n;
    split(ds, o->val_fraction);
    *out = ds;
    return LLM_OK;
}

llm_status llm_dataset_open(const char *path, const llm_tokenizer *tok,
                            const llm_dataset_options *opt, llm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!path || !tok || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_dataset_open: path, tokenizer and out must "
                                             "not be NULL");
    llm_error err = {0};
    llm_dataset_options o;
    if (get_options(opt, &o, &err) != LLM_OK)
        return llm_error_publish(&err);
    if (dataset_open(path, tok, &o, out, &err) != LLM_OK)
        return llm_error_publish(&err);
    return LLM_OK;
}
