/*
 * SentencePiece .model files: a small, bounded protobuf reader for the few fields a tokenizer
 * needs — ModelProto.pieces (piece, score, type), trainer_spec (model_type, byte_fallback,
 * unk/bos/eos/pad ids) and normalizer_spec (name, precompiled_charsmap, add_dummy_prefix,
 * remove_extra_whitespaces, escape_whitespaces). Every length and varint is checked against the
 * end of its enclosing message; unknown fields are skipped by wire type. Nothing else of the
 * protobuf format is implemented.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokenizer.h"

typedef struct pb {
    const uint8_t *p, *end;
} pb;

static bool pb_varint(pb *b, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            return false;
        uint8_t c = *b->p++;
        r |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Reads a field key; returns false at the end or on error (*bad set). */
static bool pb_field(pb *b, uint32_t *field, uint32_t *wire, bool *bad)
{
    if (b->p >= b->end)
        return false;
    uint64_t k;
    if (!pb_varint(b, &k) || (k >> 3) == 0 || (k >> 3) > UINT32_MAX) {
        *bad = true;
        return false;
    }
    *field = (uint32_t)(k >> 3);
    *wire = (uint32_t)(k & 7);
    return true;
}

static bool pb_bytes(pb *b, pb *sub)
{
    uint64_t n;
    if (!pb_varint(b, &n) || n > (uint64_t)(b->end - b->p))
        return false;
    sub->p = b->p;
    sub->end = b->p + n;
    b->p += n;
    return true;
}

static bool pb_skip(pb *b, uint32_t wire)
{
    uint64_t v;
    pb sub;
    switch (wire) {
    case 0:
        return pb_varint(b, &v);
    case 1:
        if (b->end - b->p < 8)
            return false;
        b->p += 8;
        return true;
    case 2:
        return pb_bytes(b, &sub);
    case 5:
        if (b->end - b->p < 4)
            return false;
        b->p += 4;
        return true;
    default:
        return false;
    }
}

static bool pb_fixed32(pb *b, uint32_t *v)
{
    if (b->end - b->p < 4)
        return false;
    *v = (uint32_t)b->p[0] | ((uint32_t)b->p[1] << 8) | ((uint32_t)b->p[2] << 16) |
         ((uint32_t)b->p[3] << 24);
    b->p += 4;
    return true;
}

typedef struct spm_info {
    int model_type;  /* 1 unigram, 2 bpe, 3 word, 4 char */
    bool byte_fallback;
    int64_t unk_id, bos_id, eos_id, pad_id;
    const uint8_t *charsmap;
    size_t charsmap_len;
    bool add_dummy_prefix, remove_extra_ws, escape_ws;
    char name[64];
} spm_info;

static llm_status parse_trainer(pb m, spm_info *info, llm_error *err)
{
    uint32_t f, w;
    bool bad = false;
    while (pb_field(&m, &f, &w, &bad)) {
        uint64_t v;
        if (w == 0 && (f == 3 || f == 35 || (f >= 40 && f <= 43))) {
            if (!pb_varint(&m, &v))
                return llm_error_set(err, LLM_ERR_FORMAT, "trainer_spec field %u is truncated", f);
            switch (f) {
            case 3:
                info->model_type = (int)v;
                break;
            case 35:
                info->byte_fallback = v != 0;
                break;
            case 40:
                info->unk_id = (int32_t)(uint32_t)v;
                break;
            case 41:
                info->bos_id = (int32_t)(uint32_t)v;
                break;
            case 42:
                info->eos_id = (int32_t)(uint32_t)v;
                break;
            default:
                info->pad_id = (int32_t)(uint32_t)v;
                break;
            }
        } else if (!pb_skip(&m, w)) {
            return llm_error_set(err, LLM_ERR_FORMAT, "trainer_spec field %u is malformed", f);
        }
    }
    if (bad)
        return llm_error_set(err, LLM_ERR_FORMAT, "trainer_spec has a malformed field key");
    return LLM_OK;
}

static llm_status parse_normalizer(pb m, spm_info *info, llm_error *err)
{
    uint32_t f, w;
    bool bad = false;
    while (pb_field(&m, &f, &w, &bad)) {
        uint64_t v;
        pb sub;
        if (w == 2 && (f == 1 || f == 2)) {
            if (!pb_bytes(&m, &sub))
                return llm_error_set(err, LLM_ERR_FORMAT, "normalizer_spec field %u truncated", f);
            if (f == 1) {
                size_t n = (size_t)(sub.end - sub.p);
                if (n >= sizeof info->name)
                    n = sizeof info->name - 1;
                memcpy(info->name, sub.p, n);
                info->name[n] = '\0';
            } else {
                info->charsmap = sub.p;
                info->charsmap_len = (size_t)(sub.end - sub.p);
            }
        } else if (w == 0 && f >= 3 && f <= 5) {
            if (!pb_varint(&m, &v))
                return llm_error_set(err, LLM_ERR_FORMAT, "normalizer_spec field %u truncated", f);
            if (f == 3)
                info->add_dummy_prefix = v != 0;
            else if (f == 4)
                info->remove_extra_ws = v != 0;
            else
                info->escape_ws = v != 0;
        } else if (!pb_skip(&m, w)) {
            return llm_error_set(err, LLM_ERR_FORMAT, "normalizer_spec field %u is malformed", f);
        }
    }
    if (bad)
        return llm_error_set(err, LLM_ERR_FORMAT, "normalizer_spec has a malformed field key");
    return LLM_OK;
}

static llm_status parse_piece(pb m, struct llm_tokenizer *t, size_t id, llm_error *err)
{
    uint32_t f, w;
    bool bad = false;
    bool have_piece = false;
    t->types[id] = LLM_TOKTYPE_NORMAL;
    while (pb_field(&m, &f, &w, &bad)) {
        pb sub;
        uint64_t v;
        uint32_t bits;
        if (f == 1 && w == 2) {
            if (!pb_bytes(&m, &sub))
                return llm_error_set(err, LLM_ERR_FORMAT, "piece %zu: truncated text", id);
            LLM_TRY(llm_tok_set_piece(t, id, (const char *)sub.p, (size_t)(sub.end - sub.p), err));
            have_piece = true;
        } else if (f == 2 && w == 5) {
            if (!pb_fixed32(&m, &bits))
                return llm_error_set(err, LLM_ERR_FORMAT, "piece %zu: truncated score", id);
            float s;
            memcpy(&s, &bits, sizeof s);
            t->scores[id] = s;
        } else if (f == 3 && w == 0) {
            if (!pb_varint(&m, &v))
                return llm_error_set(err, LLM_ERR_FORMAT, "piece %zu: truncated type", id);
            t->types[id] = v >= 1 && v <= 6 ? (uint8_t)v : LLM_TOKTYPE_NORMAL;
        } else if (!pb_skip(&m, w)) {
            return llm_error_set(err, LLM_ERR_FORMAT, "piece %zu: field %u is malformed", id, f);
        }
    }
    if (bad)
        return llm_error_set(err, LLM_ERR_FORMAT, "piece %zu: malformed field key", id);
    if (!have_piece)
        return llm_error_set(err, LLM_ERR_FORMAT, "piece %zu has no text", id);
    /* sentencepiece keeps ids, but the scores of NaN would break the Viterbi comparison. */
    if (t->scores[id] != t->scores[id])
        t->scores[id] = 0.0f;
    return LLM_OK;
}

static llm_status build(struct llm_tokenizer *t, const uint8_t *data, size_t len, const char *dir,
                        llm_error *err)
{
    spm_info info;
    memset(&info, 0, sizeof info);
    info.model_type = 1;
    info.unk_id = 0;
    info.bos_id = 1;
    info.eos_id = 2;
    info.pad_id = -1;
    info.add_dummy_prefix = true;
    info.remove_extra_ws = true;
    info.escape_ws = true;
    /* Pass 1: count pieces, read the specs. */
    pb b = {data, data + len};
    uint32_t f, w;
    bool bad = false;
    size_t n = 0;
    while (pb_field(&b, &f, &w, &bad)) {
        pb sub;
        if (w == 2 && (f == 1 || f == 2 || f == 3)) {
            if (!pb_bytes(&b, &sub))
                return llm_error_set(err, LLM_ERR_FORMAT,
                                     "ModelProto field %u at offset %zu is truncated", f,
                                     (size_t)(b.p - data));
            if (f == 1)
                n++;
            else if (f == 2)
                LLM_TRY(parse_trainer(sub, &info, err));
            else
                LLM_TRY(parse_normalizer(sub, &info, err));
        } else if (!pb_skip(&b, w)) {
            return llm_error_set(err, LLM_ERR_FORMAT,
                                 "ModelProto field %u (wire type %u) at offset %zu is malformed",
                                 f, w, (size_t)(b.p - data));
        }
    }
    if (bad)
        return llm_error_set(err, LLM_ERR_FORMAT, "ModelProto: malformed field key at offset %zu",
                             (size_t)(b.p - data));
    if (n == 0)
        return llm_error_set(err, LLM_ERR_FORMAT, "sentencepiece model has no pieces");
    LLM_TRY(llm_tok_alloc_vocab(t, n, err));
    t->scores = llm_calloc(n, sizeof *t->scores);
    if (!t->scores)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    /* Pass 2: pieces. */
    b.p = data;
    size_t id = 0;
    while (pb_field(&b, &f, &w, &bad)) {
        pb sub;
        if (w == 2 && f == 1) {
            pb_bytes(&b, &sub);
            LLM_TRY(parse_piece(sub, t, id++, err));
        } else {
            pb_skip(&b, w);
        }
    }
    if (info.model_type == 1) {
        t->kind = LLM_TOKENIZER_UNIGRAM;
        t->model = LLM_TOKMODEL_UNIGRAM;
    } else if (info.model_type == 2) {
        t->kind = LLM_TOKENIZER_SPM;
        t->model = LLM_TOKMODEL_SPM;
    } else {
        return llm_error_set(err, LLM_ERR_UNSUPPORTED,
                             "sentencepiece model_type %d (word/char) is not supported",
                             info.model_type);
    }
    t->byte_fallback = info.byte_fallback;
    t->fuse_unk = true;
    if (info.charsmap_len)
        LLM_TRY(llm_tok_charsmap_load(&t->charsmap, info.charsmap, info.charsmap_len, err));
    llm_tok_norm nm;
    memset(&nm, 0, sizeof nm);
    if (!info.charsmap_len && (strncmp(info.name, "nfkc", 4) == 0 ||
                               strncmp(info.name, "nmt_nfkc", 8) == 0)) {
        /* A built-in NFKC rule without its compiled map: apply NFKC from utf8proc. */
        nm.kind = LLM_NORM_NFKC;
        LLM_TRY(llm_tok_add_norm(t, &nm, err));
    }
    nm.kind = LLM_NORM_SPM;
    nm.add_dummy_prefix = info.add_dummy_prefix;
    nm.remove_extra_ws = info.remove_extra_ws;
    nm.escape_ws = info.escape_ws;
    LLM_TRY(llm_tok_add_norm(t, &nm, err));
    t->prefix_after_special = true;
    t->dec = LLM_DEC_SPM;
    t->dec_strip_first_space = info.add_dummy_prefix;
    /* Specials: the ids of the trainer spec, checked against the piece types. */
    int64_t ids[4] = {info.unk_id, info.bos_id, info.eos_id, info.pad_id};
    int which[4] = {LLM_TOKEN_UNK, LLM_TOKEN_BOS, LLM_TOKEN_EOS, LLM_TOKEN_PAD};
    for (int k = 0; k < 4; k++)
        t->special[which[k]] = ids[k] >= 0 && (size_t)ids[k] < n ? (int32_t)ids[k] : -1;
    for (size_t i = 0; i < n; i++) {
        if (t->types[i] == LLM_TOKTYPE_UNKNOWN)
            t->special[LLM_TOKEN_UNK] = (int32_t)i;
        if (t->types[i] == LLM_TOKTYPE_CONTROL || t->types[i] == LLM_TOKTYPE_USER_DEFINED)
            LLM_TRY(llm_tok_add_added(t, (int32_t)i, t->types[i] == LLM_TOKTYPE_CONTROL, false,
                                      false, err));
    }
    if (t->model == LLM_TOKMODEL_UNIGRAM) {
        t->add_eos = true; /* T5 convention: text </s> */
        t->special[LLM_TOKEN_DECODER_START] = t->special[LLM_TOKEN_PAD];
    } else {
        t->add_bos = true; /* Llama convention: <s> text */
    }
    if (dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        json_t *cfg = json_load_file(path, 0, NULL);
        if (cfg) {
            const json_t *v = json_object_get(cfg, "add_bos_token");
            if (json_is_boolean(v))
                t->add_bos = json_is_true(v);
            v = json_object_get(cfg, "add_eos_token");
            if (json_is_boolean(v))
                t->add_eos = json_is_true(v);
            json_decref(cfg);
        }
    }
    return llm_tok_finish(t, err);
}

llm_status llm_tokenizer_from_spm_model(const void *data, size_t len, const char *dir,
                                        struct llm_tokenizer **out, llm_error *err)
{
    *out = NULL;
    struct llm_tokenizer *t = llm_tok_new();
    if (!t)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    llm_status st = build(t, data, len, dir, err);
    if (st != LLM_OK) {
        llm_tokenizer_free(t);
        return st;
    }
    *out = t;
    return LLM_OK;
}
