/*
 * The chat-template engine: a sandboxed subset of Jinja2 as Hugging Face's apply_chat_template
 * configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its own
 * tojson, raise_exception, strftime_now). A render sees only the variables it is given: there is
 * no file access (include/import/extends are errors), no attribute access beyond dict keys and a
 * fixed set of str/dict/list methods, and no way to change a list or dict in place.
 *
 * Every render is bounded: work steps (loop iterations, expression evaluations), nesting depth
 * (macro recursion, nested expressions), output bytes and memory. Exceeding a bound fails with
 * LLM_ERR_LIMIT. A template the engine does not understand fails with LLM_ERR_FORMAT and the line
 * and column of the construct.
 */
#ifndef LLM_TEMPLATE_TEMPLATE_H
#define LLM_TEMPLATE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct llm_tpl_limits {
    uint64_t max_steps;     /* evaluation steps (default 10 000 000) */
    uint32_t max_depth;     /* nesting of expressions, statements, macro calls (default 256) */
    size_t max_output;      /* bytes of output, captured blocks included (default 16 MiB) */
    size_t max_memory;      /* bytes of working memory (default 256 MiB) */
} llm_tpl_limits;

void llm_tpl_limits_default(llm_tpl_limits *lim);

struct json_t;

/*
 * Renders `src` (n bytes, UTF-8) with the variables of `vars` (a JSON object: each key becomes a
 * template variable). `now` is the ISO-8601 time strftime_now() reports (NULL: the clock).
 * On success *out is a NUL-terminated llm_malloc'ed string of *out_len bytes.
 * Errors: LLM_ERR_FORMAT (syntax, or an operation the values do not support, with line:column),
 * LLM_ERR_STATE (raise_exception(msg): exactly msg), LLM_ERR_LIMIT, LLM_ERR_NOMEM.
 */
llm_status llm_tpl_render(const char *src, size_t n, const struct json_t *vars, const char *now,
                          const llm_tpl_limits *lim, char **out, size_t *out_len, llm_error *err);

#endif /* LLM_TEMPLATE_TEMPLATE_H */
