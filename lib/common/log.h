/*
 * Internal logging through the caller-installed callback (llm_set_logger). Without a callback
 * nothing is formatted and nothing is printed.
 */
#ifndef LLM_COMMON_LOG_H
#define LLM_COMMON_LOG_H

#include <llm/llm.h>

void llm_log(llm_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* LLM_COMMON_LOG_H */
