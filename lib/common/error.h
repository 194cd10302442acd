/*
 * Internal error reporting. Every fallible internal function takes an `llm_error *` and returns an
 * llm_status; on failure it fills the error with a message that names exactly what was wrong
 * (file, field, offset, expected value). api.c copies the message into the handle or the calling
 * thread's slot. Nothing here prints.
 */
#ifndef LLM_COMMON_ERROR_H
#define LLM_COMMON_ERROR_H

#include <llm/llm.h>

#define LLM_ERROR_MSG_MAX 512

typedef struct llm_error {
    llm_status status;
    char msg[LLM_ERROR_MSG_MAX];
} llm_error;

/* Sets `err` (which may be NULL) and returns `status`, so callers can `return llm_error_set(...)`. */
llm_status llm_error_set(llm_error *err, llm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefixes the message already in `err` with "prefix: " (for adding a file name on the way out). */
void llm_error_prefix(llm_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void llm_error_clear(llm_error *err);

/* Records a failure as the calling thread's last error (what llm_last_error() returns) and
 * returns its status. Public entry points call this on every failure path. */
llm_status llm_error_publish(const llm_error *err);

/* Shorthand for a public entry point that fails before any internal call. */
llm_status llm_fail(llm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Return `status` with a message when `cond` is false. */
#define LLM_CHECK(err, cond, status, ...)                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return llm_error_set((err), (status), __VA_ARGS__);                                    \
    } while (0)

/* Forward a failure unchanged. */
#define LLM_TRY(expr)                                                                              \
    do {                                                                                           \
        llm_status llm_try_status_ = (expr);                                                       \
        if (llm_try_status_ != LLM_OK)                                                             \
            return llm_try_status_;                                                                \
    } while (0)

#endif /* LLM_COMMON_ERROR_H */
