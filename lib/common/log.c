/* The process-wide log callback. Messages above the installed level are never formatted. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

static llm_log_fn log_fn;
static void *log_user;
static llm_log_level log_max = LLM_LOG_WARN;

void llm_set_logger(llm_log_fn fn, void *user, llm_log_level max_level)
{
    log_fn = fn;
    log_user = user;
    log_max = max_level;
}

void llm_log(llm_log_level level, const char *fmt, ...)
{
    llm_log_fn fn = log_fn;
    if (!fn || level > log_max)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(log_user, level, msg);
}
