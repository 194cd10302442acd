/*
 * translate: text-to-text generation with an encoder-decoder model (T5, Flan-T5).
 *
 *   translate MODEL "translate English to German: The house is wonderful." [BEAMS]
 *
 * The text is tokenized with the model's own rules (T5 appends </s>), fed to the encoder, and the
 * decoder writes the answer: greedily, streaming token by token, or with beam search when BEAMS
 * is greater than 1 (best hypothesis printed at the end). With t5-small or flan-t5-base in GGUF
 * form (or a Hugging Face directory) this prints "Das Haus ist wunderbar."
 *
 * Run without arguments it is a self-test on the tiny random T5 of the reference data
 * ($LLM_TEST_DATA/golden/models/t5-tiny-gated-f32.gguf; exit 77 when absent): greedy decoding of
 * the sentence above must give the reference ids, and 4-beam search must score at least as well.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#define MAX_OUT 64

/* Reference greedy continuation of the self-test (golden t5-tiny-gated-f32.text), ending with
 * </s> = 1, which the token callback also receives (with no text). */
static const int32_t golden_ids[] = {242, 332, 645, 429, 353, 488, 645, 429,
                                     609, 108, 557, 261, 722, 433, 574, 1};

typedef struct stream {
    int32_t ids[MAX_OUT];
    size_t n;
} stream;

static int on_token(void *user, int32_t id, const char *text, size_t len)
{
    stream *st = user;
    if (st->n < MAX_OUT)
        st->ids[st->n++] = id;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static int fail(const char *what, llm_status st)
{
    fprintf(stderr, "translate: %s: %s: %s\n", what, llm_status_string(st), llm_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    char path[4096];
    const char *model_path = argc > 1 ? argv[1] : NULL;
    const char *text = argc > 2 ? argv[2] : "translate English to German: The house is wonderful.";
    long beams = 1;
    if (argc > 3) {
        char *end = NULL;
        beams = strtol(argv[3], &end, 10);
        if (*end)
            beams = 0;
    }
    int self_test = model_path == NULL;
    if (self_test) {
        const char *data = getenv("LLM_TEST_DATA");
        if (!data || !*data)
            data = getenv("LLM_TEST_DATA_BUILD");
        snprintf(path, sizeof path, "%s/golden/models/t5-tiny-gated-f32.gguf",
                 data && *data ? data : "../shared/data");
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "SKIP: %s is missing (set LLM_TEST_DATA)\n", path);
            return 77;
        }
        fclose(f);
        model_path = path;
        beams = 4;
    }
    if (beams < 1 || beams > 64) {
        fprintf(stderr, "usage: translate MODEL \"text\" [BEAMS (1..64)]\n");
        return 2;
    }

    llm_model *model = NULL;
    llm_status st = llm_model_open(model_path, NULL, &model);
    if (st != LLM_OK)
        return fail(model_path, st);
    llm_session *s = NULL;
    st = llm_session_create(model, NULL, &s);
    if (st != LLM_OK) {
        llm_model_close(model);
        return fail("creating a session", st);
    }
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.0); /* greedy */
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, MAX_OUT);

    /* greedy: streamed as it is generated */
    stream out = {{0}, 0};
    st = llm_session_generate_text(s, text, on_token, &out);
    putchar('\n');
    int rc = 0;
    if (st != LLM_OK) {
        rc = fail("generating", st);
        goto done;
    }
    if (self_test) {
        size_t n = sizeof golden_ids / sizeof golden_ids[0];
        if (out.n != n || memcmp(out.ids, golden_ids, n * sizeof *golden_ids) != 0 ||
            llm_session_stop_reason(s) != LLM_STOP_EOS) {
            fprintf(stderr, "translate: self-test: greedy ids differ from the reference\n");
            rc = 1;
            goto done;
        }
    }

    if (beams > 1) {
        /* beam search works on the input already fed */
        int32_t ids[MAX_OUT];
        size_t len = 0, n_hyp = 0;
        float score = 0;
        llm_session_set_int(s, LLM_PARAM_NUM_BEAMS, (int64_t)beams);
        st = llm_session_beam_search(s, ids, MAX_OUT, &len, &score, 1, &n_hyp);
        if (st != LLM_OK) {
            rc = fail("beam search", st);
            goto done;
        }
        char buf[4096];
        size_t blen = 0;
        st = llm_tokenizer_decode(llm_model_tokenizer(model), ids, len, LLM_DECODE_SKIP_SPECIAL,
                                  buf, sizeof buf, &blen);
        if (st != LLM_OK) {
            rc = fail("decoding", st);
            goto done;
        }
        printf("%ld beams (score %.4f): %.*s\n", beams, (double)score, (int)blen, buf);
        if (self_test && n_hyp != 1) {
            fprintf(stderr, "translate: self-test: beam search returned no hypothesis\n");
            rc = 1;
        }
    }
done:
    llm_session_destroy(s);
    llm_model_close(model);
    return rc;
}
