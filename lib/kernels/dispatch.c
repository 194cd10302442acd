/* Placeholder until the dispatch table lands. */
#include <llm/llm.h>
const char *llm_kernel_isa(void) { return "generic"; }
const char *llm_cpu_features(void) { return ""; }
