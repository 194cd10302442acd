/*
 * The slots of `llm serve`: a fixed number of sessions on one shared model, each run by its own
 * thread, fed from one bounded queue. A job goes straight to an idle slot when there is one (the
 * slot whose cached tokens share the longest prefix with the prompt, so llm_session_feed_prompt
 * reuses most), otherwise it waits in the queue; a full queue refuses it (HTTP 429).
 */
#ifndef LLM_SERVE_SLOTS_H
#define LLM_SERVE_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

#include "job.h"
#include "metrics.h"

typedef struct serve_engine serve_engine;

typedef struct serve_engine_options {
    llm_model *model;
    uint32_t n_slots;      /* parallel sessions */
    uint32_t queue_cap;    /* jobs that may wait for a slot */
    uint32_t n_ctx;        /* context of each session; 0: the library's default */
    uint32_t n_threads;    /* threads of each session; 0: the CPUs divided by the slots */
    serve_metrics *metrics;
} serve_engine_options;

/* Creates the sessions and starts their threads. On failure returns NULL with a message in
 * `why` (of `why_cap` bytes). */
serve_engine *serve_engine_create(const serve_engine_options *opt, char *why, size_t why_cap);

typedef enum serve_submit_result {
    SERVE_SUBMITTED = 0,
    SERVE_QUEUE_FULL = 1,
    SERVE_STOPPING = 2
} serve_submit_result;

/* Hands a job to a slot or the queue; the engine takes its own reference. */
serve_submit_result serve_engine_submit(serve_engine *e, serve_job *job);

/* Stops a job: dropped from the queue when waiting, interrupted at its next token (or prompt
 * batch) when running. Safe from any thread, at any time, more than once. */
void serve_engine_cancel(serve_engine *e, serve_job *job);

/* The context length each slot has. */
uint32_t serve_engine_n_ctx(const serve_engine *e);

void serve_engine_stats(serve_engine *e, size_t *queued, size_t *queue_cap, size_t *busy,
                        size_t *slots);

/* Refuses new jobs, lets queued and running ones finish for up to `grace` seconds, cancels what
 * is left and joins the slot threads. Every job is finished afterwards; the engine stays valid
 * (submit answers SERVE_STOPPING) until serve_engine_destroy(). */
void serve_engine_stop(serve_engine *e, double grace);
/* Stops (without grace) if not yet stopped, and frees everything. Accepts NULL. */
void serve_engine_destroy(serve_engine *e);

/* Monotonic seconds. */
double serve_now(void);

#endif /* LLM_SERVE_SLOTS_H */
