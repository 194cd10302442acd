/*
 * `llm bench WHAT [OPTIONS]`: a dispatcher over the benchmarks. Each benchmark is one function
 * of the subcommand signature; adding one is one line in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "bench_kernels.h"
#include "cli.h"

const llm_cli_cmd llm_bench_commands[] = {
    {"kernels", llm_bench_kernels, "matrix products, memory bandwidth and FMA peak",
     llm_bench_kernels_opts, NULL, LLM_CLI_FLAG},
    {"tokenize", llm_bench_tokenize, "tokenizer throughput", llm_bench_tokenize_opts, NULL,
     LLM_CLI_FLAG},
    {"generate", llm_bench_generate, "prompt and generation tokens/s against the bandwidth bound",
     llm_bench_generate_opts, NULL, LLM_CLI_FLAG},
    {"embed", llm_bench_embed, "sentence embeddings/s and tokens/s against the FMA peak",
     llm_bench_embed_opts, NULL, LLM_CLI_FLAG},
    /* one line per benchmark */
    {NULL, NULL, NULL, NULL, NULL, LLM_CLI_FLAG},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: llm bench WHAT [OPTIONS]\n\nbenchmarks:\n");
    for (const llm_cli_cmd *b = llm_bench_commands; b->name; b++)
        fprintf(out, "  %-10s %s\n", b->name, b->summary);
}

int llm_cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (const llm_cli_cmd *b = llm_bench_commands; b->name; b++)
        if (strcmp(argv[1], b->name) == 0)
            return b->fn(argc - 1, argv + 1);
    fprintf(stderr, "llm bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
