/*
 * Opening and closing models, the bind helpers architectures use to look tensors up by name with
 * shape checks, and the public model calls. A model is built from an llm_gguf (read from a file or
 * imported from a Hugging Face directory) and is immutable once open; sessions keep it alive with
 * a reference count. This file does not know any architecture: it asks the registry.
 */
#include "model/model.h"

#include <string.h>

#include "common/alloc.h"
#include "common/path.h"
#include "common/dtype.h"
#include "common/log.h"
#include "common/options.h"
#include "model/hf_import.h"
#include "tokenizer/tokenizer.h"

/* ---------------------------------------------------------------------------------------------- */
/* options                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

void llm_model_options_init(llm_model_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->load_mode = LLM_LOAD_AUTO;
    llm_gguf_limits lim;
    llm_gguf_limits_default(&lim);
    opt->max_file_bytes = lim.max_file_bytes;
    opt->max_tensor_count = lim.max_tensor_count;
    opt->max_kv_count = lim.max_kv_count;
    opt->max_array_length = lim.max_array_length;
    opt->max_string_length = lim.max_string_length;
    llm_tokenizer_options to;
    llm_tokenizer_options_init(&to);
    opt->max_normalize_growth = to.max_normalize_growth;
    opt->max_added_token_steps = to.max_added_token_steps;
    opt->max_regex_steps = to.max_regex_steps;
}

/* ---------------------------------------------------------------------------------------------- */
/* bind helpers                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static const char *type_name(uint32_t type)
{
    const llm_dtype_traits *t = llm_dtype_get(type);
    return t && t->name ? t->name : "unknown";
}

bool llm_model_has(const struct llm_model *m, const char *name)
{
    return llm_gguf_find_tensor(m->gguf, name) != NULL;
}

static llm_status keep_owned(struct llm_model *m, void *p, llm_error *err)
{
    if (m->n_owned == m->owned_cap) {
        size_t cap = m->owned_cap ? 2 * m->owned_cap : 16;
        void **n = llm_realloc(m->owned, cap * sizeof *n);
        if (!n) {
            llm_aligned_free(p);
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory binding tensors");
        }
        m->owned = n;
        m->owned_cap = cap;
    }
    m->owned[m->n_owned++] = p;
    return LLM_OK;
}

llm_status llm_model_bind(struct llm_model *m, llm_weight *w, const char *name, int64_t cols,
                          int64_t rows, llm_error *err)
{
    const llm_gguf_tensor *t = llm_gguf_find_tensor(m->gguf, name);
    LLM_CHECK(err, t, LLM_ERR_FORMAT, "tensor '%s' is missing", name);
    LLM_CHECK(err, t->n_dims <= 2 && t->ne[2] == 1 && t->ne[3] == 1, LLM_ERR_FORMAT,
              "tensor '%s' has %u dimensions, expected 2", name, t->n_dims);
    LLM_CHECK(err, (int64_t)t->ne[0] == cols && (int64_t)t->ne[1] == rows, LLM_ERR_FORMAT,
              "tensor '%s' has shape [%llu,%llu], expected [%lld,%lld]", name,
              (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (long long)cols,
              (long long)rows);
    LLM_CHECK(err, llm_dtype_get(t->type), LLM_ERR_UNSUPPORTED,
              "tensor '%s' has type %u, which this library does not support", name, t->type);
    w->data = t->data;
    w->type = t->type;
    w->rows = rows;
    w->cols = cols;
    return LLM_OK;
}

llm_status llm_model_bind_f32(struct llm_model *m, const float **out, const char *name, int64_t n,
                              llm_error *err)
{
    const llm_gguf_tensor *t = llm_gguf_find_tensor(m->gguf, name);
    LLM_CHECK(err, t, LLM_ERR_FORMAT, "tensor '%s' is missing", name);
    uint64_t count = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    LLM_CHECK(err, (int64_t)count == n, LLM_ERR_FORMAT,
              "tensor '%s' has %llu elements, expected %lld", name, (unsigned long long)count,
              (long long)n);
    if (t->type == LLM_DTYPE_F32) {
        *out = t->data;
        return LLM_OK;
    }
    const llm_dtype_traits *tr = llm_dtype_get(t->type);
    LLM_CHECK(err, tr && count % tr->block_size == 0, LLM_ERR_UNSUPPORTED,
              "tensor '%s' has type %s, which cannot be converted to f32 here", name,
              type_name(t->type));
    float *copy = llm_aligned_alloc((size_t)count * sizeof *copy);
    LLM_CHECK(err, copy, LLM_ERR_NOMEM, "out of memory converting tensor '%s'", name);
    llm_dequantize_row(t->type, t->data, copy, (int64_t)count);
    LLM_TRY(keep_owned(m, copy, err));
    *out = copy;
    return LLM_OK;
}

llm_status llm_model_bind_vec(struct llm_model *m, const float **out, const char *name, int64_t n,
                              llm_error *err)
{
    const llm_gguf_tensor *t = llm_gguf_find_tensor(m->gguf, name);
    LLM_CHECK(err, t, LLM_ERR_FORMAT, "tensor '%s' is missing", name);
    LLM_CHECK(err, t->n_dims == 1 && (int64_t)t->ne[0] == n, LLM_ERR_FORMAT,
              "tensor '%s' has shape [%llu,%llu], expected [%lld]", name,
              (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (long long)n);
    return llm_model_bind_f32(m, out, name, n, err);
}

/* ---------------------------------------------------------------------------------------------- */
/* open / close                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static void model_free(struct llm_model *m)
{
    if (!m)
        return;
    if (m->ops && m->ops->unload && m->weights)
        m->ops->unload(m);
    for (size_t i = 0; i < m->n_owned; i++)
        llm_aligned_free(m->owned[i]);
    llm_mem_free(m->owned);
    llm_tokenizer_free(m->tok);
    llm_gguf_close(m->gguf);
    llm_mem_free(m->path);
    llm_mem_free(m->chat_template);
    llm_mem_free(m->bos_text);
    llm_mem_free(m->eos_text);
    llm_mem_free(m);
}

void llm_model_retain(struct llm_model *m)
{
    atomic_fetch_add(&m->refs, 1);
}

void llm_model_release(struct llm_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1)
        model_free(m);
}

static llm_status model_bind(struct llm_model *m, bool dir, const char *path,
                             const llm_model_options *opt, llm_error *err);

static llm_status model_open(const char *path, const llm_model_options *opt,
                             struct llm_model **out, llm_error *err)
{
    llm_gguf_limits lim;
    llm_gguf_limits_default(&lim);
    lim.max_file_bytes = opt->max_file_bytes;
    lim.max_tensor_count = opt->max_tensor_count;
    lim.max_kv_count = opt->max_kv_count;
    lim.max_array_length = opt->max_array_length;
    lim.max_string_length = opt->max_string_length;
    lim.load_mode = opt->load_mode;

    struct llm_model *m = llm_calloc(1, sizeof *m);
    LLM_CHECK(err, m, LLM_ERR_NOMEM, "out of memory");
    atomic_init(&m->refs, 1);
    m->path = llm_strdup(path);
    llm_status st = m->path ? LLM_OK : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");

    bool dir = llm_path_is_dir(path);
    if (st == LLM_OK)
        st = dir ? llm_hf_import(path, &lim, &m->gguf, err)
                 : llm_gguf_open(path, &lim, &m->gguf, err);
    if (st == LLM_OK && opt->verify)
        st = llm_gguf_verify(m->gguf, err);

    if (st == LLM_OK)
        st = model_bind(m, dir, path, opt, err);
    if (st != LLM_OK) {
        model_free(m);
        return st;
    }
    llm_log(LLM_LOG_INFO, "%s: %s, %u layers, %u wide, vocab %u", path, m->ops->name,
            m->hp.n_layer, m->hp.n_embd, m->hp.n_vocab);
    *out = m;
    return LLM_OK;
}

/* Architecture, tensors and tokenizer of a model whose gguf is in place. */
static llm_status model_bind(struct llm_model *m, bool dir, const char *path,
                             const llm_model_options *opt, llm_error *err)
{
    llm_status st = LLM_OK;
    const char *arch = NULL;
    size_t arch_len = 0;
    if (st == LLM_OK && !llm_gguf_get_str(m->gguf, "general.architecture", &arch, &arch_len))
        st = llm_error_set(err, LLM_ERR_FORMAT,
                           "metadata key 'general.architecture' is missing: not a model file "
                           "(a tokenizer-only GGUF opens with llm_tokenizer_open)");
    if (st == LLM_OK) {
        m->ops = llm_arch_find(arch);
        if (!m->ops)
            st = llm_error_set(err, LLM_ERR_UNSUPPORTED,
                               "architecture '%s' is not supported (supported: gpt2, llama, "
                               "bert, t5)",
                               arch);
    }
    if (st == LLM_OK) {
        m->hp.arch = m->ops->arch;
        m->hp.family = m->ops->family;
        st = m->ops->load(m, err);
    }
    if (st == LLM_OK)
        st = llm_model_bind_heads(m, err);
    if (st == LLM_OK)
        st = dir ? llm_tokenizer_open_path(path, &m->tok, err)
                 : llm_tokenizer_from_gguf(m->gguf, &m->tok, err);
    if (st == LLM_OK) {
        llm_tokenizer_options to;
        llm_tokenizer_options_init(&to);
        to.max_normalize_growth = opt->max_normalize_growth;
        to.max_added_token_steps = opt->max_added_token_steps;
        to.max_regex_steps = opt->max_regex_steps;
        st = llm_tokenizer_set_limits(m->tok, &to, err);
    }
    if (st == LLM_OK && m->hp.n_vocab == 0)
        m->hp.n_vocab = (uint32_t)llm_tokenizer_vocab_size(m->tok);
    if (st == LLM_OK)
        st = llm_model_load_chat_template(m, path, dir, err);
    return st;
}

llm_status llm_model_from_gguf(llm_gguf *g, const char *name, struct llm_model **out,
                               llm_error *err)
{
    *out = NULL;
    struct llm_model *m = llm_calloc(1, sizeof *m);
    if (!m) {
        llm_gguf_close(g);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    atomic_init(&m->refs, 1);
    m->gguf = g;
    m->path = llm_strdup(name ? name : "(memory)");
    llm_model_options defaults;
    llm_model_options_init(&defaults);
    llm_status st = m->path ? model_bind(m, false, m->path, &defaults, err)
                            : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    if (st != LLM_OK) {
        model_free(m);
        return st;
    }
    *out = m;
    return LLM_OK;
}

llm_status llm_model_open(const char *path, const llm_model_options *opt, llm_model **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !path ? "path is NULL: name the model file or directory to open"
                              : "out is NULL");
    llm_error err = {0};
    llm_model_options o;
    llm_model_options_init(&o);
    if (opt && llm_copy_options(&o, sizeof o, opt, offsetof(llm_model_options, max_string_length) +
                                                       sizeof o.max_string_length,
                                "llm_model_options", &err) != LLM_OK)
        return llm_error_publish(&err);
    if (model_open(path, &o, out, &err) != LLM_OK) {
        if (strncmp(err.msg, path, strlen(path)) != 0)
            llm_error_prefix(&err, "%s", path);
        return llm_error_publish(&err);
    }
    return LLM_OK;
}

void llm_model_close(llm_model *model)
{
    llm_model_release(model);
}

/* ---------------------------------------------------------------------------------------------- */
/* queries                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

llm_status llm_model_get_info(const llm_model *m, llm_model_info *info)
{
    if (!m || !info)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !m ? "model is NULL (not opened, or closed)" : "info is NULL");
    size_t caller = info->struct_size;
    if (caller < offsetof(llm_model_info, weight_bytes) + sizeof info->weight_bytes)
        return llm_fail(LLM_ERR_ABI, "llm_model_info.struct_size is %zu: set it to "
                                     "sizeof(llm_model_info)",
                        caller);
    llm_model_info i;
    memset(&i, 0, sizeof i);
    i.struct_size = sizeof i;
    const llm_hparams *hp = &m->hp;
    i.arch = hp->arch;
    i.family = hp->family;
    i.n_vocab = hp->n_vocab;
    i.n_embd = hp->n_embd;
    i.n_layer = hp->n_layer;
    i.n_layer_encoder = hp->n_layer_enc;
    i.n_head = hp->n_head;
    i.n_head_kv = hp->n_head_kv;
    i.n_ff = hp->n_ff;
    i.n_ctx_train = hp->n_ctx_train;
    i.pooling = hp->pooling;
    uint64_t counts[LLM_DTYPE_COUNT] = {0};
    for (uint64_t t = 0; t < llm_gguf_n_tensors(m->gguf); t++) {
        const llm_gguf_tensor *ti = llm_gguf_tensor_at(m->gguf, t);
        uint64_t n = ti->ne[0] * ti->ne[1] * ti->ne[2] * ti->ne[3];
        i.n_params += n;
        i.weight_bytes += ti->nbytes;
        if (ti->type < LLM_DTYPE_COUNT && ti->n_dims >= 2)
            counts[ti->type] += ti->nbytes;
    }
    for (int t = 0; t < LLM_DTYPE_COUNT; t++)
        if (counts[t] > counts[i.weight_type])
            i.weight_type = t;
    memcpy(info, &i, caller < sizeof i ? caller : sizeof i);
    info->struct_size = caller;
    return LLM_OK;
}

const char *llm_model_arch_name(const llm_model *m)
{
    return m && m->ops ? m->ops->name : NULL;
}

size_t llm_model_embedding_dim(const llm_model *m)
{
    return m ? m->hp.n_embd : 0;
}

const llm_tokenizer *llm_model_tokenizer(const llm_model *m)
{
    return m ? m->tok : NULL;
}
