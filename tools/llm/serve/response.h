/*
 * The JSON bodies `llm serve` answers with, in OpenAI's shapes: error objects, completions and
 * chat completions (whole, or as the chunks of an event stream), embeddings (floats or base64 of
 * little-endian float32) and the model list. Each returns a malloc'ed NUL-terminated string, or
 * NULL when memory ran out.
 */
#ifndef LLM_SERVE_RESPONSE_H
#define LLM_SERVE_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "request.h"

char *serve_error_json(const serve_error *e);
/* A finished completion or chat completion (job->req.kind says which). */
char *serve_completion_json(const serve_job *job);
/* One chunk of a stream: text added to choice `index`, and its finish reason or NULL. A chat
 * chunk carries the assistant role the first time a choice speaks (choice->started). */
char *serve_chunk_json(const serve_job *job, size_t index, const char *text, size_t len,
                       const char *finish, int with_role);
/* The closing chunk with usage and no choices (stream_options.include_usage). */
char *serve_usage_chunk_json(const serve_job *job);
char *serve_embeddings_json(const serve_job *job);
char *serve_models_json(const char *model_id, int64_t created);
/* Standard base64 of `n` bytes (malloc'ed). */
char *serve_base64(const void *data, size_t n);

#endif /* LLM_SERVE_RESPONSE_H */
