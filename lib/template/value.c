/*
 * The value model with Python's semantics where templates can observe them: truthiness, ==
 * across int/float/bool, ordering, str() and repr() (what `{{ x }}` prints for lists, dicts,
 * floats and None). Lists and dicts are immutable once built (the sandbox forbids changing them);
 * only a namespace() dict is assigned into.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "template/tpl_internal.h"

tpl_value tv_str(tpl_ctx *c, const char *s, size_t n)
{
    tpl_str *st = tpl_alloc(c, sizeof *st + n + 1);
    st->n = n;
    if (n)
        memcpy(st->p, s, n);
    st->p[n] = '\0';
    tpl_value v = {0};
    v.kind = TV_STR;
    v.u.s = st;
    return v;
}

tpl_value tv_cstr(tpl_ctx *c, const char *s)
{
    return tv_str(c, s, strlen(s));
}

tpl_value tv_str_buf(tpl_ctx *c, const tpl_buf *b)
{
    return tv_str(c, b->p ? b->p : "", b->len);
}

tpl_value tv_list(tpl_ctx *c, size_t cap)
{
    tpl_list *l = tpl_alloc(c, sizeof *l);
    l->cap = cap;
    if (cap)
        l->v = tpl_alloc(c, cap * sizeof *l->v);
    tpl_value v = {0};
    v.kind = TV_LIST;
    v.u.l = l;
    return v;
}

tpl_value tv_tuple2(tpl_ctx *c, tpl_value a, tpl_value b)
{
    tpl_value t = tv_list(c, 2);
    t.flag = TV_TUPLE;
    tv_list_push(c, t, a);
    tv_list_push(c, t, b);
    return t;
}

tpl_value tv_dict(tpl_ctx *c, size_t cap)
{
    tpl_dict *d = tpl_alloc(c, sizeof *d);
    d->cap = cap;
    if (cap) {
        d->k = tpl_alloc(c, cap * sizeof *d->k);
        d->v = tpl_alloc(c, cap * sizeof *d->v);
    }
    tpl_value v = {0};
    v.kind = TV_DICT;
    v.u.d = d;
    return v;
}

tpl_value tv_func(tpl_ctx *c, const char *name, tpl_builtin_fn fn, tpl_value self)
{
    tpl_func *f = tpl_alloc(c, sizeof *f);
    f->name = name;
    f->fn = fn;
    f->self = self;
    tpl_value v = {0};
    v.kind = TV_FUNC;
    v.u.fn = f;
    return v;
}

void tv_list_push(tpl_ctx *c, tpl_value list, tpl_value item)
{
    tpl_list *l = list.u.l;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        tpl_value *nv = tpl_alloc(c, cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = item;
}

tpl_value *tv_dict_get(tpl_value dict, tpl_value key)
{
    tpl_dict *d = dict.u.d;
    for (size_t i = 0; i < d->n; i++) {
        tpl_value k = d->k[i];
        if (k.kind == TV_STR && key.kind == TV_STR) {
            if (k.u.s->n == key.u.s->n && memcmp(k.u.s->p, key.u.s->p, k.u.s->n) == 0)
                return &d->v[i];
        } else if (tv_equal(NULL, k, key)) {
            return &d->v[i];
        }
    }
    return NULL;
}

tpl_value *tv_dict_get_cstr(tpl_value dict, const char *key)
{
    tpl_dict *d = dict.u.d;
    size_t n = strlen(key);
    for (size_t i = 0; i < d->n; i++) {
        tpl_value k = d->k[i];
        if (k.kind == TV_STR && k.u.s->n == n && memcmp(k.u.s->p, key, n) == 0)
            return &d->v[i];
    }
    return NULL;
}

void tv_dict_set(tpl_ctx *c, tpl_value dict, tpl_value key, tpl_value val)
{
    tpl_value *slot = tv_dict_get(dict, key);
    if (slot) {
        *slot = val;
        return;
    }
    tpl_dict *d = dict.u.d;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        tpl_value *nk = tpl_alloc(c, cap * sizeof *nk);
        tpl_value *nv = tpl_alloc(c, cap * sizeof *nv);
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof *nk);
            memcpy(nv, d->v, d->n * sizeof *nv);
        }
        d->k = nk;
        d->v = nv;
        d->cap = cap;
    }
    d->k[d->n] = key;
    d->v[d->n] = val;
    d->n++;
}

void tv_dict_set_cstr(tpl_ctx *c, tpl_value dict, const char *key, tpl_value val)
{
    tpl_value *slot = tv_dict_get_cstr(dict, key);   /* no key copy when it is already there */
    if (slot)
        *slot = val;
    else
        tv_dict_set(c, dict, tv_cstr(c, key), val);
}

/* ---------------------------------------------------------------------------------------------- */

bool tv_truthy(tpl_value v)
{
    switch (v.kind) {
    case TV_UNDEF: case TV_NONE: return false;
    case TV_BOOL: return v.u.b;
    case TV_INT: return v.u.i != 0;
    case TV_FLOAT: return v.u.f != 0.0;
    case TV_STR: return v.u.s->n != 0;
    case TV_LIST: return (v.flag & TV_GEN) || v.u.l->n != 0;
    case TV_DICT: return v.flag == TV_NAMESPACE || v.u.d->n != 0;
    default: return true;
    }
}

bool tv_is_number(tpl_value v)
{
    return v.kind == TV_INT || v.kind == TV_FLOAT || v.kind == TV_BOOL;
}

double tv_as_double(tpl_value v)
{
    return v.kind == TV_FLOAT ? v.u.f : v.kind == TV_BOOL ? (double)v.u.b : (double)v.u.i;
}

static int64_t as_int(tpl_value v)
{
    return v.kind == TV_BOOL ? (int64_t)v.u.b : v.u.i;
}

/* Value recursion (==, repr, tojson) is bounded by max_depth like evaluation. Equality is also
 * called without a context (dict key lookup, where keys are flat); it then recurses unbounded
 * only through keys, which are never containers. */
static void enter(tpl_ctx *c)
{
    if (c && ++c->depth > c->lim.max_depth)
        tpl_fail(c, (size_t)-1, LLM_ERR_LIMIT,
                 "a value is nested more than %u levels deep (raise max_depth to allow it)",
                 c->lim.max_depth);
}
static void leave(tpl_ctx *c)
{
    if (c)
        c->depth--;
}

bool tv_equal(tpl_ctx *c, tpl_value a, tpl_value b)
{
    if (tv_is_number(a) && tv_is_number(b)) {
        if (a.kind != TV_FLOAT && b.kind != TV_FLOAT)
            return as_int(a) == as_int(b);
        return tv_as_double(a) == tv_as_double(b);
    }
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case TV_UNDEF: case TV_NONE: return true;
    case TV_STR: return a.u.s->n == b.u.s->n && memcmp(a.u.s->p, b.u.s->p, a.u.s->n) == 0;
    case TV_LIST: {
        if (a.flag != b.flag || (a.flag & TV_GEN) || a.u.l->n != b.u.l->n)
            return false;
        if (a.u.l == b.u.l)
            return true;
        enter(c);
        bool eq = true;
        for (size_t i = 0; eq && i < a.u.l->n; i++)
            eq = tv_equal(c, a.u.l->v[i], b.u.l->v[i]);
        leave(c);
        return eq;
    }
    case TV_DICT: {
        if (a.u.d == b.u.d)
            return true;
        if (a.flag != b.flag || a.flag == TV_NAMESPACE || a.u.d->n != b.u.d->n)
            return false;
        enter(c);
        bool eq = true;
        for (size_t i = 0; eq && i < a.u.d->n; i++) {
            tpl_value *o = tv_dict_get(b, a.u.d->k[i]);
            eq = o && tv_equal(c, a.u.d->v[i], *o);
        }
        leave(c);
        return eq;
    }
    case TV_FUNC: return a.u.fn == b.u.fn;
    case TV_MACRO: return a.u.m == b.u.m;
    case TV_LOOP: return a.u.loop == b.u.loop;
    default: return false;
    }
}

const char *tv_type_name(tpl_value v)
{
    switch (v.kind) {
    case TV_UNDEF: return "Undefined";
    case TV_NONE: return "NoneType";
    case TV_BOOL: return "bool";
    case TV_INT: return "int";
    case TV_FLOAT: return "float";
    case TV_STR: return "str";
    case TV_LIST: return v.flag & TV_GEN ? "generator" : v.flag & TV_TUPLE ? "tuple" : "list";
    case TV_DICT: return v.flag == TV_NAMESPACE ? "Namespace" : "dict";
    case TV_FUNC: return "builtin_function_or_method";
    case TV_MACRO: return "Macro";
    default: return "LoopContext";
    }
}

int tv_compare(tpl_ctx *c, const struct tpl_node *at, tpl_value a, tpl_value b)
{
    size_t pos = at ? at->pos : (size_t)-1;
    if (a.kind == TV_UNDEF)
        tv_undef_fail(c, at, a);
    if (b.kind == TV_UNDEF)
        tv_undef_fail(c, at, b);
    if (tv_is_number(a) && tv_is_number(b)) {
        if (a.kind != TV_FLOAT && b.kind != TV_FLOAT)
            return as_int(a) < as_int(b) ? -1 : as_int(a) > as_int(b);
        double x = tv_as_double(a), y = tv_as_double(b);
        return x < y ? -1 : x > y;
    }
    if (a.kind == TV_STR && b.kind == TV_STR) {
        size_t n = a.u.s->n < b.u.s->n ? a.u.s->n : b.u.s->n;
        int r = memcmp(a.u.s->p, b.u.s->p, n);   /* UTF-8 byte order is code point order */
        if (r)
            return r < 0 ? -1 : 1;
        return a.u.s->n < b.u.s->n ? -1 : a.u.s->n > b.u.s->n;
    }
    if (a.kind == TV_LIST && b.kind == TV_LIST && a.flag == b.flag && !(a.flag & TV_GEN)) {
        enter(c);
        size_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (size_t i = 0; i < n; i++) {
            if (tv_equal(c, a.u.l->v[i], b.u.l->v[i]))
                continue;
            int r = tv_compare(c, at, a.u.l->v[i], b.u.l->v[i]);
            leave(c);
            return r;
        }
        leave(c);
        return a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n;
    }
    tpl_fail(c, pos, LLM_ERR_FORMAT, "cannot order '%s' and '%s' values", tv_type_name(a),
             tv_type_name(b));
}

/* ---------------------------------------------------------------------------------------------- */
/* str() and repr()                                                                               */
/* ---------------------------------------------------------------------------------------------- */

void tv_float_repr(double f, char out[32])
{
    if (isnan(f)) {
        memcpy(out, "nan", 4);
        return;
    }
    if (isinf(f)) {
        memcpy(out, f < 0 ? "-inf" : "inf", f < 0 ? 5 : 4);
        return;
    }
    /* The shortest %.{p}e that reads back exactly gives Python's digits and exponent. */
    char e[40];
    int p;
    for (p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, f);
        if (strtod(e, NULL) == f)
            break;
    }
    /* e = "-d.ddde[+-]XX" */
    const char *s = e;
    bool neg = *s == '-';
    if (neg)
        s++;
    char digits[24];
    size_t nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[nd++] = *s;
    int exp = *s == 'e' ? (int)strtol(s + 1, NULL, 10) : 0;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (exp < -4 || exp >= 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        }
        int ae = exp < 0 ? -exp : exp;   /* |exp| <= 324 */
        *o++ = 'e';
        *o++ = exp < 0 ? '-' : '+';
        if (ae >= 100)
            *o++ = (char)('0' + ae / 100);
        *o++ = (char)('0' + ae / 10 % 10);
        *o++ = (char)('0' + ae % 10);
        *o = '\0';
        return;
    }
    if (exp < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int k = 0; k < -exp - 1; k++)
            *o++ = '0';
        memcpy(o, digits, nd);
        o += nd;
    } else {
        for (int k = 0; k <= exp; k++)
            *o++ = (size_t)k < nd ? digits[k] : '0';
        *o++ = '.';
        if ((size_t)exp + 1 < nd) {
            memcpy(o, digits + exp + 1, nd - (size_t)exp - 1);
            o += nd - (size_t)exp - 1;
        } else {
            *o++ = '0';
        }
    }
    *o = '\0';
}

static void repr_str(tpl_ctx *c, tpl_buf *b, const char *s, size_t n)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    tpl_buf_putc(c, b, q);
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        uint32_t cp = tpl_utf8_next(s, n, &i);
        if (cp == (uint32_t)q || cp == '\\') {
            tpl_buf_putc(c, b, '\\');
            tpl_buf_putc(c, b, (char)cp);
        } else if (cp == '\n') {
            tpl_buf_put(c, b, "\\n", 2);
        } else if (cp == '\r') {
            tpl_buf_put(c, b, "\\r", 2);
        } else if (cp == '\t') {
            tpl_buf_put(c, b, "\\t", 2);
        } else if (cp < 0x20 || cp == 0x7F) {
            tpl_buf_putf(c, b, "\\x%02x", cp);
        } else if (cp < 0x80) {
            tpl_buf_putc(c, b, (char)cp);
        } else {
            /* Python escapes what str.isprintable() rejects: controls, format characters,
             * separators other than the ASCII space, unassigned and private-use code points. */
            utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
            bool printable = !(cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                               cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO ||
                               cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_ZL ||
                               cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_ZS);
            if (printable)
                tpl_buf_put(c, b, s + start, i - start);
            else if (cp < 0x100)
                tpl_buf_putf(c, b, "\\x%02x", cp);
            else if (cp < 0x10000)
                tpl_buf_putf(c, b, "\\u%04x", cp);
            else
                tpl_buf_putf(c, b, "\\U%08x", cp);
        }
    }
    tpl_buf_putc(c, b, q);
}

static void put_scalar(tpl_ctx *c, tpl_buf *b, tpl_value v)
{
    char tmp[32];
    switch (v.kind) {
    case TV_NONE: tpl_buf_put(c, b, "None", 4); break;
    case TV_BOOL: tpl_buf_put(c, b, v.u.b ? "True" : "False", v.u.b ? 4 : 5); break;
    case TV_INT: tpl_buf_putf(c, b, "%lld", (long long)v.u.i); break;
    case TV_FLOAT: tv_float_repr(v.u.f, tmp); tpl_buf_put(c, b, tmp, strlen(tmp)); break;
    case TV_FUNC: tpl_buf_putf(c, b, "<built-in function %s>", v.u.fn->name); break;
    case TV_MACRO: tpl_buf_putf(c, b, "<Macro '%s'>", v.u.m->def->name); break;
    case TV_LOOP: tpl_buf_put(c, b, "<LoopContext>", 13); break;
    default: break;
    }
}

void tv_repr_to(tpl_ctx *c, tpl_buf *b, tpl_value v)
{
    switch (v.kind) {
    case TV_UNDEF: break;  /* Undefined's repr is never reached from templates that render */
    case TV_STR: repr_str(c, b, v.u.s->p, v.u.s->n); break;
    case TV_LIST: {
        bool tuple = v.flag & TV_TUPLE;
        if (v.flag & TV_GEN) {
            tpl_buf_put(c, b, "<generator object>", 18);
            break;
        }
        enter(c);
        tpl_buf_putc(c, b, tuple ? '(' : '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                tpl_buf_put(c, b, ", ", 2);
            tv_repr_to(c, b, v.u.l->v[i]);
        }
        if (tuple && v.u.l->n == 1)
            tpl_buf_putc(c, b, ',');
        tpl_buf_putc(c, b, tuple ? ')' : ']');
        leave(c);
        break;
    }
    case TV_DICT: {
        enter(c);
        if (v.flag == TV_NAMESPACE)
            tpl_buf_put(c, b, "<Namespace ", 11);
        tpl_buf_putc(c, b, '{');
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i)
                tpl_buf_put(c, b, ", ", 2);
            tv_repr_to(c, b, v.u.d->k[i]);
            tpl_buf_put(c, b, ": ", 2);
            tv_repr_to(c, b, v.u.d->v[i]);
        }
        tpl_buf_putc(c, b, '}');
        if (v.flag == TV_NAMESPACE)
            tpl_buf_putc(c, b, '>');
        leave(c);
        break;
    }
    default: put_scalar(c, b, v); break;
    }
}

void tv_str_to(tpl_ctx *c, tpl_buf *b, tpl_value v)
{
    if (v.kind == TV_STR)
        tpl_buf_put(c, b, v.u.s->p, v.u.s->n);
    else if (v.kind != TV_UNDEF)
        tv_repr_to(c, b, v);
}

tpl_value tv_to_str(tpl_ctx *c, tpl_value v)
{
    if (v.kind == TV_STR)
        return v;
    tpl_buf b = {0};
    tv_str_to(c, &b, v);
    return tv_str_buf(c, &b);
}

void tv_undef_fail(tpl_ctx *c, const struct tpl_node *at, tpl_value v)
{
    tpl_fail(c, at ? at->pos : (size_t)-1, LLM_ERR_FORMAT, "%s",
             v.u.undef ? v.u.undef : "a value is undefined");
}
