/* Reads the golden manifest with jansson (see golden.h). */
#include "golden.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdata.h"

static json_t *manifest(void)
{
    static json_t *root;
    if (!root) {
        json_error_t e;
        root = json_load_file(llm_test_path("golden/manifest.json"), 0, &e);
        if (!root) {
            fprintf(stderr, "cannot read golden/manifest.json: %s (line %d)\n", e.text, e.line);
            exit(1);
        }
    }
    return root;
}

static json_t *model_entry(const char *key)
{
    json_t *models = json_object_get(manifest(), "models");
    if (json_is_object(models))
        return json_object_get(models, key);
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m)
    {
        const char *k = json_string_value(json_object_get(m, "key"));
        if (!k)
            k = json_string_value(json_object_get(m, "name"));
        if (k && strcmp(k, key) == 0)
            return m;
    }
    return NULL;
}

static double tolerance_for(const char *wtype)
{
    json_t *tols = json_object_get(manifest(), "tolerances");
    json_t *t = json_object_get(tols, wtype);
    if (json_is_number(t))
        return json_number_value(t);
    if (json_is_object(t)) {
        json_t *v = json_object_get(t, "max_abs_over_max_ref");
        if (!json_is_number(v))
            v = json_object_get(t, "tolerance");
        if (json_is_number(v))
            return json_number_value(v);
    }
    /* the README's table */
    return strcmp(wtype, "f32") == 0 || strcmp(wtype, "f16") == 0 ? 0.002 : 0.05;
}

static void fill(golden_case *c, json_t *jc)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", json_string_value(json_object_get(jc, "name")));
    snprintf(c->arch, sizeof c->arch, "%s", json_string_value(json_object_get(jc, "arch")));
    snprintf(c->weight_type, sizeof c->weight_type, "%s",
             json_string_value(json_object_get(jc, "weight_type")));
    const char *model = json_string_value(json_object_get(jc, "model"));
    json_t *me = model_entry(model);
    const char *file = me ? json_string_value(json_object_get(me, "file")) : NULL;
    char rel[512];
    if (file)
        snprintf(rel, sizeof rel, "golden/%s", file);
    else
        snprintf(rel, sizeof rel, "golden/models/%s.gguf", model);
    snprintf(c->model_path, sizeof c->model_path, "%s", llm_test_path(rel));
    json_t *in = json_object_get(jc, "input");
    json_t *ids = json_object_get(in, "ids");
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (c->n_ids < 256)
            c->ids[c->n_ids++] = (int32_t)json_integer_value(v);
    }
    const char *text = json_string_value(json_object_get(in, "text"));
    if (text)
        snprintf(c->text, sizeof c->text, "%s", text);
    json_t *g = json_object_get(jc, "greedy");
    json_array_foreach(json_object_get(g, "ids"), i, v)
    {
        if (c->n_greedy < 64)
            c->greedy[c->n_greedy++] = (int32_t)json_integer_value(v);
    }
    json_array_foreach(json_object_get(g, "margins"), i, v)
    {
        if (i < 64)
            c->margins[i] = (float)json_number_value(v);
    }
    c->max_abs_logit = json_number_value(json_object_get(jc, "max_abs_logit"));
    c->tol = tolerance_for(c->weight_type);
}

size_t golden_cases(const char *arch, golden_case *out, size_t cap)
{
    json_t *cases = json_object_get(manifest(), "cases");
    size_t n = 0, i;
    json_t *jc;
    json_array_foreach(cases, i, jc)
    {
        const char *a = json_string_value(json_object_get(jc, "arch"));
        if (!a || strcmp(a, arch) != 0)
            continue;
        if (n < cap)
            fill(&out[n], jc);
        n++;
    }
    return n;
}

float *golden_output(const golden_case *c, const char *which, size_t *rows, size_t *cols)
{
    json_t *cases = json_object_get(manifest(), "cases");
    size_t i;
    json_t *jc;
    json_array_foreach(cases, i, jc)
    {
        if (strcmp(json_string_value(json_object_get(jc, "name")), c->name) != 0)
            continue;
        json_t *o = json_object_get(json_object_get(jc, "outputs"), which);
        if (!o)
            return NULL;
        json_t *shape = json_object_get(o, "shape");
        size_t nd = json_array_size(shape);
        *rows = nd >= 1 ? (size_t)json_integer_value(json_array_get(shape, 0)) : 1;
        *cols = nd >= 2 ? (size_t)json_integer_value(json_array_get(shape, 1)) : 1;
        if (nd == 1) {
            *cols = *rows;
            *rows = 1;
        }
        char rel[512];
        snprintf(rel, sizeof rel, "golden/%s", json_string_value(json_object_get(o, "file")));
        size_t size = 0;
        float *data = llm_test_read_file(llm_test_path(rel), &size);
        if (!data || size != *rows * *cols * sizeof(float)) {
            fprintf(stderr, "golden output %s has %zu bytes, expected %zu\n", rel, size,
                    *rows * *cols * sizeof(float));
            exit(1);
        }
        return data;
    }
    return NULL;
}
