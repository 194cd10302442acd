/*
 * One reference chat-template case (a JSON object: template text or file, messages, tools,
 * documents, bos/eos, add_generation_prompt, extra variables, and `expected` or `error`)
 * rendered through llm_chat_template_render() and compared byte for byte. Shared by the
 * shared-data case test and the engine's own reference test.
 */
#ifndef LLM_TESTS_CHAT_CASE_H
#define LLM_TESTS_CHAT_CASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Renders `c` with `template_text`; true when it matches. Otherwise `why` says how it differs. */
bool chat_case_check(const json_t *c, const char *template_text, char *why, size_t cap);

#endif
