/* `llm bench kernels`: kernel speeds against the machine's measured limits (bench_kernels.c). */
#ifndef LLM_TOOLS_BENCH_KERNELS_H
#define LLM_TOOLS_BENCH_KERNELS_H

/* argv[0] is "kernels"; options: -t N (threads of the second column), --quick. */
int llm_bench_kernels(int argc, char **argv);

#endif /* LLM_TOOLS_BENCH_KERNELS_H */
