/*
 * Internal allocation. All heap memory of the library goes through these functions so that a test
 * hook can count calls (to prove the generation loop does not allocate) and so that buffers the
 * caller frees with llm_free() come from the same allocator. Aligned blocks are 64-byte aligned.
 */
#ifndef LLM_COMMON_ALLOC_H
#define LLM_COMMON_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *llm_malloc(size_t size);
void *llm_calloc(size_t count, size_t size);   /* overflow-checked; NULL on overflow */
void *llm_realloc(void *ptr, size_t size);
void llm_mem_free(void *ptr);                  /* accepts NULL */
char *llm_strdup(const char *s);
char *llm_strndup(const char *s, size_t n);

/* 64-byte aligned; release with llm_aligned_free(). */
void *llm_aligned_alloc(size_t size);
void llm_aligned_free(void *ptr);

/* Overflow-safe arithmetic for sizes that come from files: return 0 on overflow. */
static inline int llm_mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline int llm_add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Test hook: number of llm_malloc/calloc/realloc/aligned_alloc calls made by this process. */
uint64_t llm_alloc_count(void);

#endif /* LLM_COMMON_ALLOC_H */
