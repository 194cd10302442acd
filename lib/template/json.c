/*
 * JSON in and out of the template world. In: Jansson values become template values (objects keep
 * their key order, integers stay integers). Out: Hugging Face's `tojson`, which is Python's
 * json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...): non-ASCII text is
 * written as is, only quotes, backslashes and control characters are escaped, separators are
 * ", " and ": " (or "," before the newline when indenting), and floats print as Python's repr.
 */
#include <jansson.h>
#include <string.h>

#include "template/tpl_internal.h"

tpl_value tpl_from_json(tpl_ctx *c, const json_t *j, uint32_t depth)
{
    if (depth > c->lim.max_depth)
        tpl_fail(c, (size_t)-1, LLM_ERR_LIMIT, "the JSON input nests more than %u levels deep",
                 c->lim.max_depth);
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        tpl_value d = tv_dict(c, json_object_size(j));
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val)
            tv_dict_set(c, d, tv_cstr(c, key), tpl_from_json(c, val, depth + 1));
        return d;
    }
    case JSON_ARRAY: {
        tpl_value l = tv_list(c, json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++)
            tv_list_push(c, l, tpl_from_json(c, json_array_get(j, i), depth + 1));
        return l;
    }
    case JSON_STRING:
        return tv_str(c, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return tv_int((int64_t)json_integer_value(j));
    case JSON_REAL:
        return tv_float(json_real_value(j));
    case JSON_TRUE:
        return tv_bool(true);
    case JSON_FALSE:
        return tv_bool(false);
    default:
        return tv_none();
    }
}

static void json_str(tpl_ctx *c, tpl_buf *b, const char *s, size_t n)
{
    tpl_buf_putc(c, b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (ch) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (ch < 0x20) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = "0123456789abcdef"[ch >> 4];
                u[5] = "0123456789abcdef"[ch & 15];
                u[6] = '\0';
                esc = u;
            }
            break;
        }
        if (esc) {
            tpl_buf_put(c, b, s + run, i - run);
            tpl_buf_put(c, b, esc, strlen(esc));
            run = i + 1;
        }
    }
    tpl_buf_put(c, b, s + run, n - run);
    tpl_buf_putc(c, b, '"');
}

static void json_float(tpl_ctx *c, tpl_buf *b, double f)
{
    if (f != f) {
        tpl_buf_put(c, b, "NaN", 3);
    } else if (f > 1.7976931348623157e308) {
        tpl_buf_put(c, b, "Infinity", 8);
    } else if (f < -1.7976931348623157e308) {
        tpl_buf_put(c, b, "-Infinity", 9);
    } else {
        char tmp[32];
        tv_float_repr(f, tmp);
        tpl_buf_put(c, b, tmp, strlen(tmp));
    }
}

static void newline_indent(tpl_ctx *c, tpl_buf *b, const char *indent, uint32_t level)
{
    tpl_buf_putc(c, b, '\n');
    size_t n = strlen(indent);
    for (uint32_t i = 0; i < level; i++)
        tpl_buf_put(c, b, indent, n);
}

/* A dict key as json.dumps converts it: str as is, True -> "true", None -> "null", numbers. */
static void json_key(tpl_ctx *c, const tpl_node *at, tpl_buf *b, tpl_value k)
{
    switch (k.kind) {
    case TV_STR: json_str(c, b, k.u.s->p, k.u.s->n); return;
    case TV_BOOL: tpl_buf_put(c, b, k.u.b ? "\"true\"" : "\"false\"", k.u.b ? 6 : 7); return;
    case TV_NONE: tpl_buf_put(c, b, "\"null\"", 6); return;
    case TV_INT: tpl_buf_putf(c, b, "\"%lld\"", (long long)k.u.i); return;
    case TV_FLOAT:
        tpl_buf_putc(c, b, '"');
        json_float(c, b, k.u.f);
        tpl_buf_putc(c, b, '"');
        return;
    default:
        tpl_fail(c, at ? at->pos : (size_t)-1, LLM_ERR_FORMAT, "keys must be str, int, float, "
                 "bool or None, not %s", tv_type_name(k));
    }
}

void tpl_to_json(tpl_ctx *c, const tpl_node *at, tpl_buf *b, tpl_value v, const char *indent,
                 const char *item_sep, const char *key_sep, bool sort_keys, uint32_t level)
{
    if (level > c->lim.max_depth)
        tpl_fail(c, at ? at->pos : (size_t)-1, LLM_ERR_LIMIT, "tojson: the value nests more "
                 "than %u levels deep", c->lim.max_depth);
    tpl_step(c, at ? at->pos : (size_t)-1, 1);
    switch (v.kind) {
    case TV_NONE: tpl_buf_put(c, b, "null", 4); return;
    case TV_BOOL: tpl_buf_put(c, b, v.u.b ? "true" : "false", v.u.b ? 4 : 5); return;
    case TV_INT: tpl_buf_putf(c, b, "%lld", (long long)v.u.i); return;
    case TV_FLOAT: json_float(c, b, v.u.f); return;
    case TV_STR: json_str(c, b, v.u.s->p, v.u.s->n); return;
    case TV_LIST: {
        if (v.flag & TV_GEN)
            break;
        if (v.u.l->n == 0) {
            tpl_buf_put(c, b, "[]", 2);
            return;
        }
        tpl_buf_putc(c, b, '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                tpl_buf_put(c, b, item_sep, strlen(item_sep));
            if (indent)
                newline_indent(c, b, indent, level + 1);
            tpl_to_json(c, at, b, v.u.l->v[i], indent, item_sep, key_sep, sort_keys, level + 1);
        }
        if (indent)
            newline_indent(c, b, indent, level);
        tpl_buf_putc(c, b, ']');
        return;
    }
    case TV_DICT: {
        if (v.flag == TV_NAMESPACE)
            break;
        size_t n = v.u.d->n;
        if (n == 0) {
            tpl_buf_put(c, b, "{}", 2);
            return;
        }
        size_t *order = tpl_alloc(c, n * sizeof *order);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        if (sort_keys) {
            /* insertion sort: stable, and dicts in templates are small */
            for (size_t i = 1; i < n; i++) {
                size_t x = order[i], j = i;
                while (j > 0 && tv_compare(c, at, v.u.d->k[x], v.u.d->k[order[j - 1]]) < 0) {
                    order[j] = order[j - 1];
                    j--;
                }
                order[j] = x;
            }
        }
        tpl_buf_putc(c, b, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                tpl_buf_put(c, b, item_sep, strlen(item_sep));
            if (indent)
                newline_indent(c, b, indent, level + 1);
            json_key(c, at, b, v.u.d->k[order[i]]);
            tpl_buf_put(c, b, key_sep, strlen(key_sep));
            tpl_to_json(c, at, b, v.u.d->v[order[i]], indent, item_sep, key_sep, sort_keys,
                        level + 1);
        }
        if (indent)
            newline_indent(c, b, indent, level);
        tpl_buf_putc(c, b, '}');
        return;
    }
    default:
        break;
    }
    tpl_fail(c, at ? at->pos : (size_t)-1, LLM_ERR_FORMAT, "Object of type %s is not JSON "
             "serializable", tv_type_name(v));
}
