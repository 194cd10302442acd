/*
 * The chat prompt of `llm serve`: the request's messages rendered through the model's chat
 * template (or the one given with --chat-template, with the model's BOS and EOS texts), ending
 * with the assistant's turn opener. The text becomes the job's one prompt; it is tokenized with
 * special-token parsing and without added BOS, since the template writes the BOS itself.
 */
#include <stdlib.h>
#include <string.h>

#include "routes.h"

/* The vocabulary text of a special token, NUL-terminated in `buf`, or NULL when absent. */
static const char *special_text(const llm_tokenizer *tok, llm_special_token which, char *buf,
                                size_t cap)
{
    int32_t id = llm_tokenizer_special(tok, which);
    size_t len = 0;
    const char *piece = id >= 0 ? llm_tokenizer_piece(tok, id, &len) : NULL;
    if (!piece || len >= cap)
        return NULL;
    memcpy(buf, piece, len);
    buf[len] = '\0';
    return buf;
}

bool serve_chat_prompt(serve_server *srv, serve_request *req, serve_error *e)
{
    llm_chat_options opt;
    llm_chat_options_init(&opt);
    opt.add_generation_prompt = 1;
    opt.tools_json = req->tools_json;
    char bos[256], eos[256];
    char *text = NULL;
    size_t len = 0;
    llm_status st;
    if (srv->cfg.chat_template) {
        opt.bos_token = special_text(srv->tok, LLM_TOKEN_BOS, bos, sizeof bos);
        opt.eos_token = special_text(srv->tok, LLM_TOKEN_EOS, eos, sizeof eos);
        st = llm_chat_template_render(srv->cfg.chat_template, req->messages_json, &opt, &text,
                                      &len);
    } else {
        st = llm_model_chat_render(srv->model, req->messages_json, &opt, &text, &len);
    }
    switch (st) {
    case LLM_OK: break;
    case LLM_ERR_UNSUPPORTED:
        return serve_fail(e, 400, "invalid_request_error", "unsupported_model", "messages",
                          "the model has no chat template: start the server with "
                          "--chat-template FILE, or use /v1/completions");
    case LLM_ERR_STATE: /* the template's raise_exception(): its words are for the caller */
    case LLM_ERR_FORMAT: /* an operation the messages' values do not support (or a broken
                          * template: the message names its line either way) */
    case LLM_ERR_INVALID_ARG:
    case LLM_ERR_LIMIT:
        return serve_fail(e, 400, "invalid_request_error", NULL, "messages",
                          "the chat template refused the messages: %s", llm_last_error());
    default:
        return serve_fail(e, 500, "server_error", NULL, NULL, "the chat template failed: %s: %s",
                          llm_status_string(st), llm_last_error());
    }
    req->prompts = calloc(1, sizeof *req->prompts);
    if (!req->prompts) {
        llm_free(text);
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    }
    req->prompts[0].text = malloc(len + 1);
    if (!req->prompts[0].text) {
        llm_free(text);
        free(req->prompts);
        req->prompts = NULL;
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    }
    memcpy(req->prompts[0].text, text, len + 1);
    req->prompts[0].text_len = len;
    req->n_prompts = 1;
    llm_free(text);
    return true;
}
