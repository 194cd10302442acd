/*
 * Request bodies of `llm serve`: the JSON of /v1/completions, /v1/chat/completions and
 * /v1/embeddings, parsed and checked against the server's limits before any model work starts.
 * Pure text in, plain structs out: no model, no HTTP, so the fuzz target (tests/fuzz/
 * fuzz_serve_request.c) can run it alone. Anything wrong becomes a serve_error that the HTTP layer
 * turns into OpenAI's error object with a 4xx status.
 */
#ifndef LLM_SERVE_REQUEST_H
#define LLM_SERVE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* OpenAI's error object: {"error": {"message", "type", "param", "code"}} with an HTTP status. */
typedef struct serve_error {
    int status;        /* HTTP status, 4xx or 5xx */
    const char *type;  /* "invalid_request_error", "authentication_error", ... (static) */
    const char *code;  /* machine-readable code or NULL (static) */
    char param[64];    /* the offending field ("" when none) */
    char message[512];
} serve_error;

/* Sets every field of `e`; returns false so that parsers can `return serve_fail(...)`. */
bool serve_fail(serve_error *e, int status, const char *type, const char *code, const char *param,
                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Bounds a request must respect; the model-dependent ones are 0 when unknown (fuzzing). */
typedef struct serve_limits {
    uint32_t n_vocab;       /* token ids must be below it; 0: any non-negative id */
    int64_t max_tokens;     /* largest max_tokens accepted */
    int32_t max_n;          /* largest n */
    size_t max_prompts;     /* prompts of a batched completion, inputs of an embedding call */
    size_t max_ids;         /* ids of one token-id prompt */
    size_t max_messages;    /* messages of one chat */
    size_t max_stop_bytes;  /* length of one stop string */
    size_t max_bias;        /* logit_bias entries */
} serve_limits;

/* Sets the defaults: max_tokens 4096, n 8, 256 prompts, 65536 ids, 1024 messages, 256-byte stop
 * strings, 1024 biases. */
void serve_limits_init(serve_limits *lim);

/* One prompt (or embedding input): UTF-8 text or token ids, never both. */
typedef struct serve_prompt {
    char *text;        /* NUL-terminated, or NULL */
    size_t text_len;
    int32_t *ids;      /* or NULL */
    size_t n_ids;
} serve_prompt;

typedef enum serve_kind {
    SERVE_COMPLETION = 0,
    SERVE_CHAT = 1,
    SERVE_EMBEDDING = 2
} serve_kind;

#define SERVE_MAX_STOPS 4

typedef struct serve_request {
    serve_kind kind;
    char *model;               /* the "model" field (required) */
    serve_prompt *prompts;     /* completions and embeddings */
    size_t n_prompts;
    char *messages_json;       /* chat: the messages with content flattened to strings */
    char *tools_json;          /* chat: "tools" as given, or NULL */
    bool stream;
    bool include_usage;        /* stream_options.include_usage */
    int64_t max_tokens;        /* -1: not given */
    int32_t n;                 /* choices per prompt, default 1 */
    double temperature;        /* default 1 */
    double top_p;              /* default 1 */
    double frequency_penalty;  /* default 0 */
    double presence_penalty;   /* default 0 */
    bool has_seed;
    int64_t seed;
    char *stops[SERVE_MAX_STOPS];
    int n_stops;
    int32_t *bias_ids;
    float *bias_values;
    size_t n_bias;
    bool base64;               /* embeddings: encoding_format "base64" */
    int64_t dimensions;        /* embeddings: -1 when not given */
} serve_request;

/* Parses `body` (len bytes, not necessarily NUL-terminated) as a request of `kind`. On failure
 * returns false with `err` set and `req` holding nothing to free; on success free it with
 * serve_request_free(). */
bool serve_request_parse(serve_kind kind, const char *body, size_t len, const serve_limits *lim,
                         serve_request *req, serve_error *err);

void serve_request_free(serve_request *req);

/* true when the `len` bytes are valid UTF-8 (no overlongs, surrogates or code points above
 * U+10FFFF). */
bool serve_utf8_valid(const char *s, size_t len);

#endif /* LLM_SERVE_REQUEST_H */
