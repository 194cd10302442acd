/*
 * Option parsing for every subcommand of `llm`: a command describes its options in one table
 * (llm_cli_opt), this file turns the table into getopt_long's short and long option lists and
 * hands the options back one at a time, with the value parsing and the usage messages every
 * command shares. The same tables feed `llm completion bash` (cmd_completion.c), so an option
 * added to a command is completed without further work.
 *
 * getopt_long runs in its in-order mode ("-" first in the short list): positional arguments come
 * back where they stand, and argv is never permuted, so "llm embed -m M text -t 2" keeps the text
 * where the user put it. Errors are reported here (opterr = 0), in the program's own words.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int is_short(int id)
{
    return id > 0 && id < 128 && isalnum(id);
}

void llm_cli_parser_init(llm_cli_parser *p, const char *cmd, const llm_cli_opt *opts, int argc,
                         char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->opts = opts;
    p->argc = argc;
    p->argv = argv;
    p->ok = 1;
    /* "-": positional arguments in order; ":": a missing value returns ':', not '?' */
    size_t ns = 0, nl = 0;
    p->shortopts[ns++] = '-';
    p->shortopts[ns++] = ':';
    p->shortopts[ns++] = 'h';
    p->longopts[nl++] = (struct option){"help", no_argument, NULL, LLM_CLI_HELP};
    for (const llm_cli_opt *o = opts; o && o->name; o++) {
        if (nl > LLM_CLI_MAX_OPTS) {
            fprintf(stderr, "llm %s: more than %d options in its table\n", cmd, LLM_CLI_MAX_OPTS);
            p->ok = 0;
            break;
        }
        const int has_arg = o->value == LLM_CLI_FLAG ? no_argument : required_argument;
        p->longopts[nl++] = (struct option){o->name, has_arg, NULL, o->id};
        if (is_short(o->id)) {
            p->shortopts[ns++] = (char)o->id;
            if (has_arg == required_argument)
                p->shortopts[ns++] = ':';
        }
    }
    p->shortopts[ns] = '\0';
    p->longopts[nl] = (struct option){NULL, 0, NULL, 0};
    optind = 0; /* glibc: 0 starts a fresh scan (and rereads the short list) */
    opterr = 0;
}

/* The long name of option `id` (NULL for a short-only letter). */
static const char *long_name(const llm_cli_parser *p, int id)
{
    for (const struct option *o = p->longopts; o->name; o++)
        if (o->val == id)
            return o->name;
    return NULL;
}

int llm_cli_next(llm_cli_parser *p)
{
    if (!p->ok)
        return LLM_CLI_ERROR;
    p->arg = NULL;
    p->spelled[0] = '\0';
    if (p->after_dashes) {
        if (optind >= p->argc)
            return LLM_CLI_DONE;
        p->arg = p->argv[optind++];
        return LLM_CLI_POSITIONAL;
    }
    int li = -1;
    const int prev = optind ? optind : 1;
    const int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, &li);
    if (c == -1) {
        /* in-order mode stops early only at "--": what follows is positional */
        if (optind < p->argc) {
            p->after_dashes = 1;
            return llm_cli_next(p);
        }
        return LLM_CLI_DONE;
    }
    if (c == 1) {
        p->arg = optarg;
        return LLM_CLI_POSITIONAL;
    }
    /* the element that held the option, for messages */
    const char *elem = prev < p->argc ? p->argv[prev] : "";
    if (c == '?' || c == ':') {
        const int is_long = elem[0] == '-' && elem[1] == '-';
        if (c == ':') {
            if (is_long) {
                size_t n = strcspn(elem, "=");
                snprintf(p->spelled, sizeof p->spelled, "%.*s", (int)n, elem);
            } else {
                snprintf(p->spelled, sizeof p->spelled, "-%c", optopt);
            }
            return llm_cli_usage(p->cmd, "%s needs a value", p->spelled), LLM_CLI_ERROR;
        }
        if (is_long) {
            const size_t n = strcspn(elem, "=");
            /* a prefix of two or more long names is ambiguous; one that takes no value got one */
            int matches = 0, exact = 0;
            for (const struct option *o = p->longopts; o->name; o++)
                if (!strncmp(o->name, elem + 2, n - 2)) {
                    matches++;
                    exact |= strlen(o->name) == n - 2;
                }
            if ((matches == 1 || exact) && elem[n] == '=')
                return llm_cli_usage(p->cmd, "%.*s takes no value", (int)n, elem), LLM_CLI_ERROR;
            if (matches > 1)
                return llm_cli_usage(p->cmd, "ambiguous option '%.*s'", (int)n, elem),
                       LLM_CLI_ERROR;
            return llm_cli_usage(p->cmd, "unknown option '%.*s'", (int)n, elem), LLM_CLI_ERROR;
        }
        if (optopt)
            return llm_cli_usage(p->cmd, "unknown option '-%c'", optopt), LLM_CLI_ERROR;
        return llm_cli_usage(p->cmd, "unknown option '%s'", elem), LLM_CLI_ERROR;
    }
    if (li >= 0) {
        snprintf(p->spelled, sizeof p->spelled, "--%s", p->longopts[li].name);
    } else if (is_short(c)) {
        snprintf(p->spelled, sizeof p->spelled, "-%c", c);
    } else {
        const char *ln = long_name(p, c);
        snprintf(p->spelled, sizeof p->spelled, "--%s", ln ? ln : "?");
    }
    p->arg = optarg;
    return c;
}

int llm_cli_value_i64(const llm_cli_parser *p, int64_t lo, int64_t hi, int64_t *out)
{
    if (llm_cli_parse_i64(p->arg, lo, hi, out))
        return 0;
    return llm_cli_usage(p->cmd, "%s needs an integer in [%lld, %lld], got '%s'", p->spelled,
                         (long long)lo, (long long)hi, p->arg ? p->arg : "");
}

int llm_cli_value_f64(const llm_cli_parser *p, double *out)
{
    if (llm_cli_parse_f64(p->arg, out))
        return 0;
    return llm_cli_usage(p->cmd, "%s needs a number, got '%s'", p->spelled, p->arg ? p->arg : "");
}

int llm_cli_online_cpus(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1 << 16 ? 1 << 16 : (int)n;
}

int llm_cli_value_threads(const llm_cli_parser *p, int64_t *out)
{
    int rc = llm_cli_value_i64(p, 1, INT32_MAX, out);
    if (rc)
        return rc;
    const int cpus = llm_cli_online_cpus();
    if (*out > cpus) {
        fprintf(stderr,
                "llm %s: warning: %s %lld is more than the %d online CPUs; using %d threads\n",
                p->cmd, p->spelled, (long long)*out, cpus, cpus);
        *out = cpus;
    }
    return 0;
}

int llm_cli_value_word(const llm_cli_parser *p, const char *words, int *out)
{
    const char *w = words;
    const size_t len = p->arg ? strlen(p->arg) : 0;
    for (int i = 0; *w; i++) {
        const size_t n = strcspn(w, " ");
        if (p->arg && n == len && !strncmp(w, p->arg, n)) {
            *out = i;
            return 0;
        }
        w += n;
        while (*w == ' ')
            w++;
    }
    return llm_cli_usage(p->cmd, "%s takes one of: %s; got '%s'", p->spelled, words,
                         p->arg ? p->arg : "");
}
