/*
 * Merging adapters into a model's weights and writing the result as a GGUF: every tensor and
 * metadata entry of the model is copied, and each adapted matrix becomes
 *
 *   W' = W + Σ_adapters scale · B · A            (W (n_out, n_in), B (n_out, rank), A (rank, n_in))
 *
 * computed in double per element and rounded once. An f32, f16 or bf16 matrix keeps its type; a
 * quantized one is written as f16, because quantizing the merged matrix again would round most of
 * the adapter's small change away (llama.cpp's export-lora does the same). The model itself is
 * not changed: the merge works on copies.
 */
#include <math.h>
#include <string.h>

#include "adapter/adapter.h"
#include "common/alloc.h"
#include "common/dtype.h"

static bool is_plain_float(uint32_t type)
{
    return type == LLM_DTYPE_F32 || type == LLM_DTYPE_F16 || type == LLM_DTYPE_BF16;
}

/* W (n_out, n_in) += scale · B · A in double. */
static void add_product(float *W, const llm_adapter_mat *mat, float scale)
{
    const float *A = mat->a.data; /* (rank, n_in) */
    const float *B = mat->b.data; /* (n_out, rank) */
    const int64_t r = mat->rank, n_in = mat->n_in;
    for (int64_t o = 0; o < mat->n_out; o++) {
        float *w = W + o * n_in; /* (n_in) */
        for (int64_t i = 0; i < n_in; i++) {
            double d = 0.0;
            for (int64_t k = 0; k < r; k++)
                d += (double)B[o * r + k] * (double)A[k * n_in + i];
            w[i] = (float)((double)w[i] + (double)scale * d);
        }
    }
}

static llm_status merged_tensor(llm_gguf *g, const llm_gguf_tensor *t,
                                llm_adapter *const *adapters, const float *scales, size_t n,
                                llm_error *err)
{
    const llm_adapter_mat *mats[64];
    float mat_scales[64];
    size_t n_hit = 0;
    for (size_t i = 0; i < n; i++) {
        const llm_adapter_mat *mat = llm_adapter_find(adapters[i], t->data);
        if (!mat)
            continue;
        LLM_CHECK(err, n_hit < 64, LLM_ERR_LIMIT, "more than 64 adapters change tensor '%s'",
                  t->name);
        mats[n_hit] = mat;
        mat_scales[n_hit++] = llm_adapter_scale(adapters[i], mat, scales ? scales[i] : 1.0f);
    }
    if (n_hit == 0)
        return llm_gguf_add_tensor(g, t->name, t->type, t->n_dims, t->ne, t->data, err);
    const int64_t n_in = (int64_t)t->ne[0], n_out = (int64_t)t->ne[1];
    float *W = llm_aligned_alloc((size_t)n_in * (size_t)n_out * sizeof *W);
    LLM_CHECK(err, W, LLM_ERR_NOMEM, "out of memory merging tensor '%s'", t->name);
    const size_t row_bytes = (size_t)llm_dtype_row_bytes(t->type, t->ne[0]);
    for (int64_t o = 0; o < n_out; o++)
        llm_dequantize_row(t->type, (const uint8_t *)t->data + (size_t)o * row_bytes,
                           W + o * n_in, n_in);
    for (size_t k = 0; k < n_hit; k++)
        add_product(W, mats[k], mat_scales[k]);
    LLM_TRY(llm_gguf_add_tensor_owned(g, t->name, LLM_DTYPE_F32, t->n_dims, t->ne, W, err));
    const uint32_t out_type = is_plain_float(t->type) ? t->type : LLM_DTYPE_F16;
    return llm_gguf_convert_tensor(g, llm_gguf_n_tensors(g) - 1, out_type, err);
}

static llm_status export_merged(const llm_model *m, llm_adapter *const *adapters,
                                const float *scales, size_t n, const char *path, llm_error *err)
{
    llm_gguf *g = NULL;
    LLM_TRY(llm_gguf_create(&g, err));
    llm_status st = LLM_OK;
    for (uint64_t i = 0; i < llm_gguf_n_kv(m->gguf) && st == LLM_OK; i++)
        st = llm_gguf_copy_kv(g, m->gguf, i, err);
    for (uint64_t i = 0; i < llm_gguf_n_tensors(m->gguf) && st == LLM_OK; i++)
        st = merged_tensor(g, llm_gguf_tensor_at(m->gguf, i), adapters, scales, n, err);
    if (st == LLM_OK)
        st = llm_gguf_write(g, path, err);
    llm_gguf_close(g);
    return st;
}

llm_status llm_model_export_merged(const llm_model *model, llm_adapter *const *adapters,
                                   const float *scales, size_t n, const char *path)
{
    if (!model || !path || (n > 0 && !adapters))
        return llm_fail(LLM_ERR_INVALID_ARG,
                        "llm_model_export_merged: model, path and adapters must not be NULL");
    for (size_t i = 0; i < n; i++) {
        if (!adapters[i])
            return llm_fail(LLM_ERR_INVALID_ARG, "llm_model_export_merged: adapter %zu is NULL",
                            i);
        if (adapters[i]->model != model)
            return llm_fail(LLM_ERR_INVALID_ARG,
                            "llm_model_export_merged: adapter '%s' was opened for another model "
                            "(%s)",
                            adapters[i]->name, adapters[i]->model->path);
        if (scales && !isfinite(scales[i]))
            return llm_fail(LLM_ERR_INVALID_ARG,
                            "llm_model_export_merged: scale %zu (%g) is not finite", i,
                            (double)scales[i]);
    }
    llm_error err = {0};
    if (export_merged(model, adapters, scales, n, path, &err) != LLM_OK) {
        llm_error_prefix(&err, "%s", path);
        return llm_error_publish(&err);
    }
    return LLM_OK;
}
