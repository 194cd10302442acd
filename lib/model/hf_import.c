/*
 * Hugging Face directory import. Reads config.json, opens the safetensors checkpoint and builds an
 * llm_gguf in memory whose tensor names, layouts and metadata keys are those llama.cpp's
 * convert_hf_to_gguf.py writes (gguf-py constants.py / tensor_mapping.py), so an imported model
 * and a converted GGUF are bound by the same architecture code:
 *
 *   gpt2   GPT2Model / GPT2LMHeadModel ("transformer." prefix optional). Conv1D weights are stored
 *          (in, out) and are transposed; the fused c_attn stays fused as blk.N.attn_qkv.
 *          output.weight is lm_head when the checkpoint has one, else a copy of wte (llama.cpp's
 *          GPT-2 loader requires it and its converter writes the copy).
 *   llama  LlamaForCausalLM. q_proj/k_proj rows are permuted as convert_hf_to_gguf's
 *          LlamaModel.permute does (halves of each head interleaved), so the model uses llama.cpp's
 *          "normal" RoPE (adjacent pairs) exactly like a converted GGUF.
 *   bert   BertModel and heads ("bert." prefix optional); sentence-transformers modules.json
 *          gives bert.pooling_type (1 mean, 2 cls, 3 last) and llm.normalize; llm.pooling_type
 *          records the pooling in llm_pooling numbering (4 = max, which llama.cpp lacks).
 *          BertForSequenceClassification's pooler and classifier become cls.* / cls.output.*
 *          (llama.cpp's names) with id2label as bert.classifier.output_labels; BertForMaskedLM's
 *          cls.predictions become mlm.* (model/heads.c).
 *   t5     T5ForConditionalGeneration / T5Model: shared embeddings, relative attention bias of
 *          block 0, ReLU (wi/wo) or gated (wi_0/wi_1/wo) feed-forward, lm_head unless tied.
 *
 * Every tensor's shape is checked against the configuration before it is copied; a mismatch names
 * the tensor and both shapes. Tensors the runtime does not use (a pooler without a classifier,
 * attention mask buffers, rotary caches) are ignored.
 */
#include "model/hf_import.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/path.h"
#include "common/dtype.h"
#include "model/safetensors.h"

#define NAME_MAX_LEN 160

typedef enum xform { XF_NONE = 0, XF_TRANSPOSE = 1, XF_PERMUTE = 2 } xform;

typedef struct imp {
    const char *dir;
    llm_safetensors *st;
    llm_gguf *g;
    json_t *cfg;
    const char *prefixes[3];
    int n_prefixes;
    char arch[16];
    llm_error *err;
} imp;

// ------------------------------------------------------------------------------------------------
// config.json helpers

/* A non-negative integer field; `def` when absent (required fields pass def = UINT64_MAX). */
static llm_status cfg_u32(imp *c, const char *key, uint64_t def, uint32_t *out)
{
    json_t *v = json_object_get(c->cfg, key);
    if (!v || json_is_null(v)) {
        if (def == UINT64_MAX)
            return llm_error_set(c->err, LLM_ERR_FORMAT, "%s/config.json: \"%s\" is missing",
                                 c->dir, key);
        *out = (uint32_t)def;
        return LLM_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX)
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s/config.json: \"%s\" must be an integer in 0..4294967295", c->dir,
                             key);
    *out = (uint32_t)json_integer_value(v);
    return LLM_OK;
}

/* The first present key of a list of aliases (NULL-terminated). */
static llm_status cfg_u32_alias(imp *c, const char *const *keys, uint64_t def, uint32_t *out)
{
    for (int i = 0; keys[i]; i++)
        if (json_object_get(c->cfg, keys[i]) && !json_is_null(json_object_get(c->cfg, keys[i])))
            return cfg_u32(c, keys[i], def, out);
    return cfg_u32(c, keys[0], def, out);
}

static llm_status cfg_f32(imp *c, const char *key, double def, float *out)
{
    json_t *v = json_object_get(c->cfg, key);
    if (!v || json_is_null(v)) {
        *out = (float)def;
        return LLM_OK;
    }
    if (!json_is_number(v))
        return llm_error_set(c->err, LLM_ERR_FORMAT, "%s/config.json: \"%s\" must be a number",
                             c->dir, key);
    *out = (float)json_number_value(v);
    return LLM_OK;
}

static bool cfg_bool(imp *c, const char *key, bool def)
{
    json_t *v = json_object_get(c->cfg, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static const char *cfg_str(imp *c, const char *key)
{
    return json_string_value(json_object_get(c->cfg, key));
}

// ------------------------------------------------------------------------------------------------
// Metadata helpers: "<arch>.<key>"

static llm_status meta_u32(imp *c, const char *key, uint32_t v)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", c->arch, key);
    return llm_gguf_set_u32(c->g, full, v, c->err);
}

static llm_status meta_f32(imp *c, const char *key, float v)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", c->arch, key);
    return llm_gguf_set_f32(c->g, full, v, c->err);
}

// ------------------------------------------------------------------------------------------------
// Tensors

static const llm_st_tensor *find_src(imp *c, const char *name)
{
    char full[NAME_MAX_LEN + 32];
    for (int i = 0; i < c->n_prefixes; i++) {
        snprintf(full, sizeof full, "%s%s", c->prefixes[i], name);
        const llm_st_tensor *t = llm_safetensors_find(c->st, full);
        if (t)
            return t;
    }
    return NULL;
}

static void shape_str(char *buf, size_t cap, uint32_t n_dims, const uint64_t *shape)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (uint32_t d = 0; d < n_dims && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRIu64, d ? ", " : "", shape[d]);
    if (o < cap)
        snprintf(buf + o, cap - o, "]");
}

static float elem_f32(const uint8_t *p, uint32_t dt, uint64_t i)
{
    switch (dt) {
    case LLM_ST_F32: { float f; memcpy(&f, p + 4 * i, 4); return f; }
    case LLM_ST_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return llm_f16_to_f32(h); }
    case LLM_ST_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return llm_bf16_to_f32(h); }
    case LLM_ST_I8: return (float)(int8_t)p[i];
    default: return (float)p[i]; /* U8 */
    }
}

/* Copies n elements starting at element `si` of src (dtype sdt) to element `di` of dst (GGUF type
 * ddt, one of F32/F16/BF16). */
static void copy_elems(uint8_t *dst, uint32_t ddt, uint64_t di, const uint8_t *src, uint32_t sdt,
                       uint64_t si, uint64_t n)
{
    bool same = (ddt == LLM_DTYPE_F32 && sdt == LLM_ST_F32) ||
                (ddt == LLM_DTYPE_F16 && sdt == LLM_ST_F16) ||
                (ddt == LLM_DTYPE_BF16 && sdt == LLM_ST_BF16);
    uint32_t es = ddt == LLM_DTYPE_F32 ? 4 : 2;
    if (same) {
        memcpy(dst + di * es, src + si * es, (size_t)(n * es));
        return;
    }
    for (uint64_t k = 0; k < n; k++) {
        float f = elem_f32(src, sdt, si + k);
        if (ddt == LLM_DTYPE_F32) {
            memcpy(dst + (di + k) * 4, &f, 4);
        } else {
            uint16_t h = ddt == LLM_DTYPE_F16 ? llm_f32_to_f16(f) : llm_f32_to_bf16(f);
            memcpy(dst + (di + k) * 2, &h, 2);
        }
    }
}

/*
 * Adds GGUF tensor `dst` from checkpoint tensor `src` (prefixes tried), whose HF shape must be
 * shape[0..n_dims) (row-major, last dimension fastest). XF_TRANSPOSE transposes a 2-D (in, out)
 * Conv1D weight; XF_PERMUTE reorders rows per head for llama's q/k (n_head heads).
 * A missing tensor is an error when `required`, else nothing happens.
 */
static llm_status emit(imp *c, const char *dst, const char *src, uint32_t n_dims,
                       const uint64_t *shape, xform xf, uint32_t n_head, bool required)
{
    const llm_st_tensor *t = find_src(c, src);
    if (!t) {
        if (!required)
            return LLM_OK;
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s: tensor '%s%s' (GGUF '%s') is missing from the checkpoint",
                             c->dir, c->prefixes[0], src, dst);
    }
    bool ok = t->n_dims == n_dims;
    for (uint32_t d = 0; ok && d < n_dims; d++)
        ok = t->shape[d] == shape[d];
    if (!ok) {
        char got[96], want[96];
        shape_str(got, sizeof got, t->n_dims, t->shape);
        shape_str(want, sizeof want, n_dims, shape);
        return llm_error_set(c->err, LLM_ERR_FORMAT, "tensor '%s' has shape %s, expected %s",
                             t->name, got, want);
    }
    uint32_t ddt;
    switch (t->dtype) {
    case LLM_ST_F32: case LLM_ST_I8: case LLM_ST_U8: ddt = LLM_DTYPE_F32; break;
    case LLM_ST_F16: ddt = LLM_DTYPE_F16; break;
    case LLM_ST_BF16: ddt = LLM_DTYPE_BF16; break;
    default:
        return llm_error_set(c->err, LLM_ERR_UNSUPPORTED,
                             "tensor '%s' has dtype %s, expected F32, F16, BF16, I8 or U8",
                             t->name, llm_st_dtype_name(t->dtype));
    }
    if (n_dims == 1)
        ddt = LLM_DTYPE_F32;
    uint64_t cols = shape[n_dims - 1], rows = t->n_elem / cols;
    uint64_t ne[4] = {1, 1, 1, 1};
    for (uint32_t d = 0; d < n_dims; d++)
        ne[d] = shape[n_dims - 1 - d];
    if (xf == XF_TRANSPOSE) {
        ne[0] = shape[0];
        ne[1] = shape[1];
    }
    if (xf == XF_PERMUTE && (n_head == 0 || rows % (2 * (uint64_t)n_head) != 0))
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "tensor '%s': %" PRIu64 " rows do not split into %" PRIu32
                             " heads of an even size",
                             t->name, rows, n_head);
    uint32_t es = ddt == LLM_DTYPE_F32 ? 4 : 2;
    uint8_t *out = llm_aligned_alloc((size_t)(t->n_elem * es));
    if (!out)
        return llm_error_set(c->err, LLM_ERR_NOMEM, "out of memory for tensor '%s'", t->name);
    const uint8_t *s = t->data;
    if (xf == XF_NONE) {
        copy_elems(out, ddt, 0, s, t->dtype, 0, t->n_elem);
    } else if (xf == XF_PERMUTE) {
        /* (n_head, 2, half, cols) -> (n_head, half, 2, cols), as LlamaModel.permute. */
        uint64_t hd = rows / n_head, half = hd / 2;
        for (uint64_t r = 0; r < rows; r++) {
            uint64_t h = r / hd, w = r % hd, i = w / 2, j = w % 2;
            uint64_t sr = h * hd + j * half + i;
            copy_elems(out, ddt, r * cols, s, t->dtype, sr * cols, cols);
        }
    } else {
        /* src (a, b) row-major -> dst (b, a) row-major */
        uint64_t a = shape[0], b = shape[1];
        for (uint64_t y = 0; y < b; y++)
            for (uint64_t x = 0; x < a; x++)
                copy_elems(out, ddt, y * a + x, s, t->dtype, x * b + y, 1);
    }
    return llm_gguf_add_tensor_owned(c->g, dst, ddt, n_dims, ne, out, c->err);
}

/* printf-style names for per-layer tensors. */
#define FMT(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__), (buf))

static llm_status emit1(imp *c, const char *dst, const char *src, uint64_t n, bool required)
{
    return emit(c, dst, src, 1, &n, XF_NONE, 0, required);
}

static llm_status emit2(imp *c, const char *dst, const char *src, uint64_t rows, uint64_t cols,
                        xform xf, uint32_t n_head, bool required)
{
    uint64_t shape[2] = {rows, cols};
    return emit(c, dst, src, 2, shape, xf, n_head, required);
}

/* A Linear layer: weight (out, in) and, when `bias`, its (out) bias. */
static llm_status linear(imp *c, const char *dst, const char *src, uint64_t out, uint64_t in,
                         bool bias)
{
    char d[NAME_MAX_LEN], s[NAME_MAX_LEN];
    LLM_TRY(emit2(c, FMT(d, "%s.weight", dst), FMT(s, "%s.weight", src), out, in, XF_NONE, 0,
                  true));
    if (bias)
        LLM_TRY(emit1(c, FMT(d, "%s.bias", dst), FMT(s, "%s.bias", src), out, true));
    return LLM_OK;
}

/* A layer norm: weight and optionally bias, under .weight/.bias or the older .gamma/.beta. */
static llm_status norm(imp *c, const char *dst, const char *src, uint64_t n, bool bias)
{
    char d[NAME_MAX_LEN], s[NAME_MAX_LEN];
    bool old = !find_src(c, FMT(s, "%s.weight", src)) && find_src(c, FMT(s, "%s.gamma", src));
    LLM_TRY(emit1(c, FMT(d, "%s.weight", dst), FMT(s, "%s.%s", src, old ? "gamma" : "weight"), n,
                  true));
    if (bias)
        LLM_TRY(emit1(c, FMT(d, "%s.bias", dst), FMT(s, "%s.%s", src, old ? "beta" : "bias"), n,
                      true));
    return LLM_OK;
}

/* Rows of the embedding `src` (its first dimension), checked against config's vocab_size. */
static llm_status vocab_rows(imp *c, const char *src, uint32_t *n_vocab)
{
    const llm_st_tensor *t = find_src(c, src);
    if (!t)
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s: tensor '%s%s' (the token embeddings) is missing", c->dir,
                             c->prefixes[0], src);
    if (t->n_dims != 2 || t->shape[0] == 0 || t->shape[0] > INT32_MAX)
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "tensor '%s' must be 2-D with 1..2^31-1 rows", t->name);
    uint32_t v;
    LLM_TRY(cfg_u32(c, "vocab_size", t->shape[0], &v));
    if (v != t->shape[0])
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "tensor '%s' has %" PRIu64 " rows but config.json vocab_size is %"
                             PRIu32, t->name, t->shape[0], v);
    *n_vocab = v;
    return LLM_OK;
}

static llm_status check_pos(imp *c, const char *what, uint32_t v)
{
    if (v == 0 || v > (1u << 20))
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s/config.json: %s is %" PRIu32 ", expected 1..1048576", c->dir,
                             what, v);
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// gpt2

static llm_status import_gpt2(imp *c)
{
    static const char *const k_embd[] = {"n_embd", "hidden_size", NULL};
    static const char *const k_layer[] = {"n_layer", "num_hidden_layers", NULL};
    static const char *const k_head[] = {"n_head", "num_attention_heads", NULL};
    static const char *const k_ctx[] = {"n_positions", "n_ctx", NULL};
    uint32_t E, L, H, T, F, V;
    float eps;
    LLM_TRY(cfg_u32_alias(c, k_embd, UINT64_MAX, &E));
    LLM_TRY(cfg_u32_alias(c, k_layer, UINT64_MAX, &L));
    LLM_TRY(cfg_u32_alias(c, k_head, UINT64_MAX, &H));
    LLM_TRY(cfg_u32_alias(c, k_ctx, 1024, &T));
    LLM_TRY(check_pos(c, "n_embd", E));
    LLM_TRY(check_pos(c, "n_layer", L));
    LLM_TRY(check_pos(c, "n_head", H));
    LLM_TRY(check_pos(c, "n_positions", T));
    LLM_TRY(cfg_u32(c, "n_inner", 4 * (uint64_t)E, &F));
    LLM_TRY(check_pos(c, "n_inner", F));
    LLM_TRY(cfg_f32(c, "layer_norm_epsilon", 1e-5, &eps));
    LLM_TRY(vocab_rows(c, "wte.weight", &V));

    LLM_TRY(meta_u32(c, "block_count", L));
    LLM_TRY(meta_u32(c, "context_length", T));
    LLM_TRY(meta_u32(c, "embedding_length", E));
    LLM_TRY(meta_u32(c, "feed_forward_length", F));
    LLM_TRY(meta_u32(c, "attention.head_count", H));
    LLM_TRY(meta_f32(c, "attention.layer_norm_epsilon", eps));

    LLM_TRY(emit2(c, "token_embd.weight", "wte.weight", V, E, XF_NONE, 0, true));
    LLM_TRY(emit2(c, "position_embd.weight", "wpe.weight", T, E, XF_NONE, 0, true));
    LLM_TRY(norm(c, "output_norm", "ln_f", E, true));
    /* lm_head lives outside the "transformer." prefix; the "" prefix finds it. */
    if (find_src(c, "lm_head.weight"))
        LLM_TRY(emit2(c, "output.weight", "lm_head.weight", V, E, XF_NONE, 0, true));
    else
        LLM_TRY(emit2(c, "output.weight", "wte.weight", V, E, XF_NONE, 0, true));
    for (uint32_t i = 0; i < L; i++) {
        char d[NAME_MAX_LEN], s[NAME_MAX_LEN];
        LLM_TRY(norm(c, FMT(d, "blk.%u.attn_norm", i), FMT(s, "h.%u.ln_1", i), E, true));
        /* Conv1D: weight (in, out) */
        LLM_TRY(emit2(c, FMT(d, "blk.%u.attn_qkv.weight", i), FMT(s, "h.%u.attn.c_attn.weight", i),
                      E, 3 * (uint64_t)E, XF_TRANSPOSE, 0, true));
        LLM_TRY(emit1(c, FMT(d, "blk.%u.attn_qkv.bias", i), FMT(s, "h.%u.attn.c_attn.bias", i),
                      3 * (uint64_t)E, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.attn_output.weight", i),
                      FMT(s, "h.%u.attn.c_proj.weight", i), E, E, XF_TRANSPOSE, 0, true));
        LLM_TRY(emit1(c, FMT(d, "blk.%u.attn_output.bias", i), FMT(s, "h.%u.attn.c_proj.bias", i),
                      E, true));
        LLM_TRY(norm(c, FMT(d, "blk.%u.ffn_norm", i), FMT(s, "h.%u.ln_2", i), E, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.ffn_up.weight", i), FMT(s, "h.%u.mlp.c_fc.weight", i), E,
                      F, XF_TRANSPOSE, 0, true));
        LLM_TRY(emit1(c, FMT(d, "blk.%u.ffn_up.bias", i), FMT(s, "h.%u.mlp.c_fc.bias", i), F,
                      true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.ffn_down.weight", i), FMT(s, "h.%u.mlp.c_proj.weight", i),
                      F, E, XF_TRANSPOSE, 0, true));
        LLM_TRY(emit1(c, FMT(d, "blk.%u.ffn_down.bias", i), FMT(s, "h.%u.mlp.c_proj.bias", i), E,
                      true));
    }
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// llama

static llm_status import_llama(imp *c)
{
    uint32_t E, L, H, HKV, F, T, V, HD;
    float eps, theta;
    LLM_TRY(cfg_u32(c, "hidden_size", UINT64_MAX, &E));
    LLM_TRY(cfg_u32(c, "num_hidden_layers", UINT64_MAX, &L));
    LLM_TRY(cfg_u32(c, "num_attention_heads", UINT64_MAX, &H));
    LLM_TRY(cfg_u32(c, "intermediate_size", UINT64_MAX, &F));
    LLM_TRY(check_pos(c, "hidden_size", E));
    LLM_TRY(check_pos(c, "num_hidden_layers", L));
    LLM_TRY(check_pos(c, "num_attention_heads", H));
    LLM_TRY(check_pos(c, "intermediate_size", F));
    LLM_TRY(cfg_u32(c, "num_key_value_heads", H, &HKV));
    LLM_TRY(check_pos(c, "num_key_value_heads", HKV));
    if (H % HKV != 0)
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s/config.json: num_attention_heads %" PRIu32
                             " is not a multiple of num_key_value_heads %" PRIu32,
                             c->dir, H, HKV);
    LLM_TRY(cfg_u32(c, "head_dim", E / H, &HD));
    LLM_TRY(check_pos(c, "head_dim", HD));
    LLM_TRY(cfg_u32(c, "max_position_embeddings", 2048, &T));
    LLM_TRY(check_pos(c, "max_position_embeddings", T));
    LLM_TRY(cfg_f32(c, "rms_norm_eps", 1e-6, &eps));
    LLM_TRY(cfg_f32(c, "rope_theta", 10000.0, &theta));
    LLM_TRY(vocab_rows(c, "model.embed_tokens.weight", &V));

    LLM_TRY(meta_u32(c, "vocab_size", V));
    LLM_TRY(meta_u32(c, "context_length", T));
    LLM_TRY(meta_u32(c, "embedding_length", E));
    LLM_TRY(meta_u32(c, "block_count", L));
    LLM_TRY(meta_u32(c, "feed_forward_length", F));
    LLM_TRY(meta_u32(c, "rope.dimension_count", HD));
    LLM_TRY(meta_u32(c, "attention.head_count", H));
    LLM_TRY(meta_u32(c, "attention.head_count_kv", HKV));
    LLM_TRY(meta_f32(c, "attention.layer_norm_rms_epsilon", eps));
    if (json_object_get(c->cfg, "rope_theta"))
        LLM_TRY(meta_f32(c, "rope.freq_base", theta));
    if (json_object_get(c->cfg, "head_dim"))
        LLM_TRY(meta_u32(c, "attention.key_length", HD));
    if (json_object_get(c->cfg, "head_dim"))
        LLM_TRY(meta_u32(c, "attention.value_length", HD));
    json_t *rs = json_object_get(c->cfg, "rope_scaling");
    if (json_is_object(rs)) {
        const char *type = json_string_value(json_object_get(rs, "type"));
        if (!type)
            type = json_string_value(json_object_get(rs, "rope_type"));
        json_t *factor = json_object_get(rs, "factor");
        if (type && strcmp(type, "linear") == 0 && json_is_number(factor)) {
            LLM_TRY(llm_gguf_set_str(c->g, "llama.rope.scaling.type", "linear", 6, c->err));
            LLM_TRY(meta_f32(c, "rope.scaling.factor", (float)json_number_value(factor)));
        } else if (type && strcmp(type, "default") != 0) {
            return llm_error_set(c->err, LLM_ERR_UNSUPPORTED,
                                 "%s/config.json: rope_scaling type '%s' is not supported", c->dir,
                                 type);
        }
    }

    uint64_t q_rows = (uint64_t)H * HD, kv_rows = (uint64_t)HKV * HD;
    LLM_TRY(emit2(c, "token_embd.weight", "model.embed_tokens.weight", V, E, XF_NONE, 0, true));
    LLM_TRY(emit1(c, "output_norm.weight", "model.norm.weight", E, true));
    if (find_src(c, "lm_head.weight"))
        LLM_TRY(emit2(c, "output.weight", "lm_head.weight", V, E, XF_NONE, 0, true));
    else if (!cfg_bool(c, "tie_word_embeddings", false))
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s: tensor 'lm_head.weight' is missing and tie_word_embeddings is "
                             "not true", c->dir);
    for (uint32_t i = 0; i < L; i++) {
        char d[NAME_MAX_LEN], s[NAME_MAX_LEN];
#define LAYER(x) FMT(s, "model.layers.%u.%s", i, x)
        LLM_TRY(emit1(c, FMT(d, "blk.%u.attn_norm.weight", i), LAYER("input_layernorm.weight"), E,
                      true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.attn_q.weight", i), LAYER("self_attn.q_proj.weight"),
                      q_rows, E, XF_PERMUTE, H, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.attn_k.weight", i), LAYER("self_attn.k_proj.weight"),
                      kv_rows, E, XF_PERMUTE, HKV, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.attn_v.weight", i), LAYER("self_attn.v_proj.weight"),
                      kv_rows, E, XF_NONE, 0, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.attn_output.weight", i), LAYER("self_attn.o_proj.weight"),
                      E, q_rows, XF_NONE, 0, true));
        LLM_TRY(emit1(c, FMT(d, "blk.%u.ffn_norm.weight", i),
                      LAYER("post_attention_layernorm.weight"), E, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.ffn_gate.weight", i), LAYER("mlp.gate_proj.weight"), F, E,
                      XF_NONE, 0, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.ffn_up.weight", i), LAYER("mlp.up_proj.weight"), F, E,
                      XF_NONE, 0, true));
        LLM_TRY(emit2(c, FMT(d, "blk.%u.ffn_down.weight", i), LAYER("mlp.down_proj.weight"), E, F,
                      XF_NONE, 0, true));
#undef LAYER
    }
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// bert

/* sentence-transformers: modules.json lists the modules; the Pooling module's config.json says
 * which pooling, a Normalize module asks for unit-length embeddings. */
static llm_status bert_pooling(imp *c)
{
    char *mpath = llm_path_join(c->dir, "modules.json");
    if (!mpath)
        return llm_error_set(c->err, LLM_ERR_NOMEM, "out of memory");
    if (!llm_path_is_file(mpath)) {
        llm_mem_free(mpath);
        return LLM_OK;
    }
    json_error_t jerr;
    json_t *mods = json_load_file(mpath, JSON_REJECT_DUPLICATES, &jerr);
    llm_status st = LLM_OK;
    char *ppath = NULL;
    json_t *pool = NULL;
    if (!json_is_array(mods)) {
        st = llm_error_set(c->err, LLM_ERR_FORMAT, "%s: %s", mpath,
                           mods ? "expected a JSON array" : jerr.text);
        goto done;
    }
    size_t i;
    json_t *m;
    const char *pool_dir = NULL;
    bool normalize = false;
    json_array_foreach(mods, i, m) {
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *path = json_string_value(json_object_get(m, "path"));
        if (!type)
            continue;
        if (strcmp(type, "sentence_transformers.models.Normalize") == 0)
            normalize = true;
        if (strcmp(type, "sentence_transformers.models.Pooling") == 0) {
            if (!path || !*path || path[0] == '/' || strstr(path, "..")) {
                st = llm_error_set(c->err, LLM_ERR_FORMAT,
                                   "%s: the Pooling module's path must be a folder inside the "
                                   "model directory", mpath);
                goto done;
            }
            pool_dir = path;
        }
    }
    if (normalize)
        st = llm_gguf_set_bool(c->g, "llm.normalize", true, c->err);
    if (st != LLM_OK || !pool_dir)
        goto done;
    char *pd = llm_path_join(c->dir, pool_dir);
    ppath = pd ? llm_path_join(pd, "config.json") : NULL;
    llm_mem_free(pd);
    if (!ppath) {
        st = llm_error_set(c->err, LLM_ERR_NOMEM, "out of memory");
        goto done;
    }
    pool = json_load_file(ppath, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(pool)) {
        st = llm_error_set(c->err, LLM_ERR_FORMAT, "%s: %s", ppath,
                           pool ? "expected a JSON object" : jerr.text);
        goto done;
    }
    /* llm_pooling numbering; bert.pooling_type uses llama.cpp's, which agrees for 1..3. */
    uint32_t kind = 0;
    if (json_is_true(json_object_get(pool, "pooling_mode_mean_tokens")))
        kind = 1;
    else if (json_is_true(json_object_get(pool, "pooling_mode_cls_token")))
        kind = 2;
    else if (json_is_true(json_object_get(pool, "pooling_mode_lasttoken")))
        kind = 3;
    else if (json_is_true(json_object_get(pool, "pooling_mode_max_tokens")))
        kind = 4;
    if (kind == 0) {
        st = llm_error_set(c->err, LLM_ERR_UNSUPPORTED,
                           "%s: no supported pooling mode (mean, cls, lasttoken, max) is set",
                           ppath);
        goto done;
    }
    if (kind <= 3)
        st = llm_gguf_set_u32(c->g, "bert.pooling_type", kind, c->err);
    if (st == LLM_OK)
        st = llm_gguf_set_u32(c->g, "llm.pooling_type", kind, c->err);
done:
    json_decref(pool);
    json_decref(mods);
    llm_mem_free(ppath);
    llm_mem_free(mpath);
    return st;
}

/* The task heads of BertForSequenceClassification (pooler + classifier, id2label, problem_type)
 * and BertForMaskedLM (cls.predictions), under the names model/heads.c binds: llama.cpp's cls.*
 * and cls.output.* for the first, mlm.* for the second. */
static llm_status bert_heads(imp *c, uint32_t E, uint32_t V)
{
    const llm_st_tensor *cls = find_src(c, "classifier.weight");
    if (cls) {
        if (cls->n_dims != 2 || cls->shape[1] != E || cls->shape[0] == 0)
            return llm_error_set(c->err, LLM_ERR_FORMAT,
                                 "%s: tensor 'classifier.weight' must be (n_labels, %" PRIu32
                                 ")", c->dir, E);
        const uint64_t L = cls->shape[0];
        LLM_TRY(linear(c, "cls", "pooler.dense", E, E, true));
        LLM_TRY(linear(c, "cls.output", "classifier", L, E, true));
        json_t *id2label = json_object_get(c->cfg, "id2label");
        if (json_is_object(id2label) && json_object_size(id2label) == L) {
            const char **names = llm_calloc((size_t)L, sizeof *names);
            if (!names)
                return llm_error_set(c->err, LLM_ERR_NOMEM, "out of memory");
            bool ok = true;
            for (uint64_t i = 0; i < L && ok; i++) {
                char key[24];
                snprintf(key, sizeof key, "%" PRIu64, i);
                names[i] = json_string_value(json_object_get(id2label, key));
                ok = names[i] != NULL;
            }
            llm_status st = ok ? llm_gguf_set_arr_str(c->g, "bert.classifier.output_labels",
                                                      names, NULL, L, c->err)
                               : llm_error_set(c->err, LLM_ERR_FORMAT,
                                               "%s/config.json: id2label must name the labels "
                                               "0..%" PRIu64, c->dir, L - 1);
            llm_mem_free(names);
            LLM_TRY(st);
        }
        const char *problem = cfg_str(c, "problem_type");
        if (problem)
            LLM_TRY(llm_gguf_set_str(c->g, "bert.classifier.problem_type", problem,
                                     strlen(problem), c->err));
    }
    if (find_src(c, "cls.predictions.transform.dense.weight")) {
        const char *act = cfg_str(c, "hidden_act");
        if (act && strcmp(act, "gelu") != 0)
            return llm_error_set(c->err, LLM_ERR_UNSUPPORTED,
                                 "%s/config.json: hidden_act '%s' is not supported for the "
                                 "masked-LM head (gelu)", c->dir, act);
        LLM_TRY(linear(c, "mlm.dense", "cls.predictions.transform.dense", E, E, true));
        LLM_TRY(norm(c, "mlm.norm", "cls.predictions.transform.LayerNorm", E, true));
        const char *bias = find_src(c, "cls.predictions.bias") ? "cls.predictions.bias"
                                                               : "cls.predictions.decoder.bias";
        LLM_TRY(emit1(c, "mlm.output.bias", bias, V, true));
        if (!cfg_bool(c, "tie_word_embeddings", true))
            LLM_TRY(emit2(c, "mlm.output.weight", "cls.predictions.decoder.weight", V, E, XF_NONE,
                          0, true));
    }
    return LLM_OK;
}

static llm_status import_bert(imp *c)
{
    uint32_t E, L, H, F, T, TT, V;
    float eps;
    LLM_TRY(cfg_u32(c, "hidden_size", UINT64_MAX, &E));
    LLM_TRY(cfg_u32(c, "num_hidden_layers", UINT64_MAX, &L));
    LLM_TRY(cfg_u32(c, "num_attention_heads", UINT64_MAX, &H));
    LLM_TRY(cfg_u32(c, "intermediate_size", UINT64_MAX, &F));
    LLM_TRY(cfg_u32(c, "max_position_embeddings", 512, &T));
    LLM_TRY(cfg_u32(c, "type_vocab_size", 2, &TT));
    LLM_TRY(check_pos(c, "hidden_size", E));
    LLM_TRY(check_pos(c, "num_hidden_layers", L));
    LLM_TRY(check_pos(c, "num_attention_heads", H));
    LLM_TRY(check_pos(c, "intermediate_size", F));
    LLM_TRY(check_pos(c, "max_position_embeddings", T));
    LLM_TRY(cfg_f32(c, "layer_norm_eps", 1e-12, &eps));
    LLM_TRY(vocab_rows(c, "embeddings.word_embeddings.weight", &V));

    LLM_TRY(meta_u32(c, "block_count", L));
    LLM_TRY(meta_u32(c, "context_length", T));
    LLM_TRY(meta_u32(c, "embedding_length", E));
    LLM_TRY(meta_u32(c, "feed_forward_length", F));
    LLM_TRY(meta_u32(c, "attention.head_count", H));
    LLM_TRY(meta_f32(c, "attention.layer_norm_epsilon", eps));
    LLM_TRY(llm_gguf_set_bool(c->g, "bert.attention.causal", false, c->err));
    LLM_TRY(bert_pooling(c));
    LLM_TRY(llm_gguf_set_u32(c->g, "tokenizer.ggml.token_type_count", TT, c->err));

    LLM_TRY(emit2(c, "token_embd.weight", "embeddings.word_embeddings.weight", V, E, XF_NONE, 0,
                  true));
    if (TT > 0)
        LLM_TRY(emit2(c, "token_types.weight", "embeddings.token_type_embeddings.weight", TT, E,
                      XF_NONE, 0, true));
    LLM_TRY(emit2(c, "position_embd.weight", "embeddings.position_embeddings.weight", T, E,
                  XF_NONE, 0, true));
    LLM_TRY(norm(c, "token_embd_norm", "embeddings.LayerNorm", E, true));
    for (uint32_t i = 0; i < L; i++) {
        char d[NAME_MAX_LEN], s[NAME_MAX_LEN];
#define LAYER(x) FMT(s, "encoder.layer.%u.%s", i, x)
#define BLK(x) FMT(d, "blk.%u.%s", i, x)
        LLM_TRY(linear(c, BLK("attn_q"), LAYER("attention.self.query"), E, E, true));
        LLM_TRY(linear(c, BLK("attn_k"), LAYER("attention.self.key"), E, E, true));
        LLM_TRY(linear(c, BLK("attn_v"), LAYER("attention.self.value"), E, E, true));
        LLM_TRY(linear(c, BLK("attn_output"), LAYER("attention.output.dense"), E, E, true));
        LLM_TRY(norm(c, BLK("attn_output_norm"), LAYER("attention.output.LayerNorm"), E, true));
        LLM_TRY(linear(c, BLK("ffn_up"), LAYER("intermediate.dense"), F, E, true));
        LLM_TRY(linear(c, BLK("ffn_down"), LAYER("output.dense"), E, F, true));
        LLM_TRY(norm(c, BLK("layer_output_norm"), LAYER("output.LayerNorm"), E, true));
#undef LAYER
#undef BLK
    }
    return bert_heads(c, E, V);
}

// ------------------------------------------------------------------------------------------------
// t5

static llm_status t5_stack(imp *c, const char *stack, const char *hf, uint32_t n_layer,
                           uint32_t E, uint32_t inner, uint32_t F, uint32_t H, uint32_t buckets,
                           bool gated)
{
    bool dec = strcmp(stack, "dec") == 0;
    char d[NAME_MAX_LEN], s[NAME_MAX_LEN];
    LLM_TRY(emit1(c, FMT(d, "%s.output_norm.weight", stack),
                  FMT(s, "%s.final_layer_norm.weight", hf), E, true));
    LLM_TRY(emit2(c, FMT(d, "%s.blk.0.attn_rel_b.weight", stack),
                  FMT(s, "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", hf),
                  buckets, H, XF_NONE, 0, true));
    for (uint32_t i = 0; i < n_layer; i++) {
#define SRC(x) FMT(s, "%s.block.%u.layer.%s", hf, i, x)
#define DST(x) FMT(d, "%s.blk.%u.%s", stack, i, x)
        LLM_TRY(emit1(c, DST("attn_norm.weight"), SRC("0.layer_norm.weight"), E, true));
        LLM_TRY(emit2(c, DST("attn_q.weight"), SRC("0.SelfAttention.q.weight"), inner, E, XF_NONE,
                      0, true));
        LLM_TRY(emit2(c, DST("attn_k.weight"), SRC("0.SelfAttention.k.weight"), inner, E, XF_NONE,
                      0, true));
        LLM_TRY(emit2(c, DST("attn_v.weight"), SRC("0.SelfAttention.v.weight"), inner, E, XF_NONE,
                      0, true));
        LLM_TRY(emit2(c, DST("attn_o.weight"), SRC("0.SelfAttention.o.weight"), E, inner, XF_NONE,
                      0, true));
        const char *ff = "1";
        if (dec) {
            ff = "2";
            LLM_TRY(emit1(c, DST("cross_attn_norm.weight"), SRC("1.layer_norm.weight"), E, true));
            LLM_TRY(emit2(c, DST("cross_attn_q.weight"), SRC("1.EncDecAttention.q.weight"), inner,
                          E, XF_NONE, 0, true));
            LLM_TRY(emit2(c, DST("cross_attn_k.weight"), SRC("1.EncDecAttention.k.weight"), inner,
                          E, XF_NONE, 0, true));
            LLM_TRY(emit2(c, DST("cross_attn_v.weight"), SRC("1.EncDecAttention.v.weight"), inner,
                          E, XF_NONE, 0, true));
            LLM_TRY(emit2(c, DST("cross_attn_o.weight"), SRC("1.EncDecAttention.o.weight"), E,
                          inner, XF_NONE, 0, true));
        }
        char part[64];
        LLM_TRY(emit1(c, DST("ffn_norm.weight"), SRC(FMT(part, "%s.layer_norm.weight", ff)), E,
                      true));
        if (gated) {
            LLM_TRY(emit2(c, DST("ffn_gate.weight"),
                          SRC(FMT(part, "%s.DenseReluDense.wi_0.weight", ff)), F, E, XF_NONE, 0,
                          true));
            LLM_TRY(emit2(c, DST("ffn_up.weight"),
                          SRC(FMT(part, "%s.DenseReluDense.wi_1.weight", ff)), F, E, XF_NONE, 0,
                          true));
        } else {
            LLM_TRY(emit2(c, DST("ffn_up.weight"), SRC(FMT(part, "%s.DenseReluDense.wi.weight", ff)),
                          F, E, XF_NONE, 0, true));
        }
        LLM_TRY(emit2(c, DST("ffn_down.weight"), SRC(FMT(part, "%s.DenseReluDense.wo.weight", ff)),
                      E, F, XF_NONE, 0, true));
#undef SRC
#undef DST
    }
    return LLM_OK;
}

static llm_status import_t5(imp *c)
{
    uint32_t E, KV, F, L, LD, H, NB, MD, T, DS, V;
    float eps;
    LLM_TRY(cfg_u32(c, "d_model", UINT64_MAX, &E));
    LLM_TRY(cfg_u32(c, "d_kv", UINT64_MAX, &KV));
    LLM_TRY(cfg_u32(c, "d_ff", UINT64_MAX, &F));
    LLM_TRY(cfg_u32(c, "num_layers", UINT64_MAX, &L));
    LLM_TRY(cfg_u32(c, "num_decoder_layers", L, &LD));
    LLM_TRY(cfg_u32(c, "num_heads", UINT64_MAX, &H));
    LLM_TRY(cfg_u32(c, "relative_attention_num_buckets", 32, &NB));
    LLM_TRY(cfg_u32(c, "relative_attention_max_distance", 128, &MD));
    LLM_TRY(cfg_u32(c, "n_positions", 512, &T));
    LLM_TRY(cfg_u32(c, "decoder_start_token_id", 0, &DS));
    LLM_TRY(cfg_f32(c, "layer_norm_epsilon", 1e-6, &eps));
    LLM_TRY(check_pos(c, "d_model", E));
    LLM_TRY(check_pos(c, "d_kv", KV));
    LLM_TRY(check_pos(c, "d_ff", F));
    LLM_TRY(check_pos(c, "num_layers", L));
    LLM_TRY(check_pos(c, "num_decoder_layers", LD));
    LLM_TRY(check_pos(c, "num_heads", H));
    LLM_TRY(check_pos(c, "relative_attention_num_buckets", NB));
    const char *proj = cfg_str(c, "feed_forward_proj");
    bool gated = false;
    if (proj && strncmp(proj, "gated-", 6) == 0) {
        gated = true;
        if (strcmp(proj, "gated-gelu") != 0 && strcmp(proj, "gated-gelu_new") != 0)
            return llm_error_set(c->err, LLM_ERR_UNSUPPORTED,
                                 "%s/config.json: feed_forward_proj '%s' is not supported "
                                 "(relu or gated-gelu)", c->dir, proj);
    } else if (proj && strcmp(proj, "relu") != 0) {
        return llm_error_set(c->err, LLM_ERR_UNSUPPORTED,
                             "%s/config.json: feed_forward_proj '%s' is not supported (relu or "
                             "gated-gelu)", c->dir, proj);
    }
    const char *emb = "shared.weight";
    if (!find_src(c, emb))
        emb = find_src(c, "encoder.embed_tokens.weight") ? "encoder.embed_tokens.weight"
                                                         : "decoder.embed_tokens.weight";
    LLM_TRY(vocab_rows(c, emb, &V));

    LLM_TRY(meta_u32(c, "context_length", T));
    LLM_TRY(meta_u32(c, "embedding_length", E));
    LLM_TRY(meta_u32(c, "feed_forward_length", F));
    LLM_TRY(meta_u32(c, "block_count", L));
    if (LD != L)
        LLM_TRY(meta_u32(c, "decoder_block_count", LD));
    LLM_TRY(meta_u32(c, "attention.head_count", H));
    LLM_TRY(meta_u32(c, "attention.key_length", KV));
    LLM_TRY(meta_u32(c, "attention.value_length", KV));
    LLM_TRY(meta_f32(c, "attention.layer_norm_epsilon", eps));
    LLM_TRY(meta_u32(c, "attention.relative_buckets_count", NB));
    LLM_TRY(meta_f32(c, "attention.layer_norm_rms_epsilon", eps));
    LLM_TRY(meta_u32(c, "decoder_start_token_id", DS));
    if (MD != 128)
        LLM_TRY(meta_u32(c, "attention.relative_max_distance", MD));

    uint32_t inner = H * KV;
    LLM_TRY(emit2(c, "token_embd.weight", emb, V, E, XF_NONE, 0, true));
    if (find_src(c, "lm_head.weight"))
        LLM_TRY(emit2(c, "output.weight", "lm_head.weight", V, E, XF_NONE, 0, true));
    else if (!cfg_bool(c, "tie_word_embeddings", true))
        return llm_error_set(c->err, LLM_ERR_FORMAT,
                             "%s: tensor 'lm_head.weight' is missing and tie_word_embeddings is "
                             "false", c->dir);
    LLM_TRY(t5_stack(c, "enc", "encoder", L, E, inner, F, H, NB, gated));
    LLM_TRY(t5_stack(c, "dec", "decoder", LD, E, inner, F, H, NB, gated));
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// Output types for `llm convert`

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

uint32_t llm_hf_convert_type_of(const llm_gguf_tensor *t, uint32_t type)
{
    if (t->n_dims <= 1 || ends_with(t->name, "_norm.weight") ||
        strcmp(t->name, "position_embd.weight") == 0 || strcmp(t->name, "token_types.weight") == 0 ||
        ends_with(t->name, "attn_rel_b.weight"))
        return LLM_DTYPE_F32;
    const llm_dtype_traits *tr = llm_dtype_get(type);
    if (tr && tr->block_size > 1 && t->ne[0] % tr->block_size != 0)
        return LLM_DTYPE_F16;
    return type;
}

llm_status llm_hf_convert_types(llm_gguf *g, uint32_t type, llm_convert_progress_fn progress,
                                void *user, llm_error *err)
{
    uint32_t ftype;
    switch (type) {
    case LLM_DTYPE_F32: ftype = 0; break;
    case LLM_DTYPE_F16: ftype = 1; break;
    case LLM_DTYPE_Q4_0: ftype = 2; break;
    case LLM_DTYPE_Q8_0: ftype = 7; break;
    case LLM_DTYPE_BF16: ftype = 32; break;
    default:
        return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                             "conversion to type %" PRIu32 " is not supported (f32, f16, bf16, "
                             "q8_0, q4_0)", type);
    }
    uint64_t n = llm_gguf_n_tensors(g);
    for (uint64_t i = 0; i < n; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        LLM_TRY(llm_gguf_convert_tensor(g, i, llm_hf_convert_type_of(t, type), err));
        if (progress)
            progress(user, i + 1, n);
    }
    return llm_gguf_set_u32(g, "general.file_type", ftype, err);
}

// ------------------------------------------------------------------------------------------------
// Entry points

llm_status llm_hf_export_tokenizer(const char *hf_dir, llm_gguf *builder, bool *done,
                                   llm_error *err)
{
    if (done)
        *done = false;
    /* A folder with only weights (no tokenizer files at all) is not an error: the caller says so. */
    static const char *const files[] = {"tokenizer.json", "tokenizer.model", "spiece.model",
                                        "vocab.json", "vocab.txt"};
    bool any = false;
    for (size_t i = 0; i < sizeof files / sizeof files[0] && !any; i++) {
        char *p = llm_path_join(hf_dir, files[i]);
        if (!p)
            return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        any = llm_path_is_file(p);
        llm_mem_free(p);
    }
    if (!any)
        return LLM_OK;
    LLM_TRY(llm_tokenizer_export_gguf(hf_dir, builder, err));
    if (done)
        *done = true;
    return LLM_OK;
}

static const char *base_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *p = dir + n;
    while (p > dir && p[-1] != '/')
        p--;
    return p;
}

llm_status llm_hf_import(const char *dir, const llm_gguf_limits *lim, llm_gguf **out,
                         llm_error *err)
{
    if (!dir || !out)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "llm_hf_import: NULL argument");
    *out = NULL;
    imp c = {.dir = dir, .err = err};
    llm_status st = LLM_OK;
    char *cpath = llm_path_join(dir, "config.json");
    if (!cpath)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    if (!llm_path_is_file(cpath)) {
        st = llm_error_set(err, LLM_ERR_IO, "%s: no config.json: not a Hugging Face model folder",
                           dir);
        goto done;
    }
    json_error_t jerr;
    c.cfg = json_load_file(cpath, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(c.cfg)) {
        st = llm_error_set(err, LLM_ERR_FORMAT, "%s: line %d: %s", cpath, jerr.line,
                           c.cfg ? "expected a JSON object" : jerr.text);
        goto done;
    }
    const char *mt = cfg_str(&c, "model_type");
    if (!mt) {
        st = llm_error_set(err, LLM_ERR_FORMAT, "%s: \"model_type\" is missing", cpath);
        goto done;
    }
    llm_status (*fn)(imp *) = NULL;
    if (strcmp(mt, "gpt2") == 0) {
        fn = import_gpt2;
        c.prefixes[0] = "transformer.";
        c.prefixes[1] = "";
        c.n_prefixes = 2;
    } else if (strcmp(mt, "llama") == 0) {
        fn = import_llama;
        c.prefixes[0] = "";
        c.n_prefixes = 1;
    } else if (strcmp(mt, "bert") == 0) {
        fn = import_bert;
        c.prefixes[0] = "";
        c.prefixes[1] = "bert.";
        c.n_prefixes = 2;
    } else if (strcmp(mt, "t5") == 0) {
        fn = import_t5;
        c.prefixes[0] = "";
        c.n_prefixes = 1;
    } else {
        st = llm_error_set(err, LLM_ERR_UNSUPPORTED,
                           "%s: model_type '%.40s' is not supported (gpt2, llama, bert, t5)",
                           cpath, mt);
        goto done;
    }
    snprintf(c.arch, sizeof c.arch, "%s", mt);
    st = llm_safetensors_open_dir(dir, lim, &c.st, err);
    if (st == LLM_OK)
        st = llm_gguf_create(&c.g, err);
    if (st == LLM_OK)
        st = llm_gguf_set_str(c.g, "general.architecture", mt, strlen(mt), err);
    if (st == LLM_OK) {
        const char *bn = base_name(dir);
        size_t len = strcspn(bn, "/");
        st = llm_gguf_set_str(c.g, "general.name", bn, len, err);
    }
    if (st == LLM_OK)
        st = fn(&c);
    if (st == LLM_OK)
        st = llm_gguf_finish(c.g, err);
    if (st == LLM_OK) {
        *out = c.g;
        c.g = NULL;
    }
done:
    llm_gguf_close(c.g);
    llm_safetensors_close(c.st);
    json_decref(c.cfg);
    llm_mem_free(cpath);
    return st;
}
