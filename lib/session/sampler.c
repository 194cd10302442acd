/*
 * The sampling chain (order in sampler.h). Candidates live in a buffer allocated once per session,
 * so sampling a token allocates nothing. Sorting breaks ties by the lower id, which with a seeded
 * xoshiro256** generator makes every draw reproducible across machines and thread counts.
 * Penalty formulas follow the common llama.cpp / OpenAI conventions:
 *   repetition: logit > 0 ? logit / r : logit * r        (for tokens seen in the window)
 *   frequency:  logit -= count * f;  presence: logit -= p (seen at least once)
 */
#include "session/sampler.h"

#include <math.h>
#include <string.h>

#include "common/alloc.h"

/* ---------------------------------------------------------------------------------------------- */
/* generator: splitmix64 seeding, xoshiro256** (Blackman & Vigna)                                 */
/* ---------------------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, 1) with 53 random bits */
static double next_unit(uint64_t s[4])
{
    return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

void llm_sampler_seed(llm_sampler *smp, uint64_t seed)
{
    smp->seed = seed;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        smp->rng[i] = splitmix64(&x);
}

/* ---------------------------------------------------------------------------------------------- */
/* setup                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

uint64_t llm_sampler_bytes(uint32_t n_vocab)
{
    const uint64_t n = n_vocab ? n_vocab : 1;
    return n * (2 * sizeof(llm_candidate) + sizeof(uint32_t));
}

llm_status llm_sampler_init(llm_sampler *smp, uint32_t n_vocab, llm_error *err)
{
    memset(smp, 0, sizeof *smp);
    smp->temperature = 0.8f;
    smp->top_k = 40;
    smp->top_p = 0.95f;
    smp->min_p = 0.05f;
    smp->typical_p = 1.0f;
    smp->repeat_penalty = 1.0f;
    smp->penalty_last_n = 64;
    smp->n_vocab = n_vocab;
    smp->cand = llm_calloc(n_vocab ? n_vocab : 1, sizeof *smp->cand);
    smp->sorted = llm_calloc(n_vocab ? n_vocab : 1, sizeof *smp->sorted);
    smp->counts = llm_calloc(n_vocab ? n_vocab : 1, sizeof *smp->counts);
    if (!smp->cand || !smp->sorted || !smp->counts) {
        llm_sampler_free(smp);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for the sampler (%u tokens)",
                             n_vocab);
    }
    llm_sampler_seed(smp, 0);
    return LLM_OK;
}

void llm_sampler_free(llm_sampler *smp)
{
    llm_mem_free(smp->cand);
    llm_mem_free(smp->sorted);
    llm_mem_free(smp->counts);
    llm_mem_free(smp->bias);
    smp->cand = NULL;
    smp->sorted = NULL;
    smp->counts = NULL;
    smp->bias = NULL;
    smp->n_bias = smp->bias_cap = 0;
}

llm_status llm_sampler_copy_settings(llm_sampler *dst, const llm_sampler *src, llm_error *err)
{
    LLM_CHECK(err, dst->n_vocab == src->n_vocab, LLM_ERR_INVALID_ARG,
              "sampler settings for %u tokens cannot go to a sampler of %u", src->n_vocab,
              dst->n_vocab);
    dst->temperature = src->temperature;
    dst->top_p = src->top_p;
    dst->min_p = src->min_p;
    dst->typical_p = src->typical_p;
    dst->repeat_penalty = src->repeat_penalty;
    dst->frequency_penalty = src->frequency_penalty;
    dst->presence_penalty = src->presence_penalty;
    dst->top_k = src->top_k;
    dst->penalty_last_n = src->penalty_last_n;
    dst->seed = src->seed;
    memcpy(dst->rng, src->rng, sizeof dst->rng);
    dst->n_bias = 0;
    for (size_t i = 0; i < src->n_bias; i++)
        LLM_TRY(llm_sampler_set_bias(dst, src->bias[i].id, src->bias[i].bias, err));
    return LLM_OK;
}

llm_status llm_sampler_set_bias(llm_sampler *smp, int32_t id, float bias, llm_error *err)
{
    LLM_CHECK(err, id >= 0 && (uint32_t)id < smp->n_vocab, LLM_ERR_INVALID_ARG,
              "logit bias for token %d: the vocabulary has %u tokens", id, smp->n_vocab);
    LLM_CHECK(err, isfinite(bias) || bias == -INFINITY, LLM_ERR_INVALID_ARG,
              "logit bias for token %d is not a number", id);
    for (size_t i = 0; i < smp->n_bias; i++) {
        if (smp->bias[i].id == id) {
            if (bias == 0.0f)
                smp->bias[i] = smp->bias[--smp->n_bias];
            else
                smp->bias[i].bias = bias;
            return LLM_OK;
        }
    }
    if (bias == 0.0f)
        return LLM_OK;
    if (smp->n_bias == smp->bias_cap) {
        size_t cap = smp->bias_cap ? 2 * smp->bias_cap : 8;
        llm_logit_bias *n = llm_realloc(smp->bias, cap * sizeof *n);
        LLM_CHECK(err, n, LLM_ERR_NOMEM, "out of memory for logit biases");
        smp->bias = n;
        smp->bias_cap = cap;
    }
    smp->bias[smp->n_bias++] = (llm_logit_bias){id, bias};
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* chain                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* An unsigned key whose ascending order is the candidate order's logit part: descending logit,
 * −0 equal to +0, NaN after everything. The float's bits, flipped so that unsigned order is
 * float order, then complemented. */
static uint32_t order_key(float logit)
{
    if (isnan(logit))
        return UINT32_MAX;
    if (logit == 0.0f)
        logit = 0.0f; /* −0 sorts with +0 */
    uint32_t u;
    memcpy(&u, &logit, sizeof u);
    u = (u & 0x80000000u) ? ~u : u | 0x80000000u;
    return ~u;
}

/* The candidate order: order_key, then ascending id. A total order, so every sort below (the
 * heap and the radix sort alike) gives the same result on every machine. */
static int before(const llm_candidate *a, const llm_candidate *b)
{
    const uint32_t ka = order_key(a->logit), kb = order_key(b->logit);
    return ka != kb ? ka < kb : a->id < b->id;
}

/* Sorts c[0..n), given in ascending id order, into the candidate order: a least-significant-
 * digit radix sort on order_key, a byte per pass, through tmp (n). Each pass is stable, so equal
 * logits stay in id order. A full vocabulary (top-k off) took 10 ms per token with the heap of
 * select_top, which is O(n log k); this takes four passes over it. */
static void radix_sort(llm_candidate *c, llm_candidate *tmp, size_t n)
{
    size_t count[4][256] = {{0}};
    for (size_t i = 0; i < n; i++) {
        const uint32_t key = order_key(c[i].logit);
        for (int d = 0; d < 4; d++)
            count[d][(key >> (8 * d)) & 0xFF]++;
    }
    llm_candidate *src = c, *dst = tmp;
    for (int d = 0; d < 4; d++) {
        if (count[d][(order_key(c[0].logit) >> (8 * d)) & 0xFF] == n)
            continue; /* every key has this byte: the pass would not move anything */
        size_t at[256], sum = 0;
        for (int b = 0; b < 256; b++) {
            at[b] = sum;
            sum += count[d][b];
        }
        for (size_t i = 0; i < n; i++)
            dst[at[(order_key(src[i].logit) >> (8 * d)) & 0xFF]++] = src[i];
        llm_candidate *t = src;
        src = dst;
        dst = t;
    }
    if (src != c)
        memcpy(c, src, n * sizeof *c);
}

/* From this many kept candidates on, sorting everything beats selecting with a heap. */
#define RADIX_FROM 256

/* Heap helpers over c[0..n) where the root is the candidate that comes LAST in the order, so the
 * heap keeps the best k seen so far. In place: sampling allocates nothing per token. */
static void sift_down(llm_candidate *c, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && before(&c[worst], &c[l]))
            worst = l;
        if (r < n && before(&c[worst], &c[r]))
            worst = r;
        if (worst == i)
            return;
        llm_candidate t = c[i];
        c[i] = c[worst];
        c[worst] = t;
        i = worst;
    }
}

void llm_sampler_select_top(llm_candidate *c, llm_candidate *tmp, size_t n, size_t k)
{
    if (k > n)
        k = n;
    if (k == 0)
        return;
    if (k >= RADIX_FROM) {
        radix_sort(c, tmp, n);
        return;
    }
    for (size_t i = k / 2; i-- > 0;)
        sift_down(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (before(&c[i], &c[0])) {
            llm_candidate t = c[0];
            c[0] = c[i];
            c[i] = t;
            sift_down(c, k, 0);
        }
    }
    /* heap sort of the k kept: repeatedly move the worst to the end */
    for (size_t end = k; end-- > 1;) {
        llm_candidate t = c[0];
        c[0] = c[end];
        c[end] = t;
        sift_down(c, end, 0);
    }
}

/* Whether any penalty changes a logit for this history. */
static int penalties_apply(const llm_sampler *smp, size_t n_recent)
{
    if (smp->penalty_last_n == 0 || n_recent == 0)
        return 0;
    return smp->repeat_penalty != 1.0f || smp->frequency_penalty != 0.0f ||
           smp->presence_penalty != 0.0f;
}

static void apply_penalties(llm_sampler *smp, const int32_t *recent, size_t n_recent)
{
    if (!penalties_apply(smp, n_recent))
        return;
    size_t window = smp->penalty_last_n < 0 ? n_recent : (size_t)smp->penalty_last_n;
    if (window > n_recent)
        window = n_recent;
    const int32_t *w = recent + (n_recent - window);
    for (size_t i = 0; i < window; i++)
        if (w[i] >= 0 && (uint32_t)w[i] < smp->n_vocab)
            smp->counts[w[i]]++;
    for (size_t i = 0; i < window; i++) {
        int32_t id = w[i];
        if (id < 0 || (uint32_t)id >= smp->n_vocab || smp->counts[id] == 0)
            continue;
        float *l = &smp->cand[id].logit;
        if (smp->repeat_penalty != 1.0f)
            *l = *l > 0 ? *l / smp->repeat_penalty : *l * smp->repeat_penalty;
        *l -= (float)smp->counts[id] * smp->frequency_penalty + smp->presence_penalty;
        smp->counts[id] = 0; /* each distinct token penalized once; also clears the scratch */
    }
}

/* softmax over cand[0..n) (sorted, so cand[0] holds the max) */
static void softmax_sorted(llm_candidate *c, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = expf(c[i].logit - c[0].logit);
        sum += c[i].p;
    }
    for (size_t i = 0; i < n; i++)
        c[i].p = (float)(c[i].p / sum);
}

/* Locally typical sampling (Meister et al. 2022): keep the tokens whose surprisal is closest to
 * the distribution's entropy until their mass reaches typical_p. */
static size_t typical_filter(llm_candidate *c, size_t n, float typical_p)
{
    double entropy = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].p > 0)
            entropy -= c[i].p * log(c[i].p);
    /* selection by |−log p − H| with a stable insertion order; n is small after top-k */
    size_t kept = 0;
    double mass = 0;
    /* reuse `logit` to hold the distance; restored order is by distance, ties by id */
    for (size_t i = 0; i < n; i++)
        c[i].logit = (float)fabs(-log(c[i].p > 0 ? c[i].p : 1e-30f) - entropy);
    for (size_t i = 1; i < n; i++) {
        llm_candidate x = c[i];
        size_t j = i;
        while (j > 0 && (c[j - 1].logit > x.logit ||
                         (c[j - 1].logit == x.logit && c[j - 1].id > x.id))) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
    while (kept < n) {
        mass += c[kept].p;
        kept++;
        if (mass >= typical_p)
            break;
    }
    return kept;
}

int32_t llm_sampler_sample(llm_sampler *smp, const float *logits, const int32_t *recent,
                           size_t n_recent)
{
    size_t n = smp->n_vocab;
    llm_candidate *c = smp->cand;
    if (smp->temperature <= 0.0f && smp->n_bias == 0 && !penalties_apply(smp, n_recent)) {
        /* greedy on unchanged logits: the first maximum, as below, without the copy */
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (logits[i] > logits[best])
                best = i;
        return (int32_t)best;
    }
    for (size_t i = 0; i < n; i++)
        c[i] = (llm_candidate){(int32_t)i, logits[i], 0.0f};
    for (size_t i = 0; i < smp->n_bias; i++)
        c[smp->bias[i].id].logit += smp->bias[i].bias;
    apply_penalties(smp, recent, n_recent);

    if (smp->temperature <= 0.0f) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        return c[best].id;
    }
    for (size_t i = 0; i < n; i++)
        c[i].logit /= smp->temperature;

    size_t keep = n;
    if (smp->top_k > 0 && (size_t)smp->top_k < keep)
        keep = (size_t)smp->top_k;
    llm_sampler_select_top(c, smp->sorted, n, keep);
    softmax_sorted(c, keep);
    if (smp->top_p < 1.0f) {
        double cum = 0;
        size_t k = 0;
        while (k < keep) {
            cum += c[k].p;
            k++;
            if (cum >= smp->top_p)
                break;
        }
        keep = k;
    }
    if (smp->min_p > 0.0f) {
        float floor_p = smp->min_p * c[0].p;
        size_t k = 1;
        while (k < keep && c[k].p >= floor_p)
            k++;
        keep = k;
    }
    softmax_sorted(c, keep);
    if (smp->typical_p < 1.0f && keep > 1)
        keep = typical_filter(c, keep, smp->typical_p);

    double total = 0;
    for (size_t i = 0; i < keep; i++)
        total += c[i].p;
    double u = next_unit(smp->rng) * total;
    double cum = 0;
    for (size_t i = 0; i < keep; i++) {
        cum += c[i].p;
        if (u < cum)
            return c[i].id;
    }
    return c[keep - 1].id;
}
