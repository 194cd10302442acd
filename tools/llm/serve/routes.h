/* The endpoint table of `llm serve` and the chat prompt renderer (chat.c). */
#ifndef LLM_SERVE_ROUTES_H
#define LLM_SERVE_ROUTES_H

#include "serve.h"

typedef struct serve_route_entry {
    const char *path;
    const char *method;
    serve_endpoint ep;
} serve_route_entry;

/* Renders req->messages_json with the model's chat template (or --chat-template) into one text
 * prompt, req->prompts[0]. false with `e` set when the template fails or there is none. */
bool serve_chat_prompt(serve_server *srv, serve_request *req, serve_error *e);

#endif /* LLM_SERVE_ROUTES_H */
