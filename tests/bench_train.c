/*
 * Training throughput on the anchor shape (nanoGPT's CPU "baby GPT": GPT-2, 4 layers, width 128,
 * 4 heads, context 64, batch 12, byte vocabulary of 257, no bias, tied output): tokens per second
 * of full optimizer steps at a given thread count. A benchmark, not a test.
 *   bench_train [-t THREADS] [-n STEPS] [-f TEXT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llm/llm.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned threads = 1, steps = 20;
    const char *text = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-t") == 0)
            threads = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-n") == 0)
            steps = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-f") == 0)
            text = argv[i + 1];
    }
    llm_model_create_options mo;
    llm_model_create_options_init(&mo);
    mo.arch = LLM_ARCH_GPT2;
    mo.n_layer = 4;
    mo.n_embd = 128;
    mo.n_head = 4;
    mo.n_ctx = 64;
    mo.bias = 0;
    mo.tied_output = 1;
    mo.seed = 1337;
    llm_model *m = NULL;
    if (llm_model_create(&mo, &m) != LLM_OK) {
        fprintf(stderr, "bench_train: %s\n", llm_last_error());
        return 1;
    }
    llm_dataset *ds = NULL;
    llm_status st;
    if (text) {
        st = llm_dataset_open(text, llm_model_tokenizer(m), NULL, &ds);
    } else {
        enum { N = 200000 };
        int32_t *ids = malloc(N * sizeof *ids);
        uint64_t x = 88172645463325252ull;
        for (int i = 0; i < N; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ids[i] = (int32_t)(32 + x % 95);
        }
        st = llm_dataset_from_ids(ids, NULL, N, NULL, &ds);
        free(ids);
    }
    if (st != LLM_OK) {
        fprintf(stderr, "bench_train: %s\n", llm_last_error());
        return 1;
    }
    llm_trainer_options o;
    llm_trainer_options_init(&o);
    o.batch_size = 12;
    o.n_ctx = 64;
    o.n_threads = threads;
    llm_trainer *tr = NULL;
    if (llm_trainer_create(m, &o, &tr) != LLM_OK) {
        fprintf(stderr, "bench_train: %s\n", llm_last_error());
        return 1;
    }
    llm_train_stats s = {.struct_size = sizeof s};
    for (int i = 0; i < 2; i++)
        llm_trainer_step(tr, ds, &s); /* warm the caches and the threads */
    const double t0 = now();
    uint64_t tokens = 0;
    for (unsigned i = 0; i < steps; i++) {
        if (llm_trainer_step(tr, ds, &s) != LLM_OK) {
            fprintf(stderr, "bench_train: %s\n", llm_trainer_last_error(tr));
            return 1;
        }
        tokens += s.tokens;
    }
    const double dt = now() - t0;
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    printf("train anchor shape (gpt2 4x128, ctx 64, batch 12, %llu params), %u thread%s, %s: "
           "%u steps, %.0f tokens/s, %.1f ms/step, loss %.4f\n",
           (unsigned long long)info.n_params, threads, threads == 1 ? "" : "s", llm_kernel_isa(),
           steps, (double)tokens / dt, 1e3 * dt / steps, s.loss);
    llm_trainer_destroy(tr);
    llm_dataset_close(ds);
    llm_model_close(m);
    return 0;
}
