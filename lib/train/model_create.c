/*
 * New models from hyper-parameters: a GGUF built in memory with llama.cpp's metadata keys and
 * tensor names for the architecture, the tokenizer's tokenizer.ggml.* keys, and seeded weights
 * initialised as GPT-2 (and nanoGPT) do: matrices and embeddings N(0, 0.02), the two residual
 * output projections N(0, 0.02/sqrt(2·n_layer)), biases 0, norm weights 1. The result is opened
 * like any model file.
 *
 * The default tokenizer is byte-level: id b is the byte b (written as GPT-2's byte-to-unicode
 * character, so it is an ordinary gpt2 vocabulary with no merges) and id 256 is <|endoftext|>.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "common/options.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/train.h"

void llm_model_create_options_init(llm_model_create_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->arch = LLM_ARCH_GPT2;
    o->n_layer = 4;
    o->n_embd = 128;
    o->n_head = 4;
    o->n_head_kv = 0;
    o->n_ff = 0;
    o->n_ctx = 64;
    o->bias = -1;
    o->tied_output = 1;
    o->norm_eps = 0.0f;
    o->rope_theta = 0.0f;
    o->seed = 0;
    o->tokenizer_path = NULL;
    o->name = NULL;
}

// ------------------------------------------------------------------------------------------------
// tokenizer

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the rest for
 * U+0100 onwards in byte order. */
static uint32_t byte_char(uint32_t b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return b;
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; c++)
        if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)))
            n++;
    return 256 + n;
}

static llm_status byte_vocab(llm_gguf *g, llm_error *err)
{
    char buf[257][16];
    const char *strs[257];
    int32_t types[257];
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = byte_char(b);
        if (c < 0x80) {
            buf[b][0] = (char)c;
            buf[b][1] = 0;
        } else {
            buf[b][0] = (char)(0xC0 | (c >> 6));
            buf[b][1] = (char)(0x80 | (c & 0x3F));
            buf[b][2] = 0;
        }
        strs[b] = buf[b];
        types[b] = 1; /* normal */
    }
    snprintf(buf[256], sizeof buf[256], "<|endoftext|>");
    strs[256] = buf[256];
    types[256] = 3; /* control */
    LLM_TRY(llm_gguf_set_str(g, "tokenizer.ggml.model", "gpt2", 4, err));
    LLM_TRY(llm_gguf_set_str(g, "tokenizer.ggml.pre", "gpt-2", 5, err)); /* llama.cpp's name */
    LLM_TRY(llm_gguf_set_arr_str(g, "tokenizer.ggml.tokens", strs, NULL, 257, err));
    LLM_TRY(llm_gguf_set_arr(g, "tokenizer.ggml.token_type", LLM_GGUF_INT32, types, 257, err));
    LLM_TRY(llm_gguf_set_arr_str(g, "tokenizer.ggml.merges", NULL, NULL, 0, err));
    LLM_TRY(llm_gguf_set_u32(g, "tokenizer.ggml.bos_token_id", 256, err));
    LLM_TRY(llm_gguf_set_u32(g, "tokenizer.ggml.eos_token_id", 256, err));
    LLM_TRY(llm_gguf_set_bool(g, "tokenizer.ggml.add_bos_token", false, err));
    LLM_TRY(llm_gguf_set_bool(g, "tokenizer.ggml.add_eos_token", false, err));
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// weights

typedef struct init_rng {
    uint64_t s[4];
} init_rng;

/* A standard normal by Box-Muller from two 53-bit uniforms in (0, 1]. */
static double normal(init_rng *r)
{
    const double u1 = ((double)(llm_train_rng_next(r->s) >> 11) + 1.0) * 0x1p-53;
    const double u2 = (double)(llm_train_rng_next(r->s) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

enum init_kind { INIT_NORMAL, INIT_ZERO, INIT_ONE };

static llm_status add(llm_gguf *g, init_rng *r, const char *name, int64_t ne0, int64_t ne1,
                      enum init_kind kind, double std, llm_error *err)
{
    const uint64_t ne[2] = {(uint64_t)ne0, (uint64_t)(ne1 ? ne1 : 1)};
    const size_t n = (size_t)(ne[0] * ne[1]);
    float *d = llm_aligned_alloc(n * sizeof *d);
    LLM_CHECK(err, d, LLM_ERR_NOMEM, "out of memory for tensor '%s'", name);
    for (size_t i = 0; i < n; i++)
        d[i] = kind == INIT_ONE ? 1.0f : kind == INIT_ZERO ? 0.0f : (float)(std * normal(r));
    return llm_gguf_add_tensor_owned(g, name, LLM_DTYPE_F32, ne1 ? 2 : 1, ne, d, err);
}

static llm_status build(const llm_model_create_options *o, uint32_t V, llm_gguf *g,
                        llm_error *err)
{
    const bool gpt2 = o->arch == LLM_ARCH_GPT2;
    const char *a = gpt2 ? "gpt2" : "llama";
    const int64_t E = o->n_embd, L = o->n_layer, H = o->n_head;
    const int64_t KV = o->n_head_kv ? o->n_head_kv : H, hd = E / H;
    int64_t F = o->n_ff;
    if (F == 0)
        F = gpt2 ? 4 * E : ((8 * E / 3 + 31) / 32) * 32;
    const bool bias = o->bias < 0 ? gpt2 : o->bias != 0;
    const float eps = o->norm_eps > 0 ? o->norm_eps : 1e-5f;
    char key[128], name[96];
#define KEY(k) (snprintf(key, sizeof key, "%s." k, a), key)
    LLM_TRY(llm_gguf_set_str(g, "general.architecture", a, strlen(a), err));
    char def_name[32];
    snprintf(def_name, sizeof def_name, "libllm-%s", a);
    const char *nm = o->name ? o->name : def_name;
    LLM_TRY(llm_gguf_set_str(g, "general.name", nm, strlen(nm), err));
    LLM_TRY(llm_gguf_set_u32(g, "general.file_type", 0, err));
    LLM_TRY(llm_gguf_set_u32(g, KEY("context_length"), o->n_ctx, err));
    LLM_TRY(llm_gguf_set_u32(g, KEY("embedding_length"), (uint32_t)E, err));
    LLM_TRY(llm_gguf_set_u32(g, KEY("block_count"), (uint32_t)L, err));
    LLM_TRY(llm_gguf_set_u32(g, KEY("feed_forward_length"), (uint32_t)F, err));
    LLM_TRY(llm_gguf_set_u32(g, KEY("attention.head_count"), (uint32_t)H, err));
    if (gpt2) {
        LLM_TRY(llm_gguf_set_f32(g, KEY("attention.layer_norm_epsilon"), eps, err));
    } else {
        LLM_TRY(llm_gguf_set_u32(g, KEY("attention.head_count_kv"), (uint32_t)KV, err));
        LLM_TRY(llm_gguf_set_f32(g, KEY("attention.layer_norm_rms_epsilon"), eps, err));
        LLM_TRY(llm_gguf_set_f32(g, KEY("rope.freq_base"),
                                 o->rope_theta > 0 ? o->rope_theta : 10000.0f, err));
        LLM_TRY(llm_gguf_set_u32(g, KEY("rope.dimension_count"), (uint32_t)hd, err));
        LLM_TRY(llm_gguf_set_u32(g, KEY("vocab_size"), V, err));
    }
#undef KEY
    init_rng r;
    llm_train_rng_seed(r.s, o->seed);
    const double std = 0.02, std_res = 0.02 / sqrt(2.0 * (double)L);
    LLM_TRY(add(g, &r, "token_embd.weight", E, V, INIT_NORMAL, std, err));
    if (gpt2)
        LLM_TRY(add(g, &r, "position_embd.weight", E, o->n_ctx, INIT_NORMAL, std, err));
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%lld." suffix, (long long)l), name)
    for (int64_t l = 0; l < L; l++) {
        LLM_TRY(add(g, &r, NAME("attn_norm.weight"), E, 0, INIT_ONE, 0, err));
        if (bias)
            LLM_TRY(add(g, &r, NAME("attn_norm.bias"), E, 0, INIT_ZERO, 0, err));
        if (gpt2) {
            LLM_TRY(add(g, &r, NAME("attn_qkv.weight"), E, 3 * E, INIT_NORMAL, std, err));
            if (bias)
                LLM_TRY(add(g, &r, NAME("attn_qkv.bias"), 3 * E, 0, INIT_ZERO, 0, err));
        } else {
            LLM_TRY(add(g, &r, NAME("attn_q.weight"), E, H * hd, INIT_NORMAL, std, err));
            LLM_TRY(add(g, &r, NAME("attn_k.weight"), E, KV * hd, INIT_NORMAL, std, err));
            LLM_TRY(add(g, &r, NAME("attn_v.weight"), E, KV * hd, INIT_NORMAL, std, err));
        }
        LLM_TRY(add(g, &r, NAME("attn_output.weight"), H * hd, E, INIT_NORMAL, std_res, err));
        if (bias)
            LLM_TRY(add(g, &r, NAME("attn_output.bias"), E, 0, INIT_ZERO, 0, err));
        LLM_TRY(add(g, &r, NAME("ffn_norm.weight"), E, 0, INIT_ONE, 0, err));
        if (bias)
            LLM_TRY(add(g, &r, NAME("ffn_norm.bias"), E, 0, INIT_ZERO, 0, err));
        if (!gpt2)
            LLM_TRY(add(g, &r, NAME("ffn_gate.weight"), E, F, INIT_NORMAL, std, err));
        LLM_TRY(add(g, &r, NAME("ffn_up.weight"), E, F, INIT_NORMAL, std, err));
        if (bias)
            LLM_TRY(add(g, &r, NAME("ffn_up.bias"), F, 0, INIT_ZERO, 0, err));
        LLM_TRY(add(g, &r, NAME("ffn_down.weight"), F, E, INIT_NORMAL, std_res, err));
        if (bias)
            LLM_TRY(add(g, &r, NAME("ffn_down.bias"), E, 0, INIT_ZERO, 0, err));
    }
#undef NAME
    LLM_TRY(add(g, &r, "output_norm.weight", E, 0, INIT_ONE, 0, err));
    if (bias)
        LLM_TRY(add(g, &r, "output_norm.bias", E, 0, INIT_ZERO, 0, err));
    if (!o->tied_output)
        LLM_TRY(add(g, &r, "output.weight", E, V, INIT_NORMAL, std, err));
    return LLM_OK;
}

static llm_status check(const llm_model_create_options *o, llm_error *err)
{
    LLM_CHECK(err, o->arch == LLM_ARCH_GPT2 || o->arch == LLM_ARCH_LLAMA, LLM_ERR_UNSUPPORTED,
              "arch %d: new models are gpt2 (%d) or llama (%d)", o->arch, LLM_ARCH_GPT2,
              LLM_ARCH_LLAMA);
    LLM_CHECK(err, o->n_layer >= 1 && o->n_layer <= 1024, LLM_ERR_INVALID_ARG,
              "n_layer %u must be 1 .. 1024", o->n_layer);
    LLM_CHECK(err, o->n_embd >= 1 && o->n_embd <= 65536, LLM_ERR_INVALID_ARG,
              "n_embd %u must be 1 .. 65536", o->n_embd);
    LLM_CHECK(err, o->n_head >= 1 && o->n_embd % o->n_head == 0, LLM_ERR_INVALID_ARG,
              "n_head %u must divide n_embd %u", o->n_head, o->n_embd);
    LLM_CHECK(err, o->n_head_kv == 0 || o->n_head % o->n_head_kv == 0, LLM_ERR_INVALID_ARG,
              "n_head_kv %u must divide n_head %u", o->n_head_kv, o->n_head);
    LLM_CHECK(err, o->arch == LLM_ARCH_LLAMA || o->n_head_kv == 0 || o->n_head_kv == o->n_head,
              LLM_ERR_UNSUPPORTED, "gpt2 has no grouped-query attention (n_head_kv %u)",
              o->n_head_kv);
    LLM_CHECK(err, o->arch == LLM_ARCH_GPT2 || (o->n_embd / o->n_head) % 2 == 0,
              LLM_ERR_INVALID_ARG, "llama needs an even head size for RoPE (n_embd/n_head = %u)",
              o->n_embd / o->n_head);
    LLM_CHECK(err, o->n_ff <= 1u << 20, LLM_ERR_INVALID_ARG, "n_ff %u is too large", o->n_ff);
    LLM_CHECK(err, o->n_ctx >= 1 && o->n_ctx <= 1u << 20, LLM_ERR_INVALID_ARG,
              "n_ctx %u must be 1 .. 1048576", o->n_ctx);
    LLM_CHECK(err, !(o->arch == LLM_ARCH_LLAMA && o->bias > 0), LLM_ERR_UNSUPPORTED,
              "llama models have no biases (set bias to 0 or -1)");
    LLM_CHECK(err, isfinite(o->norm_eps) && o->norm_eps >= 0 && isfinite(o->rope_theta) &&
                       o->rope_theta >= 0,
              LLM_ERR_INVALID_ARG, "norm_eps and rope_theta must be finite and >= 0");
    return LLM_OK;
}

static llm_status create(const llm_model_create_options *o, struct llm_model **out,
                         llm_error *err)
{
    LLM_TRY(check(o, err));
    llm_gguf *g = NULL;
    LLM_TRY(llm_gguf_create(&g, err));
    llm_status st = LLM_OK;
    uint32_t V = 257;
    if (o->tokenizer_path) {
        struct llm_tokenizer *t = NULL;
        st = llm_tokenizer_open_path(o->tokenizer_path, &t, err);
        if (st == LLM_OK) {
            V = (uint32_t)llm_tokenizer_vocab_size(t);
            st = llm_tokenizer_write_gguf(t, g, err);
        }
        llm_tokenizer_free(t);
        if (st != LLM_OK)
            llm_error_prefix(err, "%s", o->tokenizer_path);
    } else {
        st = byte_vocab(g, err);
    }
    if (st == LLM_OK)
        st = build(o, V, g, err);
    if (st != LLM_OK) {
        llm_gguf_close(g);
        return st;
    }
    return llm_model_from_gguf(g, o->name ? o->name : "(new model)", out, err);
}

llm_status llm_model_create(const llm_model_create_options *opt, llm_model **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_model_create: out must not be NULL");
    llm_error err = {0};
    llm_model_create_options o;
    llm_model_create_options_init(&o);
    if (opt && llm_copy_options(&o, sizeof o, opt, sizeof o, "llm_model_create_options", &err) !=
                   LLM_OK)
        return llm_error_publish(&err);
    if (create(&o, out, &err) != LLM_OK)
        return llm_error_publish(&err);
    return LLM_OK;
}
