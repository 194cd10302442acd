/*
 * Rank-based BPE (Hugging Face "BPE" model, GPT-2 family): a word starts as one symbol per byte
 * (byte-level) or per character (with byte fallback or [UNK] for characters the vocabulary lacks),
 * then the adjacent pair of lowest merge rank is merged, leftmost first, until no pair has a
 * merge. Short words use a plain scan; long ones a binary heap with lazy invalidation, so the cost
 * stays O(n log n). No per-word cache: encoding keeps no shared mutable state.
 */
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"

static uint64_t merge_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1);
}

static size_t key_slot(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & mask;
}

llm_status llm_tok_merges_reserve(struct llm_tokenizer *t, size_t n, llm_error *err)
{
    size_t cap = 16;
    while (cap < n * 2 + 16)
        cap *= 2;
    llm_mem_free(t->merges);
    t->merges = llm_calloc(cap, sizeof *t->merges);
    if (!t->merges)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for %zu merges", n);
    t->merges_mask = cap - 1;
    return LLM_OK;
}

llm_status llm_tok_add_merge(struct llm_tokenizer *t, const char *a, size_t alen, const char *b,
                             size_t blen, int32_t rank, llm_error *err)
{
    int32_t ia = llm_tok_find(t, a, alen), ib = llm_tok_find(t, b, blen);
    if (ia < 0 || ib < 0)
        return LLM_OK; /* HF refuses such files; llama.cpp ignores the merge. We ignore it. */
    char stack[256];
    char *buf = alen + blen <= sizeof stack ? stack : llm_malloc(alen + blen);
    if (!buf)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory");
    memcpy(buf, a, alen);
    memcpy(buf + alen, b, blen);
    int32_t r = llm_tok_find(t, buf, alen + blen);
    if (buf != stack)
        llm_mem_free(buf);
    if (r < 0)
        return LLM_OK;
    uint64_t k = merge_key(ia, ib);
    size_t i = key_slot(k, t->merges_mask);
    while (t->merges[i].key != 0) {
        if (t->merges[i].key == k)
            return LLM_OK; /* the first (lowest) rank wins */
        i = (i + 1) & t->merges_mask;
    }
    t->merges[i].key = k;
    t->merges[i].rank = rank;
    t->merges[i].result = r;
    return LLM_OK;
}

static const llm_tok_merge_slot *find_merge(const struct llm_tokenizer *t, int32_t a, int32_t b)
{
    if (!t->merges)
        return NULL;
    uint64_t k = merge_key(a, b);
    size_t i = key_slot(k, t->merges_mask);
    for (;;) {
        const llm_tok_merge_slot *s = &t->merges[i];
        if (s->key == k)
            return s;
        if (s->key == 0)
            return NULL;
        i = (i + 1) & t->merges_mask;
    }
}

typedef struct sym {
    int32_t id;
    uint32_t a, b; /* byte range in the word */
    int32_t prev, next;
} sym;

typedef struct heap_item {
    int32_t rank;
    int32_t left;  /* symbol index */
    int32_t lid, rid;
} heap_item;

static bool heap_less(const heap_item *x, const heap_item *y)
{
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void heap_push(heap_item *h, size_t *n, heap_item it)
{
    size_t i = (*n)++;
    h[i] = it;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&h[i], &h[p]))
            break;
        heap_item tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

static heap_item heap_pop(heap_item *h, size_t *n)
{
    heap_item top = h[0];
    h[0] = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && heap_less(&h[l], &h[m]))
            m = l;
        if (r < *n && heap_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        heap_item tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
    return top;
}

#define SMALL_WORD 48

/* Emits the symbols of a finished word, merging consecutive unknowns when fuse_unk is set. */
static llm_status emit(const struct llm_tokenizer *t, const sym *s, int32_t head, llm_tok_view w,
                       llm_tok_out *out)
{
    int32_t unk = t->special[LLM_TOKEN_UNK];
    bool prev_unk = false;
    for (int32_t i = head; i >= 0; i = s[i].next) {
        if (s[i].id < 0)
            continue;
        uint32_t a = w.ostart[s[i].a], b = w.oend[s[i].b - 1];
        if (t->fuse_unk && s[i].id == unk && prev_unk && out->n > 0) {
            out->offs[2 * out->n - 1] = b;
            continue;
        }
        prev_unk = s[i].id == unk;
        LLM_TRY(llm_tok_out_push(out, s[i].id, a, b));
    }
    return LLM_OK;
}

llm_status llm_tok_bpe_word(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out)
{
    if (w.len == 0)
        return LLM_OK;
    if (t->ignore_merges) {
        int32_t id = llm_tok_find(t, w.s, w.len);
        if (id >= 0)
            return llm_tok_out_push(out, id, w.ostart[0], w.oend[w.len - 1]);
    }
    sym stack_syms[SMALL_WORD];
    sym *s = stack_syms;
    size_t max_syms = w.len; /* at most one symbol per byte */
    if (max_syms > SMALL_WORD) {
        s = llm_malloc(max_syms * sizeof *s);
        if (!s)
            return LLM_ERR_NOMEM;
    }
    int32_t n = 0;
    int32_t unk = t->special[LLM_TOKEN_UNK];
    if (t->byte_level) {
        for (size_t i = 0; i < w.len; i++) {
            s[n].id = t->byte_ids[(uint8_t)w.s[i]];
            if (s[n].id < 0)
                s[n].id = unk;
            s[n].a = (uint32_t)i;
            s[n].b = (uint32_t)i + 1;
            n++;
        }
    } else {
        size_t i = 0;
        while (i < w.len) {
            size_t cl = llm_tok_utf8_len((uint8_t)w.s[i]);
            if (cl > w.len - i)
                cl = w.len - i;
            int32_t id = llm_tok_find(t, w.s + i, cl);
            if (id >= 0 || !t->byte_fallback) {
                s[n].id = id >= 0 ? id : unk;
                s[n].a = (uint32_t)i;
                s[n].b = (uint32_t)(i + cl);
                n++;
            } else {
                for (size_t k = 0; k < cl; k++) {
                    int32_t bid = t->byte_ids[(uint8_t)w.s[i + k]];
                    s[n].id = bid >= 0 ? bid : unk;
                    s[n].a = (uint32_t)(i + k);
                    s[n].b = (uint32_t)(i + k + 1);
                    n++;
                }
            }
            i += cl;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        s[i].prev = i - 1;
        s[i].next = i + 1 < n ? i + 1 : -1;
    }
    llm_status st = LLM_OK;
    if (n <= SMALL_WORD) {
        /* Plain scan: find the lowest rank pair, leftmost on ties. */
        for (;;) {
            int32_t best = -1, best_rank = INT32_MAX, best_res = -1;
            for (int32_t i = 0; i >= 0 && s[i].next >= 0; i = s[i].next) {
                const llm_tok_merge_slot *m = find_merge(t, s[i].id, s[s[i].next].id);
                if (m && m->rank < best_rank) {
                    best_rank = m->rank;
                    best = i;
                    best_res = m->result;
                }
            }
            if (best < 0)
                break;
            int32_t r = s[best].next;
            s[best].id = best_res;
            s[best].b = s[r].b;
            s[best].next = s[r].next;
            if (s[r].next >= 0)
                s[s[r].next].prev = best;
        }
    } else {
        heap_item *h = llm_malloc((size_t)n * 2 * sizeof *h + sizeof *h);
        size_t hn = 0, hcap = (size_t)n * 2 + 1;
        if (!h) {
            st = LLM_ERR_NOMEM;
            goto done;
        }
        for (int32_t i = 0; i + 1 < n; i++) {
            const llm_tok_merge_slot *m = find_merge(t, s[i].id, s[i + 1].id);
            if (m) {
                heap_item it = {m->rank, i, s[i].id, s[i + 1].id};
                heap_push(h, &hn, it);
            }
        }
        while (hn > 0) {
            heap_item it = heap_pop(h, &hn);
            int32_t l = it.left;
            if (s[l].id != it.lid || s[l].next < 0 || s[s[l].next].id != it.rid)
                continue;
            const llm_tok_merge_slot *m = find_merge(t, it.lid, it.rid);
            int32_t r = s[l].next;
            s[l].id = m->result;
            s[l].b = s[r].b;
            s[l].next = s[r].next;
            if (s[r].next >= 0)
                s[s[r].next].prev = l;
            s[r].id = -2; /* dead */
            /* New pairs around l. A heap never holds more than 2n live + stale items because
             * each merge adds at most two. */
            if (hn + 2 > hcap) {
                heap_item *nh = llm_realloc(h, (hcap * 2) * sizeof *nh);
                if (!nh) {
                    llm_mem_free(h);
                    st = LLM_ERR_NOMEM;
                    goto done;
                }
                h = nh;
                hcap *= 2;
            }
            if (s[l].prev >= 0) {
                int32_t p = s[l].prev;
                const llm_tok_merge_slot *pm = find_merge(t, s[p].id, s[l].id);
                if (pm) {
                    heap_item x = {pm->rank, p, s[p].id, s[l].id};
                    heap_push(h, &hn, x);
                }
            }
            if (s[l].next >= 0) {
                int32_t nx = s[l].next;
                const llm_tok_merge_slot *nm = find_merge(t, s[l].id, s[nx].id);
                if (nm) {
                    heap_item x = {nm->rank, l, s[l].id, s[nx].id};
                    heap_push(h, &hn, x);
                }
            }
        }
        llm_mem_free(h);
    }
    st = emit(t, s, n > 0 ? 0 : -1, w, out);
done:
    if (s != stack_syms)
        llm_mem_free(s);
    return st;
}
