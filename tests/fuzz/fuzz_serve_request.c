/*
 * libFuzzer target: the request parser of `llm serve` (tools/llm/serve/request.c). The first byte
 * picks the endpoint (completions, chat, embeddings), the rest is the body. A request that parses
 * is checked for the invariants the server relies on; one that fails is turned into the error
 * JSON the client would get.
 */
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    serve_kind kind = (serve_kind)(data[0] % 3);
    serve_limits lim;
    serve_limits_init(&lim);
    lim.n_vocab = 1000;
    lim.max_ids = 512;
    serve_request req;
    serve_error err;
    if (!serve_request_parse(kind, (const char *)data + 1, size - 1, &lim, &req, &err)) {
        if (err.status < 400 || err.status > 599)
            abort();
        char *json = serve_error_json(&err);
        if (!json)
            abort();
        free(json);
        return 0;
    }
    if (!req.model || req.n < 1 || req.n > lim.max_n || req.max_tokens > lim.max_tokens ||
        req.n_stops > SERVE_MAX_STOPS || (kind != SERVE_CHAT && req.n_prompts == 0) ||
        (kind == SERVE_CHAT && !req.messages_json))
        abort();
    for (size_t i = 0; i < req.n_prompts; i++) {
        const serve_prompt *p = &req.prompts[i];
        if (p->text && !serve_utf8_valid(p->text, p->text_len))
            abort();
        for (size_t k = 0; k < p->n_ids; k++)
            if (p->ids[k] < 0 || (uint32_t)p->ids[k] >= lim.n_vocab)
                abort();
    }
    for (size_t i = 0; i < req.n_bias; i++)
        if (req.bias_ids[i] < 0 || (uint32_t)req.bias_ids[i] >= lim.n_vocab)
            abort();
    serve_request_free(&req);
    return 0;
}
