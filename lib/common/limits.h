/*
 * Bounds on the work one input may cause. Every input-driven stage (normalizers, pre-tokenizer
 * regexes, added-token matching, chat templates, recipes) keeps a budget: a count of bytes,
 * steps or nesting levels it may spend, derived from its input's size and a limit the caller can
 * configure. Spending past it is LLM_ERR_LIMIT with a message of one form:
 *
 *   "<stage>: <what> <value> exceeds the limit of <max> (<option> raises it)"
 *
 * so that a user learns which stage stopped, on what, and which knob to turn.
 */
#ifndef LLM_COMMON_LIMITS_H
#define LLM_COMMON_LIMITS_H

#include <stdint.h>

#include "common/error.h"

typedef struct llm_budget {
    uint64_t used, max;  /* max 0: no limit */
    const char *stage;   /* "normalizer 2 (Replace)", "chat template", ... */
    const char *what;    /* "output bytes", "regex steps", "nesting depth", ... */
    const char *option;  /* the option field that sets max */
} llm_budget;

/* A budget of `max` (0 = unlimited) for `stage`, counted in `what`, set by `option`. */
static inline llm_budget llm_budget_make(const char *stage, const char *what, const char *option,
                                         uint64_t max)
{
    llm_budget b = {0, max, stage, what, option};
    return b;
}

/* `per_byte` * `input_bytes` + `slack`, saturating: the usual size-proportional limit. */
uint64_t llm_limit_scaled(uint64_t per_byte, uint64_t input_bytes, uint64_t slack);

/* Adds n to the budget; LLM_ERR_LIMIT (message above) once it passes max. */
llm_status llm_budget_spend(llm_budget *b, uint64_t n, llm_error *err);

/* The LLM_ERR_LIMIT message for a value found above its limit. */
llm_status llm_limit_fail(llm_error *err, const char *stage, const char *what, uint64_t value,
                          uint64_t max, const char *option);

#endif /* LLM_COMMON_LIMITS_H */
