/*
 * The evaluator: expressions with Python's operator semantics, Jinja's attribute/item lookup
 * (a missing key or index is Undefined; using an Undefined fails), and the statements with
 * Jinja's scoping (a for loop's body and a macro's body are scopes of their own; `if` is not;
 * `set` inside a loop does not leak out of it; only namespace() attributes carry values out).
 * Every node evaluated costs a step and a level of depth, so runaway loops and recursion end
 * with LLM_ERR_LIMIT instead of exhausting the host.
 */
#include <math.h>
#include <string.h>

#include "template/tpl_internal.h"

static void enter(tpl_ctx *c, size_t pos)
{
    if (++c->depth > c->lim.max_depth)
        tpl_fail(c, pos, LLM_ERR_LIMIT, "the template nests or recurses more than %u levels "
                 "deep (raise max_depth to allow it)", c->lim.max_depth);
    tpl_step(c, pos, 1);
}

static void leave(tpl_ctx *c)
{
    c->depth--;
}

static tpl_value *scope_find(tpl_scope *sc, const char *name)
{
    for (; sc; sc = sc->parent) {
        tpl_value *v = tv_dict_get_cstr(sc->vars, name);
        if (v)
            return v;
    }
    return NULL;
}

static tpl_scope *scope_new(tpl_ctx *c, tpl_scope *parent)
{
    tpl_scope *s = tpl_alloc(c, sizeof *s);
    s->parent = parent;
    s->vars = tv_dict(c, 4);
    return s;
}

static const char *undef_msg(tpl_ctx *c, const char *fmt, const char *a, const char *b)
{
    tpl_buf m = {0};
    tpl_buf_putf(c, &m, fmt, a, b);
    return m.p;
}

static const char *obj_desc(tpl_value v)
{
    /* Jinja's object_type_repr: "dict object", "None" for None */
    switch (v.kind) {
    case TV_NONE: return "None";
    case TV_DICT: return v.flag == TV_NAMESPACE ? "Namespace object" : "dict object";
    case TV_LIST: return v.flag & TV_TUPLE ? "tuple object" : "list object";
    case TV_STR: return "str object";
    case TV_INT: return "int object";
    case TV_FLOAT: return "float object";
    case TV_BOOL: return "bool object";
    default: return "object";
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* lookup                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

static tpl_value loop_attr(tpl_ctx *c, tpl_value lv, const char *name, bool *found);

tpl_value tpl_getattr(tpl_ctx *c, const tpl_node *at, tpl_value obj, const char *name)
{
    if (obj.kind == TV_UNDEF)
        tv_undef_fail(c, at, obj);
    bool found = false;
    if (obj.kind == TV_LOOP) {
        tpl_value v = loop_attr(c, obj, name, &found);
        if (found)
            return v;
    } else if (obj.kind == TV_DICT && obj.flag == TV_NAMESPACE) {
        tpl_value *v = tv_dict_get_cstr(obj, name);
        if (v)
            return *v;
    } else {
        /* Python attributes first (methods), then items, as Jinja's getattr does */
        tpl_value m = tpl_method(c, obj, name, &found);
        if (found || m.u.undef)   /* a method, or a forbidden one with the sandbox's message */
            return m;
        if (obj.kind == TV_DICT) {
            tpl_value *v = tv_dict_get_cstr(obj, name);
            if (v)
                return *v;
        }
    }
    return tv_undef(undef_msg(c, "'%s' has no attribute '%s'", obj_desc(obj), name));
}

tpl_value tpl_getitem(tpl_ctx *c, const tpl_node *at, tpl_value obj, tpl_value key)
{
    if (obj.kind == TV_UNDEF)
        tv_undef_fail(c, at, obj);
    if (obj.kind == TV_DICT) {
        tpl_value *v = tv_dict_get(obj, key);
        if (v)
            return *v;
    } else if ((obj.kind == TV_LIST || obj.kind == TV_STR) &&
               (key.kind == TV_INT || key.kind == TV_BOOL) && !(obj.flag & TV_GEN)) {
        int64_t i = key.kind == TV_BOOL ? key.u.b : key.u.i;
        if (obj.kind == TV_LIST) {
            int64_t n = (int64_t)obj.u.l->n;
            if (i < 0)
                i += n;
            if (i >= 0 && i < n)
                return obj.u.l->v[i];
        } else {
            int64_t n = (int64_t)tpl_utf8_count(obj.u.s->p, obj.u.s->n);
            if (i < 0)
                i += n;
            if (i >= 0 && i < n) {
                size_t b = tpl_utf8_offset(obj.u.s->p, obj.u.s->n, (size_t)i), e = b;
                tpl_utf8_next(obj.u.s->p, obj.u.s->n, &e);
                return tv_str(c, obj.u.s->p + b, e - b);
            }
        }
        tpl_buf m = {0};
        tpl_buf_putf(c, &m, "'%s' has no element %lld", obj_desc(obj), (long long)i);
        return tv_undef(m.p);
    }
    if (key.kind == TV_STR)
        return tpl_getattr(c, at, obj, key.u.s->p);
    if (obj.kind == TV_LOOP)
        return tv_undef("the loop variable has no items");
    tpl_buf m = {0};
    tpl_buf_putf(c, &m, "'%s' has no element ", obj_desc(obj));
    tv_repr_to(c, &m, key);
    return tv_undef(m.p);
}

/* Python's slice.indices() for a sequence of length n. */
static void slice_indices(tpl_ctx *c, const tpl_node *at, tpl_value *v, int64_t n, int64_t *start,
                          int64_t *stop, int64_t *step)
{
    for (int k = 0; k < 3; k++)
        if (v[k].kind != TV_UNDEF && v[k].kind != TV_NONE && v[k].kind != TV_INT &&
            v[k].kind != TV_BOOL)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "slice indices must be integers or None");
#define SLICE_INT(x) ((x).kind == TV_BOOL ? (int64_t)(x).u.b : (x).u.i)
    *step = v[2].kind == TV_INT || v[2].kind == TV_BOOL ? SLICE_INT(v[2]) : 1;
    if (*step == 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "slice step cannot be zero");
    int64_t lo = *step < 0 ? -1 : 0, hi = *step < 0 ? n - 1 : n;
    if (v[0].kind == TV_INT || v[0].kind == TV_BOOL) {
        *start = SLICE_INT(v[0]);
        if (*start < 0) {
            *start += n;
            if (*start < lo)
                *start = lo;
        } else if (*start > hi) {
            *start = hi;
        }
    } else {
        *start = *step < 0 ? hi : lo;
    }
    if (v[1].kind == TV_INT || v[1].kind == TV_BOOL) {
        *stop = SLICE_INT(v[1]);
        if (*stop < 0) {
            *stop += n;
            if (*stop < lo)
                *stop = lo;
        } else if (*stop > hi) {
            *stop = hi;
        }
    } else {
        *stop = *step < 0 ? lo : hi;
    }
#undef SLICE_INT
}

static tpl_value do_slice(tpl_ctx *c, const tpl_node *at, tpl_value obj, tpl_value *v)
{
    if (obj.kind == TV_UNDEF)
        tv_undef_fail(c, at, obj);
    int64_t start, stop, step;
    if (obj.kind == TV_LIST && !(obj.flag & TV_GEN)) {
        slice_indices(c, at, v, (int64_t)obj.u.l->n, &start, &stop, &step);
        tpl_value r = tv_list(c, 0);
        r.flag = obj.flag;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
            tv_list_push(c, r, obj.u.l->v[i]);
        return r;
    }
    if (obj.kind == TV_STR) {
        const char *s = obj.u.s->p;
        size_t n = obj.u.s->n;
        size_t ncp = tpl_utf8_count(s, n);
        slice_indices(c, at, v, (int64_t)ncp, &start, &stop, &step);
        if (step == 1) {
            if (stop <= start)
                return tv_str(c, "", 0);
            size_t b = tpl_utf8_offset(s, n, (size_t)start);
            size_t e = tpl_utf8_offset(s, n, (size_t)stop);
            return tv_str(c, s + b, e - b);
        }
        /* general step: index the code points once */
        size_t *offs = tpl_alloc(c, (ncp + 1) * sizeof *offs);
        size_t i = 0, k = 0;
        while (i < n) {
            offs[k++] = i;
            tpl_utf8_next(s, n, &i);
        }
        offs[k] = n;
        tpl_buf b = {0};
        for (int64_t j = start; step > 0 ? j < stop : j > stop; j += step)
            tpl_buf_put(c, &b, s + offs[j], offs[j + 1] - offs[j]);
        return tv_str_buf(c, &b);
    }
    return tv_undef(undef_msg(c, "'%s' cannot be sliced%s", obj_desc(obj), ""));
}

tpl_value tpl_iterate(tpl_ctx *c, const tpl_node *at, tpl_value v)
{
    switch (v.kind) {
    case TV_UNDEF:
        return tv_list(c, 0);
    case TV_LIST:
        return v;
    case TV_DICT: {
        tpl_value r = tv_list(c, v.u.d->n);
        for (size_t i = 0; i < v.u.d->n; i++)
            tv_list_push(c, r, v.u.d->k[i]);
        return r;
    }
    case TV_STR: {
        tpl_value r = tv_list(c, v.u.s->n);
        size_t i = 0;
        while (i < v.u.s->n) {
            size_t b = i;
            tpl_utf8_next(v.u.s->p, v.u.s->n, &i);
            tv_list_push(c, r, tv_str(c, v.u.s->p + b, i - b));
        }
        return r;
    }
    default:
        tpl_fail(c, at ? at->pos : (size_t)-1, LLM_ERR_FORMAT, "'%s' object is not iterable",
                 tv_type_name(v));
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* loop variable                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

static tpl_value loop_cycle(tpl_ctx *c, const tpl_node *at, tpl_value self, const tpl_args *a)
{
    if (a->n == 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "loop.cycle() needs at least one argument");
    return a->v[self.u.loop->index0 % a->n];
}

static tpl_value loop_attr(tpl_ctx *c, tpl_value lv, const char *name, bool *found)
{
    tpl_loop *l = lv.u.loop;
    size_t n = l->items.u.l->n, i = l->index0;
    *found = true;
    if (!strcmp(name, "index"))
        return tv_int((int64_t)i + 1);
    if (!strcmp(name, "index0"))
        return tv_int((int64_t)i);
    if (!strcmp(name, "revindex"))
        return tv_int((int64_t)(n - i));
    if (!strcmp(name, "revindex0"))
        return tv_int((int64_t)(n - i - 1));
    if (!strcmp(name, "first"))
        return tv_bool(i == 0);
    if (!strcmp(name, "last"))
        return tv_bool(i + 1 == n);
    if (!strcmp(name, "length"))
        return tv_int((int64_t)n);
    if (!strcmp(name, "depth"))
        return tv_int((int64_t)l->depth0 + 1);
    if (!strcmp(name, "depth0"))
        return tv_int((int64_t)l->depth0);
    if (!strcmp(name, "previtem"))
        return i > 0 ? l->items.u.l->v[i - 1] : tv_undef("there is no previous item");
    if (!strcmp(name, "nextitem"))
        return i + 1 < n ? l->items.u.l->v[i + 1] : tv_undef("there is no next item");
    if (!strcmp(name, "cycle"))
        return tv_func(c, "cycle", loop_cycle, lv);
    *found = false;
    return tv_undef(NULL);
}

/* ---------------------------------------------------------------------------------------------- */
/* operators                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void type_error(tpl_ctx *c, const tpl_node *at, const char *op, tpl_value a, tpl_value b)
{
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "unsupported operand types for %s: '%s' and '%s'", op,
             tv_type_name(a), tv_type_name(b));
}

static int64_t ival(tpl_value v)
{
    return v.kind == TV_BOOL ? (int64_t)v.u.b : v.u.i;
}

static tpl_value repeat(tpl_ctx *c, const tpl_node *at, tpl_value seq, int64_t times)
{
    if (times < 0)
        times = 0;
    if (seq.kind == TV_STR) {
        tpl_step(c, at->pos, (uint64_t)times);
        tpl_buf b = {0};
        for (int64_t i = 0; i < times; i++)
            tpl_buf_put(c, &b, seq.u.s->p, seq.u.s->n);
        return tv_str_buf(c, &b);
    }
    tpl_step(c, at->pos, (uint64_t)times);
    tpl_value r = tv_list(c, 0);
    r.flag = seq.flag;
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < seq.u.l->n; k++)
            tv_list_push(c, r, seq.u.l->v[k]);
    return r;
}

static tpl_value arith(tpl_ctx *c, const tpl_node *at, const char *op, tpl_value a, tpl_value b)
{
    if (a.kind == TV_UNDEF)
        tv_undef_fail(c, at, a);
    if (b.kind == TV_UNDEF)
        tv_undef_fail(c, at, b);
    bool nums = tv_is_number(a) && tv_is_number(b);
    bool ints = nums && a.kind != TV_FLOAT && b.kind != TV_FLOAT;
    int64_t r;
    switch (op[0]) {
    case '+':
        if (ints) {
            if (__builtin_add_overflow(ival(a), ival(b), &r))
                tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in +");
            return tv_int(r);
        }
        if (nums)
            return tv_float(tv_as_double(a) + tv_as_double(b));
        if (a.kind == TV_STR && b.kind == TV_STR) {
            tpl_buf s = {0};
            tpl_buf_put(c, &s, a.u.s->p, a.u.s->n);
            tpl_buf_put(c, &s, b.u.s->p, b.u.s->n);
            return tv_str_buf(c, &s);
        }
        if (a.kind == TV_LIST && b.kind == TV_LIST && a.flag == b.flag) {
            tpl_value l = tv_list(c, a.u.l->n + b.u.l->n);
            l.flag = a.flag;
            for (size_t i = 0; i < a.u.l->n; i++)
                tv_list_push(c, l, a.u.l->v[i]);
            for (size_t i = 0; i < b.u.l->n; i++)
                tv_list_push(c, l, b.u.l->v[i]);
            return l;
        }
        type_error(c, at, "+", a, b);
    case '-':
        if (ints) {
            if (__builtin_sub_overflow(ival(a), ival(b), &r))
                tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in -");
            return tv_int(r);
        }
        if (nums)
            return tv_float(tv_as_double(a) - tv_as_double(b));
        type_error(c, at, "-", a, b);
    case '*':
        if (op[1] == '*') {
            if (!nums)
                type_error(c, at, "**", a, b);
            if (ints && ival(b) >= 0) {
                int64_t base = ival(a), e = ival(b), acc = 1;
                while (e > 0) {
                    if ((e & 1) && __builtin_mul_overflow(acc, base, &acc))
                        tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in **");
                    e >>= 1;
                    if (e && __builtin_mul_overflow(base, base, &base))
                        tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in **");
                }
                return tv_int(acc);
            }
            if (tv_as_double(a) == 0.0 && tv_as_double(b) < 0)
                tpl_fail(c, at->pos, LLM_ERR_FORMAT, "0.0 cannot be raised to a negative power");
            return tv_float(pow(tv_as_double(a), tv_as_double(b)));
        }
        if (ints) {
            if (__builtin_mul_overflow(ival(a), ival(b), &r))
                tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in *");
            return tv_int(r);
        }
        if (nums)
            return tv_float(tv_as_double(a) * tv_as_double(b));
        if ((a.kind == TV_STR || a.kind == TV_LIST) && (b.kind == TV_INT || b.kind == TV_BOOL))
            return repeat(c, at, a, ival(b));
        if ((b.kind == TV_STR || b.kind == TV_LIST) && (a.kind == TV_INT || a.kind == TV_BOOL))
            return repeat(c, at, b, ival(a));
        type_error(c, at, "*", a, b);
    case '/':
        if (!nums)
            type_error(c, at, op, a, b);
        if (tv_as_double(b) == 0.0)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "division by zero");
        if (op[1] == '/') {
            if (ints) {
                int64_t x = ival(a), y = ival(b);
                if (x == INT64_MIN && y == -1)
                    tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in //");
                int64_t q = x / y;
                if ((x % y != 0) && ((x < 0) != (y < 0)))
                    q--;
                return tv_int(q);
            }
            return tv_float(floor(tv_as_double(a) / tv_as_double(b)));
        }
        return tv_float(tv_as_double(a) / tv_as_double(b));
    case '%':
        if (a.kind == TV_STR)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "printf-style string formatting with %% is not "
                     "supported (use ~ or the format filter)");
        if (!nums)
            type_error(c, at, "%", a, b);
        if (tv_as_double(b) == 0.0)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "modulo by zero");
        if (ints) {
            int64_t x = ival(a), y = ival(b);
            if (y == -1)
                return tv_int(0);
            int64_t m = x % y;
            if (m != 0 && ((m < 0) != (y < 0)))
                m += y;
            return tv_int(m);
        } else {
            double x = tv_as_double(a), y = tv_as_double(b);
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0)))
                m += y;
            return tv_float(m);
        }
    default:
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "unknown operator '%s'", op);
    }
}

static bool contains(tpl_ctx *c, const tpl_node *at, tpl_value hay, tpl_value needle)
{
    switch (hay.kind) {
    case TV_STR:
        if (needle.kind != TV_STR)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "'in <string>' requires a string on the left, "
                     "not '%s'", tv_type_name(needle));
        if (needle.u.s->n == 0)
            return true;
        return needle.u.s->n <= hay.u.s->n &&
               memmem(hay.u.s->p, hay.u.s->n, needle.u.s->p, needle.u.s->n) != NULL;
    case TV_LIST:
        for (size_t i = 0; i < hay.u.l->n; i++)
            if (tv_equal(c, hay.u.l->v[i], needle))
                return true;
        return false;
    case TV_DICT:
        return tv_dict_get(hay, needle) != NULL;
    case TV_UNDEF:
        return false;   /* Undefined iterates as empty */
    default:
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "argument of type '%s' is not iterable",
                 tv_type_name(hay));
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* calls                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

static void eval_args(tpl_ctx *c, const tpl_node *n, tpl_scope *sc, tpl_args *a)
{
    a->n = n->items.n;
    a->v = a->n ? tpl_alloc(c, a->n * sizeof *a->v) : NULL;
    for (size_t i = 0; i < a->n; i++)
        a->v[i] = tpl_eval(c, n->items.v[i], sc);
    a->nkw = n->items2.n;
    a->kw = n->names;
    a->kv = a->nkw ? tpl_alloc(c, a->nkw * sizeof *a->kv) : NULL;
    for (size_t i = 0; i < a->nkw; i++)
        a->kv[i] = tpl_eval(c, n->items2.v[i], sc);
}

static tpl_value call_macro(tpl_ctx *c, const tpl_node *at, const tpl_node *def, const tpl_args *a)
{
    tpl_scope *sc = scope_new(c, c->root);
    size_t np = def->items2.n;
    tpl_value varargs = tv_list(c, 0);
    tpl_value kwargs = tv_dict(c, 0);
    for (size_t i = 0; i < a->n; i++) {
        if (i < np)
            tv_dict_set_cstr(c, sc->vars, def->names[i], a->v[i]);
        else
            tv_list_push(c, varargs, a->v[i]);
    }
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i;
        for (i = 0; i < np; i++)
            if (!strcmp(def->names[i], a->kw[k]))
                break;
        if (i == np) {
            tv_dict_set_cstr(c, kwargs, a->kw[k], a->kv[k]);
        } else {
            if (i < a->n)
                tpl_fail(c, at->pos, LLM_ERR_FORMAT, "macro '%s' got multiple values for "
                         "argument '%s'", def->name, a->kw[k]);
            tv_dict_set_cstr(c, sc->vars, def->names[i], a->kv[k]);
        }
    }
    for (size_t i = 0; i < np; i++) {
        if (tv_dict_get_cstr(sc->vars, def->names[i]))
            continue;
        tpl_value v = def->items2.v[i]
                          ? tpl_eval(c, def->items2.v[i], sc)
                          : tv_undef(undef_msg(c, "parameter '%s' of macro '%s' was not given",
                                               def->names[i], def->name));
        tv_dict_set_cstr(c, sc->vars, def->names[i], v);
    }
    tv_dict_set_cstr(c, sc->vars, "varargs", varargs);
    tv_dict_set_cstr(c, sc->vars, "kwargs", kwargs);
    tpl_buf *saved = c->out;
    tpl_buf capture = {0};
    capture.is_output = true;
    c->out = &capture;
    tpl_exec_body(c, &def->items, sc);
    c->out = saved;
    c->jump = 0;
    return tv_str_buf(c, &capture);
}

tpl_value tpl_call(tpl_ctx *c, const tpl_node *at, tpl_value fn, const tpl_args *a)
{
    switch (fn.kind) {
    case TV_FUNC:
        return fn.u.fn->fn(c, at, fn.u.fn->self, a);
    case TV_MACRO:
        return call_macro(c, at, fn.u.m->def, a);
    case TV_UNDEF:
        tv_undef_fail(c, at, fn);
    default:
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "'%s' object is not callable", tv_type_name(fn));
    }
}

static tpl_value apply_filter_node(tpl_ctx *c, const tpl_node *f, tpl_value v, tpl_scope *sc)
{
    tpl_args a;
    eval_args(c, f, sc, &a);
    return tpl_apply_filter(c, f, f->name, v, &a);
}

/* A filter chain parsed for a {% filter %} block or {% set x | f %}: innermost first. */
static tpl_value apply_chain(tpl_ctx *c, const tpl_node *f, tpl_value v, tpl_scope *sc)
{
    if (f->a)
        v = apply_chain(c, f->a, v, sc);
    return apply_filter_node(c, f, v, sc);
}

/* ---------------------------------------------------------------------------------------------- */
/* expressions                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

tpl_value tpl_eval(tpl_ctx *c, const tpl_node *n, tpl_scope *sc)
{
    enter(c, n->pos);
    tpl_value r;
    switch (n->kind) {
    case TN_LIT:
        r = n->lit;
        break;
    case TN_NAME: {
        tpl_value *v = scope_find(sc, n->name);
        r = v ? *v : tv_undef(undef_msg(c, "'%s' is undefined%s", n->name, ""));
        break;
    }
    case TN_LIST:
    case TN_TUPLE:
        r = tv_list(c, n->items.n);
        if (n->kind == TN_TUPLE)
            r.flag = TV_TUPLE;
        for (size_t i = 0; i < n->items.n; i++)
            tv_list_push(c, r, tpl_eval(c, n->items.v[i], sc));
        break;
    case TN_DICT:
        r = tv_dict(c, n->items.n);
        for (size_t i = 0; i < n->items.n; i++) {
            tpl_value k = tpl_eval(c, n->items.v[i], sc);
            if (k.kind == TV_LIST && !(k.flag & TV_TUPLE))
                tpl_fail(c, n->items.v[i]->pos, LLM_ERR_FORMAT, "unhashable type: 'list'");
            if (k.kind == TV_DICT)
                tpl_fail(c, n->items.v[i]->pos, LLM_ERR_FORMAT, "unhashable type: 'dict'");
            tv_dict_set(c, r, k, tpl_eval(c, n->items2.v[i], sc));
        }
        break;
    case TN_GETATTR:
        r = tpl_getattr(c, n, tpl_eval(c, n->a, sc), n->name);
        break;
    case TN_GETITEM: {
        tpl_value obj = tpl_eval(c, n->a, sc);
        r = tpl_getitem(c, n, obj, tpl_eval(c, n->b, sc));
        break;
    }
    case TN_SLICE: {
        tpl_value obj = tpl_eval(c, n->a, sc);
        tpl_value idx[3] = {tv_none(), tv_none(), tv_none()};
        if (n->b)
            idx[0] = tpl_eval(c, n->b, sc);
        if (n->c)
            idx[1] = tpl_eval(c, n->c, sc);
        if (n->d)
            idx[2] = tpl_eval(c, n->d, sc);
        r = do_slice(c, n, obj, idx);
        break;
    }
    case TN_CALL: {
        tpl_value fn = tpl_eval(c, n->a, sc);
        tpl_args a;
        eval_args(c, n, sc, &a);
        r = tpl_call(c, n, fn, &a);
        break;
    }
    case TN_FILTER:
        r = apply_filter_node(c, n, tpl_eval(c, n->a, sc), sc);
        break;
    case TN_TEST: {
        tpl_value v = tpl_eval(c, n->a, sc);
        tpl_args a;
        eval_args(c, n, sc, &a);
        r = tv_bool(tpl_apply_test(c, n, n->name, v, &a));
        break;
    }
    case TN_NOT:
        r = tv_bool(!tv_truthy(tpl_eval(c, n->a, sc)));
        break;
    case TN_NEG:
    case TN_POS: {
        tpl_value v = tpl_eval(c, n->a, sc);
        if (v.kind == TV_UNDEF)
            tv_undef_fail(c, n, v);
        if (!tv_is_number(v))
            tpl_fail(c, n->pos, LLM_ERR_FORMAT, "bad operand type for unary %c: '%s'",
                     n->kind == TN_NEG ? '-' : '+', tv_type_name(v));
        if (n->kind == TN_POS)
            r = v.kind == TV_BOOL ? tv_int(v.u.b) : v;
        else if (v.kind == TV_FLOAT)
            r = tv_float(-v.u.f);
        else if (ival(v) == INT64_MIN)
            tpl_fail(c, n->pos, LLM_ERR_LIMIT, "integer overflow in unary -");
        else
            r = tv_int(-ival(v));
        break;
    }
    case TN_BINOP: {
        tpl_value a = tpl_eval(c, n->a, sc);
        tpl_value b = tpl_eval(c, n->b, sc);
        if (n->op[0] == '~') {
            tpl_buf s = {0};
            tv_str_to(c, &s, a);
            tv_str_to(c, &s, b);
            r = tv_str_buf(c, &s);
        } else {
            r = arith(c, n, n->op, a, b);
        }
        break;
    }
    case TN_AND: {
        tpl_value a = tpl_eval(c, n->a, sc);
        r = tv_truthy(a) ? tpl_eval(c, n->b, sc) : a;
        break;
    }
    case TN_OR: {
        tpl_value a = tpl_eval(c, n->a, sc);
        r = tv_truthy(a) ? a : tpl_eval(c, n->b, sc);
        break;
    }
    case TN_CMP: {
        tpl_value a = tpl_eval(c, n->a, sc);
        tpl_value b = tpl_eval(c, n->b, sc);
        if (n->op[0] == '=')
            r = tv_bool(tv_equal(c, a, b));
        else if (n->op[0] == '!')
            r = tv_bool(!tv_equal(c, a, b));
        else {
            int k = tv_compare(c, n, a, b);
            bool res = n->op[0] == '<' ? (n->op[1] ? k <= 0 : k < 0)
                                       : (n->op[1] ? k >= 0 : k > 0);
            r = tv_bool(res);
        }
        break;
    }
    case TN_IN:
    case TN_NOTIN: {
        tpl_value a = tpl_eval(c, n->a, sc);
        tpl_value b = tpl_eval(c, n->b, sc);
        bool in = contains(c, n, b, a);
        r = tv_bool(n->kind == TN_IN ? in : !in);
        break;
    }
    case TN_COND:
        if (tv_truthy(tpl_eval(c, n->b, sc)))
            r = tpl_eval(c, n->a, sc);
        else
            r = n->c ? tpl_eval(c, n->c, sc)
                     : tv_undef("the inline if has no else branch and its condition was false");
        break;
    default:
        tpl_fail(c, n->pos, LLM_ERR_FORMAT, "this statement cannot be used as an expression");
    }
    leave(c);
    return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* statements                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

static void assign(tpl_ctx *c, const tpl_node *target, tpl_value v, tpl_scope *sc)
{
    if (target->kind == TN_NAME) {
        tv_dict_set_cstr(c, sc->vars, target->name, v);
        return;
    }
    if (target->kind == TN_GETATTR) {
        tpl_value ns = tpl_eval(c, target->a, sc);
        if (!(ns.kind == TV_DICT && ns.flag == TV_NAMESPACE))
            tpl_fail(c, target->pos, LLM_ERR_FORMAT, "cannot assign attribute '%s': '%s' is not "
                     "a namespace()", target->name, target->a->name);
        tv_dict_set_cstr(c, ns, target->name, v);
        return;
    }
    /* tuple unpacking */
    tpl_value items = tpl_iterate(c, target, v);
    if (items.u.l->n != target->items.n)
        tpl_fail(c, target->pos, LLM_ERR_FORMAT, "cannot unpack %zu values into %zu names",
                 items.u.l->n, target->items.n);
    for (size_t i = 0; i < target->items.n; i++)
        assign(c, target->items.v[i], items.u.l->v[i], sc);
}

static void exec_for(tpl_ctx *c, const tpl_node *n, tpl_scope *sc)
{
    tpl_value iter = tpl_eval(c, n->b, sc);
    if (iter.kind == TV_NONE)
        tpl_fail(c, n->b->pos, LLM_ERR_FORMAT, "'NoneType' object is not iterable");
    tpl_value items = tpl_iterate(c, n->b, iter);
    /* One scope serves every iteration: it is cut back to the loop's own names each time, so
     * each iteration starts fresh (as in Jinja) without allocating per iteration. */
    if (n->c) {
        tpl_value kept = tv_list(c, items.u.l->n);
        tpl_scope *fs = scope_new(c, sc);
        for (size_t i = 0; i < items.u.l->n; i++) {
            tpl_step(c, n->pos, 1);
            fs->vars.u.d->n = 0;
            assign(c, n->a, items.u.l->v[i], fs);
            if (tv_truthy(tpl_eval(c, n->c, fs)))
                tv_list_push(c, kept, items.u.l->v[i]);
        }
        items = kept;
    }
    if (items.u.l->n == 0) {
        if (n->items2.n)
            tpl_exec_body(c, &n->items2, sc);
        return;
    }
    tpl_loop *lp = tpl_alloc(c, sizeof *lp);
    lp->items = items;
    tpl_value lv = {0};
    lv.kind = TV_LOOP;
    lv.u.loop = lp;
    tpl_scope *is = scope_new(c, sc);
    size_t base = 0;
    for (size_t i = 0; i < items.u.l->n; i++) {
        tpl_step(c, n->pos, 1);
        lp->index0 = i;
        is->vars.u.d->n = base;
        tv_dict_set_cstr(c, is->vars, "loop", lv);
        assign(c, n->a, items.u.l->v[i], is);
        if (i == 0)
            base = is->vars.u.d->n;
        tpl_exec_body(c, &n->items, is);
        if (c->jump == 1) {
            c->jump = 0;
            break;
        }
        c->jump = 0;
    }
}

static void exec_node(tpl_ctx *c, const tpl_node *n, tpl_scope *sc)
{
    enter(c, n->pos);
    switch (n->kind) {
    case TN_TEXT:
        tpl_buf_put(c, c->out, n->text, n->text_n);
        break;
    case TN_OUTPUT:
        tv_str_to(c, c->out, tpl_eval(c, n->a, sc));
        break;
    case TN_IF:
        if (tv_truthy(tpl_eval(c, n->a, sc)))
            tpl_exec_body(c, &n->items, sc);
        else
            tpl_exec_body(c, &n->items2, sc);
        break;
    case TN_FOR:
        exec_for(c, n, sc);
        break;
    case TN_SET:
        assign(c, n->a, tpl_eval(c, n->b, sc), sc);
        break;
    case TN_SETBLOCK:
    case TN_FILTERBLOCK: {
        tpl_buf *saved = c->out;
        tpl_buf capture = {0};
        capture.is_output = true;
        c->out = &capture;
        tpl_exec_body(c, &n->items, sc);
        c->out = saved;
        tpl_value v = tv_str_buf(c, &capture);
        if (n->c)
            v = apply_chain(c, n->c, v, sc);
        if (n->kind == TN_SETBLOCK)
            assign(c, n->a, v, sc);
        else
            tv_str_to(c, c->out, v);
        break;
    }
    case TN_MACRO: {
        tpl_macro *m = tpl_alloc(c, sizeof *m);
        m->def = n;
        tpl_value v = {0};
        v.kind = TV_MACRO;
        v.u.m = m;
        tv_dict_set_cstr(c, sc->vars, n->name, v);
        break;
    }
    case TN_BREAK:
        c->jump = 1;
        break;
    case TN_CONTINUE:
        c->jump = 2;
        break;
    case TN_WITH: {
        tpl_scope *ws = scope_new(c, sc);
        for (size_t i = 0; i < n->items2.n; i++)
            tv_dict_set_cstr(c, ws->vars, n->names[i], tpl_eval(c, n->items2.v[i], sc));
        tpl_exec_body(c, &n->items, ws);
        break;
    }
    case TN_BODY:
        tpl_exec_body(c, &n->items, sc);
        break;
    default:
        tv_str_to(c, c->out, tpl_eval(c, n, sc));
        break;
    }
    leave(c);
}

void tpl_exec_body(tpl_ctx *c, const tpl_nodes *body, tpl_scope *sc)
{
    for (size_t i = 0; i < body->n && !c->jump; i++)
        exec_node(c, body->v[i], sc);
}
