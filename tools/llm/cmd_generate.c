/*
 * `llm generate`: stream a continuation of a prompt to stdout, and `llm logits`: write the logits
 * of every prompt position. Both use the public API only, the way a host program would.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "cli_lora.h"

static const char generate_usage[] =
    "usage: llm generate -m MODEL (-p PROMPT | -f FILE | --prompt-ids \"1 2 3\") [options]\n"
    "\n"
    "Streams a continuation of the prompt to stdout. MODEL is a GGUF file or a Hugging Face\n"
    "directory. -p tokenizes with the model's own special-token rules (a BOS for Llama);\n"
    "--prompt-ids feeds the ids exactly as given. For a T5 model the prompt is the encoder's\n"
    "input.\n"
    "\n"
    "options:\n"
    "  -n, --max-tokens N   tokens to generate (default 128)\n"
    "  --temp T             temperature; 0 = greedy (default 0.8)\n"
    "  --top-k K            (default 40; 0 = off)\n"
    "  --top-p P            (default 0.95)\n"
    "  --min-p P            (default 0.05)\n"
    "  --typical-p P        (default 1 = off)\n"
    "  --repeat-penalty R   (default 1 = off)\n"
    "  --seed S             (default 0; -1 = a random seed, printed to stderr)\n"
    "  --stop STR           stop before this text (repeatable)\n"
    "  --ignore-eos         keep going past end-of-text tokens\n"
    "  --beams N            beam search with N beams (prints the best hypothesis)\n"
    "  -t, --threads N      (default: all CPUs)\n"
    "  -c, --ctx N          context length (default: min(2048, the model's))\n"
    "  --kv f32|f16         KV cache type (default f32)\n"
    "  --context-policy error|shift\n"
    "                       at a full context: stop (default), or drop the older half of the\n"
    "                       tokens and go on\n"
    "  --preset FILE.yaml   sampling preset; flags given here override it\n"
    LLM_CLI_LORA_HELP
    "  --ids                print the generated ids (one line) instead of text\n"
    "  --json               print one JSON object per line: text, ids, finish_reason\n"
    "                       (stop, length, eos, cancelled, context), usage and timings\n"
    "  -v, --verbose        print the library's warnings and progress to stderr\n"
    "\n"
    "Options take their value as '--opt value' or '--opt=value'.\n";

static void log_to_stderr(void *user, llm_log_level level, const char *msg)
{
    (void)user;
    fprintf(stderr, "llm: %s: %s\n", level == LLM_LOG_ERROR ? "error"
                                     : level == LLM_LOG_WARN ? "warning"
                                                             : "info",
            msg);
}

typedef struct print_state {
    int ids, json;
    int first;
    /* what --json reports: every id and the whole text */
    int32_t *got_ids;
    size_t n_ids, cap_ids;
    char *text;
    size_t len, cap;
    int oom;
} print_state;

static void keep(print_state *ps, int32_t id, const char *text, size_t len)
{
    if (ps->n_ids == ps->cap_ids) {
        size_t cap = ps->cap_ids ? 2 * ps->cap_ids : 256;
        int32_t *nb = realloc(ps->got_ids, cap * sizeof *nb);
        if (!nb) {
            ps->oom = 1;
            return;
        }
        ps->got_ids = nb;
        ps->cap_ids = cap;
    }
    if (ps->len + len + 1 > ps->cap) {
        size_t cap = ps->cap ? ps->cap : 1024;
        while (ps->len + len + 1 > cap)
            cap *= 2;
        char *nb = realloc(ps->text, cap);
        if (!nb) {
            ps->oom = 1;
            return;
        }
        ps->text = nb;
        ps->cap = cap;
    }
    ps->got_ids[ps->n_ids++] = id;
    memcpy(ps->text + ps->len, text, len);
    ps->len += len;
    ps->text[ps->len] = '\0';
}

static int on_token(void *user, int32_t id, const char *text, size_t len)
{
    print_state *ps = user;
    if (ps->json) {
        if (id >= 0)
            keep(ps, id, text ? text : "", text ? len : 0);
    } else if (ps->ids) {
        if (id >= 0) {
            printf(ps->first ? "%d" : " %d", id);
            ps->first = 0;
        }
    } else if (len) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
    }
    return 0;
}

typedef struct gen_args {
    const char *model, *prompt, *file, *prompt_ids, *preset, *kv;
    int64_t n, top_k, seed, threads, ctx, beams;
    int context_policy, json;
    double temp, top_p, min_p, typical_p, repeat_penalty;
    int have_n, have_temp, have_top_k, have_top_p, have_min_p, have_typical, have_repeat;
    int have_seed, ids, ignore_eos, verbose;
    const char *stops[16];
    int n_stops;
    llm_cli_loras lora;
} gen_args;

enum {
    OPT_PROMPT_IDS = LLM_CLI_LONG_ONLY,
    OPT_PRESET,
    OPT_KV,
    OPT_STOP,
    OPT_IDS,
    OPT_IGNORE_EOS,
    OPT_TOP_K,
    OPT_SEED,
    OPT_CTX,
    OPT_BEAMS,
    OPT_TEMP,
    OPT_TOP_P,
    OPT_MIN_P,
    OPT_TYPICAL_P,
    OPT_REPEAT_PENALTY,
    OPT_CONTEXT_POLICY,
    OPT_JSON,
};

const llm_cli_opt llm_generate_opts[] = {
    LLM_CLI_OPT_MODEL,
    {'p', "prompt", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_FILE,
    {OPT_PROMPT_IDS, "prompt-ids", LLM_CLI_TEXT, NULL},
    {'n', "max-tokens", LLM_CLI_TEXT, NULL},
    {OPT_TEMP, "temp", LLM_CLI_TEXT, NULL},
    {OPT_TOP_K, "top-k", LLM_CLI_TEXT, NULL},
    {OPT_TOP_P, "top-p", LLM_CLI_TEXT, NULL},
    {OPT_MIN_P, "min-p", LLM_CLI_TEXT, NULL},
    {OPT_TYPICAL_P, "typical-p", LLM_CLI_TEXT, NULL},
    {OPT_REPEAT_PENALTY, "repeat-penalty", LLM_CLI_TEXT, NULL},
    {OPT_SEED, "seed", LLM_CLI_TEXT, NULL},
    {OPT_STOP, "stop", LLM_CLI_TEXT, NULL},
    {OPT_IGNORE_EOS, "ignore-eos", LLM_CLI_FLAG, NULL},
    {OPT_BEAMS, "beams", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_THREADS,
    {'c', "ctx", LLM_CLI_TEXT, NULL},
    {OPT_KV, "kv", LLM_CLI_WORDS, "f32 f16"},
    {OPT_CONTEXT_POLICY, "context-policy", LLM_CLI_WORDS, "error shift"},
    {OPT_PRESET, "preset", LLM_CLI_FILE, NULL},
    LLM_CLI_OPT_LORA,
    {OPT_IDS, "ids", LLM_CLI_FLAG, NULL},
    {OPT_JSON, "json", LLM_CLI_FLAG, NULL},
    LLM_CLI_OPT_VERBOSE,
    LLM_CLI_OPT_END,
};

/* Parses argv into a; returns 0, -1 after --help, or the exit code of a usage error. */
static int parse_args(const char *cmd, int argc, char **argv, gen_args *a)
{
    memset(a, 0, sizeof *a);
    a->n = 128;
    llm_cli_parser p;
    llm_cli_parser_init(&p, cmd, llm_generate_opts, argc, argv);
    int c, rc = 0, kv = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: fputs(generate_usage, stdout); return -1;
        case LLM_CLI_POSITIONAL: return llm_cli_usage(cmd, "unexpected argument '%s'", p.arg);
        case 'm': a->model = p.arg; break;
        case 'p': a->prompt = p.arg; break;
        case 'f': a->file = p.arg; break;
        case OPT_PROMPT_IDS: a->prompt_ids = p.arg; break;
        case OPT_PRESET: a->preset = p.arg; break;
        case LLM_CLI_LORA_ID: rc = llm_cli_lora_arg(&a->lora, &p); break;
        case OPT_KV:
            rc = llm_cli_value_word(&p, "f32 f16", &kv);
            a->kv = kv ? "f16" : "f32";
            break;
        case OPT_STOP:
            if (a->n_stops == 16)
                return llm_cli_usage(cmd, "at most 16 --stop strings");
            a->stops[a->n_stops++] = p.arg;
            break;
        case OPT_IDS: a->ids = 1; break;
        case OPT_JSON: a->json = 1; break;
        case OPT_CONTEXT_POLICY:
            rc = llm_cli_value_word(&p, "error shift", &a->context_policy);
            break;
        case OPT_IGNORE_EOS: a->ignore_eos = 1; break;
        case 'v': a->verbose = 1; break;
        case 'n': rc = llm_cli_value_i64(&p, 0, 1 << 24, &a->n), a->have_n = 1; break;
        case OPT_TOP_K: rc = llm_cli_value_i64(&p, 0, 1 << 30, &a->top_k), a->have_top_k = 1; break;
        case OPT_SEED:
            rc = llm_cli_value_i64(&p, INT64_MIN, INT64_MAX, &a->seed), a->have_seed = 1;
            break;
        case 't': rc = llm_cli_value_threads(&p, &a->threads); break;
        case 'c': rc = llm_cli_value_i64(&p, 1, 1 << 24, &a->ctx); break;
        case OPT_BEAMS: rc = llm_cli_value_i64(&p, 1, 64, &a->beams); break;
        case OPT_TEMP: rc = llm_cli_value_f64(&p, &a->temp), a->have_temp = 1; break;
        case OPT_TOP_P: rc = llm_cli_value_f64(&p, &a->top_p), a->have_top_p = 1; break;
        case OPT_MIN_P: rc = llm_cli_value_f64(&p, &a->min_p), a->have_min_p = 1; break;
        case OPT_TYPICAL_P: rc = llm_cli_value_f64(&p, &a->typical_p), a->have_typical = 1; break;
        case OPT_REPEAT_PENALTY:
            rc = llm_cli_value_f64(&p, &a->repeat_penalty), a->have_repeat = 1;
            break;
        default: return llm_cli_usage(cmd, "unhandled option %s", p.spelled);
        }
    }
    if (rc)
        return rc;
    if (a->ids && a->json)
        return llm_cli_usage(cmd, "--ids and --json both choose the output: give one");
    if (!a->model || !*a->model)
        return llm_cli_usage(cmd, "no model given: pass -m with any GGUF file of the GPT-2, Llama "
                                  "or T5 architectures (as llama.cpp's converters write them) or "
                                  "a Hugging Face model directory");
    int sources = !!a->prompt + !!a->file + !!a->prompt_ids;
    if (sources != 1)
        return llm_cli_usage(cmd, "give exactly one of -p PROMPT, -f FILE, --prompt-ids IDS");
    return 0;
}

/* Opens the model and a session configured from the arguments. Returns an exit code. */
static int open_session(const char *cmd, gen_args *a, llm_model **m, llm_session **s)
{
    llm_status st = llm_model_open(a->model, NULL, m);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot open model '%s'", a->model);
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_ctx = (uint32_t)a->ctx;
    so.n_threads = (uint32_t)a->threads;
    so.kv_type = a->kv && !strcmp(a->kv, "f16") ? LLM_KV_F16 : LLM_KV_F32;
    so.context_policy = a->context_policy ? LLM_CONTEXT_SHIFT : LLM_CONTEXT_ERROR;
    st = llm_session_create(*m, &so, s);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot create a session");
    return llm_cli_lora_open(&a->lora, cmd, *m, *s);
}

static int configure(const char *cmd, llm_session *s, const gen_args *a)
{
    llm_status st = LLM_OK;
    if (a->preset && (st = llm_session_load_preset(s, a->preset)) != LLM_OK)
        return llm_cli_fail(cmd, st, "preset '%s'", a->preset);
    if (!a->preset || a->have_n)
        st = llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, a->n);
    if (st == LLM_OK && a->have_temp)
        st = llm_session_set_float(s, LLM_PARAM_TEMPERATURE, a->temp);
    if (st == LLM_OK && a->have_top_k)
        st = llm_session_set_int(s, LLM_PARAM_TOP_K, a->top_k);
    if (st == LLM_OK && a->have_top_p)
        st = llm_session_set_float(s, LLM_PARAM_TOP_P, a->top_p);
    if (st == LLM_OK && a->have_min_p)
        st = llm_session_set_float(s, LLM_PARAM_MIN_P, a->min_p);
    if (st == LLM_OK && a->have_typical)
        st = llm_session_set_float(s, LLM_PARAM_TYPICAL_P, a->typical_p);
    if (st == LLM_OK && a->have_repeat)
        st = llm_session_set_float(s, LLM_PARAM_REPEAT_PENALTY, a->repeat_penalty);
    if (st == LLM_OK && a->have_seed)
        st = llm_session_set_int(s, LLM_PARAM_SEED, a->seed);
    if (st == LLM_OK && a->ignore_eos)
        st = llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    if (st == LLM_OK && a->beams)
        st = llm_session_set_int(s, LLM_PARAM_NUM_BEAMS, a->beams);
    for (int i = 0; st == LLM_OK && i < a->n_stops; i++)
        st = llm_session_add_stop(s, a->stops[i]);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "invalid generation setting");
    return 0;
}

/* Feeds the prompt: ids as given, or text tokenized with the model's special-token rules. */
static int feed(const char *cmd, llm_session *s, const llm_model *m, const gen_args *a,
                size_t *n_prompt)
{
    int32_t *ids = NULL;
    size_t n = 0;
    llm_status st;
    if (a->prompt_ids) {
        if (!llm_cli_parse_ids(a->prompt_ids, &ids, &n) || n == 0)
            return llm_cli_usage(cmd, "--prompt-ids takes space-separated token ids, got '%s'",
                                 a->prompt_ids);
    } else {
        size_t len = 0;
        char *text = NULL;
        if (a->file) {
            text = llm_cli_read_file(a->file, &len);
            if (!text) {
                fprintf(stderr, "llm %s: cannot read prompt file '%s'\n", cmd, a->file);
                return 1;
            }
        }
        const char *src = text ? text : a->prompt;
        len = text ? len : strlen(src);
        const llm_tokenizer *tok = llm_model_tokenizer(m);
        st = llm_tokenizer_encode(tok, src, len, LLM_ENCODE_ADD_SPECIAL, NULL, 0, &n);
        ids = malloc((n ? n : 1) * sizeof *ids);
        if (ids)
            st = llm_tokenizer_encode(tok, src, len, LLM_ENCODE_ADD_SPECIAL, ids, n, &n);
        free(text);
        if (!ids || st != LLM_OK) {
            free(ids);
            return llm_cli_fail(cmd, st, "cannot tokenize the prompt");
        }
        if (n == 0) {
            free(ids);
            return llm_cli_usage(cmd, "the prompt has no tokens");
        }
    }
    *n_prompt = n;
    st = llm_session_feed_prompt(s, ids, n, NULL);
    free(ids);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot evaluate the prompt");
    return 0;
}

/* The finish reasons of OpenAI-style APIs, plus the two a local model adds. */
static const char *finish_reason(llm_stop_reason r)
{
    switch (r) {
    case LLM_STOP_EOS: return "eos";
    case LLM_STOP_MAX_TOKENS: return "length";
    case LLM_STOP_STRING: return "stop";
    case LLM_STOP_CANCELLED: return "cancelled";
    case LLM_STOP_CONTEXT_FULL: return "context";
    default: return "none";
    }
}

/* One line of --json: the result of a generation, with llama.cpp server's timing names. */
static int print_json(const print_state *ps, llm_stop_reason reason, size_t n_prompt,
                      double prompt_s, double gen_s, int64_t seed)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < ps->n_ids; i++)
        json_array_append_new(ids, json_integer(ps->got_ids[i]));
    const double n_gen = (double)ps->n_ids;
    json_t *doc = json_pack(
        "{s:s%, s:o, s:s, s:I, s:{s:I, s:I, s:I}, s:{s:I, s:f, s:f, s:I, s:f, s:f}}", "text",
        ps->text ? ps->text : "", ps->len, "ids", ids, "finish_reason", finish_reason(reason), "seed",
        (json_int_t)seed, "usage", "prompt_tokens", (json_int_t)n_prompt, "completion_tokens",
        (json_int_t)ps->n_ids, "total_tokens", (json_int_t)(n_prompt + ps->n_ids), "timings",
        "prompt_n", (json_int_t)n_prompt, "prompt_ms", prompt_s * 1e3, "prompt_per_second",
        prompt_s > 0 ? (double)n_prompt / prompt_s : 0.0, "predicted_n", (json_int_t)ps->n_ids,
        "predicted_ms", gen_s * 1e3, "predicted_per_second", gen_s > 0 ? n_gen / gen_s : 0.0);
    char *line = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!line) {
        fprintf(stderr, "llm generate: cannot format the JSON result (out of memory)\n");
        return 1;
    }
    puts(line);
    free(line);
    return 0;
}

/* A seed for --seed -1: 32 random bits, small enough to type back in. */
static int64_t random_seed(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint32_t)(llm_cli_now() * 1e9);
    return (int64_t)v;
}

int llm_cmd_generate(int argc, char **argv)
{
    const char *cmd = "generate";
    gen_args a;
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    llm_set_logger(log_to_stderr, NULL, a.verbose ? LLM_LOG_INFO : LLM_LOG_WARN);
    llm_model *m = NULL;
    llm_session *s = NULL;
    if (a.have_seed && a.seed == -1) {
        a.seed = random_seed();
        fprintf(stderr, "llm %s: seed %lld\n", cmd, (long long)a.seed);
    }
    rc = open_session(cmd, &a, &m, &s);
    if (!rc)
        rc = configure(cmd, s, &a);
    int64_t seed = 0;
    if (!rc)
        llm_session_get_int(s, LLM_PARAM_SEED, &seed);
    size_t n_prompt = 0;
    const double t0 = llm_cli_now();
    if (!rc)
        rc = feed(cmd, s, m, &a, &n_prompt);
    if (!rc && a.beams > 1) {
        rc = llm_cli_beam_generate(s, a.ids, a.json);
    } else if (!rc) {
        print_state ps = {.ids = a.ids, .json = a.json, .first = 1};
        const double t1 = llm_cli_now();
        llm_status st = llm_session_generate(s, on_token, &ps);
        const double t2 = llm_cli_now();
        const llm_stop_reason reason = llm_session_stop_reason(s);
        if (!a.json)
            putchar('\n');
        /* a full context ends the text like max_tokens does; what came is kept */
        if (st == LLM_ERR_CONTEXT_FULL) {
            fprintf(stderr, "llm %s: the context is full (%zu tokens); --ctx N makes it longer, "
                            "--context-policy shift drops the older half and goes on\n",
                    cmd, llm_session_n_tokens(s));
            st = LLM_OK;
        }
        if (st == LLM_OK && ps.oom)
            rc = llm_cli_fail(cmd, LLM_ERR_NOMEM, "keeping the generated text");
        else if (st == LLM_OK && a.json)
            rc = print_json(&ps, reason, n_prompt, t1 - t0, t2 - t1, seed);
        else if (st != LLM_OK)
            rc = llm_cli_fail(cmd, st, "generation stopped");
        free(ps.got_ids);
        free(ps.text);
    }
    llm_session_destroy(s);
    llm_cli_lora_free(&a.lora);
    llm_model_close(m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* llm logits                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

const llm_cli_opt llm_logits_opts[] = {
    LLM_CLI_OPT_MODEL, {OPT_PROMPT_IDS, "prompt-ids", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_OUTPUT, LLM_CLI_OPT_THREADS,
    {'c', "ctx", LLM_CLI_TEXT, NULL}, LLM_CLI_OPT_LORA, LLM_CLI_OPT_END,
};

static const char logits_usage[] =
    "usage: llm logits -m MODEL --prompt-ids \"1 2 3\" -o OUT.f32 [-t N] [--ctx N]\n"
    "                  [--lora FILE[:SCALE]]...\n"
    "\n"
    "Evaluates the ids exactly as given and writes the logits of every position as\n"
    "little-endian float32 [n_tokens][n_vocab].\n"
    "\n"
    "options:\n"
    LLM_CLI_LORA_HELP;

int llm_cmd_logits(int argc, char **argv)
{
    const char *cmd = "logits";
    const char *model = NULL, *ids_arg = NULL, *out = NULL;
    int64_t threads = 0, ctx = 0;
    llm_cli_loras lora = {0};
    llm_cli_parser p;
    llm_cli_parser_init(&p, cmd, llm_logits_opts, argc, argv);
    int c, rc = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: fputs(logits_usage, stdout); return 0;
        case 'm': model = p.arg; break;
        case OPT_PROMPT_IDS: ids_arg = p.arg; break;
        case 'o': out = p.arg; break;
        case 't': rc = llm_cli_value_threads(&p, &threads); break;
        case 'c': rc = llm_cli_value_i64(&p, 1, 1 << 24, &ctx); break;
        case LLM_CLI_LORA_ID: rc = llm_cli_lora_arg(&lora, &p); break;
        default:
            llm_cli_lora_free(&lora);
            return llm_cli_usage(cmd, "unexpected argument '%s'", p.arg ? p.arg : "");
        }
    }
    if (!rc && (!model || !ids_arg || !out))
        rc = llm_cli_usage(cmd, "-m, --prompt-ids and -o are required");
    if (rc) {
        llm_cli_lora_free(&lora);
        return rc;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (!llm_cli_parse_ids(ids_arg, &ids, &n) || n == 0) {
        free(ids);
        llm_cli_lora_free(&lora);
        return llm_cli_usage(cmd, "--prompt-ids takes space-separated token ids");
    }
    llm_model *m = NULL;
    llm_session *s = NULL;
    float *logits = NULL;
    llm_status st = llm_model_open(model, NULL, &m);
    if (st != LLM_OK) {
        rc = llm_cli_fail(cmd, st, "cannot open model '%s'", model);
        goto done;
    }
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_threads = (uint32_t)threads;
    so.n_ctx = ctx ? (uint32_t)ctx : 0;
    if (!ctx) {
        llm_model_info mi = {.struct_size = sizeof mi};
        llm_model_get_info(m, &mi);
        if (n > mi.n_ctx_train)
            so.n_ctx = (uint32_t)n;
    }
    st = llm_session_create(m, &so, &s);
    if (st != LLM_OK) {
        rc = llm_cli_fail(cmd, st, "cannot create a session");
        goto done;
    }
    if ((rc = llm_cli_lora_open(&lora, cmd, m, s)) != 0)
        goto done;
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    size_t V = info.n_vocab;
    logits = malloc(n * V * sizeof *logits);
    if (!logits) {
        fprintf(stderr, "llm %s: out of memory\n", cmd);
        rc = 1;
        goto done;
    }
    st = llm_session_feed(s, ids, n, logits, n * V);
    if (st != LLM_OK) {
        rc = llm_cli_fail(cmd, st, "cannot evaluate the ids");
        goto done;
    }
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(logits, sizeof *logits, n * V, f) != n * V || fclose(f) != 0) {
        fprintf(stderr, "llm %s: cannot write '%s'\n", cmd, out);
        rc = 1;
        goto done;
    }
    fprintf(stderr, "wrote %zu x %zu logits to %s\n", n, V, out);
done:
    free(ids);
    free(logits);
    llm_session_destroy(s);
    llm_cli_lora_free(&lora);
    llm_model_close(m);
    return rc;
}
