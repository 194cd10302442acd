/* `meson test --benchmark`: the kernel benchmark of `llm bench kernels`, short runs. */
#include <stdio.h>

#include "bench_kernels.h"

int main(int argc, char **argv)
{
    char quick[] = "--quick", name[] = "kernels";
    char *args[4] = {name, quick, NULL, NULL};
    int n = 2;
    if (argc > 2 && argv[1][0] == '-' && argv[1][1] == 't') { /* pass "-t N" through */
        args[2] = argv[1];
        args[3] = argv[2];
        n = 4;
    }
    return llm_bench_kernels(n, args);
}
