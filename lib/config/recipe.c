/*
 * Training recipes in YAML (docs/TRAINING.md), read with libyaml's document loader, so anchors
 * and aliases resolve to the node they name, and YAML's merge key (`<<: *base`) copies a
 * mapping's keys into another (keys written in the mapping itself win). libyaml never leaks out
 * of this file.
 *
 * Every key is one row of `keys` below: its dotted name, kind, range and field. An unknown key,
 * a duplicate, a value of the wrong kind or out of range is LLM_ERR_FORMAT naming the file, the
 * line and the key; the rules between keys are checked by validate() once the file is read (and
 * again before a run, after any llm_recipe_set()).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/alloc.h"
#include "common/error.h"
#include "config/recipe.h"

typedef enum key_kind { K_INT, K_FLOAT, K_BOOL, K_STR, K_ENUM } key_kind;

typedef struct enum_name {
    const char *name;
    int32_t value;
} enum_name;

static const enum_name arch_names[] = {{"gpt2", LLM_ARCH_GPT2}, {"llama", LLM_ARCH_LLAMA}, {0}};
static const enum_name format_names[] = {
    {"auto", LLM_RECIPE_FORMAT_AUTO}, {"text", LLM_RECIPE_FORMAT_TEXT}, {"jsonl", LLM_RECIPE_FORMAT_JSONL}, {0}};
static const enum_name schedule_names[] = {
    {"cosine", LLM_RECIPE_SCHEDULE_COSINE}, {"constant", LLM_RECIPE_SCHEDULE_CONSTANT}, {0}};
static const enum_name type_names[] = {{"f32", 0}, {"f16", 1}, {"q8_0", 8}, {0}};

typedef struct recipe_key {
    const char *name;       /* "section.key" or "key" */
    key_kind kind;
    size_t offset;          /* of the field in struct llm_recipe */
    double lo, hi;          /* numbers: the allowed range */
    bool lo_open, hi_open;  /* whether lo / hi themselves are excluded */
    const enum_name *names; /* K_ENUM */
    bool new_model;         /* a hyper-parameter of a new model (not allowed with model.from) */
} recipe_key;

#define F(field) offsetof(struct llm_recipe, field)
#define BIG 1e15
static const recipe_key keys[] = {
    {"model.arch", K_ENUM, F(arch), 0, 0, 0, 0, arch_names, true},
    {"model.n_layer", K_INT, F(n_layer), 1, 1024, 0, 0, NULL, true},
    {"model.n_embd", K_INT, F(n_embd), 1, 65536, 0, 0, NULL, true},
    {"model.n_head", K_INT, F(n_head), 1, 1024, 0, 0, NULL, true},
    {"model.n_head_kv", K_INT, F(n_head_kv), 0, 1024, 0, 0, NULL, true},
    {"model.n_ff", K_INT, F(n_ff), 0, 1 << 20, 0, 0, NULL, true},
    {"model.n_ctx", K_INT, F(n_ctx), 2, 1 << 20, 0, 0, NULL, true},
    {"model.bias", K_BOOL, F(bias), 0, 0, 0, 0, NULL, true},
    {"model.tied_output", K_BOOL, F(tied_output), 0, 0, 0, 0, NULL, true},
    {"model.norm_eps", K_FLOAT, F(norm_eps), 0, 1, 1, 1, NULL, true},
    {"model.rope_theta", K_FLOAT, F(rope_theta), 0, BIG, 1, 0, NULL, true},
    {"model.tokenizer", K_STR, F(tokenizer), 0, 0, 0, 0, NULL, true},
    {"model.name", K_STR, F(name), 0, 0, 0, 0, NULL, true},
    {"model.from", K_STR, F(from), 0, 0, 0, 0, NULL, false},
    {"data.path", K_STR, F(data_path), 0, 0, 0, 0, NULL, false},
    {"data.format", K_ENUM, F(data_format), 0, 0, 0, 0, format_names, false},
    {"data.val_fraction", K_FLOAT, F(val_fraction), 0, 1, 0, 1, NULL, false},
    {"data.text_key", K_STR, F(text_key), 0, 0, 0, 0, NULL, false},
    {"data.add_eot", K_BOOL, F(add_eot), 0, 0, 0, 0, NULL, false},
    {"optimizer.lr", K_FLOAT, F(lr), 0, 10, 1, 0, NULL, false},
    {"optimizer.min_lr", K_FLOAT, F(min_lr), 0, 10, 0, 0, NULL, false},
    {"optimizer.beta1", K_FLOAT, F(beta1), 0, 1, 0, 1, NULL, false},
    {"optimizer.beta2", K_FLOAT, F(beta2), 0, 1, 0, 1, NULL, false},
    {"optimizer.eps", K_FLOAT, F(eps), 0, 1, 1, 1, NULL, false},
    {"optimizer.weight_decay", K_FLOAT, F(weight_decay), 0, 10, 0, 0, NULL, false},
    {"optimizer.grad_clip", K_FLOAT, F(grad_clip), 0, BIG, 0, 0, NULL, false},
    {"schedule.kind", K_ENUM, F(schedule), 0, 0, 0, 0, schedule_names, false},
    {"schedule.warmup_steps", K_INT, F(warmup_steps), 0, BIG, 0, 0, NULL, false},
    {"steps", K_INT, F(steps), 1, BIG, 0, 0, NULL, false},
    {"batch_size", K_INT, F(batch_size), 1, 65536, 0, 0, NULL, false},
    {"grad_accum", K_INT, F(grad_accum), 1, 65536, 0, 0, NULL, false},
    {"context", K_INT, F(context), 0, 1 << 20, 0, 0, NULL, false},
    {"eval.interval", K_INT, F(eval_interval), 0, BIG, 0, 0, NULL, false},
    {"eval.windows", K_INT, F(eval_windows), 0, BIG, 0, 0, NULL, false},
    {"log_interval", K_INT, F(log_interval), 1, BIG, 0, 0, NULL, false},
    {"checkpoint.dir", K_STR, F(checkpoint_dir), 0, 0, 0, 0, NULL, false},
    {"checkpoint.interval", K_INT, F(checkpoint_interval), 0, BIG, 0, 0, NULL, false},
    {"seed", K_INT, F(seed), 0, 9007199254740992.0, 0, 0, NULL, false},
    {"threads", K_INT, F(threads), 0, 1024, 0, 0, NULL, false},
    {"export.path", K_STR, F(export_path), 0, 0, 0, 0, NULL, false},
    {"export.type", K_ENUM, F(export_type), 0, 0, 0, 0, type_names, false},
};
#define N_KEYS (sizeof keys / sizeof keys[0])
_Static_assert(N_KEYS <= LLM_RECIPE_MAX_KEYS, "raise LLM_RECIPE_MAX_KEYS");

static const char *const sections[] = {"model", "data", "optimizer", "schedule", "eval",
                                       "checkpoint", "export"};

static int find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool is_section(const char *name)
{
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strcmp(sections[i], name) == 0)
            return true;
    return false;
}

/* The keys of a section ("" = the top level: its scalar keys and the sections), for messages. */
static void known_keys(const char *section, char *buf, size_t cap)
{
    size_t used = 0, plen = strlen(section);
    buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS && used < cap; i++) {
        const char *k = keys[i].name, *dot = strchr(k, '.');
        const char *shown = NULL;
        if (plen && dot && (size_t)(dot - k) == plen && strncmp(k, section, plen) == 0)
            shown = dot + 1;
        else if (!plen && !dot)
            shown = k;
        if (shown)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", shown);
    }
    if (!plen)
        for (size_t i = 0; i < sizeof sections / sizeof sections[0] && used < cap; i++)
            used += (size_t)snprintf(buf + used, cap - used, ", %s", sections[i]);
}

static void set_defaults(struct llm_recipe *r)
{
    r->arch = LLM_ARCH_GPT2;
    r->n_layer = 4;
    r->n_embd = 128;
    r->n_head = 4;
    r->n_ctx = 64;
    r->bias = true;
    r->tied_output = true;
    r->norm_eps = 1e-5;
    r->rope_theta = 10000.0;
    r->data_format = LLM_RECIPE_FORMAT_AUTO;
    r->val_fraction = 0.1;
    r->add_eot = true;
    r->lr = 1e-3;
    r->min_lr = 1e-4;
    r->beta1 = 0.9;
    r->beta2 = 0.99;
    r->eps = 1e-8;
    r->weight_decay = 0.1;
    r->grad_clip = 1.0;
    r->schedule = LLM_RECIPE_SCHEDULE_COSINE;
    r->warmup_steps = 100;
    r->steps = 2000;
    r->batch_size = 12;
    r->grad_accum = 1;
    r->eval_interval = 250;
    r->eval_windows = 0;
    r->log_interval = 10;
    r->checkpoint_interval = 0;
    r->export_type = 1;
}

void llm_recipe_where(const struct llm_recipe *r, const char *key, char *buf, size_t cap)
{
    int k = find_key(key);
    int32_t line = k >= 0 ? r->line[k] : 0;
    if (line > 0)
        snprintf(buf, cap, "%s:%d: ", r->path, line);
    else if (line < 0)
        snprintf(buf, cap, "--set %s: ", key);
    else
        snprintf(buf, cap, "%s: ", r->path);
}

static void range_text(const recipe_key *k, char *buf, size_t cap)
{
    if (k->hi >= BIG)
        snprintf(buf, cap, "%s %g", k->lo_open ? ">" : ">=", k->lo);
    else
        snprintf(buf, cap, "in %c%g, %g%c", k->lo_open ? '(' : '[', k->lo, k->hi,
                 k->hi_open ? ')' : ']');
}

/* Parses `text` as the value of key k into r; `where` prefixes a message ("FILE:LINE: "). */
static llm_status set_value(struct llm_recipe *r, int k, const char *text, const char *where,
                            llm_error *err)
{
    const recipe_key *key = &keys[k];
    char *field = (char *)r + key->offset;
    char range[64];
    range_text(key, range, sizeof range);
    char *end = NULL;
    errno = 0;
    switch (key->kind) {
    case K_INT: {
        long long v = strtoll(text, &end, 10);
        LLM_CHECK(err, *text && !*end && !errno, LLM_ERR_FORMAT,
                  "%s'%s' needs an integer %s, got '%s'", where, key->name, range, text);
        LLM_CHECK(err, v >= key->lo && v <= key->hi, LLM_ERR_FORMAT,
                  "%s'%s' needs an integer %s, got %lld", where, key->name, range, v);
        *(int64_t *)field = v;
        return LLM_OK;
    }
    case K_FLOAT: {
        double v = strtod(text, &end);
        LLM_CHECK(err, *text && !*end && !errno && isfinite(v), LLM_ERR_FORMAT,
                  "%s'%s' needs a number %s, got '%s'", where, key->name, range, text);
        bool ok = (key->lo_open ? v > key->lo : v >= key->lo) &&
                  (key->hi_open ? v < key->hi : v <= key->hi);
        LLM_CHECK(err, ok, LLM_ERR_FORMAT, "%s'%s' needs a number %s, got %s", where, key->name,
                  range, text);
        *(double *)field = v;
        return LLM_OK;
    }
    case K_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on")) {
            *(bool *)field = true;
            return LLM_OK;
        }
        if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off")) {
            *(bool *)field = false;
            return LLM_OK;
        }
        return llm_error_set(err, LLM_ERR_FORMAT, "%s'%s' needs true or false, got '%s'", where,
                             key->name, text);
    case K_STR: {
        LLM_CHECK(err, *text, LLM_ERR_FORMAT, "%s'%s' needs a non-empty string", where,
                  key->name);
        char *copy = llm_strdup(text);
        LLM_CHECK(err, copy, LLM_ERR_NOMEM, "out of memory");
        llm_mem_free(*(char **)field);
        *(char **)field = copy;
        return LLM_OK;
    }
    case K_ENUM: {
        char names[128] = "";
        size_t used = 0;
        for (const enum_name *e = key->names; e->name; e++) {
            if (!strcmp(text, e->name)) {
                *(int32_t *)field = e->value;
                return LLM_OK;
            }
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                     e->name);
        }
        return llm_error_set(err, LLM_ERR_FORMAT, "%s'%s' needs one of %s, got '%s'", where,
                             key->name, names, text);
    }
    }
    return LLM_ERR_FORMAT;
}

/* ---------------------------------------------------------------------------------------------- */
/* The YAML tree                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

typedef struct walker {
    struct llm_recipe *r;
    yaml_document_t *doc;
    llm_error *err;
} walker;

static size_t node_line(const yaml_node_t *n) { return (size_t)n->start_mark.line + 1; }

static const char *node_kind(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a value";
}

static llm_status walk_mapping(walker *w, const char *section, yaml_node_t *map, int depth,
                               bool from_merge);

/* `<<: *base` or `<<: [*a, *b]`: the mappings named are read first, at the same level. */
static llm_status walk_merge(walker *w, const char *section, yaml_node_t *v, int depth)
{
    if (v->type == YAML_MAPPING_NODE)
        return walk_mapping(w, section, v, depth + 1, true);
    if (v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *m = yaml_document_get_node(w->doc, *it);
            if (!m || m->type != YAML_MAPPING_NODE)
                return llm_error_set(w->err, LLM_ERR_FORMAT,
                                     "%s:%zu: a merge key ('<<') takes mappings", w->r->path,
                                     node_line(m ? m : v));
            llm_status st = walk_mapping(w, section, m, depth + 1, true);
            if (st != LLM_OK)
                return st;
        }
        return LLM_OK;
    }
    return llm_error_set(w->err, LLM_ERR_FORMAT,
                         "%s:%zu: a merge key ('<<') takes a mapping or a list of mappings, got "
                         "'%s'", w->r->path, node_line(v), (const char *)v->data.scalar.value);
}

static llm_status walk_mapping(walker *w, const char *section, yaml_node_t *map, int depth,
                               bool from_merge)
{
    struct llm_recipe *r = w->r;
    if (depth > 8)
        return llm_error_set(w->err, LLM_ERR_FORMAT, "%s:%zu: merge keys nested too deeply",
                             r->path, node_line(map));
    /* merges first, so that the mapping's own keys override what they bring */
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        if (kn && vn && kn->type == YAML_SCALAR_NODE &&
            !strcmp((const char *)kn->data.scalar.value, "<<")) {
            llm_status st = walk_merge(w, section, vn, depth);
            if (st != LLM_OK)
                return st;
        }
    }
    bool seen[N_KEYS + sizeof sections / sizeof sections[0]] = {0};
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        if (!kn || !vn)
            continue;
        size_t line = node_line(kn);
        if (kn->type != YAML_SCALAR_NODE)
            return llm_error_set(w->err, LLM_ERR_FORMAT, "%s:%zu: a key must be a plain name, "
                                 "not %s", r->path, line, node_kind(kn));
        const char *name = (const char *)kn->data.scalar.value;
        if (!strcmp(name, "<<"))
            continue;
        char full[128];
        snprintf(full, sizeof full, "%s%s%s", section, *section ? "." : "", name);
        if (!*section && is_section(name)) {
            size_t si = 0;
            while (strcmp(sections[si], name))
                si++;
            if (seen[N_KEYS + si])
                return llm_error_set(w->err, LLM_ERR_FORMAT, "%s:%zu: '%s' appears twice",
                                     r->path, line, name);
            seen[N_KEYS + si] = true;
            if (vn->type != YAML_MAPPING_NODE)
                return llm_error_set(w->err, LLM_ERR_FORMAT,
                                     "%s:%zu: '%s' needs a mapping of keys to values, got %s",
                                     r->path, line, name, node_kind(vn));
            llm_status st = walk_mapping(w, name, vn, 0, false);
            if (st != LLM_OK)
                return st;
            continue;
        }
        int k = find_key(full);
        if (k < 0) {
            char known[512];
            known_keys(section, known, sizeof known);
            return llm_error_set(w->err, LLM_ERR_FORMAT, "%s:%zu: unknown key '%s' (known%s%s: "
                                 "%s)", r->path, line, full, *section ? " in " : "", section,
                                 known);
        }
        if (seen[k])
            return llm_error_set(w->err, LLM_ERR_FORMAT, "%s:%zu: '%s' appears twice", r->path,
                                 line, full);
        seen[k] = true;
        if (vn->type != YAML_SCALAR_NODE)
            return llm_error_set(w->err, LLM_ERR_FORMAT, "%s:%zu: '%s' needs a value, got %s",
                                 r->path, node_line(vn), full, node_kind(vn));
        const char *text = (const char *)vn->data.scalar.value;
        bool plain = vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        char where[1100];
        snprintf(where, sizeof where, "%s:%zu: ", r->path, node_line(vn));
        if (plain && (!strcmp(text, "~") || !strcmp(text, "null") || !*text))
            return llm_error_set(w->err, LLM_ERR_FORMAT, "%s'%s' has no value", where, full);
        llm_status st = set_value(r, k, text, where, w->err);
        if (st != LLM_OK)
            return st;
        /* a key brought by a merge points at the line of its value in the anchored mapping */
        r->line[k] = (int32_t)node_line(vn);
        (void)from_merge;
    }
    return LLM_OK;
}

static llm_status parse_file(struct llm_recipe *r, FILE *f, llm_error *err)
{
    yaml_parser_t parser;
    LLM_CHECK(err, yaml_parser_initialize(&parser), LLM_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_file(&parser, f);
    yaml_document_t doc;
    llm_status st = LLM_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: %s%s%s", r->path,
                           (size_t)(parser.problem_mark.line + 1),
                           parser.context ? parser.context : "",
                           parser.context ? ": " : "",
                           parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        st = llm_error_set(err, LLM_ERR_FORMAT, "%s: the recipe is empty", r->path);
    else if (root->type != YAML_MAPPING_NODE)
        st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: a recipe is a mapping of keys to values "
                           "(model:, data:, steps: ...)", r->path, node_line(root));
    else {
        walker w = {r, &doc, err};
        st = walk_mapping(&w, "", root, 0, false);
    }
    yaml_document_delete(&doc);
    if (st == LLM_OK) { /* a second document is a mistake, not something to ignore */
        yaml_document_t more;
        if (yaml_parser_load(&parser, &more)) {
            if (yaml_document_get_root_node(&more))
                st = llm_error_set(err, LLM_ERR_FORMAT, "%s:%zu: a recipe is one YAML document; "
                                   "remove the second one ('---')", r->path,
                                   (size_t)more.start_mark.line + 1);
            yaml_document_delete(&more);
        }
    }
    yaml_parser_delete(&parser);
    return st;
}

/* ---------------------------------------------------------------------------------------------- */
/* Rules between keys                                                                             */
/* ---------------------------------------------------------------------------------------------- */

static llm_status validate(const struct llm_recipe *r, llm_error *err)
{
    char where[1100];
    if (!r->data_path)
        return llm_error_set(err, LLM_ERR_FORMAT, "%s: 'data.path' is required (the text or "
                             "JSONL file to train on)", r->path);
    if (r->from) {
        for (size_t k = 0; k < N_KEYS; k++) {
            if (keys[k].new_model && r->line[k]) {
                llm_recipe_where(r, keys[k].name, where, sizeof where);
                return llm_error_set(err, LLM_ERR_FORMAT, "%s'%s' describes a new model, but "
                                     "'model.from' starts from a file: keep one of them", where,
                                     keys[k].name);
            }
        }
        return LLM_OK;
    }
    llm_recipe_where(r, "model.n_embd", where, sizeof where);
    LLM_CHECK(err, r->n_embd % r->n_head == 0, LLM_ERR_FORMAT,
              "%s'model.n_embd' %lld is not a multiple of 'model.n_head' %lld", where,
              (long long)r->n_embd, (long long)r->n_head);
    if (r->n_head_kv) {
        llm_recipe_where(r, "model.n_head_kv", where, sizeof where);
        LLM_CHECK(err, r->n_head % r->n_head_kv == 0, LLM_ERR_FORMAT,
                  "%s'model.n_head' %lld is not a multiple of 'model.n_head_kv' %lld", where,
                  (long long)r->n_head, (long long)r->n_head_kv);
    }
    if (r->arch == LLM_ARCH_LLAMA) {
        int k = find_key("model.bias");
        if (r->line[k] && r->bias) {
            llm_recipe_where(r, "model.bias", where, sizeof where);
            return llm_error_set(err, LLM_ERR_FORMAT, "%s'model.bias' is true, but a llama "
                                 "model has no biases", where);
        }
    }
    llm_recipe_where(r, "context", where, sizeof where);
    LLM_CHECK(err, r->context <= r->n_ctx, LLM_ERR_FORMAT,
              "%s'context' %lld is longer than the model's 'model.n_ctx' %lld", where,
              (long long)r->context, (long long)r->n_ctx);
    llm_recipe_where(r, "optimizer.min_lr", where, sizeof where);
    LLM_CHECK(err, r->min_lr <= r->lr, LLM_ERR_FORMAT,
              "%s'optimizer.min_lr' %g is above 'optimizer.lr' %g", where, r->min_lr, r->lr);
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Public calls                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

char *llm_recipe_resolve(const struct llm_recipe *r, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/' || !r->dir[0])
        return llm_strdup(path);
    size_t n = strlen(r->dir) + strlen(path) + 2;
    char *out = llm_malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", r->dir, path);
    return out;
}

void llm_recipe_close(llm_recipe *r)
{
    if (!r)
        return;
    for (size_t k = 0; k < N_KEYS; k++)
        if (keys[k].kind == K_STR)
            llm_mem_free(*(char **)((char *)r + keys[k].offset));
    llm_mem_free(r->path);
    llm_mem_free(r->dir);
    llm_mem_free(r);
}

llm_status llm_recipe_open(const char *path, llm_recipe **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_recipe_open: NULL argument");
    llm_error err = {0};
    struct llm_recipe *r = llm_calloc(1, sizeof *r);
    if (r) {
        r->path = llm_strdup(path);
        const char *slash = strrchr(path, '/');
        r->dir = slash ? llm_strndup(path, (size_t)(slash - path + (slash == path))) : llm_strdup("");
    }
    if (!r || !r->path || !r->dir) {
        llm_recipe_close(r);
        return llm_fail(LLM_ERR_NOMEM, "out of memory");
    }
    set_defaults(r);
    r->checkpoint_dir = llm_strdup("checkpoints");
    if (!r->checkpoint_dir) {
        llm_recipe_close(r);
        return llm_fail(LLM_ERR_NOMEM, "out of memory");
    }
    FILE *f = fopen(path, "rb");
    llm_status st;
    if (!f) {
        st = llm_error_set(&err, LLM_ERR_IO, "cannot open the recipe '%s': %s", path,
                           strerror(errno));
    } else {
        st = parse_file(r, f, &err);
        fclose(f);
        if (st == LLM_OK)
            st = validate(r, &err);
    }
    if (st != LLM_OK) {
        llm_recipe_close(r);
        return llm_error_publish(&err);
    }
    *out = r;
    return LLM_OK;
}

llm_status llm_recipe_set(llm_recipe *r, const char *key, const char *value)
{
    if (!r || !key || !value)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_recipe_set: NULL argument");
    llm_error err = {0};
    int k = find_key(key);
    if (k < 0) {
        char known[1024] = "";
        size_t used = 0;
        for (size_t i = 0; i < N_KEYS; i++)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                     keys[i].name);
        return llm_fail(LLM_ERR_FORMAT, "--set: unknown key '%s' (known: %s)", key, known);
    }
    char where[160];
    snprintf(where, sizeof where, "--set %s: ", key);
    llm_status st = set_value(r, k, value, where, &err);
    if (st != LLM_OK)
        return llm_error_publish(&err);
    r->line[k] = -1;
    return LLM_OK;
}

llm_status llm_recipe_validate(const llm_recipe *r)
{
    if (!r)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_recipe_validate: NULL argument");
    llm_error err = {0};
    llm_status st = validate(r, &err);
    return st == LLM_OK ? LLM_OK : llm_error_publish(&err);
}

llm_status llm_recipe_get(const llm_recipe *r, const char *key, char *buf, size_t cap,
                          size_t *len_out)
{
    if (len_out)
        *len_out = 0;
    if (!r || !key || (!buf && cap))
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_recipe_get: NULL argument");
    int k = find_key(key);
    if (k < 0)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_recipe_get: unknown key '%s'", key);
    const char *field = (const char *)r + keys[k].offset;
    char tmp[64] = "";
    const char *text = tmp;
    switch (keys[k].kind) {
    case K_INT: snprintf(tmp, sizeof tmp, "%lld", (long long)*(const int64_t *)field); break;
    case K_FLOAT: snprintf(tmp, sizeof tmp, "%.17g", *(const double *)field); break;
    case K_BOOL: text = *(const bool *)field ? "true" : "false"; break;
    case K_STR: text = *(char *const *)field ? *(char *const *)field : ""; break;
    case K_ENUM:
        text = "";
        for (const enum_name *e = keys[k].names; e->name; e++)
            if (e->value == *(const int32_t *)field)
                text = e->name;
        break;
    }
    size_t len = strlen(text);
    if (len_out)
        *len_out = len;
    if (!buf)
        return LLM_OK;
    if (cap <= len)
        return llm_fail(LLM_ERR_BUFFER_TOO_SMALL, "llm_recipe_get: '%s' needs %zu bytes", key,
                        len + 1);
    memcpy(buf, text, len + 1);
    return LLM_OK;
}
