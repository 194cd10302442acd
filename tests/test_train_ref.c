/*
 * The trainer against ../shared/data/train (PyTorch autograd in float64, see its README): for
 * gpt2-tiny-f32 and stories260K-f32, the loss (1e-5 relative) and the gradient of every tensor
 * (1e-4, max|Δ|/max|ref| per tensor; an all-zero reference needs max|g| <= 1e-5 · the largest
 * reference gradient of the recipe) with and without the loss mask, and three AdamW steps
 * (losses, gradient norms before clipping, final tensors). Also: gradients with the same bytes
 * at 1, 2 and 3 threads, and the training forward's logits equal to inference's.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "testdata.h"

static json_t *manifest;

static void load_manifest(void)
{
    if (manifest)
        return;
    json_error_t e;
    manifest = json_load_file(llm_test_path("train/manifest.json"), 0, &e);
    ck_assert_msg(manifest, "train/manifest.json: %s", e.text);
}

static json_t *recipe(const char *model, const char *name)
{
    load_manifest();
    json_t *r = json_object_get(json_object_get(json_object_get(json_object_get(manifest,
                                                                                "models"),
                                                                model),
                                                "recipes"),
                                name);
    ck_assert_msg(r, "no recipe %s/%s in the manifest", model, name);
    return r;
}

static llm_model *open_model(const char *model)
{
    load_manifest();
    const char *file = json_string_value(json_object_get(
        json_object_get(json_object_get(manifest, "models"), model), "model_file"));
    ck_assert(file);
    char rel[512];
    snprintf(rel, sizeof rel, "train/%s", file);
    llm_model *m = NULL;
    ck_assert_msg(llm_model_open(llm_test_path(rel), NULL, &m) == LLM_OK, "%s: %s", rel,
                  llm_last_error());
    return m;
}

/* ids [B][T] and (when the recipe has one) mask [B][T-1] from the recipe. */
static void batch(json_t *r, int32_t *ids, uint8_t *mask, int *has_mask, uint32_t *B, uint32_t *T)
{
    *B = (uint32_t)json_integer_value(json_object_get(r, "B"));
    *T = (uint32_t)json_integer_value(json_object_get(r, "T"));
    json_t *a = json_object_get(r, "ids");
    for (uint32_t b = 0; b < *B; b++)
        for (uint32_t t = 0; t < *T; t++)
            ids[b * *T + t] = (int32_t)json_integer_value(json_array_get(json_array_get(a, b), t));
    json_t *m = json_object_get(r, "loss_mask");
    *has_mask = m != NULL;
    for (uint32_t b = 0; m && b < *B; b++)
        for (uint32_t t = 0; t + 1 < *T; t++)
            mask[b * (*T - 1) + t] =
                (uint8_t)json_integer_value(json_array_get(json_array_get(m, b), t));
}

static llm_trainer *make_trainer(llm_model *m, uint32_t B, uint32_t T, uint32_t threads)
{
    llm_trainer_options o;
    llm_trainer_options_init(&o);
    o.batch_size = B;
    o.n_ctx = T - 1;
    o.n_threads = threads;
    o.lr = 1e-3;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weight_decay = 0.1;
    o.grad_clip = 1.0;
    o.warmup_steps = 0;
    o.schedule = LLM_SCHEDULE_CONSTANT;
    llm_trainer *tr = NULL;
    ck_assert_msg(llm_trainer_create(m, &o, &tr) == LLM_OK, "%s", llm_last_error());
    return tr;
}

static float *read_ref(const char *file, size_t n)
{
    char rel[600];
    snprintf(rel, sizeof rel, "train/%s", file);
    size_t size = 0;
    float *f = llm_test_read_file(llm_test_path(rel), &size);
    ck_assert_msg(f && size == n * sizeof(float), "%s: %zu bytes, expected %zu", rel, size,
                  n * sizeof(float));
    return f;
}

static float *get(llm_trainer *tr, const char *name, llm_tensor_part part, size_t *n)
{
    ck_assert_int_eq(llm_trainer_get_tensor(tr, name, part, NULL, 0, n), LLM_OK);
    float *buf = malloc(*n * sizeof *buf);
    ck_assert_int_eq(llm_trainer_get_tensor(tr, name, part, buf, *n, n), LLM_OK);
    return buf;
}

static double rel(double a, double ref)
{
    return fabs(a - ref) / fabs(ref);
}

/* Gradient of every tensor of the recipe against its reference file; returns the worst error. */
static void check_gradients(const char *model, const char *name)
{
    json_t *r = recipe(model, name);
    int32_t ids[1024];
    uint8_t mask[1024];
    int has_mask;
    uint32_t B, T;
    batch(r, ids, mask, &has_mask, &B, &T);
    llm_model *m = open_model(model);
    llm_trainer *tr = make_trainer(m, B, T, 1);
    double loss = 0;
    ck_assert_msg(llm_trainer_backward(tr, ids, has_mask ? mask : NULL, B, T, &loss) == LLM_OK,
                  "%s", llm_trainer_last_error(tr));
    const double ref_loss = json_real_value(json_object_get(r, "loss"));
    ck_assert_msg(rel(loss, ref_loss) <= 1e-5, "%s %s: loss %.9f, reference %.9f", model, name,
                  loss, ref_loss);
    json_t *grads = json_object_get(r, "gradients");
    double largest = 0;
    for (size_t i = 0; i < json_array_size(grads); i++) {
        double mx = json_real_value(json_object_get(json_array_get(grads, i), "max_abs"));
        largest = mx > largest ? mx : largest;
    }
    double worst = 0;
    const char *worst_name = "";
    size_t checked = 0;
    for (size_t i = 0; i < json_array_size(grads); i++) {
        json_t *g = json_array_get(grads, i);
        const char *gname = json_string_value(json_object_get(g, "gguf_name"));
        size_t n;
        float *got = get(tr, gname, LLM_TENSOR_GRAD, &n);
        float *ref = read_ref(json_string_value(json_object_get(g, "file")), n);
        double max_ref = 0, max_got = 0;
        for (size_t k = 0; k < n; k++) {
            max_ref = fabs(ref[k]) > max_ref ? fabs(ref[k]) : max_ref;
            max_got = fabs(got[k]) > max_got ? fabs(got[k]) : max_got;
        }
        if (max_ref == 0) {
            ck_assert_msg(max_got <= 1e-5 * largest, "%s %s %s: reference is zero, got %g", model,
                          name, gname, max_got);
        } else {
            double e = llm_test_rel_err(got, ref, n);
            ck_assert_msg(e <= 1e-4, "%s %s %s: gradient error %.3g > 1e-4", model, name, gname,
                          e);
            if (e > worst) {
                worst = e;
                worst_name = gname;
            }
        }
        checked++;
        free(got);
        free(ref);
    }
    ck_assert_uint_eq(checked, llm_trainer_n_tensors(tr));
    printf("%s %s: loss %.9f (ref %.9f, rel %.2g); %zu gradients, worst %.3g (%s)\n", model, name,
           loss, ref_loss, rel(loss, ref_loss), checked, worst, worst_name);
    llm_trainer_destroy(tr);
    llm_model_close(m);
}

static void check_adamw(const char *model)
{
    json_t *r = recipe(model, "adamw");
    json_t *cl = recipe(model, "causal_lm");
    int32_t ids[1024];
    uint8_t mask[1024];
    int has_mask;
    uint32_t B, T;
    batch(cl, ids, mask, &has_mask, &B, &T);
    llm_model *m = open_model(model);
    llm_trainer *tr = make_trainer(m, B, T, 1);
    json_t *losses = json_object_get(r, "loss_before_step");
    json_t *norms = json_object_get(r, "grad_norm_before_clip");
    double worst = 0;
    for (size_t k = 0; k < 3; k++) {
        llm_train_stats st = {.struct_size = sizeof st};
        ck_assert_msg(llm_trainer_step_batch(tr, ids, NULL, B, T, &st) == LLM_OK, "%s",
                      llm_trainer_last_error(tr));
        ck_assert_uint_eq(st.step, k + 1);
        ck_assert(st.lr == 1e-3);
        double rl = json_real_value(json_array_get(losses, k));
        double rn = json_real_value(json_array_get(norms, k));
        ck_assert_msg(rel(st.loss, rl) <= 1e-5, "%s step %zu: loss %.9f, reference %.9f", model,
                      k + 1, st.loss, rl);
        ck_assert_msg(rel(st.grad_norm, rn) <= 1e-5, "%s step %zu: grad norm %.9f, reference %.9f",
                      model, k + 1, st.grad_norm, rn);
        worst = fmax(worst, fmax(rel(st.loss, rl), rel(st.grad_norm, rn)));
    }
    json_t *fin = json_object_get(r, "final_tensors");
    double worst_t = 0;
    for (size_t i = 0; i < json_array_size(fin); i++) {
        json_t *f = json_array_get(fin, i);
        const char *name = json_string_value(json_object_get(f, "gguf_name"));
        size_t n;
        float *got = get(tr, name, LLM_TENSOR_WEIGHT, &n);
        float *ref = read_ref(json_string_value(json_object_get(f, "file")), n);
        double e = llm_test_rel_err(got, ref, n);
        ck_assert_msg(e <= 1e-4, "%s AdamW final %s: error %.3g > 1e-4", model, name, e);
        worst_t = fmax(worst_t, e);
        free(got);
        free(ref);
    }
    double after = 0;
    ck_assert_int_eq(llm_trainer_backward(tr, ids, NULL, B, T, &after), LLM_OK);
    double ra = json_real_value(json_object_get(r, "loss_after_3_steps"));
    ck_assert_msg(rel(after, ra) <= 1e-5, "%s: loss after 3 steps %.9f, reference %.9f", model,
                  after, ra);
    printf("%s adamw: losses/norms worst rel %.2g, final tensors worst %.3g, loss after %.9f "
           "(ref %.9f)\n", model, worst, worst_t, after, ra);
    llm_trainer_destroy(tr);
    llm_model_close(m);
}

static const char *const models[] = {"gpt2-tiny-f32", "stories260K-f32"};

START_TEST(gradients_unmasked)
{
    check_gradients(models[_i], "causal_lm");
}
END_TEST

START_TEST(gradients_masked)
{
    check_gradients(models[_i], "causal_lm_masked");
}
END_TEST

START_TEST(adamw_three_steps)
{
    check_adamw(models[_i]);
}
END_TEST

/* Every gradient has the same bytes at 1, 2 and 3 threads. */
START_TEST(gradients_thread_invariant)
{
    json_t *r = recipe(models[_i], "causal_lm_masked");
    int32_t ids[1024];
    uint8_t mask[1024];
    int has_mask;
    uint32_t B, T;
    batch(r, ids, mask, &has_mask, &B, &T);
    llm_model *m = open_model(models[_i]);
    llm_trainer *tr[3];
    for (int k = 0; k < 3; k++) {
        tr[k] = make_trainer(m, B, T, (uint32_t)k + 1);
        ck_assert_int_eq(llm_trainer_backward(tr[k], ids, mask, B, T, NULL), LLM_OK);
    }
    for (size_t i = 0; i < llm_trainer_n_tensors(tr[0]); i++) {
        const char *name;
        ck_assert_int_eq(llm_trainer_tensor_info(tr[0], i, &name, NULL, NULL), LLM_OK);
        size_t n;
        float *a = get(tr[0], name, LLM_TENSOR_GRAD, &n);
        for (int k = 1; k < 3; k++) {
            float *b = get(tr[k], name, LLM_TENSOR_GRAD, &n);
            ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s: gradient of %s differs at %d "
                          "threads", models[_i], name, k + 1);
            free(b);
        }
        free(a);
    }
    for (int k = 0; k < 3; k++)
        llm_trainer_destroy(tr[k]);
    llm_model_close(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("train_ref");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, gradients_unmasked, 0, 2);
    tcase_add_loop_test(tc, gradients_masked, 0, 2);
    tcase_add_loop_test(tc, adamw_three_steps, 0, 2);
    tcase_add_loop_test(tc, gradients_thread_invariant, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    llm_test_data_require();
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
