/*
 * Parsing and checking of request bodies (see request.h). Every field the server understands is
 * checked for its JSON type and range here; fields it does not know are ignored, as OpenAI's own
 * server does, so that clients which send newer fields keep working. Features the server does not
 * have (logprobs, echo, suffix, best_of > 1) are refused by name rather than silently dropped.
 */
#include "request.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define BAD "invalid_request_error"

/* Length of the valid UTF-8 sequence at s (of at most n bytes), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Messages quote what the client sent (and what a parser made of it, cut anywhere): bytes that
 * are not UTF-8 become '?', so that the error itself is always valid JSON text. */
static void make_utf8(char *str)
{
    unsigned char *s = (unsigned char *)str;
    size_t n = strlen(str);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0) {
            s[i++] = '?';
            continue;
        }
        i += k;
    }
}

bool serve_fail(serve_error *e, int status, const char *type, const char *code, const char *param,
                const char *fmt, ...)
{
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    make_utf8(e->message);
    make_utf8(e->param);
    return false;
}

void serve_limits_init(serve_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->max_tokens = 4096;
    lim->max_n = 8;
    lim->max_prompts = 256;
    lim->max_ids = 65536;
    lim->max_messages = 1024;
    lim->max_stop_bytes = 256;
    lim->max_bias = 1024;
}

bool serve_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(s + i, len - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static char *dup_str(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static bool nomem(serve_error *e)
{
    return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory parsing the request");
}

/* Fetches an optional member: NULL when absent or JSON null. */
static json_t *opt_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static bool get_number(json_t *obj, const char *key, double lo, double hi, double *out,
                       serve_error *e)
{
    json_t *v = opt_member(obj, key);
    if (!v)
        return true;
    if (!json_is_number(v))
        return serve_fail(e, 400, BAD, NULL, key, "'%s' must be a number", key);
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return serve_fail(e, 400, BAD, NULL, key, "'%s' is %g; it must be between %g and %g", key,
                          d, lo, hi);
    *out = d;
    return true;
}

static bool get_int(json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, bool *had,
                    serve_error *e)
{
    json_t *v = opt_member(obj, key);
    if (!v)
        return true;
    if (!json_is_integer(v))
        return serve_fail(e, 400, BAD, NULL, key, "'%s' must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return serve_fail(e, 400, BAD, NULL, key,
                          "'%s' is %lld; it must be between %lld and %lld", key, (long long)i,
                          (long long)lo, (long long)hi);
    *out = i;
    if (had)
        *had = true;
    return true;
}

static bool get_bool(json_t *obj, const char *key, bool *out, serve_error *e)
{
    json_t *v = opt_member(obj, key);
    if (!v)
        return true;
    if (!json_is_boolean(v))
        return serve_fail(e, 400, BAD, NULL, key, "'%s' must be true or false", key);
    *out = json_is_true(v);
    return true;
}

/* ---- prompts ---------------------------------------------------------------------------------- */

static bool parse_ids(json_t *arr, const serve_limits *lim, const char *param, serve_prompt *p,
                      serve_error *e)
{
    size_t n = json_array_size(arr);
    if (n > lim->max_ids)
        return serve_fail(e, 400, BAD, "context_length_exceeded", param,
                          "a token-id prompt has %zu ids; the limit is %zu", n, lim->max_ids);
    p->ids = malloc((n ? n : 1) * sizeof *p->ids);
    if (!p->ids)
        return nomem(e);
    p->n_ids = n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v))
            return serve_fail(e, 400, BAD, NULL, param, "token id %zu of '%s' is not an integer",
                              i, param);
        json_int_t id = json_integer_value(v);
        if (id < 0 || id > INT32_MAX || (lim->n_vocab && (uint64_t)id >= lim->n_vocab))
            return serve_fail(e, 400, BAD, NULL, param,
                              "token id %lld at index %zu of '%s' is outside the vocabulary "
                              "(0..%u)", (long long)id, i, param,
                              lim->n_vocab ? lim->n_vocab - 1 : (unsigned)INT32_MAX);
        p->ids[i] = (int32_t)id;
    }
    return true;
}

static bool parse_text(json_t *v, serve_prompt *p, serve_error *e)
{
    p->text_len = json_string_length(v);
    p->text = dup_str(json_string_value(v), p->text_len);
    return p->text ? true : nomem(e);
}

/* "prompt" / "input": a string, an array of strings, an array of ids, or an array of arrays of
 * ids (OpenAI's four forms). */
static bool parse_prompts(json_t *root, const char *key, const serve_limits *lim,
                          serve_request *r, serve_error *e)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return serve_fail(e, 400, BAD, NULL, key, "'%s' is required", key);
    if (json_is_string(v)) {
        r->prompts = calloc(1, sizeof *r->prompts);
        if (!r->prompts)
            return nomem(e);
        r->n_prompts = 1;
        return parse_text(v, &r->prompts[0], e);
    }
    if (!json_is_array(v))
        return serve_fail(e, 400, BAD, NULL, key,
                          "'%s' must be a string, an array of strings, an array of token ids or "
                          "an array of arrays of token ids", key);
    size_t n = json_array_size(v);
    if (n == 0)
        return serve_fail(e, 400, BAD, NULL, key, "'%s' is an empty array", key);
    json_t *first = json_array_get(v, 0);
    if (json_is_integer(first)) { /* one prompt of ids */
        r->prompts = calloc(1, sizeof *r->prompts);
        if (!r->prompts)
            return nomem(e);
        r->n_prompts = 1;
        return parse_ids(v, lim, key, &r->prompts[0], e);
    }
    if (n > lim->max_prompts)
        return serve_fail(e, 400, BAD, NULL, key, "'%s' has %zu entries; the limit is %zu", key,
                          n, lim->max_prompts);
    r->prompts = calloc(n, sizeof *r->prompts);
    if (!r->prompts)
        return nomem(e);
    r->n_prompts = n;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        if (json_is_string(item)) {
            if (!parse_text(item, &r->prompts[i], e))
                return false;
        } else if (json_is_array(item)) {
            if (!parse_ids(item, lim, key, &r->prompts[i], e))
                return false;
        } else {
            return serve_fail(e, 400, BAD, NULL, key,
                              "entry %zu of '%s' must be a string or an array of token ids", i,
                              key);
        }
    }
    return true;
}

/* ---- sampling fields shared by completions and chat ------------------------------------------ */

static bool parse_stop(json_t *root, const serve_limits *lim, serve_request *r, serve_error *e)
{
    json_t *v = opt_member(root, "stop");
    if (!v)
        return true;
    json_t *one[1] = {v};
    size_t n = 1;
    if (json_is_array(v)) {
        n = json_array_size(v);
        if (n > SERVE_MAX_STOPS)
            return serve_fail(e, 400, BAD, NULL, "stop",
                              "'stop' has %zu strings; at most %d are allowed", n,
                              SERVE_MAX_STOPS);
    } else if (!json_is_string(v)) {
        return serve_fail(e, 400, BAD, NULL, "stop",
                          "'stop' must be a string or an array of up to %d strings",
                          SERVE_MAX_STOPS);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(v) ? json_array_get(v, i) : one[0];
        if (!json_is_string(s))
            return serve_fail(e, 400, BAD, NULL, "stop", "entry %zu of 'stop' is not a string",
                              i);
        size_t len = json_string_length(s);
        if (len == 0)
            return serve_fail(e, 400, BAD, NULL, "stop", "entry %zu of 'stop' is empty", i);
        if (len > lim->max_stop_bytes)
            return serve_fail(e, 400, BAD, NULL, "stop",
                              "entry %zu of 'stop' has %zu bytes; the limit is %zu", i, len,
                              lim->max_stop_bytes);
        r->stops[r->n_stops] = dup_str(json_string_value(s), len);
        if (!r->stops[r->n_stops])
            return nomem(e);
        r->n_stops++;
    }
    return true;
}

static bool parse_bias(json_t *root, const serve_limits *lim, serve_request *r, serve_error *e)
{
    json_t *v = opt_member(root, "logit_bias");
    if (!v)
        return true;
    if (!json_is_object(v))
        return serve_fail(e, 400, BAD, NULL, "logit_bias",
                          "'logit_bias' must be an object mapping token ids to numbers");
    size_t n = json_object_size(v);
    if (n > lim->max_bias)
        return serve_fail(e, 400, BAD, NULL, "logit_bias",
                          "'logit_bias' has %zu entries; the limit is %zu", n, lim->max_bias);
    r->bias_ids = malloc((n ? n : 1) * sizeof *r->bias_ids);
    r->bias_values = malloc((n ? n : 1) * sizeof *r->bias_values);
    if (!r->bias_ids || !r->bias_values)
        return nomem(e);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        char *end;
        errno = 0;
        long long id = strtoll(key, &end, 10);
        if (*key < '0' || *key > '9' || *end || errno || id > INT32_MAX ||
            (lim->n_vocab && (uint64_t)id >= lim->n_vocab))
            return serve_fail(e, 400, BAD, NULL, "logit_bias",
                              "'logit_bias' key \"%.32s\" is not a token id of the vocabulary "
                              "(0..%u)", key,
                              lim->n_vocab ? lim->n_vocab - 1 : (unsigned)INT32_MAX);
        if (!json_is_number(val))
            return serve_fail(e, 400, BAD, NULL, "logit_bias",
                              "'logit_bias' value of token %lld must be a number", id);
        double b = json_number_value(val);
        if (!(b >= -100 && b <= 100))
            return serve_fail(e, 400, BAD, NULL, "logit_bias",
                              "'logit_bias' value %g of token %lld must be between -100 and 100",
                              b, id);
        r->bias_ids[r->n_bias] = (int32_t)id;
        r->bias_values[r->n_bias] = (float)b;
        r->n_bias++;
    }
    return true;
}

static bool unsupported(serve_error *e, const char *param, const char *what)
{
    return serve_fail(e, 400, BAD, "unsupported_parameter", param,
                      "'%s' is not supported by this server: %s", param, what);
}

static bool parse_sampling(json_t *root, const serve_limits *lim, serve_request *r,
                           serve_error *e)
{
    bool ok = get_bool(root, "stream", &r->stream, e) &&
              get_int(root, "max_tokens", 0, lim->max_tokens, &r->max_tokens, NULL, e) &&
              get_number(root, "temperature", 0, 2, &r->temperature, e) &&
              get_number(root, "top_p", 0, 1, &r->top_p, e) &&
              get_number(root, "frequency_penalty", -2, 2, &r->frequency_penalty, e) &&
              get_number(root, "presence_penalty", -2, 2, &r->presence_penalty, e) &&
              get_int(root, "seed", INT64_MIN, INT64_MAX, &r->seed, &r->has_seed, e);
    if (!ok)
        return false;
    /* chat's newer name for max_tokens */
    if (r->kind == SERVE_CHAT && r->max_tokens < 0 &&
        !get_int(root, "max_completion_tokens", 0, lim->max_tokens, &r->max_tokens, NULL, e))
        return false;
    int64_t n = 1;
    if (!get_int(root, "n", 1, lim->max_n, &n, NULL, e))
        return false;
    r->n = (int32_t)n;
    json_t *so = opt_member(root, "stream_options");
    if (so) {
        if (!json_is_object(so))
            return serve_fail(e, 400, BAD, NULL, "stream_options",
                              "'stream_options' must be an object");
        if (!get_bool(so, "include_usage", &r->include_usage, e))
            return false;
    }
    if (!parse_stop(root, lim, r, e) || !parse_bias(root, lim, r, e))
        return false;
    json_t *lp = opt_member(root, "logprobs");
    if (lp && !json_is_false(lp) && !(json_is_integer(lp) && json_integer_value(lp) == 0))
        return unsupported(e, "logprobs", "token log-probabilities are not reported");
    json_t *echo = opt_member(root, "echo");
    if (echo && !json_is_boolean(echo))
        return serve_fail(e, 400, BAD, NULL, "echo", "'echo' must be true or false");
    if (json_is_true(echo))
        return unsupported(e, "echo", "the prompt is not echoed");
    if (opt_member(root, "suffix"))
        return unsupported(e, "suffix", "insertion is not implemented");
    json_t *best = opt_member(root, "best_of");
    if (best && !(json_is_integer(best) && json_integer_value(best) == 1))
        return unsupported(e, "best_of", "only best_of 1 is implemented");
    return true;
}

/* ---- chat messages ---------------------------------------------------------------------------- */

/* Content as OpenAI allows it (a string, null, or an array of {"type": "text", "text"} parts)
 * flattened to one string, the form chat templates expect. */
static bool flatten_content(json_t *msg, size_t i, serve_error *e)
{
    json_t *c = json_object_get(msg, "content");
    if (!c || json_is_null(c) || json_is_string(c))
        return true;
    if (!json_is_array(c))
        return serve_fail(e, 400, BAD, NULL, "messages",
                          "messages[%zu].content must be a string or an array of text parts", i);
    size_t total = 0;
    for (size_t k = 0; k < json_array_size(c); k++) {
        json_t *part = json_array_get(c, k);
        json_t *type = json_object_get(part, "type");
        json_t *text = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(type) ||
            strcmp(json_string_value(type), "text") != 0 || !json_is_string(text))
            return serve_fail(e, 400, BAD, NULL, "messages",
                              "messages[%zu].content[%zu] must be {\"type\": \"text\", "
                              "\"text\": STRING}: only text is supported", i, k);
        total += json_string_length(text);
    }
    char *joined = malloc(total + 1), *p = joined;
    if (!joined)
        return nomem(e);
    for (size_t k = 0; k < json_array_size(c); k++) {
        json_t *text = json_object_get(json_array_get(c, k), "text");
        memcpy(p, json_string_value(text), json_string_length(text));
        p += json_string_length(text);
    }
    *p = '\0';
    json_t *s = json_stringn(joined, total);
    free(joined);
    if (!s || json_object_set_new(msg, "content", s) != 0)
        return nomem(e);
    return true;
}

static bool parse_messages(json_t *root, const serve_limits *lim, serve_request *r,
                           serve_error *e)
{
    json_t *m = json_object_get(root, "messages");
    if (!json_is_array(m))
        return serve_fail(e, 400, BAD, NULL, "messages",
                          "'messages' must be an array of {\"role\", \"content\"} objects");
    size_t n = json_array_size(m);
    if (n == 0)
        return serve_fail(e, 400, BAD, NULL, "messages", "'messages' is empty");
    if (n > lim->max_messages)
        return serve_fail(e, 400, BAD, NULL, "messages",
                          "'messages' has %zu entries; the limit is %zu", n, lim->max_messages);
    for (size_t i = 0; i < n; i++) {
        json_t *msg = json_array_get(m, i);
        if (!json_is_object(msg))
            return serve_fail(e, 400, BAD, NULL, "messages", "messages[%zu] is not an object",
                              i);
        json_t *role = json_object_get(msg, "role");
        if (!json_is_string(role) || json_string_length(role) == 0 ||
            json_string_length(role) > 64)
            return serve_fail(e, 400, BAD, NULL, "messages",
                              "messages[%zu].role must be a non-empty string (\"system\", "
                              "\"user\", \"assistant\", ...)", i);
        if (!flatten_content(msg, i, e))
            return false;
    }
    r->messages_json = json_dumps(m, JSON_COMPACT);
    if (!r->messages_json)
        return nomem(e);
    json_t *tools = opt_member(root, "tools");
    if (tools) {
        if (!json_is_array(tools))
            return serve_fail(e, 400, BAD, NULL, "tools", "'tools' must be an array");
        r->tools_json = json_dumps(tools, JSON_COMPACT);
        if (!r->tools_json)
            return nomem(e);
    }
    json_t *rf = opt_member(root, "response_format");
    if (rf) {
        json_t *type = json_object_get(rf, "type");
        if (!json_is_object(rf) || !json_is_string(type))
            return serve_fail(e, 400, BAD, NULL, "response_format",
                              "'response_format' must be {\"type\": \"text\"}");
        if (strcmp(json_string_value(type), "text") != 0)
            return unsupported(e, "response_format", "only {\"type\": \"text\"} is implemented");
    }
    return true;
}

/* ---- the whole request ------------------------------------------------------------------------ */

static bool parse_embedding(json_t *root, const serve_limits *lim, serve_request *r,
                            serve_error *e)
{
    if (!parse_prompts(root, "input", lim, r, e))
        return false;
    json_t *fmt = opt_member(root, "encoding_format");
    if (fmt) {
        const char *f = json_is_string(fmt) ? json_string_value(fmt) : "";
        if (strcmp(f, "float") == 0)
            r->base64 = false;
        else if (strcmp(f, "base64") == 0)
            r->base64 = true;
        else
            return serve_fail(e, 400, BAD, NULL, "encoding_format",
                              "'encoding_format' must be \"float\" or \"base64\"");
    }
    return get_int(root, "dimensions", 1, INT32_MAX, &r->dimensions, NULL, e);
}

bool serve_request_parse(serve_kind kind, const char *body, size_t len, const serve_limits *lim,
                         serve_request *r, serve_error *e)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->max_tokens = -1;
    r->n = 1;
    r->temperature = 1.0;
    r->top_p = 1.0;
    r->dimensions = -1;
    if (!serve_utf8_valid(body, len))
        return serve_fail(e, 400, BAD, NULL, NULL, "the request body is not valid UTF-8");
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return serve_fail(e, 400, BAD, NULL, NULL,
                          "the request body is not valid JSON: %s at line %d, column %d",
                          jerr.text, jerr.line, jerr.column);
    bool ok;
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(root)) {
        ok = serve_fail(e, 400, BAD, NULL, NULL, "the request body must be a JSON object");
    } else if (!json_is_string(model)) {
        ok = serve_fail(e, 400, BAD, NULL, "model", "'model' is required and must be a string");
    } else if (!(r->model = dup_str(json_string_value(model), json_string_length(model)))) {
        ok = nomem(e);
    } else if (kind == SERVE_EMBEDDING) {
        ok = parse_embedding(root, lim, r, e);
    } else if (kind == SERVE_CHAT) {
        ok = parse_sampling(root, lim, r, e) && parse_messages(root, lim, r, e);
    } else {
        ok = parse_sampling(root, lim, r, e) && parse_prompts(root, "prompt", lim, r, e);
    }
    json_decref(root);
    if (!ok)
        serve_request_free(r);
    return ok;
}

void serve_request_free(serve_request *r)
{
    if (!r)
        return;
    free(r->model);
    for (size_t i = 0; i < r->n_prompts; i++) {
        free(r->prompts[i].text);
        free(r->prompts[i].ids);
    }
    free(r->prompts);
    free(r->messages_json);
    free(r->tools_json);
    for (int i = 0; i < r->n_stops; i++)
        free(r->stops[i]);
    free(r->bias_ids);
    free(r->bias_values);
    memset(r, 0, sizeof *r);
}
