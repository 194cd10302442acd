/*
 * A minimal safetensors writer for the tests (the library only reads safetensors): collects
 * tensors, then writes the 8-byte header length, the JSON header padded with spaces to a multiple
 * of 8, and the data in order.
 */
#ifndef LLM_TESTS_ST_WRITER_H
#define LLM_TESTS_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct stw_entry {
    char *name;
    char dtype[8];
    int n_dims;
    uint64_t shape[4];
    void *data;
    size_t nbytes;
} stw_entry;

typedef struct stw {
    stw_entry *e;
    size_t n;
} stw;

/* Copies name and data. */
void stw_add(stw *w, const char *name, const char *dtype, int n_dims, const uint64_t *shape,
             const void *data, size_t nbytes);
/* Writes the file (0 on success). */
int stw_write(const stw *w, const char *path);
/* The same into a malloc'ed buffer. */
void *stw_write_memory(const stw *w, size_t *size);
void stw_free(stw *w);

#endif /* LLM_TESTS_ST_WRITER_H */
