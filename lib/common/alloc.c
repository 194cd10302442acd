/*
 * The library's allocator: thin wrappers over the C allocator that count calls (for the test that
 * proves generation does not allocate per token) and give 64-byte aligned blocks for SIMD. The
 * test suite's fault hook (fault.h) can make any one call fail.
 */
#include "common/alloc.h"

#include "common/fault.h"

#include <llm/llm.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t alloc_calls;

uint64_t llm_alloc_count(void)
{
    return atomic_load_explicit(&alloc_calls, memory_order_relaxed);
}

static void count_call(void)
{
    atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
}

void *llm_malloc(size_t size)
{
    count_call();
    if (llm_fault_hit(LLM_FAULT_ALLOC))
        return NULL;
    return malloc(size ? size : 1);
}

void *llm_calloc(size_t count, size_t size)
{
    count_call();
    if (llm_fault_hit(LLM_FAULT_ALLOC))
        return NULL;
    if (size && count > SIZE_MAX / size)
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *llm_realloc(void *ptr, size_t size)
{
    count_call();
    if (llm_fault_hit(LLM_FAULT_ALLOC))
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void llm_mem_free(void *ptr)
{
    free(ptr);
}

char *llm_strndup(const char *s, size_t n)
{
    char *d = llm_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *llm_strdup(const char *s)
{
    return llm_strndup(s, strlen(s));
}

void *llm_aligned_alloc(size_t size)
{
    count_call();
    if (llm_fault_hit(LLM_FAULT_ALLOC))
        return NULL;
    /* aligned_alloc wants a multiple of the alignment */
    size_t rounded = (size + 63) & ~(size_t)63;
    if (rounded < size)
        return NULL;
    return aligned_alloc(64, rounded ? rounded : 64);
}

void llm_aligned_free(void *ptr)
{
    free(ptr);
}

void llm_free(void *ptr)
{
    free(ptr);
}
