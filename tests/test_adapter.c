/*
 * Low-rank adapters at inference:
 *  - the llama.cpp-format adapter GGUFs of ../shared/data/train (gpt2-tiny, stories260K) reproduce
 *    the PyTorch logits with and without the adapter;
 *  - an attached adapter at scale s gives the logits of the merged model (llm_model_export_merged)
 *    for decoders and for T5 (self- and cross-attention, feed-forward, output head);
 *  - detaching restores the base logits bit for bit; two adapters add up; forks keep adapters;
 *  - two sessions on one model with different adapters in parallel threads do not interfere;
 *  - a PEFT folder with the same values (written by tests/peft_writer.c) gives the same logits;
 *  - bad adapters are named errors: another architecture, a shape that does not fit, a missing
 *    partner or base, an embedding table, a model file, another model's adapter.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <llm/llm.h>

#include "common/dtype.h"
#include "model/gguf.h"
#include "peft_writer.h"
#include "testdata.h"

static llm_model *open_model(const char *path)
{
    llm_model *m = NULL;
    llm_status st = llm_model_open(path, NULL, &m);
    ck_assert_msg(st == LLM_OK, "open %s: %s", path, llm_last_error());
    return m;
}

static llm_adapter *open_adapter(llm_model *m, const char *path)
{
    llm_adapter *a = NULL;
    llm_status st = llm_adapter_open(m, path, &a);
    ck_assert_msg(st == LLM_OK, "adapter %s: %s", path, llm_last_error());
    ck_assert_ptr_nonnull(a);
    return a;
}

static llm_session *new_session(llm_model *m, uint32_t threads)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_ctx = 64;
    o.n_threads = threads;
    llm_session *s = NULL;
    ck_assert_msg(llm_session_create(m, &o, &s) == LLM_OK, "session: %s", llm_last_error());
    return s;
}

static size_t n_vocab(const llm_model *m)
{
    return llm_tokenizer_vocab_size(llm_model_tokenizer(m));
}

/* logits (n, V) of ids fed from an empty context (malloc'ed). */
static float *all_logits(llm_session *s, const int32_t *ids, size_t n)
{
    llm_session_reset(s);
    const size_t V = n_vocab(llm_session_model(s));
    float *out = malloc(n * V * sizeof *out);
    ck_assert_ptr_nonnull(out);
    llm_status st = llm_session_feed(s, ids, n, out, n * V);
    ck_assert_msg(st == LLM_OK, "feed: %s", llm_session_last_error(s));
    return out;
}

/* ---------------------------------------------------------------------------------------------- */
/* the reference adapters                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef struct ref_case {
    const char *key;         /* model key in train/manifest.json */
    const char *model;       /* relative to the data folder */
} ref_case;

static const ref_case refs[] = {
    {"gpt2-tiny-f32", "golden/models/gpt2-tiny-f32.gguf"},
    {"stories260K-f32", "models/stories260K/stories260K.gguf"},
};

/* logits_input_ids of a model's LoRA recipe. */
static size_t ref_ids(const char *key, int32_t *ids, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(llm_test_path("train/manifest.json"), 0, &jerr);
    ck_assert_msg(root, "train/manifest.json: %s", jerr.text);
    json_t *arr = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(root, "models"), key),
                                        "recipes"),
                        "lora"),
        "logits_input_ids");
    ck_assert_msg(json_is_array(arr), "%s: no lora.logits_input_ids", key);
    size_t n = json_array_size(arr);
    ck_assert_uint_le(n, cap);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    json_decref(root);
    return n;
}

static float *ref_file(const char *key, const char *file, size_t n)
{
    char rel[256];
    snprintf(rel, sizeof rel, "train/%s/lora/%s", key, file);
    size_t size = 0;
    float *f = llm_test_read_file(llm_test_path(rel), &size);
    ck_assert_msg(f, "cannot read %s", rel);
    ck_assert_uint_eq(size, n * sizeof(float));
    return f;
}

static char *adapter_path(const char *key)
{
    static char path[4][1024];
    static int k;
    char rel[256];
    snprintf(rel, sizeof rel, "train/%s/lora/adapter.gguf", key);
    char *p = path[k++ & 3];
    snprintf(p, 1024, "%s", llm_test_path(rel));
    return p;
}

START_TEST(reference_logits)
{
    const ref_case *c = &refs[_i];
    llm_model *m = open_model(llm_test_path(c->model));
    int32_t ids[64];
    const size_t n = ref_ids(c->key, ids, 64), V = n_vocab(m);
    float *want_ad = ref_file(c->key, "logits_with_adapter.f32", n * V);
    float *want_base = ref_file(c->key, "logits_base.f32", n * V);

    llm_session *s = new_session(m, 2);
    float *base0 = all_logits(s, ids, n);
    double e_base = llm_test_rel_err(base0, want_base, n * V);
    ck_assert_msg(e_base <= 1e-4, "%s base logits: rel err %.3g", c->key, e_base);

    llm_adapter *a = open_adapter(m, adapter_path(c->key));
    ck_assert_int_eq(llm_session_attach_adapter(s, a, 1.0f), LLM_OK);
    ck_assert_uint_eq(llm_session_n_adapters(s), 1);
    float *got = all_logits(s, ids, n);
    double e_ad = llm_test_rel_err(got, want_ad, n * V);
    fprintf(stderr, "%s: with adapter rel err %.3g, base %.3g\n", c->key, e_ad, e_base);
    ck_assert_msg(e_ad <= 1e-4, "%s logits with adapter: rel err %.3g", c->key, e_ad);
    /* the adapter really changes the logits (the reference differs by up to 0.23 / 6.1) */
    ck_assert_double_gt(llm_test_rel_err(got, base0, n * V), 1e-3);

    /* the same prompt token by token (one-row products, the KV cache) */
    llm_session_reset(s);
    for (size_t t = 0; t < n; t++) {
        ck_assert_int_eq(llm_session_feed(s, &ids[t], 1, NULL, 0), LLM_OK);
        size_t nv = 0;
        const float *l = llm_session_logits(s, &nv);
        double e = llm_test_rel_err(l, want_ad + t * V, V);
        ck_assert_msg(e <= 1e-4, "%s token %zu alone: rel err %.3g", c->key, t, e);
    }

    /* detaching restores the base bit for bit */
    ck_assert_int_eq(llm_session_detach_adapter(s, a), LLM_OK);
    ck_assert_uint_eq(llm_session_n_adapters(s), 0);
    float *back = all_logits(s, ids, n);
    ck_assert_msg(memcmp(back, base0, n * V * sizeof(float)) == 0,
                  "%s: logits after detaching differ from the base", c->key);
    /* detaching what is not attached is a named error */
    ck_assert_int_eq(llm_session_detach_adapter(s, a), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "not attached"));

    free(back);
    free(got);
    free(base0);
    free(want_ad);
    free(want_base);
    llm_session_destroy(s);
    llm_adapter_close(a);
    llm_model_close(m);
}
END_TEST

static char *temp_path(const char *suffix)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 256, "%s/llm-adapter-%ld-%d%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid(), k, suffix);
    return p;
}

/* attached at scale s == merged at scale s; two adapters add up; forks keep them */
START_TEST(merged_equals_attached)
{
    const ref_case *c = &refs[_i];
    llm_model *m = open_model(llm_test_path(c->model));
    int32_t ids[64];
    const size_t n = ref_ids(c->key, ids, 64), V = n_vocab(m);
    llm_adapter *a = open_adapter(m, adapter_path(c->key));
    llm_adapter *b = open_adapter(m, adapter_path(c->key));
    const float scale = 0.7f;

    llm_session *s = new_session(m, 2);
    ck_assert_int_eq(llm_session_attach_adapter(s, a, scale), LLM_OK);
    float *att = all_logits(s, ids, n);

    const char *out = temp_path(".gguf");
    llm_status st = llm_model_export_merged(m, &a, &scale, 1, out);
    ck_assert_msg(st == LLM_OK, "export: %s", llm_last_error());
    llm_model *mm = open_model(out);
    llm_session *sm = new_session(mm, 2);
    float *mer = all_logits(sm, ids, n);
    double e = llm_test_rel_err(att, mer, n * V);
    fprintf(stderr, "%s: attached vs merged at scale %.1f: rel err %.3g\n", c->key, scale, e);
    ck_assert_msg(e <= 1e-5, "%s: attached vs merged: rel err %.3g", c->key, e);

    /* two adapters (the same values) at 0.3 and 0.4 add up to one at 0.7 */
    ck_assert_int_eq(llm_session_attach_adapter(s, a, 0.3f), LLM_OK); /* a new scale */
    ck_assert_uint_eq(llm_session_n_adapters(s), 1);
    ck_assert_int_eq(llm_session_attach_adapter(s, b, 0.4f), LLM_OK);
    ck_assert_uint_eq(llm_session_n_adapters(s), 2);
    float *two = all_logits(s, ids, n);
    e = llm_test_rel_err(two, mer, n * V);
    ck_assert_msg(e <= 1e-5, "%s: two adapters vs merged: rel err %.3g", c->key, e);

    /* a fork computes with the same adapters */
    llm_session_reset(s);
    ck_assert_int_eq(llm_session_feed(s, ids, n / 2, NULL, 0), LLM_OK);
    llm_session *f = NULL;
    ck_assert_int_eq(llm_session_fork(s, &f), LLM_OK);
    ck_assert_uint_eq(llm_session_n_adapters(f), 2);
    float *rest = malloc((n - n / 2) * V * sizeof *rest);
    ck_assert_int_eq(llm_session_feed(f, ids + n / 2, n - n / 2, rest, (n - n / 2) * V), LLM_OK);
    e = llm_test_rel_err(rest, two + (n / 2) * V, (n - n / 2) * V);
    ck_assert_msg(e <= 1e-5, "%s: fork: rel err %.3g", c->key, e);

    /* adapters outlive the caller's handle while attached */
    llm_adapter_close(a);
    llm_adapter_close(b);
    float *again = all_logits(s, ids, n);
    ck_assert(memcmp(again, two, n * V * sizeof(float)) == 0);

    free(again);
    free(rest);
    free(two);
    free(mer);
    free(att);
    llm_session_destroy(f);
    llm_session_destroy(sm);
    llm_model_close(mm);
    unlink(out);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* adapters written here (internal GGUF builder)                                                  */
/* ---------------------------------------------------------------------------------------------- */

typedef struct fake_pair {
    const char *base;
    int64_t a_ne0, a_ne1, b_ne0, b_ne1;   /* 0: take the base's shape, rank 3 */
    const char *skip;                     /* "a" or "b": leave that tensor out */
} fake_pair;

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

static void add_random(llm_gguf *g, const char *name, int64_t ne0, int64_t ne1, float amp)
{
    float *d = malloc((size_t)(ne0 * ne1) * sizeof *d);
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = amp * frand();
    uint64_t ne[2] = {(uint64_t)ne0, (uint64_t)ne1};
    llm_error err = {0};
    ck_assert_msg(llm_gguf_add_tensor(g, name, LLM_DTYPE_F32, 2, ne, d, &err) == LLM_OK, "%s",
                  err.msg);
    free(d);
}

/* Writes an adapter for `model_path` with random pairs; returns the path. */
static const char *write_adapter(const char *model_path, const char *arch, const char *type,
                                 const fake_pair *pairs, size_t n)
{
    llm_error err = {0};
    llm_gguf *model = NULL;
    ck_assert_msg(llm_gguf_open(model_path, NULL, &model, &err) == LLM_OK, "%s", err.msg);
    llm_gguf *g = NULL;
    ck_assert(llm_gguf_create(&g, &err) == LLM_OK);
    llm_gguf_set_str(g, "general.architecture", arch, strlen(arch), &err);
    llm_gguf_set_str(g, "general.type", type, strlen(type), &err);
    llm_gguf_set_str(g, "adapter.type", "lora", 4, &err);
    llm_gguf_set_f32(g, "adapter.lora.alpha", 6.0f, &err);
    for (size_t i = 0; i < n; i++) {
        const llm_gguf_tensor *w = llm_gguf_find_tensor(model, pairs[i].base);
        int64_t n_in = w ? (int64_t)w->ne[0] : 8, n_out = w ? (int64_t)w->ne[1] : 8;
        int64_t a0 = pairs[i].a_ne0 ? pairs[i].a_ne0 : n_in, a1 = pairs[i].a_ne1 ? pairs[i].a_ne1 : 3;
        int64_t b0 = pairs[i].b_ne0 ? pairs[i].b_ne0 : 3, b1 = pairs[i].b_ne1 ? pairs[i].b_ne1 : n_out;
        char name[128];
        if (!pairs[i].skip || strcmp(pairs[i].skip, "a") != 0) {
            snprintf(name, sizeof name, "%s.lora_a", pairs[i].base);
            add_random(g, name, a0, a1, 1.0f / sqrtf((float)a0));
        }
        if (!pairs[i].skip || strcmp(pairs[i].skip, "b") != 0) {
            snprintf(name, sizeof name, "%s.lora_b", pairs[i].base);
            add_random(g, name, b0, b1, 0.05f);
        }
    }
    const char *path = temp_path(".gguf");
    ck_assert_msg(llm_gguf_write(g, path, &err) == LLM_OK, "%s", err.msg);
    llm_gguf_close(g);
    llm_gguf_close(model);
    return path;
}

/* greedy decoder steps of a T5 session: logits of the first decoder step and of `steps` more */
static float *t5_logits(llm_session *s, const int32_t *ids, size_t n, size_t steps, size_t V)
{
    float *out = malloc((steps + 1) * V * sizeof *out);
    llm_session_reset(s);
    llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.0);
    llm_session_set_int(s, LLM_PARAM_IGNORE_EOS, 1);
    ck_assert_int_eq(llm_session_feed(s, ids, n, out, V), LLM_OK);
    for (size_t k = 0; k < steps; k++) {
        int32_t id;
        llm_stop_reason why;
        ck_assert_int_eq(llm_session_step(s, &id, NULL, NULL, &why), LLM_OK);
        size_t nv = 0;
        memcpy(out + (k + 1) * V, llm_session_logits(s, &nv), V * sizeof(float));
    }
    return out;
}

static const char *const t5_models[] = {"golden/models/t5-tiny-relu-f32.gguf",
                                        "golden/models/t5-tiny-gated-f32.gguf"};

START_TEST(t5_attached_equals_merged)
{
    const char *mp = llm_test_path(t5_models[_i]);
    char model_path[1024];
    snprintf(model_path, sizeof model_path, "%s", mp);
    const fake_pair pairs[] = {
        {"enc.blk.0.attn_q.weight", 0, 0, 0, 0, NULL}, {"enc.blk.1.attn_v.weight", 0, 0, 0, 0, NULL},
        {"enc.blk.0.attn_o.weight", 0, 0, 0, 0, NULL}, {"enc.blk.1.ffn_up.weight", 0, 0, 0, 0, NULL},
        {"enc.blk.0.ffn_down.weight", 0, 0, 0, 0, NULL},
        {"dec.blk.0.attn_k.weight", 0, 0, 0, 0, NULL}, {"dec.blk.1.attn_o.weight", 0, 0, 0, 0, NULL},
        {"dec.blk.0.cross_attn_q.weight", 0, 0, 0, 0, NULL},
        {"dec.blk.0.cross_attn_k.weight", 0, 0, 0, 0, NULL},
        {"dec.blk.1.cross_attn_v.weight", 0, 0, 0, 0, NULL},
        {"dec.blk.1.cross_attn_o.weight", 0, 0, 0, 0, NULL},
        {"dec.blk.1.ffn_up.weight", 0, 0, 0, 0, NULL}, {"dec.blk.0.ffn_down.weight", 0, 0, 0, 0, NULL},
        {"output.weight", 0, 0, 0, 0, NULL},
        {"enc.blk.1.ffn_gate.weight", 0, 0, 0, 0, NULL},
    };
    const size_t n_pairs = _i == 1 ? 15 : 14; /* ffn_gate only in the gated model */
    const char *ap = write_adapter(model_path, "t5", "adapter", pairs, n_pairs);
    llm_model *m = open_model(model_path);
    llm_adapter *a = open_adapter(m, ap);
    const size_t V = n_vocab(m);
    const int32_t ids[] = {37, 5, 210, 99, 14, 77, 301, 1};
    const size_t n = sizeof ids / sizeof ids[0], steps = 4;

    llm_session *s = new_session(m, 2);
    float *base = t5_logits(s, ids, n, steps, V);
    const float scale = 1.5f;
    ck_assert_int_eq(llm_session_attach_adapter(s, a, scale), LLM_OK);
    float *att = t5_logits(s, ids, n, steps, V);
    ck_assert_double_gt(llm_test_rel_err(att, base, (steps + 1) * V), 1e-3);

    const char *out = temp_path(".gguf");
    ck_assert_msg(llm_model_export_merged(m, &a, &scale, 1, out) == LLM_OK, "%s",
                  llm_last_error());
    llm_model *mm = open_model(out);
    llm_session *sm = new_session(mm, 2);
    float *mer = t5_logits(sm, ids, n, steps, V);
    double e = llm_test_rel_err(att, mer, (steps + 1) * V);
    fprintf(stderr, "%s: attached vs merged: rel err %.3g\n", t5_models[_i], e);
    ck_assert_msg(e <= 1e-5, "t5 attached vs merged: rel err %.3g", e);

    ck_assert_int_eq(llm_session_detach_adapter(s, NULL), LLM_OK);
    float *back = t5_logits(s, ids, n, steps, V);
    ck_assert(memcmp(back, base, (steps + 1) * V * sizeof(float)) == 0);

    free(back);
    free(mer);
    free(att);
    free(base);
    llm_session_destroy(sm);
    llm_model_close(mm);
    llm_session_destroy(s);
    llm_adapter_close(a);
    llm_model_close(m);
    unlink(out);
    unlink(ap);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* parallel sessions                                                                              */
/* ---------------------------------------------------------------------------------------------- */

typedef struct worker {
    llm_session *s;
    const int32_t *ids;
    size_t n, V;
    const float *want;       /* (n, V) */
    int rounds;
    int mismatches;
} worker;

static void *work(void *p)
{
    worker *w = p;
    float *got = malloc(w->n * w->V * sizeof *got);
    for (int r = 0; r < w->rounds; r++) {
        llm_session_reset(w->s);
        if (llm_session_feed(w->s, w->ids, w->n, got, w->n * w->V) != LLM_OK ||
            memcmp(got, w->want, w->n * w->V * sizeof(float)) != 0)
            w->mismatches++;
    }
    free(got);
    return NULL;
}

START_TEST(parallel_sessions)
{
    const ref_case *c = &refs[0];
    llm_model *m = open_model(llm_test_path(c->model));
    int32_t ids[64];
    const size_t n = ref_ids(c->key, ids, 64), V = n_vocab(m);
    llm_adapter *a = open_adapter(m, adapter_path(c->key));
    const fake_pair pairs[] = {{"blk.0.attn_qkv.weight", 0, 0, 0, 0, NULL},
                               {"blk.1.ffn_down.weight", 0, 0, 0, 0, NULL},
                               {"output.weight", 0, 0, 0, 0, NULL}};
    const char *bp = write_adapter(llm_test_path(c->model), "gpt2", "adapter", pairs, 3);
    llm_adapter *b = open_adapter(m, bp);

    llm_session *s[3] = {new_session(m, 1), new_session(m, 2), new_session(m, 1)};
    ck_assert_int_eq(llm_session_attach_adapter(s[0], a, 1.0f), LLM_OK);
    ck_assert_int_eq(llm_session_attach_adapter(s[1], b, 2.0f), LLM_OK);
    /* s[2] has none */
    float *want[3];
    for (int i = 0; i < 3; i++)
        want[i] = all_logits(s[i], ids, n);
    ck_assert(memcmp(want[0], want[1], n * V * sizeof(float)) != 0);
    ck_assert(memcmp(want[0], want[2], n * V * sizeof(float)) != 0);

    worker w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){s[i], ids, n, V, want[i], 20, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].mismatches == 0, "session %d: %d rounds differ", i, w[i].mismatches);
        free(want[i]);
        llm_session_destroy(s[i]);
    }
    llm_adapter_close(a);
    llm_adapter_close(b);
    llm_model_close(m);
    unlink(bp);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* bad input                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

static void expect_error(llm_model *m, const char *path, llm_status want, const char *needle)
{
    llm_adapter *a = (llm_adapter *)(uintptr_t)1;
    llm_status st = llm_adapter_open(m, path, &a);
    ck_assert_msg(st == want, "%s: got %s (%s), expected %s", path, llm_status_string(st),
                  llm_last_error(), llm_status_string(want));
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(llm_last_error(), needle), "message '%s' does not say '%s'",
                  llm_last_error(), needle);
}

START_TEST(bad_adapters)
{
    char gpt2[1024], llama[1024];
    snprintf(gpt2, sizeof gpt2, "%s", llm_test_path(refs[0].model));
    snprintf(llama, sizeof llama, "%s", llm_test_path(refs[1].model));
    llm_model *mg = open_model(gpt2);
    llm_model *ml = open_model(llama);

    /* another architecture: the gpt2 adapter on the llama model */
    expect_error(ml, adapter_path("gpt2-tiny-f32"), LLM_ERR_INVALID_ARG,
                 "for architecture 'gpt2', the model is 'llama'");
    /* the model file itself is no adapter */
    expect_error(mg, gpt2, LLM_ERR_FORMAT, "general.type");
    expect_error(mg, "/nonexistent/adapter.gguf", LLM_ERR_IO, "/nonexistent/adapter.gguf");

    const fake_pair wrong_in[] = {{"blk.0.attn_qkv.weight", 32, 0, 0, 0, NULL}};
    const char *p = write_adapter(gpt2, "gpt2", "adapter", wrong_in, 1);
    expect_error(mg, p, LLM_ERR_INVALID_ARG, "'blk.0.attn_qkv.weight' [64,192] needs [64,rank]");
    unlink(p);
    const fake_pair wrong_out[] = {{"blk.1.ffn_up.weight", 0, 0, 0, 100, NULL}};
    p = write_adapter(gpt2, "gpt2", "adapter", wrong_out, 1);
    expect_error(mg, p, LLM_ERR_INVALID_ARG, "[rank,256]");
    unlink(p);
    const fake_pair wrong_rank[] = {{"blk.1.ffn_up.weight", 0, 0, 5, 0, NULL}};
    p = write_adapter(gpt2, "gpt2", "adapter", wrong_rank, 1);
    expect_error(mg, p, LLM_ERR_INVALID_ARG, "blk.1.ffn_up.weight.lora_b' [5,256]");
    unlink(p);
    const fake_pair no_b[] = {{"blk.0.ffn_up.weight", 0, 0, 0, 0, "b"}};
    p = write_adapter(gpt2, "gpt2", "adapter", no_b, 1);
    expect_error(mg, p, LLM_ERR_FORMAT, "has no partner 'blk.0.ffn_up.weight.lora_b'");
    unlink(p);
    const fake_pair no_a[] = {{"blk.0.ffn_up.weight", 0, 0, 0, 0, "a"}};
    p = write_adapter(gpt2, "gpt2", "adapter", no_a, 1);
    expect_error(mg, p, LLM_ERR_FORMAT, "has no partner 'blk.0.ffn_up.weight.lora_a'");
    unlink(p);
    const fake_pair no_base[] = {{"blk.7.ffn_up.weight", 0, 0, 0, 0, NULL}};
    p = write_adapter(gpt2, "gpt2", "adapter", no_base, 1);
    expect_error(mg, p, LLM_ERR_INVALID_ARG, "'blk.7.ffn_up.weight', which this gpt2 model");
    unlink(p);
    const fake_pair table[] = {{"token_embd.weight", 0, 0, 0, 0, NULL}};
    p = write_adapter(gpt2, "gpt2", "adapter", table, 1);
    expect_error(mg, p, LLM_ERR_UNSUPPORTED, "'token_embd.weight' is not supported");
    unlink(p);
    const fake_pair ok[] = {{"blk.0.ffn_up.weight", 0, 0, 0, 0, NULL}};
    p = write_adapter(gpt2, "gpt2", "model", ok, 1);
    expect_error(mg, p, LLM_ERR_FORMAT, "general.type is 'model'");
    unlink(p);

    /* another model's adapter cannot be attached or merged */
    llm_adapter *a = open_adapter(mg, adapter_path("gpt2-tiny-f32"));
    llm_model *mg2 = open_model(gpt2);
    llm_session *s2 = new_session(mg2, 1);
    ck_assert_int_eq(llm_session_attach_adapter(s2, a, 1.0f), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s2), "another model"));
    ck_assert_int_eq(llm_session_attach_adapter(s2, NULL, 1.0f), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_model_export_merged(mg2, &a, NULL, 1, temp_path(".gguf")),
                     LLM_ERR_INVALID_ARG);
    llm_session *s = new_session(mg, 1);
    ck_assert_int_eq(llm_session_attach_adapter(s, a, NAN), LLM_ERR_INVALID_ARG);
    ck_assert_uint_eq(llm_session_n_adapters(s), 0);
    llm_adapter *none = a; /* must come back NULL, whatever it held */
    ck_assert_int_eq(llm_adapter_open(NULL, gpt2, &none), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_null(none);
    llm_adapter_close(NULL);
    llm_adapter_close(a);

    llm_session_destroy(s);
    llm_session_destroy(s2);
    llm_model_close(mg2);
    llm_model_close(mg);
    llm_model_close(ml);
}
END_TEST


/* ---------------------------------------------------------------------------------------------- */
/* PEFT folders                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static const peft_fixture fixtures[] = {
    {"gpt2", 4, 4, NULL},
    {"llama", 8, 4, NULL},
};

START_TEST(peft_equals_gguf)
{
    const ref_case *c = &refs[_i];
    llm_model *m = open_model(llm_test_path(c->model));
    int32_t ids[64];
    const size_t n = ref_ids(c->key, ids, 64), V = n_vocab(m);
    const char *dir = temp_path(".peft");
    ck_assert_int_eq(peft_write_from_gguf(adapter_path(c->key), dir, &fixtures[_i]), 0);
    llm_adapter *p = open_adapter(m, dir);
    llm_adapter *g = open_adapter(m, adapter_path(c->key));
    llm_session *s = new_session(m, 2);
    ck_assert_int_eq(llm_session_attach_adapter(s, p, 1.0f), LLM_OK);
    float *from_peft = all_logits(s, ids, n);
    ck_assert_int_eq(llm_session_detach_adapter(s, p), LLM_OK);
    ck_assert_int_eq(llm_session_attach_adapter(s, g, 1.0f), LLM_OK);
    float *from_gguf = all_logits(s, ids, n);
    /* the same values reach the same matrices: the same bytes */
    ck_assert_msg(memcmp(from_peft, from_gguf, n * V * sizeof(float)) == 0,
                  "%s: PEFT folder and adapter GGUF differ (rel err %.3g)", c->key,
                  llm_test_rel_err(from_peft, from_gguf, n * V));
    float *want = ref_file(c->key, "logits_with_adapter.f32", n * V);
    double e = llm_test_rel_err(from_peft, want, n * V);
    fprintf(stderr, "%s: PEFT folder vs reference: rel err %.3g\n", c->key, e);
    ck_assert_msg(e <= 1e-4, "%s: PEFT vs reference: %.3g", c->key, e);
    free(want);
    free(from_gguf);
    free(from_peft);
    llm_session_destroy(s);
    llm_adapter_close(p);
    llm_adapter_close(g);
    peft_remove(dir);
    llm_model_close(m);
}
END_TEST

static void peft_expect(llm_model *m, const char *key, const peft_fixture *fx, llm_status want,
                        const char *needle)
{
    const char *dir = temp_path(".peft");
    ck_assert_int_eq(peft_write_from_gguf(adapter_path(key), dir, fx), 0);
    expect_error(m, dir, want, needle);
    peft_remove(dir);
}

START_TEST(bad_peft)
{
    llm_model *mg = open_model(llm_test_path(refs[0].model));
    llm_model *ml = open_model(llm_test_path(refs[1].model));
    /* a Llama adapter's modules on a GPT-2 model */
    peft_expect(mg, "stories260K-f32", &fixtures[1], LLM_ERR_UNSUPPORTED,
                "target module 'q_proj' is not supported for gpt2 (supported: c_attn, c_proj");
    /* unsupported target modules */
    const peft_fixture embed = {"llama", 8, 4,
                                "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8,"
                                " \"target_modules\": [\"q_proj\", \"embed_tokens\"]}"};
    peft_expect(ml, "stories260K-f32", &embed, LLM_ERR_UNSUPPORTED,
                "target module 'embed_tokens' is not supported for llama");
    const peft_fixture regex = {"llama", 8, 4,
                                "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8,"
                                " \"target_modules\": \".*proj\"}"};
    peft_expect(ml, "stories260K-f32", &regex, LLM_ERR_UNSUPPORTED, "regular expression");
    const peft_fixture dora = {"llama", 8, 4,
                               "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"use_dora\":"
                               " true, \"target_modules\": [\"q_proj\"]}"};
    peft_expect(ml, "stories260K-f32", &dora, LLM_ERR_UNSUPPORTED, "DoRA");
    const peft_fixture saved = {"gpt2", 4, 4,
                                "{\"r\": 4, \"lora_alpha\": 8, \"modules_to_save\": [\"score\"],"
                                " \"target_modules\": [\"c_attn\"]}"};
    peft_expect(mg, "gpt2-tiny-f32", &saved, LLM_ERR_UNSUPPORTED, "modules_to_save");
    /* tensors of modules the config does not list */
    const peft_fixture fewer = {"gpt2", 4, 4,
                                "{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"c_attn\"]}"};
    peft_expect(mg, "gpt2-tiny-f32", &fewer, LLM_ERR_FORMAT, "which is not in target_modules");
    const peft_fixture prefix = {"gpt2", 4, 4, "{\"r\": 4, \"lora_alpha\": 8, \"target_modules\""};
    peft_expect(mg, "gpt2-tiny-f32", &prefix, LLM_ERR_FORMAT, "adapter_config.json: line");
    /* a folder without a config */
    const char *empty = temp_path(".peft");
    mkdir(empty, 0755);
    expect_error(mg, empty, LLM_ERR_IO, "no adapter_config.json");
    rmdir(empty);
    llm_model_close(mg);
    llm_model_close(ml);
}
END_TEST

static Suite *adapter_suite(void)
{
    Suite *s = suite_create("adapter");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, reference_logits, 0, 2);
    tcase_add_loop_test(tc, merged_equals_attached, 0, 2);
    tcase_add_loop_test(tc, t5_attached_equals_merged, 0, 2);
    tcase_add_loop_test(tc, peft_equals_gguf, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, parallel_sessions);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bad_adapters);
    tcase_add_test(tc, bad_peft);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    llm_test_data_require(); /* every case reads the reference data */
    SRunner *sr = srunner_create(adapter_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
