/*
 * `llm bench generate`: prompt tokens/s (batched matrix × matrix) and generated tokens/s (one
 * token at a time, matrix × vector), with generation compared to the memory-bandwidth bound
 * bandwidth / (bytes of weights and KV cache read per token). The bandwidth is measured here, on
 * this machine, with the same triad `llm bench kernels` uses (STREAM's convention), and also as
 * a read-only sum, the tighter bound for decoding, which only reads; right before and right
 * after each run, and the run is compared with the mean of the two: on a shared machine the
 * bandwidth moves by a third from one minute to the next, and a ratio is only meaningful
 * against the bandwidth of its own moment. Generation runs -r times from the same
 * prompt (its cache is kept, so later runs skip the prompt); the median ratio is the result.
 * Encoder-decoder models report encoder and decoder tokens/s instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_kernels.h"
#include "cli.h"
#include "common/dtype.h"
#include "model/model.h"

enum { OPT_KV = LLM_CLI_LONG_ONLY };

const llm_cli_opt llm_bench_generate_opts[] = {
    LLM_CLI_OPT_MODEL,
    {'p', "prompt-tokens", LLM_CLI_TEXT, NULL},
    {'n', "max-tokens", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_THREADS,
    {'r', "runs", LLM_CLI_TEXT, NULL},
    {OPT_KV, "kv", LLM_CLI_WORDS, "f32 f16"},
    LLM_CLI_OPT_END,
};

static const char usage[] =
    "usage: llm bench generate -m MODEL [-p N] [-n N] [-t THREADS] [-r RUNS] [--kv f32|f16]\n"
    "\n"
    "  -p, --prompt-tokens N  prompt tokens evaluated as one batch (default 512)\n"
    "  -n, --max-tokens N     tokens generated one at a time, greedy, past end-of-text\n"
    "                         (default 128)\n"
    "  -t, --threads N        threads (default 2)\n"
    "  -r, --runs N           generation runs, each after its own bandwidth measurement\n"
    "                         (default 3)\n"
    "  --kv T                 KV cache type, f32 or f16 (default f32)\n";

/* Bytes a decoder reads from its weights for one generated token: every matrix once, except the
 * token embedding table, of which one row is read (unless it doubles as the output head). */
static double weight_bytes_per_token(const struct llm_model *m)
{
    double bytes = 0;
    const llm_gguf_tensor *emb = llm_gguf_find_tensor(m->gguf, "token_embd.weight");
    for (uint64_t i = 0; i < llm_gguf_n_tensors(m->gguf); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(m->gguf, i);
        if (t == emb && !m->hp.tied_embeddings)
            bytes += (double)t->nbytes / (double)t->ne[1];
        else if (strcmp(t->name, "position_embd.weight") == 0)
            bytes += (double)t->nbytes / (double)t->ne[1];
        else
            bytes += (double)t->nbytes;
    }
    return bytes;
}

static void sort_doubles(double *v, int64_t n)
{
    for (int64_t a = 1; a < n; a++) /* insertion sort: a handful of runs */
        for (int64_t b = a; b > 0 && v[b - 1] > v[b]; b--) {
            const double tmp = v[b];
            v[b] = v[b - 1];
            v[b - 1] = tmp;
        }
}

int llm_bench_generate(int argc, char **argv)
{
    const char *cmd = "bench generate", *path = NULL;
    int64_t n_prompt = 512, n_gen = 128, threads = 2, runs = 3;
    int32_t kv_type = LLM_KV_F32;
    llm_cli_parser p;
    llm_cli_parser_init(&p, cmd, llm_bench_generate_opts, argc, argv);
    int c, rc = 0, kv = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: fputs(usage, stdout); return 0;
        case 'm': path = p.arg; break;
        case 'p': rc = llm_cli_value_i64(&p, 1, 1 << 20, &n_prompt); break;
        case 'n': rc = llm_cli_value_i64(&p, 1, 1 << 20, &n_gen); break;
        case 't': rc = llm_cli_value_threads(&p, &threads); break;
        case 'r': rc = llm_cli_value_i64(&p, 1, 100, &runs); break;
        case OPT_KV:
            rc = llm_cli_value_word(&p, "f32 f16", &kv);
            kv_type = kv ? LLM_KV_F16 : LLM_KV_F32;
            break;
        default: return llm_cli_usage(cmd, "unexpected argument '%s'", p.arg ? p.arg : "");
        }
    }
    if (rc)
        return rc;
    if (!path)
        return llm_cli_usage(cmd, "-m MODEL is required");
    llm_model *m = NULL;
    llm_status st = llm_model_open(path, NULL, &m);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot open '%s'", path);
    if (m->hp.family == LLM_FAMILY_ENCODER_DECODER) {
        rc = llm_bench_generate_seq2seq(m, (int)n_prompt, (int)n_gen, (int)threads);
        llm_model_close(m);
        return rc;
    }
    if (m->hp.family != LLM_FAMILY_DECODER) {
        llm_model_close(m);
        return llm_cli_usage(cmd, "%s is an encoder model: use 'llm bench embed'", path);
    }
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_ctx = (uint32_t)(n_prompt + n_gen);
    so.n_threads = (uint32_t)threads;
    so.n_batch = (uint32_t)n_prompt;
    so.kv_type = kv_type;
    llm_session *s = NULL;
    int32_t *ids = malloc((size_t)n_prompt * sizeof *ids);
    st = ids ? llm_session_create(m, &so, &s) : LLM_ERR_NOMEM;
    if (st != LLM_OK) {
        rc = llm_cli_fail(cmd, st, "cannot create a session of %lld tokens",
                          (long long)so.n_ctx);
        goto done;
    }
    /* a fixed pseudo-random prompt: the work per token does not depend on the ids */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < n_prompt; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids[i] = (int32_t)(x % m->hp.n_vocab);
    }
    fprintf(stderr, "evaluating a %lld-token prompt...\n", (long long)n_prompt);
    double t0 = llm_cli_now();
    st = llm_session_feed_prompt(s, ids, (size_t)n_prompt, NULL);
    double t_prompt = llm_cli_now() - t0;
    if (st != LLM_OK) {
        rc = llm_cli_fail(cmd, st, "prompt");
        goto done;
    }
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0);
    llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, n_gen);

    /* average bytes per generated token: the weights plus the KV cache read so far */
    const llm_hparams *hp = &m->hp;
    const double kv_elem = kv_type == LLM_KV_F16 ? 2.0 : 4.0;
    double kv_row = 2.0 * hp->n_layer * hp->n_head_kv * hp->head_dim * kv_elem;
    double kv_avg = kv_row * ((double)n_prompt + (double)n_gen / 2);
    double bytes = weight_bytes_per_token(m) + kv_avg;
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    const llm_dtype_traits *wt = llm_dtype_get((uint32_t)info.weight_type);
    printf("model      %s (%s, %u layers, %u wide, vocab %u, %s weights, %.1f MB)\n", path,
           m->ops->name, hp->n_layer, hp->n_embd, hp->n_vocab, wt ? wt->name : "?",
           (double)info.weight_bytes / 1e6);
    printf("threads    %lld, kernels %s\n", (long long)threads, llm_kernel_isa());
    printf("prompt     %lld tokens in %.3f s: %.1f tokens/s\n", (long long)n_prompt, t_prompt,
           (double)n_prompt / t_prompt);
    printf("bound      %.1f MB read per token (weights and the %s KV cache)\n", bytes / 1e6,
           kv_type == LLM_KV_F16 ? "f16" : "f32");
    double ratios[100], read_ratios[100];
    for (int64_t r = 0; r < runs; r++) {
        fprintf(stderr, "run %lld/%lld: measuring memory bandwidth, generating %lld tokens...\n",
                (long long)r + 1, (long long)runs, (long long)n_gen);
        const double gbs0 = llm_bench_stream_gbs((uint32_t)threads);
        const double rgbs0 = llm_bench_read_gbs((uint32_t)threads);
        /* back to the prompt: its cache is kept, only its last token is evaluated again */
        st = llm_session_feed_prompt(s, ids, (size_t)n_prompt, NULL);
        if (st == LLM_OK) {
            t0 = llm_cli_now();
            st = llm_session_generate(s, NULL, NULL);
        }
        if (st != LLM_OK) {
            rc = llm_cli_fail(cmd, st, "generation");
            goto done;
        }
        const double t_gen = llm_cli_now() - t0;
        const double gbs1 = llm_bench_stream_gbs((uint32_t)threads);
        const double rgbs1 = llm_bench_read_gbs((uint32_t)threads);
        const double gbs = (gbs0 + gbs1) / 2, rgbs = (rgbs0 + rgbs1) / 2;
        const double gen_tps = (double)n_gen / t_gen, bound = gbs * 1e9 / bytes;
        ratios[r] = gen_tps / bound;
        read_ratios[r] = gen_tps / (rgbs * 1e9 / bytes);
        printf("generate   %lld tokens in %.3f s: %.2f tokens/s; stream %.1f GB/s (%.1f, %.1f) -> "
               "bound %.2f tokens/s: %.0f%%; read %.1f GB/s: %.0f%%\n",
               (long long)n_gen, t_gen, gen_tps, gbs, gbs0, gbs1, bound, 100.0 * ratios[r], rgbs,
               100.0 * read_ratios[r]);
    }
    sort_doubles(ratios, runs);
    sort_doubles(read_ratios, runs);
    printf("median     %.0f%% of the bandwidth bound over %lld runs (%.0f%% of the read-only "
           "bound)\n",
           100.0 * ratios[runs / 2], (long long)runs, 100.0 * read_ratios[runs / 2]);
done:
    free(ids);
    llm_session_destroy(s);
    llm_model_close(m);
    return rc;
}
