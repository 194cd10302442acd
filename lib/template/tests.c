/*
 * Jinja2's built-in tests (`x is defined`, `x is string`, `x is divisibleby 3`, ...), with
 * Python's type rules: bool counts as a number, a string is iterable and a sequence, Undefined is
 * iterable (it iterates as empty) but not defined.
 */
#include <math.h>
#include <string.h>

#include "template/tpl_internal.h"

typedef bool (*test_fn)(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a);

static tpl_value need_arg(tpl_ctx *c, const tpl_node *at, const tpl_args *a, const char *test)
{
    const tpl_value *x = tpl_arg(a, 0, NULL);
    if (!x)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "the test '%s' needs an argument", test);
    return *x;
}

static bool t_defined(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind != TV_UNDEF;
}
static bool t_undefined(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_UNDEF;
}
static bool t_none(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_NONE;
}
static bool t_string(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_STR;
}
static bool t_number(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return tv_is_number(v);
}
static bool t_integer(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_INT;
}
static bool t_float(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_FLOAT;
}
static bool t_boolean(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_BOOL;
}
static bool t_true(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_BOOL && v.u.b;
}
static bool t_false(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_BOOL && !v.u.b;
}
static bool t_mapping(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_DICT && v.flag != TV_NAMESPACE;
}
static bool t_iterable(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_UNDEF || v.kind == TV_STR || v.kind == TV_LIST ||
           (v.kind == TV_DICT && v.flag != TV_NAMESPACE);
}
static bool t_sequence(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_UNDEF || v.kind == TV_STR || v.kind == TV_LIST ||
           (v.kind == TV_DICT && v.flag != TV_NAMESPACE);
}
static bool t_callable(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_FUNC || v.kind == TV_MACRO;
}

static int64_t int_of(tpl_ctx *c, const tpl_node *at, tpl_value v, const char *test)
{
    if (v.kind == TV_INT)
        return v.u.i;
    if (v.kind == TV_BOOL)
        return v.u.b;
    if (v.kind == TV_FLOAT && v.u.f == floor(v.u.f) && fabs(v.u.f) < 9e18)
        return (int64_t)v.u.f;
    if (v.kind == TV_UNDEF)
        tv_undef_fail(c, at, v);
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "the test '%s' needs an integer, got '%s'", test,
             tv_type_name(v));
}
static bool t_odd(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    return int_of(c, at, v, "odd") % 2 != 0;
}
static bool t_even(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    return int_of(c, at, v, "even") % 2 == 0;
}
static bool t_divisibleby(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    int64_t d = int_of(c, at, need_arg(c, at, a, "divisibleby"), "divisibleby");
    if (d == 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "divisibleby 0");
    int64_t x = int_of(c, at, v, "divisibleby");
    return d == -1 || x % d == 0;
}
static bool t_eq(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return tv_equal(c, v, need_arg(c, at, a, "=="));
}
static bool t_ne(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return !tv_equal(c, v, need_arg(c, at, a, "!="));
}
static bool t_lt(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return tv_compare(c, at, v, need_arg(c, at, a, "<")) < 0;
}
static bool t_le(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return tv_compare(c, at, v, need_arg(c, at, a, "<=")) <= 0;
}
static bool t_gt(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return tv_compare(c, at, v, need_arg(c, at, a, ">")) > 0;
}
static bool t_ge(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return tv_compare(c, at, v, need_arg(c, at, a, ">=")) >= 0;
}
static bool t_sameas(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    tpl_value o = need_arg(c, at, a, "sameas");
    if (v.kind != o.kind)
        return false;
    switch (v.kind) {
    case TV_NONE: case TV_UNDEF: return true;
    case TV_BOOL: return v.u.b == o.u.b;
    case TV_STR: return v.u.s == o.u.s;
    case TV_LIST: return v.u.l == o.u.l;
    case TV_DICT: return v.u.d == o.u.d;
    default: return tv_equal(c, v, o);
    }
}
static bool t_in(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    tpl_value hay = need_arg(c, at, a, "in");
    if (hay.kind == TV_STR) {
        if (v.kind != TV_STR)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "'in <string>' needs a string");
        return v.u.s->n == 0 || memmem(hay.u.s->p, hay.u.s->n, v.u.s->p, v.u.s->n) != NULL;
    }
    if (hay.kind == TV_DICT)
        return tv_dict_get(hay, v) != NULL;
    tpl_value l = tpl_iterate(c, at, hay);
    for (size_t i = 0; i < l.u.l->n; i++)
        if (tv_equal(c, l.u.l->v[i], v))
            return true;
    return false;
}
/* Python's str.islower()/isupper(): every cased character in that case, and at least one. */
static bool cased_as(tpl_ctx *c, tpl_value v, int mode)
{
    tpl_value s = tv_to_str(c, v);
    tpl_value lo = tpl_case_map(c, s, 0), up = tpl_case_map(c, s, 1);
    bool any_cased = !tv_equal(c, lo, up);
    return any_cased && tv_equal(c, s, mode ? up : lo);
}
static bool t_lower(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at, (void)a;
    return cased_as(c, v, 0);
}
static bool t_upper(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at, (void)a;
    return cased_as(c, v, 1);
}
static bool t_filter(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a);
static bool t_test(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a);

typedef struct test_entry { const char *name; test_fn fn; } test_entry;

static const test_entry tests[] = {
    {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined},
    {"divisibleby", t_divisibleby}, {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq},
    {"escaped", t_false}, {"even", t_even}, {"false", t_false}, {"filter", t_filter},
    {"float", t_float}, {"ge", t_ge}, {">=", t_ge}, {"gt", t_gt}, {"greaterthan", t_gt},
    {">", t_gt}, {"in", t_in}, {"integer", t_integer}, {"iterable", t_iterable},
    {"le", t_le}, {"<=", t_le}, {"lower", t_lower}, {"lt", t_lt}, {"lessthan", t_lt},
    {"<", t_lt}, {"mapping", t_mapping}, {"ne", t_ne}, {"!=", t_ne}, {"none", t_none},
    {"number", t_number}, {"odd", t_odd}, {"sameas", t_sameas}, {"sequence", t_sequence},
    {"string", t_string}, {"test", t_test}, {"true", t_true}, {"undefined", t_undefined},
    {"upper", t_upper}, {NULL, NULL}};

bool tpl_test_exists(const char *name)
{
    for (size_t i = 0; tests[i].name; i++)
        if (!strcmp(tests[i].name, name))
            return true;
    return false;
}

static bool t_test(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_STR && tpl_test_exists(v.u.s->p);
}

static bool t_filter(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c, (void)at, (void)a;
    return v.kind == TV_STR && tpl_filter_exists(v.u.s->p);
}

bool tpl_apply_test(tpl_ctx *c, const tpl_node *at, const char *name, tpl_value v,
                    const tpl_args *a)
{
    for (size_t i = 0; tests[i].name; i++)
        if (!strcmp(tests[i].name, name))
            return tests[i].fn(c, at, v, a);
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "no test named '%s'", name);
}
