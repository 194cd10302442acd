/*
 * The internal session: the model reference, the thread pool, the KV cache and activation
 * scratch (all allocated at creation, never per token), the tokens in context, the sampler and
 * the stop strings. Functions here are shared by generation (session.c, generate.c), embeddings
 * (embed.c), beam search (beam.c) and state files (state.c).
 */
#ifndef LLM_SESSION_SESSION_H
#define LLM_SESSION_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>

#include "model/model.h"
#include "session/sampler.h"
#include "session/kv_cache.h"

#define LLM_MAX_STOPS 16

struct llm_session {
    struct llm_model *model;
    llm_session_options opt;
    llm_pool *pool;
    uint32_t thread_cap;             /* most threads the scratch was sized for */
    llm_run run;                     /* run.kv points at kv */
    llm_kv_cache kv;
    int32_t *tokens;                 /* (n_ctx) ids in context (decoder side) */
    uint32_t n_tokens;
    float *logits;                   /* (n_vocab) logits of the last evaluated position */
    bool has_logits;
    llm_sampler sampler;
    int64_t max_tokens;
    int ignore_eos;
    int num_beams, early_stopping, n_best;
    double length_penalty;
    char *stops[LLM_MAX_STOPS];
    int n_stops;
    llm_stop_reason stop_reason;
    atomic_bool cancel;
    llm_error err;                   /* last failure on this handle */
    /* generation text state */
    struct llm_detokenizer *detok;
    char *pending;                   /* decoded text held back while it may start a stop string */
    size_t pending_len, pending_cap;
    char *step_text;                 /* text returned by the last llm_session_step() */
    size_t step_text_len, step_text_cap;
    int64_t n_generated;
    /* encoder-decoder: the encoder input (its output lives in the run) */
    int32_t *enc_ids;
    uint32_t n_enc;
    /* adapters attached, in attach order, with their user scales (adapter/attach.c); the
     * table they resolve into is what run.lora points at while there are any */
    struct llm_adapter **adapters;
    float *adapter_scales;
    size_t n_adapters;
    struct llm_lora_table *lora;
};

/* Records err as the session's and the thread's last error; returns its status. */
llm_status llm_session_fail(struct llm_session *s, const llm_error *err);

/* Evaluates ids after the tokens in context (decoder side), in batches of opt.n_batch, updating
 * s->tokens, s->logits. all_logits (n, V) may be NULL. Applies the context policy. */
llm_status llm_session_eval(struct llm_session *s, const int32_t *ids, size_t n, float *all_logits,
                            llm_error *err);

/* Runs the encoder of an encoder-decoder model on ids and resets its decoder to the start token
 * (the first decoder logits are then ready). */
llm_status llm_session_encode_input(struct llm_session *s, const int32_t *ids, size_t n,
                                    llm_error *err);

/* Clears the per-generation state (stop reason, counters, held-back text, cancel flag). */
void llm_session_begin_generation(struct llm_session *s);

/* Releases the adapters and their table (session destruction). */
void llm_session_free_adapters(struct llm_session *s);

/* Attaches to `dst` the adapters of `src`, same scales (forking). Clears dst's context. */
llm_status llm_session_copy_adapters(struct llm_session *dst, const struct llm_session *src,
                                     llm_error *err);

/* The eos-like ids that end generation for this model (eos, eot). */
bool llm_session_is_eog(const struct llm_session *s, int32_t id);

#endif /* LLM_SESSION_SESSION_H */
