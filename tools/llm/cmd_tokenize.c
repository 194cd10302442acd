/*
 * `llm tokenize` and `llm detokenize`: text to ids and back with any tokenizer source (a model
 * .gguf, tokenizer.json, .model, vocab.txt, vocab.json or a Hugging Face directory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            tokenize_help();
            return 0;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            if (++i >= argc)
                return llm_cli_usage("tokenize", "%s needs a path", a);
            model = argv[i];
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
            if (++i >= argc)
                return llm_cli_usage("tokenize", "%s needs a file", a);
            file = argv[i];
        } else if (strcmp(a, "--no-special") == 0) {
            flags &= ~(uint32_t)LLM_ENCODE_ADD_SPECIAL;
        } else if (strcmp(a, "--parse-special") == 0) {
            flags |= LLM_ENCODE_PARSE_SPECIAL;
        } else if (strcmp(a, "--pieces") == 0) {
            pieces = 1;
        } else if (strcmp(a, "--offsets") == 0) {
            offsets = 1;
        } else if (strcmp(a, "--") == 0 && i + 1 < argc && !text) {
            text = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return llm_cli_usage("tokenize", "unknown option '%s'", a);
        } else if (!text) {
            text = a;
        } else {
            return llm_cli_usage("tokenize", "unexpected argument '%s'", a);
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
                const char *p = llm_tokenizer_piece(tok, ids[i], &pl);
                fwrite(p, 1, pl, stdout);
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: llm detokenize -m PATH [--skip-special] ID...\n\n"
                   "Prints the text of the token ids (ids may also be given as one "
                   "space- or comma-separated argument).\n");
            free(ids);
            return 0;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            if (++i >= argc) {
                free(ids);
                return llm_cli_usage("detokenize", "%s needs a path", a);
            }
            model = argv[i];
        } else if (strcmp(a, "--skip-special") == 0) {
            flags |= LLM_DECODE_SKIP_SPECIAL;
        } else {
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
