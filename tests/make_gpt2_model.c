/*
 * make_gpt2_model: writes a random-weight GPT-2 GGUF of any shape with the real GPT-2 tokenizer,
 * for `llm bench generate`. The default shape is GPT-2 small's: 12 layers, 768 wide, 12 heads,
 * n_ff 3072, context 1024, vocab 50257.
 *
 *   make_gpt2_model OUT.gguf [--type f32|f16|q8_0|q4_0] [--layers N] [--embd N] [--heads N]
 *                   [--ctx N] [--vocab VOCAB.gguf]
 *
 * VOCAB.gguf defaults to $LLM_TEST_DATA/vocab/ggml-vocab-gpt-2.gguf. Matrices ~ N(0, 0.02), norm
 * weights 1 + N(0, 0.1), biases N(0, 0.02). The output head is tied to the embeddings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dtype.h"
#include "model_maker.h"

#define PROG "make_gpt2_model"

int main(int argc, char **argv)
{
    uint32_t L = 12, E = 768, H = 12, ctx = 1024;
    int type = LLM_DTYPE_F32;
    const char *out = NULL, *vocab = NULL;
    char vocab_buf[4096];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-') {
            out = o;
            continue;
        }
        if (!v) {
            fprintf(stderr, PROG ": %s needs a value\n", o);
            return 2;
        }
        i++;
        if (!strcmp(o, "--layers"))
            L = maker_arg_u32(PROG, v);
        else if (!strcmp(o, "--embd"))
            E = maker_arg_u32(PROG, v);
        else if (!strcmp(o, "--heads"))
            H = maker_arg_u32(PROG, v);
        else if (!strcmp(o, "--ctx"))
            ctx = maker_arg_u32(PROG, v);
        else if (!strcmp(o, "--vocab"))
            vocab = v;
        else if (!strcmp(o, "--type") && (type = maker_type(v)) >= 0)
            continue;
        else {
            fprintf(stderr, PROG ": unknown option or type: %s %s\n", o, v);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "usage: " PROG " OUT.gguf [--type f32|f16|q8_0|q4_0] [--layers N] "
                        "[--embd N] [--heads N] [--ctx N] [--vocab VOCAB.gguf]\n");
        return 2;
    }
    if (!vocab) {
        const char *data = getenv("LLM_TEST_DATA");
        snprintf(vocab_buf, sizeof vocab_buf, "%s/vocab/ggml-vocab-gpt-2.gguf",
                 data && *data ? data : "../shared/data");
        vocab = vocab_buf;
    }
    llm_error err = {0};
    llm_gguf *g = NULL;
    maker_check(PROG, llm_gguf_create(&g, &err), &err, "create");
    const uint32_t F = 4 * E;
    maker_check(PROG, llm_gguf_set_str(g, "general.architecture", "gpt2", 4, &err), &err, "arch");
    maker_check(PROG, llm_gguf_set_u32(g, "gpt2.context_length", ctx, &err), &err, "ctx");
    maker_check(PROG, llm_gguf_set_u32(g, "gpt2.embedding_length", E, &err), &err, "embd");
    maker_check(PROG, llm_gguf_set_u32(g, "gpt2.feed_forward_length", F, &err), &err, "ff");
    maker_check(PROG, llm_gguf_set_u32(g, "gpt2.block_count", L, &err), &err, "layers");
    maker_check(PROG, llm_gguf_set_u32(g, "gpt2.attention.head_count", H, &err), &err, "heads");
    maker_check(PROG, llm_gguf_set_f32(g, "gpt2.attention.layer_norm_epsilon", 1e-5f, &err), &err,
                "eps");
    uint64_t V = maker_copy_vocab(PROG, g, vocab);
    maker_add(PROG, g, "token_embd.weight", E, V, 0, 0.02f, (uint32_t)type);
    maker_add(PROG, g, "position_embd.weight", E, ctx, 0, 0.02f, LLM_DTYPE_F32);
    maker_add(PROG, g, "output_norm.weight", E, 1, 1, 0.1f, LLM_DTYPE_F32);
    maker_add(PROG, g, "output_norm.bias", E, 1, 0, 0.02f, LLM_DTYPE_F32);
    char t[96];
    for (uint32_t l = 0; l < L; l++) {
#define NAME(s) (snprintf(t, sizeof t, "blk.%u." s, l), t)
        maker_add(PROG, g, NAME("attn_norm.weight"), E, 1, 1, 0.1f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("attn_norm.bias"), E, 1, 0, 0.02f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("attn_qkv.weight"), E, 3 * E, 0, 0.02f, (uint32_t)type);
        maker_add(PROG, g, NAME("attn_qkv.bias"), 3 * E, 1, 0, 0.02f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("attn_output.weight"), E, E, 0, 0.02f, (uint32_t)type);
        maker_add(PROG, g, NAME("attn_output.bias"), E, 1, 0, 0.02f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("ffn_norm.weight"), E, 1, 1, 0.1f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("ffn_norm.bias"), E, 1, 0, 0.02f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("ffn_up.weight"), E, F, 0, 0.02f, (uint32_t)type);
        maker_add(PROG, g, NAME("ffn_up.bias"), F, 1, 0, 0.02f, LLM_DTYPE_F32);
        maker_add(PROG, g, NAME("ffn_down.weight"), F, E, 0, 0.02f, (uint32_t)type);
        maker_add(PROG, g, NAME("ffn_down.bias"), E, 1, 0, 0.02f, LLM_DTYPE_F32);
#undef NAME
    }
    maker_check(PROG, llm_gguf_write(g, out, &err), &err, out);
    printf("wrote %s: gpt2, %u layers, %u wide, %u heads, ctx %u, vocab %llu, %s\n", out, L, E, H,
           ctx, (unsigned long long)V, llm_dtype_get((uint32_t)type)->name);
    llm_gguf_close(g);
    return 0;
}
