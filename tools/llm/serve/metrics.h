/*
 * Counters of `llm serve` and their Prometheus text form for GET /metrics: requests by endpoint
 * and status, prompt and generated tokens, cancellations, queue and slot gauges, and histograms
 * of time to first token and request duration. Every call is thread-safe.
 */
#ifndef LLM_SERVE_METRICS_H
#define LLM_SERVE_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum serve_endpoint {
    SERVE_EP_HEALTH = 0,
    SERVE_EP_MODELS = 1,
    SERVE_EP_METRICS = 2,
    SERVE_EP_COMPLETIONS = 3,
    SERVE_EP_CHAT = 4,
    SERVE_EP_EMBEDDINGS = 5,
    SERVE_EP_OTHER = 6,
    SERVE_EP_COUNT = 7
} serve_endpoint;

#define SERVE_N_STATUS 12
#define SERVE_N_BUCKETS 12

typedef struct serve_histogram {
    uint64_t buckets[SERVE_N_BUCKETS]; /* cumulative counts are formed when rendering */
    uint64_t count;
    double sum;
} serve_histogram;

typedef struct serve_metrics {
    pthread_mutex_t mu;
    uint64_t requests[SERVE_EP_COUNT][SERVE_N_STATUS];
    uint64_t prompt_tokens, reused_tokens, generated_tokens;
    uint64_t cancelled; /* jobs stopped because the client went away or the server stopped */
    serve_histogram ttft, duration;
} serve_metrics;

void serve_metrics_init(serve_metrics *m);
void serve_metrics_destroy(serve_metrics *m);
void serve_metrics_request(serve_metrics *m, serve_endpoint ep, int status, double seconds);
void serve_metrics_tokens(serve_metrics *m, uint64_t prompt, uint64_t reused, uint64_t generated);
void serve_metrics_first_token(serve_metrics *m, double seconds);
void serve_metrics_cancelled(serve_metrics *m);

/* The Prometheus text exposition (malloc'ed, NUL-terminated), with the gauges given. */
char *serve_metrics_render(serve_metrics *m, size_t queued, size_t queue_cap, size_t busy,
                           size_t slots);

#endif /* LLM_SERVE_METRICS_H */
