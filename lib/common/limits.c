/* Work and size budgets of input-driven stages (see limits.h). */
#include "common/limits.h"

#include <inttypes.h>

uint64_t llm_limit_scaled(uint64_t per_byte, uint64_t input_bytes, uint64_t slack)
{
    uint64_t v;
    if (__builtin_mul_overflow(per_byte, input_bytes, &v) || __builtin_add_overflow(v, slack, &v))
        return UINT64_MAX;
    return v;
}

llm_status llm_limit_fail(llm_error *err, const char *stage, const char *what, uint64_t value,
                          uint64_t max, const char *option)
{
    return llm_error_set(err, LLM_ERR_LIMIT,
                         "%s: %s %" PRIu64 " exceeds the limit of %" PRIu64 " (%s raises it)",
                         stage, what, value, max, option);
}

llm_status llm_budget_spend(llm_budget *b, uint64_t n, llm_error *err)
{
    if (__builtin_add_overflow(b->used, n, &b->used))
        b->used = UINT64_MAX;
    if (b->max && b->used > b->max)
        return llm_limit_fail(err, b->stage, b->what, b->used, b->max, b->option);
    return LLM_OK;
}
