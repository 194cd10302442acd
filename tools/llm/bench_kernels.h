/* `llm bench kernels`: kernel speeds against the machine's measured limits (bench_kernels.c). */
#ifndef LLM_TOOLS_BENCH_KERNELS_H
#define LLM_TOOLS_BENCH_KERNELS_H

#include <stdint.h>

/* argv[0] is "kernels"; options: -t N (threads of the second column), --quick. */
int llm_bench_kernels(int argc, char **argv);

/* Stream (triad) bandwidth in GB/s with `threads` threads: the limit of memory-bound decoding. */
double llm_bench_stream_gbs(uint32_t threads);

/* Read-only bandwidth in GB/s (a sum over 192 MiB): what a product that only reads can reach. */
double llm_bench_read_gbs(uint32_t threads);

#endif /* LLM_TOOLS_BENCH_KERNELS_H */
