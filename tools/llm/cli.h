/*
 * Shared pieces of the `llm` program: the subcommand signature and small helpers for argument
 * parsing and error reporting. Every subcommand prints results to stdout, errors to stderr, and
 * returns the process exit code (0 success, 1 failure, 2 usage error).
 */
#ifndef LLM_TOOLS_CLI_H
#define LLM_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

typedef int (*llm_cli_cmd_fn)(int argc, char **argv);

/* ---------------------------------------------------------------------------------------------- */
/* Options: one table per subcommand drives getopt_long (cli_opts.c) and the bash completion.     */
/* ---------------------------------------------------------------------------------------------- */

/* What an option's value is, for the completion of its argument. */
typedef enum llm_cli_value {
    LLM_CLI_FLAG = 0,  /* no value */
    LLM_CLI_TEXT = 1,  /* text or a number */
    LLM_CLI_FILE = 2,  /* a file name */
    LLM_CLI_DIR = 3,   /* a directory name */
    LLM_CLI_PATH = 4,  /* a file or a directory */
    LLM_CLI_WORDS = 5, /* one of the space-separated words in `words` */
} llm_cli_value;

/* One option. `id` is what llm_cli_next() returns for it: the letter of its short form ('m' for
 * -m/--model), or a value from LLM_CLI_LONG_ONLY up for an option that has only a long form. */
typedef struct llm_cli_opt {
    int id;
    const char *name; /* long form without the dashes; NULL ends a table */
    llm_cli_value value;
    const char *words; /* LLM_CLI_WORDS: the values it takes, "f32 f16" */
} llm_cli_opt;

#define LLM_CLI_LONG_ONLY 256
/* The options every command spells alike (-h/--help is added to every table by the parser). */
#define LLM_CLI_OPT_MODEL {'m', "model", LLM_CLI_PATH, NULL}
#define LLM_CLI_OPT_THREADS {'t', "threads", LLM_CLI_TEXT, NULL}
#define LLM_CLI_OPT_FILE {'f', "file", LLM_CLI_FILE, NULL}
#define LLM_CLI_OPT_OUTPUT {'o', "output", LLM_CLI_FILE, NULL}
#define LLM_CLI_OPT_VERBOSE {'v', "verbose", LLM_CLI_FLAG, NULL}
#define LLM_CLI_OPT_END {0, NULL, LLM_CLI_FLAG, NULL}

/* What llm_cli_next() returns besides an option id. */
enum {
    LLM_CLI_DONE = -1,      /* no arguments left */
    LLM_CLI_ERROR = -2,     /* a usage error, already printed: the command returns 2 */
    LLM_CLI_POSITIONAL = 1, /* a non-option argument, in p->arg (everything after "--" too) */
    LLM_CLI_HELP = 'h',     /* -h or --help */
};

#define LLM_CLI_MAX_OPTS 63

typedef struct llm_cli_parser {
    const char *cmd; /* "generate", "bench embed": names the command in messages */
    const llm_cli_opt *opts;
    int argc;
    char **argv;         /* argv[0] is the command's own name */
    const char *arg;     /* the value of the option just returned, or the positional argument */
    char spelled[80];    /* the option just returned as the user would write it: "--temp", "-t" */
    int after_dashes;    /* "--" seen: every argument left is positional */
    int ok;              /* the table fit; 0 makes llm_cli_next() fail */
    /* getopt_long's tables, built from `opts` */
    char shortopts[2 * LLM_CLI_MAX_OPTS + 8];
    struct option longopts[LLM_CLI_MAX_OPTS + 2];
} llm_cli_parser;

/* Prepares to parse argv[1..argc-1] (argv[0] is the command's name) against `opts`. */
void llm_cli_parser_init(llm_cli_parser *p, const char *cmd, const llm_cli_opt *opts, int argc,
                         char **argv);
/* The next option's id (its value in p->arg), LLM_CLI_POSITIONAL, LLM_CLI_HELP, LLM_CLI_DONE, or
 * LLM_CLI_ERROR after a message naming the unknown option or the missing value. Accepts
 * "--opt=value", "--opt value", "-o value", "-ovalue" and unique prefixes of long names. */
int llm_cli_next(llm_cli_parser *p);
/* The value of the option just returned as a number in [lo, hi]. 0, or 2 after a usage message. */
int llm_cli_value_i64(const llm_cli_parser *p, int64_t lo, int64_t hi, int64_t *out);
int llm_cli_value_f64(const llm_cli_parser *p, double *out);
/* A thread count: at least 1, and at most the online CPUs (more is clamped, with a warning on
 * stderr, since threads beyond the cores only wait on each other). 0, or 2 after a message. */
int llm_cli_value_threads(const llm_cli_parser *p, int64_t *out);
/* The option just returned must be one of `words` (space-separated); its index in *out. */
int llm_cli_value_word(const llm_cli_parser *p, const char *words, int *out);
/* The number of online CPUs (at least 1). */
int llm_cli_online_cpus(void);

/* A command of `llm` (or of `llm bench`): its function, its line in the help, its options (NULL:
 * none but --help), its subcommands (NULL: none) and what its positional arguments are. */
typedef struct llm_cli_cmd {
    const char *name;
    llm_cli_cmd_fn fn;
    const char *summary;
    const llm_cli_opt *opts;
    const struct llm_cli_cmd *subcmds; /* ends with a NULL name */
    llm_cli_value positional;          /* what its arguments are, for completion */
} llm_cli_cmd;

/* Subcommands (one file each), their option tables, and the tables of `llm` and `llm bench`. */
extern const llm_cli_cmd llm_cli_commands[];     /* main.c; ends with a NULL name */
extern const llm_cli_cmd llm_bench_commands[];   /* cmd_bench.c; ends with a NULL name */
extern const llm_cli_opt llm_generate_opts[], llm_logits_opts[], llm_embed_opts[],
    llm_bench_embed_opts[], llm_bench_generate_opts[], llm_bench_tokenize_opts[],
    llm_bench_kernels_opts[], llm_convert_opts[], llm_inspect_opts[], llm_tokenize_opts[],
    llm_detokenize_opts[], llm_perplexity_opts[], llm_export_opts[], llm_template_opts[],
    llm_chat_opts[], llm_serve_opts[], llm_classify_opts[], llm_fill_mask_opts[];
int llm_cmd_info(int argc, char **argv);
int llm_cmd_inspect(int argc, char **argv);
int llm_cmd_convert(int argc, char **argv);
int llm_cmd_tokenize(int argc, char **argv);
int llm_cmd_detokenize(int argc, char **argv);
int llm_cmd_generate(int argc, char **argv);
int llm_cmd_logits(int argc, char **argv);
int llm_cmd_embed(int argc, char **argv);
int llm_cmd_bench(int argc, char **argv);
int llm_cmd_perplexity(int argc, char **argv);
int llm_cmd_export(int argc, char **argv);
int llm_cmd_template(int argc, char **argv);
int llm_cmd_chat(int argc, char **argv);
int llm_cmd_serve(int argc, char **argv); /* cmd_serve.c (serve/), or cmd_serve_missing.c */
int llm_cmd_classify(int argc, char **argv);
int llm_cmd_fill_mask(int argc, char **argv);
int llm_bench_generate(int argc, char **argv); /* `llm bench generate`, bench_generate.c */
int llm_bench_embed(int argc, char **argv); /* `llm bench embed`, in cmd_embed.c */
int llm_bench_tokenize(int argc, char **argv); /* `llm bench tokenize`, in bench_tokenize.c */

/* Beam search for `llm generate --beams N` on the prompt already fed (beam_cli.c). */
int llm_cli_beam_generate(llm_session *s, int print_ids, int json);
/* `llm bench generate` on an encoder-decoder model: encoder and decoder tokens/s (bench_t5.c). */
int llm_bench_generate_seq2seq(llm_model *m, int n_in, int n_out, int threads);

/* Usage error: prints "llm CMD: message" and a hint, returns 2. */
int llm_cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Failure of a library call: prints "llm CMD: what: status: last error", returns 1. */
int llm_cli_fail(const char *cmd, llm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Strict number parsing; false on junk, overflow or out of [lo, hi]. */
bool llm_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool llm_cli_parse_f64(const char *s, double *out);
/* Parses "1 2 3" (spaces or commas) into a malloc'ed array. false on junk. */
bool llm_cli_parse_ids(const char *s, int32_t **ids, size_t *n);
/* Reads a whole file byte-exact (malloc'ed, NUL appended). NULL with errno on failure. */
char *llm_cli_read_file(const char *path, size_t *len);
/* Monotonic seconds. */
double llm_cli_now(void);

#endif /* LLM_TOOLS_CLI_H */
