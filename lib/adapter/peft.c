/*
 * Adapter folders. Only adapter GGUF files are read so far: a folder is refused by name.
 */
#include "adapter/adapter.h"

llm_status llm_peft_import(const struct llm_model *m, const char *dir, llm_gguf **out,
                           llm_error *err)
{
    (void)m;
    *out = NULL;
    return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                         "%s: adapter folders are not supported; give an adapter GGUF file",
                         dir);
}
