/*
 * The trainer handle: creation (options, the tensor table, every activation buffer), the step
 * on random windows or on an explicit batch, the loss-only backward, evaluation, tensor access,
 * progress and cancellation. AdamW and the schedule live in optim.c, the passes in forward.c.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/options.h"
#include "train/dataset.h"
#include "train/optim.h"
#include "train/train.h"

void llm_trainer_options_init(llm_trainer_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->batch_size = 12;
    o->n_ctx = 0;
    o->grad_accum = 1;
    o->n_threads = 0;
    o->schedule = LLM_SCHEDULE_COSINE;
    o->warmup_steps = 100;
    o->total_steps = 2000;
    o->lr = 1e-3;
    o->min_lr = 1e-4;
    o->beta1 = 0.9;
    o->beta2 = 0.99;
    o->eps = 1e-8;
    o->weight_decay = 0.1;
    o->grad_clip = 1.0;
    o->seed = 0;
}

static llm_status fail(llm_trainer *tr, llm_status st)
{
    (void)st;
    return llm_error_publish(&tr->err);
}

static llm_status check_options(const llm_trainer_options *o, llm_error *err)
{
    LLM_CHECK(err, o->batch_size >= 1 && o->batch_size <= 65536, LLM_ERR_INVALID_ARG,
              "batch_size %u must be 1 .. 65536", o->batch_size);
    LLM_CHECK(err, o->grad_accum >= 1, LLM_ERR_INVALID_ARG, "grad_accum must be at least 1");
    LLM_CHECK(err, o->schedule == LLM_SCHEDULE_COSINE || o->schedule == LLM_SCHEDULE_CONSTANT,
              LLM_ERR_INVALID_ARG, "schedule %d is not an llm_schedule", o->schedule);
    LLM_CHECK(err, isfinite(o->lr) && o->lr >= 0, LLM_ERR_INVALID_ARG,
              "lr %g must be finite and >= 0", o->lr);
    LLM_CHECK(err, isfinite(o->min_lr) && o->min_lr >= 0, LLM_ERR_INVALID_ARG,
              "min_lr %g must be finite and >= 0", o->min_lr);
    LLM_CHECK(err, o->beta1 >= 0 && o->beta1 < 1, LLM_ERR_INVALID_ARG,
              "beta1 %g must be in [0, 1)", o->beta1);
    LLM_CHECK(err, o->beta2 >= 0 && o->beta2 < 1, LLM_ERR_INVALID_ARG,
              "beta2 %g must be in [0, 1)", o->beta2);
    LLM_CHECK(err, isfinite(o->eps) && o->eps > 0, LLM_ERR_INVALID_ARG,
              "eps %g must be positive", o->eps);
    LLM_CHECK(err, isfinite(o->weight_decay) && o->weight_decay >= 0, LLM_ERR_INVALID_ARG,
              "weight_decay %g must be finite and >= 0", o->weight_decay);
    LLM_CHECK(err, isfinite(o->grad_clip) && o->grad_clip >= 0, LLM_ERR_INVALID_ARG,
              "grad_clip %g must be finite and >= 0 (0 = off)", o->grad_clip);
    return LLM_OK;
}

static float *take(float **cur, size_t n)
{
    float *p = *cur;
    *cur += (n + 15) & ~(size_t)15;
    return p;
}

/* Every activation and scratch buffer of a step, in one block. */
static llm_status alloc_buffers(llm_trainer *tr, llm_error *err)
{
    const size_t B = (size_t)tr->Bmax, S = (size_t)tr->S, N = B * S;
    const size_t E = (size_t)tr->E, F = (size_t)tr->F, V = (size_t)tr->V;
    const size_t QD = (size_t)tr->QD, KD = (size_t)tr->KD, H = (size_t)tr->H;
    const bool gpt2 = tr->arch == LLM_ARCH_GPT2;
    const size_t qkv = gpt2 ? 3 * E : QD;
    const size_t per_layer = N * E * 6 + 2 * N + N * qkv + (gpt2 ? 0 : 2 * N * KD) +
                             B * H * S * S + N * QD + N * F * (gpt2 ? 2 : 3) + 20 * 16;
    const size_t head = N * E * 4 + N + N * V + 2 * N + 16 * 8;
    const size_t back = N * E * 2 + N * (QD > E ? QD : E) + N * (gpt2 ? 3 * E : QD + 2 * KD) +
                        N * F * 2 + B * (size_t)tr->KV * S + 16 * 10;
    uint64_t total = 0, t;
    LLM_CHECK(err, llm_mul_ok(per_layer, (uint64_t)tr->L, &t) && llm_add_ok(t, head, &total) &&
                       llm_add_ok(total, back, &total) &&
                       llm_mul_ok(total, sizeof(float), &total) && total < SIZE_MAX / 2,
              LLM_ERR_NOMEM, "activations of batch %zu x %zu are too large", B, S);
    float *base = llm_aligned_alloc((size_t)total);
    LLM_CHECK(err, base, LLM_ERR_NOMEM, "out of memory for %llu bytes of activations",
              (unsigned long long)total);
    memset(base, 0, (size_t)total);
    tr->act_block = base;
    tr->acts = llm_calloc((size_t)(tr->L ? tr->L : 1), sizeof *tr->acts);
    LLM_CHECK(err, tr->acts, LLM_ERR_NOMEM, "out of memory");
    float *c = base;
    for (int64_t l = 0; l < tr->L; l++) {
        llm_tacts *a = &tr->acts[l];
        a->x_in = take(&c, N * E);
        a->h1 = take(&c, N * E);
        a->xn1 = take(&c, N * E);
        a->r1 = take(&c, N);
        a->q = take(&c, N * qkv);
        if (!gpt2) {
            a->k = take(&c, N * KD);
            a->v = take(&c, N * KD);
        }
        a->P = take(&c, B * H * S * S);
        a->att = take(&c, N * QD);
        a->x_mid = take(&c, N * E);
        a->h2 = take(&c, N * E);
        a->xn2 = take(&c, N * E);
        a->r2 = take(&c, N);
        a->f_pre = take(&c, N * F);
        a->f_act = take(&c, N * F);
        if (!gpt2)
            a->f_up = take(&c, N * F);
    }
    tr->x_out = take(&c, N * E);
    tr->hf = take(&c, N * E);
    tr->xnf = take(&c, N * E);
    tr->rf = take(&c, N);
    tr->logits = take(&c, N * V);
    tr->row_scale = take(&c, N);
    tr->row_weight = take(&c, N);
    tr->dx = take(&c, N * E);
    tr->dn = take(&c, N * E);
    tr->datt = take(&c, N * (QD > E ? QD : E));
    if (gpt2) {
        tr->dq = take(&c, N * 3 * E);
    } else {
        tr->dq = take(&c, N * QD);
        tr->dk = take(&c, N * KD);
        tr->dv = take(&c, N * KD);
    }
    tr->dh = take(&c, N * F);
    tr->dg = take(&c, N * F);
    tr->attn_scratch = take(&c, B * (size_t)tr->KV * S);
    LLM_CHECK(err, (size_t)((char *)c - (char *)base) <= total, LLM_ERR_STATE,
              "internal: activation layout overflows its block");
    tr->nll = llm_calloc(N, sizeof *tr->nll);
    tr->in_ids = llm_calloc(N, sizeof *tr->in_ids);
    tr->targets = llm_calloc(N, sizeof *tr->targets);
    tr->pos_ids = llm_calloc(N, sizeof *tr->pos_ids);
    tr->neg_pos = llm_calloc(N, sizeof *tr->neg_pos);
    tr->win_ids = llm_calloc(B * (S + 1), sizeof *tr->win_ids);
    tr->win_mask = llm_calloc(B * S, 1);
    LLM_CHECK(err, tr->nll && tr->in_ids && tr->targets && tr->pos_ids && tr->neg_pos &&
                       tr->win_ids && tr->win_mask,
              LLM_ERR_NOMEM, "out of memory");
    return LLM_OK;
}

void llm_trainer_destroy(llm_trainer *tr)
{
    if (!tr)
        return;
    llm_pool_destroy(tr->pool);
    llm_aligned_free(tr->arena);
    llm_aligned_free(tr->act_block);
    llm_mem_free(tr->acts);
    llm_mem_free(tr->layers);
    llm_mem_free(tr->p);
    llm_mem_free(tr->nll);
    llm_mem_free(tr->in_ids);
    llm_mem_free(tr->targets);
    llm_mem_free(tr->pos_ids);
    llm_mem_free(tr->neg_pos);
    llm_mem_free(tr->win_ids);
    llm_mem_free(tr->win_mask);
    if (tr->model)
        llm_model_release(tr->model);
    llm_mem_free(tr);
}

llm_status llm_trainer_create(const llm_model *model, const llm_trainer_options *opt,
                              llm_trainer **out)
{
    if (out)
        *out = NULL;
    if (!model || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_create: model and out must not be NULL");
    llm_error err = {0};
    llm_trainer_options o;
    llm_trainer_options_init(&o);
    if (opt && llm_copy_options(&o, sizeof o, opt, sizeof o, "llm_trainer_options", &err) !=
                   LLM_OK)
        return llm_error_publish(&err);
    if (check_options(&o, &err) != LLM_OK)
        return llm_error_publish(&err);
    llm_trainer *tr = llm_calloc(1, sizeof *tr);
    if (!tr)
        return llm_fail(LLM_ERR_NOMEM, "out of memory");
    tr->opt = o;
    tr->model = (struct llm_model *)model;
    llm_model_retain(tr->model);
    atomic_init(&tr->cancel, 0);
    llm_status st = llm_train_bind(tr, &err);
    if (st == LLM_OK) {
        uint32_t n_ctx = o.n_ctx ? o.n_ctx : (uint32_t)tr->n_ctx_model;
        if (n_ctx > tr->n_ctx_model)
            st = llm_error_set(&err, LLM_ERR_TOO_LONG,
                               "n_ctx %u is longer than the model's context of %lld positions "
                               "(set n_ctx to at most %lld)",
                               n_ctx, (long long)tr->n_ctx_model, (long long)tr->n_ctx_model);
        tr->opt.n_ctx = n_ctx;
        tr->S = n_ctx;
        tr->Bmax = o.batch_size;
    }
    if (st == LLM_OK)
        st = alloc_buffers(tr, &err);
    if (st == LLM_OK) {
        tr->pool = llm_pool_create(o.n_threads, NULL, NULL);
        if (!tr->pool)
            st = llm_error_set(&err, LLM_ERR_NOMEM, "cannot start %u threads", o.n_threads);
    }
    if (st != LLM_OK) {
        llm_trainer_destroy(tr);
        return llm_error_publish(&err);
    }
    llm_train_rng_seed(tr->rng, o.seed);
    *out = tr;
    return LLM_OK;
}

const char *llm_trainer_last_error(const llm_trainer *tr)
{
    return tr ? tr->err.msg : "";
}

// ------------------------------------------------------------------------------------------------
// batches

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool cancelled(llm_trainer *tr, llm_train_phase phase, uint64_t done, uint64_t total)
{
    if (tr->progress && tr->progress(tr->progress_user, phase, done, total) != 0)
        atomic_store(&tr->cancel, 1);
    return atomic_exchange(&tr->cancel, 0) != 0;
}

/* Loss (and with `backward` the gradient, scaled by 1/(count·div)) of B sequences of T ids.
 * *loss_sum: sum of the counted targets' NLL; *count: the counted targets. */
static llm_status run_batch(llm_trainer *tr, const int32_t *ids, const uint8_t *mask, int64_t B,
                            int64_t T, double div, bool backward, double *loss_sum,
                            double *count)
{
    llm_error *err = &tr->err;
    LLM_CHECK(err, B >= 1 && B <= tr->Bmax, LLM_ERR_INVALID_ARG,
              "batch of %lld sequences: the trainer takes 1 .. batch_size = %lld",
              (long long)B, (long long)tr->Bmax);
    LLM_CHECK(err, T >= 2 && T <= tr->S + 1, LLM_ERR_TOO_LONG,
              "sequences of %lld ids: the trainer takes 2 .. n_ctx+1 = %lld", (long long)T,
              (long long)tr->S + 1);
    const int64_t S = T - 1;
    double n = 0.0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < T; i++) {
            const int32_t id = ids[b * T + i];
            LLM_CHECK(err, id >= 0 && id < tr->V, LLM_ERR_INVALID_ARG,
                      "token id %d (sequence %lld, position %lld) is outside the vocabulary "
                      "of %lld",
                      id, (long long)b, (long long)i, (long long)tr->V);
            if (i < S) {
                tr->in_ids[b * S + i] = id;
                tr->targets[b * S + i] = ids[b * T + i + 1];
                const float w = mask == NULL || mask[b * S + i] != 0 ? 1.0f : 0.0f;
                tr->row_weight[b * S + i] = w;
                n += w;
            }
        }
    *count = n;
    if (n == 0.0) {
        *loss_sum = 0.0;
        return LLM_OK;
    }
    const float sc = (float)(1.0 / (n * div));
    for (int64_t r = 0; r < B * S; r++)
        tr->row_scale[r] = tr->row_weight[r] * sc;
    llm_train_forward(tr, tr->in_ids, B, S);
    *loss_sum = llm_grad_cross_entropy(tr->logits, tr->targets, tr->row_scale, tr->row_weight,
                                       tr->nll, B * S, tr->V);
    if (backward && isfinite(*loss_sum))
        llm_train_backward(tr, B, S);
    return LLM_OK;
}

static llm_status check_finite(llm_trainer *tr, double loss, const char *what)
{
    if (isfinite(loss))
        return LLM_OK;
    return llm_error_set(&tr->err, LLM_ERR_STATE,
                         "step %llu: the %s is %s; nothing was updated (lower the learning "
                         "rate, or resume from the last checkpoint)",
                         (unsigned long long)tr->step + 1, what, isnan(loss) ? "NaN" : "infinite");
}

static void fill_stats(llm_train_stats *stats, const llm_trainer *tr, double loss, double norm,
                       double lr, uint64_t tokens, double t0)
{
    if (!stats || stats->struct_size < sizeof(size_t))
        return;
    llm_train_stats s = {
        .struct_size = stats->struct_size,
        .step = tr->step, .loss = loss, .grad_norm = norm, .lr = lr, .tokens = tokens,
        .seconds = now_seconds() - t0,
    };
    size_t n = stats->struct_size < sizeof s ? stats->struct_size : sizeof s;
    memcpy(stats, &s, n);
}

/* Clips, updates, counts the step. */
static llm_status finish_step(llm_trainer *tr, double loss, uint64_t tokens, double t0,
                              llm_train_stats *stats)
{
    LLM_TRY(check_finite(tr, loss, "loss"));
    const double norm = llm_train_grad_norm(tr);
    LLM_TRY(check_finite(tr, norm, "gradient norm"));
    if (atomic_exchange(&tr->cancel, 0) != 0)
        return llm_error_set(&tr->err, LLM_ERR_CANCELLED, "step %llu cancelled before the update",
                             (unsigned long long)tr->step + 1);
    const double lr = llm_train_lr(&tr->opt, tr->step);
    llm_train_adamw(tr, norm, lr);
    tr->step++;
    tr->tokens += tokens;
    fill_stats(stats, tr, loss, norm, lr, tokens, t0);
    return LLM_OK;
}

static void zero_grads(llm_trainer *tr)
{
    memset(tr->arena + tr->n_floats, 0, tr->n_floats * sizeof(float));
}

llm_status llm_trainer_step_batch(llm_trainer *tr, const int32_t *ids, const uint8_t *mask,
                                  uint32_t B, uint32_t T, llm_train_stats *stats)
{
    if (!tr || !ids)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_step_batch: trainer and ids must not "
                                             "be NULL");
    llm_error_clear(&tr->err);
    const double t0 = now_seconds();
    zero_grads(tr);
    double sum, n;
    llm_status st = run_batch(tr, ids, mask, B, T, 1.0, true, &sum, &n);
    if (st == LLM_OK && n == 0.0)
        st = llm_error_set(&tr->err, LLM_ERR_INVALID_ARG, "the mask counts no target");
    if (st == LLM_OK)
        st = finish_step(tr, sum / n, (uint64_t)B * (T - 1), t0, stats);
    return st == LLM_OK ? LLM_OK : fail(tr, st);
}

llm_status llm_trainer_backward(llm_trainer *tr, const int32_t *ids, const uint8_t *mask,
                                uint32_t B, uint32_t T, double *loss)
{
    if (!tr || !ids)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_backward: trainer and ids must not be "
                                             "NULL");
    llm_error_clear(&tr->err);
    zero_grads(tr);
    double sum, n;
    llm_status st = run_batch(tr, ids, mask, B, T, 1.0, true, &sum, &n);
    if (st == LLM_OK && n == 0.0)
        st = llm_error_set(&tr->err, LLM_ERR_INVALID_ARG, "the mask counts no target");
    if (st == LLM_OK && loss)
        *loss = sum / n;
    return st == LLM_OK ? LLM_OK : fail(tr, st);
}

llm_status llm_trainer_step(llm_trainer *tr, const llm_dataset *ds, llm_train_stats *stats)
{
    if (!tr || !ds)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_step: trainer and dataset must not be "
                                             "NULL");
    llm_error_clear(&tr->err);
    const int64_t S = tr->S, B = tr->Bmax, Tw = S + 1;
    const uint64_t n_train = ds->n_train;
    if (n_train < (uint64_t)Tw) {
        llm_error_set(&tr->err, LLM_ERR_TOO_LONG,
                      "the train part has %llu tokens; a window needs n_ctx+1 = %lld (use a "
                      "longer text or a smaller n_ctx)",
                      (unsigned long long)n_train, (long long)Tw);
        return fail(tr, LLM_ERR_TOO_LONG);
    }
    const double t0 = now_seconds();
    uint64_t saved[4];
    memcpy(saved, tr->rng, sizeof saved);
    zero_grads(tr);
    const uint32_t accum = tr->opt.grad_accum;
    const uint64_t range = n_train - (uint64_t)Tw + 1;
    double loss = 0.0;
    llm_status st = LLM_OK;
    for (uint32_t a = 0; a < accum && st == LLM_OK; a++) {
        if (cancelled(tr, LLM_PHASE_STEP, a, accum)) {
            st = llm_error_set(&tr->err, LLM_ERR_CANCELLED, "step %llu cancelled",
                               (unsigned long long)tr->step + 1);
            break;
        }
        for (int64_t b = 0; b < B; b++) {
            const uint64_t start = llm_train_rng_next(tr->rng) % range;
            memcpy(tr->win_ids + b * Tw, ds->ids + start, (size_t)Tw * sizeof(int32_t));
            if (ds->mask)
                memcpy(tr->win_mask + b * S, ds->mask + start + 1, (size_t)S);
        }
        double sum, n;
        st = run_batch(tr, tr->win_ids, ds->mask ? tr->win_mask : NULL, B, Tw, (double)accum,
                       true, &sum, &n);
        if (st == LLM_OK && n > 0)
            loss += sum / n / accum;
    }
    if (st == LLM_OK && cancelled(tr, LLM_PHASE_STEP, accum, accum))
        st = llm_error_set(&tr->err, LLM_ERR_CANCELLED, "step %llu cancelled",
                           (unsigned long long)tr->step + 1);
    if (st == LLM_OK)
        st = finish_step(tr, loss, (uint64_t)accum * B * S, t0, stats);
    if (st != LLM_OK) {
        memcpy(tr->rng, saved, sizeof saved);
        return fail(tr, st);
    }
    return LLM_OK;
}

llm_status llm_trainer_evaluate(llm_trainer *tr, const llm_dataset *ds, llm_split split,
                                uint64_t max_windows, double *loss, uint64_t *n_targets)
{
    if (!tr || !ds || !loss)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_evaluate: trainer, dataset and loss "
                                             "must not be NULL");
    if (split != LLM_SPLIT_TRAIN && split != LLM_SPLIT_VALIDATION)
        return llm_fail(LLM_ERR_INVALID_ARG, "split %d is not an llm_split", (int)split);
    llm_error_clear(&tr->err);
    const uint64_t s0 = split == LLM_SPLIT_TRAIN ? 0 : ds->n_train;
    const uint64_t s1 = split == LLM_SPLIT_TRAIN ? ds->n_train : ds->n;
    const uint64_t len = s1 - s0;
    if (len < 2) {
        llm_error_set(&tr->err, LLM_ERR_TOO_LONG, "the %s part has %llu tokens; evaluation "
                      "needs at least 2",
                      split == LLM_SPLIT_TRAIN ? "train" : "validation", (unsigned long long)len);
        return fail(tr, LLM_ERR_TOO_LONG);
    }
    const int64_t S = tr->S;
    const int64_t Tw = len < (uint64_t)S + 1 ? (int64_t)len : S + 1;
    uint64_t n_win = (len - 1) / (uint64_t)(Tw - 1);
    if (max_windows && n_win > max_windows)
        n_win = max_windows;
    double total = 0.0, count = 0.0;
    for (uint64_t w0 = 0; w0 < n_win; w0 += (uint64_t)tr->Bmax) {
        if (cancelled(tr, LLM_PHASE_EVALUATE, w0, n_win)) {
            llm_error_set(&tr->err, LLM_ERR_CANCELLED, "evaluation cancelled");
            return fail(tr, LLM_ERR_CANCELLED);
        }
        const int64_t B = n_win - w0 < (uint64_t)tr->Bmax ? (int64_t)(n_win - w0) : tr->Bmax;
        for (int64_t b = 0; b < B; b++) {
            const uint64_t start = s0 + (w0 + (uint64_t)b) * (uint64_t)(Tw - 1);
            memcpy(tr->win_ids + b * Tw, ds->ids + start, (size_t)Tw * sizeof(int32_t));
            if (ds->mask)
                memcpy(tr->win_mask + b * (Tw - 1), ds->mask + start + 1, (size_t)(Tw - 1));
        }
        double sum, n;
        llm_status st = run_batch(tr, tr->win_ids, ds->mask ? tr->win_mask : NULL, B, Tw, 1.0,
                                  false, &sum, &n);
        if (st != LLM_OK)
            return fail(tr, st);
        total += sum;
        count += n;
    }
    if (count == 0.0) {
        llm_error_set(&tr->err, LLM_ERR_INVALID_ARG, "the mask counts no target in the %s part",
                      split == LLM_SPLIT_TRAIN ? "train" : "validation");
        return fail(tr, LLM_ERR_INVALID_ARG);
    }
    *loss = total / count;
    if (n_targets)
        *n_targets = (uint64_t)count;
    return LLM_OK;
}

// ------------------------------------------------------------------------------------------------
// tensors, progress, cancel

size_t llm_trainer_n_tensors(const llm_trainer *tr)
{
    return tr ? tr->np : 0;
}

llm_status llm_trainer_tensor_info(const llm_trainer *tr, size_t i, const char **name,
                                   uint32_t *n_dims, int64_t *ne)
{
    if (!tr || i >= tr->np)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_tensor_info: no tensor %zu", i);
    const llm_tparam *p = &tr->p[i];
    if (name)
        *name = p->name;
    if (n_dims)
        *n_dims = p->n_dims;
    if (ne) {
        ne[0] = p->ne[0];
        ne[1] = p->ne[1];
    }
    return LLM_OK;
}

llm_status llm_trainer_get_tensor(const llm_trainer *tr, const char *name, llm_tensor_part part,
                                  float *out, size_t cap, size_t *n_out)
{
    if (!tr || !name || !n_out)
        return llm_fail(LLM_ERR_INVALID_ARG, "llm_trainer_get_tensor: trainer, name and n_out "
                                             "must not be NULL");
    const llm_tparam *p = llm_train_find(tr, name);
    if (!p)
        return llm_fail(LLM_ERR_INVALID_ARG, "the model has no tensor '%s'", name);
    const float *src = part == LLM_TENSOR_WEIGHT ? p->w
                       : part == LLM_TENSOR_GRAD   ? p->g
                       : part == LLM_TENSOR_ADAM_M ? p->m
                       : part == LLM_TENSOR_ADAM_V ? p->v
                                                   : NULL;
    if (!src)
        return llm_fail(LLM_ERR_INVALID_ARG, "part %d is not an llm_tensor_part", (int)part);
    *n_out = p->n;
    if (!out)
        return LLM_OK;
    if (cap < p->n)
        return llm_fail(LLM_ERR_BUFFER_TOO_SMALL, "tensor '%s' has %zu elements; the buffer "
                                                  "holds %zu",
                        name, p->n, cap);
    memcpy(out, src, p->n * sizeof(float));
    return LLM_OK;
}

void llm_trainer_set_progress(llm_trainer *tr, llm_train_progress_fn fn, void *user)
{
    if (!tr)
        return;
    tr->progress = fn;
    tr->progress_user = user;
}

void llm_trainer_cancel(llm_trainer *tr)
{
    if (tr)
        atomic_store(&tr->cancel, 1);
}

void llm_trainer_position(const llm_trainer *tr, uint64_t *step, uint64_t *tokens)
{
    if (step)
        *step = tr ? tr->step : 0;
    if (tokens)
        *tokens = tr ? tr->tokens : 0;
}
