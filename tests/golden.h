/*
 * Access to ../shared/data/golden/manifest.json for the model tests: cases, their inputs,
 * output files with shapes, greedy ids and margins, and the recommended tolerance per weight type.
 */
#ifndef LLM_TESTS_GOLDEN_H
#define LLM_TESTS_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct golden_case {
    char name[96];
    char model_path[512];      /* absolute path of the model file */
    char arch[16];
    char weight_type[16];
    int32_t ids[256];
    size_t n_ids;
    char text[512];            /* the prompt of a text case ("" for ids cases) */
    int32_t greedy[64];
    float margins[64];
    size_t n_greedy;
    double max_abs_logit;
    double tol;                /* recommended tolerance for the weight type */
} golden_case;

/* Number of cases of the architecture `arch` ("gpt2", "llama", "bert", "t5"); fills up to cap. */
size_t golden_cases(const char *arch, golden_case *out, size_t cap);

/* Loads output `which` ("logits", "greedy_logits", ...) of a case: malloc'ed floats, shape in
 * rows/cols (cols = 1 for vectors). NULL when the case has no such output. */
float *golden_output(const golden_case *c, const char *which, size_t *rows, size_t *cols);

#endif /* LLM_TESTS_GOLDEN_H */
