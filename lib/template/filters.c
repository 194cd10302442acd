/*
 * Jinja2's built-in filters that chat templates use, with Jinja's argument names and defaults
 * (https://jinja.palletsprojects.com/en/3.1.x/templates/#list-of-builtin-filters), and
 * Hugging Face's own `tojson` (json.dumps with ensure_ascii=False, no HTML escaping).
 * Filters that depend on the outside world (random, urlize with its URL rules, filesizeformat,
 * pprint, xmlattr) are not provided: an unknown filter is a named error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "template/tpl_internal.h"

tpl_value tpl_splitlines(tpl_ctx *c, tpl_value s, bool keepends);
tpl_value tpl_str_replace(tpl_ctx *c, tpl_value s, tpl_value old, tpl_value new_, int64_t count);

typedef tpl_value (*filter_fn)(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a);

static tpl_value str_of(tpl_ctx *c, tpl_value v)
{
    return tv_to_str(c, v);
}

static const tpl_value *arg(const tpl_args *a, size_t i, const char *name)
{
    return tpl_arg(a, i, name);
}

static bool arg_bool(const tpl_args *a, size_t i, const char *name, bool def)
{
    const tpl_value *v = arg(a, i, name);
    return v ? tv_truthy(*v) : def;
}

static tpl_value seq_of(tpl_ctx *c, const tpl_node *at, tpl_value v)
{
    return tpl_iterate(c, at, v);
}

/* Jinja's attribute getter for filters: "a.b" and "0" walk into items. */
static tpl_value get_path(tpl_ctx *c, const tpl_node *at, tpl_value v, tpl_value attr)
{
    if (attr.kind == TV_INT)
        return tpl_getitem(c, at, v, attr);
    if (attr.kind != TV_STR)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "attribute names must be strings");
    const char *p = attr.u.s->p;
    size_t n = attr.u.s->n, b = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.')
            continue;
        tpl_value part = tv_str(c, p + b, i - b);
        bool digits = i > b;
        for (size_t k = b; k < i; k++)
            if (p[k] < '0' || p[k] > '9')
                digits = false;
        if (v.kind == TV_UNDEF)
            return v;
        v = digits ? tpl_getitem(c, at, v, tv_int(strtoll(part.u.s->p, NULL, 10)))
                   : tpl_getitem(c, at, v, part);
        b = i + 1;
    }
    return v;
}

/* ---------------------------------------------------------------------------------------------- */

static tpl_value f_trim(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    tpl_value s = str_of(c, v);
    const tpl_value *ch = arg(a, 0, "chars");
    size_t b, n;
    if (ch && ch->kind == TV_STR)
        tpl_strip(s.u.s->p, s.u.s->n, ch->u.s->p, ch->u.s->n, true, true, &b, &n);
    else
        tpl_strip(s.u.s->p, s.u.s->n, NULL, 0, true, true, &b, &n);
    (void)at;
    return tv_str(c, s.u.s->p + b, n);
}

static tpl_value f_length(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    switch (v.kind) {
    case TV_UNDEF: return tv_int(0);
    case TV_STR: return tv_int((int64_t)tpl_utf8_count(v.u.s->p, v.u.s->n));
    case TV_LIST:
        if (v.flag & TV_GEN)
            break;
        return tv_int((int64_t)v.u.l->n);
    case TV_DICT: return tv_int((int64_t)v.u.d->n);
    default: break;
    }
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "object of type '%s' has no len()", tv_type_name(v));
}
static tpl_value f_tojson(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    /* HF: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) */
    static const char *const kw[] = {"ensure_ascii", "indent", "separators", "sort_keys", NULL};
    tpl_args_check(c, at, "tojson", a, 4, kw);
    const tpl_value *ea = arg(a, 0, "ensure_ascii");
    if (ea && tv_truthy(*ea))
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "tojson(ensure_ascii=True) is not supported");
    const tpl_value *ind = arg(a, 1, "indent");
    const tpl_value *sep = arg(a, 2, "separators");
    bool sort = arg_bool(a, 3, "sort_keys", false);
    const char *indent = NULL;
    if (ind && ind->kind == TV_INT) {
        int64_t k = ind->u.i < 0 ? 0 : ind->u.i > 64 ? 64 : ind->u.i;
        char *s = tpl_alloc(c, (size_t)k + 1);
        memset(s, ' ', (size_t)k);
        indent = s;
    } else if (ind && ind->kind == TV_STR) {
        indent = ind->u.s->p;
    } else if (ind && ind->kind != TV_NONE) {
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "tojson indent must be an integer or a string");
    }
    const char *item_sep = indent ? "," : ", ", *key_sep = ": ";
    if (sep && sep->kind == TV_LIST && sep->u.l->n == 2 && sep->u.l->v[0].kind == TV_STR &&
        sep->u.l->v[1].kind == TV_STR) {
        item_sep = sep->u.l->v[0].u.s->p;
        key_sep = sep->u.l->v[1].u.s->p;
    } else if (sep && sep->kind != TV_NONE) {
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "tojson separators must be a pair of strings");
    }
    tpl_buf b = {0};
    tpl_to_json(c, at, &b, v, indent, item_sep, key_sep, sort, 0);
    return tv_str_buf(c, &b);
}

static tpl_value f_items(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    if (v.kind == TV_UNDEF)
        return tv_list(c, 0);
    if (v.kind != TV_DICT)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "can only get item pairs from a mapping, not '%s'",
                 tv_type_name(v));
    tpl_value r = tv_list(c, v.u.d->n);
    for (size_t i = 0; i < v.u.d->n; i++)
        tv_list_push(c, r, tv_tuple2(c, v.u.d->k[i], v.u.d->v[i]));
    return r;
}

static tpl_value f_list(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    tpl_value l = seq_of(c, at, v);
    if (l.kind == TV_LIST && l.flag) {
        tpl_value r = tv_list(c, l.u.l->n);
        for (size_t i = 0; i < l.u.l->n; i++)
            tv_list_push(c, r, l.u.l->v[i]);
        return r;
    }
    return l;
}

static tpl_value f_string(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    return str_of(c, v);
}

static tpl_value f_join(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *d = arg(a, 0, "d");
    const tpl_value *attr = arg(a, 1, "attribute");
    tpl_value items = seq_of(c, at, v);
    tpl_buf b = {0};
    tpl_value sep = d ? str_of(c, *d) : tv_str(c, "", 0);
    for (size_t i = 0; i < items.u.l->n; i++) {
        if (i)
            tpl_buf_put(c, &b, sep.u.s->p, sep.u.s->n);
        tpl_value x = items.u.l->v[i];
        if (attr)
            x = get_path(c, at, x, *attr);
        tv_str_to(c, &b, x);
    }
    return tv_str_buf(c, &b);
}

static tpl_value f_default(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    const tpl_value *d = arg(a, 0, "default_value");
    bool boolean = arg_bool(a, 1, "boolean", false);
    if (v.kind == TV_UNDEF || (boolean && !tv_truthy(v)))
        return d ? *d : tv_str(c, "", 0);
    return v;
}

static tpl_value f_first(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    tpl_value l = seq_of(c, at, v);
    return l.u.l->n ? l.u.l->v[0] : tv_undef("first: the sequence is empty");
}

static tpl_value f_last(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    tpl_value l = seq_of(c, at, v);
    return l.u.l->n ? l.u.l->v[l.u.l->n - 1] : tv_undef("last: the sequence is empty");
}

static tpl_value f_upper(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    return tpl_case_map(c, str_of(c, v), 1);
}
static tpl_value f_lower(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    return tpl_case_map(c, str_of(c, v), 0);
}
static tpl_value f_capitalize(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    return tpl_case_map(c, str_of(c, v), 2);
}

/* Jinja's title: words begin after '-', whitespace, '(', '{', '[', '<'. */
static tpl_value f_title(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    tpl_value s = str_of(c, v);
    tpl_buf b = {0};
    const char *p = s.u.s->p;
    size_t n = s.u.s->n, i = 0;
    bool start = true;
    while (i < n) {
        size_t j = i;
        uint32_t cp = tpl_utf8_next(p, n, &j);
        bool sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' ||
                   tpl_is_space(cp);
        tpl_value one = tv_str(c, p + i, j - i);
        if (sep) {
            tpl_buf_put(c, &b, p + i, j - i);
            start = true;
        } else {
            tpl_value m = tpl_case_map(c, one, start ? 1 : 0);
            tpl_buf_put(c, &b, m.u.s->p, m.u.s->n);
            start = false;
        }
        i = j;
    }
    return tv_str_buf(c, &b);
}

static tpl_value f_replace(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *o = arg(a, 0, "old"), *n = arg(a, 1, "new"), *k = arg(a, 2, "count");
    if (!o || !n)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "replace needs the old and new strings");
    return tpl_str_replace(c, str_of(c, v), str_of(c, *o), str_of(c, *n),
                           k && k->kind == TV_INT ? k->u.i : -1);
}

static tpl_value f_int(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    const tpl_value *d = arg(a, 0, "default");
    tpl_value def = d ? *d : tv_int(0);
    if (v.kind == TV_UNDEF)   /* int(Undefined) fails in Jinja too */
        tv_undef_fail(c, at, v);
    switch (v.kind) {
    case TV_INT: return v;
    case TV_BOOL: return tv_int(v.u.b);
    case TV_FLOAT:
        if (!isfinite(v.u.f) || fabs(v.u.f) >= 9.2e18)
            return def;
        return tv_int((int64_t)v.u.f);
    case TV_STR: {
        char *end;
        const char *p = v.u.s->p;
        long long x = strtoll(p, &end, 10);
        size_t b, n;
        tpl_strip(end, v.u.s->n - (size_t)(end - p), NULL, 0, true, true, &b, &n);
        if (end != p && n == 0)
            return tv_int(x);
        double f = strtod(p, &end);
        tpl_strip(end, v.u.s->n - (size_t)(end - p), NULL, 0, true, true, &b, &n);
        if (end != p && n == 0 && isfinite(f) && fabs(f) < 9.2e18)
            return tv_int((int64_t)f);
        return def;
    }
    default: return def;
    }
}

static tpl_value f_float(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *d = arg(a, 0, "default");
    tpl_value def = d ? *d : tv_float(0.0);
    if (v.kind == TV_UNDEF)
        tv_undef_fail(c, at, v);
    if (tv_is_number(v))
        return tv_float(tv_as_double(v));
    if (v.kind == TV_STR) {
        char *end;
        double f = strtod(v.u.s->p, &end);
        size_t b, n;
        tpl_strip(end, v.u.s->n - (size_t)(end - v.u.s->p), NULL, 0, true, true, &b, &n);
        if (end != v.u.s->p && n == 0)
            return tv_float(f);
    }
    return def;
}

static tpl_value f_abs(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    if (v.kind == TV_FLOAT)
        return tv_float(fabs(v.u.f));
    if (v.kind == TV_INT && v.u.i != INT64_MIN)
        return tv_int(v.u.i < 0 ? -v.u.i : v.u.i);
    if (v.kind == TV_BOOL)
        return tv_int(v.u.b);
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "bad operand type for abs(): '%s'", tv_type_name(v));
}

static tpl_value f_round(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *p = arg(a, 0, "precision");
    const tpl_value *m = arg(a, 1, "method");
    int64_t prec = p && p->kind == TV_INT ? p->u.i : 0;
    if (!tv_is_number(v))
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "round needs a number, got '%s'", tv_type_name(v));
    double x = tv_as_double(v), scale = pow(10.0, (double)prec);
    const char *method = m && m->kind == TV_STR ? m->u.s->p : "common";
    if (!strcmp(method, "common") && v.kind != TV_FLOAT && prec >= 0)
        return tv_int(v.kind == TV_BOOL ? v.u.b : v.u.i);   /* Python's round(int) is an int */
    double r;
    if (!strcmp(method, "common")) {
        /* Python's round(): half to even, on the exact value */
        double y = x * scale;
        r = nearbyint(y) / scale;
    } else if (!strcmp(method, "ceil")) {
        r = ceil(x * scale) / scale;
    } else if (!strcmp(method, "floor")) {
        r = floor(x * scale) / scale;
    } else {
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "round method must be common, ceil or floor");
    }
    return tv_float(r);
}

static tpl_value f_indent(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *w = arg(a, 0, "width");
    bool first = arg_bool(a, 1, "first", false);
    bool blank = arg_bool(a, 2, "blank", false);
    tpl_buf ind = {0};
    if (w && w->kind == TV_STR) {
        tpl_buf_put(c, &ind, w->u.s->p, w->u.s->n);
    } else {
        int64_t k = w && w->kind == TV_INT ? w->u.i : 4;
        for (int64_t i = 0; i < k && i < 1024; i++)
            tpl_buf_putc(c, &ind, ' ');
    }
    if (v.kind == TV_UNDEF)
        tv_undef_fail(c, at, v);
    if (v.kind != TV_STR)   /* Jinja's indent appends "\n" to the value: only strings work */
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "indent needs a string, got '%s'", tv_type_name(v));
    tpl_value s = v;
    tpl_buf t = {0};
    tpl_buf_put(c, &t, s.u.s->p, s.u.s->n);
    tpl_buf_putc(c, &t, '\n');  /* Jinja appends a newline so that splitlines keeps the last */
    tpl_value lines = tpl_splitlines(c, tv_str_buf(c, &t), false);
    tpl_buf b = {0};
    for (size_t i = 0; i < lines.u.l->n; i++) {
        tpl_value ln = lines.u.l->v[i];
        if (i)
            tpl_buf_putc(c, &b, '\n');
        if ((i > 0 || first) && (blank || ln.u.s->n))
            tpl_buf_put(c, &b, ind.p, ind.len);
        else if (i == 0 && first)
            tpl_buf_put(c, &b, ind.p, ind.len);
        tpl_buf_put(c, &b, ln.u.s->p, ln.u.s->n);
    }
    return tv_str_buf(c, &b);
}

static tpl_value f_wordcount(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    tpl_value s = str_of(c, v);
    int64_t k = 0;
    bool in = false;
    for (size_t i = 0; i < s.u.s->n; i++) {
        unsigned char ch = (unsigned char)s.u.s->p[i];
        bool w = ch >= 0x80 || ch == '_' || (ch >= '0' && ch <= '9') ||
                 (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (w && !in)
            k++;
        in = w;
    }
    return tv_int(k);
}

static tpl_value f_safe(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)c;
    (void)at;
    (void)a;
    return v;
}

static tpl_value f_escape(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    (void)a;
    tpl_value s = str_of(c, v);
    tpl_buf b = {0};
    for (size_t i = 0; i < s.u.s->n; i++) {
        char ch = s.u.s->p[i];
        switch (ch) {
        case '&': tpl_buf_put(c, &b, "&amp;", 5); break;
        case '<': tpl_buf_put(c, &b, "&lt;", 4); break;
        case '>': tpl_buf_put(c, &b, "&gt;", 4); break;
        case '"': tpl_buf_put(c, &b, "&#34;", 5); break;
        case '\'': tpl_buf_put(c, &b, "&#39;", 5); break;
        default: tpl_buf_putc(c, &b, ch); break;
        }
    }
    return tv_str_buf(c, &b);
}

static tpl_value f_reverse(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)a;
    if (v.kind == TV_STR) {
        tpl_value chars = tpl_iterate(c, at, v);
        tpl_buf b = {0};
        for (size_t i = chars.u.l->n; i-- > 0;)
            tpl_buf_put(c, &b, chars.u.l->v[i].u.s->p, chars.u.l->v[i].u.s->n);
        return tv_str_buf(c, &b);
    }
    tpl_value l = seq_of(c, at, v);
    tpl_value r = tv_list(c, l.u.l->n);
    for (size_t i = l.u.l->n; i-- > 0;)
        tv_list_push(c, r, l.u.l->v[i]);
    return r;
}

static tpl_value f_center(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    (void)at;
    const tpl_value *w = arg(a, 0, "width");
    int64_t width = w && w->kind == TV_INT ? w->u.i : 80;
    tpl_value s = str_of(c, v);
    int64_t len = (int64_t)tpl_utf8_count(s.u.s->p, s.u.s->n);
    if (width > 65536)
        width = 65536;
    if (width <= len)
        return s;
    int64_t pad = width - len, left = pad / 2 + (pad & width & 1);
    tpl_buf b = {0};
    for (int64_t i = 0; i < left; i++)
        tpl_buf_putc(c, &b, ' ');
    tpl_buf_put(c, &b, s.u.s->p, s.u.s->n);
    for (int64_t i = 0; i < pad - left; i++)
        tpl_buf_putc(c, &b, ' ');
    return tv_str_buf(c, &b);
}

/* ---- selection and mapping -------------------------------------------------------------------- */

/* select/reject/selectattr/rejectattr: args after the attribute are a test name and its args */
static tpl_value select_impl(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a,
                             bool by_attr, bool keep)
{
    tpl_value items = seq_of(c, at, v);
    size_t k = 0;
    tpl_value attr = {0};
    if (by_attr) {
        if (a->n < 1)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "selectattr/rejectattr need an attribute name");
        attr = a->v[0];
        k = 1;
    }
    const char *test = NULL;
    if (a->n > k) {
        if (a->v[k].kind != TV_STR)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "the test name must be a string");
        test = a->v[k].u.s->p;
        if (!tpl_test_exists(test))
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "no test named '%s'", test);
        k++;
    }
    tpl_args targs = {a->n - k, a->n > k ? a->v + k : NULL, 0, NULL, NULL};
    tpl_value r = tv_list(c, items.u.l->n);
    for (size_t i = 0; i < items.u.l->n; i++) {
        tpl_step(c, at->pos, 1);
        tpl_value x = items.u.l->v[i];
        tpl_value probe = by_attr ? get_path(c, at, x, attr) : x;
        bool ok = test ? tpl_apply_test(c, at, test, probe, &targs) : tv_truthy(probe);
        if (ok == keep)
            tv_list_push(c, r, x);
    }
    r.flag = TV_GEN;
    return r;
}
static tpl_value f_select(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return select_impl(c, at, v, a, false, true);
}
static tpl_value f_reject(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return select_impl(c, at, v, a, false, false);
}
static tpl_value f_selectattr(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return select_impl(c, at, v, a, true, true);
}
static tpl_value f_rejectattr(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return select_impl(c, at, v, a, true, false);
}

static tpl_value f_map(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    tpl_value items = seq_of(c, at, v);
    tpl_value r = tv_list(c, items.u.l->n);
    const tpl_value *attr = tpl_arg(a, (size_t)-1, "attribute");
    if (attr) {
        const tpl_value *def = tpl_arg(a, (size_t)-1, "default");
        for (size_t i = 0; i < items.u.l->n; i++) {
            tpl_value x = get_path(c, at, items.u.l->v[i], *attr);
            if (x.kind == TV_UNDEF && def)
                x = *def;
            tv_list_push(c, r, x);
        }
        r.flag = TV_GEN;
        return r;
    }
    if (a->n < 1 || a->v[0].kind != TV_STR)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "map needs a filter name or attribute=");
    tpl_args fa = {a->n - 1, a->n > 1 ? a->v + 1 : NULL, a->nkw, a->kw, a->kv};
    for (size_t i = 0; i < items.u.l->n; i++) {
        tpl_step(c, at->pos, 1);
        tv_list_push(c, r, tpl_apply_filter(c, at, a->v[0].u.s->p, items.u.l->v[i], &fa));
    }
    r.flag = TV_GEN;
    return r;
}

/* ---- sorting --------------------------------------------------------------------------------- */

typedef struct sort_item { tpl_value key, val; } sort_item;

static tpl_value sort_key(tpl_ctx *c, const tpl_node *at, tpl_value x, const tpl_value *attr,
                          bool case_sensitive)
{
    tpl_value k = attr ? get_path(c, at, x, *attr) : x;
    if (!case_sensitive && k.kind == TV_STR)
        k = tpl_case_map(c, k, 0);
    return k;
}

static void merge_sort(tpl_ctx *c, const tpl_node *at, sort_item *v, sort_item *tmp, size_t n,
                       bool reverse)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(c, at, v, tmp, h, reverse);
    merge_sort(c, at, v + h, tmp, n - h, reverse);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int r = tv_compare(c, at, v[j].key, v[i].key);
        bool take_right = reverse ? r > 0 : r < 0;   /* stable: ties keep the left first */
        tmp[k++] = take_right ? v[j++] : v[i++];
    }
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static tpl_value sorted_list(tpl_ctx *c, const tpl_node *at, tpl_value items, const tpl_value *attr,
                             bool case_sensitive, bool reverse)
{
    size_t n = items.u.l->n;
    tpl_step(c, at->pos, n);
    sort_item *v = tpl_alloc(c, (n + 1) * sizeof *v);
    sort_item *tmp = tpl_alloc(c, (n + 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++) {
        v[i].val = items.u.l->v[i];
        v[i].key = sort_key(c, at, v[i].val, attr, case_sensitive);
    }
    merge_sort(c, at, v, tmp, n, reverse);
    tpl_value r = tv_list(c, n);
    for (size_t i = 0; i < n; i++)
        tv_list_push(c, r, v[i].val);
    return r;
}

static tpl_value f_sort(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    bool reverse = arg_bool(a, 0, "reverse", false);
    bool cs = arg_bool(a, 1, "case_sensitive", false);
    const tpl_value *attr = arg(a, 2, "attribute");
    return sorted_list(c, at, seq_of(c, at, v), attr, cs, reverse);
}

static tpl_value f_dictsort(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    bool cs = arg_bool(a, 0, "case_sensitive", false);
    const tpl_value *by = arg(a, 1, "by");
    bool reverse = arg_bool(a, 2, "reverse", false);
    tpl_value pairs = f_items(c, at, v, a);
    tpl_value idx = tv_int(by && by->kind == TV_STR && !strcmp(by->u.s->p, "value") ? 1 : 0);
    return sorted_list(c, at, pairs, &idx, cs, reverse);
}

static tpl_value f_unique(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    bool cs = arg_bool(a, 0, "case_sensitive", false);
    const tpl_value *attr = arg(a, 1, "attribute");
    tpl_value items = seq_of(c, at, v);
    tpl_value seen = tv_list(c, 0), r = tv_list(c, 0);
    for (size_t i = 0; i < items.u.l->n; i++) {
        tpl_step(c, at->pos, seen.u.l->n + 1);
        tpl_value k = sort_key(c, at, items.u.l->v[i], attr, cs);
        bool dup = false;
        for (size_t j = 0; j < seen.u.l->n && !dup; j++)
            dup = tv_equal(c, seen.u.l->v[j], k);
        if (!dup) {
            tv_list_push(c, seen, k);
            tv_list_push(c, r, items.u.l->v[i]);
        }
    }
    r.flag = TV_GEN;
    return r;
}

static tpl_value minmax(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a, bool max)
{
    bool cs = arg_bool(a, 0, "case_sensitive", false);
    const tpl_value *attr = arg(a, 1, "attribute");
    tpl_value items = seq_of(c, at, v);
    if (items.u.l->n == 0)
        return tv_undef("no minimum or maximum of an empty sequence");
    size_t best = 0;
    tpl_value bk = sort_key(c, at, items.u.l->v[0], attr, cs);
    for (size_t i = 1; i < items.u.l->n; i++) {
        tpl_value k = sort_key(c, at, items.u.l->v[i], attr, cs);
        int r = tv_compare(c, at, k, bk);
        if (max ? r > 0 : r < 0) {
            best = i;
            bk = k;
        }
    }
    return items.u.l->v[best];
}
static tpl_value f_min(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return minmax(c, at, v, a, false);
}
static tpl_value f_max(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    return minmax(c, at, v, a, true);
}

static tpl_value f_sum(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *attr = arg(a, 0, "attribute");
    const tpl_value *start = arg(a, 1, "start");
    tpl_value items = seq_of(c, at, v);
    tpl_value acc = start ? *start : tv_int(0);
    for (size_t i = 0; i < items.u.l->n; i++) {
        tpl_value x = attr ? get_path(c, at, items.u.l->v[i], *attr) : items.u.l->v[i];
        if (!tv_is_number(acc) || !tv_is_number(x))
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "sum needs numbers, got '%s'",
                     tv_type_name(x));
        if (acc.kind != TV_FLOAT && x.kind != TV_FLOAT) {
            int64_t r;
            if (__builtin_add_overflow(acc.kind == TV_BOOL ? acc.u.b : acc.u.i,
                                       x.kind == TV_BOOL ? x.u.b : x.u.i, &r))
                tpl_fail(c, at->pos, LLM_ERR_LIMIT, "integer overflow in sum");
            acc = tv_int(r);
        } else {
            acc = tv_float(tv_as_double(acc) + tv_as_double(x));
        }
    }
    return acc;
}

static tpl_value f_attr(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *n = arg(a, 0, "name");
    if (!n || n->kind != TV_STR)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "attr needs an attribute name");
    return tpl_getattr(c, at, v, n->u.s->p);
}

static tpl_value f_batch(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *ln = arg(a, 0, "linecount");
    const tpl_value *fill = arg(a, 1, "fill_with");
    if (!ln || ln->kind != TV_INT || ln->u.i <= 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "batch needs a positive count");
    tpl_value items = seq_of(c, at, v);
    tpl_value r = tv_list(c, 0), cur = tv_list(c, 0);
    for (size_t i = 0; i < items.u.l->n; i++) {
        tv_list_push(c, cur, items.u.l->v[i]);
        if ((int64_t)cur.u.l->n == ln->u.i) {
            tv_list_push(c, r, cur);
            cur = tv_list(c, 0);
        }
    }
    if (cur.u.l->n) {
        while (fill && fill->kind != TV_NONE && (int64_t)cur.u.l->n < ln->u.i)
            tv_list_push(c, cur, *fill);
        tv_list_push(c, r, cur);
    }
    return r;
}

static tpl_value f_truncate(tpl_ctx *c, const tpl_node *at, tpl_value v, const tpl_args *a)
{
    const tpl_value *lv = arg(a, 0, "length");
    bool killwords = arg_bool(a, 1, "killwords", false);
    const tpl_value *endv = arg(a, 2, "end");
    const tpl_value *leeway_v = arg(a, 3, "leeway");
    int64_t length = lv && lv->kind == TV_INT ? lv->u.i : 255;
    int64_t leeway = leeway_v && leeway_v->kind == TV_INT ? leeway_v->u.i : 5;
    tpl_value end = endv ? str_of(c, *endv) : tv_cstr(c, "...");
    tpl_value s = str_of(c, v);
    int64_t n = (int64_t)tpl_utf8_count(s.u.s->p, s.u.s->n);
    int64_t endn = (int64_t)tpl_utf8_count(end.u.s->p, end.u.s->n);
    if (length < endn)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "truncate: length is shorter than the end marker");
    if (n <= length + leeway)
        return s;
    size_t cut = tpl_utf8_offset(s.u.s->p, s.u.s->n, (size_t)(length - endn));
    tpl_buf b = {0};
    if (killwords) {
        tpl_buf_put(c, &b, s.u.s->p, cut);
    } else {
        size_t k = cut;
        while (k > 0 && s.u.s->p[k - 1] != ' ')
            k--;
        tpl_buf_put(c, &b, s.u.s->p, k > 0 ? k - 1 : 0);
    }
    tpl_buf_put(c, &b, end.u.s->p, end.u.s->n);
    return tv_str_buf(c, &b);
}

typedef struct filter_entry { const char *name; filter_fn fn; } filter_entry;

static const filter_entry filters[] = {
    {"abs", f_abs}, {"attr", f_attr}, {"batch", f_batch}, {"capitalize", f_capitalize},
    {"center", f_center}, {"count", f_length}, {"d", f_default}, {"default", f_default},
    {"dictsort", f_dictsort}, {"e", f_escape}, {"escape", f_escape}, {"first", f_first},
    {"float", f_float}, {"forceescape", f_escape}, {"indent", f_indent}, {"int", f_int},
    {"items", f_items}, {"join", f_join}, {"last", f_last}, {"length", f_length},
    {"list", f_list}, {"lower", f_lower}, {"map", f_map}, {"max", f_max}, {"min", f_min},
    {"reject", f_reject}, {"rejectattr", f_rejectattr}, {"replace", f_replace},
    {"reverse", f_reverse}, {"round", f_round}, {"safe", f_safe}, {"select", f_select},
    {"selectattr", f_selectattr}, {"sort", f_sort}, {"string", f_string}, {"sum", f_sum},
    {"title", f_title}, {"tojson", f_tojson}, {"trim", f_trim}, {"truncate", f_truncate},
    {"unique", f_unique}, {"upper", f_upper}, {"wordcount", f_wordcount}, {NULL, NULL}};

bool tpl_filter_exists(const char *name)
{
    for (size_t i = 0; filters[i].name; i++)
        if (!strcmp(filters[i].name, name))
            return true;
    return false;
}

tpl_value tpl_apply_filter(tpl_ctx *c, const tpl_node *at, const char *name, tpl_value v,
                           const tpl_args *a)
{
    for (size_t i = 0; filters[i].name; i++)
        if (!strcmp(filters[i].name, name))
            return filters[i].fn(c, at, v, a);
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "no filter named '%s'", name);
}
