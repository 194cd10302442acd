/*
 * Session state files (format documented in docs/SESSION_STATE.md) and forking.
 *
 * Layout, all little-endian:
 *   "LLMS" | u32 version (1) | u32 arch | u32 n_vocab | u32 n_embd | u32 n_layer | u32 kv_dim
 *   | u32 kv_type | u32 n_tokens | u32 n_enc | u32 has_logits | u64 rng[4]
 *   | i32 tokens[n_tokens] | i32 enc_ids[n_enc] | f32 logits[n_vocab] (when has_logits)
 *   | decoder models: per layer, K rows then V rows of n_tokens positions (kv_type elements)
 * A row holds a position's kv_dim elements, its heads in order, whatever the cache's layout in
 * memory (kv_cache.h).
 * An encoder-decoder state stores ids only: loading re-runs the encoder and the decoder tokens,
 * which is deterministic, instead of storing cross-attention tensors.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/file_io.h"
#include "session/session.h"

#define STATE_MAGIC "LLMS"
#define STATE_VERSION 1u
#define HEADER_WORDS 10 /* after the magic */

typedef struct writer {
    unsigned char *buf;
    size_t cap, at;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->buf && w->at + n <= w->cap)
        memcpy(w->buf + w->at, p, n);
    w->at += n;
}

static void put_u32(writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(w, b, 4);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Positions [0, n) of one layer's K or V, a row per position. */
static void put_rows(writer *w, const llm_kv_cache *kv, void *layer, uint32_t n)
{
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t g = 0; g < kv->n_kv_head; g++)
            put(w, llm_kv_cache_slot(kv, layer, g, t), llm_kv_cache_head_bytes(kv));
}

/* The inverse of put_rows; returns the end of what it read. */
static const unsigned char *get_rows(const llm_kv_cache *kv, void *layer, uint32_t n,
                                     const unsigned char *p)
{
    const size_t bytes = llm_kv_cache_head_bytes(kv);
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t g = 0; g < kv->n_kv_head; g++, p += bytes)
            memcpy(llm_kv_cache_slot(kv, layer, g, t), p, bytes);
    return p;
}

static bool is_decoder(const struct llm_session *s)
{
    return s->model->hp.family == LLM_FAMILY_DECODER;
}

static void serialize(const struct llm_session *s, writer *w)
{
    const llm_hparams *hp = &s->model->hp;
    put(w, STATE_MAGIC, 4);
    uint32_t header[HEADER_WORDS] = {STATE_VERSION,   (uint32_t)hp->arch, hp->n_vocab,
                                     hp->n_embd,      hp->n_layer,        s->kv.kv_dim,
                                     (uint32_t)s->kv.type, s->n_tokens,   s->n_enc,
                                     s->has_logits ? 1u : 0u};
    for (int i = 0; i < HEADER_WORDS; i++)
        put_u32(w, header[i]);
    /* integers are written in host order below; the library only targets little-endian hosts */
    put(w, s->sampler.rng, sizeof s->sampler.rng);
    put(w, s->tokens, s->n_tokens * sizeof(int32_t));
    put(w, s->enc_ids, s->n_enc * sizeof(int32_t));
    if (s->has_logits)
        put(w, s->logits, hp->n_vocab * sizeof(float));
    if (is_decoder(s)) {
        for (uint32_t l = 0; l < s->kv.n_layer; l++) {
            put_rows(w, &s->kv, s->kv.k[l], s->n_tokens);
            put_rows(w, &s->kv, s->kv.v[l], s->n_tokens);
        }
    }
}

llm_status llm_session_save_state(const llm_session *s, void *buf, size_t cap, size_t *size)
{
    if (!s || !size)
        return llm_fail(LLM_ERR_INVALID_ARG, !s ? "session is NULL" : "size is NULL");
    writer w = {NULL, 0, 0};
    serialize(s, &w);
    *size = w.at;
    if (!buf)
        return LLM_OK;
    if (cap < w.at)
        return llm_fail(LLM_ERR_BUFFER_TOO_SMALL, "the state needs %zu bytes, the buffer has %zu",
                        w.at, cap);
    w = (writer){buf, cap, 0};
    serialize(s, &w);
    return LLM_OK;
}

static llm_status restore(struct llm_session *s, const unsigned char *p, size_t size,
                          llm_error *err)
{
    const llm_hparams *hp = &s->model->hp;
    size_t fixed = 4 + 4 * HEADER_WORDS + sizeof s->sampler.rng;
    LLM_CHECK(err, size >= fixed && memcmp(p, STATE_MAGIC, 4) == 0, LLM_ERR_FORMAT,
              "not a libllm session state (bad magic or %zu bytes)", size);
    uint32_t h[HEADER_WORDS];
    for (int i = 0; i < HEADER_WORDS; i++)
        h[i] = get_u32(p + 4 + 4 * i);
    LLM_CHECK(err, h[0] == STATE_VERSION, LLM_ERR_UNSUPPORTED,
              "session state version %u is not supported (this library writes %u)", h[0],
              STATE_VERSION);
    LLM_CHECK(err, h[1] == (uint32_t)hp->arch && h[2] == hp->n_vocab && h[3] == hp->n_embd &&
                       h[4] == hp->n_layer,
              LLM_ERR_FORMAT, "the state was saved from another model (arch %u, vocab %u, "
                              "width %u, layers %u)", h[1], h[2], h[3], h[4]);
    LLM_CHECK(err, h[5] == s->kv.kv_dim, LLM_ERR_FORMAT,
              "the state's KV rows are %u wide, this model's %u (the header is damaged, or the "
              "state comes from a model with other key/value heads)", h[5], s->kv.kv_dim);
    LLM_CHECK(err, h[6] == (uint32_t)s->kv.type, LLM_ERR_FORMAT,
              "the state's KV cache type %u differs from this session's %d", h[6], s->kv.type);
    uint32_t n_tokens = h[7], n_enc = h[8], has_logits = h[9];
    LLM_CHECK(err, has_logits <= 1, LLM_ERR_FORMAT,
              "the state's has_logits word is %u, not 0 or 1", has_logits);
    LLM_CHECK(err, n_tokens <= s->opt.n_ctx && n_enc <= s->opt.n_ctx, LLM_ERR_FORMAT,
              "the state holds %u tokens, more than this session's n_ctx %u",
              n_tokens > n_enc ? n_tokens : n_enc, s->opt.n_ctx);
    size_t kv_bytes =
        is_decoder(s) ? llm_kv_cache_bytes(s->kv.type, s->kv.n_layer, n_tokens, s->kv.kv_dim) : 0;
    size_t need = fixed + (n_tokens + n_enc) * sizeof(int32_t) +
                  (has_logits ? hp->n_vocab * sizeof(float) : 0) + kv_bytes;
    LLM_CHECK(err, size == need, LLM_ERR_FORMAT, "the state is %zu bytes, %zu expected", size,
              need);
    p += 4 + 4 * HEADER_WORDS;
    uint64_t rng[4];
    memcpy(rng, p, sizeof rng);
    p += sizeof rng;
    const int32_t *tokens = (const int32_t *)(const void *)p;
    p += n_tokens * sizeof(int32_t);
    const unsigned char *enc = p;
    p += n_enc * sizeof(int32_t);
    /* every id is checked before anything changes (an encoder-decoder's are checked again by
     * the evaluation that restores them) */
    for (uint32_t i = 0; i < n_tokens + n_enc; i++) {
        int32_t id;
        memcpy(&id, i < n_tokens ? (const unsigned char *)tokens + 4 * (size_t)i
                                 : enc + 4 * (size_t)(i - n_tokens), sizeof id);
        LLM_CHECK(err, id >= 0 && (uint32_t)id < hp->n_vocab, LLM_ERR_FORMAT,
                  "the state's %s id %d at index %u is outside the vocabulary (0..%u)",
                  i < n_tokens ? "token" : "encoder input", id,
                  i < n_tokens ? i : i - n_tokens, hp->n_vocab - 1);
    }

    llm_session_reset(s);
    if (hp->family == LLM_FAMILY_ENCODER_DECODER) {
        int32_t *ids = llm_malloc((n_enc + n_tokens + 1) * sizeof *ids);
        LLM_CHECK(err, ids, LLM_ERR_NOMEM, "out of memory");
        memcpy(ids, enc, n_enc * sizeof *ids);
        llm_status st = n_enc ? llm_session_encode_input(s, ids, n_enc, err) : LLM_OK;
        /* the first decoder token (the start token) was evaluated by encode_input */
        if (st == LLM_OK && n_tokens > 1) {
            memcpy(ids, tokens + 1, (n_tokens - 1) * sizeof *ids);
            st = llm_session_eval(s, ids, n_tokens - 1, NULL, err);
        }
        llm_mem_free(ids);
        LLM_TRY(st);
    } else {
        memcpy(s->tokens, tokens, n_tokens * sizeof(int32_t));
        s->n_tokens = n_tokens;
        if (has_logits)
            memcpy(s->logits, p, hp->n_vocab * sizeof(float));
        s->has_logits = has_logits != 0;
        p += has_logits ? hp->n_vocab * sizeof(float) : 0;
        for (uint32_t l = 0; l < s->kv.n_layer; l++) {
            p = get_rows(&s->kv, s->kv.k[l], n_tokens, p);
            p = get_rows(&s->kv, s->kv.v[l], n_tokens, p);
        }
    }
    memcpy(s->sampler.rng, rng, sizeof rng);
    return LLM_OK;
}

llm_status llm_session_load_state(llm_session *s, const void *buf, size_t size)
{
    if (!s || !buf)
        return llm_fail(LLM_ERR_INVALID_ARG, !s ? "session is NULL" : "the state buffer is NULL");
    llm_error err = {0};
    if (restore(s, buf, size, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    return LLM_OK;
}

llm_status llm_session_save_file(const llm_session *s, const char *path)
{
    if (!s || !path)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !s ? "session is NULL" : "path is NULL: name the state file to write");
    size_t size = 0;
    llm_session_save_state(s, NULL, 0, &size);
    void *buf = llm_malloc(size);
    if (!buf)
        return llm_fail(LLM_ERR_NOMEM, "out of memory saving %zu bytes of state", size);
    llm_session_save_state(s, buf, size, &size);
    llm_error err = {0};
    /* a temporary file renamed into place: a failed save keeps the previous state file */
    llm_status st = llm_io_write_file(path, "session state", buf, size, &err);
    llm_mem_free(buf);
    return st == LLM_OK ? LLM_OK : llm_error_publish(&err);
}

llm_status llm_session_load_file(llm_session *s, const char *path)
{
    if (!s || !path)
        return llm_fail(LLM_ERR_INVALID_ARG,
                        !s ? "session is NULL" : "path is NULL: name the state file to read");
    llm_error err = {0};
    char *buf = NULL;
    size_t n = 0;
    /* no state is larger than a full context: the limit stops a wrong path from being read */
    size_t limit = 0;
    {
        const llm_hparams *hp = &s->model->hp;
        uint64_t kv = is_decoder(s) ? llm_kv_cache_bytes(s->kv.type, s->kv.n_layer, s->opt.n_ctx,
                                                         s->kv.kv_dim)
                                    : 0;
        limit = (size_t)(4 + 4 * HEADER_WORDS + sizeof s->sampler.rng +
                         2 * (uint64_t)s->opt.n_ctx * sizeof(int32_t) +
                         (uint64_t)hp->n_vocab * sizeof(float) + kv);
    }
    if (llm_io_read_file(path, "session state", limit, &buf, &n, &err) != LLM_OK)
        return llm_session_fail(s, &err);
    llm_status st = llm_session_load_state(s, buf, n);
    llm_mem_free(buf);
    return st;
}

llm_status llm_session_fork(const llm_session *s, llm_session **out)
{
    if (out)
        *out = NULL;
    if (!s || !out)
        return llm_fail(LLM_ERR_INVALID_ARG, !s ? "session is NULL" : "out is NULL");
    llm_session *c = NULL;
    LLM_TRY(llm_session_create(s->model, &s->opt, &c));
    llm_error err = {0};
    /* settings */
    llm_status st = llm_sampler_copy_settings(&c->sampler, &s->sampler, &err);
    for (int i = 0; i < s->n_stops && st == LLM_OK; i++)
        st = llm_session_add_stop(c, s->stops[i]);
    c->max_tokens = s->max_tokens;
    c->ignore_eos = s->ignore_eos;
    c->num_beams = s->num_beams;
    c->early_stopping = s->early_stopping;
    c->n_best = s->n_best;
    c->length_penalty = s->length_penalty;
    /* the adapters the cached context was computed with */
    if (st == LLM_OK)
        st = llm_session_copy_adapters(c, s, &err);
    /* context */
    if (st == LLM_OK) {
        size_t size = 0;
        llm_session_save_state(s, NULL, 0, &size);
        void *buf = llm_malloc(size);
        if (!buf)
            st = llm_error_set(&err, LLM_ERR_NOMEM, "out of memory forking a session");
        else {
            llm_session_save_state(s, buf, size, &size);
            st = restore(c, buf, size, &err);
            llm_mem_free(buf);
        }
    }
    if (st != LLM_OK) {
        llm_session_destroy(c);
        return llm_error_publish(&err);
    }
    *out = c;
    return LLM_OK;
}
