/* Jobs: creation, reference counting and the event buffer (see job.h). */
#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

serve_job *serve_job_create(serve_request *req, const char *model_id)
{
    serve_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    size_t n_choices = req->kind == SERVE_EMBEDDING ? 0 : req->n_prompts * (size_t)req->n;
    job->ids = calloc(req->n_prompts ? req->n_prompts : 1, sizeof *job->ids);
    job->n_ids = calloc(req->n_prompts ? req->n_prompts : 1, sizeof *job->n_ids);
    job->choices = calloc(n_choices ? n_choices : 1, sizeof *job->choices);
    if (!job->ids || !job->n_ids || !job->choices || pthread_mutex_init(&job->mu, NULL) != 0) {
        free(job->ids);
        free(job->n_ids);
        free(job->choices);
        free(job);
        return NULL;
    }
    pthread_cond_init(&job->cv, NULL);
    job->req = *req;
    memset(req, 0, sizeof *req);
    job->model_id = model_id;
    job->refs = 1;
    job->slot = -1;
    atomic_init(&job->cancelled, false);
    return job;
}

void serve_job_retain(serve_job *job)
{
    pthread_mutex_lock(&job->mu);
    job->refs++;
    pthread_mutex_unlock(&job->mu);
}

void serve_job_release(serve_job *job)
{
    if (!job)
        return;
    pthread_mutex_lock(&job->mu);
    int left = --job->refs;
    pthread_mutex_unlock(&job->mu);
    if (left > 0)
        return;
    size_t n_choices =
        job->req.kind == SERVE_EMBEDDING ? 0 : job->req.n_prompts * (size_t)job->req.n;
    for (size_t i = 0; i < n_choices; i++)
        free(job->choices[i].text);
    for (size_t i = 0; i < job->req.n_prompts; i++)
        free(job->ids[i]);
    free(job->choices);
    free(job->ids);
    free(job->n_ids);
    free(job->embeddings);
    free(job->sse);
    serve_request_free(&job->req);
    pthread_cond_destroy(&job->cv);
    pthread_mutex_destroy(&job->mu);
    free(job);
}

bool serve_job_push_event(serve_job *job, const char *payload)
{
    size_t n = strlen(payload), need = n + 8;
    pthread_mutex_lock(&job->mu);
    bool ok = true;
    if (job->sse_len + need + 1 > job->sse_cap) {
        size_t cap = job->sse_cap ? job->sse_cap : 1024;
        while (cap < job->sse_len + need + 1)
            cap *= 2;
        char *p = realloc(job->sse, cap);
        if (p) {
            job->sse = p;
            job->sse_cap = cap;
        } else {
            ok = false;
        }
    }
    if (ok) {
        memcpy(job->sse + job->sse_len, "data: ", 6);
        memcpy(job->sse + job->sse_len + 6, payload, n);
        memcpy(job->sse + job->sse_len + 6 + n, "\n\n", 2);
        job->sse_len += need;
    }
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    return ok;
}

void serve_job_finish(serve_job *job)
{
    pthread_mutex_lock(&job->mu);
    job->done = true;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
}
