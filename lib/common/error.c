/*
 * Error messages: formatting into llm_error, and the per-thread "last error" slot behind
 * llm_last_error(). Status names live here too so that they stay next to the enum's meaning.
 */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char thread_last_error[LLM_ERROR_MSG_MAX];

llm_status llm_error_set(llm_error *err, llm_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void llm_error_prefix(llm_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[LLM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[LLM_ERROR_MSG_MAX];
    /* bounded so that the joined message always fits */
    snprintf(joined, sizeof joined, "%.160s: %.340s", prefix, err->msg);
    memcpy(err->msg, joined, sizeof joined);
}

void llm_error_clear(llm_error *err)
{
    if (err) {
        err->status = LLM_OK;
        err->msg[0] = '\0';
    }
}

llm_status llm_error_publish(const llm_error *err)
{
    if (!err)
        return LLM_OK;
    snprintf(thread_last_error, sizeof thread_last_error, "%s", err->msg);
    return err->status;
}

llm_status llm_fail(llm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_last_error, sizeof thread_last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *llm_last_error(void)
{
    return thread_last_error;
}

const char *llm_status_string(llm_status status)
{
    switch (status) {
    case LLM_OK: return "ok";
    case LLM_ERR_INVALID_ARG: return "invalid argument";
    case LLM_ERR_NOMEM: return "out of memory";
    case LLM_ERR_IO: return "input/output error";
    case LLM_ERR_FORMAT: return "malformed file";
    case LLM_ERR_UNSUPPORTED: return "not supported";
    case LLM_ERR_ABI: return "options struct size not understood";
    case LLM_ERR_UNKNOWN_PARAM: return "unknown parameter";
    case LLM_ERR_STATE: return "call made in the wrong state";
    case LLM_ERR_CANCELLED: return "cancelled";
    case LLM_ERR_CONTEXT_FULL: return "context full";
    case LLM_ERR_TOO_LONG: return "input too long";
    case LLM_ERR_LIMIT: return "limit exceeded";
    case LLM_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    }
    return "unknown status";
}
