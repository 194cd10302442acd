/*
 * The trainer through the public API without reference data: a new byte-level model opens and
 * tokenizes bytes as their ids, a checkpointed run resumes to the same losses bit for bit, and
 * the named errors (context longer than the model's, too-short dataset, NaN loss).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llm/llm.h>

static llm_model *tiny_model(void)
{
    llm_model_create_options mo;
    llm_model_create_options_init(&mo);
    mo.n_layer = 2;
    mo.n_embd = 32;
    mo.n_head = 2;
    mo.n_ctx = 16;
    mo.bias = 0;
    mo.seed = 7;
    llm_model *m = NULL;
    ck_assert_msg(llm_model_create(&mo, &m) == LLM_OK, "%s", llm_last_error());
    return m;
}

static llm_dataset *bytes_dataset(size_t n)
{
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)("to be or not to be, that is the question. "[i % 43]);
    llm_dataset *ds = NULL;
    ck_assert_int_eq(llm_dataset_from_ids(ids, NULL, n, NULL, &ds), LLM_OK);
    free(ids);
    return ds;
}

static llm_trainer *tiny_trainer(llm_model *m)
{
    llm_trainer_options o;
    llm_trainer_options_init(&o);
    o.batch_size = 3;
    o.n_ctx = 16;
    o.n_threads = 1;
    o.warmup_steps = 2;
    o.total_steps = 10;
    o.seed = 5;
    llm_trainer *tr = NULL;
    ck_assert_msg(llm_trainer_create(m, &o, &tr) == LLM_OK, "%s", llm_last_error());
    return tr;
}

START_TEST(byte_model)
{
    llm_model *m = tiny_model();
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    ck_assert_uint_eq(llm_tokenizer_vocab_size(tok), 257);
    int32_t ids[16];
    size_t n = 0;
    ck_assert_int_eq(llm_tokenizer_encode(tok, "Hi é", 5, 0, ids, 16, &n), LLM_OK);
    ck_assert_uint_eq(n, 5);
    const int32_t want[5] = {'H', 'i', ' ', 0xC3, 0xA9};
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(ids[i], want[i]);
    ck_assert_int_eq(llm_tokenizer_special(tok, LLM_TOKEN_EOS), 256);
    llm_model_close(m);
}
END_TEST

START_TEST(resume_bit_identical)
{
    char path[] = "/tmp/llm_train_ckptXXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    llm_model *m = tiny_model();
    llm_dataset *ds = bytes_dataset(2000);
    double straight[8];
    llm_trainer *tr = tiny_trainer(m);
    for (int i = 0; i < 8; i++) {
        llm_train_stats s = {.struct_size = sizeof s};
        ck_assert_int_eq(llm_trainer_step(tr, ds, &s), LLM_OK);
        straight[i] = s.loss;
        if (i == 3)
            ck_assert_msg(llm_trainer_save_checkpoint(tr, path) == LLM_OK, "%s",
                          llm_trainer_last_error(tr));
    }
    llm_trainer_destroy(tr);
    llm_model *m2 = NULL;
    ck_assert_msg(llm_model_open(path, NULL, &m2) == LLM_OK, "%s", llm_last_error());
    tr = tiny_trainer(m2);
    ck_assert_msg(llm_trainer_load_checkpoint(tr, path) == LLM_OK, "%s",
                  llm_trainer_last_error(tr));
    uint64_t step = 0;
    llm_trainer_position(tr, &step, NULL);
    ck_assert_uint_eq(step, 4);
    for (int i = 4; i < 8; i++) {
        llm_train_stats s = {.struct_size = sizeof s};
        ck_assert_int_eq(llm_trainer_step(tr, ds, &s), LLM_OK);
        ck_assert_msg(memcmp(&s.loss, &straight[i], sizeof s.loss) == 0,
                      "step %d: resumed loss %.17g, straight %.17g", i + 1, s.loss, straight[i]);
    }
    llm_trainer_destroy(tr);
    llm_model_close(m2);
    llm_model_close(m);
    llm_dataset_close(ds);
    unlink(path);
}
END_TEST

START_TEST(named_errors)
{
    llm_model *m = tiny_model();
    llm_trainer_options o;
    llm_trainer_options_init(&o);
    o.n_ctx = 17;
    llm_trainer *tr = NULL;
    ck_assert_int_eq(llm_trainer_create(m, &o, &tr), LLM_ERR_TOO_LONG);
    ck_assert(strstr(llm_last_error(), "n_ctx 17") != NULL);
    tr = tiny_trainer(m);
    llm_dataset *small = bytes_dataset(10);
    ck_assert_int_eq(llm_trainer_step(tr, small, NULL), LLM_ERR_TOO_LONG);
    ck_assert(strstr(llm_trainer_last_error(tr), "train part") != NULL);
    llm_dataset_close(small);
    ck_assert_int_eq(llm_dataset_from_ids((const int32_t[]){1}, NULL, 0, NULL, &small),
                     LLM_ERR_INVALID_ARG);
    llm_trainer_destroy(tr);
    /* a learning rate that overflows the weights: the step that sees it stops with its number */
    llm_trainer_options_init(&o);
    o.batch_size = 3;
    o.n_ctx = 16;
    o.lr = 1e30;
    o.warmup_steps = 0;
    o.grad_clip = 0;
    o.weight_decay = 0;
    ck_assert_int_eq(llm_trainer_create(m, &o, &tr), LLM_OK);
    llm_dataset *ds = bytes_dataset(500);
    llm_status st = LLM_OK;
    int k = 0;
    for (; k < 6 && st == LLM_OK; k++)
        st = llm_trainer_step(tr, ds, NULL);
    ck_assert_int_eq(st, LLM_ERR_STATE);
    ck_assert_msg(strstr(llm_trainer_last_error(tr), "step ") != NULL, "%s",
                  llm_trainer_last_error(tr));
    /* nothing was updated by the failed step: the checkpoint holds the last finite weights */
    char path[] = "/tmp/llm_train_nanXXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_int_eq(llm_trainer_save_checkpoint(tr, path), LLM_OK);
    llm_model *back = NULL;
    ck_assert_int_eq(llm_model_open(path, NULL, &back), LLM_OK);
    llm_model_close(back);
    unlink(path);
    llm_trainer_destroy(tr);
    llm_dataset_close(ds);
    llm_model_close(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, byte_model);
    tcase_add_test(tc, resume_bit_identical);
    tcase_add_test(tc, named_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
