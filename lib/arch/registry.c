/* Maps `general.architecture` names onto architecture tables. */
#include <string.h>

#include "arch/arch.h"

/* Strong references (arch.h): a weak one would not pull an architecture's object file out of the
 * static copy of the library that internal tests and the `llm` tool link. */
const llm_arch_ops *llm_arch_find(const char *name)
{
    static const struct {
        const char *name;
        const llm_arch_ops *ops;
    } table[] = {
        {"llama", &llm_arch_llama},
        {"gpt2", &llm_arch_gpt2},
        {"bert", &llm_arch_bert},
        {"t5", &llm_arch_t5},
        {"t5encoder", &llm_arch_t5},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].ops; /* NULL when that architecture is not linked in */
    return NULL;
}
