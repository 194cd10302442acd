/* Renders one reference case and compares it with what Python's Jinja2 produced. */
#include "chat_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

/* JSON text of a member, or NULL when it is absent or null. Free with free(). */
static char *member_json(const json_t *c, const char *key)
{
    const json_t *v = json_object_get(c, key);
    if (!v || json_is_null(v))
        return NULL;
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* The first differing byte, with some context on both sides. */
static void describe_diff(const char *got, size_t got_n, const char *want, size_t want_n,
                          char *why, size_t cap)
{
    size_t i = 0;
    while (i < got_n && i < want_n && got[i] == want[i])
        i++;
    size_t from = i > 20 ? i - 20 : 0;
    int gl = (int)((got_n - from) < 60 ? got_n - from : 60);
    int wl = (int)((want_n - from) < 60 ? want_n - from : 60);
    snprintf(why, cap, "differs at byte %zu (got %zu bytes, want %zu): got \"%.*s\" want \"%.*s\"",
             i, got_n, want_n, gl, got + from, wl, want + from);
}

bool chat_case_check(const json_t *c, const char *template_text, char *why, size_t cap)
{
    llm_chat_options o;
    llm_chat_options_init(&o);
    const json_t *agp = json_object_get(c, "add_generation_prompt");
    o.add_generation_prompt = agp && json_is_true(agp);
    o.bos_token = json_string_value(json_object_get(c, "bos_token"));
    o.eos_token = json_string_value(json_object_get(c, "eos_token"));
    char *tools = member_json(c, "tools");
    char *docs = member_json(c, "documents");
    char *extra = member_json(c, "extra");
    char *msgs = member_json(c, "messages");
    o.tools_json = tools;
    o.documents_json = docs;
    o.extra_json = extra;
    o.now = "2024-07-26T12:00:00";   /* the time the references were frozen at */
    char *out = NULL;
    size_t n = 0;
    llm_status st = llm_chat_template_render(template_text, msgs ? msgs : "[]", &o, &out, &n);
    bool ok;
    const json_t *want = json_object_get(c, "expected");
    const json_t *err = json_object_get(c, "error");
    if (want) {
        if (st != LLM_OK) {
            snprintf(why, cap, "failed (%s: %s) where the reference renders",
                     llm_status_string(st), llm_last_error());
            ok = false;
        } else {
            ok = n == json_string_length(want) && memcmp(out, json_string_value(want), n) == 0;
            if (!ok)
                describe_diff(out, n, json_string_value(want), json_string_length(want), why,
                              cap);
        }
    } else {
        const char *type = json_string_value(json_object_get(err, "type"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        if (st == LLM_OK) {
            snprintf(why, cap, "rendered %zu bytes where the reference raises %s", n,
                     type ? type : "?");
            ok = false;
        } else if (type && !strcmp(type, "TemplateError")) {
            /* raise_exception(msg): the exact message, reported as LLM_ERR_STATE */
            ok = st == LLM_ERR_STATE && msg && !strcmp(llm_last_error(), msg);
            if (!ok)
                snprintf(why, cap, "raised %s '%s', the reference raises TemplateError '%s'",
                         llm_status_string(st), llm_last_error(), msg ? msg : "");
        } else {
            ok = true;   /* Python's own exception texts are not ours to copy */
        }
    }
    llm_free(out);
    free(tools);
    free(docs);
    free(extra);
    free(msgs);
    return ok;
}
