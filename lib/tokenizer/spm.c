/*
 * SentencePiece BPE (Llama 2 and other .model files of type BPE): the normalized text (spaces
 * already ▁, dummy prefix already added by the SPM normalizer) starts as one symbol per UTF-8
 * character; the adjacent pair whose concatenation is a vocabulary piece with the highest score is
 * merged, leftmost first on ties, until no pair forms a piece. Symbols left that are not pieces
 * become byte-fallback tokens <0xNN> (or [UNK] without them). This is sentencepiece's
 * bpe_model.cc / llama.cpp's llm_tokenizer_spm.
 */
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"

static const char SPACE[] = "\xE2\x96\x81";

typedef struct ssym {
    uint32_t a, b; /* byte range */
    int32_t prev, next;
} ssym;

typedef struct sbig {
    float score;
    int32_t left, right;
    uint32_t size;
} sbig;

static bool big_less(const sbig *x, const sbig *y) /* x has priority over y */
{
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static void push(sbig *h, size_t *n, sbig it)
{
    size_t i = (*n)++;
    h[i] = it;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!big_less(&h[i], &h[p]))
            break;
        sbig tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

static sbig pop(sbig *h, size_t *n)
{
    sbig top = h[0];
    h[0] = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && big_less(&h[l], &h[m]))
            m = l;
        if (r < *n && big_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        sbig tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
    return top;
}

static void try_add(const struct llm_tokenizer *t, const char *s, const ssym *sy, int32_t l,
                    int32_t r, sbig *h, size_t *hn)
{
    if (l < 0 || r < 0)
        return;
    int32_t id = llm_tok_find(t, s + sy[l].a, sy[r].b - sy[l].a);
    if (id < 0)
        return;
    uint8_t ty = t->types[id];
    if (ty == LLM_TOKTYPE_UNUSED || ty == LLM_TOKTYPE_CONTROL || ty == LLM_TOKTYPE_UNKNOWN)
        return;
    sbig b = {t->scores ? t->scores[id] : 0.0f, l, r, sy[r].b - sy[l].a};
    push(h, hn, b);
}

llm_status llm_tok_spm_chunk_rel(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out,
                                 uint16_t *rel)
{
    size_t first = out->n;
    if (w.len == 0)
        return LLM_OK;
    ssym *sy = llm_malloc(w.len * sizeof *sy);
    /* Each merge pushes at most 2 bigrams; n - 1 initially. */
    size_t hcap = w.len * 3 + 4;
    sbig *h = llm_malloc(hcap * sizeof *h);
    llm_status st = LLM_OK;
    if (!sy || !h) {
        st = LLM_ERR_NOMEM;
        goto done;
    }
    int32_t n = 0;
    for (size_t i = 0; i < w.len;) {
        size_t cl = llm_tok_utf8_len((uint8_t)w.s[i]);
        if (cl > w.len - i)
            cl = w.len - i;
        sy[n].a = (uint32_t)i;
        sy[n].b = (uint32_t)(i + cl);
        sy[n].prev = n - 1;
        sy[n].next = -1;
        if (n > 0)
            sy[n - 1].next = n;
        n++;
        i += cl;
    }
    size_t hn = 0;
    for (int32_t i = 0; i + 1 < n; i++)
        try_add(t, w.s, sy, i, i + 1, h, &hn);
    while (hn > 0) {
        sbig bg = pop(h, &hn);
        ssym *l = &sy[bg.left], *r = &sy[bg.right];
        if (l->b == l->a || r->b == r->a || l->next != bg.right || r->b - l->a != bg.size)
            continue;
        l->b = r->b;
        r->b = r->a; /* dead */
        l->next = r->next;
        if (r->next >= 0)
            sy[r->next].prev = bg.left;
        try_add(t, w.s, sy, l->prev, bg.left, h, &hn);
        try_add(t, w.s, sy, bg.left, l->next, h, &hn);
    }
    int32_t unk = t->special[LLM_TOKEN_UNK];
    bool prev_unk = false;
    for (int32_t i = n > 0 ? 0 : -1; i >= 0 && st == LLM_OK; i = sy[i].next) {
        uint32_t a = sy[i].a, b = sy[i].b;
        int32_t id = llm_tok_find(t, w.s + a, b - a);
        uint32_t oa = w.ostart[a], ob = w.oend[b - 1];
        if (id >= 0 && t->types[id] != LLM_TOKTYPE_UNUSED) {
            if (rel) {
                rel[2 * (out->n - first)] = (uint16_t)a;
                rel[2 * (out->n - first) + 1] = (uint16_t)b;
            }
            st = llm_tok_out_push(out, id, oa, ob);
            prev_unk = false;
            continue;
        }
        bool all_bytes = t->byte_fallback;
        for (uint32_t k = a; k < b && all_bytes; k++)
            all_bytes = t->byte_ids[(uint8_t)w.s[k]] >= 0;
        if (all_bytes) {
            for (uint32_t k = a; k < b && st == LLM_OK; k++) {
                if (rel) {
                    rel[2 * (out->n - first)] = (uint16_t)a;
                    rel[2 * (out->n - first) + 1] = (uint16_t)b;
                }
                st = llm_tok_out_push(out, t->byte_ids[(uint8_t)w.s[k]], oa, ob);
            }
            prev_unk = false;
        } else if (unk >= 0) {
            if (prev_unk && t->fuse_unk && out->n > first) {
                out->offs[2 * out->n - 1] = ob;
                if (rel)
                    rel[2 * (out->n - 1 - first) + 1] = (uint16_t)b;
            } else {
                if (rel) {
                    rel[2 * (out->n - first)] = (uint16_t)a;
                    rel[2 * (out->n - first) + 1] = (uint16_t)b;
                }
                st = llm_tok_out_push(out, unk, oa, ob);
            }
            prev_unk = true;
        }
    }
done:
    llm_mem_free(sy);
    llm_mem_free(h);
    return st;
}

/* Whether a piece has "▁" right after another character: if none has, no piece crosses the
 * start of a "▁" run that follows other text, and the text can be cut there into independent
 * chunks (merges in different chunks never compete), which keeps the heap small. */
bool llm_tok_spm_can_split(const struct llm_tokenizer *t)
{
    for (size_t id = 0; id < t->n_vocab; id++) {
        const char *p = t->pieces[id];
        size_t n = t->piece_len[id];
        for (size_t i = 1; i + 3 <= n; i++) {
            if (memcmp(p + i, SPACE, 3) == 0 && !(i >= 3 && memcmp(p + i - 3, SPACE, 3) == 0))
                return false;
        }
    }
    return true;
}

llm_status llm_tok_spm_encode(const struct llm_tokenizer *t, llm_tok_view w,
                              llm_tok_bpe_cache **cache, llm_tok_out *out)
{
    if (!t->spm_split)
        return llm_tok_spm_chunk_rel(t, w, out, NULL);
    size_t start = 0;
    for (size_t i = 1; i + 3 <= w.len; i++) {
        if (memcmp(w.s + i, SPACE, 3) == 0 && !(i >= 3 && memcmp(w.s + i - 3, SPACE, 3) == 0)) {
            llm_tok_view c = {w.s + start, w.ostart + start, w.oend + start, i - start};
            LLM_TRY(llm_tok_word_cached(t, cache, c, out, llm_tok_spm_chunk_rel));
            start = i;
        }
    }
    llm_tok_view c = {w.s + start, w.ostart + start, w.oend + start, w.len - start};
    return llm_tok_word_cached(t, cache, c, out, llm_tok_spm_chunk_rel);
}
