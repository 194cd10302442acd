/*
 * `llm perplexity -m MODEL -f TEXT`: the perplexity of a decoder over a text, measured the way
 * llama.cpp's llama-perplexity measures it, so figures can be compared with it:
 *  - the text is tokenized once with the model's special-token rules (a BOS first for Llama);
 *  - the tokens are cut into floor(count / n_ctx) windows of n_ctx tokens (the rest is dropped;
 *    at least two windows are needed);
 *  - each window is evaluated from an empty context, its first token replaced by BOS when the
 *    model adds one;
 *  - only the second half is scored: positions n_ctx/2 .. n_ctx-2 predict the next token, so
 *    every scored token sees at least n_ctx/2 tokens before it (n_ctx - 1 - n_ctx/2 per window);
 *  - PPL = exp(mean NLL over all scored tokens), with llama.cpp's +/- estimate
 *    (PPL · sqrt(var(NLL) / (count - 1))).
 * `--ids FILE` takes the token ids from a file instead of a text and uses them exactly as given
 * (no BOS substitution), for comparison with references computed on fixed ids.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_lora.h"

static const char perplexity_usage[] =
    "usage: llm perplexity -m MODEL (-f TEXT | --ids FILE) [options]\n"
    "\n"
    "Measures a decoder's perplexity over a text with llama-perplexity's method: windows of\n"
    "n_ctx tokens, each evaluated from an empty context (its first token replaced by BOS when\n"
    "the model adds one), the second half of each window scored. Prints llama-perplexity's\n"
    "running figures ([1]5.1234,[2]...) and its final estimate.\n"
    "\n"
    "options:\n"
    "  -f, --file TEXT      the text (UTF-8)\n"
    "  --ids FILE           token ids (separated by spaces, commas or newlines) used as given\n"
    "  -c, --ctx N          window length (default 512, at most the model's context)\n"
    "  --chunks N           score at most N windows (default: all)\n"
    "  -t, --threads N      (default: all CPUs)\n"
    LLM_CLI_LORA_HELP
    "  -h, --help\n";

enum { OPT_IDS = LLM_CLI_LONG_ONLY, OPT_CHUNKS };

const llm_cli_opt llm_perplexity_opts[] = {
    LLM_CLI_OPT_MODEL,
    LLM_CLI_OPT_FILE,
    {OPT_IDS, "ids", LLM_CLI_FILE, NULL},
    {'c', "ctx", LLM_CLI_TEXT, NULL},
    {OPT_CHUNKS, "chunks", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_THREADS,
    LLM_CLI_OPT_LORA,
    LLM_CLI_OPT_END,
};

/* the --lora adapters, closed by llm_cmd_perplexity() on every way out */
static llm_cli_loras ppl_lora;

typedef struct ppl_args {
    const char *model, *file, *ids;
    int64_t ctx, chunks, threads;
} ppl_args;

static int parse_args(int argc, char **argv, ppl_args *a)
{
    memset(a, 0, sizeof *a);
    llm_cli_parser p;
    llm_cli_parser_init(&p, "perplexity", llm_perplexity_opts, argc, argv);
    int c, rc = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: fputs(perplexity_usage, stdout); return -1;
        case 'm': a->model = p.arg; break;
        case 'f': a->file = p.arg; break;
        case OPT_IDS: a->ids = p.arg; break;
        case 'c': rc = llm_cli_value_i64(&p, 4, 1 << 20, &a->ctx); break;
        case OPT_CHUNKS: rc = llm_cli_value_i64(&p, 1, INT32_MAX, &a->chunks); break;
        case 't': rc = llm_cli_value_threads(&p, &a->threads); break;
        case LLM_CLI_LORA_ID: rc = llm_cli_lora_arg(&ppl_lora, &p); break;
        default: return llm_cli_usage("perplexity", "unexpected argument '%s'", p.arg);
        }
    }
    if (rc)
        return rc;
    if (!a->model)
        return llm_cli_usage("perplexity", "-m MODEL is required");
    if (!a->file == !a->ids)
        return llm_cli_usage("perplexity", "give exactly one of -f TEXT and --ids FILE");
    return 0;
}

/* Tokenizes the text with the model's rules; *bos is the id to put first in every window, or -1
 * when the model adds none (learned by encoding with and without the special tokens). */
static int tokenize_text(const llm_model *m, const char *path, int32_t **ids, size_t *n,
                         int32_t *bos)
{
    size_t len = 0;
    char *text = llm_cli_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "llm perplexity: cannot read '%s'\n", path);
        return 1;
    }
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    size_t need = 0, plain = 0;
    llm_tokenizer_encode(tok, text, len, LLM_ENCODE_ADD_SPECIAL, NULL, 0, &need);
    llm_tokenizer_encode(tok, text, len, 0, NULL, 0, &plain);
    *ids = malloc((need ? need : 1) * sizeof **ids);
    llm_status st = *ids ? llm_tokenizer_encode(tok, text, len, LLM_ENCODE_ADD_SPECIAL, *ids, need,
                                                n)
                         : LLM_ERR_NOMEM;
    free(text);
    if (st != LLM_OK)
        return llm_cli_fail("perplexity", st, "tokenizing '%s'", path);
    int32_t b = llm_tokenizer_special(tok, LLM_TOKEN_BOS);
    *bos = need > plain && b >= 0 && *n > 0 && (*ids)[0] == b ? b : -1;
    return 0;
}

static void format_eta(double s, char *buf, size_t cap)
{
    if (s < 60)
        snprintf(buf, cap, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, cap, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, cap, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static int perplexity(int argc, char **argv)
{
    ppl_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    llm_model *m = NULL;
    llm_status st = llm_model_open(a.model, NULL, &m);
    if (st != LLM_OK)
        return llm_cli_fail("perplexity", st, "opening '%s'", a.model);
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    if (info.family != LLM_FAMILY_DECODER) {
        fprintf(stderr, "llm perplexity: '%s' is a %s model; perplexity needs a decoder (GPT-2, "
                        "Llama)\n", a.model, llm_model_arch_name(m));
        llm_model_close(m);
        return 1;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    int32_t bos = -1;
    if (a.ids) {
        size_t len = 0;
        char *text = llm_cli_read_file(a.ids, &len);
        if (!text || !llm_cli_parse_ids(text, &ids, &n)) {
            fprintf(stderr, "llm perplexity: %s '%s' (it must hold token ids separated by "
                            "spaces, commas or newlines)\n", text ? "bad ids in" : "cannot read",
                    a.ids);
            free(text);
            llm_model_close(m);
            return 1;
        }
        free(text);
    } else if ((rc = tokenize_text(m, a.file, &ids, &n, &bos)) != 0) {
        llm_model_close(m);
        return rc;
    }
    uint32_t model_ctx = info.n_ctx_train ? info.n_ctx_train : 512;
    uint32_t n_ctx = a.ctx ? (uint32_t)a.ctx : (model_ctx < 512 ? model_ctx : 512);
    if (n_ctx > model_ctx)
        fprintf(stderr, "llm perplexity: warning: --ctx %u exceeds the model's context of %u\n",
                n_ctx, model_ctx);
    size_t n_chunk = n / n_ctx;
    if (n_chunk < 2) {
        fprintf(stderr, "llm perplexity: %zu tokens make fewer than two windows of %u; give a "
                        "longer text or a smaller --ctx\n", n, n_ctx);
        free(ids);
        llm_model_close(m);
        return 1;
    }
    if (a.chunks && (size_t)a.chunks < n_chunk)
        n_chunk = (size_t)a.chunks;
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_ctx = n_ctx;
    so.n_threads = (uint32_t)a.threads;
    llm_session *s = NULL;
    st = llm_session_create(m, &so, &s);
    if (st != LLM_OK) {
        free(ids);
        llm_model_close(m);
        return llm_cli_fail("perplexity", st, "creating a session");
    }
    if ((rc = llm_cli_lora_open(&ppl_lora, "perplexity", m, s)) != 0) {
        free(ids);
        llm_session_destroy(s);
        llm_model_close(m);
        return rc;
    }
    size_t first = n_ctx / 2, per_chunk = n_ctx - 1 - first;
    fprintf(stderr, "perplexity: %zu tokens, %zu windows of %u, scoring positions %zu..%u of each "
                    "(%zu tokens)%s\n", n, n_chunk, n_ctx, first, n_ctx - 2, n_chunk * per_chunk,
            bos >= 0 ? ", BOS first in every window" : "");
    double *nll = malloc(per_chunk * sizeof *nll);
    int32_t *window = malloc(n_ctx * sizeof *window);
    int live = isatty(STDERR_FILENO);
    int stream = !(live && isatty(STDOUT_FILENO)); /* on one terminal the live line shows it */
    double sum = 0.0, sum2 = 0.0, t0 = llm_cli_now();
    size_t count = 0;
    rc = nll && window ? 0 : 1;
    for (size_t c = 0; rc == 0 && c < n_chunk; c++) {
        memcpy(window, ids + c * n_ctx, n_ctx * sizeof *window);
        if (bos >= 0)
            window[0] = bos;
        st = llm_session_score(s, window, n_ctx, first, nll, per_chunk);
        if (st != LLM_OK) {
            rc = llm_cli_fail("perplexity", st, "window %zu", c + 1);
            break;
        }
        for (size_t j = 0; j < per_chunk; j++) {
            sum += nll[j];
            sum2 += nll[j] * nll[j];
        }
        count += per_chunk;
        double ppl = exp(sum / (double)count);
        if (stream) {
            printf("[%zu]%.4f,", c + 1, ppl);
            fflush(stdout);
        }
        if (live) {
            double dt = llm_cli_now() - t0;
            char eta[32];
            format_eta(dt / (double)(c + 1) * (double)(n_chunk - c - 1), eta, sizeof eta);
            fprintf(stderr, "\r\033[Kwindow %zu/%zu  PPL %.4f  %.0f tokens/s  ETA %s", c + 1,
                    n_chunk, ppl, (double)((c + 1) * n_ctx) / dt, eta);
        }
    }
    if (live)
        fprintf(stderr, "\r\033[K");
    if (rc == 0) {
        double mean = sum / (double)count;
        double var = sum2 / (double)count - mean * mean;
        double ppl = exp(mean);
        double pm = var > 0 && count > 1 ? ppl * sqrt(var / (double)(count - 1)) : 0.0;
        if (stream)
            printf("\n");
        printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, pm);
        printf("mean NLL = %.9f nats over %zu tokens (%zu windows of %u, %.1f s)\n", mean, count,
               n_chunk, n_ctx, llm_cli_now() - t0);
    }
    free(nll);
    free(window);
    free(ids);
    llm_session_destroy(s);
    llm_model_close(m);
    return rc;
}

int llm_cmd_perplexity(int argc, char **argv)
{
    int rc = perplexity(argc, argv);
    llm_cli_lora_free(&ppl_lora);
    return rc;
}
