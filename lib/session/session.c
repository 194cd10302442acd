/*
 * Sessions: creation (every buffer a session needs is allocated here, once), the typed parameter
 * setters, and feeding tokens — decoder prompts in batches, encoder-decoder inputs through the
 * encoder. Sampling and the generation loop are in generate.c; state files in state.c.
 */
#include "session/session.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/options.h"

/* ---------------------------------------------------------------------------------------------- */
/* options and sizes                                                                              */
/* ---------------------------------------------------------------------------------------------- */

#define DEFAULT_MAX_CTX 2048u
#define DEFAULT_BATCH 512u

void llm_session_options_init(llm_session_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->kv_type = LLM_KV_F32;
    opt->context_policy = LLM_CONTEXT_ERROR;
}

static uint32_t online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

/* Fills the defaults that depend on the model and checks the rest. */
static llm_status resolve_options(const struct llm_model *m, const llm_session_options *in,
                                  llm_session_options *o, llm_error *err)
{
    llm_session_options_init(o);
    if (in)
        LLM_TRY(llm_copy_options(o, sizeof *o, in,
                                 offsetof(llm_session_options, parallel_host) +
                                     sizeof o->parallel_host,
                                 "llm_session_options", err));
    const llm_hparams *hp = &m->hp;
    if (o->n_ctx == 0)
        o->n_ctx = hp->n_ctx_train && hp->n_ctx_train < DEFAULT_MAX_CTX ? hp->n_ctx_train
                                                                         : DEFAULT_MAX_CTX;
    LLM_CHECK(err, o->n_ctx <= (1u << 24), LLM_ERR_INVALID_ARG, "n_ctx %u is too large",
              o->n_ctx);
    if (hp->n_ctx_train && o->n_ctx > hp->n_ctx_train) {
        /* learned absolute positions have no rows past the trained length */
        LLM_CHECK(err, hp->arch != LLM_ARCH_GPT2 && hp->arch != LLM_ARCH_BERT,
                  LLM_ERR_INVALID_ARG,
                  "n_ctx %u exceeds the %u positions this %s model has embeddings for", o->n_ctx,
                  hp->n_ctx_train, m->ops->name);
        llm_log(LLM_LOG_WARN, "n_ctx %u exceeds the context the model file declares (%u)",
                o->n_ctx, hp->n_ctx_train);
    }
    if (o->n_threads == 0)
        o->n_threads = online_cpus();
    LLM_CHECK(err, o->n_threads <= 1024, LLM_ERR_INVALID_ARG, "n_threads %u is too large",
              o->n_threads);
    if (o->n_batch == 0)
        o->n_batch = DEFAULT_BATCH;
    if (o->n_batch > o->n_ctx)
        o->n_batch = o->n_ctx;
    LLM_CHECK(err, o->kv_type == LLM_KV_F32 || o->kv_type == LLM_KV_F16, LLM_ERR_INVALID_ARG,
              "kv_type %d is not LLM_KV_F32 or LLM_KV_F16", o->kv_type);
    LLM_CHECK(err, o->context_policy == LLM_CONTEXT_ERROR || o->context_policy == LLM_CONTEXT_SHIFT,
              LLM_ERR_INVALID_ARG, "context_policy %d is not a llm_context_policy",
              o->context_policy);
    return LLM_OK;
}

static bool has_decoder(const struct llm_model *m)
{
    return m->hp.family != LLM_FAMILY_ENCODER;
}

static uint64_t session_bytes(const struct llm_model *m, const llm_session_options *o)
{
    const llm_hparams *hp = &m->hp;
    uint32_t threads = o->n_threads > online_cpus() ? o->n_threads : online_cpus();
    uint64_t bytes = m->ops->scratch_bytes(m, o->n_ctx, o->n_batch, threads);
    if (has_decoder(m))
        bytes += llm_kv_cache_bytes(o->kv_type, hp->n_layer, o->n_ctx,
                                    hp->n_head_kv * hp->head_dim);
    bytes += (uint64_t)o->n_ctx * sizeof(int32_t) * 2;     /* tokens, encoder ids */
    bytes += (uint64_t)hp->n_vocab * sizeof(float);        /* logits */
    bytes += llm_sampler_bytes(hp->n_vocab);
    return bytes;
}

llm_status llm_model_estimate_memory(const llm_model *m, const llm_session_options *opt,
                                     uint64_t *bytes)
{
    if (!m || !bytes)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !m ? "model is NULL (not opened, or closed)" : "bytes is NULL");
    llm_error err = {0};
    llm_session_options o;
    if (resolve_options(m, opt, &o, &err) != LLM_OK)
        return llm_error_publish(&err);
    *bytes = session_bytes(m, &o);
    return LLM_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* create / destroy                                                                               */
/* ---------------------------------------------------------------------------------------------- */

llm_status llm_session_fail(struct llm_session *s, const llm_error *err)
{
    if (s && err && &s->err != err)
        s->err = *err;
    return llm_error_publish(err);
}

static void session_free(struct llm_session *s)
{
    if (!s)
        return;
    llm_session_free_adapters(s);
    llm_detokenizer_destroy(s->detok);
    llm_sampler_free(&s->sampler);
    llm_kv_cache_free(&s->kv);
    llm_aligned_free(s->run.act);
    llm_aligned_free(s->run.comp.scratch);
    llm_pool_destroy(s->pool);
    for (int i = 0; i < s->n_stops; i++)
        llm_mem_free(s->stops[i]);
    llm_mem_free(s->tokens);
    llm_mem_free(s->enc_ids);
    llm_mem_free(s->logits);
    llm_mem_free(s->pending);
    llm_mem_free(s->step_text);
    if (s->model)
        llm_model_release(s->model);
    llm_mem_free(s);
}

static llm_status session_init(struct llm_session *s, struct llm_model *m,
                               const llm_session_options *o, llm_error *err)
{
    const llm_hparams *hp = &m->hp;
    s->opt = *o;
    s->max_tokens = 256;
    s->num_beams = 1;
    s->n_best = 1;
    s->early_stopping = 1;
    s->length_penalty = 1.0;
    atomic_init(&s->cancel, false);

    s->pool = llm_pool_create(o->n_threads, o->parallel_for, o->parallel_host);
    LLM_CHECK(err, s->pool, LLM_ERR_NOMEM, "cannot start %u threads", o->n_threads);

    s->run.m = m;
    s->run.n_ctx = o->n_ctx;
    s->run.n_batch = o->n_batch;
    s->run.comp.pool = s->pool;
    /* scratch is sized for as many threads as the machine has, so that LLM_PARAM_N_THREADS can
     * change the count later without reallocating */
    s->thread_cap = o->n_threads > online_cpus() ? o->n_threads : online_cpus();
    s->run.act_bytes = m->ops->scratch_bytes(m, o->n_ctx, o->n_batch, s->thread_cap);
    s->run.act = llm_aligned_alloc(s->run.act_bytes ? s->run.act_bytes : 64);
    LLM_CHECK(err, s->run.act, LLM_ERR_NOMEM, "cannot allocate %zu bytes of activations",
              s->run.act_bytes);
    memset(s->run.act, 0, s->run.act_bytes); /* once: architectures may keep state at its start */

    if (has_decoder(m)) {
        LLM_TRY(llm_kv_cache_init(&s->kv, o->kv_type, hp->n_layer, o->n_ctx, hp->n_head_kv,
                                  hp->head_dim, err));
        s->run.kv = &s->kv;
    }
    s->tokens = llm_calloc(o->n_ctx, sizeof *s->tokens);
    s->enc_ids = llm_calloc(o->n_ctx, sizeof *s->enc_ids);
    s->logits = llm_calloc(hp->n_vocab ? hp->n_vocab : 1, sizeof *s->logits);
    s->step_text_cap = 256;
    s->step_text = llm_malloc(s->step_text_cap);
    s->pending_cap = 256;
    s->pending = llm_malloc(s->pending_cap);
    LLM_CHECK(err, s->tokens && s->enc_ids && s->logits && s->step_text && s->pending,
              LLM_ERR_NOMEM, "out of memory creating a session");
    LLM_TRY(llm_sampler_init(&s->sampler, hp->n_vocab, err));
    if (llm_detokenizer_create(m->tok, 0, &s->detok) != LLM_OK)
        return llm_error_set(err, LLM_ERR_NOMEM, "cannot create the detokenizer: %s",
                             llm_last_error());
    return LLM_OK;
}

llm_status llm_session_create(llm_model *model, const llm_session_options *opt, llm_session **out)
{
    if (out)
        *out = NULL;
    if (!model || !out)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !model ? "model is NULL (not opened, or closed)" : "out is NULL");
    llm_error err = {0};
    llm_session_options o;
    if (resolve_options(model, opt, &o, &err) != LLM_OK)
        return llm_error_publish(&err);
    struct llm_session *s = llm_calloc(1, sizeof *s);
    if (!s)
        return llm_fail(LLM_ERR_NOMEM, "out of memory creating a session");
    llm_model_retain(model);
    s->model = model;
    if (session_init(s, model, &o, &err) != LLM_OK) {
        session_free(s);
        return llm_error_publish(&err);
    }
    *out = s;
    return LLM_OK;
}

void llm_session_destroy(llm_session *s)
{
    session_free(s);
}

const char *llm_session_last_error(const llm_session *s)
{
    return s ? s->err.msg : "";
}

const llm_model *llm_session_model(const llm_session *s)
{
    return s ? s->model : NULL;
}

size_t llm_session_n_tokens(const llm_session *s)
{
    return s ? s->n_tokens : 0;
}

/* Clears everything that belongs to one generation (not the context). */
void llm_session_begin_generation(struct llm_session *s)
{
    s->stop_reason = LLM_STOP_NONE;
    s->n_generated = 0;
    s->pending_len = 0;
    /* not the cancel flag: a cancel issued just before this generation must stop it */
    if (s->detok) {
        size_t ignored;
        llm_detokenizer_flush(s->detok, NULL, 0, &ignored);
    }
}

void llm_session_reset(llm_session *s)
{
    if (!s)
        return;
    s->n_tokens = 0;
    s->n_enc = 0;
    s->has_logits = false;
    s->run.cross_ready = false;
    s->run.n_enc = 0;
    llm_session_begin_generation(s);
}

/* ---------------------------------------------------------------------------------------------- */
/* parameters                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

static llm_status param_fail(struct llm_session *s, llm_status st, const char *fmt, long long v)
{
    llm_error err;
    llm_error_set(&err, st, fmt, v);
    return llm_session_fail(s, &err);
}

llm_status llm_session_set_int(llm_session *s, llm_param key, int64_t v)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    llm_sampler *smp = &s->sampler;
    switch (key) {
    case LLM_PARAM_TOP_K:
        if (v < 0 || v > INT32_MAX)
            return param_fail(s, LLM_ERR_INVALID_ARG, "top_k %lld must be >= 0", (long long)v);
        smp->top_k = (int32_t)v;
        return LLM_OK;
    case LLM_PARAM_PENALTY_LAST_N:
        if (v < -1 || v > INT32_MAX)
            return param_fail(s, LLM_ERR_INVALID_ARG,
                              "penalty_last_n %lld must be >= -1 (-1 = whole context)", v);
        smp->penalty_last_n = (int32_t)v;
        return LLM_OK;
    case LLM_PARAM_SEED:
        llm_sampler_seed(smp, (uint64_t)v);
        return LLM_OK;
    case LLM_PARAM_MAX_TOKENS:
        if (v < 0)
            return param_fail(s, LLM_ERR_INVALID_ARG, "max_tokens %lld must be >= 0", v);
        s->max_tokens = v;
        return LLM_OK;
    case LLM_PARAM_N_THREADS:
        if (v < 1 || (uint64_t)v > s->thread_cap)
            return param_fail(s, LLM_ERR_INVALID_ARG,
                              "n_threads %lld must be between 1 and the CPUs or the n_threads "
                              "the session was created with", v);
        if ((uint32_t)v != s->opt.n_threads) {
            llm_pool *p = llm_pool_create((uint32_t)v, s->opt.parallel_for, s->opt.parallel_host);
            if (!p)
                return param_fail(s, LLM_ERR_NOMEM, "cannot start %lld threads", v);
            llm_pool_destroy(s->pool);
            s->pool = p;
            s->run.comp.pool = p;
            s->opt.n_threads = (uint32_t)v;
        }
        return LLM_OK;
    case LLM_PARAM_NUM_BEAMS:
        if (v < 1 || v > 64)
            return param_fail(s, LLM_ERR_INVALID_ARG, "num_beams %lld must be in [1, 64]", v);
        s->num_beams = (int)v;
        return LLM_OK;
    case LLM_PARAM_EARLY_STOPPING:
        s->early_stopping = v != 0;
        return LLM_OK;
    case LLM_PARAM_N_BEST:
        if (v < 1 || v > 64)
            return param_fail(s, LLM_ERR_INVALID_ARG, "n_best %lld must be in [1, 64]", v);
        s->n_best = (int)v;
        return LLM_OK;
    case LLM_PARAM_IGNORE_EOS:
        s->ignore_eos = v != 0;
        return LLM_OK;
    case LLM_PARAM_TEMPERATURE:
    case LLM_PARAM_TOP_P:
    case LLM_PARAM_MIN_P:
    case LLM_PARAM_TYPICAL_P:
    case LLM_PARAM_REPEAT_PENALTY:
    case LLM_PARAM_FREQUENCY_PENALTY:
    case LLM_PARAM_PRESENCE_PENALTY:
    case LLM_PARAM_LENGTH_PENALTY:
        return llm_session_set_float(s, key, (double)v);
    }
    return param_fail(s, LLM_ERR_UNKNOWN_PARAM, "unknown integer parameter %lld", (long long)key);
}

llm_status llm_session_set_float(llm_session *s, llm_param key, double v)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    llm_sampler *smp = &s->sampler;
    llm_error err;
    if (isnan(v) || isinf(v)) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG, "parameter %d: value is not a finite number",
                      (int)key);
        return llm_session_fail(s, &err);
    }
    /* every parameter but the integer ones is stored as a float: 1e300 would become +inf */
    const bool stored_as_float = key == LLM_PARAM_TEMPERATURE || key == LLM_PARAM_TOP_P ||
                                 key == LLM_PARAM_MIN_P || key == LLM_PARAM_TYPICAL_P ||
                                 key == LLM_PARAM_REPEAT_PENALTY ||
                                 key == LLM_PARAM_FREQUENCY_PENALTY ||
                                 key == LLM_PARAM_PRESENCE_PENALTY ||
                                 key == LLM_PARAM_LENGTH_PENALTY;
    if (stored_as_float && fabs(v) > FLT_MAX) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG,
                      "parameter %d: %g is beyond the range of a float (%g)", (int)key, v,
                      (double)FLT_MAX);
        return llm_session_fail(s, &err);
    }
    float f = (float)v;
#define RANGE(name, ok)                                                                            \
    if (!(ok)) {                                                                                   \
        llm_error_set(&err, LLM_ERR_INVALID_ARG, name " %g is out of range", v);                  \
        return llm_session_fail(s, &err);                                                          \
    }
    switch (key) {
    case LLM_PARAM_TEMPERATURE:
        RANGE("temperature", v >= 0);
        smp->temperature = f;
        return LLM_OK;
    case LLM_PARAM_TOP_P:
        RANGE("top_p", v > 0 && v <= 1);
        smp->top_p = f;
        return LLM_OK;
    case LLM_PARAM_MIN_P:
        RANGE("min_p", v >= 0 && v <= 1);
        smp->min_p = f;
        return LLM_OK;
    case LLM_PARAM_TYPICAL_P:
        RANGE("typical_p", v > 0 && v <= 1);
        smp->typical_p = f;
        return LLM_OK;
    case LLM_PARAM_REPEAT_PENALTY:
        RANGE("repeat_penalty", v > 0);
        smp->repeat_penalty = f;
        return LLM_OK;
    case LLM_PARAM_FREQUENCY_PENALTY:
        smp->frequency_penalty = f;
        return LLM_OK;
    case LLM_PARAM_PRESENCE_PENALTY:
        smp->presence_penalty = f;
        return LLM_OK;
    case LLM_PARAM_LENGTH_PENALTY:
        s->length_penalty = v;
        return LLM_OK;
    case LLM_PARAM_TOP_K:
    case LLM_PARAM_PENALTY_LAST_N:
    case LLM_PARAM_SEED:
    case LLM_PARAM_MAX_TOKENS:
    case LLM_PARAM_N_THREADS:
    case LLM_PARAM_NUM_BEAMS:
    case LLM_PARAM_EARLY_STOPPING:
    case LLM_PARAM_N_BEST:
    case LLM_PARAM_IGNORE_EOS:
        RANGE("integer parameter", v == floor(v) && fabs(v) < 9.0e15);
        return llm_session_set_int(s, key, (int64_t)v);
    }
#undef RANGE
    llm_error_set(&err, LLM_ERR_UNKNOWN_PARAM, "unknown parameter %d", (int)key);
    return llm_session_fail(s, &err);
}

llm_status llm_session_get_int(const llm_session *s, llm_param key, int64_t *v)
{
    if (!s || !v)
        return llm_fail(LLM_ERR_INVALID_ARG, !s ? "session is NULL" : "the value pointer is NULL");
    switch (key) {
    case LLM_PARAM_TOP_K: *v = s->sampler.top_k; return LLM_OK;
    case LLM_PARAM_PENALTY_LAST_N: *v = s->sampler.penalty_last_n; return LLM_OK;
    case LLM_PARAM_SEED: *v = (int64_t)s->sampler.seed; return LLM_OK;
    case LLM_PARAM_MAX_TOKENS: *v = s->max_tokens; return LLM_OK;
    case LLM_PARAM_N_THREADS: *v = s->opt.n_threads; return LLM_OK;
    case LLM_PARAM_NUM_BEAMS: *v = s->num_beams; return LLM_OK;
    case LLM_PARAM_EARLY_STOPPING: *v = s->early_stopping; return LLM_OK;
    case LLM_PARAM_N_BEST: *v = s->n_best; return LLM_OK;
    case LLM_PARAM_IGNORE_EOS: *v = s->ignore_eos; return LLM_OK;
    default: break;
    }
    double d;
    llm_status st = llm_session_get_float(s, key, &d);
    if (st == LLM_OK)
        *v = (int64_t)d;
    return st;
}

llm_status llm_session_get_float(const llm_session *s, llm_param key, double *v)
{
    if (!s || !v)
        return llm_fail(LLM_ERR_INVALID_ARG, !s ? "session is NULL" : "the value pointer is NULL");
    const llm_sampler *smp = &s->sampler;
    switch (key) {
    case LLM_PARAM_TEMPERATURE: *v = smp->temperature; return LLM_OK;
    case LLM_PARAM_TOP_P: *v = smp->top_p; return LLM_OK;
    case LLM_PARAM_MIN_P: *v = smp->min_p; return LLM_OK;
    case LLM_PARAM_TYPICAL_P: *v = smp->typical_p; return LLM_OK;
    case LLM_PARAM_REPEAT_PENALTY: *v = smp->repeat_penalty; return LLM_OK;
    case LLM_PARAM_FREQUENCY_PENALTY: *v = smp->frequency_penalty; return LLM_OK;
    case LLM_PARAM_PRESENCE_PENALTY: *v = smp->presence_penalty; return LLM_OK;
    case LLM_PARAM_LENGTH_PENALTY: *v = s->length_penalty; return LLM_OK;
    default: break;
    }
    int64_t i;
    switch (key) {
    case LLM_PARAM_TOP_K:
    case LLM_PARAM_PENALTY_LAST_N:
    case LLM_PARAM_SEED:
    case LLM_PARAM_MAX_TOKENS:
    case LLM_PARAM_N_THREADS:
    case LLM_PARAM_NUM_BEAMS:
    case LLM_PARAM_EARLY_STOPPING:
    case LLM_PARAM_N_BEST:
    case LLM_PARAM_IGNORE_EOS:
        llm_session_get_int(s, key, &i);
        *v = (double)i;
        return LLM_OK;
    default:
        break;
    }
    return llm_fail(LLM_ERR_UNKNOWN_PARAM, "unknown parameter %d", (int)key);
}

llm_status llm_session_set_logit_bias(llm_session *s, int32_t id, float bias)
{
    if (!s)
        return llm_fail(LLM_ERR_INVALID_ARG, "session is NULL (not created, or destroyed)");
    if (llm_sampler_set_bias(&s->sampler, id, bias, &s->err) != LLM_OK)
        return llm_session_fail(s, &s->err);
    return LLM_OK;
}

llm_status llm_session_add_stop(llm_session *s, const char *text)
{
    if (!s || !text || !*text)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !s ? "session is NULL" : "a stop string must not be empty");
    llm_error err;
    if (s->n_stops == LLM_MAX_STOPS) {
        llm_error_set(&err, LLM_ERR_LIMIT, "at most %d stop strings", LLM_MAX_STOPS);
        return llm_session_fail(s, &err);
    }
    char *copy = llm_strdup(text);
    if (!copy) {
        llm_error_set(&err, LLM_ERR_NOMEM, "out of memory");
        return llm_session_fail(s, &err);
    }
    s->stops[s->n_stops++] = copy;
    return LLM_OK;
}

void llm_session_clear_stops(llm_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_stops; i++)
        llm_mem_free(s->stops[i]);
    s->n_stops = 0;
}

void llm_session_cancel(llm_session *s)
{
    if (s)
        atomic_store(&s->cancel, true);
}

/* ---------------------------------------------------------------------------------------------- */
/* feeding                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static llm_status check_ids(const struct llm_session *s, const int32_t *ids, size_t n,
                            llm_error *err)
{
    uint32_t n_vocab = s->model->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        LLM_CHECK(err, ids[i] >= 0 && (uint32_t)ids[i] < n_vocab, LLM_ERR_INVALID_ARG,
                  "token id %d at index %zu is outside the vocabulary (0..%u)", ids[i], i,
                  n_vocab - 1);
    return LLM_OK;
}

/* Evaluates ids at positions n_tokens.. in batches; no policy handling. */
static llm_status eval_batches(struct llm_session *s, const int32_t *ids, size_t n,
                               float *all_logits, llm_error *err)
{
    const uint32_t V = s->model->hp.n_vocab;
    for (size_t i = 0; i < n;) {
        if (atomic_exchange(&s->cancel, false)) {
            s->stop_reason = LLM_STOP_CANCELLED;
            return llm_error_set(err, LLM_ERR_CANCELLED,
                                 "cancelled while evaluating the prompt (%zu of %zu tokens done)",
                                 i, n);
        }
        uint32_t nb = (uint32_t)(n - i < s->opt.n_batch ? n - i : s->opt.n_batch);
        bool all = all_logits != NULL;
        float *dst = all ? all_logits + i * (size_t)V : s->logits;
        /* a failed batch leaves the context as it was before that batch */
        LLM_TRY(s->model->ops->decode(&s->run, ids + i, nb, s->n_tokens, dst, all, err));
        if (all)
            memcpy(s->logits, dst + (size_t)(nb - 1) * V, V * sizeof(float));
        memmove(s->tokens + s->n_tokens, ids + i, nb * sizeof *ids);
        s->n_tokens += nb;
        s->has_logits = true;
        i += nb;
    }
    return LLM_OK;
}

/* LLM_CONTEXT_SHIFT: keep the first token and the newest half of the context, re-evaluated at
 * their new positions (re-evaluation keeps rotary and learned positions exact). */
static llm_status shift_context(struct llm_session *s, size_t incoming, llm_error *err)
{
    uint32_t n_ctx = s->opt.n_ctx;
    LLM_CHECK(err, incoming < n_ctx / 2, LLM_ERR_CONTEXT_FULL,
              "%zu new tokens do not fit in half of the %u-token context", incoming, n_ctx);
    uint32_t keep_tail = n_ctx / 2 - (uint32_t)incoming;
    if (keep_tail + 1 > s->n_tokens)
        keep_tail = s->n_tokens > 0 ? s->n_tokens - 1 : 0;
    int32_t *kept = s->tokens + s->n_tokens - keep_tail;
    uint32_t first_count = s->n_tokens > 0 ? 1 : 0;
    /* move the kept tail right after the first token, then re-evaluate all of them */
    memmove(s->tokens + first_count, kept, keep_tail * sizeof *kept);
    uint32_t n_keep = first_count + keep_tail;
    s->n_tokens = 0;
    llm_log(LLM_LOG_INFO, "context full: keeping %u tokens and re-evaluating them", n_keep);
    /* eval_batches reads from and writes to s->tokens at increasing offsets; the source is
     * always at or after the destination, so a copy is not needed */
    return eval_batches(s, s->tokens, n_keep, NULL, err);
}

llm_status llm_session_eval(struct llm_session *s, const int32_t *ids, size_t n, float *all_logits,
                            llm_error *err)
{
    /* the count is checked against the context before a single id is read, so that a wrong n
     * is an error rather than a read past the caller's array */
    const bool full = (uint64_t)s->n_tokens + n > s->opt.n_ctx;
    if (full) {
        LLM_CHECK(err, s->opt.context_policy == LLM_CONTEXT_SHIFT && all_logits == NULL,
                  LLM_ERR_CONTEXT_FULL,
                  "context full: %u tokens in context + %zu new > n_ctx %u (create the session "
                  "with a larger n_ctx, or with context_policy LLM_CONTEXT_SHIFT)",
                  s->n_tokens, n, s->opt.n_ctx);
        LLM_CHECK(err, n < s->opt.n_ctx / 2, LLM_ERR_CONTEXT_FULL,
                  "%zu new tokens do not fit in half of the %u-token context", n, s->opt.n_ctx);
    }
    LLM_TRY(check_ids(s, ids, n, err));
    if (full)
        LLM_TRY(shift_context(s, n, err));
    return eval_batches(s, ids, n, all_logits, err);
}

llm_status llm_session_encode_input(struct llm_session *s, const int32_t *ids, size_t n,
                                    llm_error *err)
{
    const llm_hparams *hp = &s->model->hp;
    LLM_CHECK(err, n > 0, LLM_ERR_INVALID_ARG, "the encoder input is empty");
    LLM_CHECK(err, n <= s->opt.n_ctx, LLM_ERR_TOO_LONG,
              "the encoder input has %zu tokens, more than n_ctx %u", n, s->opt.n_ctx);
    LLM_TRY(check_ids(s, ids, n, err));
    uint32_t seq[2] = {0, (uint32_t)n};
    s->run.cross_ready = false;
    /* the architecture keeps the encoder output in the run for its decoder */
    LLM_TRY(s->model->ops->encode(&s->run, ids, seq, 1, NULL, err));
    memcpy(s->enc_ids, ids, n * sizeof *ids);
    s->n_enc = (uint32_t)n;
    s->n_tokens = 0;
    s->has_logits = false;
    int32_t start = hp->decoder_start_token;
    return llm_session_eval(s, &start, 1, NULL, err);
}

llm_status llm_session_feed(llm_session *s, const int32_t *ids, size_t n, float *logits,
                            size_t cap)
{
    if (!s || (!ids && n))
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !s ? "session is NULL" : "ids is NULL with a count above 0");
    llm_error err = {0};
    const llm_hparams *hp = &s->model->hp;
    llm_session_begin_generation(s);
    if (hp->family == LLM_FAMILY_ENCODER) {
        llm_error_set(&err, LLM_ERR_STATE,
                      "%s is an encoder model: use llm_session_embed or llm_session_embed_ids",
                      s->model->ops->name);
        return llm_session_fail(s, &err);
    }
    /* a decoder returns the logits of every fed position; an encoder-decoder, whose input goes
     * to the encoder, those of its first decoder step */
    size_t rows = hp->family == LLM_FAMILY_ENCODER_DECODER ? 1 : n;
    if (logits && cap < rows * (size_t)hp->n_vocab) {
        llm_error_set(&err, LLM_ERR_BUFFER_TOO_SMALL,
                      "logits buffer holds %zu floats, %zu needed (%zu rows x %u vocab)", cap,
                      rows * (size_t)hp->n_vocab, rows, hp->n_vocab);
        return llm_session_fail(s, &err);
    }
    llm_status st;
    if (hp->family == LLM_FAMILY_ENCODER_DECODER) {
        st = llm_session_encode_input(s, ids, n, &err);
        if (st == LLM_OK && logits)
            memcpy(logits, s->logits, hp->n_vocab * sizeof(float));
    } else {
        st = llm_session_eval(s, ids, n, logits, &err);
    }
    return st == LLM_OK ? LLM_OK : llm_session_fail(s, &err);
}

llm_status llm_session_feed_prompt(llm_session *s, const int32_t *ids, size_t n, size_t *n_reused)
{
    if (n_reused)
        *n_reused = 0;
    if (!s || (!ids && n))
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !s ? "session is NULL" : "ids is NULL with a count above 0");
    if (s->model->hp.family != LLM_FAMILY_DECODER)
        return llm_session_feed(s, ids, n, NULL, 0);
    llm_error err = {0};
    if (n == 0) {
        llm_error_set(&err, LLM_ERR_INVALID_ARG, "the prompt is empty");
        return llm_session_fail(s, &err);
    }
    if (n > s->opt.n_ctx && s->opt.context_policy != LLM_CONTEXT_SHIFT) {
        llm_error_set(&err, LLM_ERR_CONTEXT_FULL,
                      "the prompt has %zu tokens, more than n_ctx %u (create the session with a "
                      "larger n_ctx)", n, s->opt.n_ctx);
        return llm_session_fail(s, &err);
    }
    llm_session_begin_generation(s);
    size_t common = 0;
    while (common < s->n_tokens && common < n && s->tokens[common] == ids[common])
        common++;
    /* the last prompt token is always re-evaluated so that its logits are current */
    if (common == n)
        common--;
    s->n_tokens = (uint32_t)common;
    if (n_reused)
        *n_reused = common;
    if (llm_session_eval(s, ids + common, n - common, NULL, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    return LLM_OK;
}

const float *llm_session_logits(const llm_session *s, size_t *n_vocab)
{
    if (!s || !s->has_logits) {
        if (n_vocab)
            *n_vocab = 0;
        return NULL;
    }
    if (n_vocab)
        *n_vocab = s->model->hp.n_vocab;
    return s->logits;
}

bool llm_session_is_eog(const struct llm_session *s, int32_t id)
{
    const llm_tokenizer *tok = s->model->tok;
    return id == llm_tokenizer_special(tok, LLM_TOKEN_EOS) ||
           id == llm_tokenizer_special(tok, LLM_TOKEN_EOT);
}
