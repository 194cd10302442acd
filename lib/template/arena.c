/*
 * The render arena, growable buffers inside it, and the failure path (tpl_fail) every part of the
 * engine unwinds through. Blocks are never freed one by one: the whole arena goes at the end of
 * the render, which is what makes longjmp-based unwinding leak-free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "template/tpl_internal.h"

#define TPL_BLOCK_BYTES (64u * 1024u)

struct tpl_block {
    tpl_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *tpl_alloc(tpl_ctx *c, size_t size)
{
    tpl_arena *a = &c->arena;
    size = (size + 15u) & ~(size_t)15u;
    if (size == 0)
        size = 16;
    if (size > a->limit || a->used_total > a->limit - size)
        tpl_fail(c, (size_t)-1, LLM_ERR_LIMIT,
                 "the template needs more than %zu bytes of working memory (raise "
                 "max_memory to allow it)",
                 a->limit);
    tpl_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > TPL_BLOCK_BYTES / 4 ? size : TPL_BLOCK_BYTES;
        tpl_block *nb = llm_malloc(sizeof *nb + cap);
        if (!nb)
            tpl_fail(c, (size_t)-1, LLM_ERR_NOMEM, "out of memory");
        nb->used = 0;
        nb->cap = cap;
        if (b && cap != TPL_BLOCK_BYTES) {
            /* a large single allocation: keep the current block open for small ones */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used_total += size;
    memset(p, 0, size);
    return p;
}

char *tpl_strndup(tpl_ctx *c, const char *s, size_t n)
{
    char *p = tpl_alloc(c, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void tpl_arena_free(tpl_arena *a)
{
    tpl_block *b = a->head;
    while (b) {
        tpl_block *next = b->next;
        llm_mem_free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

/* ---------------------------------------------------------------------------------------------- */

static void buf_reserve(tpl_ctx *c, tpl_buf *b, size_t extra)
{
    if (b->is_output) {
        if (extra > c->lim.max_output || c->output_bytes > c->lim.max_output - extra)
            tpl_fail(c, (size_t)-1, LLM_ERR_LIMIT,
                     "the rendering exceeds the output limit of %zu bytes (raise max_output to "
                     "allow it)",
                     c->lim.max_output);
        c->output_bytes += extra;
    }
    if (b->cap - b->len > extra)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2)
            tpl_fail(c, (size_t)-1, LLM_ERR_LIMIT, "a string grew past the address space");
        cap *= 2;
    }
    char *p = tpl_alloc(c, cap);
    if (b->len)
        memcpy(p, b->p, b->len);
    b->p = p;
    b->cap = cap;
}

void tpl_buf_put(tpl_ctx *c, tpl_buf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    buf_reserve(c, b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void tpl_buf_putc(tpl_ctx *c, tpl_buf *b, char ch)
{
    tpl_buf_put(c, b, &ch, 1);
}

void tpl_buf_putf(tpl_ctx *c, tpl_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    tpl_buf_put(c, b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---------------------------------------------------------------------------------------------- */

void tpl_line_col(const tpl_ctx *c, size_t pos, unsigned *line, unsigned *col)
{
    unsigned l = 1, k = 1;
    if (pos > c->src_n)
        pos = c->src_n;
    for (size_t i = 0; i < pos; i++) {
        if (c->src[i] == '\n') {
            l++;
            k = 1;
        } else if (((unsigned char)c->src[i] & 0xC0) != 0x80) {
            k++;
        }
    }
    *line = l;
    *col = k;
}

void tpl_fail(tpl_ctx *c, size_t pos, llm_status st, const char *fmt, ...)
{
    char msg[LLM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pos == (size_t)-1 || st == LLM_ERR_STATE || !c->src) {
        llm_error_set(c->err, st, "%s", msg);
    } else {
        unsigned line, col;
        tpl_line_col(c, pos, &line, &col);
        llm_error_set(c->err, st, "template line %u, column %u: %s", line, col, msg);
    }
    longjmp(c->jb, 1);
}

void tpl_step(tpl_ctx *c, size_t pos, uint64_t n)
{
    if (n > c->lim.max_steps || c->steps > c->lim.max_steps - n)
        tpl_fail(c, pos, LLM_ERR_LIMIT,
                 "the template ran more than %llu steps (a runaway loop? raise max_steps to allow "
                 "it)",
                 (unsigned long long)c->lim.max_steps);
    c->steps += n;
}
