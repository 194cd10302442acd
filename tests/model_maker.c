/* Random-weight model helpers (see model_maker.h). */
#include "model_maker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dtype.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void maker_check(const char *prog, llm_status st, const llm_error *err, const char *what)
{
    if (st == LLM_OK)
        return;
    fprintf(stderr, "%s: %s: %s: %s\n", prog, what, llm_status_string(st), err->msg);
    exit(1);
}

void maker_seed(uint64_t seed)
{
    rng_state ^= seed * 0x2545F4914F6CDD1Dull;
}

static double uniform01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

float maker_gauss(void)
{
    return (float)(sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01()));
}

void maker_add(const char *prog, llm_gguf *g, const char *name, uint64_t cols, uint64_t rows,
               float mean, float sd, uint32_t type)
{
    llm_error err = {0};
    size_t n = (size_t)(cols * rows);
    float *v = malloc(n * sizeof *v);
    if (!v) {
        fprintf(stderr, "%s: out of memory for %s\n", prog, name);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        v[i] = mean + sd * maker_gauss();
    uint64_t ne[2] = {cols, rows};
    maker_check(prog, llm_gguf_add_tensor(g, name, LLM_DTYPE_F32, rows > 1 ? 2 : 1, ne, v, &err),
                &err, name);
    free(v);
    if (type != LLM_DTYPE_F32 && rows > 1)
        maker_check(prog, llm_gguf_convert_tensor(g, llm_gguf_n_tensors(g) - 1, type, &err), &err,
                    name);
}

uint64_t maker_copy_vocab(const char *prog, llm_gguf *g, const char *path)
{
    llm_error err = {0};
    llm_gguf *src = NULL;
    maker_check(prog, llm_gguf_open(path, NULL, &src, &err), &err, path);
    llm_gguf_type elem;
    uint64_t n_vocab = 0;
    if (!llm_gguf_get_arr(src, "tokenizer.ggml.tokens", &elem, &n_vocab) || n_vocab == 0) {
        fprintf(stderr, "%s: %s has no tokenizer.ggml.tokens\n", prog, path);
        exit(1);
    }
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++)
        if (strncmp(llm_gguf_key(src, i), "tokenizer.", 10) == 0)
            maker_check(prog, llm_gguf_copy_kv(g, src, i, &err), &err, llm_gguf_key(src, i));
    llm_gguf_close(src);
    return n_vocab;
}

uint32_t maker_arg_u32(const char *prog, const char *s)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > 1000000) {
        fprintf(stderr, "%s: bad number '%s'\n", prog, s);
        exit(2);
    }
    return (uint32_t)v;
}

int maker_type(const char *name)
{
    for (uint32_t t = 0; t < LLM_DTYPE_COUNT; t++) {
        const llm_dtype_traits *tr = llm_dtype_get(t);
        if (tr && tr->name && strcmp(tr->name, name) == 0)
            return (int)t;
    }
    return -1;
}
