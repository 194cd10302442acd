/*
 * Generation presets in YAML, read with libyaml's event parser (libyaml never leaks out of this
 * file). A preset is one mapping:
 *
 *   temperature: 0.7        top_k: 40        top_p: 0.9       min_p: 0.05     typical_p: 1.0
 *   repeat_penalty: 1.1     frequency_penalty: 0   presence_penalty: 0   penalty_last_n: 64
 *   seed: 42   max_tokens: 128   threads: 2   num_beams: 1   length_penalty: 1.0
 *   early_stopping: true   n_best: 1   ignore_eos: false
 *   stop: ["\n\n", "User:"]
 *
 * Aliases of anchored scalars (`temperature: &t 0.7` then `top_p: *t`) repeat the value.
 * Unknown keys and bad values are errors that name the file and the line. The whole file is
 * parsed before anything is applied, so a syntax error or an unknown key changes nothing; a value
 * the session rejects (out of range) stops the preset at that line.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/alloc.h"
#include "common/file_io.h"
#include "session/session.h"

typedef enum value_kind { V_FLOAT, V_INT, V_BOOL, V_STOP } value_kind;

static const struct {
    const char *key;
    llm_param param;
    value_kind kind;
} keys[] = {
    {"temperature", LLM_PARAM_TEMPERATURE, V_FLOAT},
    {"top_k", LLM_PARAM_TOP_K, V_INT},
    {"top_p", LLM_PARAM_TOP_P, V_FLOAT},
    {"min_p", LLM_PARAM_MIN_P, V_FLOAT},
    {"typical_p", LLM_PARAM_TYPICAL_P, V_FLOAT},
    {"repeat_penalty", LLM_PARAM_REPEAT_PENALTY, V_FLOAT},
    {"frequency_penalty", LLM_PARAM_FREQUENCY_PENALTY, V_FLOAT},
    {"presence_penalty", LLM_PARAM_PRESENCE_PENALTY, V_FLOAT},
    {"penalty_last_n", LLM_PARAM_PENALTY_LAST_N, V_INT},
    {"seed", LLM_PARAM_SEED, V_INT},
    {"max_tokens", LLM_PARAM_MAX_TOKENS, V_INT},
    {"threads", LLM_PARAM_N_THREADS, V_INT},
    {"num_beams", LLM_PARAM_NUM_BEAMS, V_INT},
    {"length_penalty", LLM_PARAM_LENGTH_PENALTY, V_FLOAT},
    {"early_stopping", LLM_PARAM_EARLY_STOPPING, V_BOOL},
    {"n_best", LLM_PARAM_N_BEST, V_INT},
    {"ignore_eos", LLM_PARAM_IGNORE_EOS, V_BOOL},
    {"stop", 0, V_STOP},
};

#define MAX_SETTINGS 64
#define PRESET_MAX_BYTES (1u << 20) /* a preset is a few lines; a larger file is not one */

typedef struct setting {
    int key;           /* index into keys */
    double f;
    int64_t i;
    char *stop;
    size_t line;
} setting;

#define MAX_ANCHORS 64

/* A scalar that carried an anchor (`&x 0.25`), for the aliases (`*x`) that repeat it. */
typedef struct anchor {
    char *name;
    char *value;
} anchor;

typedef struct preset {
    setting s[MAX_SETTINGS];
    int n;
    anchor a[MAX_ANCHORS];
    int n_anchors;
} preset;

/* Remembers an anchored scalar; a later anchor of the same name replaces it, as YAML says. */
static llm_status add_anchor(preset *p, const char *path, size_t line, const char *name,
                             const char *value, llm_error *err)
{
    for (int i = 0; i < p->n_anchors; i++)
        if (strcmp(p->a[i].name, name) == 0) {
            char *v = llm_strdup(value);
            LLM_CHECK(err, v, LLM_ERR_NOMEM, "out of memory");
            llm_mem_free(p->a[i].value);
            p->a[i].value = v;
            return LLM_OK;
        }
    LLM_CHECK(err, p->n_anchors < MAX_ANCHORS, LLM_ERR_LIMIT, "%s:%zu: more than %d anchors",
              path, line, MAX_ANCHORS);
    anchor *a = &p->a[p->n_anchors];
    a->name = llm_strdup(name);
    a->value = llm_strdup(value);
    if (!a->name || !a->value) {
        llm_mem_free(a->name);
        llm_mem_free(a->value);
        a->name = a->value = NULL;
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    }
    p->n_anchors++;
    return LLM_OK;
}

static const char *find_anchor(const preset *p, const char *name)
{
    for (int i = 0; i < p->n_anchors; i++)
        if (strcmp(p->a[i].name, name) == 0)
            return p->a[i].value;
    return NULL;
}

static int find_key(const char *k)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].key, k) == 0)
            return (int)i;
    return -1;
}

static llm_status parse_scalar(const char *path, size_t line, int key, const char *text,
                               setting *out, llm_error *err)
{
    out->key = key;
    out->line = line;
    char *end = NULL;
    errno = 0;
    switch (keys[key].kind) {
    case V_FLOAT:
        out->f = strtod(text, &end);
        LLM_CHECK(err, *text && !*end && !errno && isfinite(out->f), LLM_ERR_FORMAT,
                  "%s:%zu: '%s' needs a number, got '%s'", path, line, keys[key].key, text);
        return LLM_OK;
    case V_INT:
        out->i = strtoll(text, &end, 10);
        LLM_CHECK(err, *text && !*end && !errno, LLM_ERR_FORMAT,
                  "%s:%zu: '%s' needs an integer, got '%s'", path, line, keys[key].key, text);
        return LLM_OK;
    case V_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on")) {
            out->i = 1;
            return LLM_OK;
        }
        if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off")) {
            out->i = 0;
            return LLM_OK;
        }
        return llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: '%s' needs true or false, got '%s'",
                             path, line, keys[key].key, text);
    case V_STOP:
        LLM_CHECK(err, *text, LLM_ERR_FORMAT, "%s:%zu: an empty stop string", path, line);
        out->stop = llm_strdup(text);
        LLM_CHECK(err, out->stop, LLM_ERR_NOMEM, "out of memory");
        return LLM_OK;
    }
    return LLM_ERR_FORMAT;
}

/* Parses the whole file into `p` without touching any session. */
static llm_status parse(const char *path, const char *doc, size_t len, preset *p,
                        llm_error *err)
{
    yaml_parser_t parser;
    LLM_CHECK(err, yaml_parser_initialize(&parser), LLM_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)doc, len);
    enum { TOP, IN_MAP, IN_STOP_SEQ } state = TOP;
    int pending_key = -1;
    llm_status st = LLM_OK;
    bool done = false;
    while (!done && st == LLM_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: %s", path,
                               (size_t)parser.problem_mark.line + 1,
                               parser.problem ? parser.problem : "invalid YAML");
            break;
        }
        size_t line = (size_t)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_MAPPING_START_EVENT:
            if (state != TOP)
                st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: nested mappings are not allowed",
                                   path, line);
            state = IN_MAP;
            break;
        case YAML_MAPPING_END_EVENT:
            state = TOP;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (state == IN_MAP && pending_key >= 0 && keys[pending_key].kind == V_STOP)
                state = IN_STOP_SEQ;
            else
                st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: a list is only allowed for "
                                   "'stop'", path, line);
            break;
        case YAML_SEQUENCE_END_EVENT:
            state = IN_MAP;
            pending_key = -1;
            break;
        case YAML_ALIAS_EVENT:
        case YAML_SCALAR_EVENT: {
            const char *text;
            if (ev.type == YAML_ALIAS_EVENT) {
                /* aliases of scalars only: an anchored list or mapping is not a preset value */
                const char *name = (const char *)ev.data.alias.anchor;
                text = find_anchor(p, name);
                if (!text) {
                    st = llm_error_set(err, LLM_ERR_FORMAT,
                                       "%s:%zu: alias '*%s' does not name an anchored value "
                                       "earlier in the file", path, line, name);
                    break;
                }
            } else {
                text = (const char *)ev.data.scalar.value;
                if (ev.data.scalar.anchor &&
                    (st = add_anchor(p, path, line, (const char *)ev.data.scalar.anchor, text,
                                     err)) != LLM_OK)
                    break;
            }
            if (state == IN_STOP_SEQ || (state == IN_MAP && pending_key >= 0)) {
                if (p->n == MAX_SETTINGS) {
                    st = llm_error_set(err, LLM_ERR_LIMIT, "%s:%zu: too many settings", path,
                                       line);
                    break;
                }
                int key = state == IN_STOP_SEQ ? find_key("stop") : pending_key;
                st = parse_scalar(path, line, key, text, &p->s[p->n], err);
                if (st == LLM_OK)
                    p->n++;
                if (state == IN_MAP)
                    pending_key = -1;
            } else if (state == IN_MAP) {
                pending_key = find_key(text);
                if (pending_key < 0)
                    st = llm_error_set(err, LLM_ERR_FORMAT,
                                       "%s:%zu: unknown key '%s' (known: temperature, top_k, "
                                       "top_p, min_p, typical_p, repeat_penalty, "
                                       "frequency_penalty, presence_penalty, penalty_last_n, "
                                       "seed, max_tokens, threads, num_beams, length_penalty, "
                                       "early_stopping, n_best, ignore_eos, stop)",
                                       path, line, text);
            } else {
                st = llm_error_set(err, LLM_ERR_FORMAT,
                                   "%s:%zu: a preset is a mapping of keys to values", path, line);
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

static void preset_free(preset *p)
{
    for (int i = 0; i < p->n; i++)
        llm_mem_free(p->s[i].stop);
    for (int i = 0; i < p->n_anchors; i++) {
        llm_mem_free(p->a[i].name);
        llm_mem_free(p->a[i].value);
    }
}

llm_status llm_session_load_preset(llm_session *s, const char *path)
{
    if (!s || !path)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !s ? "session is NULL" : "path is NULL: name the preset file to load");
    llm_error err = {0};
    char *text = NULL;
    size_t len = 0;
    /* a directory or a missing file is an I/O error naming it, not a YAML syntax error */
    if (llm_io_read_file(path, "preset", PRESET_MAX_BYTES, &text, &len, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    preset *p = llm_calloc(1, sizeof *p);
    llm_status st =
        p ? parse(path, text, len, p, &err) : llm_error_set(&err, LLM_ERR_NOMEM, "out of memory");
    llm_mem_free(text);
    bool cleared_stops = false;
    for (int i = 0; st == LLM_OK && i < p->n; i++) {
        const setting *x = &p->s[i];
        switch (keys[x->key].kind) {
        case V_FLOAT:
            st = llm_session_set_float(s, keys[x->key].param, x->f);
            break;
        case V_INT:
        case V_BOOL:
            st = llm_session_set_int(s, keys[x->key].param, x->i);
            break;
        case V_STOP:
            if (!cleared_stops) {
                llm_session_clear_stops(s);
                cleared_stops = true;
            }
            st = llm_session_add_stop(s, x->stop);
            break;
        }
        if (st != LLM_OK) {
            llm_error_set(&err, st, "%s:%zu: '%s': %s", path, x->line, keys[x->key].key,
                          llm_session_last_error(s));
        }
    }
    if (p)
        preset_free(p);
    llm_mem_free(p);
    return st == LLM_OK ? LLM_OK : llm_session_fail(s, &err);
}
