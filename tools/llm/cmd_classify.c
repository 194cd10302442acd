/*
 * `llm classify`: label probabilities of texts from an encoder's classification head, and
 * `llm fill-mask`: the most likely tokens for every [MASK] of a text from its masked-LM head.
 * Both print one line per text (or per mask): TSV by default, JSON with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_lora.h"

static const char classify_usage[] =
    "usage: llm classify -m MODEL [options] TEXT... | -f LINES.txt\n"
    "\n"
    "Prints the label probabilities of each text from the model's classification head (a\n"
    "Hugging Face BertForSequenceClassification folder, or a GGUF with cls_head.* or\n"
    "cls.output.* tensors): the best label and its probability, then every label's, TSV.\n"
    "\n"
    "options:\n"
    "  -m, --model PATH     GGUF file or Hugging Face directory (required)\n"
    "  -f, --file PATH      texts, one per line\n"
    "  --logits             print the raw outputs of the head instead of probabilities\n"
    "  --json               one JSON object per text: text, label, probs (or logits)\n"
    "  -t, --threads N      (default: all CPUs)\n"
    LLM_CLI_LORA_HELP;

static const char fill_mask_usage[] =
    "usage: llm fill-mask -m MODEL [-k K] [options] TEXT...\n"
    "\n"
    "Prints, for every [MASK] of each text, the K most likely tokens (default 5) with their\n"
    "probabilities, from the model's masked-LM head (a Hugging Face BertForMaskedLM folder).\n"
    "\n"
    "options:\n"
    "  -m, --model PATH     GGUF file or Hugging Face directory (required)\n"
    "  -k, --top-k K        tokens per mask (default 5)\n"
    "  --json               one JSON object per mask: text, mask, tokens [{id, piece, prob}]\n"
    "  -t, --threads N      (default: all CPUs)\n"
    LLM_CLI_LORA_HELP;

enum { OPT_JSON = LLM_CLI_LONG_ONLY, OPT_LOGITS };

const llm_cli_opt llm_classify_opts[] = {
    LLM_CLI_OPT_MODEL, LLM_CLI_OPT_FILE, {OPT_LOGITS, "logits", LLM_CLI_FLAG, NULL},
    {OPT_JSON, "json", LLM_CLI_FLAG, NULL}, LLM_CLI_OPT_THREADS, LLM_CLI_OPT_LORA,
    LLM_CLI_OPT_END,
};

const llm_cli_opt llm_fill_mask_opts[] = {
    LLM_CLI_OPT_MODEL, {'k', "top-k", LLM_CLI_TEXT, NULL}, {OPT_JSON, "json", LLM_CLI_FLAG, NULL},
    LLM_CLI_OPT_THREADS, LLM_CLI_OPT_LORA, LLM_CLI_OPT_END,
};

typedef struct task_args {
    const char *model, *file;
    int json, logits;
    int64_t threads, k;
    char **texts;
    size_t n_texts;
    llm_cli_loras lora;
} task_args;

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int parse(const char *cmd, const char *usage, const llm_cli_opt *opts, int argc,
                 char **argv, task_args *a)
{
    a->texts = calloc((size_t)argc + 1, sizeof *a->texts);
    a->k = 5;
    if (!a->texts)
        return llm_cli_fail(cmd, LLM_ERR_NOMEM, "arguments");
    llm_cli_parser p;
    llm_cli_parser_init(&p, cmd, opts, argc, argv);
    int c, rc = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: fputs(usage, stdout); return -1;
        case LLM_CLI_POSITIONAL: a->texts[a->n_texts++] = (char *)p.arg; break;
        case 'm': a->model = p.arg; break;
        case 'f': a->file = p.arg; break;
        case 'k': rc = llm_cli_value_i64(&p, 1, 1 << 20, &a->k); break;
        case 't': rc = llm_cli_value_threads(&p, &a->threads); break;
        case OPT_JSON: a->json = 1; break;
        case OPT_LOGITS: a->logits = 1; break;
        case LLM_CLI_LORA_ID: rc = llm_cli_lora_arg(&a->lora, &p); break;
        default: return llm_cli_usage(cmd, "unhandled option %s", p.spelled);
        }
    }
    if (rc)
        return rc;
    if (!a->model)
        return llm_cli_usage(cmd, "-m MODEL is required");
    if ((a->n_texts > 0) == (a->file != NULL))
        return llm_cli_usage(cmd, "give the texts as arguments or -f LINES.txt (one of them)");
    return 0;
}

/* Reads -f into a->texts (one text per non-empty line); *buf keeps the bytes. */
static int read_lines(const char *cmd, task_args *a, char **buf)
{
    size_t len = 0;
    *buf = llm_cli_read_file(a->file, &len);
    if (!*buf) {
        fprintf(stderr, "llm %s: cannot read '%s'\n", cmd, a->file);
        return 1;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += (*buf)[i] == '\n';
    free(a->texts);
    a->texts = calloc(lines + 1, sizeof *a->texts);
    if (!a->texts)
        return llm_cli_fail(cmd, LLM_ERR_NOMEM, "reading '%s'", a->file);
    for (char *line = strtok(*buf, "\r\n"); line; line = strtok(NULL, "\r\n"))
        if (*line)
            a->texts[a->n_texts++] = line;
    if (a->n_texts == 0)
        return llm_cli_usage(cmd, "'%s' has no texts", a->file);
    return 0;
}

static int open_all(const char *cmd, task_args *a, llm_model **m, llm_session **s)
{
    llm_status st = llm_model_open(a->model, NULL, m);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot open model '%s'", a->model);
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_threads = (uint32_t)a->threads;
    st = llm_session_create(*m, &so, s);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot create a session");
    return llm_cli_lora_open(&a->lora, cmd, *m, *s);
}

static int run_classify(const char *cmd, task_args *a, llm_model *m, llm_session *s)
{
    size_t L = 0;
    if (llm_model_classifier(m, &L) == LLM_CLASSIFIER_NONE) {
        fprintf(stderr, "llm %s: %s has no classification head (a BertForSequenceClassification "
                        "folder, or cls_head.* / cls.output.* tensors)\n",
                cmd, a->model);
        return 1;
    }
    float *out = malloc(a->n_texts * L * sizeof *out);
    if (!out)
        return llm_cli_fail(cmd, LLM_ERR_NOMEM, "results");
    llm_status st = llm_session_classify(s, (const char *const *)a->texts, a->n_texts,
                                         a->logits ? NULL : out, a->logits ? out : NULL,
                                         a->n_texts * L);
    if (st != LLM_OK) {
        free(out);
        return llm_cli_fail(cmd, st, "classification failed");
    }
    char fallback[32];
    for (size_t t = 0; t < a->n_texts; t++) {
        const float *row = out + t * L;
        size_t best = 0;
        for (size_t j = 1; j < L; j++)
            best = row[j] > row[best] ? j : best;
        const char *name = llm_model_label(m, best);
        if (!name) {
            snprintf(fallback, sizeof fallback, "LABEL_%zu", best);
            name = fallback;
        }
        if (a->json) {
            printf("{\"text\": ");
            json_str(a->texts[t], strlen(a->texts[t]));
            printf(", \"label\": ");
            json_str(name, strlen(name));
            printf(", \"%s\": {", a->logits ? "logits" : "probs");
            for (size_t j = 0; j < L; j++) {
                const char *lj = llm_model_label(m, j);
                char fb[32];
                if (!lj) {
                    snprintf(fb, sizeof fb, "LABEL_%zu", j);
                    lj = fb;
                }
                printf("%s", j ? ", " : "");
                json_str(lj, strlen(lj));
                printf(": %.6g", row[j]);
            }
            printf("}}\n");
        } else {
            printf("%s\t%.4f", name, row[best]);
            for (size_t j = 0; j < L; j++)
                printf("\t%.6g", row[j]);
            printf("\t%s\n", a->texts[t]);
        }
    }
    free(out);
    return 0;
}

static int run_fill_mask(const char *cmd, task_args *a, llm_model *m, llm_session *s)
{
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    for (size_t t = 0; t < a->n_texts; t++) {
        size_t nm = 0;
        llm_status st = llm_session_fill_mask(s, a->texts[t], (size_t)a->k, NULL, NULL, 0, &nm);
        if (st != LLM_OK)
            return llm_cli_fail(cmd, st, "text %zu", t + 1);
        int32_t *ids = malloc(nm * (size_t)a->k * sizeof *ids);
        float *probs = malloc(nm * (size_t)a->k * sizeof *probs);
        if (!ids || !probs) {
            free(ids);
            free(probs);
            return llm_cli_fail(cmd, LLM_ERR_NOMEM, "results");
        }
        st = llm_session_fill_mask(s, a->texts[t], (size_t)a->k, ids, probs, nm * (size_t)a->k,
                                   &nm);
        if (st != LLM_OK) {
            free(ids);
            free(probs);
            return llm_cli_fail(cmd, st, "text %zu", t + 1);
        }
        for (size_t k = 0; k < nm; k++) {
            if (a->json) {
                printf("{\"text\": ");
                json_str(a->texts[t], strlen(a->texts[t]));
                printf(", \"mask\": %zu, \"tokens\": [", k);
            }
            for (int64_t j = 0; j < a->k; j++) {
                size_t len = 0;
                const char *piece = llm_tokenizer_piece(tok, ids[k * a->k + j], &len);
                if (a->json) {
                    printf("%s{\"id\": %d, \"piece\": ", j ? ", " : "", ids[k * a->k + j]);
                    json_str(piece ? piece : "", piece ? len : 0);
                    printf(", \"prob\": %.6g}", probs[k * a->k + j]);
                } else {
                    printf("%s%.*s\t%.4f", j ? "\t" : "", (int)len, piece ? piece : "",
                           probs[k * a->k + j]);
                }
            }
            printf(a->json ? "]}\n" : "\n");
        }
        free(ids);
        free(probs);
    }
    return 0;
}

static int task_main(const char *cmd, const char *usage, const llm_cli_opt *opts, int argc,
                     char **argv, int fill)
{
    task_args a;
    memset(&a, 0, sizeof a);
    char *buf = NULL;
    llm_model *m = NULL;
    llm_session *s = NULL;
    int rc = parse(cmd, usage, opts, argc, argv, &a);
    if (rc == 0 && a.file)
        rc = read_lines(cmd, &a, &buf);
    if (rc == 0)
        rc = open_all(cmd, &a, &m, &s);
    if (rc == 0)
        rc = fill ? run_fill_mask(cmd, &a, m, s) : run_classify(cmd, &a, m, s);
    llm_session_destroy(s);
    llm_cli_lora_free(&a.lora);
    llm_model_close(m);
    free(a.texts);
    free(buf);
    return rc < 0 ? 0 : rc;
}

int llm_cmd_classify(int argc, char **argv)
{
    return task_main("classify", classify_usage, llm_classify_opts, argc, argv, 0);
}

int llm_cmd_fill_mask(int argc, char **argv)
{
    return task_main("fill-mask", fill_mask_usage, llm_fill_mask_opts, argc, argv, 1);
}
