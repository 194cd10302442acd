/*
 * Jinja2's lexer as Hugging Face configures it: trim_blocks (the first newline after a block or
 * comment tag goes), lstrip_blocks (spaces and tabs before a block or comment tag at the start of
 * a line go), the -/+ whitespace controls, {% raw %}, and the expression tokens inside tags
 * (names, numbers, Python-escaped strings, operators, with brackets balanced so that `}}` inside
 * a dict literal does not end the tag). The source has already had its newlines normalized and
 * one trailing newline removed (keep_trailing_newline=False), as Jinja does before lexing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "template/tpl_internal.h"

static tpl_token *push(tpl_ctx *c, uint8_t kind, size_t pos)
{
    if (c->ntok == c->tok_cap) {
        size_t cap = c->tok_cap ? c->tok_cap * 2 : 256;
        tpl_token *nt = tpl_alloc(c, cap * sizeof *nt);
        if (c->ntok)
            memcpy(nt, c->toks, c->ntok * sizeof *nt);
        c->toks = nt;
        c->tok_cap = cap;
    }
    tpl_token *t = &c->toks[c->ntok++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->pos = pos;
    return t;
}

static void emit_text(tpl_ctx *c, size_t b, size_t e)
{
    if (e <= b)
        return;
    tpl_token *t = push(c, TK_TEXT, b);
    t->s = tpl_strndup(c, c->src + b, e - b);
    t->n = e - b;
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Python's `\s` on text after the last newline: only whitespace (Unicode spaces included). */
static bool all_space(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n)
        if (!tpl_is_space(tpl_utf8_next(s, n, &i)))
            return false;
    return true;
}

/* The end of the text before a tag after whitespace control: `sign` is '-', '+' or 0. */
static size_t text_end(tpl_ctx *c, size_t b, size_t e, char sign, bool lstrip, bool line_start)
{
    if (sign == '-') {
        size_t st, len;
        tpl_strip(c->src + b, e - b, NULL, 0, false, true, &st, &len);
        return b + st + len;
    }
    if (sign == '+' || !lstrip)
        return e;
    size_t l = e;
    while (l > b && c->src[l - 1] != '\n')
        l--;
    if ((l > b || line_start) && e > l && all_space(c->src + l, e - l))
        return l;
    return e;
}

static size_t skip_ws(const tpl_ctx *c, size_t p)
{
    while (p < c->src_n && is_ws(c->src[p]))
        p++;
    return p;
}

static bool starts(const tpl_ctx *c, size_t p, const char *lit)
{
    size_t n = strlen(lit);
    return p + n <= c->src_n && memcmp(c->src + p, lit, n) == 0;
}

/* `{%[-+]? raw [-]?%}` at p: returns the offset after it (0 when it is not a raw tag). */
static size_t match_raw_begin(const tpl_ctx *c, size_t p)
{
    size_t q = p + 2;
    if (q < c->src_n && (c->src[q] == '-' || c->src[q] == '+'))
        q++;
    q = skip_ws(c, q);
    if (!starts(c, q, "raw"))
        return 0;
    q = skip_ws(c, q + 3);
    if (starts(c, q, "-%}"))
        return skip_ws(c, q + 3);
    if (starts(c, q, "%}"))
        return q + 2;
    return 0;
}

/* Finds `{%[-+]? endraw [-+]?%}` from p. Returns its start; *sign, *after describe it. */
static size_t find_raw_end(const tpl_ctx *c, size_t p, char *sign, size_t *after)
{
    for (size_t k = p; k + 1 < c->src_n; k++) {
        if (c->src[k] != '{' || c->src[k + 1] != '%')
            continue;
        size_t q = k + 2;
        char sg = 0;
        if (q < c->src_n && (c->src[q] == '-' || c->src[q] == '+'))
            sg = c->src[q++];
        q = skip_ws(c, q);
        if (!starts(c, q, "endraw"))
            continue;
        q = skip_ws(c, q + 6);
        if (starts(c, q, "+%}")) {
            *after = q + 3;
        } else if (starts(c, q, "-%}")) {
            *after = skip_ws(c, q + 3);
        } else if (starts(c, q, "%}")) {
            q += 2;
            if (q < c->src_n && c->src[q] == '\n')
                q++;
            *after = q;
        } else {
            continue;
        }
        *sign = sg;
        return k;
    }
    return (size_t)-1;
}

/* ---------------------------------------------------------------------------------------------- */
/* expression tokens                                                                              */
/* ---------------------------------------------------------------------------------------------- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A string literal's body decoded as Python's "unicode-escape" codec does. */
static void lex_string(tpl_ctx *c, size_t p, size_t *endp)
{
    char q = c->src[p];
    size_t k = p + 1;
    tpl_buf b = {0};
    for (;;) {
        if (k >= c->src_n)
            tpl_fail(c, p, LLM_ERR_FORMAT, "unterminated string literal");
        char ch = c->src[k];
        if (ch == q)
            break;
        if (ch != '\\') {
            tpl_buf_putc(c, &b, ch);
            k++;
            continue;
        }
        if (k + 1 >= c->src_n)
            tpl_fail(c, p, LLM_ERR_FORMAT, "unterminated string literal");
        char e = c->src[k + 1];
        k += 2;
        switch (e) {
        case '\n': break;
        case '\\': tpl_buf_putc(c, &b, '\\'); break;
        case '\'': tpl_buf_putc(c, &b, '\''); break;
        case '"': tpl_buf_putc(c, &b, '"'); break;
        case 'a': tpl_buf_putc(c, &b, '\a'); break;
        case 'b': tpl_buf_putc(c, &b, '\b'); break;
        case 'f': tpl_buf_putc(c, &b, '\f'); break;
        case 'n': tpl_buf_putc(c, &b, '\n'); break;
        case 'r': tpl_buf_putc(c, &b, '\r'); break;
        case 't': tpl_buf_putc(c, &b, '\t'); break;
        case 'v': tpl_buf_putc(c, &b, '\v'); break;
        case 'x': case 'u': case 'U': {
            int want = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int j = 0; j < want; j++) {
                int h = k + (size_t)j < c->src_n ? hexval(c->src[k + (size_t)j]) : -1;
                if (h < 0)
                    tpl_fail(c, k - 2, LLM_ERR_FORMAT, "truncated \\%c escape in a string", e);
                cp = cp * 16 + (uint32_t)h;
            }
            k += (size_t)want;
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                tpl_fail(c, k - 2, LLM_ERR_FORMAT, "escape \\%c names no character", e);
            char enc[4];
            tpl_buf_put(c, &b, enc, tpl_utf8_put(cp, enc));
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = (uint32_t)(e - '0');
                for (int j = 0; j < 2 && k < c->src_n && c->src[k] >= '0' && c->src[k] <= '7'; j++)
                    cp = cp * 8 + (uint32_t)(c->src[k++] - '0');
                char enc[4];
                tpl_buf_put(c, &b, enc, tpl_utf8_put(cp, enc));
            } else {
                /* Python keeps an unknown escape as written */
                tpl_buf_putc(c, &b, '\\');
                k--;
            }
            break;
        }
    }
    tpl_token *t = push(c, TK_STRING, p);
    t->s = b.p ? b.p : tpl_strndup(c, "", 0);
    t->n = b.len;
    *endp = k + 1;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static size_t digits(const tpl_ctx *c, size_t p)
{
    /* (\d+_)*\d+ */
    size_t q = p;
    while (q < c->src_n && is_digit(c->src[q])) {
        q++;
        if (q + 1 < c->src_n && c->src[q] == '_' && is_digit(c->src[q + 1]))
            q++;
    }
    return q;
}

static void lex_number(tpl_ctx *c, size_t p, size_t *endp)
{
    size_t q = digits(c, p);
    bool is_float = false;
    bool after_dot = p > 0 && c->src[p - 1] == '.';
    if (!after_dot) {
        size_t r = q;
        if (r + 1 < c->src_n && c->src[r] == '.' && is_digit(c->src[r + 1])) {
            r = digits(c, r + 1);
            is_float = true;
        }
        if (r < c->src_n && (c->src[r] == 'e' || c->src[r] == 'E')) {
            size_t s = r + 1;
            if (s < c->src_n && (c->src[s] == '+' || c->src[s] == '-'))
                s++;
            if (s < c->src_n && is_digit(c->src[s])) {
                r = digits(c, s);
                is_float = true;
            }
        }
        if (is_float)
            q = r;
    }
    char tmp[64];
    size_t m = 0;
    for (size_t i = p; i < q && m + 1 < sizeof tmp; i++)
        if (c->src[i] != '_')
            tmp[m++] = c->src[i];
    tmp[m] = '\0';
    if (is_float) {
        tpl_token *t = push(c, TK_FLOAT, p);
        t->f = strtod(tmp, NULL);
    } else {
        errno = 0;
        long long v = strtoll(tmp, NULL, 10);
        if (errno == ERANGE || m + 1 >= sizeof tmp)
            tpl_fail(c, p, LLM_ERR_LIMIT, "integer literal %s is too large", tmp);
        tpl_token *t = push(c, TK_INT, p);
        t->i = v;
    }
    *endp = q;
}

static const char *const ops2[] = {"//", "**", "==", "!=", ">=", "<=", NULL};
static const char ops1[] = "+-/*%~[](){}><=.:|,;";

/* Lexes a tag's inside from p; returns the offset after its end tag. */
static size_t lex_tag(tpl_ctx *c, size_t begin, size_t p, bool block)
{
    char stack[256];
    size_t depth = 0;
    for (;;) {
        p = skip_ws(c, p);
        if (p >= c->src_n)
            tpl_fail(c, begin, LLM_ERR_FORMAT, "unexpected end of template: the tag is not closed "
                     "by '%s'", block ? "%}" : "}}");
        if (depth == 0) {
            if (block) {
                if (starts(c, p, "+%}")) {
                    push(c, TK_BLOCK_END, p);
                    return p + 3;
                }
                if (starts(c, p, "-%}")) {
                    push(c, TK_BLOCK_END, p);
                    return skip_ws(c, p + 3);
                }
                if (starts(c, p, "%}")) {
                    push(c, TK_BLOCK_END, p);
                    p += 2;
                    if (p < c->src_n && c->src[p] == '\n')
                        p++;
                    return p;
                }
            } else {
                if (starts(c, p, "-}}")) {
                    push(c, TK_VAR_END, p);
                    return skip_ws(c, p + 3);
                }
                if (starts(c, p, "}}")) {
                    push(c, TK_VAR_END, p);
                    return p + 2;
                }
            }
        }
        char ch = c->src[p];
        if (is_digit(ch)) {
            lex_number(c, p, &p);
            continue;
        }
        if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            size_t q = p + 1;
            while (q < c->src_n && (c->src[q] == '_' || is_digit(c->src[q]) ||
                                    (c->src[q] >= 'a' && c->src[q] <= 'z') ||
                                    (c->src[q] >= 'A' && c->src[q] <= 'Z')))
                q++;
            tpl_token *t = push(c, TK_NAME, p);
            t->s = tpl_strndup(c, c->src + p, q - p);
            t->n = q - p;
            p = q;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            lex_string(c, p, &p);
            continue;
        }
        const char *op = NULL;
        for (int i = 0; ops2[i]; i++)
            if (starts(c, p, ops2[i]))
                op = ops2[i];
        size_t oplen = 2;
        char one[2] = {ch, 0};
        if (!op && ch && strchr(ops1, ch)) {
            op = one;
            oplen = 1;
        }
        if (!op) {
            if ((unsigned char)ch >= 0x80)
                tpl_fail(c, p, LLM_ERR_FORMAT, "unexpected non-ASCII character in a tag (names "
                         "are ASCII)");
            tpl_fail(c, p, LLM_ERR_FORMAT, "unexpected character '%c' in a tag", ch);
        }
        if (oplen == 1 && (ch == '(' || ch == '[' || ch == '{')) {
            if (depth == sizeof stack)
                tpl_fail(c, p, LLM_ERR_LIMIT, "brackets nested more than %zu deep",
                         sizeof stack);
            stack[depth++] = ch == '(' ? ')' : ch == '[' ? ']' : '}';
        } else if (oplen == 1 && (ch == ')' || ch == ']' || ch == '}')) {
            if (depth == 0 || stack[depth - 1] != ch)
                tpl_fail(c, p, LLM_ERR_FORMAT, "unexpected '%c'", ch);
            depth--;
        }
        tpl_token *t = push(c, TK_OP, p);
        memcpy(t->op, op, oplen);
        t->op[oplen] = '\0';
        p += oplen;
    }
}

void tpl_lex(tpl_ctx *c)
{
    const char *s = c->src;
    size_t n = c->src_n, pos = 0;
    bool line_start = true;
    while (pos < n) {
        size_t k = pos;
        while (k + 1 < n && !(s[k] == '{' && (s[k + 1] == '{' || s[k + 1] == '%' ||
                                              s[k + 1] == '#')))
            k++;
        if (k + 1 >= n) {
            emit_text(c, pos, n);
            break;
        }
        char kind = s[k + 1];
        size_t after = k + 2;
        char sign = 0;
        if (after < n && (s[after] == '-' || s[after] == '+'))
            sign = s[after++];
        if (kind == '%') {
            size_t raw_after = match_raw_begin(c, k);
            if (raw_after) {
                emit_text(c, pos, text_end(c, pos, k, sign, true, line_start));
                char esign = 0;
                size_t eafter = 0;
                size_t e = find_raw_end(c, raw_after, &esign, &eafter);
                if (e == (size_t)-1)
                    tpl_fail(c, k, LLM_ERR_FORMAT, "{%% raw %%} is not closed by {%% endraw %%}");
                bool ls = raw_after > 0 && s[raw_after - 1] == '\n';
                emit_text(c, raw_after, text_end(c, raw_after, e, esign, true, ls));
                pos = eafter;
                line_start = pos > 0 && s[pos - 1] == '\n';
                continue;
            }
        }
        emit_text(c, pos, text_end(c, pos, k, sign, kind != '{', line_start));
        if (kind == '#') {
            size_t e = after;
            while (e + 1 < n && !(s[e] == '#' && s[e + 1] == '}'))
                e++;
            if (e + 1 >= n)
                tpl_fail(c, k, LLM_ERR_FORMAT, "the comment is not closed by '#}'");
            if (e > after && s[e - 1] == '-') {
                pos = skip_ws(c, e + 2);
            } else if (e > after && s[e - 1] == '+') {
                pos = e + 2;
            } else {
                pos = e + 2;
                if (pos < n && s[pos] == '\n')
                    pos++;
            }
        } else {
            push(c, kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, k);
            pos = lex_tag(c, k, after, kind == '%');
        }
        line_start = pos > 0 && s[pos - 1] == '\n';
    }
    push(c, TK_EOF, n);
}
