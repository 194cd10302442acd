/*
 * Shared pieces of the `llm` program: the subcommand signature and small helpers for argument
 * parsing and error reporting. Every subcommand prints results to stdout, errors to stderr, and
 * returns the process exit code (0 success, 1 failure, 2 usage error).
 */
#ifndef LLM_TOOLS_CLI_H
#define LLM_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

typedef int (*llm_cli_cmd_fn)(int argc, char **argv);

typedef struct llm_cli_cmd {
    const char *name;
    llm_cli_cmd_fn fn;
    const char *summary;
} llm_cli_cmd;

/* Subcommands (one file each). */
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
int llm_bench_generate(int argc, char **argv); /* `llm bench generate`, bench_generate.c */
int llm_bench_embed(int argc, char **argv); /* `llm bench embed`, in cmd_embed.c */
int llm_bench_tokenize(int argc, char **argv); /* `llm bench tokenize`, in bench_tokenize.c */

/* Beam search for `llm generate --beams N` on the prompt already fed (beam_cli.c). */
int llm_cli_beam_generate(llm_session *s, int print_ids);
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
