/*
 * `llm tokenize` and `llm detokenize`: text to ids and back with any tokenizer source (a model
 * .gguf, tokenizer.json, .model, vocab.txt, vocab.json or a Hugging Face directory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_NO_SPECIAL = LLM_CLI_LONG_ONLY, OPT_PARSE_SPECIAL, OPT_PIECES, OPT_OFFSETS,
       OPT_SKIP_SPECIAL };

const llm_cli_opt llm_tokenize_opts[] = {
    LLM_CLI_OPT_MODEL,
    LLM_CLI_OPT_FILE,
    {OPT_NO_SPECIAL, "no-special", LLM_CLI_FLAG, NULL},
    {OPT_PARSE_SPECIAL, "parse-special", LLM_CLI_FLAG, NULL},
    {OPT_PIECES, "pieces", LLM_CLI_FLAG, NULL},
    {OPT_OFFSETS, "offsets", LLM_CLI_FLAG, NULL},
    LLM_CLI_OPT_END,
};

const llm_cli_opt llm_detokenize_opts[] = {
    LLM_CLI_OPT_MODEL,
    {OPT_SKIP_SPECIAL, "skip-special", LLM_CLI_FLAG, NULL},
    LLM_CLI_OPT_END,
};

static void tokenize_help(void)
{
    printf("usage: llm tokenize -m PATH [--no-special] [--parse-special] [--pieces] [--offsets]\n"
           "                    (-f FILE | TEXT)\n\n"
           "Prints the token ids of TEXT (or of FILE, read byte-exact) on one line.\n"
           "  -m PATH           model .gguf, tokenizer.json, .model, vocab.txt, vocab.json or a "
           "directory\n"
           "  --no-special      do not add BOS/EOS/CLS/SEP\n"
           "  --parse-special   treat special-token text such as </s> as the token\n"
           "  --pieces          print the vocabulary pieces instead of the ids\n"
           "  --offsets         print each id as ID:START-END (byte offsets into the input)\n");
}

int llm_cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *file = NULL, *text = NULL;
    uint32_t flags = LLM_ENCODE_ADD_SPECIAL;
    int pieces = 0, offsets = 0;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "tokenize", llm_tokenize_opts, argc, argv);
    int c;
    while ((c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: tokenize_help(); return 0;
        case 'm': model = p.arg; break;
        case 'f': file = p.arg; break;
        case OPT_NO_SPECIAL: flags &= ~(uint32_t)LLM_ENCODE_ADD_SPECIAL; break;
        case OPT_PARSE_SPECIAL: flags |= LLM_ENCODE_PARSE_SPECIAL; break;
        case OPT_PIECES: pieces = 1; break;
        case OPT_OFFSETS: offsets = 1; break;
        case LLM_CLI_POSITIONAL:
            if (text)
                return llm_cli_usage("tokenize", "unexpected argument '%s'", p.arg);
            text = p.arg;
            break;
        default: return llm_cli_usage("tokenize", "unhandled option %s", p.spelled);
        }
    }
    if (!model)
        return llm_cli_usage("tokenize", "-m PATH is required");
    if ((file != NULL) == (text != NULL))
        return llm_cli_usage("tokenize", "give either -f FILE or TEXT");
    char *buf = NULL;
    size_t len = 0;
    if (file) {
        buf = llm_cli_read_file(file, &len);
        if (!buf) {
            fprintf(stderr, "llm tokenize: cannot read '%s'\n", file);
            return 1;
        }
        text = buf;
    } else {
        len = strlen(text);
    }
    llm_tokenizer *tok = NULL;
    llm_status st = llm_tokenizer_open(model, &tok);
    if (st != LLM_OK) {
        free(buf);
        return llm_cli_fail("tokenize", st, "cannot open tokenizer '%s'", model);
    }
    size_t n = 0;
    st = llm_tokenizer_encode(tok, text, len, flags, NULL, 0, &n);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    uint32_t *offs = malloc((n ? n : 1) * 2 * sizeof *offs);
    if (st == LLM_OK && ids && offs)
        st = llm_tokenizer_encode_offsets(tok, text, len, flags, ids, offs, n, &n);
    int rc = 0;
    if (!ids || !offs) {
        fprintf(stderr, "llm tokenize: out of memory\n");
        rc = 1;
    } else if (st != LLM_OK) {
        rc = llm_cli_fail("tokenize", st, "encoding failed");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i)
                putchar(' ');
            if (pieces) {
                size_t pl = 0;
                const char *piece = llm_tokenizer_piece(tok, ids[i], &pl);
                fwrite(piece, 1, pl, stdout);
            } else {
                printf("%d", ids[i]);
            }
            if (offsets)
                printf(":%u-%u", offs[2 * i], offs[2 * i + 1]);
        }
        putchar('\n');
    }
    free(ids);
    free(offs);
    free(buf);
    llm_tokenizer_close(tok);
    return rc;
}

int llm_cmd_detokenize(int argc, char **argv)
{
    const char *model = NULL;
    uint32_t flags = 0;
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids)
        return 1;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "detokenize", llm_detokenize_opts, argc, argv);
    int c;
    while ((c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        if (c == LLM_CLI_ERROR || c == LLM_CLI_HELP) {
            if (c == LLM_CLI_HELP)
                printf("usage: llm detokenize -m PATH [--skip-special] ID...\n\n"
                       "Prints the text of the token ids (ids may also be given as one "
                       "space- or comma-separated argument).\n");
            free(ids);
            return c == LLM_CLI_HELP ? 0 : 2;
        } else if (c == 'm') {
            model = p.arg;
        } else if (c == OPT_SKIP_SPECIAL) {
            flags |= LLM_DECODE_SKIP_SPECIAL;
        } else {
            const char *a = p.arg;
            int32_t *more = NULL;
            size_t m = 0;
            if (!llm_cli_parse_ids(a, &more, &m)) {
                free(ids);
                return llm_cli_usage("detokenize", "'%s' is not a list of ids", a);
            }
            if (n + m > cap) {
                while (n + m > cap)
                    cap *= 2;
                int32_t *nb = realloc(ids, cap * sizeof *ids);
                if (!nb) {
                    free(more);
                    free(ids);
                    return 1;
                }
                ids = nb;
            }
            memcpy(ids + n, more, m * sizeof *ids);
            n += m;
            free(more);
        }
    }
    if (!model) {
        free(ids);
        return llm_cli_usage("detokenize", "-m PATH is required");
    }
    llm_tokenizer *tok = NULL;
    llm_status st = llm_tokenizer_open(model, &tok);
    if (st != LLM_OK) {
        free(ids);
        return llm_cli_fail("detokenize", st, "cannot open tokenizer '%s'", model);
    }
    size_t len = 0;
    st = llm_tokenizer_decode(tok, ids, n, flags, NULL, 0, &len);
    char *out = st == LLM_OK ? malloc(len + 1) : NULL;
    if (out)
        st = llm_tokenizer_decode(tok, ids, n, flags, out, len + 1, &len);
    int rc = 0;
    if (st != LLM_OK) {
        rc = llm_cli_fail("detokenize", st, "decoding failed");
    } else if (!out) {
        rc = 1;
    } else {
        fwrite(out, 1, len, stdout);
        putchar('\n');
    }
    free(out);
    free(ids);
    llm_tokenizer_close(tok);
    return rc;
}
