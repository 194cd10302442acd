/*
 * `llm chat`: an interactive conversation with a chat model. Each turn renders the whole history
 * through the model's chat template (or --template), feeds it (the session reuses the prefix it
 * already holds, so only the new turn is evaluated) and streams the reply to stdout. Prompts and
 * notices go to stderr, so piping stdin gives the replies alone on stdout. Lines starting with '/'
 * are commands: /reset, /save FILE, /quit, /help.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_TEMPLATE = LLM_CLI_LONG_ONLY, OPT_SYSTEM, OPT_TEMP, OPT_SEED, OPT_CTX, OPT_NOW };

const llm_cli_opt llm_chat_opts[] = {
    LLM_CLI_OPT_MODEL,
    LLM_CLI_OPT_THREADS,
    {OPT_TEMPLATE, "template", LLM_CLI_FILE, NULL},
    {OPT_SYSTEM, "system", LLM_CLI_TEXT, NULL},
    {'n', "max-tokens", LLM_CLI_TEXT, NULL},
    {OPT_TEMP, "temp", LLM_CLI_TEXT, NULL},
    {OPT_SEED, "seed", LLM_CLI_TEXT, NULL},
    {OPT_CTX, "ctx", LLM_CLI_TEXT, NULL},
    {OPT_NOW, "now", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_END,
};

static void chat_help(void)
{
    printf("usage: llm chat -m MODEL [--template FILE] [--system TEXT] [-n N] [--temp T]\n"
           "                [--seed S] [--ctx N] [-t THREADS] [--now ISO-TIME]\n\n"
           "Talks with a chat model: type a message and press Enter; the reply streams back.\n"
           "  -m MODEL          a chat model (GGUF or Hugging Face folder) with a chat template\n"
           "  --template FILE   a Jinja2 chat template instead of the model's own\n"
           "  --system TEXT     a system message that opens the conversation\n"
           "  -n N              at most N tokens per reply (default 512)\n"
           "  --temp T          sampling temperature (default: the library's)\n"
           "  --seed S          sampling seed, for repeatable replies\n"
           "  --ctx N           context length in tokens (default: the model's)\n"
           "  -t THREADS        threads (default: all cores)\n"
           "  --now ISO-TIME    the time the template's strftime_now() reports\n\n"
           "commands: /reset (forget the conversation), /save FILE (write it as JSON),\n"
           "          /quit (or end of input), /help\n");
}

typedef struct reply {
    char *text;
    size_t len, cap;
    int oom;
} reply;

static int on_token(void *user, int32_t id, const char *text, size_t len)
{
    (void)id;
    reply *r = user;
    if (!len)
        return 0;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->cap ? r->cap * 2 : 256) + len;
        char *t = realloc(r->text, cap);
        if (!t) {
            r->oom = 1;
            return 0;
        }
        r->text = t;
        r->cap = cap;
    }
    memcpy(r->text + r->len, text, len);
    r->len += len;
    r->text[r->len] = '\0';
    return 0;
}

/* The text of a special token (malloc'ed), or NULL when the model has none. */
static char *special_text(const llm_model *m, llm_special_token which)
{
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    int32_t id = llm_tokenizer_special(tok, which);
    size_t len = 0;
    const char *p = id >= 0 ? llm_tokenizer_piece(tok, id, &len) : NULL;
    if (!p)
        return NULL;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

static json_t *new_history(const char *system)
{
    json_t *h = json_array();
    if (h && system)
        json_array_append_new(h, json_pack("{s:s,s:s}", "role", "system", "content", system));
    return h;
}

/* Writes the conversation to `path` through a temporary name, so a failed write leaves no half
 * file behind. */
static int save_history(const json_t *h, const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return -1;
    snprintf(tmp, n + 16, "%s.tmp%ld", path, (long)getpid());
    int rc = json_dump_file(h, tmp, JSON_INDENT(2));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0)
        remove(tmp);
    free(tmp);
    return rc;
}

/* One assistant turn: render, tokenize, feed, generate. Returns 0, or 1 after a message (the
 * conversation goes on). */
static int turn(llm_session *s, const llm_model *m, const char *tpl, json_t *history,
                const llm_chat_options *co)
{
    char *msgs = json_dumps(history, JSON_COMPACT);
    char *prompt = NULL;
    size_t plen = 0;
    llm_status st = msgs ? (tpl ? llm_chat_template_render(tpl, msgs, co, &prompt, &plen)
                                : llm_model_chat_render(m, msgs, co, &prompt, &plen))
                         : LLM_ERR_NOMEM;
    free(msgs);
    if (st == LLM_ERR_STATE) {   /* raise_exception(): the template's own words */
        fprintf(stderr, "llm chat: the chat template rejects the conversation: %s\n",
                llm_last_error());
        return 1;
    }
    if (st != LLM_OK)
        return llm_cli_fail("chat", st, "the chat template failed");
    /* The rendering holds the special tokens as text (BOS included): parse them, add none. */
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    size_t n = 0;
    st = llm_tokenizer_encode(tok, prompt, plen, LLM_ENCODE_PARSE_SPECIAL, NULL, 0, &n);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (st == LLM_OK && !ids)
        st = LLM_ERR_NOMEM;
    if (st == LLM_OK)
        st = llm_tokenizer_encode(tok, prompt, plen, LLM_ENCODE_PARSE_SPECIAL, ids, n, &n);
    llm_free(prompt);
    if (st == LLM_OK)
        st = llm_session_feed_prompt(s, ids, n, NULL);
    free(ids);
    if (st == LLM_ERR_CONTEXT_FULL || st == LLM_ERR_TOO_LONG) {
        fprintf(stderr, "llm chat: the conversation no longer fits the context (%zu tokens): "
                        "/reset starts over, --ctx N makes the context longer\n", n);
        return 1;
    }
    if (st != LLM_OK)
        return llm_cli_fail("chat", st, "feeding the conversation failed");
    reply r = {0};
    st = llm_session_generate(s, on_token, &r);
    putchar('\n');
    fflush(stdout);
    if (st == LLM_ERR_CONTEXT_FULL) {
        fprintf(stderr, "llm chat: the context is full: the reply was cut; /reset starts over\n");
        st = LLM_OK;
    }
    if (st == LLM_OK && r.oom)
        st = LLM_ERR_NOMEM;
    if (st == LLM_OK)
        json_array_append_new(history, json_pack("{s:s,s:s%}", "role", "assistant", "content",
                                                 r.text ? r.text : "", r.len));
    free(r.text);
    return st == LLM_OK ? 0 : llm_cli_fail("chat", st, "generation failed");
}

int llm_cmd_chat(int argc, char **argv)
{
    const char *model = NULL, *tpl_path = NULL, *system = NULL;
    int64_t max_tokens = 512, seed = 0, ctx = 0, threads = 0;
    double temp = 0;
    int have_temp = 0, have_seed = 0, rc = 0;
    llm_chat_options co;
    llm_chat_options_init(&co);
    co.add_generation_prompt = 1;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "chat", llm_chat_opts, argc, argv);
    int c;
    while (!rc && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: chat_help(); return 0;
        case 'm': model = p.arg; break;
        case 't': rc = llm_cli_value_threads(&p, &threads); break;
        case 'n': rc = llm_cli_value_i64(&p, 1, 1 << 24, &max_tokens); break;
        case OPT_TEMPLATE: tpl_path = p.arg; break;
        case OPT_SYSTEM: system = p.arg; break;
        case OPT_TEMP: rc = llm_cli_value_f64(&p, &temp), have_temp = 1; break;
        case OPT_SEED: rc = llm_cli_value_i64(&p, 0, INT64_MAX, &seed), have_seed = 1; break;
        case OPT_CTX: rc = llm_cli_value_i64(&p, 1, 1 << 24, &ctx); break;
        case OPT_NOW: co.now = p.arg; break;
        case LLM_CLI_POSITIONAL: return llm_cli_usage("chat", "unexpected argument '%s'", p.arg);
        default: return llm_cli_usage("chat", "unhandled option %s", p.spelled);
        }
    }
    if (rc)
        return rc;
    if (!model)
        return llm_cli_usage("chat", "-m MODEL is required");
    char *tpl = NULL;
    if (tpl_path) {
        size_t len;
        tpl = llm_cli_read_file(tpl_path, &len);
        if (!tpl) {
            fprintf(stderr, "llm chat: cannot read template '%s'\n", tpl_path);
            return 1;
        }
    }
    llm_model *m = NULL;
    llm_session *s = NULL;
    json_t *history = NULL;
    char *line = NULL, *bos = NULL, *eos = NULL;
    size_t line_cap = 0;
    llm_status st = llm_model_open(model, NULL, &m);
    if (st != LLM_OK) {
        rc = llm_cli_fail("chat", st, "cannot open model '%s'", model);
        goto done;
    }
    if (!tpl && !llm_model_chat_template(m)) {
        fprintf(stderr, "llm chat: '%s' has no chat template: give one with --template FILE\n",
                model);
        rc = 1;
        goto done;
    }
    /* with --template the model's BOS/EOS texts are still what bos_token/eos_token mean */
    if (tpl) {
        bos = special_text(m, LLM_TOKEN_BOS);
        eos = special_text(m, LLM_TOKEN_EOS);
        co.bos_token = bos;
        co.eos_token = eos;
    }
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_ctx = (uint32_t)ctx;
    so.n_threads = (uint32_t)threads;
    st = llm_session_create(m, &so, &s);
    if (st == LLM_OK)
        st = llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, max_tokens);
    if (st == LLM_OK && have_temp)
        st = llm_session_set_float(s, LLM_PARAM_TEMPERATURE, (float)temp);
    if (st == LLM_OK && have_seed)
        st = llm_session_set_int(s, LLM_PARAM_SEED, seed);
    if (st != LLM_OK) {
        rc = llm_cli_fail("chat", st, "cannot set up the session");
        goto done;
    }
    history = new_history(system);
    if (!history) {
        rc = llm_cli_fail("chat", LLM_ERR_NOMEM, "starting the conversation");
        goto done;
    }
    int tty = isatty(STDIN_FILENO);
    if (tty)
        fprintf(stderr, "chatting with %s; /help lists the commands\n", model);
    for (;;) {
        if (tty)
            fputs("> ", stderr);
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0)
            break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        if (!strcmp(line, "/quit") || !strcmp(line, "/exit"))
            break;
        if (!strcmp(line, "/help")) {
            fprintf(stderr, "/reset  forget the conversation\n/save FILE  write it as JSON\n"
                            "/quit  leave\n");
            continue;
        }
        if (!strcmp(line, "/reset")) {
            json_decref(history);
            history = new_history(system);
            if (!history) {
                rc = llm_cli_fail("chat", LLM_ERR_NOMEM, "starting over");
                break;
            }
            llm_session_reset(s);
            fprintf(stderr, "(the conversation starts over)\n");
            continue;
        }
        if (!strncmp(line, "/save", 5) && (line[5] == ' ' || line[5] == '\0')) {
            const char *path = line + 5;
            while (*path == ' ')
                path++;
            if (!*path)
                fprintf(stderr, "usage: /save FILE\n");
            else if (save_history(history, path) != 0)
                fprintf(stderr, "llm chat: cannot write '%s'\n", path);
            else
                fprintf(stderr, "(saved %zu messages to %s)\n", json_array_size(history), path);
            continue;
        }
        if (line[0] == '/') {
            fprintf(stderr, "unknown command '%s' (/help lists them)\n", line);
            continue;
        }
        json_t *msg = json_pack("{s:s,s:s}", "role", "user", "content", line);
        if (!msg) {
            fprintf(stderr, "llm chat: the message is not valid UTF-8\n");
            continue;
        }
        json_array_append_new(history, msg);
        if (turn(s, m, tpl, history, &co) != 0)   /* the failed turn is forgotten */
            json_array_remove(history, json_array_size(history) - 1);
    }
done:
    free(line);
    json_decref(history);
    llm_session_destroy(s);
    llm_model_close(m);
    free(tpl);
    free(bos);
    free(eos);
    return rc;
}
