/*
 * make_bert_model: writes a random-weight BERT GGUF of any shape, with a real WordPiece
 * vocabulary copied from a vocabulary GGUF, for benchmarks and tests (`llm bench embed`).
 * The default shape is BGE-small's: 12 layers, 384 wide, 12 heads, n_ff 1536, vocab 30522.
 *
 *   make_bert_model OUT.gguf [--vocab VOCAB.gguf] [--layers N] [--embd N] [--heads N] [--ff N]
 *                   [--ctx N] [--type f32|f16] [--pooling 1|2] [--seed N]
 *
 * VOCAB.gguf defaults to $LLM_TEST_DATA/vocab/ggml-vocab-bert-bge.gguf (bert-base-uncased).
 * Weights: matrices ~ N(0, 0.02), norm weights 1 + N(0, 0.1), biases N(0, 0.02), as in the
 * golden set; the numbers are meaningless, the work per token is real.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "model/gguf.h"
#include "model_maker.h"

#define PROG "make_bert_model"

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

int main(int argc, char **argv)
{
    uint32_t L = 12, E = 384, H = 12, F = 1536, ctx = 512, pooling = 1;
    uint32_t type = LLM_DTYPE_F32;
    const char *out = NULL, *vocab = NULL;
    char vocab_buf[4096];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-') {
            out = o;
            continue;
        }
        if (!v) {
            fprintf(stderr, "make_bert_model: %s needs a value\n", o);
            return 2;
        }
        i++;
        if (strcmp(o, "--vocab") == 0)
            vocab = v;
        else if (strcmp(o, "--layers") == 0)
            L = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--embd") == 0)
            E = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--heads") == 0)
            H = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--ff") == 0)
            F = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--ctx") == 0)
            ctx = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--pooling") == 0)
            pooling = maker_arg_u32(PROG, v);
        else if (strcmp(o, "--seed") == 0)
            maker_seed(maker_arg_u32(PROG, v));
        else if (strcmp(o, "--type") == 0 && (strcmp(v, "f32") == 0 || strcmp(v, "f16") == 0))
            type = strcmp(v, "f16") == 0 ? LLM_DTYPE_F16 : LLM_DTYPE_F32;
        else {
            fprintf(stderr, "make_bert_model: unknown option %s %s\n", o, v);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "usage: make_bert_model OUT.gguf [--vocab VOCAB.gguf] [--layers N] "
                        "[--embd N] [--heads N] [--ff N] [--ctx N] [--type f32|f16]\n");
        return 2;
    }
    if (!vocab) {
        const char *data = getenv("LLM_TEST_DATA");
        snprintf(vocab_buf, sizeof vocab_buf, "%s/vocab/ggml-vocab-bert-bge.gguf",
                 data && *data ? data : "../shared/data");
        vocab = vocab_buf;
    }

    llm_gguf *src = NULL, *g = NULL;
    check(llm_gguf_open(vocab, NULL, &src, &err), vocab);
    llm_gguf_type elem;
    uint64_t n_vocab = 0;
    if (!llm_gguf_get_arr(src, "tokenizer.ggml.tokens", &elem, &n_vocab) || n_vocab == 0) {
        fprintf(stderr, "make_bert_model: %s has no tokenizer.ggml.tokens\n", vocab);
        return 1;
    }
    check(llm_gguf_create(&g, &err), "create");
    const char *arch = "bert", *name = "random BERT";
    check(llm_gguf_set_str(g, "general.architecture", arch, strlen(arch), &err), "arch");
    check(llm_gguf_set_str(g, "general.name", name, strlen(name), &err), "name");
    check(llm_gguf_set_u32(g, "bert.context_length", ctx, &err), "ctx");
    check(llm_gguf_set_u32(g, "bert.embedding_length", E, &err), "embd");
    check(llm_gguf_set_u32(g, "bert.feed_forward_length", F, &err), "ff");
    check(llm_gguf_set_u32(g, "bert.block_count", L, &err), "layers");
    check(llm_gguf_set_u32(g, "bert.attention.head_count", H, &err), "heads");
    check(llm_gguf_set_f32(g, "bert.attention.layer_norm_epsilon", 1e-12f, &err), "eps");
    check(llm_gguf_set_bool(g, "bert.attention.causal", false, &err), "causal");
    check(llm_gguf_set_u32(g, "bert.pooling_type", pooling, &err), "pooling");
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++)
        if (strncmp(llm_gguf_key(src, i), "tokenizer.", 10) == 0)
            check(llm_gguf_copy_kv(g, src, i, &err), llm_gguf_key(src, i));

    add(g, "token_embd.weight", E, n_vocab, 0, 0.02f, type);
    add(g, "token_types.weight", E, 2, 0, 0.02f, LLM_DTYPE_F32);
    add(g, "position_embd.weight", E, ctx, 0, 0.02f, LLM_DTYPE_F32);
    add(g, "token_embd_norm.weight", E, 1, 1, 0.1f, type);
    add(g, "token_embd_norm.bias", E, 1, 0, 0.02f, type);
    char t[96];
    for (uint32_t l = 0; l < L; l++) {
#define NAME(s) (snprintf(t, sizeof t, "blk.%u." s, l), t)
        add(g, NAME("attn_q.weight"), E, E, 0, 0.02f, type);
        add(g, NAME("attn_q.bias"), E, 1, 0, 0.02f, type);
        add(g, NAME("attn_k.weight"), E, E, 0, 0.02f, type);
        add(g, NAME("attn_k.bias"), E, 1, 0, 0.02f, type);
        add(g, NAME("attn_v.weight"), E, E, 0, 0.02f, type);
        add(g, NAME("attn_v.bias"), E, 1, 0, 0.02f, type);
        add(g, NAME("attn_output.weight"), E, E, 0, 0.02f, type);
        add(g, NAME("attn_output.bias"), E, 1, 0, 0.02f, type);
        add(g, NAME("attn_output_norm.weight"), E, 1, 1, 0.1f, type);
        add(g, NAME("attn_output_norm.bias"), E, 1, 0, 0.02f, type);
        add(g, NAME("ffn_up.weight"), E, F, 0, 0.02f, type);
        add(g, NAME("ffn_up.bias"), F, 1, 0, 0.02f, type);
        add(g, NAME("ffn_down.weight"), F, E, 0, 0.02f, type);
        add(g, NAME("ffn_down.bias"), E, 1, 0, 0.02f, type);
        add(g, NAME("layer_output_norm.weight"), E, 1, 1, 0.1f, type);
        add(g, NAME("layer_output_norm.bias"), E, 1, 0, 0.02f, type);
#undef NAME
    }
    check(llm_gguf_write(g, out, &err), out);
    printf("wrote %s: bert, %u layers, %u wide, %u heads, n_ff %u, ctx %u, vocab %llu, %s\n", out,
           L, E, H, F, ctx, (unsigned long long)n_vocab, type == LLM_DTYPE_F16 ? "f16" : "f32");
    llm_gguf_close(g);
    llm_gguf_close(src);
    return 0;
}
