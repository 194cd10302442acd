/* The host program of tests/subproject_host: links libllm through the subproject's dependency. */
#include <stdio.h>
#include <string.h>

#include <llm/llm.h>

int main(void)
{
    llm_model *m = NULL;
    if (llm_model_open("/nonexistent/model.gguf", NULL, &m) != LLM_ERR_IO || m) {
        fprintf(stderr, "opening a missing file did not fail with LLM_ERR_IO\n");
        return 1;
    }
    printf("libllm %s (kernels: %s) as a subproject; a missing model says: %s\n",
           llm_version_string(), llm_kernel_isa(), llm_last_error());
    return strcmp(llm_version_string(), LLM_VERSION_STRING) == 0 ? 0 : 1;
}
