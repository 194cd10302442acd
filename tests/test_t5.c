/*
 * T5 against the golden reference (../shared/data/golden): for each of the 8 T5 cases (relu and
 * gated-GELU models, f32 and q8_0 weights, fixed-id and text inputs) the encoder output, the
 * decoder logits of every golden greedy step (one token at a time with the KV cache, and as one
 * batch), and free-running greedy ids up to the first step whose golden margin is too small to
 * decide. Every run is repeated with 1 and 2 threads, which must agree bit for bit. Then the same
 * through the public session API (feed + step), the text cases through the model's tokenizer,
 * and the error paths.
 *
 * Internal test: it drives the architecture's encode/decode directly with its own run, so a
 * failure here points at lib/arch/t5.c rather than at the session code.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "model/model.h"
#include "session/kv_cache.h"
#include "session/session.h"
#include "arch/arch.h"
#include "testdata.h"

#define MAX_STEPS 64

typedef struct golden_case {
    char name[96];
    char model_path[4096];
    double tol;
    int32_t *ids;
    size_t n_ids;
    char *text;
    float *enc;               /* (enc_rows, n_embd) */
    size_t enc_rows, enc_cols;
    float *dec;               /* (dec_rows, n_vocab) */
    size_t dec_rows, dec_cols;
    int32_t greedy[MAX_STEPS];
    double margins[MAX_STEPS];
    size_t n_greedy;
    double max_abs_logit;
    int32_t start, eos;
} golden_case;

static const char *const case_names[] = {
    "t5-tiny-relu-f32.ids",  "t5-tiny-relu-f32.text",  "t5-tiny-relu-q8_0.ids",
    "t5-tiny-relu-q8_0.text", "t5-tiny-gated-f32.ids", "t5-tiny-gated-f32.text",
    "t5-tiny-gated-q8_0.ids", "t5-tiny-gated-q8_0.text",
};
#define N_CASES ((int)(sizeof case_names / sizeof case_names[0]))

static float *read_f32(const char *rel, size_t expect)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", llm_test_path(rel));
    size_t size = 0;
    float *p = llm_test_read_file(path, &size);
    ck_assert_msg(p != NULL, "cannot read %s", path);
    ck_assert_msg(size == expect * sizeof(float), "%s has %zu bytes, expected %zu", path, size,
                  expect * sizeof(float));
    return p;
}

static void load_case(const char *name, golden_case *gc)
{
    memset(gc, 0, sizeof *gc);
    json_error_t jerr;
    json_t *man = json_load_file(llm_test_path("golden/manifest.json"), 0, &jerr);
    ck_assert_msg(man != NULL, "manifest.json: %s (line %d)", jerr.text, jerr.line);
    json_t *cases = json_object_get(man, "cases"), *c = NULL;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *ci = json_array_get(cases, i);
        if (strcmp(json_string_value(json_object_get(ci, "name")), name) == 0)
            c = ci;
    }
    ck_assert_msg(c != NULL, "case %s is not in the manifest", name);
    snprintf(gc->name, sizeof gc->name, "%s", name);
    const char *model = json_string_value(json_object_get(c, "model"));
    json_t *mj = json_object_get(json_object_get(man, "models"), model);
    char rel[512];
    snprintf(rel, sizeof rel, "golden/%s", json_string_value(json_object_get(mj, "file")));
    snprintf(gc->model_path, sizeof gc->model_path, "%s", llm_test_path(rel));
    const char *wt = json_string_value(json_object_get(c, "weight_type"));
    gc->tol = json_number_value(json_object_get(json_object_get(man, "tolerances"), wt));
    ck_assert_msg(gc->tol > 0, "no tolerance for weight type %s", wt);

    json_t *input = json_object_get(c, "input");
    json_t *ids = json_object_get(input, "ids");
    gc->n_ids = json_array_size(ids);
    gc->ids = malloc(gc->n_ids * sizeof *gc->ids);
    for (size_t i = 0; i < gc->n_ids; i++)
        gc->ids[i] = (int32_t)json_integer_value(json_array_get(ids, i));
    const char *text = json_string_value(json_object_get(input, "text"));
    gc->text = text ? strdup(text) : NULL;

    json_t *outs = json_object_get(c, "outputs");
    json_t *enc = json_object_get(outs, "encoder"), *dec = json_object_get(outs, "decoder_logits");
    gc->enc_rows = (size_t)json_integer_value(json_array_get(json_object_get(enc, "shape"), 0));
    gc->enc_cols = (size_t)json_integer_value(json_array_get(json_object_get(enc, "shape"), 1));
    gc->dec_rows = (size_t)json_integer_value(json_array_get(json_object_get(dec, "shape"), 0));
    gc->dec_cols = (size_t)json_integer_value(json_array_get(json_object_get(dec, "shape"), 1));
    snprintf(rel, sizeof rel, "golden/%s", json_string_value(json_object_get(enc, "file")));
    gc->enc = read_f32(rel, gc->enc_rows * gc->enc_cols);
    snprintf(rel, sizeof rel, "golden/%s", json_string_value(json_object_get(dec, "file")));
    gc->dec = read_f32(rel, gc->dec_rows * gc->dec_cols);

    json_t *g = json_object_get(c, "greedy");
    json_t *gids = json_object_get(g, "ids"), *gm = json_object_get(g, "margins");
    gc->n_greedy = json_array_size(gids);
    ck_assert(gc->n_greedy <= MAX_STEPS && json_array_size(gm) == gc->n_greedy);
    for (size_t i = 0; i < gc->n_greedy; i++) {
        gc->greedy[i] = (int32_t)json_integer_value(json_array_get(gids, i));
        gc->margins[i] = json_number_value(json_array_get(gm, i));
    }
    gc->start = (int32_t)json_integer_value(json_object_get(g, "decoder_start"));
    gc->eos = (int32_t)json_integer_value(json_object_get(g, "eos"));
    gc->max_abs_logit = json_number_value(json_object_get(c, "max_abs_logit"));
    ck_assert(gc->dec_rows <= gc->n_greedy);
    json_decref(man);
}

static void free_case(golden_case *gc)
{
    free(gc->ids);
    free(gc->text);
    free(gc->enc);
    free(gc->dec);
}

/* Steps whose greedy choice is decidable at this tolerance: up to the first small margin. */
static size_t decidable_steps(const golden_case *gc)
{
    size_t k = 0;
    while (k < gc->n_greedy && gc->margins[k] >= 2.0 * gc->tol * gc->max_abs_logit)
        k++;
    return k;
}

static llm_model *open_model(const char *path)
{
    llm_model *m = NULL;
    llm_status st = llm_model_open(path, NULL, &m);
    ck_assert_msg(st == LLM_OK, "llm_model_open(%s): %s", path, llm_last_error());
    return m;
}

/* ---------------------------------------------------------------------------------------------- */
/* A run of our own around the architecture's encode/decode                                       */
/* ---------------------------------------------------------------------------------------------- */

typedef struct test_run {
    llm_run r;
    llm_kv_cache kv;
    llm_pool *pool;
} test_run;

static void run_init(test_run *t, llm_model *m, uint32_t n_ctx, uint32_t n_batch, uint32_t threads,
                     int kv_type)
{
    memset(t, 0, sizeof *t);
    llm_error err = {0};
    t->pool = llm_pool_create(threads, NULL, NULL);
    ck_assert(t->pool != NULL);
    ck_assert_int_eq(llm_pool_threads(t->pool), threads);
    ck_assert_msg(llm_kv_cache_init(&t->kv, kv_type, m->hp.n_layer, n_ctx, m->hp.n_head_kv,
                                    m->hp.head_dim, &err) == LLM_OK,
                  "%s", err.msg);
    t->r.m = m;
    t->r.comp.pool = t->pool;
    t->r.kv = &t->kv;
    t->r.n_ctx = n_ctx;
    t->r.n_batch = n_batch;
    t->r.act_bytes = m->ops->scratch_bytes(m, n_ctx, n_batch, threads);
    t->r.act = llm_aligned_alloc(t->r.act_bytes);
    ck_assert(t->r.act != NULL);
    memset(t->r.act, 0, t->r.act_bytes);
}

static void run_free(test_run *t)
{
    llm_aligned_free(t->r.act);
    llm_kv_cache_free(&t->kv);
    llm_pool_destroy(t->pool);
}

static void encode(test_run *t, const int32_t *ids, size_t n, float *hidden)
{
    llm_error err = {0};
    uint32_t seq[2] = {0, (uint32_t)n};
    llm_status st = t->r.m->ops->encode(&t->r, ids, seq, 1, hidden, &err);
    ck_assert_msg(st == LLM_OK, "encode: %s", err.msg);
    ck_assert_uint_eq(t->r.n_enc, n);
}

static void decode(test_run *t, const int32_t *ids, uint32_t n, uint32_t pos0, float *logits,
                   bool all)
{
    llm_error err = {0};
    llm_status st = t->r.m->ops->decode(&t->r, ids, n, pos0, logits, all, &err);
    ck_assert_msg(st == LLM_OK, "decode: %s", err.msg);
}

typedef struct case_result {
    float *enc;     /* (n_ids, n_embd) */
    float *steps;   /* (dec_rows, V): logits fed the golden greedy prefix one token at a time */
    float *batch;   /* (dec_rows, V): the same prefix as one batch */
    int32_t free_ids[MAX_STEPS];
    size_t n_free;
} case_result;

static void run_case(llm_model *m, const golden_case *gc, uint32_t threads, int kv_type,
                     case_result *res)
{
    const llm_hparams *hp = &m->hp;
    size_t V = hp->n_vocab, E = hp->n_embd;
    test_run t;
    run_init(&t, m, 64, 16, threads, kv_type);
    res->enc = calloc(gc->n_ids * E, sizeof(float));
    res->steps = calloc(gc->dec_rows * V, sizeof(float));
    res->batch = calloc(gc->dec_rows * V, sizeof(float));
    encode(&t, gc->ids, gc->n_ids, res->enc);

    /* decoder inputs: start, then the golden greedy ids */
    int32_t in[MAX_STEPS + 1];
    in[0] = gc->start;
    for (size_t i = 0; i < gc->n_greedy; i++)
        in[i + 1] = gc->greedy[i];
    for (size_t k = 0; k < gc->dec_rows; k++)
        decode(&t, &in[k], 1, (uint32_t)k, res->steps + k * V, false);
    /* the same positions again as batches of up to n_batch rows, all logits */
    for (size_t k0 = 0; k0 < gc->dec_rows; k0 += 16) {
        uint32_t n = (uint32_t)(gc->dec_rows - k0 < 16 ? gc->dec_rows - k0 : 16);
        decode(&t, &in[k0], n, (uint32_t)k0, res->batch + k0 * V, true);
    }
    /* free-running greedy (argmax, lowest id on ties) */
    float *lg = malloc(V * sizeof(float));
    int32_t tok = gc->start;
    res->n_free = 0;
    for (uint32_t pos = 0; pos < 32; pos++) {
        decode(&t, &tok, 1, pos, lg, false);
        tok = (int32_t)llm_op_argmax(lg, (int64_t)V);
        res->free_ids[res->n_free++] = tok;
        if (tok == gc->eos)
            break;
    }
    free(lg);
    run_free(&t);
}

static void free_result(case_result *r)
{
    free(r->enc);
    free(r->steps);
    free(r->batch);
}

START_TEST(test_golden_case)
{
    golden_case gc;
    load_case(case_names[_i], &gc);
    llm_model *m = open_model(gc.model_path);
    const llm_hparams *hp = &m->hp;
    ck_assert_int_eq(hp->family, LLM_FAMILY_ENCODER_DECODER);
    ck_assert_uint_eq(hp->n_embd, gc.enc_cols);
    ck_assert_uint_eq(hp->n_vocab, gc.dec_cols);
    ck_assert_int_eq(hp->decoder_start_token, gc.start);
    size_t V = hp->n_vocab;

    case_result r1, r2;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    run_case(m, &gc, 1, LLM_KV_F32, &r1);

    double e_enc = llm_test_rel_err(r1.enc, gc.enc, gc.enc_rows * gc.enc_cols);
    double e_step = llm_test_rel_err(r1.steps, gc.dec, gc.dec_rows * V);
    double e_batch = llm_test_rel_err(r1.batch, gc.dec, gc.dec_rows * V);
    fprintf(stderr, "%-26s encoder %.2e  decoder steps %.2e  batch %.2e  (tol %.3g)\n", gc.name,
            e_enc, e_step, e_batch, gc.tol);
    ck_assert_msg(e_enc <= gc.tol, "%s: encoder error %.3e > %.3g", gc.name, e_enc, gc.tol);
    ck_assert_msg(e_step <= gc.tol, "%s: decoder step logits error %.3e > %.3g", gc.name, e_step,
                  gc.tol);
    ck_assert_msg(e_batch <= gc.tol, "%s: batched decoder logits error %.3e > %.3g", gc.name,
                  e_batch, gc.tol);

    size_t k = decidable_steps(&gc);
    size_t same = 0;
    while (same < k && same < r1.n_free && r1.free_ids[same] == gc.greedy[same])
        same++;
    fprintf(stderr, "%-26s greedy: %zu of %zu decidable steps match (%zu golden)\n", gc.name, same,
            k, gc.n_greedy);
    ck_assert_msg(same == k, "%s: greedy id %zu is %d, golden %d", gc.name, same,
                  same < r1.n_free ? r1.free_ids[same] : -1, gc.greedy[same]);
    if (k == gc.n_greedy) /* every step decidable: the stop (EOS or 32 ids) must agree too */
        ck_assert_uint_eq(r1.n_free, gc.n_greedy);

    /* Stricter, still sound: where golden step logits are given, a step whose margin exceeds
     * twice the error actually measured on those logits must also agree. */
    double abs_err = 0;
    for (size_t i = 0; i < gc.dec_rows * V; i++)
        abs_err = fmax(abs_err, fabs((double)r1.steps[i] - gc.dec[i]));
    size_t k2 = 0;
    while (k2 < gc.dec_rows && gc.margins[k2] > 2 * abs_err)
        k2++;
    size_t same2 = 0;
    while (same2 < k2 && same2 < r1.n_free && r1.free_ids[same2] == gc.greedy[same2])
        same2++;
    fprintf(stderr, "%-26s greedy: %zu of %zu steps decidable at the measured error %.1e match\n",
            gc.name, same2, k2, abs_err);
    ck_assert_msg(same2 == k2, "%s: greedy id %zu is %d, golden %d (margin %.2e, error %.2e)",
                  gc.name, same2, same2 < r1.n_free ? r1.free_ids[same2] : -1, gc.greedy[same2],
                  gc.margins[same2], abs_err);

    /* two threads: bit for bit the same */
    run_case(m, &gc, 2, LLM_KV_F32, &r2);
    ck_assert_msg(memcmp(r1.enc, r2.enc, gc.n_ids * hp->n_embd * sizeof(float)) == 0,
                  "%s: encoder output differs between 1 and 2 threads", gc.name);
    ck_assert_msg(memcmp(r1.steps, r2.steps, gc.dec_rows * V * sizeof(float)) == 0,
                  "%s: decoder logits differ between 1 and 2 threads", gc.name);
    ck_assert_msg(memcmp(r1.batch, r2.batch, gc.dec_rows * V * sizeof(float)) == 0,
                  "%s: batched decoder logits differ between 1 and 2 threads", gc.name);
    ck_assert_uint_eq(r1.n_free, r2.n_free);
    ck_assert(memcmp(r1.free_ids, r2.free_ids, r1.n_free * sizeof(int32_t)) == 0);

    free_result(&r1);
    free_result(&r2);
    llm_model_close(m);
    free_case(&gc);
}
END_TEST

/* An F16 KV cache rounds K/V to half precision: still well inside the f32 tolerance. */
START_TEST(test_f16_cache)
{
    golden_case gc;
    load_case("t5-tiny-gated-f32.text", &gc);
    llm_model *m = open_model(gc.model_path);
    case_result r;
    memset(&r, 0, sizeof r);
    run_case(m, &gc, 2, LLM_KV_F16, &r);
    double e = llm_test_rel_err(r.steps, gc.dec, gc.dec_rows * m->hp.n_vocab);
    ck_assert_msg(e <= gc.tol, "decoder logits with an f16 cache: error %.3e", e);
    free_result(&r);
    llm_model_close(m);
    free_case(&gc);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* The public session API                                                                         */
/* ---------------------------------------------------------------------------------------------- */

static llm_session *greedy_session(llm_model *m, uint32_t threads)
{
    llm_session_options o;
    llm_session_options_init(&o);
    o.n_threads = threads;
    o.n_ctx = 128;
    llm_session *s = NULL;
    ck_assert_msg(llm_session_create(m, &o, &s) == LLM_OK, "%s", llm_last_error());
    ck_assert(llm_session_set_float(s, LLM_PARAM_TEMPERATURE, 0.0) == LLM_OK);
    ck_assert(llm_session_set_int(s, LLM_PARAM_MAX_TOKENS, 32) == LLM_OK);
    return s;
}

/* generated ids through llm_session_step; the EOS that ends generation is reported too */
static size_t session_greedy(llm_session *s, int32_t *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        int32_t id = -1;
        llm_stop_reason why = LLM_STOP_NONE;
        ck_assert_msg(llm_session_step(s, &id, NULL, NULL, &why) == LLM_OK, "%s",
                      llm_session_last_error(s));
        if (id < 0 || n == cap)
            break;
        out[n++] = id;
        if (why != LLM_STOP_NONE)
            break;
    }
    return n;
}

START_TEST(test_session_case)
{
    golden_case gc;
    load_case(case_names[_i], &gc);
    llm_model *m = open_model(gc.model_path);
    size_t V = m->hp.n_vocab;
    llm_session *s = greedy_session(m, 2);
    ck_assert_msg(llm_session_feed(s, gc.ids, gc.n_ids, NULL, 0) == LLM_OK, "%s",
                  llm_session_last_error(s));
    /* the first decoder logits (row 0 of the golden steps) are ready after the feed */
    size_t nv = 0;
    const float *lg = llm_session_logits(s, &nv);
    ck_assert(lg != NULL && nv == V);
    double e0 = llm_test_rel_err(lg, gc.dec, V);
    ck_assert_msg(e0 <= gc.tol, "%s: first decoder logits error %.3e", gc.name, e0);
    int32_t ids[MAX_STEPS];
    size_t n = session_greedy(s, ids, MAX_STEPS);
    size_t k = decidable_steps(&gc), same = 0;
    while (same < k && same < n && ids[same] == gc.greedy[same])
        same++;
    ck_assert_msg(same >= k, "%s: session greedy id %zu differs (%zu decidable)", gc.name, same,
                  k);
    /* feeding the same input again restarts the decoder: the same ids */
    ck_assert(llm_session_feed(s, gc.ids, gc.n_ids, NULL, 0) == LLM_OK);
    int32_t again[MAX_STEPS];
    size_t n2 = session_greedy(s, again, MAX_STEPS);
    ck_assert_uint_eq(n, n2);
    ck_assert(memcmp(ids, again, n * sizeof *ids) == 0);
    llm_session_destroy(s);
    llm_model_close(m);
    free_case(&gc);
}
END_TEST

/* The text cases through the model's own tokenizer give the golden ids (</s> appended). */
START_TEST(test_text_tokenization)
{
    golden_case gc;
    load_case(_i == 0 ? "t5-tiny-relu-f32.text" : "t5-tiny-gated-q8_0.text", &gc);
    llm_model *m = open_model(gc.model_path);
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    int32_t ids[128];
    size_t n = 0;
    ck_assert(llm_tokenizer_encode(tok, gc.text, strlen(gc.text), LLM_ENCODE_ADD_SPECIAL, ids, 128,
                                   &n) == LLM_OK);
    ck_assert_uint_eq(n, gc.n_ids);
    ck_assert(memcmp(ids, gc.ids, n * sizeof *ids) == 0);
    ck_assert_int_eq(llm_tokenizer_special(tok, LLM_TOKEN_EOS), gc.eos);
    llm_model_close(m);
    free_case(&gc);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

START_TEST(test_errors)
{
    golden_case gc;
    load_case("t5-tiny-relu-f32.ids", &gc);
    llm_model *m = open_model(gc.model_path);
    test_run t;
    run_init(&t, m, 32, 8, 1, LLM_KV_F32);
    llm_error err = {0};
    float *lg = malloc(m->hp.n_vocab * sizeof(float));
    int32_t tok = 0;
    /* decoding before any encoder input */
    ck_assert_int_eq(m->ops->decode(&t.r, &tok, 1, 0, lg, false, &err), LLM_ERR_STATE);
    /* an id outside the vocabulary */
    int32_t bad[3] = {5, (int32_t)m->hp.n_vocab, 1};
    uint32_t seq[2] = {0, 3};
    ck_assert_int_eq(m->ops->encode(&t.r, bad, seq, 1, NULL, &err), LLM_ERR_INVALID_ARG);
    ck_assert_msg(strstr(err.msg, "vocabulary") != NULL, "%s", err.msg);
    /* an input longer than the run takes */
    int32_t *many = calloc(40, sizeof *many);
    uint32_t seq40[2] = {0, 40};
    ck_assert_int_eq(m->ops->encode(&t.r, many, seq40, 1, NULL, &err), LLM_ERR_TOO_LONG);
    /* past the end of the KV cache */
    encode(&t, gc.ids, 20, NULL);
    ck_assert_int_eq(m->ops->decode(&t.r, &tok, 1, 32, lg, false, &err), LLM_ERR_CONTEXT_FULL);
    /* an activation block smaller than scratch_bytes() asked for */
    t.r.act_bytes /= 2;
    ck_assert_int_eq(m->ops->decode(&t.r, &tok, 1, 0, lg, false, &err), LLM_ERR_STATE);
    t.r.act_bytes *= 2;
    free(many);
    free(lg);
    run_free(&t);

    /* the session: an id out of range, and generation before any input */
    llm_session *s = greedy_session(m, 1);
    int32_t id;
    llm_stop_reason why;
    ck_assert_int_ne(llm_session_step(s, &id, NULL, NULL, &why), LLM_OK);
    ck_assert_int_eq(llm_session_feed(s, bad, 3, NULL, 0), LLM_ERR_INVALID_ARG);
    llm_session_destroy(s);
    llm_model_close(m);
    free_case(&gc);
}
END_TEST

START_TEST(test_hparams)
{
    golden_case gc;
    load_case("t5-tiny-gated-q8_0.ids", &gc);
    llm_model *m = open_model(gc.model_path);
    const llm_hparams *hp = &m->hp;
    ck_assert_int_eq(hp->arch, LLM_ARCH_T5);
    ck_assert_uint_eq(hp->n_layer, 2);
    ck_assert_uint_eq(hp->n_layer_enc, 2);
    ck_assert_uint_eq(hp->n_head, 4);
    ck_assert_uint_eq(hp->head_dim, 16);
    ck_assert_uint_eq(hp->n_ff, 128);
    ck_assert_uint_eq(hp->rel_buckets, 32);
    ck_assert_uint_eq(hp->rel_max_distance, 128);
    ck_assert_int_eq(hp->ffn, LLM_FFN_GEGLU);
    ck_assert(!hp->tied_embeddings);
    ck_assert(fabsf(hp->norm_eps - 1e-6f) < 1e-9f);
    llm_model_info info;
    info.struct_size = sizeof info;
    ck_assert(llm_model_get_info(m, &info) == LLM_OK);
    ck_assert_int_eq(info.family, LLM_FAMILY_ENCODER_DECODER);
    llm_model_close(m);
    free_case(&gc);

    load_case("t5-tiny-relu-f32.ids", &gc);
    m = open_model(gc.model_path);
    ck_assert_int_eq(m->hp.ffn, LLM_FFN_RELU);
    llm_model_close(m);
    free_case(&gc);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Packed encoding and the encoder-only t5encoder layout                                          */
/* ---------------------------------------------------------------------------------------------- */

/* Encodes the ids and text inputs of a model as two packed sequences in one call; each must
 * match its golden encoder output (sequences attend only to themselves, positions restart). */
static void check_packed(llm_model *m, const char *model_key)
{
    char name[96];
    golden_case a, b;
    snprintf(name, sizeof name, "%s.ids", model_key);
    load_case(name, &a);
    snprintf(name, sizeof name, "%s.text", model_key);
    load_case(name, &b);
    size_t E = m->hp.n_embd, n = a.n_ids + b.n_ids;
    int32_t *ids = malloc(n * sizeof *ids);
    memcpy(ids, a.ids, a.n_ids * sizeof *ids);
    memcpy(ids + a.n_ids, b.ids, b.n_ids * sizeof *ids);
    uint32_t seq[3] = {0, (uint32_t)a.n_ids, (uint32_t)n};
    float *hidden = calloc(n * E, sizeof(float));
    test_run t;
    run_init(&t, m, 128, 16, 2, LLM_KV_F32);
    llm_error err = {0};
    ck_assert_msg(m->ops->encode(&t.r, ids, seq, 2, hidden, &err) == LLM_OK, "%s", err.msg);
    double ea = llm_test_rel_err(hidden, a.enc, a.n_ids * E);
    double eb = llm_test_rel_err(hidden + a.n_ids * E, b.enc, b.n_ids * E);
    ck_assert_msg(ea <= a.tol && eb <= b.tol, "%s packed: errors %.3e, %.3e", model_key, ea, eb);
    run_free(&t);
    free(hidden);
    free(ids);
    free_case(&a);
    free_case(&b);
}

START_TEST(test_packed_encode)
{
    static const char *const keys[] = {"t5-tiny-relu-f32", "t5-tiny-gated-q8_0"};
    char rel[128];
    snprintf(rel, sizeof rel, "golden/models/%s.gguf", keys[_i]);
    llm_model *m = open_model(llm_test_path(rel));
    check_packed(m, keys[_i]);
    llm_model_close(m);
}
END_TEST

/* A t5encoder GGUF (llama.cpp's encoder-only T5) made from the golden T5: the encoder tensors and
 * the keys under "t5encoder.". It must load as an encoder and give the golden encoder output. */
START_TEST(test_t5encoder)
{
    llm_error err = {0};
    llm_gguf *src = NULL, *g = NULL;
    ck_assert(llm_gguf_open(llm_test_path("golden/models/t5-tiny-gated-f32.gguf"), NULL, &src,
                            &err) == LLM_OK);
    ck_assert(llm_gguf_create(&g, &err) == LLM_OK);
    const char *arch = "t5encoder";
    ck_assert(llm_gguf_set_str(g, "general.architecture", arch, strlen(arch), &err) == LLM_OK);
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++) {
        const char *k = llm_gguf_key(src, i);
        if (strncmp(k, "t5.", 3) == 0) { /* renamed: copy, then move the value to the new key */
            char nk[128];
            snprintf(nk, sizeof nk, "t5encoder.%s", k + 3);
            uint32_t u;
            float f;
            if (llm_gguf_get_u32(src, k, &u))
                ck_assert(llm_gguf_set_u32(g, nk, u, &err) == LLM_OK);
            else if (llm_gguf_get_f32(src, k, &f))
                ck_assert(llm_gguf_set_f32(g, nk, f, &err) == LLM_OK);
        } else if (strcmp(k, "general.architecture") != 0) {
            ck_assert(llm_gguf_copy_kv(g, src, i, &err) == LLM_OK);
        }
    }
    for (uint64_t i = 0; i < llm_gguf_n_tensors(src); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(src, i);
        if (strncmp(t->name, "dec.", 4) == 0 || strcmp(t->name, "output.weight") == 0)
            continue;
        ck_assert(llm_gguf_add_tensor(g, t->name, t->type, t->n_dims, t->ne, t->data, &err) ==
                  LLM_OK);
    }
    char path[] = "/tmp/llm-t5encoder-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_msg(llm_gguf_write(g, path, &err) == LLM_OK, "%s", err.msg);
    llm_gguf_close(g);
    llm_gguf_close(src);

    llm_model *m = open_model(path);
    unlink(path);
    ck_assert_int_eq(m->hp.family, LLM_FAMILY_ENCODER);
    ck_assert_uint_eq(m->hp.n_layer_enc, 2);
    check_packed(m, "t5-tiny-gated-f32");
    /* the decoder is refused with a message */
    test_run t;
    memset(&t, 0, sizeof t);
    t.r.m = m;
    int32_t tok = 0;
    float lg[4];
    ck_assert_int_eq(m->ops->decode(&t.r, &tok, 1, 0, lg, false, &err), LLM_ERR_STATE);
    ck_assert_msg(strstr(err.msg, "t5encoder") != NULL, "%s", err.msg);
    llm_model_close(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Shapes the golden models do not cover: unequal stacks, narrow attention, tied embeddings       */
/* ---------------------------------------------------------------------------------------------- */

static uint64_t rng = 0x243F6A8885A308D3ull;

static float rnd(void) /* roughly N(0, 1): sum of uniforms */
{
    float acc = 0;
    for (int i = 0; i < 4; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        acc += (float)((rng >> 11) * (1.0 / 9007199254740992.0)) - 0.5f;
    }
    return acc * 1.7320508f;
}

static void put(llm_gguf *g, const char *name, uint64_t cols, uint64_t rows, float mean, float sd,
                const float *values)
{
    llm_error err = {0};
    size_t n = (size_t)(cols * rows);
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = values ? values[i] : mean + sd * rnd();
    uint64_t ne[2] = {cols, rows};
    ck_assert_msg(llm_gguf_add_tensor(g, name, LLM_DTYPE_F32, rows > 1 ? 2 : 1, ne, v, &err) ==
                      LLM_OK,
                  "%s: %s", name, err.msg);
    free(v);
}

/* A random T5: n_enc encoder and n_dec decoder blocks, d_model 64, 4 heads of d_kv 8 (attention
 * width 32), d_ff 96, gated, the golden tokenizer (vocab 1536). output: 0 = tied (no
 * output.weight), 1 = an output.weight equal to token_embd · d_model^-0.5. */
static void write_t5(const char *path, uint32_t n_enc, uint32_t n_dec, int output)
{
    const uint32_t E = 64, H = 4, DK = 8, F = 96, inner = H * DK;
    llm_error err = {0};
    llm_gguf *src = NULL, *g = NULL;
    ck_assert(llm_gguf_open(llm_test_path("golden/models/t5-tiny-gated-f32.gguf"), NULL, &src,
                            &err) == LLM_OK);
    ck_assert(llm_gguf_create(&g, &err) == LLM_OK);
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++)
        if (strncmp(llm_gguf_key(src, i), "t5.", 3) != 0)
            ck_assert(llm_gguf_copy_kv(g, src, i, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.embedding_length", E, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.feed_forward_length", F, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.block_count", n_enc, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.decoder_block_count", n_dec, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.attention.head_count", H, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.attention.key_length", DK, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.attention.value_length", DK, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.attention.relative_buckets_count", 16, &err) == LLM_OK);
    ck_assert(llm_gguf_set_u32(g, "t5.decoder_start_token_id", 0, &err) == LLM_OK);
    rng = 0x243F6A8885A308D3ull; /* both output variants get the same weights */
    const llm_gguf_tensor *te = llm_gguf_find_tensor(src, "token_embd.weight");
    uint64_t V = te->ne[1];
    float *emb = calloc(V * E, sizeof *emb);
    for (uint64_t i = 0; i < V * E; i++)
        emb[i] = 0.5f * rnd();
    put(g, "token_embd.weight", E, V, 0, 0, emb);
    if (output == 1) {
        for (uint64_t i = 0; i < V * E; i++)
            emb[i] *= 0.125f; /* 64^-0.5 */
        put(g, "output.weight", E, V, 0, 0, emb);
    }
    free(emb);
    put(g, "enc.output_norm.weight", E, 1, 1, 0.1f, NULL);
    put(g, "dec.output_norm.weight", E, 1, 1, 0.1f, NULL);
    char t[96];
    for (int dec = 0; dec <= 1; dec++) {
        const char *st = dec ? "dec" : "enc";
        for (uint32_t l = 0; l < (dec ? n_dec : n_enc); l++) {
#define NAME(x) (snprintf(t, sizeof t, "%s.blk.%u." x, st, l), t)
            put(g, NAME("attn_norm.weight"), E, 1, 1, 0.1f, NULL);
            if (l == 0)
                put(g, NAME("attn_rel_b.weight"), H, 16, 0, 0.5f, NULL);
            put(g, NAME("attn_q.weight"), E, inner, 0, 0.1f, NULL);
            put(g, NAME("attn_k.weight"), E, inner, 0, 0.1f, NULL);
            put(g, NAME("attn_v.weight"), E, inner, 0, 0.1f, NULL);
            put(g, NAME("attn_o.weight"), inner, E, 0, 0.1f, NULL);
            if (dec) {
                put(g, NAME("cross_attn_norm.weight"), E, 1, 1, 0.1f, NULL);
                put(g, NAME("cross_attn_q.weight"), E, inner, 0, 0.1f, NULL);
                put(g, NAME("cross_attn_k.weight"), E, inner, 0, 0.1f, NULL);
                put(g, NAME("cross_attn_v.weight"), E, inner, 0, 0.1f, NULL);
                put(g, NAME("cross_attn_o.weight"), inner, E, 0, 0.1f, NULL);
            }
            put(g, NAME("ffn_norm.weight"), E, 1, 1, 0.1f, NULL);
            put(g, NAME("ffn_gate.weight"), E, F, 0, 0.1f, NULL);
            put(g, NAME("ffn_up.weight"), E, F, 0, 0.1f, NULL);
            put(g, NAME("ffn_down.weight"), F, E, 0, 0.1f, NULL);
#undef NAME
        }
    }
    ck_assert_msg(llm_gguf_write(g, path, &err) == LLM_OK, "%s", err.msg);
    llm_gguf_close(g);
    llm_gguf_close(src);
}

/* Encodes `in` and decodes `dec` one token at a time; logits (n_dec, V). */
static void run_shape(llm_model *m, const int32_t *in, size_t n_in, const int32_t *dec,
                      size_t n_dec, uint32_t threads, float *logits, float *batch)
{
    /* batches of 5, then of 40: several attention query blocks in one call */
    test_run t;
    run_init(&t, m, 64, 40, threads, LLM_KV_F32);
    encode(&t, in, n_in, NULL);
    size_t V = m->hp.n_vocab;
    for (size_t k = 0; k < n_dec; k++)
        decode(&t, &dec[k], 1, (uint32_t)k, logits + k * V, false);
    for (size_t k0 = 0; k0 < n_dec; k0 += 5) {
        uint32_t n = (uint32_t)(n_dec - k0 < 5 ? n_dec - k0 : 5);
        decode(&t, &dec[k0], n, (uint32_t)k0, batch + k0 * V, true);
    }
    double e = llm_test_rel_err(batch, logits, n_dec * V);
    ck_assert_msg(e < 1e-5, "batches of 5 vs incremental decoding: %.3e", e);
    decode(&t, dec, (uint32_t)n_dec, 0, batch, true);
    run_free(&t);
}

START_TEST(test_shapes)
{
    static const int32_t in[] = {3, 1313, 29, 7, 40, 342, 695, 122, 40, 1273, 12, 350, 1};
    int32_t dec[40];
    dec[0] = 0;
    for (int i = 1; i < 40; i++)
        dec[i] = 3 + (int32_t)((i * 7919u) % 1500u);
    const size_t n_in = sizeof in / sizeof in[0], n_dec = sizeof dec / sizeof dec[0];
    char tied_path[] = "/tmp/llm-t5-tied-XXXXXX", untied_path[] = "/tmp/llm-t5-untied-XXXXXX";
    int fd = mkstemp(tied_path);
    close(fd);
    fd = mkstemp(untied_path);
    close(fd);
    write_t5(tied_path, 2, 3, 0);
    write_t5(untied_path, 2, 3, 1);
    llm_model *tied = open_model(tied_path), *untied = open_model(untied_path);
    unlink(tied_path);
    unlink(untied_path);
    ck_assert_uint_eq(tied->hp.n_layer_enc, 2);
    ck_assert_uint_eq(tied->hp.n_layer, 3);
    ck_assert_uint_eq(tied->hp.head_dim, 8);
    ck_assert_uint_eq(tied->hp.rel_buckets, 16);
    ck_assert(tied->hp.tied_embeddings);
    ck_assert(!untied->hp.tied_embeddings);
    size_t V = tied->hp.n_vocab;
    float *a = malloc(n_dec * V * sizeof(float)), *ab = malloc(n_dec * V * sizeof(float));
    float *b = malloc(n_dec * V * sizeof(float)), *bb = malloc(n_dec * V * sizeof(float));
    float *c = malloc(n_dec * V * sizeof(float)), *cb = malloc(n_dec * V * sizeof(float));
    run_shape(tied, in, n_in, dec, n_dec, 1, a, ab);
    run_shape(untied, in, n_in, dec, n_dec, 1, b, bb);
    run_shape(tied, in, n_in, dec, n_dec, 2, c, cb);
    /* tied: the d_model^-0.5 rescale is the same as a pre-scaled lm_head */
    double e = llm_test_rel_err(a, b, n_dec * V);
    ck_assert_msg(e < 1e-5, "tied vs pre-scaled lm_head: %.3e", e);
    /* batched decoding matches token-by-token decoding; threads do not change a bit */
    e = llm_test_rel_err(ab, a, n_dec * V);
    ck_assert_msg(e < 1e-5, "batched vs incremental decoding: %.3e", e);
    ck_assert(memcmp(a, c, n_dec * V * sizeof(float)) == 0);
    ck_assert(memcmp(ab, cb, n_dec * V * sizeof(float)) == 0);
    /* the logits are not degenerate */
    double mx = 0;
    for (size_t i = 0; i < n_dec * V; i++)
        mx = fmax(mx, fabs(a[i]));
    ck_assert(mx > 1e-3);
    free(a);
    free(ab);
    free(b);
    free(bb);
    free(c);
    free(cb);
    llm_model_close(tied);
    llm_model_close(untied);
}
END_TEST

static Suite *t5_suite(void)
{
    Suite *s = suite_create("t5");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_golden_case, 0, N_CASES);
    tcase_add_test(tc, test_f16_cache);
    suite_add_tcase(s, tc);

    tc = tcase_create("session");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_session_case, 0, N_CASES);
    tcase_add_loop_test(tc, test_text_tokenization, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_hparams);
    tcase_add_test(tc, test_errors);
    tcase_add_loop_test(tc, test_packed_encode, 0, 2);
    tcase_add_test(tc, test_t5encoder);
    tcase_add_test(tc, test_shapes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (llm_arch_find("t5") != &llm_arch_t5) {
        fprintf(stderr, "architecture t5 is not registered\n");
        return EXIT_FAILURE;
    }
    llm_test_data_require();
    SRunner *sr = srunner_create(t5_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
