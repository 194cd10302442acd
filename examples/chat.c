/*
 * A chat loop that keeps one session across turns: each turn appends the user's line to the
 * conversation, streams the reply, and stops before the model starts the next "User:" line.
 * The session reuses the cached conversation, so each turn only evaluates the new text.
 *   chat MODEL.gguf [LINE...]     (lines from the arguments, else from stdin)
 */
#include <stdio.h>
#include <string.h>

#include <llm/llm.h>

typedef struct reply {
    char text[2048];
    size_t len;
} reply;

/* Streams each piece to the terminal and keeps it for the conversation. */
static int on_piece(void *user, int32_t id, const char *text, size_t len)
{
    reply *r = user;
    (void)id;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    if (r->len + len < sizeof r->text) {
        memcpy(r->text + r->len, text, len);
        r->len += len;
        r->text[r->len] = '\0';
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [LINE...]\n", argv[0]);
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
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0);
    llm_session_set_float(s, LLM_PARAM_REPEAT_PENALTY, 1.1);
    llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 40);
    llm_session_add_stop(s, "User:");
    llm_session_add_stop(s, "\n\n");

    char conversation[16384] = "";
    char line[1024];
    int turn = 0, rc = 0;
    for (;;) {
        const char *user;
        if (argc > 2) {
            if (2 + turn >= argc)
                break;
            user = argv[2 + turn];
        } else {
            if (!fgets(line, sizeof line, stdin))
                break;
            line[strcspn(line, "\n")] = '\0';
            user = line;
        }
        turn++;
        size_t used = strlen(conversation);
        snprintf(conversation + used, sizeof conversation - used, "User: %s\nBot:", user);
        printf("User: %s\nBot:", user);
        /* the whole conversation is the prompt; its cached prefix is not evaluated again */
        reply r = {{0}, 0};
        llm_status st = llm_session_generate_text(s, conversation, on_piece, &r);
        if (st != LLM_OK) {
            fprintf(stderr, "\nerror: %s\n", llm_session_last_error(s));
            rc = 1;
            break;
        }
        printf("\n");
        /* keep the reply in the conversation for the next turn */
        used = strlen(conversation);
        snprintf(conversation + used, sizeof conversation - used, "%s\n", r.text);
    }
    llm_session_destroy(s);
    llm_model_close(model);
    return rc;
}
