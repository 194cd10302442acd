/* Fault injection for the test suite (see fault.h). */
#include "common/fault.h"

#include <stdatomic.h>

static atomic_int armed_kind;        /* llm_fault_kind; 0 = disarmed */
static atomic_uint_fast64_t target;  /* the call that fails */
static atomic_uint_fast64_t calls;   /* calls of the armed kind so far */
static atomic_bool fired;

void llm_fault_arm(llm_fault_kind kind, uint64_t nth)
{
    atomic_store(&armed_kind, 0);
    atomic_store(&calls, 0);
    atomic_store(&fired, false);
    atomic_store(&target, nth);
    if (kind != LLM_FAULT_NONE && nth > 0)
        atomic_store(&armed_kind, (int)kind);
}

uint64_t llm_fault_calls(void)
{
    return atomic_load(&calls);
}

bool llm_fault_fired(void)
{
    return atomic_load(&fired);
}

bool llm_fault_hit(llm_fault_kind kind)
{
    if (atomic_load_explicit(&armed_kind, memory_order_relaxed) != (int)kind)
        return false;
    uint64_t n = atomic_fetch_add(&calls, 1) + 1;
    uint64_t t = atomic_load(&target);
    /* a short read keeps happening from the Nth read on; the others fail once */
    bool hit = kind == LLM_FAULT_READ_SHORT ? n >= t : n == t;
    if (hit)
        atomic_store(&fired, true);
    return hit;
}
