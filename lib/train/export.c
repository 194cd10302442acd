/*
 * Writing the trainer's weights out: as an in-memory model (llm_trainer_to_model), as a GGUF
 * model in llama.cpp's conventions (llm_trainer_export), and as a checkpoint (a GGUF model file
 * plus the AdamW moments as tensors "adam_m.<name>" / "adam_v.<name>" and the step, token count
 * and sampler state as train.* keys). Files are written to a temporary name and renamed
 * (llm_gguf_write), so a failure leaves the previous file as it was.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "model/model.h"
#include "train/train.h"

#define CKPT_FORMAT 1u

static bool internal_key(const char *key)
{
    return strncmp(key, "train.", 6) == 0;
}

/* The model's metadata (without train.*) and every tensor as f32. */
llm_status llm_train_build_gguf(const llm_trainer *tr, llm_gguf **out, llm_error *err)
{
    llm_gguf *g = NULL;
    LLM_TRY(llm_gguf_create(&g, err));
    const llm_gguf *src = tr->model->gguf;
    llm_status st = LLM_OK;
    for (uint64_t i = 0; st == LLM_OK && i < llm_gguf_n_kv(src); i++)
        if (!internal_key(llm_gguf_key(src, i)) &&
            strcmp(llm_gguf_key(src, i), "general.alignment") != 0)
            st = llm_gguf_copy_kv(g, src, i, err);
    if (st == LLM_OK)
        st = llm_gguf_set_u32(g, "general.file_type", 0, err);
    for (size_t i = 0; st == LLM_OK && i < tr->np; i++) {
        const llm_tparam *p = &tr->p[i];
        const uint64_t ne[2] = {(uint64_t)p->ne[0], (uint64_t)p->ne[1]};
        st = llm_gguf_add_tensor(g, p->name, LLM_DTYPE_F32, p->n_dims, ne, p->w, err);
    }
    if (st != LLM_OK) {
        llm_gguf_close(g);
        return st;
    }
    *out = g;
    return LLM_OK;
}

llm_status llm_trainer_to_model(const llm_trainer *tr, llm_model **out)
{
    if (out)
        *out = NULL;
    if (!tr || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_to_model: NULL argument");
    llm_error err = {0};
    llm_gguf *g = NULL;
    if (llm_train_build_gguf(tr, &g, &err) != LLM_OK ||
        llm_model_from_gguf(g, "(trainer weights)", out, &err) != LLM_OK)
        return llm_error_publish(&err);
    return LLM_OK;
}

static llm_status fail(llm_trainer *tr, llm_status st)
{
    (void)st;
    return llm_error_publish(&tr->err);
}

/* GPT-2 without biases gets zero biases, which compute the same function, for llama.cpp's loader. */
static llm_status add_zero_biases(const llm_trainer *tr, llm_gguf *g, llm_error *err)
{
    if (tr->arch != LLM_ARCH_GPT2)
        return LLM_OK;
    char name[96];
    for (int64_t l = -1; l < tr->L; l++) {
        static const char *const sfx[] = {"attn_norm.bias", "attn_qkv.bias", "attn_output.bias",
                                          "ffn_norm.bias", "ffn_up.bias", "ffn_down.bias"};
        const int64_t len[] = {tr->E, 3 * tr->E, tr->E, tr->E, tr->F, tr->E};
        for (int k = 0; k < (l < 0 ? 1 : 6); k++) {
            if (l < 0)
                snprintf(name, sizeof name, "output_norm.bias");
            else
                snprintf(name, sizeof name, "blk.%lld.%s", (long long)l, sfx[k]);
            if (llm_gguf_find_tensor(g, name))
                continue;
            const int64_t n = l < 0 ? tr->E : len[k];
            float *z = llm_aligned_alloc((size_t)n * sizeof *z);
            LLM_CHECK(err, z, LLM_ERR_NOMEM, "out of memory");
            memset(z, 0, (size_t)n * sizeof *z);
            const uint64_t ne[1] = {(uint64_t)n};
            LLM_TRY(llm_gguf_add_tensor_owned(g, name, LLM_DTYPE_F32, 1, ne, z, err));
        }
    }
    return LLM_OK;
}

static llm_status export_gguf(llm_trainer *tr, const char *path, int32_t type, llm_error *err)
{
    LLM_CHECK(err, type == LLM_DTYPE_F32 || type == LLM_DTYPE_F16 || type == LLM_DTYPE_Q8_0,
              LLM_ERR_UNSUPPORTED, "export type %d: use 0 (F32), 1 (F16) or 8 (Q8_0)", type);
    llm_gguf *g = NULL;
    LLM_TRY(llm_train_build_gguf(tr, &g, err));
    llm_status st = add_zero_biases(tr, g, err);
    for (uint64_t i = 0; st == LLM_OK && i < llm_gguf_n_tensors(g); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        if (t->n_dims != 2 || type == LLM_DTYPE_F32)
            continue;
        uint32_t ty = (uint32_t)type;
        if (ty == LLM_DTYPE_Q8_0 && t->ne[0] % 32 != 0)
            ty = LLM_DTYPE_F16; /* llama.cpp's fallback for rows that are not whole blocks */
        st = llm_gguf_convert_tensor(g, i, ty, err);
    }
    /* llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7 */
    if (st == LLM_OK)
        st = llm_gguf_set_u32(g, "general.file_type",
                              type == LLM_DTYPE_F32 ? 0 : type == LLM_DTYPE_F16 ? 1 : 7, err);
    if (st == LLM_OK)
        st = llm_gguf_write(g, path, err);
    llm_gguf_close(g);
    return st;
}

llm_status llm_trainer_export(llm_trainer *tr, const char *path, int32_t type)
{
    if (!tr || !path)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_export: trainer and path must not be "
                                             "NULL");
    llm_error_clear(&tr->err);
    llm_status st = export_gguf(tr, path, type, &tr->err);
    return st == LLM_OK ? LLM_OK : fail(tr, st);
}

// ------------------------------------------------------------------------------------------------
// checkpoints

static llm_status check_weights_finite(const llm_trainer *tr, llm_error *err)
{
    for (size_t i = 0; i < tr->np; i++) {
        const llm_tparam *p = &tr->p[i];
        for (size_t k = 0; k < p->n; k++)
            LLM_CHECK(err, isfinite(p->w[k]), LLM_ERR_STATE,
                      "step %llu: weight %zu of '%s' is %s; the checkpoint was not written",
                      (unsigned long long)tr->step, k, p->name, isnan(p->w[k]) ? "NaN" : "infinite");
    }
    return LLM_OK;
}

static llm_status save_checkpoint(llm_trainer *tr, const char *path, llm_error *err)
{
    LLM_TRY(check_weights_finite(tr, err));
    llm_gguf *g = NULL;
    LLM_TRY(llm_train_build_gguf(tr, &g, err));
    llm_status st = LLM_OK;
    char name[80];
    for (size_t i = 0; st == LLM_OK && i < tr->np; i++) {
        const llm_tparam *p = &tr->p[i];
        const uint64_t ne[2] = {(uint64_t)p->ne[0], (uint64_t)p->ne[1]};
        for (int k = 0; st == LLM_OK && k < 2; k++) {
            snprintf(name, sizeof name, "%s%s", k == 0 ? "adam_m." : "adam_v.", p->name);
            if (strlen(name) >= 64)
                st = llm_error_set(err, LLM_ERR_UNSUPPORTED,
                                   "tensor name '%s' is too long for a checkpoint", p->name);
            else
                st = llm_gguf_add_tensor(g, name, LLM_DTYPE_F32, p->n_dims, ne,
                                         k == 0 ? p->m : p->v, err);
        }
    }
    if (st == LLM_OK)
        st = llm_gguf_set_u32(g, "train.format", CKPT_FORMAT, err);
    if (st == LLM_OK)
        st = llm_gguf_set_u64(g, "train.step", tr->step, err);
    if (st == LLM_OK)
        st = llm_gguf_set_u64(g, "train.tokens", tr->tokens, err);
    if (st == LLM_OK) {
        /* as bytes (little-endian words): byte arrays read back with llm_gguf_arr_data() */
        uint8_t b[32];
        for (int w = 0; w < 4; w++)
            for (int k = 0; k < 8; k++)
                b[8 * w + k] = (uint8_t)(tr->rng[w] >> (8 * k));
        st = llm_gguf_set_arr(g, "train.rng", LLM_GGUF_UINT8, b, sizeof b, err);
    }
    if (st == LLM_OK && tr->progress)
        tr->progress(tr->progress_user, LLM_PHASE_SAVE, 0, 1);
    if (st == LLM_OK)
        st = llm_gguf_write(g, path, err);
    if (st == LLM_OK && tr->progress)
        tr->progress(tr->progress_user, LLM_PHASE_SAVE, 1, 1);
    llm_gguf_close(g);
    return st;
}

llm_status llm_trainer_save_checkpoint(llm_trainer *tr, const char *path)
{
    if (!tr || !path)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_save_checkpoint: trainer and path must "
                                             "not be NULL");
    llm_error_clear(&tr->err);
    llm_status st = save_checkpoint(tr, path, &tr->err);
    return st == LLM_OK ? LLM_OK : fail(tr, st);
}

static llm_status copy_f32(const llm_gguf *g, const char *name, const llm_tparam *p, float *dst,
                           const char *path, llm_error *err)
{
    const llm_gguf_tensor *t = llm_gguf_find_tensor(g, name);
    LLM_CHECK(err, t, LLM_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
    LLM_CHECK(err, t->type == LLM_DTYPE_F32 && (int64_t)t->ne[0] == p->ne[0] &&
                       (int64_t)t->ne[1] == p->ne[1],
              LLM_ERR_FORMAT,
              "%s: tensor '%s' is [%llu, %llu] of type %u; the trainer's is [%lld, %lld] f32",
              path, name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], t->type,
              (long long)p->ne[0], (long long)p->ne[1]);
    memcpy(dst, t->data, p->n * sizeof(float));
    return LLM_OK;
}

static llm_status load_checkpoint(llm_trainer *tr, const char *path, llm_error *err)
{
    llm_gguf *g = NULL;
    LLM_TRY(llm_gguf_open(path, NULL, &g, err));
    uint32_t format = 0;
    uint64_t rn = 0;
    llm_gguf_type et;
    int64_t step = 0, tokens = 0;
    llm_status st = LLM_OK;
    if (!llm_gguf_get_u32(g, "train.format", &format) || format != CKPT_FORMAT ||
        !llm_gguf_get_i64(g, "train.step", &step) || !llm_gguf_get_i64(g, "train.tokens", &tokens) ||
        !llm_gguf_get_arr(g, "train.rng", &et, &rn) || et != LLM_GGUF_UINT8 || rn != 32)
        st = llm_error_set(err, LLM_ERR_FORMAT,
                           "%s: not a libllm training checkpoint (train.format %u, train.step, "
                           "train.tokens and train.rng are needed)",
                           path, format);
    /* everything is checked before anything is changed */
    char name[80];
    for (size_t i = 0; st == LLM_OK && i < tr->np; i++) {
        const llm_tparam *p = &tr->p[i];
        const llm_gguf_tensor *t = llm_gguf_find_tensor(g, p->name);
        if (!t || t->type != LLM_DTYPE_F32 || (int64_t)t->ne[0] != p->ne[0] ||
            (int64_t)t->ne[1] != p->ne[1])
            st = copy_f32(g, p->name, p, p->g, path, err); /* names the mismatch */
        for (int k = 0; st == LLM_OK && k < 2; k++) {
            snprintf(name, sizeof name, "%s%s", k == 0 ? "adam_m." : "adam_v.", p->name);
            const llm_gguf_tensor *u = llm_gguf_find_tensor(g, name);
            if (!u || u->type != LLM_DTYPE_F32 || (int64_t)u->ne[0] != p->ne[0] ||
                (int64_t)u->ne[1] != p->ne[1])
                st = copy_f32(g, name, p, p->g, path, err);
        }
    }
    for (size_t i = 0; st == LLM_OK && i < tr->np; i++) {
        llm_tparam *p = &tr->p[i];
        st = copy_f32(g, p->name, p, p->w, path, err);
        snprintf(name, sizeof name, "adam_m.%s", p->name);
        if (st == LLM_OK)
            st = copy_f32(g, name, p, p->m, path, err);
        snprintf(name, sizeof name, "adam_v.%s", p->name);
        if (st == LLM_OK)
            st = copy_f32(g, name, p, p->v, path, err);
    }
    if (st == LLM_OK) {
        uint64_t nb = 0;
        const void *d = llm_gguf_arr_data(g, "train.rng", &nb);
        if (d && nb == 32) {
            const uint8_t *b = d;
            for (int w = 0; w < 4; w++) {
                tr->rng[w] = 0;
                for (int k = 0; k < 8; k++)
                    tr->rng[w] |= (uint64_t)b[8 * w + k] << (8 * k);
            }
        } else
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s: train.rng is unreadable", path);
        tr->step = (uint64_t)step;
        tr->tokens = (uint64_t)tokens;
    }
    llm_gguf_close(g);
    return st;
}

llm_status llm_trainer_load_checkpoint(llm_trainer *tr, const char *path)
{
    if (!tr || !path)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_load_checkpoint: trainer and path must "
                                             "not be NULL");
    llm_error_clear(&tr->err);
    llm_status st = load_checkpoint(tr, path, &tr->err);
    return st == LLM_OK ? LLM_OK : fail(tr, st);
}
