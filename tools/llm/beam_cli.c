/*
 * `llm generate --beams N`: runs llm_session_beam_search() on the prompt the caller has already
 * fed and prints the result the way plain generation does: the best hypothesis' text (or its ids
 * with --ids) on stdout. With N_BEST > 1 every hypothesis gets a line "rank<TAB>score<TAB>text";
 * with --json each gets a JSON object on its own line (text, ids, rank, score).
 * The search summary (beams, score, length) goes to stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void print_hypothesis(const llm_tokenizer *tok, const int32_t *ids, size_t n, int print_ids)
{
    if (print_ids) {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        return;
    }
    size_t len = 0;
    llm_status st = llm_tokenizer_decode(tok, ids, n, LLM_DECODE_SKIP_SPECIAL, NULL, 0, &len);
    if (st != LLM_OK && st != LLM_ERR_BUFFER_TOO_SMALL)
        return;
    char *buf = malloc(len + 1);
    if (buf && llm_tokenizer_decode(tok, ids, n, LLM_DECODE_SKIP_SPECIAL, buf, len + 1, &len) ==
                   LLM_OK)
        fwrite(buf, 1, len, stdout);
    free(buf);
}

/* One line of --json for hypothesis `rank` (1 = best). */
static void print_json(const llm_tokenizer *tok, const int32_t *ids, size_t n, size_t rank,
                       float score)
{
    size_t len = 0;
    char *text = NULL;
    llm_status st = llm_tokenizer_decode(tok, ids, n, LLM_DECODE_SKIP_SPECIAL, NULL, 0, &len);
    if (st == LLM_OK || st == LLM_ERR_BUFFER_TOO_SMALL)
        text = malloc(len + 1);
    if (text && llm_tokenizer_decode(tok, ids, n, LLM_DECODE_SKIP_SPECIAL, text, len + 1, &len) !=
                    LLM_OK)
        len = 0;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_integer(ids[i]));
    json_t *doc = json_pack("{s:s%, s:o, s:s, s:I, s:f}", "text", text ? text : "", len, "ids", arr,
                            "finish_reason", "beam", "rank", (json_int_t)rank, "score",
                            (double)score);
    char *line = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (line)
        puts(line);
    free(line);
    json_decref(doc);
    free(text);
}

int llm_cli_beam_generate(llm_session *s, int print_ids, int json)
{
    const char *cmd = "generate";
    int64_t beams = 1, n_best = 1, max_tokens = 0;
    llm_session_get_int(s, LLM_PARAM_NUM_BEAMS, &beams);
    llm_session_get_int(s, LLM_PARAM_N_BEST, &n_best);
    llm_session_get_int(s, LLM_PARAM_MAX_TOKENS, &max_tokens);
    if (max_tokens <= 0 || n_best <= 0)
        return llm_cli_usage(cmd, "beam search needs -n >= 1");
    size_t max_len = (size_t)max_tokens;
    int32_t *ids = malloc((size_t)n_best * max_len * sizeof *ids);
    size_t *lens = malloc((size_t)n_best * sizeof *lens);
    float *scores = malloc((size_t)n_best * sizeof *scores);
    if (!ids || !lens || !scores) {
        free(ids);
        free(lens);
        free(scores);
        fprintf(stderr, "llm %s: out of memory for %lld hypotheses\n", cmd, (long long)n_best);
        return 1;
    }
    size_t n = 0;
    double t0 = llm_cli_now();
    llm_status st = llm_session_beam_search(s, ids, max_len, lens, scores, (size_t)n_best, &n);
    double dt = llm_cli_now() - t0;
    int rc = 0;
    if (st != LLM_OK) {
        rc = llm_cli_fail(cmd, st, "beam search failed");
    } else {
        const llm_tokenizer *tok = llm_model_tokenizer(llm_session_model(s));
        for (size_t h = 0; h < n && json; h++)
            print_json(tok, ids + h * max_len, lens[h], h + 1, scores[h]);
        for (size_t h = 0; h < n && !json; h++) {
            if (n > 1)
                printf("%zu\t%.5f\t", h + 1, (double)scores[h]);
            print_hypothesis(tok, ids + h * max_len, lens[h], print_ids);
            putchar('\n');
        }
        fflush(stdout);
        if (n > 0)
            fprintf(stderr, "beam search: %lld beams, best score %.5f over %zu tokens, %.2f s\n",
                    (long long)beams, (double)scores[0], lens[0], dt);
        else
            fprintf(stderr, "beam search: no hypothesis\n");
    }
    free(ids);
    free(lens);
    free(scores);
    return rc;
}
