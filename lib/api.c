/*
 * Public entry points that belong to no single room: version, option defaults, misc. Each public
 * call checks its arguments, calls into the library, and turns internal errors into a status plus
 * a message (llm_last_error / the handle's own). Nothing else lives here.
 */
#include <llm/llm.h>

#include <math.h>
#include <string.h>

#include "common/error.h"

int llm_version_number(void)
{
    return LLM_VERSION_NUMBER;
}

const char *llm_version_string(void)
{
    return LLM_VERSION_STRING;
}

float llm_cosine_similarity(const float *a, const float *b, size_t n)
{
    if (!a || !b)
        return 0.0f;
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    if (na == 0 || nb == 0)
        return 0.0f;
    return (float)(dot / (sqrt(na) * sqrt(nb)));
}
