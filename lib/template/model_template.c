/*
 * Finds a model's chat template and the BOS/EOS texts transformers would pass with it:
 *  - GGUF: the `tokenizer.chat_template` string; BOS/EOS from the tokenizer's special ids.
 *  - Hugging Face folder: chat_template.jinja (newer transformers save it there), else
 *    `chat_template` in tokenizer_config.json (a string, or a list of {"name", "template"} of
 *    which "default" is taken); bos_token/eos_token from tokenizer_config.json (a string or an
 *    AddedToken object with "content"), else from the tokenizer's special ids.
 * A model without a template is not an error: the template calls then report UNSUPPORTED.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/path.h"
#include "model/model.h"
#include "template/template.h"
#include "tokenizer/tokenizer.h"

#define MAX_TEMPLATE_BYTES (4u << 20)

static llm_status read_text(const char *path, char **out, llm_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return llm_error_set(err, LLM_ERR_IO, "%s: cannot open", path);
    char *buf = llm_malloc(MAX_TEMPLATE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, MAX_TEMPLATE_BYTES + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || n > MAX_TEMPLATE_BYTES) {
        llm_mem_free(buf);
        return llm_error_set(err, bad ? LLM_ERR_IO : LLM_ERR_LIMIT,
                             bad ? "%s: read error" : "%s: larger than 4 MiB, not a chat template",
                             path);
    }
    buf[n] = '\0';
    *out = buf;
    return LLM_OK;
}

static char *token_text(const json_t *t)
{
    if (json_is_string(t))
        return llm_strdup(json_string_value(t));
    if (json_is_object(t) && json_is_string(json_object_get(t, "content")))
        return llm_strdup(json_string_value(json_object_get(t, "content")));
    return NULL;
}

static llm_status from_hf_folder(struct llm_model *m, const char *dir, llm_error *err)
{
    char *jinja = llm_path_join(dir, "chat_template.jinja");
    char *cfg_path = llm_path_join(dir, "tokenizer_config.json");
    llm_status st = jinja && cfg_path ? LLM_OK : llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    if (st == LLM_OK && llm_path_is_file(jinja))
        st = read_text(jinja, &m->chat_template, err);
    if (st == LLM_OK && llm_path_is_file(cfg_path)) {
        json_error_t je;
        json_t *cfg = json_load_file(cfg_path, 0, &je);
        if (!cfg) {
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s: line %d: %s", cfg_path, je.line, je.text);
        } else {
            const json_t *ct = json_object_get(cfg, "chat_template");
            if (!m->chat_template && json_is_string(ct)) {
                m->chat_template = llm_strdup(json_string_value(ct));
            } else if (!m->chat_template && json_is_array(ct)) {
                const json_t *pick = NULL;
                for (size_t i = 0; i < json_array_size(ct); i++) {
                    const json_t *e = json_array_get(ct, i);
                    const char *name = json_string_value(json_object_get(e, "name"));
                    if (!pick || (name && !strcmp(name, "default")))
                        pick = e;
                }
                if (pick && json_is_string(json_object_get(pick, "template")))
                    m->chat_template =
                        llm_strdup(json_string_value(json_object_get(pick, "template")));
            }
            m->bos_text = token_text(json_object_get(cfg, "bos_token"));
            m->eos_text = token_text(json_object_get(cfg, "eos_token"));
            json_decref(cfg);
        }
    }
    llm_mem_free(jinja);
    llm_mem_free(cfg_path);
    return st;
}

static char *special_text(const struct llm_model *m, llm_special_token which)
{
    int32_t id = llm_tokenizer_special(m->tok, which);
    size_t len = 0;
    const char *p = id >= 0 ? llm_tokenizer_piece(m->tok, id, &len) : NULL;
    return p ? llm_strndup(p, len) : NULL;
}

llm_status llm_model_load_chat_template(struct llm_model *m, const char *path, bool dir,
                                        llm_error *err)
{
    if (dir) {
        LLM_TRY(from_hf_folder(m, path, err));
    } else {
        const char *s = NULL;
        size_t len = 0;
        if (llm_gguf_get_str(m->gguf, "tokenizer.chat_template", &s, &len)) {
            m->chat_template = llm_strndup(s, len);
            if (!m->chat_template)
                return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
        }
    }
    if (!m->bos_text && m->tok)
        m->bos_text = special_text(m, LLM_TOKEN_BOS);
    if (!m->eos_text && m->tok)
        m->eos_text = special_text(m, LLM_TOKEN_EOS);
    return LLM_OK;
}
