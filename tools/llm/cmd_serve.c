/*
 * `llm serve`: the OpenAI-compatible HTTP server (the pieces are in serve/, see serve/serve.h).
 * This file reads the options, loads the model, starts the slots and the HTTP daemon, then waits
 * for SIGTERM or SIGINT and shuts down gracefully: no new connections, in-flight requests get
 * --shutdown-grace seconds to finish, the rest are cancelled, exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "serve/serve.h"

#define CMD "serve"

static void serve_help(FILE *f)
{
    fprintf(f,
            "usage: llm serve -m MODEL [options]\n"
            "\n"
            "Answers OpenAI-style HTTP requests with one model shared by parallel slots:\n"
            "POST /v1/completions, /v1/chat/completions, /v1/embeddings (encoder models),\n"
            "GET /v1/models, /health, /metrics (Prometheus). SIGTERM or Ctrl-C stops it\n"
            "after the requests in flight finish.\n"
            "\n"
            "options:\n"
            "  -m, --model PATH          GGUF file or Hugging Face directory (required)\n"
            "      --host ADDR           numeric address to listen on (default 127.0.0.1)\n"
            "      --port N              TCP port (default 8080; 0: any free port)\n"
            "      --alias NAME          the model's id in the API (default: the file name)\n"
            "      --api-key KEY         require 'Authorization: Bearer KEY' (not on /health)\n"
            "      --api-key-file PATH   the same, the key being the file's first line\n"
            "      --chat-template PATH  a Jinja chat template to use instead of the model's\n"
            "  -s, --slots N             requests generated at the same time (default 2)\n"
            "      --queue N             requests that may wait for a slot; more get 429\n"
            "                            (default 16)\n"
            "  -c, --ctx N               context length of each slot (default: the model's, at\n"
            "                            most 2048)\n"
            "  -t, --threads N           threads of each slot (default: CPUs / slots)\n"
            "limits (a request beyond one gets a 4xx error):\n"
            "      --max-body BYTES      request body (default 1048576)\n"
            "      --max-header BYTES    request line and headers (default 16384)\n"
            "      --max-prompt-tokens N prompt tokens (default: the context)\n"
            "      --max-tokens N        largest max_tokens (default 4096)\n"
            "      --max-n N             largest n (default 8)\n"
            "      --timeout SECONDS     time a request may take in all (default 300)\n"
            "      --idle-timeout SECONDS  time a connection may stay silent (default 30)\n"
            "      --max-connections N   open connections (default 64)\n"
            "      --shutdown-grace SECONDS  time requests get to finish on SIGTERM (default 10)\n"
            "  -v, --verbose             log every request to stderr\n"
            "  -h, --help                this help\n");
}

static char *read_key_file(const char *path)
{
    size_t len;
    char *text = llm_cli_read_file(path, &len);
    if (!text)
        return NULL;
    text[strcspn(text, "\r\n")] = '\0';
    return text;
}

static const char *model_basename(const char *path, char *buf, size_t cap)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t n = len - start;
    if (n > 5 && strncmp(path + len - 5, ".gguf", 5) == 0)
        n -= 5;
    snprintf(buf, cap, "%.*s", (int)n, path + start);
    return buf;
}

enum {
    OPT_HOST = LLM_CLI_LONG_ONLY,
    OPT_PORT,
    OPT_ALIAS,
    OPT_API_KEY,
    OPT_API_KEY_FILE,
    OPT_CHAT_TEMPLATE,
    OPT_QUEUE,
    OPT_MAX_BODY,
    OPT_MAX_HEADER,
    OPT_MAX_PROMPT,
    OPT_MAX_TOKENS,
    OPT_MAX_N,
    OPT_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_MAX_CONN,
    OPT_GRACE,
};

const llm_cli_opt llm_serve_opts[] = {
    LLM_CLI_OPT_MODEL,
    {OPT_HOST, "host", LLM_CLI_TEXT, NULL},
    {OPT_PORT, "port", LLM_CLI_TEXT, NULL},
    {OPT_ALIAS, "alias", LLM_CLI_TEXT, NULL},
    {OPT_API_KEY, "api-key", LLM_CLI_TEXT, NULL},
    {OPT_API_KEY_FILE, "api-key-file", LLM_CLI_FILE, NULL},
    {OPT_CHAT_TEMPLATE, "chat-template", LLM_CLI_FILE, NULL},
    {'s', "slots", LLM_CLI_TEXT, NULL},
    {OPT_QUEUE, "queue", LLM_CLI_TEXT, NULL},
    {'c', "ctx", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_THREADS,
    {OPT_MAX_BODY, "max-body", LLM_CLI_TEXT, NULL},
    {OPT_MAX_HEADER, "max-header", LLM_CLI_TEXT, NULL},
    {OPT_MAX_PROMPT, "max-prompt-tokens", LLM_CLI_TEXT, NULL},
    {OPT_MAX_TOKENS, "max-tokens", LLM_CLI_TEXT, NULL},
    {OPT_MAX_N, "max-n", LLM_CLI_TEXT, NULL},
    {OPT_TIMEOUT, "timeout", LLM_CLI_TEXT, NULL},
    {OPT_IDLE_TIMEOUT, "idle-timeout", LLM_CLI_TEXT, NULL},
    {OPT_MAX_CONN, "max-connections", LLM_CLI_TEXT, NULL},
    {OPT_GRACE, "shutdown-grace", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_VERBOSE,
    LLM_CLI_OPT_END,
};

/* Reads the options into `c`: 0, 2 after a usage message, or -1 after --help. */
static int parse_options(int argc, char **argv, serve_config *c, const char **key_file,
                         const char **template_file)
{
    llm_cli_parser p;
    llm_cli_parser_init(&p, CMD, llm_serve_opts, argc, argv);
    int64_t v = 0, max_prompt = 0;
    int opt, rc = 0;
    while (rc == 0 && (opt = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (opt) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: serve_help(stdout); return -1;
        case LLM_CLI_POSITIONAL: return llm_cli_usage(CMD, "unexpected argument '%s'", p.arg);
        case 'm': c->model_path = p.arg; break;
        case OPT_HOST: c->host = p.arg; break;
        case OPT_PORT:
            if ((rc = llm_cli_value_i64(&p, 0, 65535, &v)) == 0)
                c->port = (int)v;
            break;
        case OPT_ALIAS: c->alias = p.arg; break;
        case OPT_API_KEY:
            free(c->api_key);
            c->api_key = strdup(p.arg);
            break;
        case OPT_API_KEY_FILE: *key_file = p.arg; break;
        case OPT_CHAT_TEMPLATE: *template_file = p.arg; break;
        case 's':
            if ((rc = llm_cli_value_i64(&p, 1, 256, &v)) == 0)
                c->slots = (uint32_t)v;
            break;
        case OPT_QUEUE:
            if ((rc = llm_cli_value_i64(&p, 0, 65536, &v)) == 0)
                c->queue = (uint32_t)v;
            break;
        case 'c':
            if ((rc = llm_cli_value_i64(&p, 1, 1 << 24, &v)) == 0)
                c->n_ctx = (uint32_t)v;
            break;
        case 't':
            if ((rc = llm_cli_value_threads(&p, &v)) == 0)
                c->threads = (uint32_t)v;
            break;
        case OPT_MAX_BODY:
            if ((rc = llm_cli_value_i64(&p, 64, (int64_t)1 << 40, &v)) == 0)
                c->max_body = (size_t)v;
            break;
        case OPT_MAX_HEADER:
            if ((rc = llm_cli_value_i64(&p, 1024, (int64_t)1 << 30, &v)) == 0)
                c->max_header = (size_t)v;
            break;
        case OPT_MAX_PROMPT: rc = llm_cli_value_i64(&p, 1, 1 << 24, &max_prompt); break;
        case OPT_MAX_TOKENS:
            if ((rc = llm_cli_value_i64(&p, 1, 1 << 24, &v)) == 0)
                c->limits.max_tokens = v;
            break;
        case OPT_MAX_N:
            if ((rc = llm_cli_value_i64(&p, 1, 128, &v)) == 0)
                c->limits.max_n = (int32_t)v;
            break;
        case OPT_TIMEOUT:
            if ((rc = llm_cli_value_i64(&p, 1, 86400, &v)) == 0)
                c->timeout = (unsigned)v;
            break;
        case OPT_IDLE_TIMEOUT:
            if ((rc = llm_cli_value_i64(&p, 1, 86400, &v)) == 0)
                c->idle_timeout = (unsigned)v;
            break;
        case OPT_MAX_CONN:
            if ((rc = llm_cli_value_i64(&p, 1, 65536, &v)) == 0)
                c->max_connections = (unsigned)v;
            break;
        case OPT_GRACE:
            if ((rc = llm_cli_value_i64(&p, 0, 3600, &v)) == 0)
                c->shutdown_grace = (double)v;
            break;
        case 'v': c->verbose = true; break;
        default: return llm_cli_usage(CMD, "unhandled option %s", p.spelled);
        }
    }
    if (rc != 0)
        return rc;
    if (!c->model_path)
        return llm_cli_usage(CMD, "-m MODEL is required");
    c->max_prompt_tokens = (uint32_t)max_prompt;
    return 0;
}

int llm_cmd_serve(int argc, char **argv)
{
    serve_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return llm_cli_fail(CMD, LLM_ERR_NOMEM, "starting");
    serve_config *c = &srv->cfg;
    c->host = "127.0.0.1";
    c->port = 8080;
    c->slots = 2;
    c->queue = 16;
    c->max_body = 1u << 20;
    c->max_header = 16384;
    c->timeout = 300;
    c->idle_timeout = 30;
    c->max_connections = 64;
    c->shutdown_grace = 10;
    serve_limits_init(&c->limits);
    const char *key_file = NULL, *template_file = NULL;
    int rc = parse_options(argc, argv, c, &key_file, &template_file);
    char *template_text = NULL;
    if (rc == 0 && key_file) {
        free(c->api_key);
        c->api_key = read_key_file(key_file);
        if (!c->api_key)
            rc = llm_cli_usage(CMD, "cannot read the key file '%s': %s", key_file,
                               strerror(errno));
        else if (!c->api_key[0])
            rc = llm_cli_usage(CMD, "the key file '%s' has an empty first line", key_file);
    }
    if (rc == 0 && c->api_key && !c->api_key[0])
        rc = llm_cli_usage(CMD, "--api-key is empty");
    if (rc == 0 && template_file) {
        size_t len;
        template_text = llm_cli_read_file(template_file, &len);
        if (!template_text)
            rc = llm_cli_usage(CMD, "cannot read the chat template '%s': %s", template_file,
                               strerror(errno));
        c->chat_template = template_text;
    }
    if (rc != 0) {
        free(c->api_key);
        free(template_text);
        free(srv);
        return rc < 0 ? 0 : rc;
    }

    /* signals are taken by this thread alone (sigwait below): block them before any thread */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    serve_metrics_init(&srv->metrics);
    fprintf(stderr, "llm serve: loading %s\n", c->model_path);
    llm_status st = llm_model_open(c->model_path, NULL, &srv->model);
    if (st != LLM_OK) {
        rc = llm_cli_fail(CMD, st, "opening %s", c->model_path);
        goto out;
    }
    srv->info.struct_size = sizeof srv->info;
    llm_model_get_info(srv->model, &srv->info);
    srv->tok = llm_model_tokenizer(srv->model);
    c->limits.n_vocab = srv->info.n_vocab;
    if (c->alias)
        snprintf(srv->model_id, sizeof srv->model_id, "%s", c->alias);
    else
        model_basename(c->model_path, srv->model_id, sizeof srv->model_id);
    srv->created = (int64_t)time(NULL);

    serve_engine_options eo = {.model = srv->model, .n_slots = c->slots, .queue_cap = c->queue,
                               .n_ctx = c->n_ctx, .n_threads = c->threads,
                               .metrics = &srv->metrics};
    char why[512];
    srv->engine = serve_engine_create(&eo, why, sizeof why);
    if (!srv->engine) {
        fprintf(stderr, "llm " CMD ": %s\n", why);
        rc = 1;
        goto out;
    }
    uint32_t n_ctx = serve_engine_n_ctx(srv->engine);
    if (c->max_prompt_tokens == 0 || c->max_prompt_tokens > n_ctx)
        c->max_prompt_tokens = n_ctx;
    c->limits.max_ids = c->max_prompt_tokens;
    if (!serve_http_start(srv, why, sizeof why)) {
        fprintf(stderr, "llm " CMD ": %s\n", why);
        rc = 1;
        goto out;
    }
    bool v6 = strchr(c->host, ':') != NULL;
    fprintf(stderr,
            "llm serve: listening on http://%s%s%s:%d (model '%s', %u slots of %u tokens, "
            "queue %u%s)\n",
            v6 ? "[" : "", c->host, v6 ? "]" : "", srv->port, srv->model_id, c->slots, n_ctx,
            c->queue, c->api_key ? ", API key required" : "");
    if (!c->api_key && strcmp(c->host, "127.0.0.1") != 0 && strcmp(c->host, "::1") != 0)
        fprintf(stderr, "llm serve: warning: listening beyond this machine without --api-key\n");

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "llm serve: %s: finishing the requests in flight (up to %g s)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", c->shutdown_grace);
    atomic_store(&srv->stopping, true);
    serve_http_quiesce(srv);
    double t0 = serve_now();
    serve_engine_stop(srv->engine, c->shutdown_grace);
    /* every job is finished now; their answers may still be on the way to the clients */
    double until = t0 + c->shutdown_grace;
    if (until < serve_now() + 2)
        until = serve_now() + 2;
    while (atomic_load(&srv->active) > 0 && serve_now() < until) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    serve_http_stop(srv);
    fprintf(stderr, "llm serve: stopped\n");
    rc = 0;
out:
    serve_http_stop(srv);
    serve_engine_destroy(srv->engine);
    llm_model_close(srv->model);
    serve_metrics_destroy(&srv->metrics);
    free(c->api_key);
    free(template_text);
    free(srv);
    return rc;
}
