/*
 * The global functions a chat template can call: Jinja's range (capped at 100 000 items as
 * Jinja's sandbox caps it), namespace and dict, and Hugging Face's raise_exception and
 * strftime_now. strftime_now formats the render's fixed time (for reproducible output) or the
 * local clock, with English month and day names whatever the process locale is.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template/tpl_internal.h"

#define TPL_MAX_RANGE 100000

static int64_t int_arg(tpl_ctx *c, const tpl_node *at, tpl_value v)
{
    if (v.kind == TV_INT)
        return v.u.i;
    if (v.kind == TV_BOOL)
        return v.u.b;
    tpl_fail(c, at->pos, LLM_ERR_FORMAT, "range() needs integers, got '%s'", tv_type_name(v));
}

static tpl_value g_range(tpl_ctx *c, const tpl_node *at, tpl_value self, const tpl_args *a)
{
    (void)self;
    tpl_args_check(c, at, "range", a, 3, NULL);
    if (a->n == 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "range() needs at least one argument");
    int64_t start = 0, stop, step = 1;
    if (a->n == 1) {
        stop = int_arg(c, at, a->v[0]);
    } else {
        start = int_arg(c, at, a->v[0]);
        stop = int_arg(c, at, a->v[1]);
        if (a->n == 3)
            step = int_arg(c, at, a->v[2]);
    }
    if (step == 0)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "range() step must not be zero");
    /* count without overflow */
    double span = ((double)stop - (double)start) / (double)step;
    if (span > TPL_MAX_RANGE)
        tpl_fail(c, at->pos, LLM_ERR_LIMIT, "range too big: the sandbox allows at most %d items",
                 TPL_MAX_RANGE);
    tpl_value r = tv_list(c, 0);
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        tv_list_push(c, r, tv_int(i));
        if (r.u.l->n >= TPL_MAX_RANGE)
            break;
    }
    tpl_step(c, at->pos, r.u.l->n);
    return r;
}

static tpl_value g_namespace(tpl_ctx *c, const tpl_node *at, tpl_value self, const tpl_args *a)
{
    (void)self;
    tpl_value ns = tv_dict(c, 4);
    ns.flag = TV_NAMESPACE;
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].kind != TV_DICT)
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "namespace() takes a mapping or keywords");
        for (size_t k = 0; k < a->v[i].u.d->n; k++)
            tv_dict_set(c, ns, a->v[i].u.d->k[k], a->v[i].u.d->v[k]);
    }
    for (size_t k = 0; k < a->nkw; k++)
        tv_dict_set_cstr(c, ns, a->kw[k], a->kv[k]);
    return ns;
}

static tpl_value g_dict(tpl_ctx *c, const tpl_node *at, tpl_value self, const tpl_args *a)
{
    tpl_value d = g_namespace(c, at, self, a);
    d.flag = 0;
    return d;
}

static tpl_value g_raise(tpl_ctx *c, const tpl_node *at, tpl_value self, const tpl_args *a)
{
    (void)self;
    tpl_value msg = a->n ? tv_to_str(c, a->v[0]) : tv_cstr(c, "");
    tpl_fail(c, at->pos, LLM_ERR_STATE, "%s", msg.u.s->p);
}

/* ---------------------------------------------------------------------------------------------- */
/* strftime_now                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

typedef struct civil { int y, mon, d, h, min, s, us; } civil;

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* 0 = Sunday */
static int weekday(int y, int m, int d)
{
    static const int t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int yday(int y, int m, int d)
{
    int k = d;
    for (int i = 1; i < m; i++)
        k += days_in_month(y, i);
    return k;
}

static bool parse_num(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += digits;
    *out = v;
    return true;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][Z|(+|-)HH[:]MM]; the offset is accepted and ignored
 * (strftime_now reports wall-clock time as given). */
static bool parse_iso(const char *s, civil *t)
{
    memset(t, 0, sizeof *t);
    const char *p = s;
    if (!parse_num(&p, 4, &t->y) || *p++ != '-' || !parse_num(&p, 2, &t->mon) || *p++ != '-' ||
        !parse_num(&p, 2, &t->d))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_num(&p, 2, &t->h) || *p++ != ':' || !parse_num(&p, 2, &t->min))
            return false;
        if (*p == ':') {
            p++;
            if (!parse_num(&p, 2, &t->s))
                return false;
            if (*p == '.' || *p == ',') {
                p++;
                int k = 0, us = 0;
                while (*p >= '0' && *p <= '9') {
                    if (k < 6) {
                        us = us * 10 + (*p - '0');
                        k++;
                    }
                    p++;
                }
                while (k++ < 6)
                    us *= 10;
                t->us = us;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int hh, mm = 0;
            p++;
            if (!parse_num(&p, 2, &hh))
                return false;
            if (*p == ':')
                p++;
            if (*p)
                if (!parse_num(&p, 2, &mm))
                    return false;
        }
    }
    if (*p)
        return false;
    return t->mon >= 1 && t->mon <= 12 && t->d >= 1 && t->d <= days_in_month(t->y, t->mon) &&
           t->h < 24 && t->min < 60 && t->s < 61;
}

bool llm_tpl_parse_time(const char *iso);
bool llm_tpl_parse_time(const char *iso)
{
    civil t;
    return parse_iso(iso, &t);
}

static const char *const wd_full[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
                                       "Friday", "Saturday"};
static const char *const mon_full[12] = {"January", "February", "March", "April", "May", "June",
                                         "July", "August", "September", "October", "November",
                                         "December"};

static void put_num(tpl_ctx *c, tpl_buf *b, int v, int width, bool pad, char padch)
{
    if (pad)
        tpl_buf_putf(c, b, padch == '0' ? "%0*d" : "%*d", width, v);
    else
        tpl_buf_putf(c, b, "%d", v);
}

static void format_time(tpl_ctx *c, const tpl_node *at, tpl_buf *b, const char *fmt,
                        const civil *t)
{
    int wd = weekday(t->y, t->mon, t->d);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            tpl_buf_putc(c, b, *p);
            continue;
        }
        p++;
        bool pad = true;
        if (*p == '-') {   /* glibc: no padding */
            pad = false;
            p++;
        }
        int h12 = t->h % 12 == 0 ? 12 : t->h % 12;
        switch (*p) {
        case '%': tpl_buf_putc(c, b, '%'); break;
        case 'a': tpl_buf_put(c, b, wd_full[wd], 3); break;
        case 'A': tpl_buf_put(c, b, wd_full[wd], strlen(wd_full[wd])); break;
        case 'b': case 'h': tpl_buf_put(c, b, mon_full[t->mon - 1], 3); break;
        case 'B': tpl_buf_put(c, b, mon_full[t->mon - 1], strlen(mon_full[t->mon - 1])); break;
        case 'd': put_num(c, b, t->d, 2, pad, '0'); break;
        case 'e': put_num(c, b, t->d, 2, pad, ' '); break;
        case 'm': put_num(c, b, t->mon, 2, pad, '0'); break;
        case 'y': put_num(c, b, t->y % 100, 2, pad, '0'); break;
        case 'Y': tpl_buf_putf(c, b, "%d", t->y); break;
        case 'H': put_num(c, b, t->h, 2, pad, '0'); break;
        case 'I': put_num(c, b, h12, 2, pad, '0'); break;
        case 'M': put_num(c, b, t->min, 2, pad, '0'); break;
        case 'S': put_num(c, b, t->s, 2, pad, '0'); break;
        case 'f': tpl_buf_putf(c, b, "%06d", t->us); break;
        case 'p': tpl_buf_put(c, b, t->h < 12 ? "AM" : "PM", 2); break;
        case 'j': put_num(c, b, yday(t->y, t->mon, t->d), 3, pad, '0'); break;
        case 'w': tpl_buf_putf(c, b, "%d", wd); break;
        case 'u': tpl_buf_putf(c, b, "%d", wd == 0 ? 7 : wd); break;
        case 'D': tpl_buf_putf(c, b, "%02d/%02d/%02d", t->mon, t->d, t->y % 100); break;
        case 'F': tpl_buf_putf(c, b, "%d-%02d-%02d", t->y, t->mon, t->d); break;
        case 'T': case 'X': tpl_buf_putf(c, b, "%02d:%02d:%02d", t->h, t->min, t->s); break;
        case 'R': tpl_buf_putf(c, b, "%02d:%02d", t->h, t->min); break;
        case 'x': tpl_buf_putf(c, b, "%02d/%02d/%02d", t->mon, t->d, t->y % 100); break;
        case 'c':
            tpl_buf_putf(c, b, "%.3s %.3s %2d %02d:%02d:%02d %d", wd_full[wd],
                         mon_full[t->mon - 1], t->d, t->h, t->min, t->s, t->y);
            break;
        case 'Z': case 'z': break;   /* naive time: no zone, as Python prints for datetime.now() */
        case 'n': tpl_buf_putc(c, b, '\n'); break;
        case 't': tpl_buf_putc(c, b, '\t'); break;
        default:
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "strftime_now: unsupported directive '%%%c'",
                     *p ? *p : ' ');
        }
        if (!*p)
            break;
    }
}

static tpl_value g_strftime_now(tpl_ctx *c, const tpl_node *at, tpl_value self,
                                const tpl_args *a)
{
    (void)self;
    tpl_args_check(c, at, "strftime_now", a, 1, NULL);
    if (a->n != 1 || a->v[0].kind != TV_STR)
        tpl_fail(c, at->pos, LLM_ERR_FORMAT, "strftime_now() needs a format string");
    civil t;
    if (c->now) {
        if (!parse_iso(c->now, &t))
            tpl_fail(c, at->pos, LLM_ERR_FORMAT, "the fixed time '%s' is not ISO-8601 "
                     "(YYYY-MM-DDTHH:MM:SS)", c->now);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        t.y = tm.tm_year + 1900;
        t.mon = tm.tm_mon + 1;
        t.d = tm.tm_mday;
        t.h = tm.tm_hour;
        t.min = tm.tm_min;
        t.s = tm.tm_sec;
        t.us = (int)(ts.tv_nsec / 1000);
    }
    tpl_buf b = {0};
    format_time(c, at, &b, a->v[0].u.s->p, &t);
    return tv_str_buf(c, &b);
}

void tpl_install_globals(tpl_ctx *c, tpl_scope *g)
{
    tv_dict_set_cstr(c, g->vars, "range", tv_func(c, "range", g_range, tv_none()));
    tv_dict_set_cstr(c, g->vars, "namespace", tv_func(c, "namespace", g_namespace, tv_none()));
    tv_dict_set_cstr(c, g->vars, "dict", tv_func(c, "dict", g_dict, tv_none()));
    tv_dict_set_cstr(c, g->vars, "raise_exception",
                     tv_func(c, "raise_exception", g_raise, tv_none()));
    tv_dict_set_cstr(c, g->vars, "strftime_now",
                     tv_func(c, "strftime_now", g_strftime_now, tv_none()));
}
