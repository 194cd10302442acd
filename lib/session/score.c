/*
 * Scoring a token sequence: the negative log-likelihood of each token given the ones before it,
 * the quantity perplexity and evaluation losses are made of. It runs over the public feed call
 * (a reset, the unscored prefix in one batch, then the scored part in slices whose logits are
 * kept), so the numbers are exactly those generation sees. Log-softmax is taken in double.
 */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "session/session.h"

/* Positions whose logits are held at once: bounds the buffer (slice · n_vocab floats) for large
 * vocabularies while keeping the products matrix-shaped. */
#define SCORE_SLICE 64

static double nll_of(const float *logits, uint32_t n_vocab, int32_t target)
{
    float max = logits[0];
    for (uint32_t v = 1; v < n_vocab; v++)
        max = logits[v] > max ? logits[v] : max;
    double sum = 0.0;
    for (uint32_t v = 0; v < n_vocab; v++)
        sum += exp((double)logits[v] - (double)max);
    return -((double)logits[target] - (double)max - log(sum));
}

llm_status llm_session_score(llm_session *s, const int32_t *ids, size_t n, size_t first,
                             double *nll, size_t cap)
{
    if (!s || !ids || !nll)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_session_score: NULL argument");
    llm_error err = {0};
    const llm_hparams *hp = &s->model->hp;
    if (hp->family != LLM_FAMILY_DECODER) {
        llm_error_set(&err, LLM_ERR_UNSUPPORTED,
                      "llm_session_score: %s is not a decoder model; only decoders are scored",
                      s->model->ops->name);
        return llm_session_fail(s, &err);
    }
    if (n < 2 || first > n - 2) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG,
                      "llm_session_score: nothing to score: %zu ids with the first scored "
                      "prediction at position %zu (needs first + 2 <= n)", n, first);
        return llm_session_fail(s, &err);
    }
    size_t n_scored = n - 1 - first;
    if (cap < n_scored) {
        llm_error_set(&err, LLM_ERR_BUFFER_TOO_SMALL,
                      "llm_session_score: nll holds %zu values, %zu needed", cap, n_scored);
        return llm_session_fail(s, &err);
    }
    if (n > s->opt.n_ctx) {
        llm_error_set(&err, LLM_ERR_TOO_LONG,
                      "llm_session_score: %zu ids do not fit the session's context of %u tokens",
                      n, s->opt.n_ctx);
        return llm_session_fail(s, &err);
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= hp->n_vocab) {
            llm_error_set(&err, LLM_ERR_INVALID_ARG,
                          "llm_session_score: id %d at index %zu is outside the vocabulary of %u",
                          ids[i], i, hp->n_vocab);
            return llm_session_fail(s, &err);
        }
    }
    size_t slice = n_scored < SCORE_SLICE ? n_scored : SCORE_SLICE;
    float *logits = llm_calloc(slice * (size_t)hp->n_vocab, sizeof *logits);
    if (!logits) {
        llm_error_set(&err, LLM_ERR_NOMEM, "llm_session_score: out of memory for %zu logits",
                      slice * (size_t)hp->n_vocab);
        return llm_session_fail(s, &err);
    }
    llm_session_reset(s);
    llm_status st = first ? llm_session_feed(s, ids, first, NULL, 0) : LLM_OK;
    /* positions first .. n-2 predict ids[first+1 .. n-1]; the last id is fed by nobody */
    for (size_t done = 0; st == LLM_OK && done < n_scored; done += slice) {
        size_t m = n_scored - done < slice ? n_scored - done : slice;
        st = llm_session_feed(s, ids + first + done, m, logits, slice * (size_t)hp->n_vocab);
        for (size_t j = 0; st == LLM_OK && j < m; j++)
            nll[done + j] = nll_of(logits + j * hp->n_vocab, hp->n_vocab, ids[first + done + j + 1]);
    }
    llm_mem_free(logits);
    return st; /* a feed failure has already been recorded on the session */
}
