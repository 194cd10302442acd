/*
 * File-system paths: is this a regular file or a directory, and "dir/name" joined. Model and
 * tokenizer loaders use them to look beside a file or inside a Hugging Face directory.
 */
#ifndef LLM_COMMON_PATH_H
#define LLM_COMMON_PATH_H

#include <stdbool.h>

/* True when `path` names a regular file (following links). */
bool llm_path_is_file(const char *path);

/* True when `path` names a directory (following links). */
bool llm_path_is_dir(const char *path);

/* "dir/name" in memory from llm_malloc (free with llm_mem_free); NULL when out of memory. */
char *llm_path_join(const char *dir, const char *name);

#endif /* LLM_COMMON_PATH_H */
