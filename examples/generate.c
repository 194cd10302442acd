/*
 * The smallest complete program: open a model, stream a greedy continuation of a prompt.
 *   generate [MODEL.gguf [PROMPT]]
 * Without arguments it runs the project's own model (models/shakespeare-char.gguf, from the
 * repository root) on "ROMEO:".
 */
#include <stdio.h>

#include <llm/llm.h>

static int print_piece(void *user, int32_t id, const char *text, size_t len)
{
    (void)user;
    (void)id;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: %s [MODEL [PROMPT]]\n", argv[0]);
        return 2;
    }
    const char *path = argc > 1 ? argv[1] : "models/shakespeare-char.gguf";
    const char *prompt = argc > 2 ? argv[2] : "ROMEO:";
    llm_model *model = NULL;
    llm_session *session = NULL;
    llm_status st = llm_model_open(path, NULL, &model);
    if (st == LLM_OK)
        st = llm_session_create(model, NULL, &session);
    if (st == LLM_OK)
        st = llm_session_set_float(session, LLM_PARAM_TEMPERATURE, 0);
    if (st == LLM_OK)
        st = llm_session_set_int(session, LLM_PARAM_MAX_TOKENS, 48);
    if (st == LLM_OK)
        st = llm_session_generate_text(session, prompt, print_piece, NULL);
    putchar('\n');
    if (st != LLM_OK)
        fprintf(stderr, "error: %s: %s\n", llm_status_string(st), llm_last_error());
    llm_session_destroy(session);
    llm_model_close(model);
    return st == LLM_OK ? 0 : 1;
}
