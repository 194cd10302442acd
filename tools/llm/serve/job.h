/*
 * One unit of model work of `llm serve`: a parsed request with its tokenized prompts, and what
 * the slot that runs it hands back (texts, embeddings, token counts, the event stream). A job is
 * shared by the connection thread that waits for it and the slot thread that runs it; it lives
 * until both have released it, so a client that goes away never leaves a dangling pointer.
 */
#ifndef LLM_SERVE_JOB_H
#define LLM_SERVE_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "request.h"

typedef struct serve_choice {
    char *text;
    size_t len, cap;
    const char *finish;  /* "stop", "length", or NULL while running (static) */
    bool started;        /* a chat stream has sent its role delta */
} serve_choice;

typedef struct serve_job {
    serve_request req;
    const char *model_id;      /* borrowed from the server */
    char id[48];               /* "cmpl-…", "chatcmpl-…" */
    int64_t created;           /* Unix seconds */
    int32_t **ids;             /* [req.n_prompts] tokenized prompts */
    size_t *n_ids;
    int64_t max_tokens;        /* resolved */
    uint64_t seed;             /* resolved: the request's or a fresh one */
    double deadline;           /* monotonic seconds after which generation stops */

    /* results, written by the slot; read by the connection once `done` */
    serve_choice *choices;     /* [n_prompts * n], prompt-major */
    float *embeddings;         /* [n_prompts][dim] */
    size_t dim;
    uint64_t prompt_tokens, reused_tokens, completion_tokens;
    bool failed;
    serve_error err;

    /* synchronisation between the slot and the connection */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *sse;                 /* server-sent events not yet written to the client */
    size_t sse_len, sse_cap, sse_sent;
    bool done;
    atomic_bool cancelled;
    int refs;                  /* guarded by mu */
    int slot;                  /* running slot, -1 when queued or finished (engine lock) */
    double t_submit, t_first_token;
} serve_job;

/* A job holding `req` (moved in: the caller's copy is cleared), one reference. NULL on no memory. */
serve_job *serve_job_create(serve_request *req, const char *model_id);
void serve_job_retain(serve_job *job);
/* Drops one reference; the last one frees the job. */
void serve_job_release(serve_job *job);

/* Appends one server-sent event "data: PAYLOAD\n\n" and wakes the connection. */
bool serve_job_push_event(serve_job *job, const char *payload);
/* Marks the job finished and wakes the connection. */
void serve_job_finish(serve_job *job);

#endif /* LLM_SERVE_JOB_H */
