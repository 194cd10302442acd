/*
 * Encoder task heads at inference, against outputs computed without libllm
 * (tests/make_heads_reference.py: numpy / PyTorch float64, in tests/data/heads/expected.json):
 *  - the classification head cls_head.* of ../shared/data/train on the golden BERT models (mean
 *    and CLS pooling): logits and probabilities of the three reference sequences;
 *  - a Hugging Face BertForSequenceClassification folder: labels, logits and probabilities of a
 *    batch of texts;
 *  - a BertForMaskedLM folder: the top-5 tokens and probabilities of every [MASK];
 *  - the errors: no head, no mask, small buffers.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <llm/llm.h>

#include "common/dtype.h"
#include "model/gguf.h"
#include "testdata.h"

#ifndef LLM_TEST_SOURCE_DIR
#error "LLM_TEST_SOURCE_DIR must name the tests folder"
#endif

static json_t *expected(void)
{
    json_error_t jerr;
    json_t *e = json_load_file(LLM_TEST_SOURCE_DIR "/data/heads/expected.json", 0, &jerr);
    ck_assert_msg(e, "expected.json: %s", jerr.text);
    return e;
}

static llm_model *open_model(const char *path)
{
    llm_model *m = NULL;
    llm_status st = llm_model_open(path, NULL, &m);
    ck_assert_msg(st == LLM_OK, "open %s: %s", path, llm_last_error());
    return m;
}

static llm_session *new_session(llm_model *m)
{
    llm_session *s = NULL;
    ck_assert_msg(llm_session_create(m, NULL, &s) == LLM_OK, "%s", llm_last_error());
    return s;
}

/* max |got - want| over a JSON row, relative to max |want| of the row */
static double row_err(const float *got, const json_t *want, size_t n)
{
    double d = 0.0, mx = 0.0;
    ck_assert_uint_eq(json_array_size(want), n);
    for (size_t i = 0; i < n; i++) {
        double w = json_number_value(json_array_get(want, i));
        d = fmax(d, fabs((double)got[i] - w));
        mx = fmax(mx, fabs(w));
    }
    return d / (mx > 0 ? mx : 1.0);
}

/* ---------------------------------------------------------------------------------------------- */
/* cls_head on the golden BERT models                                                             */
/* ---------------------------------------------------------------------------------------------- */

static const char *const bert_keys[] = {"bert-tiny-mean-f32", "bert-tiny-cls-f32"};

/* The golden model with the reference head added, written to a temporary GGUF. */
static const char *model_with_head(const char *key, char *out, size_t cap)
{
    char rel[256];
    snprintf(rel, sizeof rel, "golden/models/%s.gguf", key);
    llm_error err = {0};
    llm_gguf *src = NULL, *g = NULL;
    ck_assert_msg(llm_gguf_open(llm_test_path(rel), NULL, &src, &err) == LLM_OK, "%s", err.msg);
    ck_assert(llm_gguf_create(&g, &err) == LLM_OK);
    for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++)
        ck_assert(llm_gguf_copy_kv(g, src, i, &err) == LLM_OK);
    for (uint64_t i = 0; i < llm_gguf_n_tensors(src); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(src, i);
        ck_assert(llm_gguf_add_tensor(g, t->name, t->type, t->n_dims, t->ne, t->data, &err) ==
                  LLM_OK);
    }
    const char *parts[2] = {"weight", "bias"};
    for (int k = 0; k < 2; k++) {
        snprintf(rel, sizeof rel, "train/%s/seq_cls/cls_head.%s.f32", key, parts[k]);
        size_t size = 0;
        float *d = llm_test_read_file(llm_test_path(rel), &size);
        ck_assert_msg(d, "cannot read %s", rel);
        uint64_t ne[2] = {k == 0 ? 64 : 3, 3};
        char name[64];
        snprintf(name, sizeof name, "cls_head.%s", parts[k]);
        ck_assert_uint_eq(size, (k == 0 ? 64 * 3 : 3) * sizeof(float));
        ck_assert(llm_gguf_add_tensor(g, name, LLM_DTYPE_F32, k == 0 ? 2 : 1, ne, d, &err) ==
                  LLM_OK);
        free(d);
    }
    snprintf(out, cap, "%s/llm-heads-%ld-%s.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid(), key);
    ck_assert_msg(llm_gguf_write(g, out, &err) == LLM_OK, "%s", err.msg);
    llm_gguf_close(g);
    llm_gguf_close(src);
    return out;
}

START_TEST(seq_cls_head)
{
    llm_test_data_require();
    const char *key = bert_keys[_i];
    char path[512];
    llm_model *m = open_model(model_with_head(key, path, sizeof path));
    size_t L = 0;
    ck_assert_int_eq(llm_model_classifier(m, &L), LLM_CLASSIFIER_SINGLE_LABEL);
    ck_assert_uint_eq(L, 3);
    ck_assert_ptr_null(llm_model_label(m, 0)); /* the file names none */
    llm_session *s = new_session(m);
    json_t *e = expected();
    json_t *ref = json_object_get(json_object_get(e, "seq_cls_head"), key);
    json_t *seqs = json_object_get(ref, "seqs");
    double worst = 0.0;
    for (size_t q = 0; q < json_array_size(seqs); q++) {
        json_t *seq = json_array_get(seqs, q);
        int32_t ids[64];
        size_t n = json_array_size(seq);
        for (size_t i = 0; i < n; i++)
            ids[i] = (int32_t)json_integer_value(json_array_get(seq, i));
        float probs[3], logits[3];
        llm_status st = llm_session_classify_ids(s, ids, n, probs, logits, 3);
        ck_assert_msg(st == LLM_OK, "%s", llm_session_last_error(s));
        double el = row_err(logits, json_array_get(json_object_get(ref, "logits"), q), 3);
        double ep = row_err(probs, json_array_get(json_object_get(ref, "probs"), q), 3);
        worst = fmax(worst, fmax(el, ep));
        ck_assert_msg(el <= 1e-4 && ep <= 1e-4, "%s seq %zu: logits %.3g probs %.3g", key, q, el,
                      ep);
    }
    fprintf(stderr, "%s: cls_head logits/probs rel err %.3g\n", key, worst);
    json_decref(e);
    llm_session_destroy(s);
    llm_model_close(m);
    unlink(path);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Hugging Face folders                                                                           */
/* ---------------------------------------------------------------------------------------------- */

START_TEST(hf_sequence_classification)
{
    llm_model *m = open_model(LLM_TEST_SOURCE_DIR "/data/heads/bert-seqcls-tiny");
    json_t *e = expected();
    json_t *ref = json_object_get(e, "bert-seqcls-tiny");
    size_t L = 0;
    ck_assert_int_eq(llm_model_classifier(m, &L), LLM_CLASSIFIER_SINGLE_LABEL);
    ck_assert_uint_eq(L, 3);
    for (size_t j = 0; j < L; j++)
        ck_assert_str_eq(llm_model_label(m, j),
                         json_string_value(json_array_get(json_object_get(ref, "labels"), j)));
    ck_assert_ptr_null(llm_model_label(m, 3));
    json_t *texts = json_object_get(ref, "texts");
    const size_t n = json_array_size(texts);
    const char *tx[8];
    for (size_t i = 0; i < n; i++)
        tx[i] = json_string_value(json_array_get(texts, i));
    llm_session *s = new_session(m);
    float probs[8 * 3], logits[8 * 3];
    llm_status st = llm_session_classify(s, tx, n, probs, logits, n * L);
    ck_assert_msg(st == LLM_OK, "%s", llm_session_last_error(s));
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double el = row_err(logits + i * L, json_array_get(json_object_get(ref, "logits"), i), L);
        double ep = row_err(probs + i * L, json_array_get(json_object_get(ref, "probs"), i), L);
        worst = fmax(worst, fmax(el, ep));
        ck_assert_msg(el <= 1e-4 && ep <= 1e-4, "text %zu: logits %.3g probs %.3g", i, el, ep);
        /* the batch gives what each text gives alone */
        float one[3];
        ck_assert_int_eq(llm_session_classify(s, &tx[i], 1, one, NULL, 3), LLM_OK);
        ck_assert(fabs(one[0] - probs[i * L]) < 1e-6 && fabs(one[2] - probs[i * L + 2]) < 1e-6);
    }
    fprintf(stderr, "bert-seqcls-tiny: logits/probs rel err %.3g\n", worst);
    /* errors */
    ck_assert_int_eq(llm_session_classify(s, tx, n, probs, NULL, n * L - 1),
                     LLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(llm_session_classify(s, tx, n, NULL, NULL, n * L), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_session_classify(s, tx, 0, probs, NULL, n * L), LLM_ERR_INVALID_ARG);
    size_t nm = 7;
    ck_assert_int_eq(llm_session_fill_mask(s, "the [MASK]", 3, NULL, NULL, 0, &nm),
                     LLM_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), "no masked-LM head"));
    json_decref(e);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

START_TEST(hf_fill_mask)
{
    llm_model *m = open_model(LLM_TEST_SOURCE_DIR "/data/heads/bert-mlm-tiny");
    ck_assert_int_eq(llm_model_classifier(m, NULL), LLM_CLASSIFIER_NONE);
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    json_t *e = expected();
    json_t *cases = json_object_get(e, "bert-mlm-tiny");
    llm_session *s = new_session(m);
    double worst = 0.0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c);
        const char *text = json_string_value(json_object_get(cs, "text"));
        json_t *masks = json_object_get(cs, "masks");
        size_t nm = 0;
        ck_assert_int_eq(llm_session_fill_mask(s, text, 5, NULL, NULL, 0, &nm), LLM_OK);
        ck_assert_uint_eq(nm, json_array_size(masks));
        int32_t ids[4 * 5];
        float probs[4 * 5];
        llm_status st = llm_session_fill_mask(s, text, 5, ids, probs, 4 * 5, &nm);
        ck_assert_msg(st == LLM_OK, "%s: %s", text, llm_session_last_error(s));
        for (size_t k = 0; k < nm; k++) {
            json_t *mk = json_array_get(masks, k);
            for (size_t j = 0; j < 5; j++) {
                int32_t want = (int32_t)json_integer_value(json_array_get(json_object_get(mk, "ids"), j));
                double wp = json_number_value(json_array_get(json_object_get(mk, "probs"), j));
                ck_assert_msg(ids[k * 5 + j] == want, "%s mask %zu rank %zu: id %d, expected %d",
                              text, k, j, ids[k * 5 + j], want);
                worst = fmax(worst, fabs(probs[k * 5 + j] - wp));
                ck_assert_msg(fabs(probs[k * 5 + j] - wp) <= 1e-5, "%s: p %g vs %g", text,
                              (double)probs[k * 5 + j], wp);
                size_t len = 0;
                const char *piece = llm_tokenizer_piece(tok, ids[k * 5 + j], &len);
                ck_assert_str_eq(piece, json_string_value(json_array_get(
                                            json_object_get(mk, "pieces"), j)));
            }
        }
    }
    fprintf(stderr, "bert-mlm-tiny: top-5 ids equal, probabilities within %.3g\n", worst);
    /* errors */
    size_t nm = 9;
    int32_t ids[5];
    float probs[5];
    ck_assert_int_eq(llm_session_fill_mask(s, "the cat sat", 5, ids, probs, 5, &nm),
                     LLM_ERR_INVALID_ARG);
    ck_assert_uint_eq(nm, 0);
    ck_assert_ptr_nonnull(strstr(llm_session_last_error(s), "no mask token ([MASK])"));
    ck_assert_int_eq(llm_session_fill_mask(s, "[MASK] [MASK]", 3, ids, probs, 5, &nm),
                     LLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(nm, 2);
    ck_assert_int_eq(llm_session_fill_mask(s, "[MASK]", 0, ids, probs, 5, &nm),
                     LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_session_classify(s, (const char *[]){"x"}, 1, probs, NULL, 5),
                     LLM_ERR_UNSUPPORTED);
    ck_assert_int_eq(llm_session_fill_mask(NULL, "[MASK]", 1, ids, probs, 5, &nm),
                     LLM_ERR_INVALID_ARG);
    json_decref(e);
    llm_session_destroy(s);
    llm_model_close(m);
}
END_TEST

static Suite *heads_suite(void)
{
    Suite *s = suite_create("heads");
    TCase *tc = tcase_create("heads");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, seq_cls_head, 0, 2);
    tcase_add_test(tc, hf_sequence_classification);
    tcase_add_test(tc, hf_fill_mask);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    llm_test_data_require(); /* its cases read the reference data: SKIP here, not in a case */
    SRunner *sr = srunner_create(heads_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
