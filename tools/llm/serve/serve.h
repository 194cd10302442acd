/*
 * `llm serve`: an OpenAI-compatible HTTP server over one model, written against the public API
 * (<llm/llm.h>) alone. The pieces, one file each:
 *   request.c  request bodies parsed and checked (fuzzed by tests/fuzz/fuzz_serve_request.c)
 *   response.c the JSON answers
 *   job.c      one request's model work, shared by its connection and its slot
 *   slots.c    the parallel sessions and the bounded queue
 *   metrics.c  Prometheus counters
 *   http.c     libmicrohttpd: connections, limits, API key, streaming, disconnects
 *   routes.c   the endpoints
 * and ../cmd_serve.c, the command line and the signal handling.
 */
#ifndef LLM_SERVE_SERVE_H
#define LLM_SERVE_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

#include "metrics.h"
#include "request.h"
#include "slots.h"

typedef struct serve_config {
    const char *model_path;
    const char *host;          /* numeric address to bind; default 127.0.0.1 */
    int port;                  /* 0: any free port (reported on stderr) */
    const char *alias;         /* the model's id in the API; default the file name */
    char *api_key;             /* NULL: no authentication */
    const char *chat_template; /* template text overriding the model's, or NULL */
    uint32_t slots, queue, n_ctx, threads;
    size_t max_body;           /* bytes of a request body */
    size_t max_header;         /* bytes of the request line and headers */
    uint32_t max_prompt_tokens;
    unsigned timeout;          /* seconds a request may take, upload to last token */
    unsigned idle_timeout;     /* seconds a connection may stay silent */
    unsigned max_connections;
    double shutdown_grace;     /* seconds in-flight requests get to finish on SIGTERM */
    bool verbose;
    serve_limits limits;
} serve_config;

typedef struct serve_server {
    serve_config cfg;
    llm_model *model;
    llm_model_info info;
    const llm_tokenizer *tok;
    char model_id[256];
    int64_t created;
    serve_engine *engine;
    serve_metrics metrics;
    struct MHD_Daemon *daemon;
    int port;                  /* the port bound */
    atomic_uint_fast64_t next_id;
    atomic_bool stopping;
    atomic_int active;         /* requests between their headers and their last byte */
} serve_server;

/* ---- http.c ---- */
/* Binds cfg.host:cfg.port and starts answering. false with a message in `why` on failure. */
bool serve_http_start(serve_server *srv, char *why, size_t why_cap);
/* Stops accepting connections (those open are served on). */
void serve_http_quiesce(serve_server *srv);
/* Closes every connection and joins the connection threads. */
void serve_http_stop(serve_server *srv);

/* What a route hands back to http.c: a status and a body, or a stream. */
typedef struct serve_reply {
    int status;
    char *body;                /* malloc'ed; NULL with status 0: close the connection */
    const char *content_type;  /* static; NULL: application/json */
    serve_job *stream;         /* a job whose events are streamed (one reference moved in) */
} serve_reply;

/* The request as routes see it. */
typedef struct serve_call {
    serve_server *srv;
    struct MHD_Connection *conn;
    double t_start;
    const char *body;
    size_t body_len;
} serve_call;

/* true when the client has closed its side of the connection. */
bool serve_http_client_gone(const serve_call *call);

/* ---- routes.c ---- */
serve_endpoint serve_route_endpoint(const char *url);
/* The method the endpoint takes ("GET"/"POST"), or NULL for an unknown path. */
const char *serve_route_method(serve_endpoint ep);
void serve_route(serve_call *call, serve_endpoint ep, serve_reply *out);
/* An error reply in OpenAI's shape. */
void serve_reply_error(serve_reply *out, const serve_error *e);

#endif /* LLM_SERVE_SERVE_H */
