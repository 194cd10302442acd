/* A minimal safetensors writer for the tests; see st_writer.h. */
#include "st_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stw_add(stw *w, const char *name, const char *dtype, int n_dims, const uint64_t *shape,
             const void *data, size_t nbytes)
{
    w->e = realloc(w->e, (w->n + 1) * sizeof *w->e);
    stw_entry *e = &w->e[w->n++];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    snprintf(e->dtype, sizeof e->dtype, "%s", dtype);
    e->n_dims = n_dims;
    for (int d = 0; d < n_dims; d++)
        e->shape[d] = shape[d];
    e->data = malloc(nbytes ? nbytes : 1);
    if (nbytes)
        memcpy(e->data, data, nbytes);
    e->nbytes = nbytes;
}

void *stw_write_memory(const stw *w, size_t *size)
{
    size_t cap = 4096 + w->n * 256, len = 0;
    char *h = malloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    size_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const stw_entry *e = &w->e[i];
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", e->name,
                                e->dtype);
        for (int d = 0; d < e->n_dims; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%llu", d ? "," : "",
                                    (unsigned long long)e->shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off,
                                off + e->nbytes);
        off += e->nbytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    size_t total = 8 + len + off;
    unsigned char *out = malloc(total);
    uint64_t hl = len;
    memcpy(out, &hl, 8);
    memcpy(out + 8, h, len);
    size_t o = 8 + len;
    for (size_t i = 0; i < w->n; i++) {
        memcpy(out + o, w->e[i].data, w->e[i].nbytes);
        o += w->e[i].nbytes;
    }
    free(h);
    *size = total;
    return out;
}

int stw_write(const stw *w, const char *path)
{
    size_t n;
    void *buf = stw_write_memory(w, &n);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(buf, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(buf);
    return rc;
}

void stw_free(stw *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].data);
    }
    free(w->e);
    w->e = NULL;
    w->n = 0;
}
