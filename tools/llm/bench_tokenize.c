/*
 * `llm bench tokenize -m PATH -f FILE [-r REPEAT]`: single-threaded tokenizer throughput, in MB of
 * input per second and tokens per second. The whole file is encoded as one text, as a server
 * would encode a long document; the best of the repetitions is reported, by wall clock and by the
 * thread's CPU time (which other processes on a busy machine disturb less).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const llm_cli_opt llm_bench_tokenize_opts[] = {
    LLM_CLI_OPT_MODEL, LLM_CLI_OPT_FILE, {'r', "repeat", LLM_CLI_TEXT, NULL}, LLM_CLI_OPT_END,
};

int llm_bench_tokenize(int argc, char **argv)
{
    const char *model = NULL, *file = NULL;
    int64_t repeat = 5;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "bench tokenize", llm_bench_tokenize_opts, argc, argv);
    int c, prc = 0;
    while (prc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP:
            printf("usage: llm bench tokenize -m PATH -f FILE [-r REPEAT]\n\n"
                   "Encodes FILE REPEAT times (default 5) on one thread and reports the best\n"
                   "MB/s and tokens/s.\n");
            return 0;
        case 'm': model = p.arg; break;
        case 'f': file = p.arg; break;
        case 'r': prc = llm_cli_value_i64(&p, 1, 1000000, &repeat); break;
        default: return llm_cli_usage("bench tokenize", "unexpected argument '%s'", p.arg);
        }
    }
    if (prc)
        return prc;
    if (!model || !file)
        return llm_cli_usage("bench tokenize", "-m PATH and -f FILE are required");
    size_t len = 0;
    char *text = llm_cli_read_file(file, &len);
    if (!text) {
        fprintf(stderr, "llm bench tokenize: cannot read '%s'\n", file);
        return 1;
    }
    llm_tokenizer *tok = NULL;
    llm_status st = llm_tokenizer_open(model, &tok);
    if (st != LLM_OK) {
        free(text);
        return llm_cli_fail("bench tokenize", st, "cannot open tokenizer '%s'", model);
    }
    size_t n = 0;
    st = llm_tokenizer_encode(tok, text, len, 0, NULL, 0, &n);
    int32_t *ids = st == LLM_OK ? malloc((n ? n : 1) * sizeof *ids) : NULL;
    double best = 1e30, best_cpu = 1e30;
    for (int64_t r = 0; st == LLM_OK && ids && r < repeat; r++) {
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        double t0 = llm_cli_now();
        st = llm_tokenizer_encode(tok, text, len, 0, ids, n, &n);
        double dt = llm_cli_now() - t0;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
        if (dt < best)
            best = dt;
        if (cpu < best_cpu)
            best_cpu = cpu;
    }
    int rc = 0;
    if (st != LLM_OK) {
        rc = llm_cli_fail("bench tokenize", st, "encoding failed");
    } else if (!ids) {
        rc = 1;
    } else {
        if (best <= 0)
            best = 1e-9;
        printf("tokenizer   %s\n", model);
        printf("input       %s (%zu bytes)\n", file, len);
        printf("tokens      %zu\n", n);
        printf("time        %.3f ms (best of %lld)\n", best * 1e3, (long long)repeat);
        if (best_cpu <= 0)
            best_cpu = 1e-9;
        printf("throughput  %.2f MB/s, %.0f tokens/s (1 thread, wall clock)\n",
               (double)len / best / 1e6, (double)n / best);
        printf("cpu time    %.3f ms: %.2f MB/s (the thread's own CPU time; steadier on a busy "
               "machine)\n",
               best_cpu * 1e3, (double)len / best_cpu / 1e6);
    }
    free(ids);
    free(text);
    llm_tokenizer_close(tok);
    return rc;
}
