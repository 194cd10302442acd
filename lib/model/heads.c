/*
 * Binding the task heads an encoder file carries (model.h, llm_heads): sequence classification
 * (this project's cls_head.* on the pooled output, or llama.cpp's cls.* / cls.output.* names for
 * Hugging Face's BertForSequenceClassification pooler and classifier) and the masked-LM head of
 * BertForMaskedLM (mlm.*). Every tensor is shape-checked by name; a model without them simply
 * has no head. What the heads compute is session/classify.c's.
 */
#include <stdio.h>
#include <string.h>

#include "common/dtype.h"
#include "model/model.h"

/* A head matrix as f32 (the file's own data or a converted copy). */
static llm_status bind_f32_matrix(struct llm_model *m, llm_weight *w, const char *name,
                                  int64_t cols, int64_t rows, llm_error *err)
{
    LLM_TRY(llm_model_bind(m, w, name, cols, rows, err)); /* shape check with both shapes */
    const float *data = NULL;
    LLM_TRY(llm_model_bind_f32(m, &data, name, cols * rows, err));
    w->data = data;
    w->type = LLM_DTYPE_F32;
    return LLM_OK;
}

static llm_status bind_problem(struct llm_model *m, llm_error *err)
{
    char key[64];
    snprintf(key, sizeof key, "%s.classifier.problem_type", m->ops->name);
    const char *s = NULL;
    size_t len = 0;
    /* Hugging Face's rule: one output is a regression, more are one label out of several */
    m->heads.problem = m->heads.n_labels == 1 ? LLM_CLASSIFIER_REGRESSION
                                              : LLM_CLASSIFIER_SINGLE_LABEL;
    if (!llm_gguf_get_str(m->gguf, key, &s, &len))
        return LLM_OK;
    if (strcmp(s, "single_label_classification") == 0)
        m->heads.problem = LLM_CLASSIFIER_SINGLE_LABEL;
    else if (strcmp(s, "multi_label_classification") == 0)
        m->heads.problem = LLM_CLASSIFIER_MULTI_LABEL;
    else if (strcmp(s, "regression") == 0)
        m->heads.problem = LLM_CLASSIFIER_REGRESSION;
    else
        return llm_error_set(err, LLM_ERR_FORMAT,
                             "%s is '%s', expected single_label_classification, "
                             "multi_label_classification or regression",
                             key, s);
    return LLM_OK;
}

static llm_status bind_classifier(struct llm_model *m, llm_error *err)
{
    llm_heads *h = &m->heads;
    const int64_t E = m->hp.n_embd;
    const char *out_w = NULL, *out_b = NULL;
    if (llm_model_has(m, "cls_head.weight")) {
        h->cls = LLM_CLS_LINEAR;
        out_w = "cls_head.weight";
        out_b = "cls_head.bias";
    } else if (llm_model_has(m, "cls.output.weight")) {
        h->cls = LLM_CLS_POOLER;
        out_w = "cls.output.weight";
        out_b = "cls.output.bias";
        LLM_TRY(bind_f32_matrix(m, &h->pooler, "cls.weight", E, E, err));
        LLM_TRY(llm_model_bind_vec(m, &h->pooler_b, "cls.bias", E, err));
    } else {
        return LLM_OK;
    }
    const llm_gguf_tensor *t = llm_gguf_find_tensor(m->gguf, out_w);
    LLM_CHECK(err, t->n_dims <= 2 && t->ne[0] == (uint64_t)E && t->ne[1] >= 1 &&
                       t->ne[1] <= (1u << 20),
              LLM_ERR_FORMAT, "tensor '%s' has shape [%llu,%llu], expected [%lld,n_labels]",
              out_w, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (long long)E);
    h->n_labels = (uint32_t)t->ne[1];
    LLM_TRY(bind_f32_matrix(m, &h->cls_out, out_w, E, h->n_labels, err));
    LLM_TRY(llm_model_bind_vec(m, &h->cls_out_b, out_b, h->n_labels, err));
    char key[64];
    snprintf(key, sizeof key, "%s.classifier.output_labels", m->ops->name);
    llm_gguf_type elem;
    uint64_t count = 0;
    if (llm_gguf_get_arr(m->gguf, key, &elem, &count))
        LLM_CHECK(err, elem == LLM_GGUF_STRING && count == h->n_labels, LLM_ERR_FORMAT,
                  "%s has %llu entries, the classifier %u labels", key,
                  (unsigned long long)count, h->n_labels);
    return bind_problem(m, err);
}

static llm_status bind_mlm(struct llm_model *m, llm_error *err)
{
    llm_heads *h = &m->heads;
    if (!llm_model_has(m, "mlm.dense.weight"))
        return LLM_OK;
    const int64_t E = m->hp.n_embd, V = m->hp.n_vocab;
    LLM_TRY(bind_f32_matrix(m, &h->mlm_dense, "mlm.dense.weight", E, E, err));
    LLM_TRY(llm_model_bind_vec(m, &h->mlm_dense_b, "mlm.dense.bias", E, err));
    LLM_TRY(llm_model_bind_vec(m, &h->mlm_norm_w, "mlm.norm.weight", E, err));
    LLM_TRY(llm_model_bind_vec(m, &h->mlm_norm_b, "mlm.norm.bias", E, err));
    LLM_TRY(llm_model_bind_vec(m, &h->mlm_out_b, "mlm.output.bias", V, err));
    if (llm_model_has(m, "mlm.output.weight"))
        LLM_TRY(llm_model_bind(m, &h->mlm_out, "mlm.output.weight", E, V, err));
    else
        LLM_TRY(llm_model_bind(m, &h->mlm_out, "token_embd.weight", E, V, err)); /* tied */
    h->mlm_eps = m->hp.norm_eps;
    h->mlm = true;
    return LLM_OK;
}

llm_status llm_model_bind_heads(struct llm_model *m, llm_error *err)
{
    if (m->hp.family != LLM_FAMILY_ENCODER)
        return LLM_OK;
    LLM_TRY(bind_classifier(m, err));
    return bind_mlm(m, err);
}

/* ---------------------------------------------------------------------------------------------- */
/* public queries                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

llm_classifier llm_model_classifier(const llm_model *m, size_t *n_labels)
{
    if (n_labels)
        *n_labels = m && m->heads.cls != LLM_CLS_NONE ? m->heads.n_labels : 0;
    return m && m->heads.cls != LLM_CLS_NONE ? (llm_classifier)m->heads.problem
                                             : LLM_CLASSIFIER_NONE;
}

const char *llm_model_label(const llm_model *m, size_t i)
{
    if (!m || m->heads.cls == LLM_CLS_NONE || i >= m->heads.n_labels)
        return NULL;
    char key[64];
    snprintf(key, sizeof key, "%s.classifier.output_labels", m->ops->name);
    size_t len = 0;
    return llm_gguf_arr_str(m->gguf, key, i, &len);
}
