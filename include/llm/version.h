/*
 * libllm version numbers. meson reads LLM_VERSION_MAJOR from this file to set the SONAME, so the
 * header and the shared object can never disagree.
 */
#ifndef LLM_VERSION_H
#define LLM_VERSION_H

#define LLM_VERSION_MAJOR 0
#define LLM_VERSION_MINOR 2
#define LLM_VERSION_PATCH 0

/** MAJOR * 1000000 + MINOR * 1000 + PATCH, comparable with llm_version_number(). */
#define LLM_VERSION_NUMBER (LLM_VERSION_MAJOR * 1000000 + LLM_VERSION_MINOR * 1000 + LLM_VERSION_PATCH)

#define LLM_VERSION_STRING "0.2.0"

#endif /* LLM_VERSION_H */
