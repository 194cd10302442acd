/*
 * The Python methods templates call on values: str (strip, split, startswith, replace, ...),
 * dict (items, keys, values, get) and list (index, count). The sandbox lets templates read
 * values, never change them: the methods that would change a list or dict in place (append,
 * pop, update, ...) are refused with the message Jinja's ImmutableSandboxedEnvironment gives.
 */
#include <string.h>

#include "template/tpl_internal.h"

const tpl_value *tpl_arg(const tpl_args *a, size_t i, const char *name)
{
    if (i < a->n)
        return &a->v[i];
    if (name)
        for (size_t k = 0; k < a->nkw; k++)
            if (!strcmp(a->kw[k], name))
                return &a->kv[k];
    return NULL;
}

void tpl_args_check(tpl_ctx *c, const tpl_node *at, const char *fname, const tpl_args *a,
                    size_t max_pos, const char *const *kw_allowed)
{
    if (a->n > max_pos)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "%s() takes at most %zu positional argument%s "
                 "(%zu given)", fname, max_pos, max_pos == 1 ? "" : "s", a->n);
    for (size_t k = 0; k < a->nkw; k++) {
        bool ok = false;
        for (size_t j = 0; kw_allowed && kw_allowed[j]; j++)
            if (!strcmp(kw_allowed[j], a->kw[k]))
                ok = true;
        if (!ok)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "%s() got an unexpected keyword argument '%s'",
                     fname, a->kw[k]);
    }
}

static tpl_value want_str(tpl_ctx *c, const tpl_node *at, const char *fname, const tpl_value *v)
{
    if (!v || v->kind != TV_STR)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "%s() needs a string argument, got '%s'", fname,
                 v ? tv_type_name(*v) : "nothing");
    return *v;
}

/* ---------------------------------------------------------------------------------------------- */
/* str                                                                                            */
/* ---------------------------------------------------------------------------------------------- */

static tpl_value m_strip_any(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a,
                             bool l, bool r, const char *fname)
{
    tpl_args_check(c, at, fname, a, 1, NULL);
    const tpl_value *ch = tpl_arg(a, 0, NULL);
    const char *chars = NULL;
    size_t nchars = 0;
    if (ch && ch->kind != TV_NONE) {
        want_str(c, at, fname, ch);
        chars = ch->u.s->p;
        nchars = ch->u.s->n;
    }
    size_t b, n;
    tpl_strip(s.u.s->p, s.u.s->n, chars, nchars, l, r, &b, &n);
    return tv_str(c, s.u.s->p + b, n);
}

static tpl_value m_strip(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return m_strip_any(c, at, s, a, true, true, "strip");
}
static tpl_value m_lstrip(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return m_strip_any(c, at, s, a, true, false, "lstrip");
}
static tpl_value m_rstrip(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return m_strip_any(c, at, s, a, false, true, "rstrip");
}
static tpl_value m_upper(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "upper", a, 0, NULL);
    return tpl_case_map(c, s, 1);
}
static tpl_value m_lower(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "lower", a, 0, NULL);
    return tpl_case_map(c, s, 0);
}
static tpl_value m_capitalize(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "capitalize", a, 0, NULL);
    return tpl_case_map(c, s, 2);
}
static tpl_value m_title(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "title", a, 0, NULL);
    return tpl_case_map(c, s, 3);
}

static bool affix(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a, bool end,
                  const char *fname)
{
    tpl_args_check(c, at, fname, a, 1, NULL);
    const tpl_value *p = tpl_arg(a, 0, NULL);
    if (p && p->kind == TV_LIST && (p->flag & TV_TUPLE)) {
        tpl_args one = {1, NULL, 0, NULL, NULL};
        for (size_t i = 0; i < p->u.l->n; i++) {
            one.v = &p->u.l->v[i];
            if (affix(c, at, s, &one, end, fname))
                return true;
        }
        return false;
    }
    tpl_value x = want_str(c, at, fname, p);
    size_t n = x.u.s->n;
    if (n > s.u.s->n)
        return false;
    return memcmp(s.u.s->p + (end ? s.u.s->n - n : 0), x.u.s->p, n) == 0;
}
static tpl_value m_startswith(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return tv_bool(affix(c, at, s, a, false, "startswith"));
}
static tpl_value m_endswith(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return tv_bool(affix(c, at, s, a, true, "endswith"));
}

static tpl_value split_impl(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a,
                            bool from_right)
{
    static const char *const kw[] = {"sep", "maxsplit", NULL};
    const char *fname = from_right ? "rsplit" : "split";
    tpl_args_check(c, at, fname, a, 2, kw);
    const tpl_value *sepv = tpl_arg(a, 0, "sep");
    const tpl_value *maxv = tpl_arg(a, 1, "maxsplit");
    int64_t maxsplit = maxv && maxv->kind == TV_INT ? maxv->u.i : -1;
    const char *p = s.u.s->p;
    size_t n = s.u.s->n;
    tpl_value parts = tv_list(c, 0);
    if (!sepv || sepv->kind == TV_NONE) {
        /* runs of whitespace; no empty parts */
        tpl_value words = tv_list(c, 0);
        size_t i = 0;
        while (i < n) {
            size_t j = i;
            uint32_t cp = tpl_utf8_next(p, n, &j);
            if (tpl_is_space(cp)) {
                i = j;
                continue;
            }
            size_t b = i;
            while (i < n) {
                j = i;
                cp = tpl_utf8_next(p, n, &j);
                if (tpl_is_space(cp))
                    break;
                i = j;
            }
            tv_list_push(c, words, tv_str(c, p + b, i - b));
        }
        size_t nw = words.u.l->n;
        if (maxsplit < 0 || (uint64_t)maxsplit + 1 >= nw)
            return words;
        /* with maxsplit the remainder keeps its inner whitespace: find it in the source */
        size_t keep = (size_t)maxsplit;
        if (!from_right) {
            for (size_t k = 0; k < keep; k++)
                tv_list_push(c, parts, words.u.l->v[k]);
            const char *last = words.u.l->v[keep].u.s->p;
            (void)last;
            /* locate the start of word `keep` in p */
            size_t i2 = 0, w = 0;
            while (i2 < n) {
                size_t j = i2;
                uint32_t cp = tpl_utf8_next(p, n, &j);
                if (tpl_is_space(cp)) {
                    i2 = j;
                    continue;
                }
                if (w == keep)
                    break;
                while (i2 < n) {
                    j = i2;
                    cp = tpl_utf8_next(p, n, &j);
                    if (tpl_is_space(cp))
                        break;
                    i2 = j;
                }
                w++;
            }
            size_t b, len;
            tpl_strip(p + i2, n - i2, NULL, 0, false, true, &b, &len);
            tv_list_push(c, parts, tv_str(c, p + i2, len));
            return parts;
        }
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "rsplit() with maxsplit on whitespace is not "
                 "supported");
    }
    tpl_value sep = want_str(c, at, fname, sepv);
    if (sep.u.s->n == 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "empty separator");
    size_t m = sep.u.s->n;
    /* collect all cut positions, then honour maxsplit from the chosen side */
    size_t cap = 8, ncut = 0;
    size_t *cuts = tpl_alloc(c, cap * sizeof *cuts);
    for (size_t i = 0; i + m <= n;) {
        if (memcmp(p + i, sep.u.s->p, m) == 0) {
            if (ncut == cap) {
                size_t *nc = tpl_alloc(c, cap * 2 * sizeof *nc);
                memcpy(nc, cuts, cap * sizeof *nc);
                cuts = nc;
                cap *= 2;
            }
            cuts[ncut++] = i;
            i += m;
        } else {
            i++;
        }
    }
    size_t first = 0, use = ncut;
    if (maxsplit >= 0 && (uint64_t)maxsplit < ncut) {
        use = (size_t)maxsplit;
        if (from_right)
            first = ncut - use;
    }
    size_t b = 0;
    for (size_t k = first; k < first + use; k++) {
        tv_list_push(c, parts, tv_str(c, p + b, cuts[k] - b));
        b = cuts[k] + m;
    }
    if (from_right && first > 0) {
        /* the left remainder is everything before the first used cut */
        tpl_value r = tv_list(c, use + 1);
        tv_list_push(c, r, tv_str(c, p, cuts[first]));
        b = cuts[first] + m;
        for (size_t k = first + 1; k < first + use; k++) {
            tv_list_push(c, r, tv_str(c, p + b, cuts[k] - b));
            b = cuts[k] + m;
        }
        tv_list_push(c, r, tv_str(c, p + b, n - b));
        return r;
    }
    tv_list_push(c, parts, tv_str(c, p + b, n - b));
    return parts;
}
static tpl_value m_split(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return split_impl(c, at, s, a, false);
}
static tpl_value m_rsplit(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return split_impl(c, at, s, a, true);
}

/* Python's line boundaries: \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029 */
static size_t line_break_len(const char *p, size_t n, size_t i)
{
    unsigned char ch = (unsigned char)p[i];
    if (ch == '\r')
        return i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
    if (ch == '\n' || ch == '\v' || ch == '\f' || ch == 0x1c || ch == 0x1d || ch == 0x1e)
        return 1;
    if (ch == 0xC2 && i + 1 < n && (unsigned char)p[i + 1] == 0x85)
        return 2;
    if (ch == 0xE2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
        ((unsigned char)p[i + 2] == 0xA8 || (unsigned char)p[i + 2] == 0xA9))
        return 3;
    return 0;
}

tpl_value tpl_splitlines(tpl_ctx *c, tpl_value s, bool keepends);
tpl_value tpl_splitlines(tpl_ctx *c, tpl_value s, bool keepends)
{
    const char *p = s.u.s->p;
    size_t n = s.u.s->n, b = 0, i = 0;
    tpl_value r = tv_list(c, 0);
    while (i < n) {
        size_t k = line_break_len(p, n, i);
        if (k) {
            tv_list_push(c, r, tv_str(c, p + b, (keepends ? i + k : i) - b));
            i += k;
            b = i;
        } else {
            i++;
        }
    }
    if (b < n)
        tv_list_push(c, r, tv_str(c, p + b, n - b));
    return r;
}
static tpl_value m_splitlines(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    static const char *const kw[] = {"keepends", NULL};
    tpl_args_check(c, at, "splitlines", a, 1, kw);
    const tpl_value *k = tpl_arg(a, 0, "keepends");
    return tpl_splitlines(c, s, k && tv_truthy(*k));
}

tpl_value tpl_str_replace(tpl_ctx *c, tpl_value s, tpl_value old, tpl_value new_, int64_t count);
tpl_value tpl_str_replace(tpl_ctx *c, tpl_value s, tpl_value old, tpl_value new_, int64_t count)
{
    const char *p = s.u.s->p;
    size_t n = s.u.s->n, m = old.u.s->n;
    tpl_buf b = {0};
    int64_t done = 0;
    if (m == 0) {
        /* Python inserts the replacement around every character */
        size_t i = 0;
        while (i <= n) {
            if (count < 0 || done < count) {
                tpl_buf_put(c, &b, new_.u.s->p, new_.u.s->n);
                done++;
            }
            if (i == n)
                break;
            size_t j = i;
            tpl_utf8_next(p, n, &j);
            tpl_buf_put(c, &b, p + i, j - i);
            i = j;
        }
        return tv_str_buf(c, &b);
    }
    size_t i = 0;
    while (i < n) {
        if ((count < 0 || done < count) && i + m <= n && memcmp(p + i, old.u.s->p, m) == 0) {
            tpl_buf_put(c, &b, new_.u.s->p, new_.u.s->n);
            i += m;
            done++;
        } else {
            tpl_buf_putc(c, &b, p[i]);
            i++;
        }
    }
    return tv_str_buf(c, &b);
}
static tpl_value m_replace(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "replace", a, 3, NULL);
    tpl_value old = want_str(c, at, "replace", tpl_arg(a, 0, NULL));
    tpl_value nw = want_str(c, at, "replace", tpl_arg(a, 1, NULL));
    const tpl_value *cnt = tpl_arg(a, 2, NULL);
    return tpl_str_replace(c, s, old, nw, cnt && cnt->kind == TV_INT ? cnt->u.i : -1);
}

static int64_t find_impl(tpl_value s, tpl_value sub, bool right)
{
    const char *p = s.u.s->p;
    size_t n = s.u.s->n, m = sub.u.s->n;
    if (m > n)
        return -1;
    if (right) {
        for (size_t i = n - m + 1; i-- > 0;)
            if (memcmp(p + i, sub.u.s->p, m) == 0)
                return (int64_t)tpl_utf8_count(p, i);
        return -1;
    }
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(p + i, sub.u.s->p, m) == 0)
            return (int64_t)tpl_utf8_count(p, i);
    return -1;
}
static tpl_value m_find(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "find", a, 1, NULL);
    return tv_int(find_impl(s, want_str(c, at, "find", tpl_arg(a, 0, NULL)), false));
}
static tpl_value m_rfind(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "rfind", a, 1, NULL);
    return tv_int(find_impl(s, want_str(c, at, "rfind", tpl_arg(a, 0, NULL)), true));
}
static tpl_value m_count(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "count", a, 1, NULL);
    tpl_value sub = want_str(c, at, "count", tpl_arg(a, 0, NULL));
    size_t n = s.u.s->n, m = sub.u.s->n;
    if (m == 0)
        return tv_int((int64_t)tpl_utf8_count(s.u.s->p, n) + 1);
    int64_t k = 0;
    for (size_t i = 0; i + m <= n;) {
        if (memcmp(s.u.s->p + i, sub.u.s->p, m) == 0) {
            k++;
            i += m;
        } else {
            i++;
        }
    }
    return tv_int(k);
}
static tpl_value m_join(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    tpl_args_check(c, at, "join", a, 1, NULL);
    const tpl_value *it = tpl_arg(a, 0, NULL);
    if (!it)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "join() takes exactly one argument");
    tpl_value items = tpl_iterate(c, at, *it);
    tpl_buf b = {0};
    for (size_t i = 0; i < items.u.l->n; i++) {
        if (items.u.l->v[i].kind != TV_STR)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "sequence item %zu: expected str instance, "
                     "'%s' found", i, tv_type_name(items.u.l->v[i]));
        if (i)
            tpl_buf_put(c, &b, s.u.s->p, s.u.s->n);
        tpl_buf_put(c, &b, items.u.l->v[i].u.s->p, items.u.l->v[i].u.s->n);
    }
    return tv_str_buf(c, &b);
}

static tpl_value char_class(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a,
                            int cls)
{
    tpl_args_check(c, at, "is...", a, 0, NULL);
    size_t n = s.u.s->n, i = 0;
    if (n == 0)
        return tv_bool(false);
    bool any_cased = false;
    while (i < n) {
        uint32_t cp = tpl_utf8_next(s.u.s->p, n, &i);
        bool digit = cp >= '0' && cp <= '9';
        bool alpha = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp >= 0x80;
        switch (cls) {
        case 0: if (!digit) return tv_bool(false); break;
        case 1: if (!alpha) return tv_bool(false); break;
        case 2: if (!alpha && !digit) return tv_bool(false); break;
        case 3: if (!tpl_is_space(cp)) return tv_bool(false); break;
        case 4: if (cp >= 'a' && cp <= 'z') return tv_bool(false);
                if (cp >= 'A' && cp <= 'Z') any_cased = true;
                break;
        default: if (cp >= 'A' && cp <= 'Z') return tv_bool(false);
                 if (cp >= 'a' && cp <= 'z') any_cased = true;
                 break;
        }
    }
    return tv_bool(cls >= 4 ? any_cased : true);
}
static tpl_value m_isdigit(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return char_class(c, at, s, a, 0);
}
static tpl_value m_isalpha(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return char_class(c, at, s, a, 1);
}
static tpl_value m_isalnum(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return char_class(c, at, s, a, 2);
}
static tpl_value m_isspace(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return char_class(c, at, s, a, 3);
}
static tpl_value m_isupper(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return char_class(c, at, s, a, 4);
}
static tpl_value m_islower(tpl_ctx *c, const tpl_node *at, tpl_value s, const tpl_args *a)
{
    return char_class(c, at, s, a, 5);
}

/* ---------------------------------------------------------------------------------------------- */
/* dict and list                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

static tpl_value m_items(tpl_ctx *c, const tpl_node *at, tpl_value d, const tpl_args *a)
{
    tpl_args_check(c, at, "items", a, 0, NULL);
    tpl_value r = tv_list(c, d.u.d->n);
    for (size_t i = 0; i < d.u.d->n; i++)
        tv_list_push(c, r, tv_tuple2(c, d.u.d->k[i], d.u.d->v[i]));
    return r;
}
static tpl_value m_keys(tpl_ctx *c, const tpl_node *at, tpl_value d, const tpl_args *a)
{
    tpl_args_check(c, at, "keys", a, 0, NULL);
    return tpl_iterate(c, at, d);
}
static tpl_value m_values(tpl_ctx *c, const tpl_node *at, tpl_value d, const tpl_args *a)
{
    tpl_args_check(c, at, "values", a, 0, NULL);
    tpl_value r = tv_list(c, d.u.d->n);
    for (size_t i = 0; i < d.u.d->n; i++)
        tv_list_push(c, r, d.u.d->v[i]);
    return r;
}
static tpl_value m_get(tpl_ctx *c, const tpl_node *at, tpl_value d, const tpl_args *a)
{
    tpl_args_check(c, at, "get", a, 2, NULL);
    const tpl_value *k = tpl_arg(a, 0, NULL);
    if (!k)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "get() needs a key");
    tpl_value *v = tv_dict_get(d, *k);
    if (v)
        return *v;
    const tpl_value *def = tpl_arg(a, 1, NULL);
    return def ? *def : tv_none();
}
static tpl_value m_copy(tpl_ctx *c, const tpl_node *at, tpl_value d, const tpl_args *a)
{
    tpl_args_check(c, at, "copy", a, 0, NULL);
    return d;   /* values are immutable: the copy can share */
}
static tpl_value m_list_index(tpl_ctx *c, const tpl_node *at, tpl_value l, const tpl_args *a)
{
    tpl_args_check(c, at, "index", a, 1, NULL);
    const tpl_value *x = tpl_arg(a, 0, NULL);
    for (size_t i = 0; x && i < l.u.l->n; i++)
        if (tv_equal(c, l.u.l->v[i], *x))
            return tv_int((int64_t)i);
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "index(): the value is not in the list");
}
static tpl_value m_list_count(tpl_ctx *c, const tpl_node *at, tpl_value l, const tpl_args *a)
{
    tpl_args_check(c, at, "count", a, 1, NULL);
    const tpl_value *x = tpl_arg(a, 0, NULL);
    int64_t k = 0;
    for (size_t i = 0; x && i < l.u.l->n; i++)
        if (tv_equal(c, l.u.l->v[i], *x))
            k++;
    return tv_int(k);
}

typedef struct method_entry { const char *name; tpl_builtin_fn fn; } method_entry;

static const method_entry str_methods[] = {
    {"strip", m_strip}, {"lstrip", m_lstrip}, {"rstrip", m_rstrip}, {"upper", m_upper},
    {"lower", m_lower}, {"capitalize", m_capitalize}, {"title", m_title},
    {"startswith", m_startswith}, {"endswith", m_endswith}, {"split", m_split},
    {"rsplit", m_rsplit}, {"splitlines", m_splitlines}, {"replace", m_replace},
    {"find", m_find}, {"rfind", m_rfind}, {"count", m_count}, {"join", m_join},
    {"isdigit", m_isdigit}, {"isalpha", m_isalpha}, {"isalnum", m_isalnum},
    {"isspace", m_isspace}, {"isupper", m_isupper}, {"islower", m_islower}, {NULL, NULL}};
static const method_entry dict_methods[] = {
    {"items", m_items}, {"keys", m_keys}, {"values", m_values}, {"get", m_get},
    {"copy", m_copy}, {NULL, NULL}};
static const method_entry list_methods[] = {
    {"index", m_list_index}, {"count", m_list_count}, {NULL, NULL}};

static const char *const dict_mutators[] = {"pop", "popitem", "update", "setdefault", "clear",
                                            NULL};
static const char *const list_mutators[] = {"append", "extend", "insert", "pop", "remove",
                                            "reverse", "sort", "clear", NULL};

tpl_value tpl_method(tpl_ctx *c, tpl_value obj, const char *name, bool *found)
{
    const method_entry *tab = NULL;
    const char *const *mut = NULL;
    *found = false;
    if (obj.kind == TV_STR) {
        tab = str_methods;
    } else if (obj.kind == TV_DICT && obj.flag != TV_NAMESPACE) {
        tab = dict_methods;
        mut = dict_mutators;
    } else if (obj.kind == TV_LIST && !(obj.flag & TV_GEN)) {
        tab = list_methods;
        mut = obj.flag & TV_TUPLE ? NULL : list_mutators;
    }
    for (size_t i = 0; tab && tab[i].name; i++) {
        if (!strcmp(tab[i].name, name)) {
            *found = true;
            return tv_func(c, tab[i].name, tab[i].fn, obj);
        }
    }
    for (size_t i = 0; mut && mut[i]; i++) {
        if (!strcmp(mut[i], name)) {
            tpl_buf m = {0};
            tpl_buf_putf(c, &m, "access to attribute '%s' of '%s' object is unsafe.", name,
                         tv_type_name(obj));
            return tv_undef(m.p);
        }
    }
    return tv_undef(NULL);
}
