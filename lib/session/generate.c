/*
 * The generation loop: sample → detokenize → stop-string check → feed back. Text is released to
 * the caller only when it can no longer be the start of a stop string ("hold-back"), so a stop
 * string is never emitted, not even in part. llm_session_step() is the loop's body; generate()
 * calls it until a stop condition, handing each piece to the callback.
 */
#include <string.h>

#include "common/alloc.h"
#include "session/session.h"

/* ---------------------------------------------------------------------------------------------- */
/* text buffers                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static llm_status reserve(char **buf, size_t *cap, size_t need, llm_error *err)
{
    if (need <= *cap)
        return LLM_OK;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    char *n = llm_realloc(*buf, ncap);
    LLM_CHECK(err, n, LLM_ERR_NOMEM, "out of memory for generated text");
    *buf = n;
    *cap = ncap;
    return LLM_OK;
}

/* Appends the detokenized text of `id` to s->pending. */
static llm_status detokenize_into_pending(struct llm_session *s, int32_t id, llm_error *err)
{
    size_t len = 0;
    size_t room = s->pending_cap - s->pending_len;
    llm_status st = llm_detokenizer_push(s->detok, id, s->pending + s->pending_len, room, &len);
    if (st == LLM_ERR_BUFFER_TOO_SMALL) {
        LLM_TRY(reserve(&s->pending, &s->pending_cap, s->pending_len + len + 1, err));
        st = llm_detokenizer_push(s->detok, id, s->pending + s->pending_len,
                                  s->pending_cap - s->pending_len, &len);
    }
    LLM_CHECK(err, st == LLM_OK, st, "detokenizing token %d: %s", id, llm_last_error());
    s->pending_len += len;
    return LLM_OK;
}

static llm_status flush_detokenizer(struct llm_session *s, llm_error *err)
{
    size_t len = 0;
    llm_status st = llm_detokenizer_flush(s->detok, s->pending + s->pending_len,
                                          s->pending_cap - s->pending_len, &len);
    if (st == LLM_ERR_BUFFER_TOO_SMALL) {
        LLM_TRY(reserve(&s->pending, &s->pending_cap, s->pending_len + len + 1, err));
        st = llm_detokenizer_flush(s->detok, s->pending + s->pending_len,
                                   s->pending_cap - s->pending_len, &len);
    }
    LLM_CHECK(err, st == LLM_OK, st, "detokenizing: %s", llm_last_error());
    s->pending_len += len;
    return LLM_OK;
}

/* Moves the first n bytes of pending into step_text (the text returned to the caller). */
static llm_status release(struct llm_session *s, size_t n, llm_error *err)
{
    LLM_TRY(reserve(&s->step_text, &s->step_text_cap, s->step_text_len + n + 1, err));
    memcpy(s->step_text + s->step_text_len, s->pending, n);
    s->step_text_len += n;
    s->step_text[s->step_text_len] = '\0';
    memmove(s->pending, s->pending + n, s->pending_len - n);
    s->pending_len -= n;
    return LLM_OK;
}

/* Length of the longest suffix of text[0..len) that is a proper prefix of some stop string. */
static size_t held_back(const struct llm_session *s, const char *text, size_t len)
{
    size_t best = 0;
    for (int i = 0; i < s->n_stops; i++) {
        size_t sl = strlen(s->stops[i]);
        for (size_t k = sl - 1 < len ? sl - 1 : len; k > best; k--)
            if (memcmp(text + len - k, s->stops[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* Finds the earliest stop string in pending; returns its offset or -1. */
static long find_stop(const struct llm_session *s)
{
    long first = -1;
    for (int i = 0; i < s->n_stops; i++) {
        size_t sl = strlen(s->stops[i]);
        for (size_t at = 0; at + sl <= s->pending_len; at++)
            if (memcmp(s->pending + at, s->stops[i], sl) == 0) {
                if (first < 0 || (long)at < first)
                    first = (long)at;
                break;
            }
    }
    return first;
}

/* ---------------------------------------------------------------------------------------------- */
/* one step                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static llm_status finish(struct llm_session *s, llm_stop_reason why, llm_error *err)
{
    s->stop_reason = why;
    if (why != LLM_STOP_STRING) {
        LLM_TRY(flush_detokenizer(s, err));
        LLM_TRY(release(s, s->pending_len, err));
    } else {
        s->pending_len = 0;
    }
    return LLM_OK;
}

static llm_status step(struct llm_session *s, int32_t *out_id, llm_error *err)
{
    *out_id = -1;
    s->step_text_len = 0;
    s->step_text[0] = '\0';
    if (s->stop_reason != LLM_STOP_NONE)
        return LLM_OK;
    LLM_CHECK(err, s->has_logits, LLM_ERR_STATE,
              "nothing to generate from: feed a prompt (llm_session_feed_prompt) first");
    if (atomic_exchange(&s->cancel, false)) {
        LLM_TRY(finish(s, LLM_STOP_CANCELLED, err));
        return llm_error_set(err, LLM_ERR_CANCELLED, "generation cancelled");
    }
    if (s->n_generated >= s->max_tokens)
        return finish(s, LLM_STOP_MAX_TOKENS, err);
    if (s->n_tokens >= s->opt.n_ctx && s->opt.context_policy != LLM_CONTEXT_SHIFT) {
        LLM_TRY(finish(s, LLM_STOP_CONTEXT_FULL, err));
        return llm_error_set(err, LLM_ERR_CONTEXT_FULL,
                             "context full after %u tokens (n_ctx %u): create the session with "
                             "a larger n_ctx or context_policy LLM_CONTEXT_SHIFT",
                             s->n_tokens, s->opt.n_ctx);
    }

    int32_t id = llm_sampler_sample(&s->sampler, s->logits, s->tokens, s->n_tokens);
    *out_id = id;
    s->n_generated++;

    if (!s->ignore_eos && llm_session_is_eog(s, id))
        return finish(s, LLM_STOP_EOS, err);

    LLM_TRY(detokenize_into_pending(s, id, err));
    long stop_at = find_stop(s);
    if (stop_at >= 0) {
        LLM_TRY(release(s, (size_t)stop_at, err));
        LLM_TRY(finish(s, LLM_STOP_STRING, err));
    } else {
        LLM_TRY(release(s, s->pending_len - held_back(s, s->pending, s->pending_len), err));
    }
    /* the token joins the context so that a later turn continues from it */
    LLM_TRY(llm_session_eval(s, &id, 1, NULL, err));
    if (s->stop_reason == LLM_STOP_NONE && s->n_generated >= s->max_tokens)
        LLM_TRY(finish(s, LLM_STOP_MAX_TOKENS, err));
    return LLM_OK;
}

llm_status llm_session_step(llm_session *s, int32_t *id, const char **text, size_t *len,
                            llm_stop_reason *reason)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    int32_t got = -1;
    llm_error err = {0};
    llm_status st = step(s, &got, &err);
    if (id)
        *id = got;
    if (text)
        *text = s->step_text;
    if (len)
        *len = s->step_text_len;
    if (reason)
        *reason = s->stop_reason;
    return st == LLM_OK ? LLM_OK : llm_session_fail(s, &err);
}

llm_status llm_session_generate(llm_session *s, llm_token_fn fn, void *user)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    /* a new generation: counters start over, the context stays; a pending cancel is kept, so
     * that one issued just before this call stops it */
    s->stop_reason = LLM_STOP_NONE;
    s->n_generated = 0;
    for (;;) {
        int32_t id;
        const char *text;
        size_t len;
        llm_stop_reason why;
        llm_status st = llm_session_step(s, &id, &text, &len, &why);
        if (st != LLM_OK)
            return st;
        if (fn && (id >= 0 || len > 0) && fn(user, id, text, len) != 0) {
            s->stop_reason = LLM_STOP_CANCELLED;
            llm_error err;
            llm_error_set(&err, LLM_ERR_CANCELLED, "the token callback stopped generation");
            return llm_session_fail(s, &err);
        }
        if (why != LLM_STOP_NONE)
            return LLM_OK;
    }
}

llm_status llm_session_generate_text(llm_session *s, const char *prompt, llm_token_fn fn,
                                     void *user)
{
    if (!s || !prompt)
        return llm_fail(LLM_ERR_INVALID_ARG, !s ? "session is NULL" : "prompt is NULL");
    const llm_tokenizer *tok = s->model->tok;
    size_t len = strlen(prompt), n = 0;
    llm_status st = llm_tokenizer_encode(tok, prompt, len, LLM_ENCODE_ADD_SPECIAL, NULL, 0, &n);
    if (st != LLM_OK && st != LLM_ERR_BUFFER_TOO_SMALL)
        return st;
    int32_t *ids = llm_malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return llm_fail(LLM_ERR_NOMEM, "out of memory tokenizing the prompt");
    st = llm_tokenizer_encode(tok, prompt, len, LLM_ENCODE_ADD_SPECIAL, ids, n, &n);
    if (st == LLM_OK)
        st = llm_session_feed_prompt(s, ids, n, NULL);
    llm_mem_free(ids);
    if (st != LLM_OK)
        return st;
    return llm_session_generate(s, fn, user);
}

llm_stop_reason llm_session_stop_reason(const llm_session *s)
{
    return s ? s->stop_reason : LLM_STOP_NONE;
}
