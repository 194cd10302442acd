/*
 * Hugging Face import tests. Each case turns a reference GGUF from the shared data (llama.cpp's
 * names and layouts) into a Hugging Face directory the way the HF checkpoints lay it out: HF
 * tensor names, GPT-2 Conv1D weights transposed, Llama q/k rows in HF's rotate-half order (the
 * inverse of llama.cpp's permute), config.json, sentence-transformers pooling files. Importing the
 * directory must give back every reference tensor bit for bit and the same hyper-parameters; the
 * f16/bf16/q8_0 conversions must equal the reference rounded the same way.
 *
 * Debug with CK_FORK=no CK_RUN_CASE=roundtrip ./test_hf_import.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <llm/llm.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "model/gguf.h"
#include "model/hf_import.h"
#include "st_writer.h"
#include "testdata.h"

// ------------------------------------------------------------------------------------------------
// Building a Hugging Face directory from a GGUF

typedef enum { XF_NONE, XF_TRANSPOSE, XF_UNPERMUTE } xf;

/* HF name and layout of a GGUF tensor; false for a tensor HF does not have. */
static bool hf_name(const char *arch, const char *g, char *out, size_t cap, xf *x)
{
    unsigned n;
    char rest[96], stack[8];
    *x = XF_NONE;
#define OUT(...) (snprintf(out, cap, __VA_ARGS__), true)
    if (strcmp(arch, "gpt2") == 0) {
        if (!strcmp(g, "token_embd.weight")) return OUT("transformer.wte.weight");
        if (!strcmp(g, "position_embd.weight")) return OUT("transformer.wpe.weight");
        if (!strcmp(g, "output.weight")) return OUT("lm_head.weight");
        if (sscanf(g, "output_norm.%95s", rest) == 1) return OUT("transformer.ln_f.%s", rest);
        if (sscanf(g, "blk.%u.%95s", &n, rest) != 2) return false;
        const char *w = strstr(rest, ".weight") ? "weight" : "bias";
        bool weight = w[0] == 'w';
        if (!strncmp(rest, "attn_norm", 9)) return OUT("transformer.h.%u.ln_1.%s", n, w);
        if (!strncmp(rest, "ffn_norm", 8)) return OUT("transformer.h.%u.ln_2.%s", n, w);
        *x = weight ? XF_TRANSPOSE : XF_NONE;
        if (!strncmp(rest, "attn_qkv", 8)) return OUT("transformer.h.%u.attn.c_attn.%s", n, w);
        if (!strncmp(rest, "attn_output", 11)) return OUT("transformer.h.%u.attn.c_proj.%s", n, w);
        if (!strncmp(rest, "ffn_up", 6)) return OUT("transformer.h.%u.mlp.c_fc.%s", n, w);
        if (!strncmp(rest, "ffn_down", 8)) return OUT("transformer.h.%u.mlp.c_proj.%s", n, w);
        return false;
    }
    if (strcmp(arch, "llama") == 0) {
        if (!strcmp(g, "token_embd.weight")) return OUT("model.embed_tokens.weight");
        if (!strcmp(g, "output.weight")) return OUT("lm_head.weight");
        if (!strcmp(g, "output_norm.weight")) return OUT("model.norm.weight");
        if (sscanf(g, "blk.%u.%95s", &n, rest) != 2) return false;
        static const char *const map[][2] = {
            {"attn_norm.weight", "input_layernorm.weight"},
            {"attn_q.weight", "self_attn.q_proj.weight"},
            {"attn_k.weight", "self_attn.k_proj.weight"},
            {"attn_v.weight", "self_attn.v_proj.weight"},
            {"attn_output.weight", "self_attn.o_proj.weight"},
            {"ffn_norm.weight", "post_attention_layernorm.weight"},
            {"ffn_gate.weight", "mlp.gate_proj.weight"},
            {"ffn_up.weight", "mlp.up_proj.weight"},
            {"ffn_down.weight", "mlp.down_proj.weight"}};
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!strcmp(rest, map[i][0])) {
                if (i == 1 || i == 2)
                    *x = XF_UNPERMUTE;
                return OUT("model.layers.%u.%s", n, map[i][1]);
            }
        return false;
    }
    if (strcmp(arch, "bert") == 0) {
        if (!strcmp(g, "token_embd.weight")) return OUT("embeddings.word_embeddings.weight");
        if (!strcmp(g, "token_types.weight")) return OUT("embeddings.token_type_embeddings.weight");
        if (!strcmp(g, "position_embd.weight")) return OUT("embeddings.position_embeddings.weight");
        if (sscanf(g, "token_embd_norm.%95s", rest) == 1) return OUT("embeddings.LayerNorm.%s", rest);
        if (sscanf(g, "blk.%u.%95s", &n, rest) != 2) return false;
        static const char *const map[][2] = {
            {"attn_q.", "attention.self.query."},      {"attn_k.", "attention.self.key."},
            {"attn_v.", "attention.self.value."},      {"attn_output.", "attention.output.dense."},
            {"attn_output_norm.", "attention.output.LayerNorm."},
            {"ffn_up.", "intermediate.dense."},        {"ffn_down.", "output.dense."},
            {"layer_output_norm.", "output.LayerNorm."}};
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            size_t l = strlen(map[i][0]);
            if (!strncmp(rest, map[i][0], l))
                return OUT("encoder.layer.%u.%s%s", n, map[i][1], rest + l);
        }
        return false;
    }
    if (strcmp(arch, "t5") == 0) {
        if (!strcmp(g, "token_embd.weight")) return OUT("shared.weight");
        if (!strcmp(g, "output.weight")) return OUT("lm_head.weight");
        if (!strcmp(g, "enc.output_norm.weight")) return OUT("encoder.final_layer_norm.weight");
        if (!strcmp(g, "dec.output_norm.weight")) return OUT("decoder.final_layer_norm.weight");
        if (sscanf(g, "%3[a-z].blk.%u.%95s", stack, &n, rest) != 3) return false;
        const char *hs = !strcmp(stack, "enc") ? "encoder" : "decoder";
        const char *ff = !strcmp(stack, "enc") ? "1" : "2";
        static const char *const map[][2] = {
            {"attn_norm.weight", "0.layer_norm.weight"},
            {"attn_rel_b.weight", "0.SelfAttention.relative_attention_bias.weight"},
            {"attn_q.weight", "0.SelfAttention.q.weight"},
            {"attn_k.weight", "0.SelfAttention.k.weight"},
            {"attn_v.weight", "0.SelfAttention.v.weight"},
            {"attn_o.weight", "0.SelfAttention.o.weight"},
            {"cross_attn_norm.weight", "1.layer_norm.weight"},
            {"cross_attn_q.weight", "1.EncDecAttention.q.weight"},
            {"cross_attn_k.weight", "1.EncDecAttention.k.weight"},
            {"cross_attn_v.weight", "1.EncDecAttention.v.weight"},
            {"cross_attn_o.weight", "1.EncDecAttention.o.weight"}};
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!strcmp(rest, map[i][0]))
                return OUT("%s.block.%u.layer.%s", hs, n, map[i][1]);
        if (!strcmp(rest, "ffn_norm.weight")) return OUT("%s.block.%u.layer.%s.layer_norm.weight", hs, n, ff);
        if (!strcmp(rest, "ffn_gate.weight")) return OUT("%s.block.%u.layer.%s.DenseReluDense.wi_0.weight", hs, n, ff);
        if (!strcmp(rest, "ffn_down.weight")) return OUT("%s.block.%u.layer.%s.DenseReluDense.wo.weight", hs, n, ff);
        if (!strcmp(rest, "ffn_up.weight")) return false; /* named by the caller (wi or wi_1) */
        return false;
    }
#undef OUT
    return false;
}

static uint32_t meta_u32(const llm_gguf *g, const char *key)
{
    uint32_t v = 0;
    ck_assert_msg(llm_gguf_get_u32(g, key, &v), "reference lacks %s", key);
    return v;
}

static float meta_f32(const llm_gguf *g, const char *key)
{
    float v = 0;
    ck_assert_msg(llm_gguf_get_f32(g, key, &v), "reference lacks %s", key);
    return v;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_config(const llm_gguf *g, const char *arch, const char *dir, bool gated)
{
    char cfg[2048];
    const llm_gguf_tensor *emb = llm_gguf_find_tensor(g, "token_embd.weight");
    unsigned long long V = (unsigned long long)emb->ne[1];
    if (!strcmp(arch, "gpt2"))
        snprintf(cfg, sizeof cfg,
                 "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", "
                 "\"n_embd\": %u, \"n_layer\": %u, \"n_head\": %u, \"n_positions\": %u, "
                 "\"n_inner\": %u, \"layer_norm_epsilon\": %.9g, \"vocab_size\": %llu}",
                 meta_u32(g, "gpt2.embedding_length"), meta_u32(g, "gpt2.block_count"),
                 meta_u32(g, "gpt2.attention.head_count"), meta_u32(g, "gpt2.context_length"),
                 meta_u32(g, "gpt2.feed_forward_length"),
                 (double)meta_f32(g, "gpt2.attention.layer_norm_epsilon"), V);
    else if (!strcmp(arch, "llama"))
        snprintf(cfg, sizeof cfg,
                 "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
                 "\"hidden_size\": %u, \"intermediate_size\": %u, \"num_hidden_layers\": %u, "
                 "\"num_attention_heads\": %u, \"num_key_value_heads\": %u, "
                 "\"max_position_embeddings\": %u, \"rms_norm_eps\": %.9g, \"vocab_size\": %llu, "
                 "\"tie_word_embeddings\": false}",
                 meta_u32(g, "llama.embedding_length"), meta_u32(g, "llama.feed_forward_length"),
                 meta_u32(g, "llama.block_count"), meta_u32(g, "llama.attention.head_count"),
                 meta_u32(g, "llama.attention.head_count_kv"), meta_u32(g, "llama.context_length"),
                 (double)meta_f32(g, "llama.attention.layer_norm_rms_epsilon"), V);
    else if (!strcmp(arch, "bert"))
        snprintf(cfg, sizeof cfg,
                 "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\", "
                 "\"hidden_size\": %u, \"num_hidden_layers\": %u, \"num_attention_heads\": %u, "
                 "\"intermediate_size\": %u, \"max_position_embeddings\": %u, "
                 "\"type_vocab_size\": 2, \"layer_norm_eps\": %.9g, \"vocab_size\": %llu}",
                 meta_u32(g, "bert.embedding_length"), meta_u32(g, "bert.block_count"),
                 meta_u32(g, "bert.attention.head_count"), meta_u32(g, "bert.feed_forward_length"),
                 meta_u32(g, "bert.context_length"),
                 (double)meta_f32(g, "bert.attention.layer_norm_epsilon"), V);
    else
        snprintf(cfg, sizeof cfg,
                 "{\"architectures\": [\"T5ForConditionalGeneration\"], \"model_type\": \"t5\", "
                 "\"d_model\": %u, \"d_kv\": %u, \"d_ff\": %u, \"num_layers\": %u, "
                 "\"num_heads\": %u, \"relative_attention_num_buckets\": %u, "
                 "\"layer_norm_epsilon\": %.9g, \"feed_forward_proj\": \"%s\", "
                 "\"tie_word_embeddings\": false, \"decoder_start_token_id\": %u, "
                 "\"vocab_size\": %llu}",
                 meta_u32(g, "t5.embedding_length"), meta_u32(g, "t5.attention.key_length"),
                 meta_u32(g, "t5.feed_forward_length"), meta_u32(g, "t5.block_count"),
                 meta_u32(g, "t5.attention.head_count"),
                 meta_u32(g, "t5.attention.relative_buckets_count"),
                 (double)meta_f32(g, "t5.attention.layer_norm_rms_epsilon"),
                 gated ? "gated-gelu" : "relu", meta_u32(g, "t5.decoder_start_token_id"), V);
    write_text(dir, "config.json", cfg);
}

/* Converts n f32 values to the safetensors dtype (F32, F16 or BF16) in place into dst. */
static size_t to_dtype(const float *src, size_t n, const char *dtype, void *dst)
{
    if (!strcmp(dtype, "F32")) {
        memcpy(dst, src, n * 4);
        return n * 4;
    }
    uint16_t *h = dst;
    for (size_t i = 0; i < n; i++)
        h[i] = !strcmp(dtype, "F16") ? llm_f32_to_f16(src[i]) : llm_f32_to_bf16(src[i]);
    return n * 2;
}

typedef struct hf_opts {
    const char *dtype;       /* safetensors dtype of 2-D weights: F32, F16, BF16 */
    int shards;              /* 0: model.safetensors; 2: two shards and an index */
    const char *skip;        /* a GGUF tensor to leave out */
    bool extras;             /* add tensors the importer must ignore */
} hf_opts;

static void make_hf_dir(const llm_gguf *g, const char *dir, const hf_opts *o)
{
    const char *arch;
    size_t len;
    ck_assert(llm_gguf_get_str(g, "general.architecture", &arch, &len));
    bool gated = llm_gguf_find_tensor(g, "enc.blk.0.ffn_gate.weight") != NULL;
    uint32_t n_head = 0, n_kv = 0;
    if (!strcmp(arch, "llama")) {
        n_head = meta_u32(g, "llama.attention.head_count");
        n_kv = meta_u32(g, "llama.attention.head_count_kv");
    }
    stw w[2] = {{0}, {0}};
    char index[65536];
    size_t il = (size_t)snprintf(index, sizeof index, "{\"metadata\": {\"total_size\": 0}, "
                                                      "\"weight_map\": {");
    for (uint64_t i = 0; i < llm_gguf_n_tensors(g); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        if (o->skip && !strcmp(t->name, o->skip))
            continue;
        ck_assert_uint_eq(t->type, LLM_DTYPE_F32);
        char name[160];
        xf x;
        bool known = hf_name(arch, t->name, name, sizeof name, &x);
        if (!known && !strcmp(arch, "t5") && strstr(t->name, "ffn_up.weight")) {
            unsigned n;
            char stack[8];
            sscanf(t->name, "%3[a-z].blk.%u.", stack, &n);
            snprintf(name, sizeof name, "%s.block.%u.layer.%s.DenseReluDense.%s.weight",
                     !strcmp(stack, "enc") ? "encoder" : "decoder", n,
                     !strcmp(stack, "enc") ? "1" : "2", gated ? "wi_1" : "wi");
            known = true;
        }
        ck_assert_msg(known, "no HF name for %s", t->name);
        uint64_t n = t->nbytes / 4;
        const float *src = t->data;
        float *tmp = malloc(t->nbytes);
        uint64_t shape[4];
        int nd = (int)t->n_dims;
        for (int d = 0; d < nd; d++)
            shape[d] = t->ne[nd - 1 - d];
        if (x == XF_TRANSPOSE) {
            /* GGUF (ne1 rows, ne0 cols) -> HF Conv1D (ne0, ne1) */
            uint64_t a = t->ne[0], b = t->ne[1];
            for (uint64_t r = 0; r < b; r++)
                for (uint64_t col = 0; col < a; col++)
                    tmp[col * b + r] = src[r * a + col];
            shape[0] = a;
            shape[1] = b;
        } else if (x == XF_UNPERMUTE) {
            uint32_t nh = strstr(t->name, "attn_q") ? n_head : n_kv;
            uint64_t cols = t->ne[0], rows = t->ne[1], hd = rows / nh, half = hd / 2;
            for (uint64_t r = 0; r < rows; r++) {
                /* HF row (h, j, i) holds GGUF row (h, i, j) */
                uint64_t h = r / hd, w2 = r % hd, j = w2 / half, ii = w2 % half;
                memcpy(tmp + r * cols, src + (h * hd + 2 * ii + j) * cols, cols * 4);
            }
        } else {
            memcpy(tmp, src, t->nbytes);
        }
        const char *dt = t->n_dims == 2 ? o->dtype : "F32";
        void *data = malloc(t->nbytes);
        size_t nb = to_dtype(tmp, n, dt, data);
        int shard = o->shards ? (int)(i % 2) : 0;
        stw_add(&w[shard], name, dt, nd, shape, data, nb);
        if (o->shards)
            il += (size_t)snprintf(index + il, sizeof index - il,
                                   "%s\"%s\": \"model-0000%d-of-00002.safetensors\"",
                                   il > 60 && index[il - 1] != '{' ? ", " : "", name, shard + 1);
        free(data);
        free(tmp);
    }
    if (o->extras) {
        int64_t ids[4] = {0, 1, 2, 3};
        uint64_t s4[2] = {1, 4}, s2[2] = {2, 2};
        float junk[4] = {1, 2, 3, 4};
        stw_add(&w[0], "embeddings.position_ids", "I64", 2, s4, ids, sizeof ids);
        stw_add(&w[0], "pooler.dense.weight", "F32", 2, s2, junk, sizeof junk);
    }
    char path[512];
    if (o->shards) {
        snprintf(index + il, sizeof index - il, "}}");
        write_text(dir, "model.safetensors.index.json", index);
        for (int s = 0; s < 2; s++) {
            snprintf(path, sizeof path, "%s/model-0000%d-of-00002.safetensors", dir, s + 1);
            ck_assert_int_eq(stw_write(&w[s], path), 0);
        }
    } else {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        ck_assert_int_eq(stw_write(&w[0], path), 0);
    }
    stw_free(&w[0]);
    stw_free(&w[1]);
    write_config(g, arch, dir, gated);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *temp_dir(void)
{
    char *d = strdup("/tmp/llm_test_hf_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void remove_dir(char *d)
{
    nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

// ------------------------------------------------------------------------------------------------
// Comparisons

/* The bytes a reference f32 tensor has once converted to `type`. */
static void *expected_bytes(const llm_gguf_tensor *ref, uint32_t type, uint64_t *nbytes)
{
    uint64_t n = ref->nbytes / 4, rows = n / ref->ne[0];
    uint64_t row = llm_dtype_row_bytes(type, ref->ne[0]);
    *nbytes = row * rows;
    uint8_t *out = malloc(*nbytes);
    const float *src = ref->data;
    if (type == LLM_DTYPE_F32) {
        memcpy(out, src, *nbytes);
    } else if (type == LLM_DTYPE_F16 || type == LLM_DTYPE_BF16) {
        uint16_t *h = (uint16_t *)out;
        for (uint64_t i = 0; i < n; i++)
            h[i] = type == LLM_DTYPE_F16 ? llm_f32_to_f16(src[i]) : llm_f32_to_bf16(src[i]);
    } else {
        for (uint64_t r = 0; r < rows; r++)
            ck_assert(llm_quantize_row(type, src + r * ref->ne[0], out + r * row,
                                       (int64_t)ref->ne[0]));
    }
    return out;
}

/* Every reference tensor is in `got` with the same shape and with the reference's values in the
 * type `type_of` gives it; no other tensors. */
static void compare(const llm_gguf *ref, const llm_gguf *got, uint32_t conv_type, bool as_conv,
                    const char *src_dtype)
{
    ck_assert_uint_eq(llm_gguf_n_tensors(ref), llm_gguf_n_tensors(got));
    for (uint64_t i = 0; i < llm_gguf_n_tensors(ref); i++) {
        const llm_gguf_tensor *r = llm_gguf_tensor_at(ref, i);
        const llm_gguf_tensor *t = llm_gguf_find_tensor(got, r->name);
        ck_assert_msg(t != NULL, "imported model lacks %s", r->name);
        ck_assert_uint_eq(t->n_dims, r->n_dims);
        for (int d = 0; d < 4; d++)
            ck_assert_msg(t->ne[d] == r->ne[d], "%s: ne[%d] %" PRIu64 " vs %" PRIu64, r->name, d,
                          t->ne[d], r->ne[d]);
        uint32_t want;
        if (as_conv)
            want = llm_hf_convert_type_of(r, conv_type);
        else
            want = r->n_dims == 1 || !strcmp(src_dtype, "F32") ? LLM_DTYPE_F32
                   : !strcmp(src_dtype, "F16")                 ? LLM_DTYPE_F16
                                                               : LLM_DTYPE_BF16;
        ck_assert_msg(t->type == want, "%s: type %u, expected %u", r->name, t->type, want);
        uint64_t nb;
        void *exp = expected_bytes(r, want, &nb);
        ck_assert_uint_eq(t->nbytes, nb);
        ck_assert_msg(memcmp(t->data, exp, nb) == 0, "%s: data differs", r->name);
        free(exp);
    }
}

/* Every "<arch>." key of the reference is in `got` with the same value. */
static void compare_meta(const llm_gguf *ref, const llm_gguf *got, const char *arch)
{
    size_t al = strlen(arch);
    int n = 0;
    for (uint64_t i = 0; i < llm_gguf_n_kv(ref); i++) {
        const char *k = llm_gguf_key(ref, i);
        if (strncmp(k, arch, al) != 0 || k[al] != '.')
            continue;
        n++;
        llm_gguf_type ty = llm_gguf_kv_type(ref, i);
        if (ty == LLM_GGUF_FLOAT32) {
            float a = 0, b = 0;
            ck_assert_msg(llm_gguf_get_f32(got, k, &b), "imported model lacks %s", k);
            llm_gguf_get_f32(ref, k, &a);
            ck_assert_msg(a == b, "%s: %g vs %g", k, (double)b, (double)a);
        } else if (ty == LLM_GGUF_BOOL) {
            bool a = 0, b = 0;
            ck_assert_msg(llm_gguf_get_bool(got, k, &b), "imported model lacks %s", k);
            llm_gguf_get_bool(ref, k, &a);
            ck_assert_int_eq(a, b);
        } else {
            uint32_t a = 0, b = 0;
            ck_assert_msg(llm_gguf_get_u32(got, k, &b), "imported model lacks %s", k);
            llm_gguf_get_u32(ref, k, &a);
            ck_assert_msg(a == b, "%s: %u vs %u", k, b, a);
        }
    }
    ck_assert_int_ge(n, 5);
    const char *s;
    size_t len;
    ck_assert(llm_gguf_get_str(got, "general.architecture", &s, &len));
    ck_assert_str_eq(s, arch);
}

static const char *const models[] = {"golden/models/gpt2-tiny-f32.gguf",
                                     "models/stories260K/stories260K.gguf",
                                     "golden/models/bert-tiny-mean-f32.gguf",
                                     "golden/models/t5-tiny-relu-f32.gguf",
                                     "golden/models/t5-tiny-gated-f32.gguf"};

static llm_gguf *open_ref(const char *rel)
{
    llm_gguf *g = NULL;
    llm_error e = {0};
    ck_assert_msg(llm_gguf_open(llm_test_path(rel), NULL, &g, &e) == LLM_OK, "%s", e.msg);
    return g;
}

static void add_sentence_transformers(const char *dir)
{
    char sub[512];
    snprintf(sub, sizeof sub, "%s/1_Pooling", dir);
    mkdir(sub, 0755);
    write_text(dir, "modules.json",
               "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
               "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, \"name\": \"1\", "
               "\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}, "
               "{\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
               "\"sentence_transformers.models.Normalize\"}]");
    write_text(sub, "config.json",
               "{\"word_embedding_dimension\": 64, \"pooling_mode_cls_token\": false, "
               "\"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": false}");
}

// ------------------------------------------------------------------------------------------------
// roundtrip

START_TEST(test_roundtrip_f32)
{
    const char *rel = models[_i];
    llm_gguf *ref = open_ref(rel);
    const char *arch;
    size_t len;
    ck_assert(llm_gguf_get_str(ref, "general.architecture", &arch, &len));
    char *dir = temp_dir();
    hf_opts o = {.dtype = "F32", .extras = !strcmp(arch, "bert")};
    make_hf_dir(ref, dir, &o);
    if (!strcmp(arch, "bert"))
        add_sentence_transformers(dir);
    llm_gguf *got = NULL;
    llm_error e = {0};
    ck_assert_msg(llm_hf_import(dir, NULL, &got, &e) == LLM_OK, "%s: %s", rel, e.msg);
    compare(ref, got, 0, false, "F32");
    compare_meta(ref, got, arch);
    if (!strcmp(arch, "bert")) {
        bool b = false;
        ck_assert(llm_gguf_get_bool(got, "llm.normalize", &b) && b);
        uint32_t p = 0;
        ck_assert(llm_gguf_get_u32(got, "llm.pooling_type", &p) && p == 1);
    }

    /* Convert and write as `llm convert` does, read back, compare. */
    static const uint32_t types[] = {LLM_DTYPE_F32, LLM_DTYPE_F16, LLM_DTYPE_BF16, LLM_DTYPE_Q8_0};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        llm_gguf *conv = NULL;
        ck_assert_int_eq(llm_hf_import(dir, NULL, &conv, &e), LLM_OK);
        ck_assert_msg(llm_hf_convert_types(conv, types[k], NULL, NULL, &e) == LLM_OK, "%s",
                      e.msg);
        char path[600];
        snprintf(path, sizeof path, "%s/out.gguf", dir);
        ck_assert_msg(llm_gguf_write(conv, path, &e) == LLM_OK, "%s", e.msg);
        llm_gguf *back = NULL;
        ck_assert_msg(llm_gguf_open(path, NULL, &back, &e) == LLM_OK, "%s", e.msg);
        compare(ref, back, types[k], true, "F32");
        compare_meta(ref, back, arch);
        ck_assert_int_eq(llm_gguf_verify(back, &e), LLM_OK);
        llm_gguf_close(back);
        llm_gguf_close(conv);
        remove(path);
    }
    llm_gguf_close(got);
    llm_gguf_close(ref);
    remove_dir(dir);
}
END_TEST

/* 2-D weights stored as F16 or BF16 stay in that type; sharded checkpoints load. */
START_TEST(test_roundtrip_half_sharded)
{
    static const char *const dts[] = {"F16", "BF16"};
    for (int k = 0; k < 2; k++) {
        llm_gguf *ref = open_ref(models[_i]);
        char *dir = temp_dir();
        hf_opts o = {.dtype = dts[k], .shards = 2};
        make_hf_dir(ref, dir, &o);
        llm_gguf *got = NULL;
        llm_error e = {0};
        ck_assert_msg(llm_hf_import(dir, NULL, &got, &e) == LLM_OK, "%s", e.msg);
        compare(ref, got, 0, false, dts[k]);
        llm_gguf_close(got);
        llm_gguf_close(ref);
        remove_dir(dir);
    }
}
END_TEST

// ------------------------------------------------------------------------------------------------
// errors

static llm_status import_status(const char *dir, llm_error *e)
{
    llm_gguf *g = (llm_gguf *)1;
    memset(e, 0, sizeof *e);
    llm_status st = llm_hf_import(dir, NULL, &g, e);
    if (st != LLM_OK) {
        ck_assert_ptr_null(g);
        ck_assert(e->msg[0]);
    } else {
        llm_gguf_close(g);
    }
    return st;
}

START_TEST(test_errors)
{
    llm_gguf *ref = open_ref(models[0]);
    llm_error e;
    char *dir = temp_dir();
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_IO);
    ck_assert(strstr(e.msg, "config.json"));

    /* A missing tensor is named. */
    hf_opts o = {.dtype = "F32", .skip = "blk.1.ffn_up.bias"};
    make_hf_dir(ref, dir, &o);
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "transformer.h.1.mlp.c_fc.bias"), "%s", e.msg);

    /* A config that disagrees with the tensors: the tensor and both shapes are named. */
    o.skip = NULL;
    make_hf_dir(ref, dir, &o);
    write_text(dir, "config.json",
               "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, "
               "\"n_positions\": 128, \"n_inner\": 128, \"vocab_size\": 1024}");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "transformer.h.0.mlp.c_fc.weight") && strstr(e.msg, "[64, 256]") &&
                      strstr(e.msg, "[64, 128]"),
                  "%s", e.msg);
    write_text(dir, "config.json",
               "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, "
               "\"vocab_size\": 1000}");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "vocab_size"), "%s", e.msg);
    write_text(dir, "config.json", "{\"model_type\": \"mamba\"}");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_UNSUPPORTED);
    write_text(dir, "config.json", "{\"model_type\": \"gpt2\", \"n_embd\": -3}");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);
    write_text(dir, "config.json", "{\"model_type\": \"gpt2\", ");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);
    write_text(dir, "config.json", "[]");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);

    /* A weight in an unusable dtype. */
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    stw w = {0};
    int32_t zeros[64 * 16] = {0};
    uint64_t shape[2] = {16, 64};
    stw_add(&w, "wte.weight", "I32", 2, shape, zeros, sizeof zeros);
    ck_assert_int_eq(stw_write(&w, path), 0);
    stw_free(&w);
    write_text(dir, "config.json",
               "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_layer\": 1, \"n_head\": 4, "
               "\"n_positions\": 8}");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(e.msg, "wte.weight") && strstr(e.msg, "I32"), "%s", e.msg);

    /* Sharded index naming a file outside the directory. */
    remove(path);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"wte.weight\": \"../x.safetensors\"}}");
    ck_assert_int_eq(import_status(dir, &e), LLM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "plain file name"), "%s", e.msg);

    llm_gguf_close(ref);
    remove_dir(dir);
}
END_TEST

/* The llama q/k permutation of the importer is llama.cpp's: checked on a hand-made head. */
START_TEST(test_llama_permute)
{
    char *dir = temp_dir();
    /* 1 layer, hidden 4, 1 head of 4 dims, kv 1 head: q rows HF (0,1,2,3) -> GGUF (0,2,1,3). */
    stw w = {0};
    float eye[16], ones[4] = {1, 1, 1, 1}, emb[8 * 4] = {0};
    for (int i = 0; i < 16; i++)
        eye[i] = (float)i;
    uint64_t s44[2] = {4, 4}, s4[1] = {4}, s84[2] = {8, 4}, s_ff[2] = {8, 4}, s_fd[2] = {4, 8};
    float ff[32] = {0};
    stw_add(&w, "model.embed_tokens.weight", "F32", 2, s84, emb, sizeof emb);
    stw_add(&w, "model.norm.weight", "F32", 1, s4, ones, sizeof ones);
    stw_add(&w, "model.layers.0.input_layernorm.weight", "F32", 1, s4, ones, sizeof ones);
    stw_add(&w, "model.layers.0.post_attention_layernorm.weight", "F32", 1, s4, ones, sizeof ones);
    stw_add(&w, "model.layers.0.self_attn.q_proj.weight", "F32", 2, s44, eye, sizeof eye);
    stw_add(&w, "model.layers.0.self_attn.k_proj.weight", "F32", 2, s44, eye, sizeof eye);
    stw_add(&w, "model.layers.0.self_attn.v_proj.weight", "F32", 2, s44, eye, sizeof eye);
    stw_add(&w, "model.layers.0.self_attn.o_proj.weight", "F32", 2, s44, eye, sizeof eye);
    stw_add(&w, "model.layers.0.mlp.gate_proj.weight", "F32", 2, s_ff, ff, sizeof ff);
    stw_add(&w, "model.layers.0.mlp.up_proj.weight", "F32", 2, s_ff, ff, sizeof ff);
    stw_add(&w, "model.layers.0.mlp.down_proj.weight", "F32", 2, s_fd, ff, sizeof ff);
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(stw_write(&w, path), 0);
    stw_free(&w);
    write_text(dir, "config.json",
               "{\"model_type\": \"llama\", \"hidden_size\": 4, \"intermediate_size\": 8, "
               "\"num_hidden_layers\": 1, \"num_attention_heads\": 1, \"rope_theta\": 500000.0, "
               "\"tie_word_embeddings\": true}");
    llm_gguf *g = NULL;
    llm_error e = {0};
    ck_assert_msg(llm_hf_import(dir, NULL, &g, &e) == LLM_OK, "%s", e.msg);
    const llm_gguf_tensor *q = llm_gguf_find_tensor(g, "blk.0.attn_q.weight");
    const float *qd = q->data;
    static const int order[4] = {0, 2, 1, 3};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            ck_assert_float_eq(qd[r * 4 + c], (float)(order[r] * 4 + c));
    const float *vd = llm_gguf_find_tensor(g, "blk.0.attn_v.weight")->data;
    ck_assert_float_eq(vd[4], 4.0f);
    ck_assert_ptr_null(llm_gguf_find_tensor(g, "output.weight"));
    float theta = 0;
    ck_assert(llm_gguf_get_f32(g, "llama.rope.freq_base", &theta) && theta == 500000.0f);
    uint32_t u = 0;
    ck_assert(llm_gguf_get_u32(g, "llama.attention.head_count_kv", &u) && u == 1);
    ck_assert(llm_gguf_get_u32(g, "llama.rope.dimension_count", &u) && u == 4);
    llm_gguf_close(g);
    remove_dir(dir);
}
END_TEST

// ------------------------------------------------------------------------------------------------
// cli: `llm convert` and `llm inspect` (the path of the llm program comes in $LLM_CLI)

static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* With vocab.json and merges.txt in the folder, `llm convert` writes the tokenizer metadata
 * through the tokenizer module's exporter: the reference GPT-2 vocabulary and merges come back. */
/* Writes the reference GPT-2 vocabulary as Hugging Face's vocab.json and merges.txt. */
static void write_gpt2_vocab(const llm_gguf *ref, const char *dir)
{
    llm_gguf_type et;
    uint64_t n_tok = 0, n_merges = 0;
    ck_assert(llm_gguf_get_arr(ref, "tokenizer.ggml.tokens", &et, &n_tok));
    ck_assert(llm_gguf_get_arr(ref, "tokenizer.ggml.merges", &et, &n_merges));
    json_t *vocab = json_object();
    for (uint64_t i = 0; i < n_tok; i++) {
        size_t len;
        const char *t = llm_gguf_arr_str(ref, "tokenizer.ggml.tokens", i, &len);
        json_object_set_new(vocab, t, json_integer((json_int_t)i));
    }
    char path[600];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    ck_assert_int_eq(json_dump_file(vocab, path, JSON_ENSURE_ASCII), 0);
    json_decref(vocab);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#version: 0.2\n", f);
    for (uint64_t i = 0; i < n_merges; i++) {
        size_t len;
        fprintf(f, "%s\n", llm_gguf_arr_str(ref, "tokenizer.ggml.merges", i, &len));
    }
    fclose(f);
}

static void check_gpt2_tokenizer_export(const llm_gguf *ref, const char *dir, const char *cli)
{
    llm_gguf_type et;
    uint64_t n_tok = 0, n_merges = 0;
    ck_assert(llm_gguf_get_arr(ref, "tokenizer.ggml.tokens", &et, &n_tok));
    ck_assert(llm_gguf_get_arr(ref, "tokenizer.ggml.merges", &et, &n_merges));
    write_gpt2_vocab(ref, dir);
    char path[600];
    ck_assert_int_eq(run("%s convert %s %s/tok.gguf --type f32 >/dev/null 2>&1", cli, dir, dir), 0);
    snprintf(path, sizeof path, "%s/tok.gguf", dir);
    llm_gguf *g = NULL;
    llm_error e = {0};
    ck_assert_msg(llm_gguf_open(path, NULL, &g, &e) == LLM_OK, "%s", e.msg);
    const char *model;
    size_t len;
    ck_assert(llm_gguf_get_str(g, "tokenizer.ggml.model", &model, &len));
    ck_assert_str_eq(model, "gpt2");
    uint64_t n = 0;
    ck_assert(llm_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n));
    ck_assert_uint_eq(n, n_tok);
    for (uint64_t i = 0; i < n; i++) {
        size_t la, lb;
        const char *a = llm_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &la);
        const char *b = llm_gguf_arr_str(ref, "tokenizer.ggml.tokens", i, &lb);
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "token %" PRIu64, i);
    }
    ck_assert(llm_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n));
    ck_assert_uint_eq(n, n_merges);
    for (uint64_t i = 0; i < n; i++) {
        size_t la, lb;
        const char *a = llm_gguf_arr_str(g, "tokenizer.ggml.merges", i, &la);
        const char *b = llm_gguf_arr_str(ref, "tokenizer.ggml.merges", i, &lb);
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "merge %" PRIu64, i);
    }
    llm_gguf_close(g);
    remove(path);
}

START_TEST(test_cli_convert_inspect)
{
    const char *cli = getenv("LLM_CLI");
    if (!cli || !*cli) {
        fprintf(stderr, "LLM_CLI is not set; skipping the command-line checks\n");
        return;
    }
    llm_gguf *ref = open_ref(models[_i]);
    char *dir = temp_dir();
    hf_opts o = {.dtype = "F32"};
    make_hf_dir(ref, dir, &o);
    static const char *const types[] = {"f32", "f16", "q8_0"};
    static const uint32_t codes[] = {LLM_DTYPE_F32, LLM_DTYPE_F16, LLM_DTYPE_Q8_0};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(run("%s convert %s %s/out.gguf --type %s >/dev/null 2>&1", cli, dir, dir,
                             types[k]),
                         0);
        char path[600];
        snprintf(path, sizeof path, "%s/out.gguf", dir);
        llm_gguf *g = NULL;
        llm_error e = {0};
        ck_assert_msg(llm_gguf_open(path, NULL, &g, &e) == LLM_OK, "%s", e.msg);
        compare(ref, g, codes[k], true, "F32");
        llm_gguf_close(g);
        ck_assert_int_eq(run("%s inspect %s --verify --json >/dev/null", cli, path), 0);
        ck_assert_int_eq(run("%s inspect %s --ctx 64 >/dev/null", cli, path), 0);
    }
    ck_assert_int_eq(run("%s inspect %s >/dev/null", cli, dir), 0);
    ck_assert_int_eq(run("%s convert %s %s/x.gguf --type q3 >/dev/null 2>&1", cli, dir, dir), 2);
    if (_i == 0)
        check_gpt2_tokenizer_export(ref, dir, cli);
    /* A bad file: non-zero exit and a message naming the problem. */
    char path[600];
    snprintf(path, sizeof path, "%s/out.gguf", dir);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(truncate(path, sb.st_size - 10), 0);
    ck_assert_int_eq(run("%s inspect %s >/dev/null 2>%s/err.txt", cli, path, dir), 1);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    size_t n = 0;
    char *msg = llm_test_read_file(path, &n);
    ck_assert_msg(msg && strstr(msg, "past the end"), "%s", msg ? msg : "(no output)");
    free(msg);
    llm_gguf_close(ref);
    remove_dir(dir);
}
END_TEST

// ------------------------------------------------------------------------------------------------
// model: an imported directory runs exactly like the reference GGUF

/* Logits of every position of `ids` from the model at `path` (GGUF file or directory). */
static float *run_logits(const char *path, const int32_t *ids, size_t n, size_t *n_vocab)
{
    llm_model *m = NULL;
    ck_assert_msg(llm_model_open(path, NULL, &m) == LLM_OK, "%s: %s", path, llm_last_error());
    llm_session *s = NULL;
    ck_assert_msg(llm_session_create(m, NULL, &s) == LLM_OK, "%s", llm_last_error());
    llm_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(llm_model_get_info(m, &info), LLM_OK);
    *n_vocab = info.n_vocab;
    float *logits = malloc(n * info.n_vocab * sizeof *logits);
    ck_assert_msg(llm_session_feed(s, ids, n, logits, n * info.n_vocab) == LLM_OK, "%s",
                  llm_session_last_error(s));
    llm_session_destroy(s);
    llm_model_close(m);
    return logits;
}

START_TEST(test_model_gpt2_directory)
{
    /* The gpt2-tiny `ids` case of the golden set (golden/README.md). */
    static const int32_t ids[32] = {55,  72,  734, 834, 666, 657, 85,  201, 434, 602, 96,
                                    915, 878, 461, 710, 202, 293, 366, 194, 43,  93,  835,
                                    908, 496, 826, 827, 853, 572, 115, 994, 161, 851};
    llm_gguf *ref = open_ref(models[0]);
    char *dir = temp_dir();
    hf_opts o = {.dtype = "F32"};
    make_hf_dir(ref, dir, &o);
    write_gpt2_vocab(ref, dir);
    size_t v_dir = 0, v_ref = 0;
    float *a = run_logits(dir, ids, 32, &v_dir);
    float *b = run_logits(llm_test_path(models[0]), ids, 32, &v_ref);
    ck_assert_uint_eq(v_dir, 1024);
    ck_assert_uint_eq(v_ref, 1024);
    /* Same weights, same code: bit-identical logits. */
    ck_assert(memcmp(a, b, 32 * 1024 * sizeof(float)) == 0);
    size_t gsize = 0;
    float *golden = llm_test_read_file(llm_test_path("golden/outputs/gpt2-tiny-f32.ids.logits.f32"),
                                       &gsize);
    ck_assert_ptr_nonnull(golden);
    ck_assert_uint_eq(gsize, 32 * 1024 * sizeof(float));
    double rel = llm_test_rel_err(a, golden, 32 * 1024);
    ck_assert_msg(rel < 2e-3, "imported GPT-2 logits differ from the golden by %g", rel);
    free(golden);
    free(a);
    free(b);
    llm_gguf_close(ref);
    remove_dir(dir);
}
END_TEST

static Suite *hf_suite(void)
{
    Suite *s = suite_create("hf_import");
    TCase *tc = tcase_create("roundtrip");
    int n = (int)(sizeof models / sizeof models[0]);
    tcase_add_loop_test(tc, test_roundtrip_f32, 0, n);
    tcase_add_loop_test(tc, test_roundtrip_half_sharded, 0, n);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_llama_permute);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_test(tc, test_model_gpt2_directory);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("cli");
    tcase_add_loop_test(tc, test_cli_convert_inspect, 0, n);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    llm_test_data_require();
    SRunner *sr = srunner_create(hf_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
