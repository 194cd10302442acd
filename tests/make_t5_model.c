/*
 * make_t5_model: writes a random-weight T5 GGUF of any shape (llama.cpp tensor names), for
 * benchmarks (`llm bench generate`). The default shape is t5-small's: 6+6 layers, d_model 512,
 * 8 heads of d_kv 64, d_ff 2048 (ReLU), 32 relative buckets, vocab 32128.
 *
 *   make_t5_model OUT.gguf [--layers N] [--dec-layers N] [--embd N] [--heads N] [--dkv N]
 *                 [--ff N] [--vocab N] [--ctx N] [--gated] [--tied] [--type f32|f16|q8_0]
 *                 [--seed N] [--tokenizer T5.gguf]
 *
 * The tokenizer is copied from a T5 GGUF (default $LLM_TEST_DATA/golden/models/
 * t5-tiny-relu-f32.gguf, the first t5-small pieces) and padded with "<extra_id_N>" control pieces
 * up to the vocabulary size, so every id the random model produces can be detokenized.
 * Weights: matrices ~ N(0, 0.02), norm weights 1 + N(0, 0.1), relative bias N(0, 0.5), as in the
 * golden set; the numbers are meaningless, the work per token is real.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "model/gguf.h"
#include "model_maker.h"

#define PROG "make_t5_model"

static llm_error err;

static void check(llm_status st, const char *what)
{
    maker_check(PROG, st, &err, what);
}

/* Adds a (rows, cols) tensor of mean + sd·N(0, 1), converted to `type` when it is a matrix. */
static void add(llm_gguf *g, const char *name, uint64_t cols, uint64_t rows, float mean, float sd,
                uint32_t type)
{
    maker_add(PROG, g, name, cols, rows, mean, sd, type);
}

/* Copies the tokenizer of `src`, padded to n_vocab pieces. */
static void copy_tokenizer(llm_gguf *g, const llm_gguf *src, uint32_t n_vocab)
{
    llm_gguf_type elem;
    uint64_t n = 0;
    if (!llm_gguf_get_arr(src, "tokenizer.ggml.tokens", &elem, &n) || n == 0 || n > n_vocab) {
        fprintf(stderr, "make_t5_model: the tokenizer GGUF has no tokens, or more than %u\n",
                n_vocab);
        exit(1);
    }
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++) {
        const char *k = llm_gguf_key(src, i);
        if (strncmp(k, "tokenizer.", 10) == 0 && strcmp(k, "tokenizer.ggml.tokens") != 0 &&
            strcmp(k, "tokenizer.ggml.scores") != 0 && strcmp(k, "tokenizer.ggml.token_type") != 0)
            check(llm_gguf_copy_kv(g, src, i, &err), k);
    }
    char **tokens = calloc(n_vocab, sizeof *tokens);
    float *scores = calloc(n_vocab, sizeof *scores);
    int32_t *types = calloc(n_vocab, sizeof *types);
    if (!tokens || !scores || !types || !llm_gguf_arr_f32(src, "tokenizer.ggml.scores", scores, n) ||
        !llm_gguf_arr_i32(src, "tokenizer.ggml.token_type", types, n)) {
        fprintf(stderr, "make_t5_model: cannot read the tokenizer arrays\n");
        exit(1);
    }
    for (uint32_t i = 0; i < n_vocab; i++) {
        size_t len = 0;
        const char *piece = i < n ? llm_gguf_arr_str(src, "tokenizer.ggml.tokens", i, &len) : NULL;
        char buf[64];
        if (!piece) {
            snprintf(buf, sizeof buf, "<extra_id_%u>", n_vocab - 1 - i);
            piece = buf;
            scores[i] = 0.0f;
            types[i] = 3; /* control */
        }
        tokens[i] = strdup(piece);
    }
    check(llm_gguf_set_arr_str(g, "tokenizer.ggml.tokens", (const char *const *)tokens, NULL,
                               n_vocab, &err),
          "tokens");
    check(llm_gguf_set_arr(g, "tokenizer.ggml.scores", LLM_GGUF_FLOAT32, scores, n_vocab, &err),
          "scores");
    check(llm_gguf_set_arr(g, "tokenizer.ggml.token_type", LLM_GGUF_INT32, types, n_vocab, &err),
          "token_type");
    for (uint32_t i = 0; i < n_vocab; i++)
        free(tokens[i]);
    free(tokens);
    free(scores);
    free(types);
}

int main(int argc, char **argv)
{
    uint32_t L = 6, Ld = 0, E = 512, H = 8, DK = 64, F = 2048, V = 32128, ctx = 512, gated = 0;
    uint32_t tied = 0, type = LLM_DTYPE_F32;
    const char *out = NULL, *tok = NULL;
    char tok_buf[4096];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (o[0] != '-') {
            out = o;
            continue;
        }
        if (strcmp(o, "--gated") == 0) {
            gated = 1;
            continue;
        }
        if (strcmp(o, "--tied") == 0) {
            tied = 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "make_t5_model: %s needs a value\n", o);
            return 2;
        }
        if (strcmp(o, "--layers") == 0)
            L = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--dec-layers") == 0)
            Ld = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--embd") == 0)
            E = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--heads") == 0)
            H = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--dkv") == 0)
            DK = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--ff") == 0)
            F = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--vocab") == 0)
            V = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--ctx") == 0)
            ctx = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--seed") == 0)
            maker_seed(maker_arg_u32(PROG, v));
        else if (strcmp(o, "--tokenizer") == 0)
            tok = v;
        else if (strcmp(o, "--type") == 0 && strcmp(v, "f32") == 0)
            type = LLM_DTYPE_F32;
        else if (strcmp(o, "--type") == 0 && strcmp(v, "f16") == 0)
            type = LLM_DTYPE_F16;
        else if (strcmp(o, "--type") == 0 && strcmp(v, "q8_0") == 0)
            type = LLM_DTYPE_Q8_0;
        else {
            fprintf(stderr, "make_t5_model: unknown option %s %s\n", o, v);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "usage: make_t5_model OUT.gguf [--layers N] [--dec-layers N] [--embd N] "
                        "[--heads N] [--dkv N] [--ff N] [--vocab N] [--ctx N] [--gated] [--tied] "
                        "[--type f32|f16|q8_0] [--seed N] [--tokenizer T5.gguf]\n");
        return 2;
    }
    if (!Ld)
        Ld = L;
    if (!tok) {
        const char *data = getenv("LLM_TEST_DATA");
        snprintf(tok_buf, sizeof tok_buf, "%s/golden/models/t5-tiny-relu-f32.gguf",
                 data && *data ? data : "../shared/data");
        tok = tok_buf;
    }
    uint32_t inner = H * DK, buckets = 32;

    llm_gguf *src = NULL, *g = NULL;
    check(llm_gguf_open(tok, NULL, &src, &err), tok);
    check(llm_gguf_create(&g, &err), "create");
    const char *arch = "t5", *name = "random T5";
    check(llm_gguf_set_str(g, "general.architecture", arch, strlen(arch), &err), "arch");
    check(llm_gguf_set_str(g, "general.name", name, strlen(name), &err), "name");
    check(llm_gguf_set_u32(g, "t5.context_length", ctx, &err), "ctx");
    check(llm_gguf_set_u32(g, "t5.embedding_length", E, &err), "embd");
    check(llm_gguf_set_u32(g, "t5.feed_forward_length", F, &err), "ff");
    check(llm_gguf_set_u32(g, "t5.block_count", L, &err), "layers");
    if (Ld != L)
        check(llm_gguf_set_u32(g, "t5.decoder_block_count", Ld, &err), "decoder layers");
    check(llm_gguf_set_u32(g, "t5.attention.head_count", H, &err), "heads");
    check(llm_gguf_set_u32(g, "t5.attention.key_length", DK, &err), "key_length");
    check(llm_gguf_set_u32(g, "t5.attention.value_length", DK, &err), "value_length");
    check(llm_gguf_set_f32(g, "t5.attention.layer_norm_epsilon", 1e-6f, &err), "eps");
    check(llm_gguf_set_f32(g, "t5.attention.layer_norm_rms_epsilon", 1e-6f, &err), "rms eps");
    check(llm_gguf_set_u32(g, "t5.attention.relative_buckets_count", buckets, &err), "buckets");
    check(llm_gguf_set_u32(g, "t5.decoder_start_token_id", 0, &err), "decoder start");
    copy_tokenizer(g, src, V);

    add(g, "token_embd.weight", E, V, 0, 0.02f, type);
    if (!tied)
        add(g, "output.weight", E, V, 0, 0.02f, type);
    add(g, "enc.output_norm.weight", E, 1, 1, 0.1f, type);
    add(g, "dec.output_norm.weight", E, 1, 1, 0.1f, type);
    char t[96];
    for (int dec = 0; dec <= 1; dec++) {
        const char *stack = dec ? "dec" : "enc";
        for (uint32_t l = 0; l < (dec ? Ld : L); l++) {
#define NAME(s) (snprintf(t, sizeof t, "%s.blk.%u." s, stack, l), t)
            add(g, NAME("attn_norm.weight"), E, 1, 1, 0.1f, type);
            if (l == 0) /* (n_head, buckets), kept f32 as llama-quantize does */
                add(g, NAME("attn_rel_b.weight"), H, buckets, 0, 0.5f, LLM_DTYPE_F32);
            add(g, NAME("attn_q.weight"), E, inner, 0, 0.02f, type);
            add(g, NAME("attn_k.weight"), E, inner, 0, 0.02f, type);
            add(g, NAME("attn_v.weight"), E, inner, 0, 0.02f, type);
            add(g, NAME("attn_o.weight"), inner, E, 0, 0.02f, type);
            if (dec) {
                add(g, NAME("cross_attn_norm.weight"), E, 1, 1, 0.1f, type);
                add(g, NAME("cross_attn_q.weight"), E, inner, 0, 0.02f, type);
                add(g, NAME("cross_attn_k.weight"), E, inner, 0, 0.02f, type);
                add(g, NAME("cross_attn_v.weight"), E, inner, 0, 0.02f, type);
                add(g, NAME("cross_attn_o.weight"), inner, E, 0, 0.02f, type);
            }
            add(g, NAME("ffn_norm.weight"), E, 1, 1, 0.1f, type);
            if (gated)
                add(g, NAME("ffn_gate.weight"), E, F, 0, 0.02f, type);
            add(g, NAME("ffn_up.weight"), E, F, 0, 0.02f, type);
            add(g, NAME("ffn_down.weight"), F, E, 0, 0.02f, type);
#undef NAME
        }
    }
    check(llm_gguf_write(g, out, &err), out);
    printf("wrote %s: t5, %u+%u layers, d_model %u, %u heads x %u, d_ff %u %s, vocab %u, %s%s\n",
           out, L, Ld, E, H, DK, F, gated ? "gated-gelu" : "relu", V,
           type == LLM_DTYPE_F32 ? "f32" : type == LLM_DTYPE_F16 ? "f16" : "q8_0",
           tied ? ", tied embeddings" : "");
    llm_gguf_close(g);
    llm_gguf_close(src);
    return 0;
}
