/*
 * UTF-8 helpers with Python's string semantics: lengths and indices count code points, strip()
 * removes what str.isspace() calls whitespace, and upper/lower/capitalize/title map code points
 * through utf8proc (simple case mapping: one code point to one, as utf8proc provides).
 * All text reaching here was validated as UTF-8 on entry to the render.
 */
#include <string.h>
#include <utf8proc.h>

#include "template/tpl_internal.h"

uint32_t tpl_utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = *i;
    uint32_t c = u[k];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (k + len > n)
        len = n - k;
    if (len == 1) {
        *i = k + 1;
        return c;
    }
    uint32_t cp = c & (0x7Fu >> len);
    for (size_t j = 1; j < len; j++)
        cp = (cp << 6) | (u[k + j] & 0x3Fu);
    *i = k + len;
    return cp;
}

size_t tpl_utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t tpl_utf8_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            k++;
    return k;
}

size_t tpl_utf8_offset(const char *s, size_t n, size_t cp)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (k == cp)
                return i;
            k++;
        }
    }
    return n;
}

bool tpl_utf8_valid(const char *s, size_t n, size_t *bad_at)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        size_t len;
        uint32_t min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            min = 0x10000;
        } else {
            goto bad;
        }
        if (i + len > n)
            goto bad;
        uint32_t cp = c & (0x7Fu >> len);
        for (size_t j = 1; j < len; j++) {
            if ((u[i + j] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (u[i + j] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += len;
    }
    return true;
bad:
    if (bad_at)
        *bad_at = i;
    return false;
}

bool tpl_is_space(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E:
    case 0x1F: case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

static bool in_chars(uint32_t cp, const char *chars, size_t nchars)
{
    size_t i = 0;
    while (i < nchars)
        if (tpl_utf8_next(chars, nchars, &i) == cp)
            return true;
    return false;
}

void tpl_strip(const char *s, size_t n, const char *chars, size_t nchars, bool left, bool right,
               size_t *start, size_t *len)
{
    size_t b = 0, e = n;
    if (left) {
        while (b < e) {
            size_t i = b;
            uint32_t cp = tpl_utf8_next(s, e, &i);
            if (chars ? !in_chars(cp, chars, nchars) : !tpl_is_space(cp))
                break;
            b = i;
        }
    }
    if (right) {
        while (e > b) {
            size_t k = e - 1;
            while (k > b && ((unsigned char)s[k] & 0xC0) == 0x80)
                k--;
            size_t i = k;
            uint32_t cp = tpl_utf8_next(s, e, &i);
            if (chars ? !in_chars(cp, chars, nchars) : !tpl_is_space(cp))
                break;
            e = k;
        }
    }
    *start = b;
    *len = e - b;
}

/* Python's str.title(): a cased letter after an uncased character starts a word. */
static bool is_cased(uint32_t cp)
{
    return utf8proc_tolower((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
           utf8proc_toupper((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
           utf8proc_totitle((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp;
}

tpl_value tpl_case_map(tpl_ctx *c, tpl_value s, int mode)
{
    tpl_buf b = {0};
    const char *p = s.u.s->p;
    size_t n = s.u.s->n, i = 0;
    bool first = true, prev_cased = false;
    while (i < n) {
        uint32_t cp = tpl_utf8_next(p, n, &i);
        utf8proc_int32_t m;
        switch (mode) {
        case 0: m = utf8proc_tolower((utf8proc_int32_t)cp); break;
        case 1: m = utf8proc_toupper((utf8proc_int32_t)cp); break;
        case 2: m = first ? utf8proc_totitle((utf8proc_int32_t)cp)
                          : utf8proc_tolower((utf8proc_int32_t)cp);
            break;
        default:
            m = prev_cased ? utf8proc_tolower((utf8proc_int32_t)cp)
                           : utf8proc_totitle((utf8proc_int32_t)cp);
            prev_cased = is_cased(cp);
            break;
        }
        first = false;
        char enc[4];
        tpl_buf_put(c, &b, enc, tpl_utf8_put((uint32_t)m, enc));
    }
    return tv_str_buf(c, &b);
}
