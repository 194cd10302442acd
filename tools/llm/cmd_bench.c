/*
 * `llm bench WHAT [OPTIONS]`: a dispatcher over the benchmarks. Each benchmark is one function
 * of the subcommand signature; adding one is one line in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "bench_kernels.h"
#include "cli.h"

static const llm_cli_cmd benches[] = {
    {"kernels", llm_bench_kernels, "matrix products, memory bandwidth and FMA peak"},
    {"tokenize", llm_bench_tokenize, "tokenizer throughput"},
    {"generate", llm_bench_generate, "prompt and generation tokens/s against the bandwidth bound"},
    {"embed", llm_bench_embed, "sentence embeddings/s and tokens/s against the FMA peak"},
    /* one line per benchmark */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: llm bench WHAT [OPTIONS]\n\nbenchmarks:\n");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
        fprintf(out, "  %-10s %s\n", benches[i].name, benches[i].summary);
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
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
        if (strcmp(argv[1], benches[i].name) == 0)
            return benches[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "llm bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
