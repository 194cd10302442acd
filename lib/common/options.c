/* Copying caller option structs of any size that this library version understands. */
#include "common/options.h"

#include <string.h>

/* Copies a caller's options struct of any known size (xkbcommon style): sizes below the first
 * version are rejected, missing trailing fields keep their defaults, and non-zero bytes beyond
 * what this library knows are rejected because their meaning would be silently lost. */
llm_status llm_copy_options(void *dst, size_t own_size, const void *src, size_t min_size,
                            const char *what, llm_error *err)
{
    size_t caller = *(const size_t *)src;
    if (caller < min_size)
        return llm_error_set(err, LLM_ERR_ABI,
                             "%s.struct_size is %zu, smaller than the first version (%zu): "
                             "call %s_init() first",
                             what, caller, min_size, what);
    if (caller > own_size) {
        const unsigned char *extra = (const unsigned char *)src + own_size;
        for (size_t i = 0; i < caller - own_size; i++)
            if (extra[i])
                return llm_error_set(err, LLM_ERR_ABI,
                                     "%s has fields this library (%s) does not know "
                                     "(struct_size %zu > %zu): update libllm",
                                     what, LLM_VERSION_STRING, caller, own_size);
    }
    memcpy(dst, src, caller < own_size ? caller : own_size);
    *(size_t *)dst = own_size;
    return LLM_OK;
}
