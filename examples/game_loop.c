/*
 * Text generation inside a game loop: each frame gets a time budget, and the model produces at
 * most one token per frame through the step API, so the frame rate never drops. The "player"
 * skips the dialogue at frame 30, which cancels generation (llm_session_cancel may be called from
 * any thread, e.g. an input thread).
 *   game_loop MODEL.gguf
 */
#include <stdio.h>
#include <time.h>

#include <llm/llm.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    llm_model *model = NULL;
    llm_session *s = NULL;
    if (llm_model_open(argv[1], NULL, &model) != LLM_OK ||
        llm_session_create(model, NULL, &s) != LLM_OK) {
        fprintf(stderr, "error: %s\n", llm_last_error());
        llm_model_close(model);
        return 1;
    }
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.7);
    llm_session_set_int(s, LLM_PARAM_SEED, 1234);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 200);
    const llm_tokenizer *tok = llm_model_tokenizer(model);
    int32_t prompt[64];
    size_t n = 0;
    const char *text = "The old wizard said";
    if (llm_tokenizer_encode(tok, text, 19, LLM_ENCODE_ADD_SPECIAL, prompt, 64, &n) != LLM_OK ||
        llm_session_feed_prompt(s, prompt, n, NULL) != LLM_OK) {
        fprintf(stderr, "error: %s\n", llm_last_error());
        return 1;
    }
    printf("%s", text);
    const double frame_budget = 1.0 / 60.0;
    int tokens = 0, rc = 0;
    llm_stop_reason why = LLM_STOP_NONE;
    for (int frame = 0; why == LLM_STOP_NONE; frame++) {
        double start = now();
        /* ... game logic and rendering would run here ... */
        if (frame == 30)
            llm_session_cancel(s); /* the player pressed "skip" */
        if (now() - start < frame_budget) {
            int32_t id;
            const char *piece;
            size_t len;
            llm_status st = llm_session_step(s, &id, &piece, &len, &why);
            if (st == LLM_ERR_CANCELLED)
                break;
            if (st != LLM_OK) {
                fprintf(stderr, "\nerror: %s\n", llm_session_last_error(s));
                rc = 1;
                break;
            }
            fwrite(piece, 1, len, stdout);
            tokens += id >= 0;
        }
    }
    printf("\n[%d tokens, stopped: %s]\n", tokens,
           llm_session_stop_reason(s) == LLM_STOP_CANCELLED ? "skipped by the player" : "done");
    llm_session_destroy(s);
    llm_model_close(model);
    return rc;
}
