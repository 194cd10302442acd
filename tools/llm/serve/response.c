/* OpenAI-shaped JSON answers (see response.h), built with Jansson. */
#include "response.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static char *dump(json_t *root)
{
    if (!root)
        return NULL;
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

char *serve_error_json(const serve_error *e)
{
    return dump(json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", e->message, "type",
                          e->type ? e->type : "invalid_request_error", "param",
                          e->param[0] ? json_string(e->param) : json_null(), "code",
                          e->code ? json_string(e->code) : json_null()));
}

static json_t *usage(const serve_job *job)
{
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)job->prompt_tokens,
                     "completion_tokens", (json_int_t)job->completion_tokens, "total_tokens",
                     (json_int_t)(job->prompt_tokens + job->completion_tokens));
}

static json_t *finish_value(const char *finish)
{
    return finish ? json_string(finish) : json_null();
}

char *serve_completion_json(const serve_job *job)
{
    int chat = job->req.kind == SERVE_CHAT;
    json_t *choices = json_array();
    size_t n = job->req.n_prompts * (size_t)job->req.n;
    for (size_t i = 0; choices && i < n; i++) {
        const serve_choice *c = &job->choices[i];
        json_t *text = json_stringn(c->text ? c->text : "", c->len);
        json_t *item;
        if (chat)
            item = json_pack("{s:I, s:{s:s, s:o}, s:n, s:o}", "index", (json_int_t)i, "message",
                             "role", "assistant", "content", text, "logprobs", "finish_reason",
                             finish_value(c->finish));
        else
            item = json_pack("{s:I, s:o, s:n, s:o}", "index", (json_int_t)i, "text", text,
                             "logprobs", "finish_reason", finish_value(c->finish));
        if (json_array_append_new(choices, item) != 0) {
            json_decref(choices);
            return NULL;
        }
    }
    return dump(json_pack("{s:s, s:s, s:I, s:s, s:o, s:o}", "id", job->id, "object",
                          chat ? "chat.completion" : "text_completion", "created",
                          (json_int_t)job->created, "model", job->model_id, "choices", choices,
                          "usage", usage(job)));
}

char *serve_chunk_json(const serve_job *job, size_t index, const char *text, size_t len,
                       const char *finish, int with_role)
{
    int chat = job->req.kind == SERVE_CHAT;
    json_t *choice;
    if (chat) {
        json_t *delta = json_object();
        if (with_role)
            json_object_set_new(delta, "role", json_string("assistant"));
        if (len > 0 || (with_role && !finish))
            json_object_set_new(delta, "content", json_stringn(text ? text : "", len));
        choice = json_pack("{s:I, s:o, s:n, s:o}", "index", (json_int_t)index, "delta", delta,
                           "logprobs", "finish_reason", finish_value(finish));
    } else {
        choice = json_pack("{s:I, s:o, s:n, s:o}", "index", (json_int_t)index, "text",
                           json_stringn(text ? text : "", len), "logprobs", "finish_reason",
                           finish_value(finish));
    }
    return dump(json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", job->id, "object",
                          chat ? "chat.completion.chunk" : "text_completion", "created",
                          (json_int_t)job->created, "model", job->model_id, "choices", choice));
}

char *serve_usage_chunk_json(const serve_job *job)
{
    int chat = job->req.kind == SERVE_CHAT;
    return dump(json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", job->id, "object",
                          chat ? "chat.completion.chunk" : "text_completion", "created",
                          (json_int_t)job->created, "model", job->model_id, "choices", "usage",
                          usage(job)));
}

char *serve_base64(const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* float32 bytes in little-endian order, whatever the host's */
static char *floats_base64(const float *v, size_t n)
{
    unsigned char *bytes = malloc(n * 4 + 1);
    if (!bytes)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int k = 0; k < 4; k++)
            bytes[4 * i + (size_t)k] = (unsigned char)(u >> (8 * k));
    }
    char *s = serve_base64(bytes, n * 4);
    free(bytes);
    return s;
}

char *serve_embeddings_json(const serve_job *job)
{
    json_t *data = json_array();
    for (size_t i = 0; data && i < job->req.n_prompts; i++) {
        const float *v = job->embeddings + i * job->dim;
        json_t *emb;
        if (job->req.base64) {
            char *s = floats_base64(v, job->dim);
            emb = s ? json_string(s) : NULL;
            free(s);
        } else {
            emb = json_array();
            for (size_t k = 0; emb && k < job->dim; k++)
                if (json_array_append_new(emb, json_real(v[k])) != 0) {
                    json_decref(emb);
                    emb = NULL;
                }
        }
        json_t *item = json_pack("{s:s, s:I, s:o}", "object", "embedding", "index", (json_int_t)i,
                                 "embedding", emb);
        if (json_array_append_new(data, item) != 0) {
            json_decref(data);
            return NULL;
        }
    }
    return dump(json_pack("{s:s, s:o, s:s, s:{s:I, s:I}}", "object", "list", "data", data,
                          "model", job->model_id, "usage", "prompt_tokens",
                          (json_int_t)job->prompt_tokens, "total_tokens",
                          (json_int_t)job->prompt_tokens));
}

char *serve_models_json(const char *model_id, int64_t created)
{
    return dump(json_pack("{s:s, s:[{s:s, s:s, s:I, s:s}]}", "object", "list", "data", "id",
                          model_id, "object", "model", "created", (json_int_t)created, "owned_by",
                          "libllm"));
}
