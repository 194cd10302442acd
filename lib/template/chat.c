/*
 * The public chat-template calls: argument and JSON checks, the variables transformers'
 * apply_chat_template passes (messages, add_generation_prompt, tools, documents, bos_token,
 * eos_token), and the model's own template and special-token texts. The rendering itself is
 * template/render.c.
 */
#include <jansson.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "model/model.h"
#include "template/template.h"

void llm_chat_options_init(llm_chat_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
}

static llm_status parse_json(const char *text, const char *what, json_t **out, llm_error *err)
{
    json_error_t je;
    *out = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "%s is not valid JSON: %s (line %d, "
                             "column %d)", what, je.text, je.line, je.column);
    return LLM_OK;
}

static llm_status set_json(json_t *vars, const char *key, const char *text, const char *what,
                           bool want_array, llm_error *err)
{
    json_t *j = NULL;
    if (!text)
        return json_object_set_new(vars, key, json_null()) ? llm_error_set(err, LLM_ERR_NOMEM,
                                                                           "out of memory")
                                                           : LLM_OK;
    LLM_TRY(parse_json(text, what, &j, err));
    if (want_array && !json_is_array(j) && !json_is_null(j)) {
        json_decref(j);
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "%s must be a JSON array", what);
    }
    if (json_object_set_new(vars, key, j))
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    return LLM_OK;
}

static llm_status set_str(json_t *vars, const char *key, const char *s, llm_error *err)
{
    if (!s)
        return LLM_OK;   /* not passed: undefined in the template, as transformers does */
    json_t *j = json_string(s);
    if (!j)
        return llm_error_set(err, LLM_ERR_INVALID_ARG, "%s is not valid UTF-8", key);
    if (json_object_set_new(vars, key, j))
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    return LLM_OK;
}

static llm_status build_vars(const char *messages_json, const llm_chat_options *o,
                             const char *bos, const char *eos, json_t **out, llm_error *err)
{
    json_t *vars = json_object();
    if (!vars)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    json_t *msgs = NULL;
    llm_status st = parse_json(messages_json, "messages", &msgs, err);
    if (st == LLM_OK && !json_is_array(msgs))
        st = llm_error_set(err, LLM_ERR_INVALID_ARG, "messages must be a JSON array of "
                           "{\"role\", \"content\"} objects");
    if (st == LLM_OK) {
        json_object_set_new(vars, "messages", msgs);
        msgs = NULL;
    }
    json_decref(msgs);
    if (st == LLM_OK)
        st = set_json(vars, "tools", o->tools_json, "tools", true, err);
    if (st == LLM_OK)
        st = set_json(vars, "documents", o->documents_json, "documents", true, err);
    if (st == LLM_OK)
        json_object_set_new(vars, "add_generation_prompt",
                            json_boolean(o->add_generation_prompt != 0));
    if (st == LLM_OK)
        st = set_str(vars, "bos_token", bos, err);
    if (st == LLM_OK)
        st = set_str(vars, "eos_token", eos, err);
    if (st == LLM_OK && o->extra_json) {
        json_t *extra = NULL;
        st = parse_json(o->extra_json, "extra variables", &extra, err);
        if (st == LLM_OK && !json_is_object(extra))
            st = llm_error_set(err, LLM_ERR_INVALID_ARG, "extra variables must be a JSON "
                               "object");
        if (st == LLM_OK && json_object_get(extra, "messages"))
            st = llm_error_set(err, LLM_ERR_INVALID_ARG, "extra variables cannot replace "
                               "'messages'");
        if (st == LLM_OK)
            json_object_update(vars, extra);
        json_decref(extra);
    }
    if (st != LLM_OK) {
        json_decref(vars);
        return st;
    }
    *out = vars;
    return LLM_OK;
}

static llm_status render(const char *tpl, const char *messages_json, const llm_chat_options *opt,
                         const char *model_bos, const char *model_eos, char **out,
                         size_t *out_len, llm_error *err)
{
    llm_chat_options o;
    llm_chat_options_init(&o);
    if (opt)
        LLM_TRY(llm_copy_options(&o, sizeof o, opt,
                                 offsetof(llm_chat_options, extra_json) + sizeof o.extra_json,
                                 "llm_chat_options", err));
    json_t *vars = NULL;
    LLM_TRY(build_vars(messages_json, &o, o.bos_token ? o.bos_token : model_bos,
                       o.eos_token ? o.eos_token : model_eos, &vars, err));
    llm_tpl_limits lim;
    llm_tpl_limits_default(&lim);
    if (o.max_steps)
        lim.max_steps = o.max_steps;
    if (o.max_output)
        lim.max_output = o.max_output > SIZE_MAX ? SIZE_MAX : (size_t)o.max_output;
    if (o.max_depth)
        lim.max_depth = o.max_depth > 100000 ? 100000 : (uint32_t)o.max_depth;
    llm_status st = llm_tpl_render(tpl, strlen(tpl), vars, o.now, &lim, out, out_len, err);
    json_decref(vars);
    return st;
}

llm_status llm_chat_template_render(const char *template_text, const char *messages_json,
                                    const llm_chat_options *opt, char **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!template_text || !messages_json || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_chat_template_render: template_text, "
                        "messages_json and out must not be NULL");
    llm_error err = {0};
    if (render(template_text, messages_json, opt, NULL, NULL, out, out_len, &err) != LLM_OK)
        return llm_error_publish(&err);
    return LLM_OK;
}

const char *llm_model_chat_template(const llm_model *model)
{
    return model ? model->chat_template : NULL;
}

llm_status llm_model_chat_render(const llm_model *model, const char *messages_json,
                                 const llm_chat_options *opt, char **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!model || !messages_json || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_model_chat_render: model, messages_json and "
                        "out must not be NULL");
    if (!model->chat_template)
        return llm_fail(LLM_ERR_UNSUPPORTED, "%s has no chat template (no tokenizer.chat_template "
                        "in GGUF, no chat_template in tokenizer_config.json): give one with "
                        "llm_chat_template_render()", model->path ? model->path : "the model");
    llm_error err = {0};
    if (render(model->chat_template, messages_json, opt, model->bos_text, model->eos_text, out,
               out_len, &err) != LLM_OK)
        return llm_error_publish(&err);
    return LLM_OK;
}
