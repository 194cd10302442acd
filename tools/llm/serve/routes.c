/*
 * The endpoints of `llm serve`. Generation requests are parsed, their prompts tokenized and
 * checked against the context here, in the connection's thread; then the job goes to the slots,
 * and the answer is either awaited (polling the socket, so that a vanished client cancels it)
 * or streamed as server-sent events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "response.h"
#include "routes.h"

#define BAD "invalid_request_error"

static const serve_route_entry routes[] = {
    {"/health", "GET", SERVE_EP_HEALTH},
    {"/v1/models", "GET", SERVE_EP_MODELS},
    {"/metrics", "GET", SERVE_EP_METRICS},
    {"/v1/completions", "POST", SERVE_EP_COMPLETIONS},
    {"/v1/embeddings", "POST", SERVE_EP_EMBEDDINGS},
    {"/v1/chat/completions", "POST", SERVE_EP_CHAT},
};

serve_endpoint serve_route_endpoint(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i].path) == 0)
            return routes[i].ep;
    return SERVE_EP_OTHER;
}

const char *serve_route_method(serve_endpoint ep)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (routes[i].ep == ep)
            return routes[i].method;
    return NULL;
}

void serve_reply_error(serve_reply *out, const serve_error *e)
{
    out->status = e->status;
    out->body = serve_error_json(e);
    out->content_type = NULL;
    out->stream = NULL;
}

static void reply_fail(serve_reply *out, int status, const char *code, const char *param,
                       const char *msg)
{
    serve_error e;
    serve_fail(&e, status, status >= 500 ? "server_error" : BAD, code, param, "%s", msg);
    serve_reply_error(out, &e);
}

static void reply_body(serve_reply *out, int status, char *body, const char *type)
{
    if (!body) {
        reply_fail(out, 500, NULL, NULL, "out of memory building the answer");
        return;
    }
    out->status = status;
    out->body = body;
    out->content_type = type;
}

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- the small endpoints ---------------------------------------------------------------------- */

static void route_health(serve_call *call, serve_reply *out)
{
    if (atomic_load(&call->srv->stopping))
        reply_body(out, 503, dup_cstr("{\"status\":\"shutting down\"}"), NULL);
    else
        reply_body(out, 200, dup_cstr("{\"status\":\"ok\"}"), NULL);
}

static void route_metrics(serve_call *call, serve_reply *out)
{
    size_t queued, cap, busy, slots;
    serve_engine_stats(call->srv->engine, &queued, &cap, &busy, &slots);
    reply_body(out, 200, serve_metrics_render(&call->srv->metrics, queued, cap, busy, slots),
               "text/plain; version=0.0.4");
}

/* ---- generation and embeddings ---------------------------------------------------------------- */

static bool tokenize(serve_server *srv, const char *text, size_t len, uint32_t flags,
                     int32_t **ids, size_t *n, serve_error *e)
{
    size_t need = 0;
    llm_status st = llm_tokenizer_encode(srv->tok, text, len, flags, NULL, 0, &need);
    if (st != LLM_OK && st != LLM_ERR_BUFFER_TOO_SMALL)
        return serve_fail(e, 500, "server_error", NULL, NULL, "tokenizing the prompt: %s",
                          llm_last_error());
    *ids = malloc((need ? need : 1) * sizeof **ids);
    if (!*ids)
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory tokenizing");
    st = llm_tokenizer_encode(srv->tok, text, len, flags, *ids, need, n);
    if (st != LLM_OK)
        return serve_fail(e, 500, "server_error", NULL, NULL, "tokenizing the prompt: %s",
                          llm_last_error());
    return true;
}

/* Prompt i of the job as token ids, checked against the limits. */
static bool prepare_prompt(serve_call *call, serve_job *job, size_t i, serve_error *e)
{
    serve_server *srv = call->srv;
    serve_prompt *p = &job->req.prompts[i];
    if (job->req.kind == SERVE_CHAT) {
        if (!tokenize(srv, p->text, p->text_len, LLM_ENCODE_PARSE_SPECIAL, &job->ids[i],
                      &job->n_ids[i], e))
            return false;
    } else if (p->text) {
        if (!tokenize(srv, p->text, p->text_len, LLM_ENCODE_ADD_SPECIAL, &job->ids[i],
                      &job->n_ids[i], e))
            return false;
    } else {
        job->ids[i] = malloc((p->n_ids ? p->n_ids : 1) * sizeof *p->ids);
        if (!job->ids[i])
            return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        memcpy(job->ids[i], p->ids, p->n_ids * sizeof *p->ids);
        job->n_ids[i] = p->n_ids;
    }
    if (job->n_ids[i] == 0) { /* an empty prompt starts from BOS where the model has one */
        int32_t bos = llm_tokenizer_special(srv->tok, LLM_TOKEN_BOS);
        if (bos < 0)
            return serve_fail(e, 400, BAD, NULL, "prompt",
                              "prompt %zu is empty and the model has no BOS token to start from",
                              i);
        job->ids[i][0] = bos;
        job->n_ids[i] = 1;
    }
    size_t n = job->n_ids[i];
    uint32_t n_ctx = serve_engine_n_ctx(srv->engine);
    if (n > srv->cfg.max_prompt_tokens)
        return serve_fail(e, 400, BAD, "context_length_exceeded", "prompt",
                          "prompt %zu has %zu tokens; this server accepts at most %u "
                          "(--max-prompt-tokens)", i, n, srv->cfg.max_prompt_tokens);
    if (n >= n_ctx)
        return serve_fail(e, 400, BAD, "context_length_exceeded", "prompt",
                          "this model's maximum context length is %u tokens, and prompt %zu has "
                          "%zu", n_ctx, i, n);
    int64_t room = (int64_t)n_ctx - (int64_t)n;
    if (job->req.max_tokens >= 0 && job->req.max_tokens > room)
        return serve_fail(e, 400, BAD, "context_length_exceeded", "max_tokens",
                          "this model's maximum context length is %u tokens; you requested %lld "
                          "(%zu in the prompt, %lld in the completion)", n_ctx,
                          (long long)(n + (uint64_t)job->req.max_tokens), n,
                          (long long)job->req.max_tokens);
    if (job->req.max_tokens < 0) { /* not given: 16 for completions (as OpenAI), the rest else */
        int64_t dflt = job->req.kind == SERVE_COMPLETION ? 16 : srv->cfg.limits.max_tokens;
        if (dflt > room)
            dflt = room;
        if (job->max_tokens < 0 || dflt < job->max_tokens)
            job->max_tokens = dflt;
    } else {
        job->max_tokens = job->req.max_tokens;
    }
    return true;
}

static uint64_t fresh_seed(serve_server *srv)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 (atomic_fetch_add(&srv->next_id, 1) * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
}

/* Waits for a job without streaming; false when the client went away meanwhile. */
static bool await_job(serve_call *call, serve_job *job)
{
    pthread_mutex_lock(&job->mu);
    while (!job->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&job->cv, &job->mu, &ts);
        if (job->done)
            break;
        pthread_mutex_unlock(&job->mu);
        if (serve_http_client_gone(call)) {
            serve_engine_cancel(call->srv->engine, job);
            return false;
        }
        pthread_mutex_lock(&job->mu);
    }
    pthread_mutex_unlock(&job->mu);
    return true;
}

static void submit(serve_call *call, serve_job *job, serve_reply *out)
{
    serve_server *srv = call->srv;
    job->deadline = call->t_start + srv->cfg.timeout;
    serve_submit_result r = serve_engine_submit(srv->engine, job);
    if (r == SERVE_QUEUE_FULL) {
        reply_fail(out, 429, "rate_limit_exceeded", NULL,
                   "every slot is busy and the queue is full: retry later");
        serve_job_release(job);
        return;
    }
    if (r == SERVE_STOPPING) {
        reply_fail(out, 503, "server_shutting_down", NULL, "the server is shutting down");
        serve_job_release(job);
        return;
    }
    if (job->req.stream) {
        out->status = 200;
        out->stream = job; /* our reference goes to the stream */
        return;
    }
    if (!await_job(call, job)) {
        out->status = 0; /* nobody to answer */
        serve_job_release(job);
        return;
    }
    if (atomic_load(&job->cancelled))
        reply_fail(out, 503, "server_shutting_down", NULL,
                   "the server stopped before the request finished");
    else if (job->failed)
        serve_reply_error(out, &job->err);
    else if (job->req.kind == SERVE_EMBEDDING)
        reply_body(out, 200, serve_embeddings_json(job), NULL);
    else
        reply_body(out, 200, serve_completion_json(job), NULL);
    serve_job_release(job);
}

static bool check_model(serve_server *srv, const serve_request *req, serve_error *e)
{
    if (strcmp(req->model, srv->model_id) == 0)
        return true;
    return serve_fail(e, 404, BAD, "model_not_found", "model",
                      "the model '%.200s' does not exist; this server has '%.200s'", req->model,
                      srv->model_id);
}

static void route_generate(serve_call *call, serve_kind kind, serve_reply *out)
{
    serve_server *srv = call->srv;
    serve_error e;
    if (srv->info.family == LLM_FAMILY_ENCODER) {
        reply_fail(out, 400, "unsupported_model", "model",
                   "this model is an encoder: it answers /v1/embeddings, not completions");
        return;
    }
    serve_request req;
    if (!serve_request_parse(kind, call->body, call->body_len, &srv->cfg.limits, &req, &e)) {
        serve_reply_error(out, &e);
        return;
    }
    if (!check_model(srv, &req, &e)) {
        serve_request_free(&req);
        serve_reply_error(out, &e);
        return;
    }
    if (kind == SERVE_CHAT && !serve_chat_prompt(srv, &req, &e)) {
        serve_request_free(&req);
        serve_reply_error(out, &e);
        return;
    }
    serve_job *job = serve_job_create(&req, srv->model_id);
    if (!job) {
        serve_request_free(&req);
        reply_fail(out, 500, NULL, NULL, "out of memory");
        return;
    }
    uint64_t id = atomic_fetch_add(&srv->next_id, 1);
    snprintf(job->id, sizeof job->id, "%s-%016llx", kind == SERVE_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)(fresh_seed(srv) ^ id));
    job->created = (int64_t)time(NULL);
    job->seed = job->req.has_seed ? (uint64_t)job->req.seed : fresh_seed(srv);
    job->max_tokens = -1;
    for (size_t i = 0; i < job->req.n_prompts; i++)
        if (!prepare_prompt(call, job, i, &e)) {
            serve_job_release(job);
            serve_reply_error(out, &e);
            return;
        }
    submit(call, job, out);
}

static void route_embeddings(serve_call *call, serve_reply *out)
{
    serve_server *srv = call->srv;
    serve_error e;
    if (srv->info.family == LLM_FAMILY_DECODER) {
        reply_fail(out, 400, "unsupported_model", "model",
                   "this model is a decoder: embeddings need an encoder model (BERT, T5)");
        return;
    }
    serve_request req;
    if (!serve_request_parse(SERVE_EMBEDDING, call->body, call->body_len, &srv->cfg.limits, &req,
                             &e)) {
        serve_reply_error(out, &e);
        return;
    }
    if (!check_model(srv, &req, &e)) {
        serve_request_free(&req);
        serve_reply_error(out, &e);
        return;
    }
    size_t dim = llm_model_embedding_dim(srv->model);
    if (req.dimensions >= 0 && (size_t)req.dimensions != dim) {
        char msg[128];
        snprintf(msg, sizeof msg, "this model's embeddings have %zu dimensions, not %lld", dim,
                 (long long)req.dimensions);
        serve_request_free(&req);
        reply_fail(out, 400, NULL, "dimensions", msg);
        return;
    }
    serve_job *job = serve_job_create(&req, srv->model_id);
    if (!job) {
        serve_request_free(&req);
        reply_fail(out, 500, NULL, NULL, "out of memory");
        return;
    }
    job->created = (int64_t)time(NULL);
    submit(call, job, out);
}

void serve_route(serve_call *call, serve_endpoint ep, serve_reply *out)
{
    memset(out, 0, sizeof *out);
    switch (ep) {
    case SERVE_EP_HEALTH: route_health(call, out); return;
    case SERVE_EP_MODELS:
        reply_body(out, 200, serve_models_json(call->srv->model_id, call->srv->created), NULL);
        return;
    case SERVE_EP_METRICS: route_metrics(call, out); return;
    case SERVE_EP_COMPLETIONS: route_generate(call, SERVE_COMPLETION, out); return;
    case SERVE_EP_CHAT: route_generate(call, SERVE_CHAT, out); return;
    case SERVE_EP_EMBEDDINGS: route_embeddings(call, out); return;
    case SERVE_EP_OTHER:
    case SERVE_EP_COUNT: break;
    }
    reply_fail(out, 404, "not_found", NULL, "no such endpoint");
}
