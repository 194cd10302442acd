/* Prometheus counters of `llm serve` (see metrics.h). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int status_codes[SERVE_N_STATUS] = {200, 400, 401, 404, 405, 408,
                                                 413, 429, 500, 503, 504, 0};
static const char *const endpoint_names[SERVE_EP_COUNT] = {
    "/health", "/v1/models", "/metrics", "/v1/completions", "/v1/chat/completions",
    "/v1/embeddings", "other"};
/* upper bounds in seconds; the last bucket is +Inf */
static const double bucket_le[SERVE_N_BUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10};

void serve_metrics_init(serve_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void serve_metrics_destroy(serve_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

static void observe(serve_histogram *h, double v)
{
    int b = 0;
    while (b < SERVE_N_BUCKETS - 1 && v > bucket_le[b])
        b++;
    h->buckets[b]++;
    h->count++;
    h->sum += v;
}

void serve_metrics_request(serve_metrics *m, serve_endpoint ep, int status, double seconds)
{
    int s = SERVE_N_STATUS - 1;
    for (int i = 0; i < SERVE_N_STATUS - 1; i++)
        if (status_codes[i] == status)
            s = i;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][s]++;
    if (ep == SERVE_EP_COMPLETIONS || ep == SERVE_EP_CHAT || ep == SERVE_EP_EMBEDDINGS)
        observe(&m->duration, seconds);
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_tokens(serve_metrics *m, uint64_t prompt, uint64_t reused, uint64_t generated)
{
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt;
    m->reused_tokens += reused;
    m->generated_tokens += generated;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_first_token(serve_metrics *m, double seconds)
{
    pthread_mutex_lock(&m->mu);
    observe(&m->ttft, seconds);
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_cancelled(serve_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->cancelled++;
    pthread_mutex_unlock(&m->mu);
}

typedef struct text {
    char *p;
    size_t len, cap;
    int failed;
} text;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

static void put_histogram(text *t, const char *name, const char *help, const serve_histogram *h)
{
    put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int b = 0; b < SERVE_N_BUCKETS; b++) {
        cum += h->buckets[b];
        if (b < SERVE_N_BUCKETS - 1)
            put(t, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_le[b], (unsigned long long)cum);
        else
            put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    }
    put(t, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

char *serve_metrics_render(serve_metrics *m, size_t queued, size_t queue_cap, size_t busy,
                           size_t slots)
{
    text t = {malloc(4096), 0, 4096, 0};
    if (!t.p)
        return NULL;
    pthread_mutex_lock(&m->mu);
    put(&t, "# HELP llm_requests_total HTTP requests answered, by endpoint and status.\n"
            "# TYPE llm_requests_total counter\n");
    for (int e = 0; e < SERVE_EP_COUNT; e++)
        for (int s = 0; s < SERVE_N_STATUS; s++)
            if (m->requests[e][s]) {
                if (status_codes[s])
                    put(&t, "llm_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                        endpoint_names[e], status_codes[s], (unsigned long long)m->requests[e][s]);
                else
                    put(&t, "llm_requests_total{endpoint=\"%s\",status=\"other\"} %llu\n",
                        endpoint_names[e], (unsigned long long)m->requests[e][s]);
            }
    put(&t, "# HELP llm_prompt_tokens_total Prompt tokens of finished requests.\n"
            "# TYPE llm_prompt_tokens_total counter\nllm_prompt_tokens_total %llu\n",
        (unsigned long long)m->prompt_tokens);
    put(&t, "# HELP llm_prompt_tokens_reused_total Prompt tokens found in a slot's cache.\n"
            "# TYPE llm_prompt_tokens_reused_total counter\nllm_prompt_tokens_reused_total %llu\n",
        (unsigned long long)m->reused_tokens);
    put(&t, "# HELP llm_generated_tokens_total Tokens generated.\n"
            "# TYPE llm_generated_tokens_total counter\nllm_generated_tokens_total %llu\n",
        (unsigned long long)m->generated_tokens);
    put(&t, "# HELP llm_requests_cancelled_total Requests stopped early (client gone, "
            "shutdown).\n# TYPE llm_requests_cancelled_total counter\n"
            "llm_requests_cancelled_total %llu\n",
        (unsigned long long)m->cancelled);
    put(&t, "# HELP llm_queue_depth Requests waiting for a slot.\n# TYPE llm_queue_depth gauge\n"
            "llm_queue_depth %zu\n", queued);
    put(&t, "# HELP llm_queue_capacity Requests that may wait before 429.\n"
            "# TYPE llm_queue_capacity gauge\nllm_queue_capacity %zu\n", queue_cap);
    put(&t, "# HELP llm_slots_busy Slots running a request.\n# TYPE llm_slots_busy gauge\n"
            "llm_slots_busy %zu\n", busy);
    put(&t, "# HELP llm_slots_total Parallel slots (sessions).\n# TYPE llm_slots_total gauge\n"
            "llm_slots_total %zu\n", slots);
    put_histogram(&t, "llm_time_to_first_token_seconds",
                  "From the request's arrival to its first generated token.", &m->ttft);
    put_histogram(&t, "llm_request_duration_seconds",
                  "From arrival to the last byte of completions, chat and embeddings.",
                  &m->duration);
    pthread_mutex_unlock(&m->mu);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    return t.p;
}
