/*
 * ABI-safe copying of public option structs (struct_size first): see options.c.
 */
#ifndef LLM_COMMON_OPTIONS_H
#define LLM_COMMON_OPTIONS_H

#include <stddef.h>

#include "common/error.h"

/* Copies *src (whose first field is its struct_size) into dst, which holds own_size bytes already
 * set to defaults. min_size is the size of the struct's first version. */
llm_status llm_copy_options(void *dst, size_t own_size, const void *src, size_t min_size,
                            const char *what, llm_error *err);

#endif /* LLM_COMMON_OPTIONS_H */
