/* Prints the version of the header this program was built with and of the library it runs. */
#include <stdio.h>

#include <llm/llm.h>

int main(void)
{
    printf("libllm header %s, library %s, kernels %s\n", LLM_VERSION_STRING,
           llm_version_string(), llm_kernel_isa());
    return llm_version_number() / 1000000 == LLM_VERSION_MAJOR ? 0 : 1;
}
