/*
 * BERT encoders and sentence embeddings against the golden reference data
 * (../shared/data/golden: tiny random BERT models with float64 numpy outputs).
 *
 *  - golden:  last-layer token vectors, pooled and normalized embeddings of every BERT case in
 *             the manifest (ids and text inputs), within the manifest's tolerance; 1 and 2
 *             threads give identical bytes; the tokenizer reproduces the text case's ids.
 *  - pooling: CLS/LAST/MAX/MEAN overrides agree with the golden token vectors.
 *  - batch:   100 texts embedded at once equal the same texts embedded one by one.
 *  - errors:  pooling none, too long texts (and truncation), small buffers, decoders.
 *  - quantized: the f32 golden model re-encoded as q8_0 stays within the q8_0 tolerance.
 *  - cli:     `llm embed` (token vectors to a float32 file, pooled vectors as JSON); the
 *             program's path is the first argument.
 *  - t5:      the embedding calls on the encoder of an encoder-decoder model.
 *  - hf:      a Hugging Face / sentence-transformers directory written from a golden GGUF
 *             (config.json, vocab.txt, model.safetensors, modules.json, 1_Pooling, 2_Normalize)
 *             embeds exactly as the GGUF does, with its pooling and normalization.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dtype.h"
#include "model/gguf.h"
#include "model/hf_import.h"
#include "testdata.h"

/* ---------------------------------------------------------------------------------------------- */
/* helpers                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static json_t *manifest;

static void load_manifest(void)
{
    if (manifest)
        return;
    json_error_t jerr;
    manifest = json_load_file(llm_test_path("golden/manifest.json"), 0, &jerr);
    ck_assert_msg(manifest != NULL, "manifest.json: %s (line %d)", jerr.text, jerr.line);
}

static char *path_dup(const char *rel)
{
    return strdup(llm_test_path(rel));
}

/* Reads a golden float32 array of exactly n floats. */
static float *read_f32(const char *rel, size_t n)
{
    char *p = path_dup(rel);
    size_t size = 0;
    float *v = llm_test_read_file(p, &size);
    ck_assert_msg(v != NULL, "cannot read %s", p);
    ck_assert_msg(size == n * sizeof(float), "%s has %zu bytes, expected %zu", p, size,
                  n * sizeof(float));
    free(p);
    return v;
}

static llm_model *open_model(const char *rel)
{
    char *p = path_dup(rel);
    llm_model *m = NULL;
    llm_status st = llm_model_open(p, NULL, &m);
    ck_assert_msg(st == LLM_OK, "llm_model_open(%s): %s: %s", p, llm_status_string(st),
                  llm_last_error());
    free(p);
    return m;
}

static llm_session *new_session(llm_model *m, uint32_t threads, uint32_t n_batch)
{
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_threads = threads;
    so.n_batch = n_batch;
    llm_session *s = NULL;
    llm_status st = llm_session_create(m, &so, &s);
    ck_assert_msg(st == LLM_OK, "llm_session_create: %s: %s", llm_status_string(st),
                  llm_last_error());
    return s;
}

static void embed_opts(llm_embed_options *o, int pooling, int normalize)
{
    llm_embed_options_init(o);
    o->pooling = pooling;
    o->normalize = normalize;
}

static int32_t *case_ids(json_t *c, size_t *n)
{
    json_t *arr = json_object_get(json_object_get(c, "input"), "ids");
    ck_assert(json_is_array(arr));
    *n = json_array_size(arr);
    int32_t *ids = malloc(*n * sizeof *ids);
    for (size_t i = 0; i < *n; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    return ids;
}

static const char *output_file(json_t *c, const char *what, size_t *n_floats)
{
    json_t *o = json_object_get(json_object_get(c, "outputs"), what);
    ck_assert_msg(o != NULL, "case %s has no output '%s'",
                  json_string_value(json_object_get(c, "name")), what);
    json_t *shape = json_object_get(o, "shape");
    size_t n = 1;
    for (size_t i = 0; i < json_array_size(shape); i++)
        n *= (size_t)json_integer_value(json_array_get(shape, i));
    *n_floats = n;
    return json_string_value(json_object_get(o, "file"));
}

static double case_tolerance(json_t *c)
{
    json_t *t = json_object_get(json_object_get(c, "tolerance"), "recommended");
    return t ? json_number_value(t) : 0.002;
}

static char *golden_rel(const char *file)
{
    size_t n = strlen(file) + 8;
    char *r = malloc(n);
    snprintf(r, n, "golden/%s", file);
    return r;
}

static float *golden_output(json_t *c, const char *what, size_t *n)
{
    char *rel = golden_rel(output_file(c, what, n));
    float *v = read_f32(rel, *n);
    free(rel);
    return v;
}

static char *model_rel(json_t *c)
{
    const char *key = json_string_value(json_object_get(c, "model"));
    json_t *mod = json_object_get(json_object_get(manifest, "models"), key);
    return golden_rel(json_string_value(json_object_get(mod, "file")));
}

/* The BERT cases of the manifest, in order. */
static size_t bert_cases(json_t **out, size_t cap)
{
    load_manifest();
    size_t n = 0;
    json_t *cases = json_object_get(manifest, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        if (strcmp(json_string_value(json_object_get(c, "arch")), "bert") == 0 && n < cap)
            out[n++] = c;
    }
    return n;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

#define GOLDEN_BERT_CASES 8
#define MODEL_MEAN_F32 "golden/models/bert-tiny-mean-f32.gguf"
#define MODEL_CLS_F32 "golden/models/bert-tiny-cls-f32.gguf"

/* ---------------------------------------------------------------------------------------------- */
/* golden                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Embeds one case's ids three ways (tokens, pooled, normalized) with n_threads. */
static void run_case(json_t *c, uint32_t threads, float **hidden, float **pooled, float **normed,
                     size_t *n_tok, uint32_t *dim)
{
    char *rel = model_rel(c);
    llm_model *m = open_model(rel);
    free(rel);
    llm_session *s = new_session(m, threads, 0);
    size_t n = 0;
    int32_t *ids = case_ids(c, &n);
    const uint32_t E = (uint32_t)llm_model_embedding_dim(m);
    ck_assert_uint_eq(E, 64);

    llm_embed_options o;
    llm_embed_result res = {.struct_size = sizeof res};
    *hidden = malloc(n * E * sizeof(float));
    *pooled = malloc(E * sizeof(float));
    *normed = malloc(E * sizeof(float));

    embed_opts(&o, LLM_POOLING_NONE, -1);
    llm_status st = llm_session_embed_ids(s, ids, n, &o, *hidden, n * E, &res);
    ck_assert_msg(st == LLM_OK, "embed_ids(none): %s", llm_session_last_error(s));
    ck_assert_int_eq(res.pooling, LLM_POOLING_NONE);
    ck_assert_int_eq(res.normalized, 0);
    ck_assert_uint_eq(res.n_tokens, n);

    embed_opts(&o, LLM_POOLING_MODEL, 0);
    st = llm_session_embed_ids(s, ids, n, &o, *pooled, E, &res);
    ck_assert_msg(st == LLM_OK, "embed_ids(model): %s", llm_session_last_error(s));
    const char *pool_name = json_string_value(json_object_get(c, "pooling"));
    ck_assert_int_eq(res.pooling,
                     strcmp(pool_name, "cls") == 0 ? LLM_POOLING_CLS : LLM_POOLING_MEAN);
    ck_assert_int_eq(res.normalized, 0);

    embed_opts(&o, LLM_POOLING_MODEL, 1);
    st = llm_session_embed_ids(s, ids, n, &o, *normed, E, &res);
    ck_assert_msg(st == LLM_OK, "embed_ids(normalize): %s", llm_session_last_error(s));
    ck_assert_int_eq(res.normalized, 1);

    free(ids);
    llm_session_destroy(s);
    llm_model_close(m);
    *n_tok = n;
    *dim = E;
}

START_TEST(test_golden_case)
{
    json_t *cases[GOLDEN_BERT_CASES];
    ck_assert_uint_eq(bert_cases(cases, GOLDEN_BERT_CASES), GOLDEN_BERT_CASES);
    json_t *c = cases[_i];
    const char *name = json_string_value(json_object_get(c, "name"));
    const double tol = case_tolerance(c);

    float *hidden, *pooled, *normed, *h2, *p2, *n2;
    size_t n = 0, n_again = 0;
    uint32_t E = 0;
    run_case(c, 1, &hidden, &pooled, &normed, &n, &E);
    run_case(c, 2, &h2, &p2, &n2, &n_again, &E);

    size_t gn;
    float *g_hidden = golden_output(c, "hidden", &gn);
    ck_assert_uint_eq(gn, n * E);
    double err = llm_test_rel_err(hidden, g_hidden, gn);
    ck_assert_msg(err <= tol, "%s hidden: rel err %.3g > %.3g", name, err, tol);
    float *g_pooled = golden_output(c, "pooled", &gn);
    err = llm_test_rel_err(pooled, g_pooled, E);
    ck_assert_msg(err <= tol, "%s pooled: rel err %.3g > %.3g", name, err, tol);
    float *g_norm = golden_output(c, "pooled_normalized", &gn);
    err = llm_test_rel_err(normed, g_norm, E);
    ck_assert_msg(err <= tol, "%s normalized: rel err %.3g > %.3g", name, err, tol);
    fprintf(stderr, "%s: hidden %.2e pooled %.2e normalized %.2e (tolerance %.0e)\n", name,
            llm_test_rel_err(hidden, g_hidden, n * E), llm_test_rel_err(pooled, g_pooled, E),
            err, tol);

    /* Thread count never changes a bit. */
    ck_assert_msg(memcmp(hidden, h2, n * E * sizeof(float)) == 0, "%s: 1 vs 2 threads differ",
                  name);
    ck_assert(memcmp(pooled, p2, E * sizeof(float)) == 0);
    ck_assert(memcmp(normed, n2, E * sizeof(float)) == 0);

    free(hidden), free(pooled), free(normed), free(h2), free(p2), free(n2);
    free(g_hidden), free(g_pooled), free(g_norm);
}
END_TEST

/* The text case through llm_session_embed: the tokenizer gives the manifest's ids and the
 * embedding equals the golden normalized one. */
START_TEST(test_golden_text)
{
    json_t *cases[GOLDEN_BERT_CASES];
    size_t nc = bert_cases(cases, GOLDEN_BERT_CASES);
    int seen = 0;
    for (size_t ci = 0; ci < nc; ci++) {
        json_t *c = cases[ci];
        json_t *input = json_object_get(c, "input");
        if (strcmp(json_string_value(json_object_get(input, "kind")), "text") != 0)
            continue;
        seen++;
        const char *text = json_string_value(json_object_get(input, "text"));
        char *rel = model_rel(c);
        llm_model *m = open_model(rel);
        free(rel);
        size_t n = 0, got = 0;
        int32_t *ids = case_ids(c, &n);
        int32_t buf[256];
        llm_status st = llm_tokenizer_encode(llm_model_tokenizer(m), text, strlen(text),
                                             LLM_ENCODE_ADD_SPECIAL, buf, 256, &got);
        ck_assert_msg(st == LLM_OK, "tokenize: %s", llm_last_error());
        ck_assert_uint_eq(got, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_int_eq(buf[i], ids[i]);

        llm_session *s = new_session(m, 1, 0);
        float out[64];
        llm_embed_options o;
        embed_opts(&o, LLM_POOLING_MODEL, 1);
        llm_embed_result res = {.struct_size = sizeof res};
        const char *texts[1] = {text};
        st = llm_session_embed(s, texts, 1, &o, out, 64, &res);
        ck_assert_msg(st == LLM_OK, "embed: %s", llm_session_last_error(s));
        ck_assert_uint_eq(res.n_tokens, n);
        size_t gn;
        float *g = golden_output(c, "pooled_normalized", &gn);
        double err = llm_test_rel_err(out, g, 64);
        ck_assert_msg(err <= case_tolerance(c), "text embedding rel err %.3g", err);
        free(g);
        free(ids);
        llm_session_destroy(s);
        llm_model_close(m);
    }
    ck_assert_int_eq(seen, 4);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* pooling overrides                                                                              */
/* ---------------------------------------------------------------------------------------------- */

START_TEST(test_pooling_overrides)
{
    json_t *cases[GOLDEN_BERT_CASES];
    bert_cases(cases, GOLDEN_BERT_CASES);
    json_t *c = cases[0]; /* bert-tiny-mean-f32.ids */
    size_t n = 0, gn = 0;
    int32_t *ids = case_ids(c, &n);
    float *g = golden_output(c, "hidden", &gn);
    const size_t E = gn / n;

    /* Expected poolings computed from the golden token vectors. */
    float want[4][64];
    memcpy(want[0], g, E * sizeof(float));                      /* cls */
    memcpy(want[1], g + (n - 1) * E, E * sizeof(float));        /* last */
    for (size_t i = 0; i < E; i++) {
        double sum = 0;
        float mx = g[i];
        for (size_t t = 0; t < n; t++) {
            sum += g[t * E + i];
            if (g[t * E + i] > mx)
                mx = g[t * E + i];
        }
        want[2][i] = mx;                                        /* max */
        want[3][i] = (float)(sum / n);                          /* mean */
    }
    const int kinds[4] = {LLM_POOLING_CLS, LLM_POOLING_LAST, LLM_POOLING_MAX, LLM_POOLING_MEAN};

    llm_model *m = open_model(MODEL_CLS_F32);
    llm_session *s = new_session(m, 1, 0);
    for (int k = 0; k < 4; k++) {
        float out[64];
        llm_embed_options o;
        embed_opts(&o, kinds[k], 0);
        llm_embed_result res = {.struct_size = sizeof res};
        ck_assert_int_eq(llm_session_embed_ids(s, ids, n, &o, out, 64, &res), LLM_OK);
        ck_assert_int_eq(res.pooling, kinds[k]);
        double err = llm_test_rel_err(out, want[k], E);
        ck_assert_msg(err <= 0.002, "pooling %d: rel err %.3g", kinds[k], err);
        /* normalize = 1 gives a unit vector */
        embed_opts(&o, kinds[k], 1);
        ck_assert_int_eq(llm_session_embed_ids(s, ids, n, &o, out, 64, &res), LLM_OK);
        double ss = 0;
        for (size_t i = 0; i < E; i++)
            ss += (double)out[i] * out[i];
        ck_assert_double_eq_tol(ss, 1.0, 1e-5);
    }
    free(ids);
    free(g);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* batching                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static const char *const words[] = {
    "the", "house", "was", "new", "and", "they", "were", "first", "in", "a", "small", "town",
    "where", "people", "lived", "for", "many", "years", "with", "their", "children", "dog",
};

/* Text i: 1 + (i * 7) % 37 words, so lengths vary from 3 to ~40 tokens. */
static char **make_texts(size_t count)
{
    char **texts = malloc(count * sizeof *texts);
    const size_t nw = sizeof words / sizeof words[0];
    for (size_t i = 0; i < count; i++) {
        size_t n_words = 1 + (i * 7) % 37;
        texts[i] = malloc(n_words * 12 + 2);
        texts[i][0] = '\0';
        for (size_t w = 0; w < n_words; w++) {
            if (w)
                strcat(texts[i], " ");
            strcat(texts[i], words[(i * 3 + w * 5) % nw]);
        }
        if (i % 4 == 0)
            strcat(texts[i], ".");
    }
    return texts;
}

static void check_batch_equals_single(uint32_t n_batch, uint32_t threads)
{
    const size_t count = 100;
    char **texts = make_texts(count);
    llm_model *m = open_model(MODEL_MEAN_F32);
    llm_session *s = new_session(m, threads, n_batch);
    const size_t E = llm_model_embedding_dim(m);
    float *all = malloc(count * E * sizeof(float));
    float *one = malloc(E * sizeof(float));
    llm_embed_options o;
    embed_opts(&o, LLM_POOLING_MODEL, 1);
    llm_embed_result res = {.struct_size = sizeof res};
    llm_status st = llm_session_embed(s, (const char *const *)texts, count, &o, all, count * E,
                                      &res);
    ck_assert_msg(st == LLM_OK, "batch embed: %s", llm_session_last_error(s));
    uint64_t total = res.n_tokens, sum = 0;
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        st = llm_session_embed(s, (const char *const *)&texts[i], 1, &o, one, E, &res);
        ck_assert_msg(st == LLM_OK, "single embed %zu: %s", i, llm_session_last_error(s));
        sum += res.n_tokens;
        double d = max_abs_diff(all + i * E, one, E);
        if (d > worst)
            worst = d;
    }
    ck_assert_uint_eq(total, sum);
    ck_assert_msg(worst <= 1e-6, "batched vs one by one: max abs diff %.3g", worst);
    fprintf(stderr, "batch of %zu texts (%llu tokens, n_batch %u): max diff vs single %.2e\n",
            count, (unsigned long long)total, n_batch, worst);
    for (size_t i = 0; i < count; i++)
        free(texts[i]);
    free(texts), free(all), free(one);
    llm_session_destroy(s);
    llm_model_close(m);
}

START_TEST(test_batch_default)
{
    check_batch_equals_single(0, 1);
}
END_TEST

START_TEST(test_batch_small_batches)
{
    /* n_batch below n_ctx: batches are still n_ctx (128) tokens; 2 threads */
    check_batch_equals_single(16, 2);
}
END_TEST

/* Raising the thread count after the session was sized (LLM_PARAM_N_THREADS) still works and
 * changes no bit. */
START_TEST(test_threads_changed)
{
    llm_model *m = open_model(MODEL_MEAN_F32);
    llm_session *s = new_session(m, 1, 0);
    char **texts = make_texts(10);
    float a[10 * 64], b[10 * 64];
    ck_assert_int_eq(llm_session_embed(s, (const char *const *)texts, 10, NULL, a, 640, NULL),
                     LLM_OK);
    ck_assert_int_eq(llm_session_set_int(s, LLM_PARAM_N_THREADS, 2), LLM_OK);
    ck_assert_int_eq(llm_session_embed(s, (const char *const *)texts, 10, NULL, b, 640, NULL),
                     LLM_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    for (size_t i = 0; i < 10; i++)
        free(texts[i]);
    free(texts);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* errors                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

START_TEST(test_pooling_none_is_state)
{
    llm_model *m = open_model(MODEL_MEAN_F32);
    llm_session *s = new_session(m, 1, 0);
    float out[64];
    llm_embed_options o;
    embed_opts(&o, LLM_POOLING_NONE, -1);
    const char *texts[1] = {"hello"};
    ck_assert_int_eq(llm_session_embed(s, texts, 1, &o, out, 64, NULL), LLM_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), "llm_session_embed_ids"));
    /* bad option values */
    embed_opts(&o, 9, -1);
    ck_assert_int_eq(llm_session_embed(s, texts, 1, &o, out, 64, NULL), LLM_ERR_INVALID_ARG);
    embed_opts(&o, LLM_POOLING_MEAN, 3);
    ck_assert_int_eq(llm_session_embed(s, texts, 1, &o, out, 64, NULL), LLM_ERR_INVALID_ARG);
    /* too small a buffer */
    embed_opts(&o, LLM_POOLING_MEAN, -1);
    const char *two[2] = {"hello", "world"};
    ck_assert_int_eq(llm_session_embed(s, two, 2, &o, out, 64, NULL), LLM_ERR_BUFFER_TOO_SMALL);
    /* struct_size below the first version */
    o.struct_size = 4;
    ck_assert_int_eq(llm_session_embed(s, texts, 1, &o, out, 64, NULL), LLM_ERR_ABI);
    /* zero texts is fine */
    embed_opts(&o, LLM_POOLING_MEAN, -1);
    llm_embed_result res = {.struct_size = sizeof res};
    ck_assert_int_eq(llm_session_embed(s, NULL, 0, &o, NULL, 0, &res), LLM_OK);
    ck_assert_uint_eq(res.n_tokens, 0);
    /* ids out of the vocabulary */
    int32_t bad[3] = {101, 999999, 102};
    ck_assert_int_eq(llm_session_embed_ids(s, bad, 3, &o, out, 64, NULL), LLM_ERR_INVALID_ARG);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

START_TEST(test_too_long_and_truncate)
{
    llm_model *m = open_model(MODEL_CLS_F32);
    llm_session *s = new_session(m, 1, 0);
    llm_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(llm_model_get_info(m, &info), LLM_OK);
    ck_assert_uint_eq(info.n_ctx_train, 128);
    /* 200 words: far more than 128 tokens */
    size_t len = 0;
    char *big = malloc(200 * 6 + 1);
    big[0] = '\0';
    for (int i = 0; i < 200; i++) {
        strcat(big, i ? " the" : "the");
        len += 4;
    }
    const char *texts[3] = {"short one", big, "another"};
    float out[3 * 64];
    llm_embed_options o;
    embed_opts(&o, LLM_POOLING_MODEL, 0);
    ck_assert_int_eq(llm_session_embed(s, texts, 3, &o, out, 3 * 64, NULL), LLM_ERR_TOO_LONG);
    const char *msg = llm_session_last_error(s);
    ck_assert_msg(strstr(msg, "text 1 has 202 tokens") != NULL, "message: %s", msg);

    /* truncate: the text is cut to 128 tokens ending in [SEP]; compare with embed_ids of the
     * same cut ids. CLS pooling keeps the check simple; compare the whole token rows too. */
    o.truncate = 1;
    llm_embed_result res = {.struct_size = sizeof res};
    ck_assert_int_eq(llm_session_embed(s, texts, 3, &o, out, 3 * 64, &res), LLM_OK);
    int32_t ids[256];
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(llm_model_tokenizer(m), big, len,
                                          LLM_ENCODE_ADD_SPECIAL, ids, 256, &n),
                     LLM_OK);
    ck_assert_uint_eq(n, 202);
    ids[127] = ids[201];
    ck_assert_int_eq(ids[127], 102);
    float ref[64];
    embed_opts(&o, LLM_POOLING_MEAN, 0);
    ck_assert_int_eq(llm_session_embed_ids(s, ids, 128, &o, ref, 64, NULL), LLM_OK);
    ck_assert_int_eq(llm_session_embed(s, texts + 1, 1, &o, out, 64, NULL), LLM_ERR_TOO_LONG);
    o.truncate = 1;
    ck_assert_int_eq(llm_session_embed(s, texts + 1, 1, &o, out, 64, &res), LLM_OK);
    ck_assert_uint_eq(res.n_tokens, 128);
    ck_assert(max_abs_diff(out, ref, 64) <= 1e-6);

    /* embed_ids: too long without truncate */
    int32_t many[129];
    for (int i = 0; i < 129; i++)
        many[i] = 1996;
    embed_opts(&o, LLM_POOLING_MEAN, 0);
    ck_assert_int_eq(llm_session_embed_ids(s, many, 129, &o, out, 64, NULL), LLM_ERR_TOO_LONG);
    free(big);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

START_TEST(test_decoder_is_unsupported)
{
    llm_model *m = NULL;
    char *p = path_dup("golden/models/gpt2-tiny-f32.gguf");
    llm_status st = llm_model_open(p, NULL, &m);
    free(p);
    if (st != LLM_OK)
        return; /* the GPT-2 architecture is not built in: nothing to check */
    llm_session *s = new_session(m, 1, 0);
    float out[64];
    const char *texts[1] = {"hello"};
    ck_assert_int_eq(llm_session_embed(s, texts, 1, NULL, out, 64, NULL), LLM_ERR_UNSUPPORTED);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST


/* ---------------------------------------------------------------------------------------------- */
/* quantized weights                                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* The golden f32 model with every matrix re-encoded as `type` stays within the manifest's
 * tolerance for that type (the weights only lose precision; the arithmetic is the same). The
 * golden outputs come from the f32 weights, so this holds only for types as fine as q8_0: q4_0
 * weight rounding alone moves these hidden states by ~4e-2. */
static void check_quantized(uint32_t type, const char *tol_key)
{
    json_t *cases[GOLDEN_BERT_CASES];
    bert_cases(cases, GOLDEN_BERT_CASES);
    json_t *c = cases[0]; /* bert-tiny-mean-f32.ids */
    const double tol = json_number_value(
        json_object_get(json_object_get(manifest, "tolerances"), tol_key));
    ck_assert(tol > 0);

    char *p = path_dup(MODEL_MEAN_F32);
    llm_gguf *src = NULL, *dst = NULL;
    llm_error e;
    ck_assert_msg(llm_gguf_open(p, NULL, &src, &e) == LLM_OK, "%s", e.msg);
    free(p);
    ck_assert(llm_gguf_create(&dst, &e) == LLM_OK);
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++)
        ck_assert_msg(llm_gguf_copy_kv(dst, src, i, &e) == LLM_OK, "%s", e.msg);
    for (uint64_t i = 0; i < llm_gguf_n_tensors(src); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(src, i);
        ck_assert_msg(llm_gguf_add_tensor(dst, t->name, t->type, t->n_dims, t->ne, t->data, &e) ==
                          LLM_OK,
                      "%s", e.msg);
        /* matrices only, as llama-quantize does; position and type tables stay f32 */
        if (t->n_dims == 2 && strcmp(t->name, "position_embd.weight") != 0 &&
            strcmp(t->name, "token_types.weight") != 0)
            ck_assert_msg(llm_gguf_convert_tensor(dst, i, type, &e) == LLM_OK, "%s", e.msg);
    }
    char out[] = "/tmp/llm-bert-quant-XXXXXX";
    int fd = mkstemp(out);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_msg(llm_gguf_write(dst, out, &e) == LLM_OK, "%s", e.msg);
    llm_gguf_close(dst);
    llm_gguf_close(src);

    llm_model *m = NULL;
    llm_status st = llm_model_open(out, NULL, &m);
    unlink(out);
    ck_assert_msg(st == LLM_OK, "%s", llm_last_error());
    llm_session *s = new_session(m, 2, 0);
    size_t n = 0, gn = 0;
    int32_t *ids = case_ids(c, &n);
    float *g_hidden = golden_output(c, "hidden", &gn);
    float *hidden = malloc(gn * sizeof(float)), pooled[64];
    llm_embed_options o;
    embed_opts(&o, LLM_POOLING_NONE, -1);
    ck_assert_msg(llm_session_embed_ids(s, ids, n, &o, hidden, gn, NULL) == LLM_OK, "%s",
                  llm_session_last_error(s));
    double err = llm_test_rel_err(hidden, g_hidden, gn);
    ck_assert_msg(err <= tol, "%s hidden: rel err %.3g > %.3g", tol_key, err, tol);
    embed_opts(&o, LLM_POOLING_MODEL, 1);
    ck_assert_int_eq(llm_session_embed_ids(s, ids, n, &o, pooled, 64, NULL), LLM_OK);
    float *g_norm = golden_output(c, "pooled_normalized", &gn);
    double err2 = llm_test_rel_err(pooled, g_norm, 64);
    ck_assert_msg(err2 <= tol, "%s normalized: rel err %.3g > %.3g", tol_key, err2, tol);
    fprintf(stderr, "bert-tiny-mean as %s: hidden %.2e normalized %.2e (tolerance %.0e)\n",
            tol_key, err, err2, tol);
    free(ids), free(g_hidden), free(hidden), free(g_norm);
    llm_session_destroy(s);
    llm_model_close(m);
}

START_TEST(test_q8_0_weights)
{
    check_quantized(LLM_DTYPE_Q8_0, "q8_0");
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* the encoder of an encoder-decoder model                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* T5's encoder through the embedding calls: token vectors equal the golden encoder output and
 * the default pooling (mean, as sentence-T5) averages them. */
START_TEST(test_t5_encoder_embeddings)
{
    load_manifest();
    json_t *cases = json_object_get(manifest, "cases"), *c = NULL;
    for (size_t i = 0; i < json_array_size(cases); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cases, i), "name")),
                   "t5-tiny-relu-f32.ids") == 0)
            c = json_array_get(cases, i);
    ck_assert(c != NULL);
    char *rel = model_rel(c);
    llm_model *m = open_model(rel);
    free(rel);
    llm_session *s = new_session(m, 2, 0);
    size_t n = 0, gn = 0;
    int32_t *ids = case_ids(c, &n);
    float *g = golden_output(c, "encoder", &gn);
    const size_t E = llm_model_embedding_dim(m);
    ck_assert_uint_eq(gn, n * E);
    float *tok = malloc(gn * sizeof(float)), mean[64], want[64];
    llm_embed_options o;
    embed_opts(&o, LLM_POOLING_NONE, -1);
    ck_assert_msg(llm_session_embed_ids(s, ids, n, &o, tok, gn, NULL) == LLM_OK, "%s",
                  llm_session_last_error(s));
    double err = llm_test_rel_err(tok, g, gn);
    ck_assert_msg(err <= case_tolerance(c), "t5 encoder: rel err %.3g", err);
    embed_opts(&o, LLM_POOLING_MODEL, 0);
    llm_embed_result res = {.struct_size = sizeof res};
    ck_assert_int_eq(llm_session_embed_ids(s, ids, n, &o, mean, E, &res), LLM_OK);
    ck_assert_int_eq(res.pooling, LLM_POOLING_MEAN);
    for (size_t i = 0; i < E; i++) {
        double sum = 0;
        for (size_t t = 0; t < n; t++)
            sum += g[t * E + i];
        want[i] = (float)(sum / n);
    }
    err = llm_test_rel_err(mean, want, E);
    ck_assert_msg(err <= case_tolerance(c), "t5 mean pooling: rel err %.3g", err);
    free(tok), free(g), free(ids);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* the llm program                                                                                */
/* ---------------------------------------------------------------------------------------------- */

static const char *llm_program; /* argv[1]: the built `llm`, or NULL to skip these tests */

/* `llm embed --pooling none --prompt-ids ... -o FILE` writes the golden token vectors, and
 * `llm embed --format json TEXT` prints the golden pooled embedding. */
START_TEST(test_cli_embed)
{
    if (!llm_program)
        return;
    json_t *cases[GOLDEN_BERT_CASES];
    bert_cases(cases, GOLDEN_BERT_CASES);
    json_t *c = cases[1]; /* bert-tiny-mean-f32.text */
    char *model = path_dup(MODEL_MEAN_F32);
    size_t n = 0, gn = 0;
    int32_t *ids = case_ids(c, &n);
    char idstr[1024] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(idstr + strlen(idstr), sizeof idstr - strlen(idstr), "%s%d", i ? " " : "",
                 ids[i]);
    char out[] = "/tmp/llm-bert-cli-XXXXXX";
    int fd = mkstemp(out);
    ck_assert(fd >= 0);
    close(fd);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' embed -m '%s' -t 2 --pooling none --prompt-ids '%s' -o '%s'",
             llm_program, model, idstr, out);
    int rc = system(cmd);
    size_t size = 0;
    float *got = llm_test_read_file(out, &size);
    unlink(out);
    ck_assert_msg(rc == 0 && got != NULL, "failed: %s", cmd);
    float *g = golden_output(c, "hidden", &gn);
    ck_assert_uint_eq(size, gn * sizeof(float));
    double err = llm_test_rel_err(got, g, gn);
    ck_assert_msg(err <= case_tolerance(c), "llm embed tokens: rel err %.3g", err);
    free(got), free(g);

    const char *text = json_string_value(json_object_get(json_object_get(c, "input"), "text"));
    snprintf(cmd, sizeof cmd, "'%s' embed -m '%s' --format json '%s'", llm_program, model, text);
    FILE *pipe = popen(cmd, "r");
    ck_assert(pipe != NULL);
    json_error_t jerr;
    json_t *doc = json_loadf(pipe, 0, &jerr);
    ck_assert_int_eq(pclose(pipe), 0);
    ck_assert_msg(doc != NULL, "llm embed --format json: %s", jerr.text);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "dim")), 64);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "pooling")), "mean");
    ck_assert_uint_eq(json_integer_value(json_object_get(doc, "n_tokens")), n);
    json_t *vec = json_object_get(json_array_get(json_object_get(doc, "embeddings"), 0),
                                  "embedding");
    ck_assert_uint_eq(json_array_size(vec), 64);
    float v[64];
    for (size_t i = 0; i < 64; i++)
        v[i] = (float)json_number_value(json_array_get(vec, i));
    g = golden_output(c, "pooled", &gn);
    err = llm_test_rel_err(v, g, 64);
    ck_assert_msg(err <= case_tolerance(c), "llm embed json: rel err %.3g", err);
    json_decref(doc);
    free(g), free(ids), free(model);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Hugging Face directory                                                                         */
/* ---------------------------------------------------------------------------------------------- */

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", p);
    fputs(text, f);
    fclose(f);
}

/* GGUF tensor name -> Hugging Face BertModel name (no "bert." prefix, as sentence-transformers
 * saves it). */
static void hf_name(const char *g, char *out, size_t cap)
{
    static const char *const fixed[][2] = {
        {"token_embd.weight", "embeddings.word_embeddings.weight"},
        {"token_types.weight", "embeddings.token_type_embeddings.weight"},
        {"position_embd.weight", "embeddings.position_embeddings.weight"},
        {"token_embd_norm.weight", "embeddings.LayerNorm.weight"},
        {"token_embd_norm.bias", "embeddings.LayerNorm.bias"},
    };
    static const char *const blk[][2] = {
        {"attn_q", "attention.self.query"},
        {"attn_k", "attention.self.key"},
        {"attn_v", "attention.self.value"},
        {"attn_output_norm", "attention.output.LayerNorm"},
        {"attn_output", "attention.output.dense"},
        {"ffn_up", "intermediate.dense"},
        {"ffn_down", "output.dense"},
        {"layer_output_norm", "output.LayerNorm"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(g, fixed[i][0]) == 0) {
            snprintf(out, cap, "%s", fixed[i][1]);
            return;
        }
    unsigned layer = 0;
    char rest[128];
    ck_assert(sscanf(g, "blk.%u.%127s", &layer, rest) == 2);
    char *dot = strrchr(rest, '.');
    ck_assert(dot != NULL);
    *dot = '\0';
    for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
        if (strcmp(rest, blk[i][0]) == 0) {
            snprintf(out, cap, "encoder.layer.%u.%s.%s", layer, blk[i][1], dot + 1);
            return;
        }
    ck_abort_msg("no Hugging Face name for %s", g);
}

/* Writes a sentence-transformers directory holding the weights of a golden BERT GGUF (as f32). */
static void write_hf_dir(const char *gguf_rel, const char *dir, bool cls, bool normalize)
{
    char *p = path_dup(gguf_rel);
    llm_gguf *g = NULL;
    llm_error e;
    ck_assert_msg(llm_gguf_open(p, NULL, &g, &e) == LLM_OK, "%s", e.msg);
    free(p);

    /* vocab.txt: undo llama.cpp's WordPiece spelling ("▁word" = word start, bare = "##" piece) */
    uint64_t n_vocab = 0;
    llm_gguf_type elem;
    ck_assert(llm_gguf_get_arr(g, "tokenizer.ggml.tokens", &elem, &n_vocab));
    char vp[4096];
    snprintf(vp, sizeof vp, "%s/vocab.txt", dir);
    FILE *f = fopen(vp, "wb");
    for (uint64_t i = 0; i < n_vocab; i++) {
        size_t len = 0;
        const char *t = llm_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &len);
        if (len >= 2 && t[0] == '[' && t[len - 1] == ']')
            fprintf(f, "%s\n", t);
        else if (len >= 3 && memcmp(t, "\xe2\x96\x81", 3) == 0)
            fprintf(f, "%s\n", t + 3);
        else
            fprintf(f, "##%s\n", t);
    }
    fclose(f);

    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\", "
             "\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
             "\"intermediate_size\": 128, \"max_position_embeddings\": 128, "
             "\"type_vocab_size\": 2, \"vocab_size\": %llu, \"layer_norm_eps\": 1e-12, "
             "\"hidden_act\": \"gelu\", \"pad_token_id\": 0, \"torch_dtype\": \"float32\"}\n",
             (unsigned long long)n_vocab);
    write_text(dir, "config.json", cfg);
    write_text(dir, "tokenizer_config.json",
               "{\"tokenizer_class\": \"BertTokenizer\", \"do_lower_case\": true, "
               "\"model_max_length\": 128, \"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", "
               "\"unk_token\": \"[UNK]\", \"pad_token\": \"[PAD]\", \"mask_token\": \"[MASK]\"}\n");
    write_text(dir, "special_tokens_map.json",
               "{\"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", \"unk_token\": \"[UNK]\", "
               "\"pad_token\": \"[PAD]\", \"mask_token\": \"[MASK]\"}\n");
    char modules[1024];
    snprintf(modules, sizeof modules,
             "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
             "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, \"name\": \"1\", "
             "\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}%s]\n",
             normalize ? ", {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
                         "\"sentence_transformers.models.Normalize\"}"
                       : "");
    write_text(dir, "modules.json", modules);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/1_Pooling", dir);
    mkdir(sub, 0700);
    char pool[512];
    snprintf(pool, sizeof pool,
             "{\"word_embedding_dimension\": 64, \"pooling_mode_cls_token\": %s, "
             "\"pooling_mode_mean_tokens\": %s, \"pooling_mode_max_tokens\": false, "
             "\"pooling_mode_mean_sqrt_len_tokens\": false}\n",
             cls ? "true" : "false", cls ? "false" : "true");
    write_text(sub, "config.json", pool);
    if (normalize) {
        snprintf(sub, sizeof sub, "%s/2_Normalize", dir);
        mkdir(sub, 0700);
    }

    /* model.safetensors: every tensor as F32, [rows, cols] as PyTorch stores Linear weights */
    const uint64_t nt = llm_gguf_n_tensors(g);
    size_t hcap = 65536, hlen = 0, off = 0;
    char *hdr = malloc(hcap);
    hlen += (size_t)snprintf(hdr + hlen, hcap - hlen, "{\"__metadata__\": {\"format\": \"pt\"}");
    for (uint64_t i = 0; i < nt; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        char name[160];
        hf_name(t->name, name, sizeof name);
        size_t n = (size_t)(t->ne[0] * t->ne[1]);
        if (t->n_dims == 2)
            hlen += (size_t)snprintf(hdr + hlen, hcap - hlen,
                                     ", \"%s\": {\"dtype\": \"F32\", \"shape\": [%llu, %llu], "
                                     "\"data_offsets\": [%zu, %zu]}",
                                     name, (unsigned long long)t->ne[1],
                                     (unsigned long long)t->ne[0], off, off + n * 4);
        else
            hlen += (size_t)snprintf(hdr + hlen, hcap - hlen,
                                     ", \"%s\": {\"dtype\": \"F32\", \"shape\": [%llu], "
                                     "\"data_offsets\": [%zu, %zu]}",
                                     name, (unsigned long long)t->ne[0], off, off + n * 4);
        off += n * 4;
    }
    hlen += (size_t)snprintf(hdr + hlen, hcap - hlen, "}");
    while (hlen % 8)
        hdr[hlen++] = ' ';
    snprintf(vp, sizeof vp, "%s/model.safetensors", dir);
    f = fopen(vp, "wb");
    uint64_t hl = hlen;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, hlen, f);
    for (uint64_t i = 0; i < nt; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        size_t n = (size_t)(t->ne[0] * t->ne[1]);
        float *v = malloc(n * sizeof *v);
        llm_dequantize_row(t->type, t->data, v, (int64_t)n);
        fwrite(v, 4, n, f);
        free(v);
    }
    fclose(f);
    free(hdr);
    llm_gguf_close(g);
}

static void remove_tree(const char *dir)
{
    static const char *const files[] = {"vocab.txt", "config.json", "tokenizer_config.json",
                                        "special_tokens_map.json", "modules.json",
                                        "model.safetensors", "1_Pooling/config.json"};
    char p[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/1_Pooling", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/2_Normalize", dir);
    rmdir(p);
    rmdir(dir);
}

/* _i: 0 = mean model with a Normalize module, 1 = CLS model without one. */
START_TEST(test_hf_directory)
{
    const bool cls = _i == 1, normalize = _i == 0;
    const char *rel = cls ? MODEL_CLS_F32 : MODEL_MEAN_F32;
    char dir[] = "/tmp/llm-bert-hf-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    write_hf_dir(rel, dir, cls, normalize);

    llm_model *hf = NULL;
    llm_status st = llm_model_open(dir, NULL, &hf);
    if (st != LLM_OK)
        remove_tree(dir);
    ck_assert_msg(st == LLM_OK, "llm_model_open(%s): %s: %s", dir, llm_status_string(st),
                  llm_last_error());
    llm_model *gg = open_model(rel);
    llm_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(llm_model_get_info(hf, &info), LLM_OK);
    ck_assert_int_eq(info.pooling, cls ? LLM_POOLING_CLS : LLM_POOLING_MEAN);

    llm_session *sh = new_session(hf, 1, 0), *sg = new_session(gg, 1, 0);
    char **texts = make_texts(20);
    float a[20 * 64], b[20 * 64];
    llm_embed_options o;
    llm_embed_options_init(&o); /* the model's pooling and normalization */
    llm_embed_result rh = {.struct_size = sizeof rh}, rg = {.struct_size = sizeof rg};
    st = llm_session_embed(sh, (const char *const *)texts, 20, &o, a, 20 * 64, &rh);
    ck_assert_msg(st == LLM_OK, "hf embed: %s", llm_session_last_error(sh));
    ck_assert_int_eq(rh.pooling, cls ? LLM_POOLING_CLS : LLM_POOLING_MEAN);
    ck_assert_int_eq(rh.normalized, normalize ? 1 : 0);
    o.normalize = normalize ? 1 : 0;
    st = llm_session_embed(sg, (const char *const *)texts, 20, &o, b, 20 * 64, &rg);
    ck_assert_msg(st == LLM_OK, "gguf embed: %s", llm_session_last_error(sg));
    ck_assert_uint_eq(rh.n_tokens, rg.n_tokens);
    double d = max_abs_diff(a, b, 20 * 64);
    ck_assert_msg(d <= 1e-6, "HF directory vs GGUF: max abs diff %.3g", d);

    /* and the golden text case through the directory's own tokenizer */
    json_t *cases[GOLDEN_BERT_CASES];
    bert_cases(cases, GOLDEN_BERT_CASES);
    json_t *c = cases[cls ? 5 : 1]; /* bert-tiny-{cls,mean}-f32.text */
    const char *text = json_string_value(json_object_get(json_object_get(c, "input"), "text"));
    size_t gn;
    float *g = golden_output(c, normalize ? "pooled_normalized" : "pooled", &gn);
    llm_embed_options_init(&o);
    ck_assert_int_eq(llm_session_embed(sh, &text, 1, &o, a, 64, NULL), LLM_OK);
    double err = llm_test_rel_err(a, g, 64);
    ck_assert_msg(err <= case_tolerance(c), "HF text case: rel err %.3g", err);
    free(g);

    for (size_t i = 0; i < 20; i++)
        free(texts[i]);
    free(texts);
    llm_session_destroy(sh);
    llm_session_destroy(sg);
    llm_model_close(hf);
    llm_model_close(gg);
    remove_tree(dir);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */

static Suite *bert_suite(void)
{
    Suite *su = suite_create("bert");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_golden_case, 0, GOLDEN_BERT_CASES);
    tcase_add_test(tc, test_golden_text);
    suite_add_tcase(su, tc);

    tc = tcase_create("pooling");
    tcase_add_test(tc, test_pooling_overrides);
    suite_add_tcase(su, tc);

    tc = tcase_create("batch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_batch_default);
    tcase_add_test(tc, test_batch_small_batches);
    tcase_add_test(tc, test_threads_changed);
    suite_add_tcase(su, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_pooling_none_is_state);
    tcase_add_test(tc, test_too_long_and_truncate);
    tcase_add_test(tc, test_decoder_is_unsupported);
    suite_add_tcase(su, tc);

    tc = tcase_create("quantized");
    tcase_add_test(tc, test_q8_0_weights);
    suite_add_tcase(su, tc);

    tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cli_embed);
    suite_add_tcase(su, tc);

    tc = tcase_create("t5");
    tcase_add_test(tc, test_t5_encoder_embeddings);
    suite_add_tcase(su, tc);

    tc = tcase_create("hf");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_hf_directory, 0, 2);
    suite_add_tcase(su, tc);
    return su;
}

int main(int argc, char **argv)
{
    llm_program = argc > 1 ? argv[1] : NULL;
    llm_test_data_require();
    SRunner *sr = srunner_create(bert_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    json_decref(manifest);
    return failed == 0 ? 0 : 1;
}
