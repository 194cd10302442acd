/*
 * Hugging Face PEFT LoRA folders: adapter_config.json (peft_type LORA, r, lora_alpha,
 * target_modules, use_rslora, ...) and adapter_model.safetensors, whose tensors are named
 *
 *   base_model.model.<module path>.lora_A[.<adapter name>].weight   (rank, n_in)
 *   base_model.model.<module path>.lora_B[.<adapter name>].weight   (n_out, rank)
 *
 * are converted into a llama.cpp adapter GGUF in memory: module paths become the model's GGUF
 * tensor names (the same mapping model/hf_import.c uses for model folders), lora_A becomes
 * <name>.lora_a (ne [n_in, rank]: the same bytes) and lora_B <name>.lora_b (ne [rank, n_out]).
 * Llama's q_proj/k_proj rows are permuted in the model import (LlamaModel.permute), so the rows
 * of their lora_B are permuted the same way. PEFT's scale lora_alpha / r is the GGUF's
 * alpha / rank; with use_rslora it is lora_alpha / sqrt(r), written as alpha = lora_alpha·sqrt(r).
 *
 * What an adapter GGUF cannot express is refused by name: DoRA, per-module alpha_pattern,
 * trained biases, modules_to_save (full copies of layers), target modules the architecture has
 * no matrix for. The shapes are checked afterwards against the model (adapter.c).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adapter/adapter.h"
#include "common/alloc.h"
#include "common/dtype.h"
#include "common/path.h"
#include "model/safetensors.h"

#define PEFT_NAME_MAX 192

/* How a Hugging Face module path maps onto a GGUF tensor name: "%u" is the layer. */
typedef struct peft_map {
    const char *hf;          /* module path after the optional prefix, e.g. "h.%u.attn.c_attn" */
    const char *gguf;        /* e.g. "blk.%u.attn_qkv.weight" */
    int permute;             /* 1: llama q rows (n_head), 2: llama k rows (n_head_kv) */
} peft_map;

static const peft_map map_gpt2[] = {
    {"h.%u.attn.c_attn", "blk.%u.attn_qkv.weight", 0},
    {"h.%u.attn.c_proj", "blk.%u.attn_output.weight", 0},
    {"h.%u.mlp.c_fc", "blk.%u.ffn_up.weight", 0},
    {"h.%u.mlp.c_proj", "blk.%u.ffn_down.weight", 0},
    {"lm_head", "output.weight", 0},
    {NULL, NULL, 0},
};
static const char *const targets_gpt2[] = {"c_attn", "c_proj", "c_fc", "lm_head", NULL};

static const peft_map map_llama[] = {
    {"model.layers.%u.self_attn.q_proj", "blk.%u.attn_q.weight", 1},
    {"model.layers.%u.self_attn.k_proj", "blk.%u.attn_k.weight", 2},
    {"model.layers.%u.self_attn.v_proj", "blk.%u.attn_v.weight", 0},
    {"model.layers.%u.self_attn.o_proj", "blk.%u.attn_output.weight", 0},
    {"model.layers.%u.mlp.gate_proj", "blk.%u.ffn_gate.weight", 0},
    {"model.layers.%u.mlp.up_proj", "blk.%u.ffn_up.weight", 0},
    {"model.layers.%u.mlp.down_proj", "blk.%u.ffn_down.weight", 0},
    {"lm_head", "output.weight", 0},
    {NULL, NULL, 0},
};
static const char *const targets_llama[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                            "up_proj", "down_proj", "lm_head", NULL};

static const peft_map map_t5[] = {
    {"encoder.block.%u.layer.0.SelfAttention.q", "enc.blk.%u.attn_q.weight", 0},
    {"encoder.block.%u.layer.0.SelfAttention.k", "enc.blk.%u.attn_k.weight", 0},
    {"encoder.block.%u.layer.0.SelfAttention.v", "enc.blk.%u.attn_v.weight", 0},
    {"encoder.block.%u.layer.0.SelfAttention.o", "enc.blk.%u.attn_o.weight", 0},
    {"encoder.block.%u.layer.1.DenseReluDense.wi", "enc.blk.%u.ffn_up.weight", 0},
    {"encoder.block.%u.layer.1.DenseReluDense.wi_0", "enc.blk.%u.ffn_gate.weight", 0},
    {"encoder.block.%u.layer.1.DenseReluDense.wi_1", "enc.blk.%u.ffn_up.weight", 0},
    {"encoder.block.%u.layer.1.DenseReluDense.wo", "enc.blk.%u.ffn_down.weight", 0},
    {"decoder.block.%u.layer.0.SelfAttention.q", "dec.blk.%u.attn_q.weight", 0},
    {"decoder.block.%u.layer.0.SelfAttention.k", "dec.blk.%u.attn_k.weight", 0},
    {"decoder.block.%u.layer.0.SelfAttention.v", "dec.blk.%u.attn_v.weight", 0},
    {"decoder.block.%u.layer.0.SelfAttention.o", "dec.blk.%u.attn_o.weight", 0},
    {"decoder.block.%u.layer.1.EncDecAttention.q", "dec.blk.%u.cross_attn_q.weight", 0},
    {"decoder.block.%u.layer.1.EncDecAttention.k", "dec.blk.%u.cross_attn_k.weight", 0},
    {"decoder.block.%u.layer.1.EncDecAttention.v", "dec.blk.%u.cross_attn_v.weight", 0},
    {"decoder.block.%u.layer.1.EncDecAttention.o", "dec.blk.%u.cross_attn_o.weight", 0},
    {"decoder.block.%u.layer.2.DenseReluDense.wi", "dec.blk.%u.ffn_up.weight", 0},
    {"decoder.block.%u.layer.2.DenseReluDense.wi_0", "dec.blk.%u.ffn_gate.weight", 0},
    {"decoder.block.%u.layer.2.DenseReluDense.wi_1", "dec.blk.%u.ffn_up.weight", 0},
    {"decoder.block.%u.layer.2.DenseReluDense.wo", "dec.blk.%u.ffn_down.weight", 0},
    {"lm_head", "output.weight", 0},
    {NULL, NULL, 0},
};
static const char *const targets_t5[] = {"q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo",
                                         "lm_head", NULL};

static const peft_map map_bert[] = {
    {"encoder.layer.%u.attention.self.query", "blk.%u.attn_q.weight", 0},
    {"encoder.layer.%u.attention.self.key", "blk.%u.attn_k.weight", 0},
    {"encoder.layer.%u.attention.self.value", "blk.%u.attn_v.weight", 0},
    {"encoder.layer.%u.attention.output.dense", "blk.%u.attn_output.weight", 0},
    {"encoder.layer.%u.intermediate.dense", "blk.%u.ffn_up.weight", 0},
    {"encoder.layer.%u.output.dense", "blk.%u.ffn_down.weight", 0},
    {NULL, NULL, 0},
};
static const char *const targets_bert[] = {"query", "key", "value", "dense", NULL};

typedef struct peft_arch {
    const char *name;
    const char *prefix;      /* optional before the module path ("transformer.", "bert.") */
    const peft_map *map;
    const char *const *targets;
} peft_arch;

static const peft_arch arches[] = {
    {"gpt2", "transformer.", map_gpt2, targets_gpt2},
    {"llama", NULL, map_llama, targets_llama},
    {"t5", NULL, map_t5, targets_t5},
    {"bert", "bert.", map_bert, targets_bert},
};

/* ---------------------------------------------------------------------------------------------- */
/* names                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* Matches `s` against a pattern with one optional "%u"; writes the layer. */
static bool match(const char *pat, const char *s, unsigned *layer)
{
    const char *pu = strstr(pat, "%u");
    if (!pu)
        return strcmp(pat, s) == 0;
    size_t pre = (size_t)(pu - pat);
    if (strncmp(pat, s, pre) != 0)
        return false;
    const char *d = s + pre;
    if (*d < '0' || *d > '9')
        return false;
    unsigned long v = 0;
    while (*d >= '0' && *d <= '9' && v < 100000)
        v = v * 10 + (unsigned long)(*d++ - '0');
    if (strcmp(d, pu + 2) != 0)
        return false;
    *layer = (unsigned)v;
    return true;
}

/* The last component of a module path ("q_proj" of "model.layers.0.self_attn.q_proj"). */
static const char *leaf(const char *module)
{
    const char *dot = strrchr(module, '.');
    return dot ? dot + 1 : module;
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void join_list(char *buf, size_t cap, const char *const *list)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; list[i] && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", list[i]);
}

/* Splits a PEFT tensor name into its module path and which of A/B it is. */
static bool split_name(const char *name, char *module, size_t cap, bool *is_b)
{
    static const char *const lead = "base_model.model.";
    if (strncmp(name, lead, strlen(lead)) == 0)
        name += strlen(lead);
    const char *a = strstr(name, ".lora_A."), *b = strstr(name, ".lora_B.");
    const char *at = a ? a : b;
    if (!at || (a && b) || !(strcmp(at + 8, "weight") == 0 ||
                             (strchr(at + 8, '.') && strcmp(strchr(at + 8, '.'), ".weight") == 0)))
        return false;
    size_t len = (size_t)(at - name);
    if (len == 0 || len >= cap)
        return false;
    memcpy(module, name, len);
    module[len] = '\0';
    *is_b = b != NULL;
    return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* adapter_config.json                                                                            */
/* ---------------------------------------------------------------------------------------------- */

typedef struct peft_cfg {
    const char *targets[64];
    size_t n_targets;
    double alpha;            /* for the GGUF: scale = alpha / rank */
} peft_cfg;

static bool empty_or_null(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static llm_status read_config(const json_t *cfg, const char *path, const peft_arch *pa,
                              peft_cfg *out, llm_error *err)
{
    const char *type = json_string_value(json_object_get(cfg, "peft_type"));
    LLM_CHECK(err, !type || strcmp(type, "LORA") == 0, LLM_ERR_UNSUPPORTED,
              "%s: peft_type '%s' is not supported (only LORA)", path, type);
    json_t *r = json_object_get(cfg, "r");
    LLM_CHECK(err, json_is_integer(r) && json_integer_value(r) > 0, LLM_ERR_FORMAT,
              "%s: \"r\" must be a positive integer", path);
    json_t *alpha = json_object_get(cfg, "lora_alpha");
    LLM_CHECK(err, !alpha || json_is_number(alpha), LLM_ERR_FORMAT,
              "%s: \"lora_alpha\" must be a number", path);
    out->alpha = alpha ? json_number_value(alpha) : 8.0; /* PEFT's default */
    LLM_CHECK(err, isfinite(out->alpha) && out->alpha > 0.0, LLM_ERR_FORMAT,
              "%s: lora_alpha %g must be positive", path, out->alpha);
    if (json_is_true(json_object_get(cfg, "use_rslora")))
        out->alpha *= sqrt((double)json_integer_value(r)); /* alpha/sqrt(r) = (alpha·sqrt(r))/r */
    LLM_CHECK(err, !json_is_true(json_object_get(cfg, "use_dora")), LLM_ERR_UNSUPPORTED,
              "%s: use_dora is true; DoRA adapters are not supported", path);
    LLM_CHECK(err, empty_or_null(json_object_get(cfg, "alpha_pattern")), LLM_ERR_UNSUPPORTED,
              "%s: alpha_pattern (a different lora_alpha per module) is not supported", path);
    LLM_CHECK(err, empty_or_null(json_object_get(cfg, "modules_to_save")), LLM_ERR_UNSUPPORTED,
              "%s: modules_to_save (full copies of layers) is not supported", path);
    const char *bias = json_string_value(json_object_get(cfg, "bias"));
    LLM_CHECK(err, !bias || strcmp(bias, "none") == 0, LLM_ERR_UNSUPPORTED,
              "%s: bias '%s' is not supported (adapters with trained biases; only 'none')", path,
              bias);

    char supported[256];
    join_list(supported, sizeof supported, pa->targets);
    json_t *tm = json_object_get(cfg, "target_modules");
    if (json_is_string(tm)) {
        /* PEFT reads a string as a regular expression; a plain module name is the common case */
        const char *s = json_string_value(tm);
        LLM_CHECK(err, in_list(pa->targets, s), LLM_ERR_UNSUPPORTED,
                  "%s: target_modules '%s' is a regular expression or a module that a %s model "
                  "does not have; give a list of module names (supported: %s)",
                  path, s, pa->name, supported);
        out->targets[out->n_targets++] = s;
        return LLM_OK;
    }
    LLM_CHECK(err, json_is_array(tm) && json_array_size(tm) > 0, LLM_ERR_FORMAT,
              "%s: \"target_modules\" must be a non-empty list of module names", path);
    LLM_CHECK(err, json_array_size(tm) <= 64, LLM_ERR_LIMIT,
              "%s: more than 64 target_modules", path);
    for (size_t i = 0; i < json_array_size(tm); i++) {
        const char *s = json_string_value(json_array_get(tm, i));
        LLM_CHECK(err, s, LLM_ERR_FORMAT, "%s: target_modules[%zu] is not a string", path, i);
        LLM_CHECK(err, in_list(pa->targets, s), LLM_ERR_UNSUPPORTED,
                  "%s: target module '%s' is not supported for %s (supported: %s)", path, s,
                  pa->name, supported);
        out->targets[out->n_targets++] = s;
    }
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* tensors                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static float st_elem(const llm_st_tensor *t, uint64_t i)
{
    const uint8_t *p = t->data;
    uint16_t h;
    float f;
    switch (t->dtype) {
    case LLM_ST_F16: memcpy(&h, p + 2 * i, 2); return llm_f16_to_f32(h);
    case LLM_ST_BF16: memcpy(&h, p + 2 * i, 2); return llm_bf16_to_f32(h);
    default: memcpy(&f, p + 4 * i, 4); return f;
    }
}

/* Adds one PEFT tensor as <gguf>.lora_a / .lora_b (f32), rows permuted for llama q/k lora_B. */
static llm_status add_tensor(const struct llm_model *m, llm_gguf *g, const llm_st_tensor *t,
                             const char *gguf, bool is_b, int permute, const char *path,
                             llm_error *err)
{
    LLM_CHECK(err, t->n_dims == 2, LLM_ERR_FORMAT, "%s: tensor '%s' has %u dimensions, expected 2",
              path, t->name, t->n_dims);
    LLM_CHECK(err, t->dtype == LLM_ST_F32 || t->dtype == LLM_ST_F16 || t->dtype == LLM_ST_BF16,
              LLM_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16", path,
              t->name, llm_st_dtype_name(t->dtype));
    const uint64_t rows = t->shape[0], cols = t->shape[1];
    float *d = llm_aligned_alloc((size_t)(rows * cols) * sizeof *d);
    LLM_CHECK(err, d, LLM_ERR_NOMEM, "out of memory reading '%s'", t->name);
    uint32_t n_head = permute == 1 ? m->hp.n_head : m->hp.n_head_kv;
    if (is_b && permute && n_head > 0 && rows % (2 * (uint64_t)n_head) != 0) {
        llm_aligned_free(d);
        return llm_error_set(err, LLM_ERR_INVALID_ARG,
                             "%s: tensor '%s' has %llu rows, which do not split into %u heads",
                             path, t->name, (unsigned long long)rows, n_head);
    }
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t sr = r;
        if (is_b && permute) {
            /* (n_head, 2, half, cols) -> (n_head, half, 2, cols), as the model import does */
            uint64_t hd = rows / n_head, half = hd / 2, h = r / hd, w = r % hd;
            sr = h * hd + (w % 2) * half + w / 2;
        }
        for (uint64_t c = 0; c < cols; c++)
            d[r * cols + c] = st_elem(t, sr * cols + c);
    }
    char name[PEFT_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s.%s", gguf, is_b ? "lora_b" : "lora_a");
    const uint64_t ne[2] = {cols, rows};
    return llm_gguf_add_tensor_owned(g, name, LLM_DTYPE_F32, 2, ne, d, err);
}

static llm_status convert(const struct llm_model *m, const peft_arch *pa, const peft_cfg *cfg,
                          const llm_safetensors *st, const char *path, llm_gguf *g,
                          llm_error *err)
{
    const char *name = m->ops->name;
    LLM_TRY(llm_gguf_set_str(g, "general.architecture", name, strlen(name), err));
    LLM_TRY(llm_gguf_set_str(g, "general.type", "adapter", 7, err));
    LLM_TRY(llm_gguf_set_str(g, "adapter.type", "lora", 4, err));
    LLM_TRY(llm_gguf_set_f32(g, "adapter.lora.alpha", (float)cfg->alpha, err));
    for (uint64_t i = 0; i < llm_safetensors_n_tensors(st); i++) {
        const llm_st_tensor *t = llm_safetensors_tensor_at(st, i);
        char module[PEFT_NAME_MAX];
        bool is_b = false;
        LLM_CHECK(err, split_name(t->name, module, sizeof module, &is_b), LLM_ERR_UNSUPPORTED,
                  "%s: tensor '%s' is not a LoRA matrix (<module>.lora_A.weight or "
                  "<module>.lora_B.weight)",
                  path, t->name);
        const char *mod = module;
        if (pa->prefix && strncmp(mod, pa->prefix, strlen(pa->prefix)) == 0)
            mod += strlen(pa->prefix);
        LLM_CHECK(err, in_list(cfg->targets, leaf(mod)), LLM_ERR_FORMAT,
                  "%s: tensor '%s' adapts module '%s', which is not in target_modules", path,
                  t->name, leaf(mod));
        const peft_map *hit = NULL;
        unsigned layer = 0;
        for (const peft_map *p = pa->map; p->hf && !hit; p++)
            if (match(p->hf, mod, &layer))
                hit = p;
        LLM_CHECK(err, hit, LLM_ERR_UNSUPPORTED,
                  "%s: tensor '%s' adapts module '%s', which has no matrix in a %s model", path,
                  t->name, module, pa->name);
        char gguf[PEFT_NAME_MAX];
        snprintf(gguf, sizeof gguf, hit->gguf, layer);
        LLM_TRY(add_tensor(m, g, t, gguf, is_b, hit->permute, path, err));
    }
    return llm_gguf_finish(g, err);
}

llm_status llm_peft_import(const struct llm_model *m, const char *dir, llm_gguf **out,
                           llm_error *err)
{
    *out = NULL;
    const peft_arch *pa = NULL;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (strcmp(arches[i].name, m->ops->name) == 0)
            pa = &arches[i];
    LLM_CHECK(err, pa, LLM_ERR_UNSUPPORTED, "%s: PEFT adapters for %s models are not supported",
              dir, m->ops->name);
    char *cpath = llm_path_join(dir, "adapter_config.json");
    char *wpath = llm_path_join(dir, "adapter_model.safetensors");
    json_t *cfg = NULL;
    llm_safetensors *st = NULL;
    llm_gguf *g = NULL;
    llm_status st_ = LLM_OK;
    peft_cfg pc = {{0}, 0, 0.0};
    if (!cpath || !wpath) {
        st_ = llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!llm_path_is_file(cpath)) {
        st_ = llm_error_set(err, LLM_ERR_IO,
                            "%s: no adapter_config.json: not a PEFT adapter folder", dir);
        goto done;
    }
    json_error_t jerr;
    cfg = json_load_file(cpath, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(cfg)) {
        st_ = llm_error_set(err, LLM_ERR_FORMAT, "%s: line %d: %s", cpath, jerr.line,
                            cfg ? "expected a JSON object" : jerr.text);
        goto done;
    }
    st_ = read_config(cfg, cpath, pa, &pc, err);
    if (st_ == LLM_OK && !llm_path_is_file(wpath)) {
        char *bin = llm_path_join(dir, "adapter_model.bin");
        bool has_bin = bin && llm_path_is_file(bin);
        llm_mem_free(bin);
        st_ = llm_error_set(err, has_bin ? LLM_ERR_UNSUPPORTED : LLM_ERR_IO,
                            has_bin ? "%s: only adapter_model.bin (a pickle) is there; save the "
                                      "adapter with safe_serialization=True"
                                    : "%s: adapter_model.safetensors is missing",
                            dir);
    }
    if (st_ == LLM_OK)
        st_ = llm_safetensors_open(wpath, NULL, &st, err);
    if (st_ == LLM_OK)
        st_ = llm_gguf_create(&g, err);
    if (st_ == LLM_OK)
        st_ = convert(m, pa, &pc, st, wpath, g, err);
    if (st_ == LLM_OK) {
        *out = g;
        g = NULL;
    }
done:
    llm_gguf_close(g);
    llm_safetensors_close(st);
    json_decref(cfg);
    llm_mem_free(cpath);
    llm_mem_free(wpath);
    return st_;
}
