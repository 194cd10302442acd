/*
 * `llm bench generate` for encoder-decoder models: encoder throughput (tokens of input encoded
 * per second) and decoder throughput (tokens generated per second, greedy, one token per step).
 * Inputs are fixed pseudo-random ids (no special tokens), so runs are comparable; each figure is
 * the best of three runs after a warm-up. Public API only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#define BENCH_RUNS 3

int llm_bench_generate_seq2seq(llm_model *m, int n_in, int n_out, int threads)
{
    const char *cmd = "bench";
    llm_model_info info;
    info.struct_size = sizeof info;
    llm_status st = llm_model_get_info(m, &info);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot read the model");
    if (info.family != LLM_FAMILY_ENCODER_DECODER)
        return llm_cli_usage(cmd, "the model is not an encoder-decoder model");
    if (n_in < 1 || n_out < 1 || info.n_vocab < 8)
        return llm_cli_usage(cmd, "need at least one input and one output token");

    llm_session_options o;
    llm_session_options_init(&o);
    o.n_threads = threads > 0 ? (uint32_t)threads : 0;
    o.n_ctx = (uint32_t)(n_in > n_out + 1 ? n_in : n_out + 1);
    llm_session *s = NULL;
    st = llm_session_create(m, &o, &s);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot create a session");
    st = llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.0);
    if (st == LLM_OK)
        st = llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    if (st == LLM_OK)
        st = llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, n_out);
    int32_t *ids = malloc((size_t)n_in * sizeof *ids);
    if (st != LLM_OK || !ids) {
        free(ids);
        llm_session_destroy(s);
        return llm_cli_fail(cmd, st != LLM_OK ? st : LLM_ERR_NOMEM, "cannot set up the run");
    }
    /* xorshift32 ids in [3, n_vocab): past T5's pad, eos and unk */
    uint32_t x = 0x9e3779b9u;
    for (int i = 0; i < n_in; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ids[i] = (int32_t)(3 + x % (info.n_vocab - 3));
    }

    double best_enc = -1, best_dec = -1;
    int n_dec = 0;
    for (int run = 0; run <= BENCH_RUNS && st == LLM_OK; run++) { /* run 0 warms up */
        double t0 = llm_cli_now();
        st = llm_session_feed(s, ids, (size_t)n_in, NULL, 0);
        double t_enc = llm_cli_now() - t0;
        if (st != LLM_OK)
            break;
        int steps = 0;
        t0 = llm_cli_now();
        for (;;) {
            int32_t id = -1;
            llm_stop_reason why = LLM_STOP_NONE;
            st = llm_session_step(s, &id, NULL, NULL, &why);
            if (st != LLM_OK || id < 0)
                break;
            steps++;
            if (why != LLM_STOP_NONE)
                break;
        }
        double t_dec = llm_cli_now() - t0;
        if (run == 0)
            continue;
        if (best_enc < 0 || t_enc < best_enc)
            best_enc = t_enc;
        if (best_dec < 0 || t_dec < best_dec) {
            best_dec = t_dec;
            n_dec = steps;
        }
    }
    free(ids);
    if (st != LLM_OK) {
        int rc = llm_cli_fail(cmd, st, "the benchmark run failed");
        llm_session_destroy(s);
        return rc;
    }
    int64_t nt = 0;
    llm_session_get_int(s, LLM_PARAM_N_THREADS, &nt);
    llm_session_destroy(s);
    printf("model      %s, %u+%u layers, d_model %u, %u heads, d_ff %u, vocab %u\n",
           llm_model_arch_name(m), info.n_layer_encoder, info.n_layer, info.n_embd, info.n_head,
           info.n_ff, info.n_vocab);
    printf("threads    %lld, kernels %s, best of %d runs\n", (long long)(nt ? nt : threads),
           llm_kernel_isa(), BENCH_RUNS);
    printf("encoder    %5d tokens in %9.2f ms = %9.1f tokens/s "
           "(input encoding, cross-attention K/V and the first decoder step)\n",
           n_in, best_enc * 1e3, n_in / best_enc);
    printf("decoder    %5d tokens in %9.2f ms = %9.1f tokens/s\n", n_dec, best_dec * 1e3,
           n_dec / best_dec);
    return 0;
}
