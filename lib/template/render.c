/*
 * The engine's entry: prepares the source as Jinja does (UTF-8 checked, newlines normalized to
 * "\n", one trailing newline dropped), lexes, parses and evaluates it in one arena, and copies the
 * result out. Failures anywhere unwind here (tpl_fail's longjmp) and free the arena.
 */
#include <jansson.h>
#include <string.h>

#include "common/alloc.h"
#include "template/tpl_internal.h"

void llm_tpl_limits_default(llm_tpl_limits *lim)
{
    lim->max_steps = 10000000;
    lim->max_depth = 256;
    lim->max_output = 16u << 20;
    lim->max_memory = 256u << 20;
}

static char *normalize(tpl_ctx *c, const char *src, size_t n, size_t *out_n)
{
    char *s = tpl_alloc(c, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\r') {
            s[k++] = '\n';
            if (i + 1 < n && src[i + 1] == '\n')
                i++;
        } else {
            s[k++] = src[i];
        }
    }
    if (k > 0 && s[k - 1] == '\n')
        k--;
    s[k] = '\0';
    *out_n = k;
    return s;
}

/* Everything that may fail runs here, below the setjmp; its state lives in `c` only. */
static llm_status run(tpl_ctx *c, const json_t *vars, char **out, size_t *out_len)
{
    if (setjmp(c->jb) != 0)
        return c->err->status != LLM_OK ? c->err->status : LLM_ERR_FORMAT;
    c->src = normalize(c, c->src, c->src_n, &c->src_n);
    tpl_lex(c);
    tpl_node *root = tpl_parse(c);

    c->globals = tpl_alloc(c, sizeof *c->globals);
    c->globals->vars = tv_dict(c, 8);
    tpl_install_globals(c, c->globals);
    c->root = tpl_alloc(c, sizeof *c->root);
    c->root->parent = c->globals;
    c->root->vars = tv_dict(c, 8);
    if (vars) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)vars, key, val)
            tv_dict_set(c, c->root->vars, tv_cstr(c, key), tpl_from_json(c, val, 0));
    }
    tpl_buf result = {0};
    result.is_output = true;
    c->out = &result;
    c->depth = 0;
    tpl_exec_body(c, &root->items, c->root);

    char *s = llm_malloc(result.len + 1);
    if (!s)
        return llm_error_set(c->err, LLM_ERR_NOMEM, "out of memory");
    if (result.len)
        memcpy(s, result.p, result.len);
    s[result.len] = '\0';
    *out = s;
    if (out_len)
        *out_len = result.len;
    return LLM_OK;
}

llm_status llm_tpl_render(const char *src, size_t n, const json_t *vars, const char *now,
                          const llm_tpl_limits *lim, char **out, size_t *out_len, llm_error *err)
{
    llm_error own;
    if (!err) {
        llm_error_clear(&own);
        err = &own;
    }
    *out = NULL;
    if (out_len)
        *out_len = 0;
    size_t bad;
    if (!tpl_utf8_valid(src, n, &bad))
        return llm_error_set(err, LLM_ERR_FORMAT, "the template is not valid UTF-8 (byte %zu)",
                             bad);
    if (memchr(src, '\0', n))
        return llm_error_set(err, LLM_ERR_FORMAT, "the template contains a NUL byte");
    if (vars && !json_is_object(vars))
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "template variables must be a JSON object");

    tpl_ctx *c = llm_calloc(1, sizeof *c);
    if (!c)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    if (lim)
        c->lim = *lim;
    else
        llm_tpl_limits_default(&c->lim);
    llm_tpl_limits def;
    llm_tpl_limits_default(&def);
    if (!c->lim.max_steps)
        c->lim.max_steps = def.max_steps;
    if (!c->lim.max_depth)
        c->lim.max_depth = def.max_depth;
    if (!c->lim.max_output)
        c->lim.max_output = def.max_output;
    if (!c->lim.max_memory)
        c->lim.max_memory = def.max_memory;
    c->arena.limit = c->lim.max_memory;
    c->arena.ctx = c;
    c->err = err;
    c->now = now;
    c->src = src;   /* normalized in run() */
    c->src_n = n;

    llm_status st = run(c, vars, out, out_len);
    tpl_arena_free(&c->arena);
    llm_mem_free(c);
    return st;
}
