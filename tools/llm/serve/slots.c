/*
 * Slots and the request queue (see slots.h). One mutex guards the queue and which job each slot
 * runs; a job's own results are written by its slot without the engine lock and handed over
 * through the job's mutex. Cancellation crosses threads in two ways: the job's flag, read
 * between tokens, and llm_session_cancel(), which interrupts a long prompt evaluation.
 */
#include "slots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "response.h"

typedef struct slot {
    struct serve_engine *e;
    int index;
    llm_session *s;
    pthread_t thread;
    pthread_cond_t cv;
    serve_job *job;         /* engine lock */
    int32_t *cached;        /* the tokens the session holds, as far as the slot knows */
    size_t n_cached, cached_cap;
    int32_t *biased;        /* ids with a logit bias still set on the session */
    size_t n_biased;
} slot;

struct serve_engine {
    serve_engine_options opt;
    uint32_t n_ctx;
    int32_t family;         /* llm_model_family of the model */
    bool stopped;           /* serve_engine_stop() has run */
    pthread_mutex_t mu;
    slot *slots;
    uint32_t n_started;
    serve_job **queue;      /* ring of queue_cap */
    size_t q_head, q_len;
    size_t busy;
    bool stopping;
    pthread_cond_t idle_cv; /* signalled whenever a slot finishes a job */
};

double serve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- running one job -------------------------------------------------------------------------- */

static bool job_cancelled(const serve_job *job)
{
    return atomic_load(&job->cancelled);
}

static void fail_job(serve_job *job, int status, const char *code, const char *what,
                     const char *detail)
{
    if (job->failed)
        return;
    job->failed = true;
    serve_fail(&job->err, status, status >= 500 ? "server_error" : "invalid_request_error", code,
               NULL, "%s: %s", what, detail);
}

static bool remember(slot *sl, int32_t id)
{
    if (sl->n_cached == sl->cached_cap) {
        size_t cap = sl->cached_cap ? sl->cached_cap * 2 : 256;
        int32_t *p = realloc(sl->cached, cap * sizeof *p);
        if (!p)
            return false;
        sl->cached = p;
        sl->cached_cap = cap;
    }
    sl->cached[sl->n_cached++] = id;
    return true;
}

static void remember_prompt(slot *sl, const int32_t *ids, size_t n)
{
    sl->n_cached = 0;
    for (size_t i = 0; i < n; i++)
        if (!remember(sl, ids[i])) {
            sl->n_cached = 0; /* only a hint for choosing slots: forgetting is safe */
            return;
        }
}

static llm_status configure(slot *sl, serve_job *job, size_t idx)
{
    llm_session *s = sl->s;
    const serve_request *r = &job->req;
    llm_status st;
    if ((st = llm_session_set_float(s, LLM_PARAM_TEMPERATURE, r->temperature)) ||
        (st = llm_session_set_float(s, LLM_PARAM_TOP_P, r->top_p)) ||
        (st = llm_session_set_int(s, LLM_PARAM_TOP_K, 0)) ||
        (st = llm_session_set_float(s, LLM_PARAM_MIN_P, 0)) ||
        (st = llm_session_set_float(s, LLM_PARAM_TYPICAL_P, 1)) ||
        (st = llm_session_set_float(s, LLM_PARAM_REPEAT_PENALTY, 1)) ||
        (st = llm_session_set_float(s, LLM_PARAM_FREQUENCY_PENALTY, r->frequency_penalty)) ||
        (st = llm_session_set_float(s, LLM_PARAM_PRESENCE_PENALTY, r->presence_penalty)) ||
        (st = llm_session_set_int(s, LLM_PARAM_SEED, (int64_t)(job->seed + idx))) ||
        (st = llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, job->max_tokens)))
        return st;
    for (size_t i = 0; i < sl->n_biased; i++)
        llm_session_set_logit_bias(s, sl->biased[i], 0);
    sl->n_biased = 0;
    if (r->n_bias) {
        int32_t *p = realloc(sl->biased, r->n_bias * sizeof *p);
        if (!p)
            return LLM_ERR_NOMEM;
        sl->biased = p;
        for (size_t i = 0; i < r->n_bias; i++) {
            if ((st = llm_session_set_logit_bias(s, r->bias_ids[i], r->bias_values[i])))
                return st;
            sl->biased[sl->n_biased++] = r->bias_ids[i];
        }
    }
    llm_session_clear_stops(s);
    for (int i = 0; i < r->n_stops; i++)
        if ((st = llm_session_add_stop(s, r->stops[i])))
            return st;
    return LLM_OK;
}

static bool append_text(serve_choice *c, const char *text, size_t len)
{
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        while (cap < c->len + len + 1)
            cap *= 2;
        char *p = realloc(c->text, cap);
        if (!p)
            return false;
        c->text = p;
        c->cap = cap;
    }
    memcpy(c->text + c->len, text, len);
    c->len += len;
    c->text[c->len] = '\0';
    return true;
}

static void push_chunk(serve_job *job, size_t idx, const char *text, size_t len,
                       const char *finish, int with_role)
{
    char *chunk = serve_chunk_json(job, idx, text, len, finish, with_role);
    if (!chunk || !serve_job_push_event(job, chunk))
        fail_job(job, 500, NULL, "streaming", "out of memory");
    free(chunk);
}

static const char *finish_reason(llm_stop_reason why)
{
    return why == LLM_STOP_EOS || why == LLM_STOP_STRING ? "stop" : "length";
}

/* One choice of one prompt. Returns false when the job is to stop (failed or cancelled). */
static bool run_choice(slot *sl, serve_job *job, size_t p, size_t idx)
{
    serve_engine *e = sl->e;
    llm_session *s = sl->s;
    serve_choice *c = &job->choices[idx];
    llm_status st = configure(sl, job, idx);
    if (st != LLM_OK) {
        fail_job(job, 400, NULL, "sampling settings", llm_session_last_error(s));
        return false;
    }
    if (job->req.stream && job->req.kind == SERVE_CHAT)
        push_chunk(job, idx, "", 0, NULL, 1);
    size_t reused = 0;
    sl->n_cached = 0;
    /* a decoder keeps the longest cached prefix; an encoder-decoder encodes the prompt anew.
     * A cancel meant for the slot's previous job can arrive after that job's last token and
     * stay pending in the session; the first evaluation consumes it, and since it was not
     * meant for this job (whose own flag is clear), the feed is simply made again. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (e->family == LLM_FAMILY_DECODER)
            st = llm_session_feed_prompt(s, job->ids[p], job->n_ids[p], &reused);
        else
            st = llm_session_feed(s, job->ids[p], job->n_ids[p], NULL, 0);
        if (st != LLM_ERR_CANCELLED || job_cancelled(job))
            break;
    }
    if (st != LLM_OK) {
        if (st != LLM_ERR_CANCELLED || !job_cancelled(job))
            fail_job(job, st == LLM_ERR_CONTEXT_FULL || st == LLM_ERR_INVALID_ARG ? 400 : 500,
                     st == LLM_ERR_CONTEXT_FULL ? "context_length_exceeded" : NULL, "the prompt",
                     llm_session_last_error(s));
        return false;
    }
    remember_prompt(sl, job->ids[p], job->n_ids[p]);
    if (idx % (size_t)job->req.n == 0) { /* a prompt counts once, however many choices */
        job->prompt_tokens += job->n_ids[p];
        job->reused_tokens += reused;
    } else {
        job->reused_tokens += reused;
    }
    for (;;) {
        if (job_cancelled(job))
            return false;
        if (serve_now() > job->deadline) {
            c->finish = "length";
            break;
        }
        int32_t id;
        const char *text;
        size_t len;
        llm_stop_reason why;
        st = llm_session_step(s, &id, &text, &len, &why);
        if (st == LLM_ERR_CANCELLED)
            return false;
        if (st == LLM_ERR_CONTEXT_FULL) {
            c->finish = "length";
            break;
        }
        if (st != LLM_OK) {
            fail_job(job, 500, NULL, "generation", llm_session_last_error(s));
            return false;
        }
        if (id >= 0) {
            job->completion_tokens++;
            if (job->t_first_token == 0) {
                job->t_first_token = serve_now();
                serve_metrics_first_token(e->opt.metrics, job->t_first_token - job->t_submit);
            }
            if (why != LLM_STOP_EOS)
                remember(sl, id);
        }
        if (len > 0) {
            if (!append_text(c, text, len)) {
                fail_job(job, 500, NULL, "generation", "out of memory");
                return false;
            }
            if (job->req.stream)
                push_chunk(job, idx, text, len, NULL, 0);
        }
        if (why != LLM_STOP_NONE) {
            c->finish = finish_reason(why);
            break;
        }
    }
    if (job->req.stream)
        push_chunk(job, idx, "", 0, c->finish, 0);
    return !job->failed;
}

static void run_generation(slot *sl, serve_job *job)
{
    size_t n = (size_t)job->req.n;
    for (size_t p = 0; p < job->req.n_prompts; p++)
        for (size_t k = 0; k < n; k++)
            if (!run_choice(sl, job, p, p * n + k))
                return;
}

static void run_embedding(slot *sl, serve_job *job)
{
    llm_session *s = sl->s;
    job->dim = llm_model_embedding_dim(llm_session_model(s));
    job->embeddings = malloc(job->req.n_prompts * job->dim * sizeof(float) + 1);
    if (!job->embeddings) {
        fail_job(job, 500, NULL, "embeddings", "out of memory");
        return;
    }
    llm_embed_options opt;
    llm_embed_options_init(&opt);
    for (size_t i = 0; i < job->req.n_prompts && !job_cancelled(job); i++) {
        const serve_prompt *pr = &job->req.prompts[i];
        float *out = job->embeddings + i * job->dim;
        llm_embed_result res = {.struct_size = sizeof res};
        llm_status st = LLM_OK;
        /* a second attempt when a cancel left pending by the previous job stopped this one */
        for (int attempt = 0; attempt < 2; attempt++) {
            if (pr->text) {
                const char *texts[1] = {pr->text};
                st = llm_session_embed(s, texts, 1, &opt, out, job->dim, &res);
            } else {
                st = llm_session_embed_ids(s, pr->ids, pr->n_ids, &opt, out, job->dim, &res);
            }
            if (st != LLM_ERR_CANCELLED || job_cancelled(job))
                break;
        }
        if (st != LLM_OK) {
            if (st == LLM_ERR_CANCELLED && job_cancelled(job))
                return;
            char what[64];
            snprintf(what, sizeof what, "input %zu", i);
            int bad = st == LLM_ERR_TOO_LONG || st == LLM_ERR_INVALID_ARG;
            fail_job(job, bad ? 400 : 500, st == LLM_ERR_TOO_LONG ? "context_length_exceeded" : NULL,
                     what, llm_session_last_error(s));
            return;
        }
        job->prompt_tokens += res.n_tokens;
    }
}

static void *slot_main(void *arg)
{
    slot *sl = arg;
    serve_engine *e = sl->e;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (!sl->job) {
            if (e->q_len > 0) {
                sl->job = e->queue[e->q_head];
                e->q_head = (e->q_head + 1) % e->opt.queue_cap;
                e->q_len--;
                break;
            }
            if (e->stopping) {
                pthread_mutex_unlock(&e->mu);
                return NULL;
            }
            pthread_cond_wait(&sl->cv, &e->mu);
        }
        serve_job *job = sl->job;
        job->slot = sl->index;
        e->busy++;
        pthread_mutex_unlock(&e->mu);

        if (!job_cancelled(job)) {
            if (job->req.kind == SERVE_EMBEDDING)
                run_embedding(sl, job);
            else
                run_generation(sl, job);
        }
        if (job_cancelled(job))
            serve_metrics_cancelled(e->opt.metrics);
        serve_metrics_tokens(e->opt.metrics, job->prompt_tokens, job->reused_tokens,
                             job->completion_tokens);

        pthread_mutex_lock(&e->mu);
        job->slot = -1;
        sl->job = NULL;
        e->busy--;
        pthread_cond_broadcast(&e->idle_cv);
        pthread_mutex_unlock(&e->mu);
        if (job->req.stream && job->failed) {
            /* the status line is long gone: the error travels as the last event */
            char *err = serve_error_json(&job->err);
            if (err)
                serve_job_push_event(job, err);
            free(err);
        } else if (job->req.stream && !job_cancelled(job)) {
            if (job->req.include_usage) {
                char *u = serve_usage_chunk_json(job);
                if (u)
                    serve_job_push_event(job, u);
                free(u);
            }
            serve_job_push_event(job, "[DONE]");
        }
        serve_job_finish(job);
        serve_job_release(job);
        pthread_mutex_lock(&e->mu);
    }
}

/* ---- the engine ------------------------------------------------------------------------------- */

static size_t common_prefix(const slot *sl, const serve_job *job)
{
    if (job->req.n_prompts == 0)
        return 0;
    const int32_t *ids = job->ids[0];
    size_t n = job->n_ids[0], k = 0;
    while (k < n && k < sl->n_cached && sl->cached[k] == ids[k])
        k++;
    return k;
}

serve_submit_result serve_engine_submit(serve_engine *e, serve_job *job)
{
    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        return SERVE_STOPPING;
    }
    slot *best = NULL;
    size_t best_len = 0;
    for (uint32_t i = 0; i < e->opt.n_slots; i++) {
        slot *sl = &e->slots[i];
        if (sl->job)
            continue;
        size_t len = common_prefix(sl, job);
        if (!best || len > best_len) {
            best = sl;
            best_len = len;
        }
    }
    if (!best && e->q_len == e->opt.queue_cap) {
        pthread_mutex_unlock(&e->mu);
        return SERVE_QUEUE_FULL;
    }
    serve_job_retain(job);
    job->t_submit = serve_now();
    if (best) {
        best->job = job;
        pthread_cond_signal(&best->cv);
    } else {
        e->queue[(e->q_head + e->q_len) % e->opt.queue_cap] = job;
        e->q_len++;
    }
    pthread_mutex_unlock(&e->mu);
    return SERVE_SUBMITTED;
}

void serve_engine_cancel(serve_engine *e, serve_job *job)
{
    atomic_store(&job->cancelled, true);
    serve_job *dropped = NULL;
    pthread_mutex_lock(&e->mu);
    if (job->slot >= 0) {
        llm_session_cancel(e->slots[job->slot].s);
    } else {
        for (size_t i = 0; i < e->q_len; i++) {
            size_t at = (e->q_head + i) % e->opt.queue_cap;
            if (e->queue[at] != job)
                continue;
            for (size_t k = i; k + 1 < e->q_len; k++)
                e->queue[(e->q_head + k) % e->opt.queue_cap] =
                    e->queue[(e->q_head + k + 1) % e->opt.queue_cap];
            e->q_len--;
            dropped = job;
            break;
        }
    }
    pthread_mutex_unlock(&e->mu);
    if (dropped) {
        serve_metrics_cancelled(e->opt.metrics);
        serve_job_finish(dropped);
        serve_job_release(dropped);
    }
}

uint32_t serve_engine_n_ctx(const serve_engine *e)
{
    return e->n_ctx;
}

void serve_engine_stats(serve_engine *e, size_t *queued, size_t *queue_cap, size_t *busy,
                        size_t *slots)
{
    pthread_mutex_lock(&e->mu);
    *queued = e->q_len;
    *queue_cap = e->opt.queue_cap;
    *busy = e->busy;
    *slots = e->opt.n_slots;
    pthread_mutex_unlock(&e->mu);
}

serve_engine *serve_engine_create(const serve_engine_options *opt, char *why, size_t why_cap)
{
    serve_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    e->opt = *opt;
    if (e->opt.queue_cap == 0)
        e->opt.queue_cap = 1;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->idle_cv, NULL);
    e->slots = calloc(opt->n_slots, sizeof *e->slots);
    e->queue = calloc(e->opt.queue_cap, sizeof *e->queue);
    if (!e->slots || !e->queue) {
        snprintf(why, why_cap, "out of memory");
        serve_engine_destroy(e);
        return NULL;
    }
    uint32_t threads = opt->n_threads;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (uint32_t)cpus / opt->n_slots : 1;
        if (threads == 0)
            threads = 1;
    }
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_ctx = opt->n_ctx;
    so.n_threads = threads;
    for (uint32_t i = 0; i < opt->n_slots; i++) {
        e->slots[i].e = e;
        e->slots[i].index = (int)i;
        pthread_cond_init(&e->slots[i].cv, NULL);
    }
    for (uint32_t i = 0; i < opt->n_slots; i++) {
        slot *sl = &e->slots[i];
        llm_status st = llm_session_create(opt->model, &so, &sl->s);
        if (st != LLM_OK) {
            snprintf(why, why_cap, "creating slot %u: %s: %s", i, llm_status_string(st),
                     llm_last_error());
            serve_engine_destroy(e);
            return NULL;
        }
    }
    /* the context every session got (0 asks for the library's default) */
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(opt->model, &info);
    e->family = info.family;
    e->n_ctx = opt->n_ctx;
    if (e->n_ctx == 0) {
        e->n_ctx = info.n_ctx_train && info.n_ctx_train < 2048 ? info.n_ctx_train : 2048;
    }
    for (uint32_t i = 0; i < opt->n_slots; i++) {
        if (pthread_create(&e->slots[i].thread, NULL, slot_main, &e->slots[i]) != 0) {
            snprintf(why, why_cap, "cannot start the thread of slot %u", i);
            serve_engine_destroy(e);
            return NULL;
        }
        e->n_started++;
    }
    return e;
}

void serve_engine_stop(serve_engine *e, double grace)
{
    if (!e || e->stopped)
        return;
    e->stopped = true;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    double until = serve_now() + grace;
    while ((e->q_len > 0 || e->busy > 0) && serve_now() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&e->idle_cv, &e->mu, &ts);
    }
    /* what is still queued or running is cancelled */
    serve_job *left[64];
    size_t n_left = 0;
    while (e->q_len > 0) {
        serve_job *job = e->queue[e->q_head];
        e->q_head = (e->q_head + 1) % e->opt.queue_cap;
        e->q_len--;
        atomic_store(&job->cancelled, true);
        if (n_left < 64) {
            left[n_left++] = job;
        } else {
            serve_job_finish(job);
            serve_job_release(job);
        }
    }
    for (uint32_t i = 0; e->slots && i < e->opt.n_slots; i++) {
        if (e->slots[i].job) {
            atomic_store(&e->slots[i].job->cancelled, true);
            llm_session_cancel(e->slots[i].s);
        }
        pthread_cond_signal(&e->slots[i].cv);
    }
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n_left; i++) {
        serve_job_finish(left[i]);
        serve_job_release(left[i]);
    }
    for (uint32_t i = 0; i < e->n_started; i++)
        pthread_join(e->slots[i].thread, NULL);
}

void serve_engine_destroy(serve_engine *e)
{
    if (!e)
        return;
    serve_engine_stop(e, 0);
    for (uint32_t i = 0; e->slots && i < e->opt.n_slots; i++) {
        llm_session_destroy(e->slots[i].s);
        pthread_cond_destroy(&e->slots[i].cv);
        free(e->slots[i].cached);
        free(e->slots[i].biased);
    }
    free(e->slots);
    free(e->queue);
    pthread_cond_destroy(&e->idle_cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
