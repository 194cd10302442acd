/*
 * Jinja2's parser, with its operator precedence (condition < or < and < not < comparisons <
 * + - < ~ < * / // % < ** < unary - + < postfix . [] () < filters | and tests `is`), over the
 * tokens of lexer.c. Statements: if/elif/else, for (with `if` filter and else), set (name, tuple,
 * namespace attribute, block form), macro, with, filter blocks, break/continue and HF's
 * generation block. Tags that would read other files (include, import, extends) and tags this
 * engine does not implement are errors naming the tag, its line and column.
 */
#include <string.h>

#include "template/tpl_internal.h"

#define MAX_PARSE_DEPTH 200u

static tpl_token *cur(tpl_ctx *c)
{
    return &c->toks[c->tp];
}

static tpl_token *peek(tpl_ctx *c, size_t k)
{
    size_t i = c->tp + k;
    return &c->toks[i < c->ntok ? i : c->ntok - 1];
}

static void advance(tpl_ctx *c)
{
    if (c->tp + 1 < c->ntok)
        c->tp++;
}

static bool is_op(const tpl_token *t, const char *op)
{
    return t->kind == TK_OP && strcmp(t->op, op) == 0;
}

static bool is_name(const tpl_token *t, const char *name)
{
    return t->kind == TK_NAME && strcmp(t->s, name) == 0;
}

static const char *describe(const tpl_token *t, char buf[48])
{
    switch (t->kind) {
    case TK_EOF: return "end of template";
    case TK_VAR_END: return "'}}'";
    case TK_BLOCK_END: return "'%}'";
    case TK_VAR_BEGIN: return "'{{'";
    case TK_BLOCK_BEGIN: return "'{%'";
    case TK_TEXT: return "text";
    case TK_STRING: return "a string";
    case TK_INT: return "an integer";
    case TK_FLOAT: return "a number";
    case TK_NAME:
        strncpy(buf, t->s, 40);
        buf[40] = '\0';
        return buf;
    default:
        buf[0] = '\'';
        memcpy(buf + 1, t->op, strlen(t->op));
        buf[1 + strlen(t->op)] = '\'';
        buf[2 + strlen(t->op)] = '\0';
        return buf;
    }
}

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void unexpected(tpl_ctx *c, const char *expected)
{
    char buf[48];
    tpl_token *t = cur(c);
    tpl_fail(c, t->pos, LLM_ERR_FORMAT, "expected %s, got %s", expected, describe(t, buf));
}

static void expect_op(tpl_ctx *c, const char *op)
{
    if (!is_op(cur(c), op)) {
        char want[8];
        want[0] = '\'';
        size_t n = strlen(op);
        memcpy(want + 1, op, n);
        want[n + 1] = '\'';
        want[n + 2] = '\0';
        unexpected(c, want);
    }
    advance(c);
}

static void expect_block_end(tpl_ctx *c)
{
    if (cur(c)->kind != TK_BLOCK_END)
        unexpected(c, "'%}'");
    advance(c);
}

static const char *expect_name(tpl_ctx *c, const char *what)
{
    if (cur(c)->kind != TK_NAME)
        unexpected(c, what);
    const char *s = cur(c)->s;
    advance(c);
    return s;
}

static tpl_node *mk(tpl_ctx *c, uint8_t kind, size_t pos)
{
    tpl_node *n = tpl_alloc(c, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    return n;
}

static void nodes_push(tpl_ctx *c, tpl_nodes *l, tpl_node *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        tpl_node **nv = tpl_alloc(c, cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = n;
}

static void names_push(tpl_ctx *c, tpl_node *n, size_t count, const char *name)
{
    /* names[] grows with items2 (same count) */
    const char **nv = tpl_alloc(c, (count + 1) * sizeof *nv);
    if (count)
        memcpy(nv, n->names, count * sizeof *nv);
    nv[count] = name;
    n->names = nv;
}

static void enter(tpl_ctx *c)
{
    uint32_t lim = c->lim.max_depth < MAX_PARSE_DEPTH ? c->lim.max_depth : MAX_PARSE_DEPTH;
    if (++c->parse_depth > lim)
        tpl_fail(c, cur(c)->pos, LLM_ERR_LIMIT, "the template nests more than %u levels deep",
                 lim);
}

static void leave(tpl_ctx *c)
{
    c->parse_depth--;
}

/* ---------------------------------------------------------------------------------------------- */
/* expressions                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

static tpl_node *parse_expression(tpl_ctx *c);
static tpl_node *parse_or(tpl_ctx *c);
static tpl_node *parse_unary(tpl_ctx *c, bool with_filter);
static tpl_node *parse_primary(tpl_ctx *c);
static tpl_node *parse_postfix(tpl_ctx *c, tpl_node *n);

static bool tuple_end(tpl_ctx *c, const char *extra_end)
{
    tpl_token *t = cur(c);
    if (t->kind == TK_VAR_END || t->kind == TK_BLOCK_END || t->kind == TK_EOF || is_op(t, ")"))
        return true;
    return extra_end && is_name(t, extra_end);
}

/* Jinja's parse_tuple: one expression, or a tuple when commas separate several. */
static tpl_node *parse_tuple(tpl_ctx *c, bool with_condexpr, bool explicit_parens,
                             const char *extra_end)
{
    size_t pos = cur(c)->pos;
    tpl_node *t = mk(c, TN_TUPLE, pos);
    bool is_tuple = false;
    for (;;) {
        if (t->items.n)
            expect_op(c, ",");
        if (tuple_end(c, extra_end))
            break;
        nodes_push(c, &t->items, with_condexpr ? parse_expression(c) : parse_or(c));
        if (is_op(cur(c), ","))
            is_tuple = true;
        else
            break;
    }
    if (!is_tuple) {
        if (t->items.n)
            return t->items.v[0];
        if (!explicit_parens)
            unexpected(c, "an expression");
    }
    return t;
}

static void parse_call_args(tpl_ctx *c, tpl_node *n)
{
    expect_op(c, "(");
    while (!is_op(cur(c), ")")) {
        if (n->items.n || n->items2.n)
            expect_op(c, ",");
        if (is_op(cur(c), ")"))
            break;
        if (is_op(cur(c), "*") || is_op(cur(c), "**"))
            tpl_fail(c, cur(c)->pos, LLM_ERR_FORMAT, "*args and **kwargs in calls are not "
                     "supported");
        if (cur(c)->kind == TK_NAME && is_op(peek(c, 1), "=")) {
            const char *key = cur(c)->s;
            advance(c);
            advance(c);
            names_push(c, n, n->items2.n, key);
            nodes_push(c, &n->items2, parse_expression(c));
        } else {
            if (n->items2.n)
                tpl_fail(c, cur(c)->pos, LLM_ERR_FORMAT, "a positional argument follows a "
                         "keyword argument");
            nodes_push(c, &n->items, parse_expression(c));
        }
    }
    expect_op(c, ")");
}

static const char *dotted_name(tpl_ctx *c, const char *what)
{
    const char *name = expect_name(c, what);
    while (is_op(cur(c), ".") && peek(c, 1)->kind == TK_NAME) {
        /* dotted filter/test names exist only for extensions; keep the full text for errors */
        advance(c);
        size_t a = strlen(name), b = strlen(cur(c)->s);
        char *full = tpl_alloc(c, a + b + 2);
        memcpy(full, name, a);
        full[a] = '.';
        memcpy(full + a + 1, cur(c)->s, b + 1);
        name = full;
        advance(c);
    }
    return name;
}

static tpl_node *parse_filter(tpl_ctx *c, tpl_node *arg)
{
    size_t pos = cur(c)->pos;
    tpl_node *f = mk(c, TN_FILTER, pos);
    f->a = arg;
    f->name = dotted_name(c, "a filter name");
    if (is_op(cur(c), "("))
        parse_call_args(c, f);
    return f;
}

static tpl_node *parse_test(tpl_ctx *c, tpl_node *arg)
{
    size_t pos = cur(c)->pos;
    advance(c);  /* is */
    bool negated = false;
    if (is_name(cur(c), "not")) {
        negated = true;
        advance(c);
    }
    tpl_node *t = mk(c, TN_TEST, pos);
    t->a = arg;
    t->name = dotted_name(c, "a test name");
    tpl_token *k = cur(c);
    if (is_op(k, "(")) {
        parse_call_args(c, t);
    } else if ((k->kind == TK_NAME || k->kind == TK_STRING || k->kind == TK_INT ||
                k->kind == TK_FLOAT || is_op(k, "[") || is_op(k, "{")) &&
               !is_name(k, "else") && !is_name(k, "or") && !is_name(k, "and")) {
        if (is_name(k, "is"))
            tpl_fail(c, k->pos, LLM_ERR_FORMAT, "tests cannot be chained with 'is'");
        tpl_node *a1 = parse_postfix(c, parse_primary(c));
        nodes_push(c, &t->items, a1);
    }
    if (negated) {
        tpl_node *n = mk(c, TN_NOT, pos);
        n->a = t;
        return n;
    }
    return t;
}

static tpl_node *parse_subscript(tpl_ctx *c, tpl_node *obj)
{
    tpl_token *t = cur(c);
    size_t pos = t->pos;
    if (is_op(t, ".")) {
        advance(c);
        tpl_token *a = cur(c);
        if (a->kind == TK_NAME) {
            tpl_node *n = mk(c, TN_GETATTR, pos);
            n->a = obj;
            n->name = a->s;
            advance(c);
            return n;
        }
        if (a->kind == TK_INT) {
            tpl_node *n = mk(c, TN_GETITEM, pos);
            n->a = obj;
            n->b = mk(c, TN_LIT, a->pos);
            n->b->lit = tv_int(a->i);
            advance(c);
            return n;
        }
        unexpected(c, "an attribute name");
    }
    /* '[' */
    advance(c);
    tpl_node *args[3] = {NULL, NULL, NULL};
    bool is_slice = false;
    if (!is_op(cur(c), ":"))
        args[0] = parse_expression(c);
    if (is_op(cur(c), ":")) {
        is_slice = true;
        advance(c);
        if (!is_op(cur(c), "]") && !is_op(cur(c), ":"))
            args[1] = parse_expression(c);
        if (is_op(cur(c), ":")) {
            advance(c);
            if (!is_op(cur(c), "]"))
                args[2] = parse_expression(c);
        }
    }
    if (is_op(cur(c), ","))
        tpl_fail(c, cur(c)->pos, LLM_ERR_FORMAT, "subscripts with several indices are not "
                 "supported");
    expect_op(c, "]");
    tpl_node *n = mk(c, is_slice ? TN_SLICE : TN_GETITEM, pos);
    n->a = obj;
    if (is_slice) {
        n->b = args[0];
        n->c = args[1];
        n->d = args[2];
    } else {
        n->b = args[0];
    }
    return n;
}

static tpl_node *parse_postfix(tpl_ctx *c, tpl_node *n)
{
    for (;;) {
        tpl_token *t = cur(c);
        if (is_op(t, ".") || is_op(t, "[")) {
            n = parse_subscript(c, n);
        } else if (is_op(t, "(")) {
            tpl_node *call = mk(c, TN_CALL, t->pos);
            call->a = n;
            parse_call_args(c, call);
            n = call;
        } else {
            return n;
        }
    }
}

static tpl_node *parse_filter_expr(tpl_ctx *c, tpl_node *n)
{
    for (;;) {
        tpl_token *t = cur(c);
        if (is_op(t, "|")) {
            advance(c);
            n = parse_filter(c, n);
        } else if (is_name(t, "is")) {
            n = parse_test(c, n);
        } else if (is_op(t, "(")) {
            tpl_node *call = mk(c, TN_CALL, t->pos);
            call->a = n;
            parse_call_args(c, call);
            n = call;
        } else {
            return n;
        }
    }
}

static tpl_node *parse_primary(tpl_ctx *c)
{
    tpl_token *t = cur(c);
    size_t pos = t->pos;
    tpl_node *n;
    switch (t->kind) {
    case TK_NAME:
        n = mk(c, TN_LIT, pos);
        if (!strcmp(t->s, "true") || !strcmp(t->s, "True")) {
            n->lit = tv_bool(true);
        } else if (!strcmp(t->s, "false") || !strcmp(t->s, "False")) {
            n->lit = tv_bool(false);
        } else if (!strcmp(t->s, "none") || !strcmp(t->s, "None")) {
            n->lit = tv_none();
        } else {
            n->kind = TN_NAME;
            n->name = t->s;
        }
        advance(c);
        return n;
    case TK_STRING: {
        tpl_buf b = {0};
        while (cur(c)->kind == TK_STRING) {   /* adjacent literals concatenate */
            tpl_buf_put(c, &b, cur(c)->s, cur(c)->n);
            advance(c);
        }
        n = mk(c, TN_LIT, pos);
        n->lit = tv_str_buf(c, &b);
        return n;
    }
    case TK_INT:
        n = mk(c, TN_LIT, pos);
        n->lit = tv_int(t->i);
        advance(c);
        return n;
    case TK_FLOAT:
        n = mk(c, TN_LIT, pos);
        n->lit = tv_float(t->f);
        advance(c);
        return n;
    default:
        break;
    }
    if (is_op(t, "(")) {
        advance(c);
        n = parse_tuple(c, true, true, NULL);
        expect_op(c, ")");
        return n;
    }
    if (is_op(t, "[")) {
        advance(c);
        n = mk(c, TN_LIST, pos);
        while (!is_op(cur(c), "]")) {
            if (n->items.n)
                expect_op(c, ",");
            if (is_op(cur(c), "]"))
                break;
            nodes_push(c, &n->items, parse_expression(c));
        }
        expect_op(c, "]");
        return n;
    }
    if (is_op(t, "{")) {
        advance(c);
        n = mk(c, TN_DICT, pos);
        while (!is_op(cur(c), "}")) {
            if (n->items.n)
                expect_op(c, ",");
            if (is_op(cur(c), "}"))
                break;
            nodes_push(c, &n->items, parse_expression(c));
            expect_op(c, ":");
            nodes_push(c, &n->items2, parse_expression(c));
        }
        expect_op(c, "}");
        return n;
    }
    unexpected(c, "an expression");
}

static tpl_node *parse_unary(tpl_ctx *c, bool with_filter)
{
    enter(c);
    tpl_token *t = cur(c);
    tpl_node *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        n = mk(c, is_op(t, "-") ? TN_NEG : TN_POS, t->pos);
        advance(c);
        n->a = parse_unary(c, false);
    } else {
        n = parse_primary(c);
    }
    n = parse_postfix(c, n);
    if (with_filter)
        n = parse_filter_expr(c, n);
    leave(c);
    return n;
}

static tpl_node *binop(tpl_ctx *c, const char *op, size_t pos, tpl_node *a, tpl_node *b)
{
    tpl_node *n = mk(c, TN_BINOP, pos);
    memcpy(n->op, op, strlen(op) + 1);
    n->a = a;
    n->b = b;
    return n;
}

static tpl_node *parse_pow(tpl_ctx *c)
{
    tpl_node *l = parse_unary(c, true);
    while (is_op(cur(c), "**")) {
        size_t pos = cur(c)->pos;
        advance(c);
        l = binop(c, "**", pos, l, parse_unary(c, true));
    }
    return l;
}

static tpl_node *parse_math2(tpl_ctx *c)
{
    tpl_node *l = parse_pow(c);
    for (;;) {
        tpl_token *t = cur(c);
        if (!(is_op(t, "*") || is_op(t, "/") || is_op(t, "//") || is_op(t, "%")))
            return l;
        char op[3];
        memcpy(op, t->op, 3);
        size_t pos = t->pos;
        advance(c);
        l = binop(c, op, pos, l, parse_pow(c));
    }
}

static tpl_node *parse_concat(tpl_ctx *c)
{
    tpl_node *l = parse_math2(c);
    while (is_op(cur(c), "~")) {
        size_t pos = cur(c)->pos;
        advance(c);
        l = binop(c, "~", pos, l, parse_math2(c));
    }
    return l;
}

static tpl_node *parse_math1(tpl_ctx *c)
{
    tpl_node *l = parse_concat(c);
    for (;;) {
        tpl_token *t = cur(c);
        if (!(is_op(t, "+") || is_op(t, "-")))
            return l;
        char op[3];
        memcpy(op, t->op, 3);
        size_t pos = t->pos;
        advance(c);
        l = binop(c, op, pos, l, parse_concat(c));
    }
}

static tpl_node *parse_compare(tpl_ctx *c)
{
    size_t pos0 = cur(c)->pos;
    tpl_node *left = parse_math1(c);
    tpl_node *result = NULL;
    for (;;) {
        tpl_token *t = cur(c);
        tpl_node *cmp;
        if (is_op(t, "==") || is_op(t, "!=") || is_op(t, "<") || is_op(t, "<=") ||
            is_op(t, ">") || is_op(t, ">=")) {
            cmp = mk(c, TN_CMP, t->pos);
            memcpy(cmp->op, t->op, 3);
            advance(c);
        } else if (is_name(t, "in")) {
            cmp = mk(c, TN_IN, t->pos);
            advance(c);
        } else if (is_name(t, "not") && is_name(peek(c, 1), "in")) {
            cmp = mk(c, TN_NOTIN, t->pos);
            advance(c);
            advance(c);
        } else {
            break;
        }
        tpl_node *right = parse_math1(c);
        cmp->a = left;
        cmp->b = right;
        if (result) {
            /* a < b < c is (a < b) and (b < c), as in Python */
            tpl_node *and_ = mk(c, TN_AND, pos0);
            and_->a = result;
            and_->b = cmp;
            result = and_;
        } else {
            result = cmp;
        }
        left = right;
    }
    return result ? result : left;
}

static tpl_node *parse_not(tpl_ctx *c)
{
    if (is_name(cur(c), "not")) {
        enter(c);
        tpl_node *n = mk(c, TN_NOT, cur(c)->pos);
        advance(c);
        n->a = parse_not(c);
        leave(c);
        return n;
    }
    return parse_compare(c);
}

static tpl_node *parse_and(tpl_ctx *c)
{
    tpl_node *l = parse_not(c);
    while (is_name(cur(c), "and")) {
        tpl_node *n = mk(c, TN_AND, cur(c)->pos);
        advance(c);
        n->a = l;
        n->b = parse_not(c);
        l = n;
    }
    return l;
}

static tpl_node *parse_or(tpl_ctx *c)
{
    tpl_node *l = parse_and(c);
    while (is_name(cur(c), "or")) {
        tpl_node *n = mk(c, TN_OR, cur(c)->pos);
        advance(c);
        n->a = l;
        n->b = parse_and(c);
        l = n;
    }
    return l;
}

static tpl_node *parse_condexpr(tpl_ctx *c)
{
    enter(c);
    tpl_node *e1 = parse_or(c);
    while (is_name(cur(c), "if")) {
        tpl_node *n = mk(c, TN_COND, cur(c)->pos);
        advance(c);
        n->b = parse_or(c);
        if (is_name(cur(c), "else")) {
            advance(c);
            n->c = parse_condexpr(c);
        }
        n->a = e1;
        e1 = n;
    }
    leave(c);
    return e1;
}

static tpl_node *parse_expression(tpl_ctx *c)
{
    return parse_condexpr(c);
}

/* ---------------------------------------------------------------------------------------------- */
/* statements                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

static const char *parse_body(tpl_ctx *c, tpl_nodes *body, const char *const *ends,
                              const char *opener, size_t opener_pos);

static tpl_node *parse_target(tpl_ctx *c, bool with_namespace, const char *end_name)
{
    size_t pos = cur(c)->pos;
    if (with_namespace && cur(c)->kind == TK_NAME && is_op(peek(c, 1), ".") &&
        peek(c, 2)->kind == TK_NAME) {
        tpl_node *ns = mk(c, TN_NAME, pos);
        ns->name = cur(c)->s;
        advance(c);
        advance(c);
        tpl_node *n = mk(c, TN_GETATTR, pos);
        n->a = ns;
        n->name = cur(c)->s;
        advance(c);
        return n;
    }
    bool paren = is_op(cur(c), "(");
    if (paren)
        advance(c);
    tpl_node *t = mk(c, TN_TUPLE, pos);
    for (;;) {
        tpl_node *nm = mk(c, TN_NAME, cur(c)->pos);
        nm->name = expect_name(c, "a variable name");
        if (!strcmp(nm->name, "true") || !strcmp(nm->name, "false") ||
            !strcmp(nm->name, "none"))
            tpl_fail(c, nm->pos, LLM_ERR_FORMAT, "cannot assign to '%s'", nm->name);
        nodes_push(c, &t->items, nm);
        if (!is_op(cur(c), ","))
            break;
        advance(c);
        if ((end_name && is_name(cur(c), end_name)) || is_op(cur(c), "=") ||
            is_op(cur(c), ")"))
            break;
    }
    if (paren)
        expect_op(c, ")");
    return t->items.n == 1 && !paren ? t->items.v[0] : t;
}

static tpl_node *parse_for(tpl_ctx *c, size_t pos)
{
    tpl_node *n = mk(c, TN_FOR, pos);
    n->a = parse_target(c, false, "in");
    if (!is_name(cur(c), "in"))
        unexpected(c, "'in'");
    advance(c);
    n->b = parse_tuple(c, false, false, "recursive");
    if (is_name(cur(c), "if")) {
        advance(c);
        n->c = parse_expression(c);
    }
    if (is_name(cur(c), "recursive"))
        tpl_fail(c, cur(c)->pos, LLM_ERR_FORMAT, "recursive for loops are not supported");
    expect_block_end(c);
    static const char *const ends[] = {"endfor", "else", NULL};
    c->loop_nesting++;
    const char *which = parse_body(c, &n->items, ends, "for", pos);
    c->loop_nesting--;
    if (!strcmp(which, "else")) {
        expect_block_end(c);
        static const char *const ends2[] = {"endfor", NULL};
        parse_body(c, &n->items2, ends2, "for", pos);
    }
    expect_block_end(c);
    return n;
}

static tpl_node *parse_if(tpl_ctx *c, size_t pos)
{
    tpl_node *n = mk(c, TN_IF, pos);
    n->a = parse_tuple(c, false, false, NULL);
    expect_block_end(c);
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *which = parse_body(c, &n->items, ends, "if", pos);
    if (!strcmp(which, "elif")) {
        tpl_node *e = parse_if(c, cur(c)->pos);   /* consumes through endif */
        nodes_push(c, &n->items2, e);
        return n;
    }
    if (!strcmp(which, "else")) {
        expect_block_end(c);
        static const char *const ends2[] = {"endif", NULL};
        parse_body(c, &n->items2, ends2, "if", pos);
    }
    expect_block_end(c);
    return n;
}

static tpl_node *parse_filter_chain(tpl_ctx *c)
{
    tpl_node *f = parse_filter(c, NULL);
    while (is_op(cur(c), "|")) {
        advance(c);
        f = parse_filter(c, f);
    }
    return f;
}

static tpl_node *parse_set(tpl_ctx *c, size_t pos)
{
    tpl_node *target = parse_target(c, true, NULL);
    if (is_op(cur(c), "=")) {
        advance(c);
        tpl_node *n = mk(c, TN_SET, pos);
        n->a = target;
        n->b = parse_tuple(c, true, false, NULL);
        expect_block_end(c);
        return n;
    }
    tpl_node *n = mk(c, TN_SETBLOCK, pos);
    n->a = target;
    if (is_op(cur(c), "|")) {
        advance(c);
        n->c = parse_filter_chain(c);
    }
    expect_block_end(c);
    static const char *const ends[] = {"endset", NULL};
    parse_body(c, &n->items, ends, "set", pos);
    expect_block_end(c);
    return n;
}

static tpl_node *parse_macro(tpl_ctx *c, size_t pos)
{
    tpl_node *n = mk(c, TN_MACRO, pos);
    n->name = expect_name(c, "a macro name");
    expect_op(c, "(");
    while (!is_op(cur(c), ")")) {
        if (n->items2.n)
            expect_op(c, ",");
        const char *p = expect_name(c, "a parameter name");
        tpl_node *def = NULL;
        if (is_op(cur(c), "=")) {
            advance(c);
            def = parse_expression(c);
        } else if (n->items2.n && n->items2.v[n->items2.n - 1]) {
            tpl_fail(c, cur(c)->pos, LLM_ERR_FORMAT, "a parameter without a default follows "
                     "one with a default");
        }
        names_push(c, n, n->items2.n, p);
        nodes_push(c, &n->items2, def);
    }
    expect_op(c, ")");
    expect_block_end(c);
    static const char *const ends[] = {"endmacro", NULL};
    uint32_t saved = c->loop_nesting;
    c->loop_nesting = 0;
    parse_body(c, &n->items, ends, "macro", pos);
    c->loop_nesting = saved;
    if (cur(c)->kind == TK_NAME)   /* {% endmacro name %} */
        advance(c);
    expect_block_end(c);
    return n;
}

static tpl_node *parse_with(tpl_ctx *c, size_t pos)
{
    tpl_node *n = mk(c, TN_WITH, pos);
    while (cur(c)->kind != TK_BLOCK_END) {
        if (n->items2.n)
            expect_op(c, ",");
        const char *name = expect_name(c, "a variable name");
        expect_op(c, "=");
        names_push(c, n, n->items2.n, name);
        nodes_push(c, &n->items2, parse_expression(c));
    }
    expect_block_end(c);
    static const char *const ends[] = {"endwith", NULL};
    parse_body(c, &n->items, ends, "with", pos);
    expect_block_end(c);
    return n;
}

static tpl_node *parse_statement(tpl_ctx *c)
{
    size_t pos = cur(c)->pos;   /* the '{%' */
    advance(c);
    tpl_token *t = cur(c);
    if (t->kind != TK_NAME)
        unexpected(c, "a tag name");
    const char *tag = t->s;
    advance(c);
    if (!strcmp(tag, "for"))
        return parse_for(c, pos);
    if (!strcmp(tag, "if"))
        return parse_if(c, pos);
    if (!strcmp(tag, "set"))
        return parse_set(c, pos);
    if (!strcmp(tag, "macro"))
        return parse_macro(c, pos);
    if (!strcmp(tag, "with"))
        return parse_with(c, pos);
    if (!strcmp(tag, "break") || !strcmp(tag, "continue")) {
        if (!c->loop_nesting)
            tpl_fail(c, t->pos, LLM_ERR_FORMAT, "'%s' outside a for loop", tag);
        tpl_node *n = mk(c, tag[0] == 'b' ? TN_BREAK : TN_CONTINUE, pos);
        expect_block_end(c);
        return n;
    }
    if (!strcmp(tag, "filter")) {
        tpl_node *n = mk(c, TN_FILTERBLOCK, pos);
        n->c = parse_filter_chain(c);
        expect_block_end(c);
        static const char *const ends[] = {"endfilter", NULL};
        parse_body(c, &n->items, ends, "filter", pos);
        expect_block_end(c);
        return n;
    }
    if (!strcmp(tag, "generation")) {
        /* transformers' AssistantTracker: the body renders unchanged */
        tpl_node *n = mk(c, TN_BODY, pos);
        expect_block_end(c);
        static const char *const ends[] = {"endgeneration", NULL};
        parse_body(c, &n->items, ends, "generation", pos);
        expect_block_end(c);
        return n;
    }
    if (!strcmp(tag, "include") || !strcmp(tag, "import") || !strcmp(tag, "from") ||
        !strcmp(tag, "extends"))
        tpl_fail(c, t->pos, LLM_ERR_FORMAT, "'%s' is not allowed: a chat template cannot read "
                 "other templates", tag);
    tpl_fail(c, t->pos, LLM_ERR_FORMAT, "unknown or unsupported tag '%s'", tag);
}

/* Parses statements until a block tag named in `ends` (returned; its name is consumed, the
 * rest of that tag is left to the caller) or, with ends == NULL, the end of the template. */
static const char *parse_body(tpl_ctx *c, tpl_nodes *body, const char *const *ends,
                              const char *opener, size_t opener_pos)
{
    enter(c);
    for (;;) {
        tpl_token *t = cur(c);
        switch (t->kind) {
        case TK_EOF:
            if (ends) {
                unsigned line, col;
                tpl_line_col(c, opener_pos, &line, &col);
                const char *closer = ends[0];
                for (size_t i = 0; ends[i]; i++)
                    if (!strncmp(ends[i], "end", 3))
                        closer = ends[i];
                tpl_fail(c, t->pos, LLM_ERR_FORMAT, "unexpected end of template: '%s' opened "
                         "at line %u, column %u is not closed by '%s'",
                         opener, line, col, closer);
            }
            leave(c);
            return NULL;
        case TK_TEXT: {
            tpl_node *n = mk(c, TN_TEXT, t->pos);
            n->text = t->s;
            n->text_n = t->n;
            nodes_push(c, body, n);
            advance(c);
            break;
        }
        case TK_VAR_BEGIN: {
            tpl_node *n = mk(c, TN_OUTPUT, t->pos);
            advance(c);
            n->a = parse_tuple(c, true, false, NULL);
            if (cur(c)->kind != TK_VAR_END)
                unexpected(c, "'}}'");
            advance(c);
            nodes_push(c, body, n);
            break;
        }
        case TK_BLOCK_BEGIN: {
            tpl_token *name = peek(c, 1);
            if (ends && name->kind == TK_NAME) {
                for (size_t i = 0; ends[i]; i++) {
                    if (!strcmp(name->s, ends[i])) {
                        advance(c);
                        advance(c);
                        leave(c);
                        return ends[i];
                    }
                }
            }
            if (name->kind == TK_NAME &&
                (!strncmp(name->s, "end", 3) || !strcmp(name->s, "else") ||
                 !strcmp(name->s, "elif")))
                tpl_fail(c, name->pos, LLM_ERR_FORMAT, "unexpected '%s'%s%s%s", name->s,
                         ends ? " (expected '" : "", ends ? ends[0] : "", ends ? "')" : "");
            nodes_push(c, body, parse_statement(c));
            break;
        }
        default:
            unexpected(c, "text or a tag");
        }
    }
}

tpl_node *tpl_parse(tpl_ctx *c)
{
    tpl_node *root = mk(c, TN_BODY, 0);
    c->tp = 0;
    parse_body(c, &root->items, NULL, NULL, 0);
    return root;
}
