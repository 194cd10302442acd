/*
 * Fault injection for the test suite: the library's allocator and its file reads and writes ask
 * here whether this call should fail. Disarmed (the default) it costs one relaxed atomic load per
 * call. A test arms one kind of fault to hit the Nth call from now (1-based) and sweeps N from 1
 * until an operation no longer reaches it; llm_fault_calls() tells how many calls of the armed
 * kind were made, which is the number of injection points of a sweep.
 *
 * Not API: the hook is reachable only from the internal tests that link the static copy.
 */
#ifndef LLM_COMMON_FAULT_H
#define LLM_COMMON_FAULT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum llm_fault_kind {
    LLM_FAULT_NONE = 0,
    LLM_FAULT_ALLOC = 1,        /* llm_malloc/calloc/realloc/aligned_alloc return NULL */
    LLM_FAULT_READ_EIO = 2,     /* a file read fails with EIO */
    LLM_FAULT_READ_SHORT = 3,   /* a file read returns fewer bytes than asked (from the Nth on) */
    LLM_FAULT_WRITE_ENOSPC = 4  /* a file write fails with ENOSPC */
} llm_fault_kind;

/* Arms `kind` to fail its nth call from now (nth >= 1); LLM_FAULT_NONE or nth 0 disarms. Resets
 * the call counter. Not for use while other threads of the library run. */
void llm_fault_arm(llm_fault_kind kind, uint64_t nth);

/* Calls of the armed kind since llm_fault_arm(). */
uint64_t llm_fault_calls(void);

/* True once the armed fault has been injected. */
bool llm_fault_fired(void);

/* For the hooked functions: true when this call of `kind` must fail. */
bool llm_fault_hit(llm_fault_kind kind);

#endif /* LLM_COMMON_FAULT_H */
