/* `llm info`: what this machine and this build offer. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int llm_cmd_info(int argc, char **argv)
{
    llm_cli_parser p;
    llm_cli_parser_init(&p, "info", NULL, argc, argv);
    int c;
    while ((c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        if (c == LLM_CLI_HELP) {
            printf("usage: llm info\n\nPrints the library version, the CPU features detected and "
                   "the kernel tier selected\n(LLM_ISA=generic|avx2|avx512|neon caps the tier).\n");
            return 0;
        }
        if (c == LLM_CLI_ERROR)
            return 2;
        return llm_cli_usage("info", "unexpected argument '%s'", p.arg);
    }
    printf("libllm      %s (header %s)\n", llm_version_string(), LLM_VERSION_STRING);
    printf("cpu         %s\n", llm_cpu_features());
    printf("kernels     %s\n", llm_kernel_isa());
    return 0;
}
