/*
 * The sampling chain, in this order: logit bias → repetition / frequency / presence penalties over
 * the last `penalty_last_n` tokens → temperature → top-k → top-p → min-p → typical-p → greedy pick
 * (temperature 0) or a draw from a seeded xoshiro256** generator. The generator and the chain use
 * only integer and IEEE float arithmetic in a fixed order, so the same seed and inputs give the
 * same tokens on every machine and thread count.
 */
#ifndef LLM_SESSION_SAMPLER_H
#define LLM_SESSION_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct llm_candidate {
    int32_t id;
    float logit;
    float p;
} llm_candidate;

typedef struct llm_logit_bias {
    int32_t id;
    float bias;
} llm_logit_bias;

typedef struct llm_sampler {
    float temperature, top_p, min_p, typical_p;
    float repeat_penalty, frequency_penalty, presence_penalty;
    int32_t top_k, penalty_last_n;
    uint64_t seed;
    uint64_t rng[4];
    llm_logit_bias *bias;
    size_t n_bias, bias_cap;
    llm_candidate *cand;         /* (n_vocab) scratch, allocated once */
    llm_candidate *sorted;       /* (n_vocab) the other buffer of a radix sort */
    uint32_t *counts;            /* (n_vocab) penalty counts scratch */
    uint32_t n_vocab;
} llm_sampler;

/* dst takes src's parameters, logit biases and generator state; its buffers stay its own. */
llm_status llm_sampler_copy_settings(llm_sampler *dst, const llm_sampler *src, llm_error *err);

/* Bytes a sampler allocates for a vocabulary of n_vocab tokens. */
uint64_t llm_sampler_bytes(uint32_t n_vocab);

llm_status llm_sampler_init(llm_sampler *smp, uint32_t n_vocab, llm_error *err);
void llm_sampler_free(llm_sampler *smp);
void llm_sampler_seed(llm_sampler *smp, uint64_t seed);
llm_status llm_sampler_set_bias(llm_sampler *smp, int32_t id, float bias, llm_error *err);

/* Moves the best k of c[0..n), given in ascending id order, to c[0..k), sorted in the candidate
 * order: descending logit (−0 equal to +0, NaN after everything), then ascending id. A radix
 * sort of all n through tmp (n) for large k, else a heap of the best k, O(n log k). */
void llm_sampler_select_top(llm_candidate *c, llm_candidate *tmp, size_t n, size_t k);

/* Picks the next token from logits (n_vocab) given the recent tokens (for penalties). */
int32_t llm_sampler_sample(llm_sampler *smp, const float *logits, const int32_t *recent,
                           size_t n_recent);

#endif /* LLM_SESSION_SAMPLER_H */
