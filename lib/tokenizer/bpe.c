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
                       llm_tok_out *out, uint16_t *rel, size_t first)
{
    int32_t unk = t->special[LLM_TOKEN_UNK];
    bool prev_unk = false;
    for (int32_t i = head; i >= 0; i = s[i].next) {
        if (s[i].id < 0)
            continue;
        uint32_t a = w.ostart[s[i].a], b = w.oend[s[i].b - 1];
        if (t->fuse_unk && s[i].id == unk && prev_unk && out->n > 0) {
            out->offs[2 * out->n - 1] = b;
            if (rel)
                rel[2 * (out->n - 1 - first) + 1] = (uint16_t)s[i].b;
            continue;
        }
        prev_unk = s[i].id == unk;
        if (rel) {
            rel[2 * (out->n - first)] = (uint16_t)s[i].a;
            rel[2 * (out->n - first) + 1] = (uint16_t)s[i].b;
        }
        LLM_TRY(llm_tok_out_push(out, s[i].id, a, b));
    }
    return LLM_OK;
}

llm_status llm_tok_bpe_word_rel(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out,
                                uint16_t *rel)
{
    if (w.len == 0)
        return LLM_OK;
    if (t->ignore_merges) {
        int32_t id = llm_tok_find(t, w.s, w.len);
        if (id >= 0) {
            if (rel) {
                rel[0] = 0;
                rel[1] = (uint16_t)w.len;
            }
            return llm_tok_out_push(out, id, w.ostart[0], w.oend[w.len - 1]);
        }
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
        /* Plain scan over cached pair ranks: the lowest rank pair, leftmost on ties. Only the
         * two pairs around a merge need a new lookup. */
        int32_t rank[SMALL_WORD], res[SMALL_WORD];
        for (int32_t i = 0; i < n; i++) {
            const llm_tok_merge_slot *m =
                i + 1 < n ? find_merge(t, s[i].id, s[i + 1].id) : NULL;
            rank[i] = m ? m->rank : INT32_MAX;
            res[i] = m ? m->result : -1;
        }
        for (;;) {
            int32_t best = -1, best_rank = INT32_MAX;
            for (int32_t i = 0; i >= 0; i = s[i].next) {
                if (rank[i] < best_rank) {
                    best_rank = rank[i];
                    best = i;
                }
            }
            if (best < 0)
                break;
            int32_t r = s[best].next;
            s[best].id = res[best];
            s[best].b = s[r].b;
            s[best].next = s[r].next;
            if (s[r].next >= 0)
                s[s[r].next].prev = best;
            int32_t around[2] = {s[best].prev, best};
            for (int k = 0; k < 2; k++) {
                int32_t i = around[k];
                if (i < 0)
                    continue;
                const llm_tok_merge_slot *m =
                    s[i].next >= 0 ? find_merge(t, s[i].id, s[s[i].next].id) : NULL;
                rank[i] = m ? m->rank : INT32_MAX;
                res[i] = m ? m->result : -1;
            }
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
    st = emit(t, s, n > 0 ? 0 : -1, w, out, rel, out->n);
done:
    if (s != stack_syms)
        llm_mem_free(s);
    return st;
}

llm_status llm_tok_bpe_word(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out)
{
    return llm_tok_bpe_word_rel(t, w, out, NULL);
}

/* ---------------------------------------------------------------------------------------------- */
/* Per-call word cache. Natural text repeats its words, and a merge lookup is a cache miss in a   */
/* table of 50k entries, so one encode call remembers the ids of the words it has already seen.   */
/* The cache lives and dies with the call: the tokenizer itself stays immutable.                  */

#define WC_MAX_WORD 48
#define WC_MAX_ENTRIES 65536

typedef struct wc_entry {
    uint32_t word_off, word_len; /* into bytes */
    uint32_t ids_off, n_ids;     /* into ids / rel */
} wc_entry;

struct llm_tok_bpe_cache {
    uint32_t *slots; /* entry index + 1 */
    size_t mask;
    wc_entry *e;
    size_t n, cap;
    char *bytes;
    size_t nb, capb;
    int32_t *ids;
    uint16_t *rel; /* 2 per id: byte range within the word */
    size_t ni, capi;
};

void llm_tok_bpe_cache_free(llm_tok_bpe_cache *c)
{
    if (!c)
        return;
    llm_mem_free(c->slots);
    llm_mem_free(c->e);
    llm_mem_free(c->bytes);
    llm_mem_free(c->ids);
    llm_mem_free(c->rel);
    llm_mem_free(c);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    void *np = llm_realloc(*p, nc * elem);
    if (!np)
        return false;
    *p = np;
    *cap = nc;
    return true;
}

llm_status llm_tok_word_cached(const struct llm_tokenizer *t, llm_tok_bpe_cache **cp,
                               llm_tok_view w, llm_tok_out *out, llm_tok_word_fn fn)
{
    if (w.len == 0 || w.len > WC_MAX_WORD)
        return fn(t, w, out, NULL);
    llm_tok_bpe_cache *c = *cp;
    if (!c) {
        c = llm_calloc(1, sizeof *c);
        if (!c)
            return LLM_ERR_NOMEM;
        c->slots = llm_calloc(4096, sizeof *c->slots);
        if (!c->slots) {
            llm_mem_free(c);
            return LLM_ERR_NOMEM;
        }
        c->mask = 4095;
        *cp = c;
    }
    size_t h = (size_t)llm_tok_hash(w.s, w.len) & c->mask;
    for (;;) {
        uint32_t v = c->slots[h];
        if (v == 0)
            break;
        const wc_entry *e = &c->e[v - 1];
        if (e->word_len == w.len && memcmp(c->bytes + e->word_off, w.s, w.len) == 0) {
            for (uint32_t k = 0; k < e->n_ids; k++) {
                const uint16_t *r = &c->rel[2 * (e->ids_off + k)];
                LLM_TRY(llm_tok_out_push(out, c->ids[e->ids_off + k], w.ostart[r[0]],
                                         w.oend[r[1] - 1]));
            }
            return LLM_OK;
        }
        h = (h + 1) & c->mask;
    }
    size_t first = out->n;
    uint16_t rel[2 * WC_MAX_WORD];
    LLM_TRY(fn(t, w, out, rel));
    if (c->n >= WC_MAX_ENTRIES)
        return LLM_OK;
    size_t k = out->n - first;
    if (!grow((void **)&c->e, &c->cap, c->n + 1, sizeof *c->e) ||
        !grow((void **)&c->bytes, &c->capb, c->nb + w.len, 1))
        return LLM_OK; /* out of memory for the cache only: carry on without it */
    size_t capi = c->capi;
    if (!grow((void **)&c->ids, &capi, c->ni + k, sizeof *c->ids))
        return LLM_OK;
    if (capi != c->capi) {
        uint16_t *nr = llm_realloc(c->rel, capi * 2 * sizeof *nr);
        if (!nr) {
            c->n = WC_MAX_ENTRIES; /* ids grew but rel did not: stop caching */
            c->capi = capi;
            return LLM_OK;
        }
        c->rel = nr;
        c->capi = capi;
    }
    if (k > 0) {
        memcpy(c->ids + c->ni, out->ids + first, k * sizeof *c->ids);
        memcpy(c->rel + 2 * c->ni, rel, 2 * k * sizeof *rel);
    }
    wc_entry *e = &c->e[c->n];
    e->word_off = (uint32_t)c->nb;
    e->word_len = (uint32_t)w.len;
    e->ids_off = (uint32_t)c->ni;
    e->n_ids = (uint32_t)k;
    memcpy(c->bytes + c->nb, w.s, w.len);
    c->nb += w.len;
    c->ni += k;
    c->n++;
    h = (size_t)llm_tok_hash(w.s, w.len) & c->mask;
    while (c->slots[h])
        h = (h + 1) & c->mask;
    c->slots[h] = (uint32_t)c->n;
    if (c->n * 2 > c->mask) {
        /* Rehash into a table twice as large. */
        size_t nm = c->mask * 2 + 1;
        uint32_t *ns = llm_calloc(nm + 1, sizeof *ns);
        if (!ns) {
            c->n = WC_MAX_ENTRIES; /* stop caching */
            return LLM_OK;
        }
        for (size_t i = 0; i < c->n; i++) {
            const wc_entry *x = &c->e[i];
            size_t q = (size_t)llm_tok_hash(c->bytes + x->word_off, x->word_len) & nm;
            while (ns[q])
                q = (q + 1) & nm;
            ns[q] = (uint32_t)i + 1;
        }
        llm_mem_free(c->slots);
        c->slots = ns;
        c->mask = nm;
    }
    return LLM_OK;
}
