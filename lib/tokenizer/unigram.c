/*
 * Unigram language-model segmentation (T5, sentencepiece model_type UNIGRAM), as sentencepiece's
 * unigram_model.cc EncodeOptimized(): a Viterbi pass over the normalized bytes that, at each
 * character boundary, walks a byte trie of the pieces and keeps the best-scoring path ending at
 * every position. A character no piece covers gets the unknown id with the score
 * min_score - 10 (kUnkPenalty); user-defined pieces score length * max_score - 0.1 so they always
 * win. Runs of unknowns are fused into one, as sentencepiece does. Path scores are stored as
 * float like the reference, but a candidate is summed and compared in double precision before it
 * is rounded: that is how the reference builds behave on exact float ties (two segmentations
 * whose float sums are equal, e.g. "!" + "!!!!!" against "!!!!!" + "!"), and the t5-small
 * reference suite has two such cases.
 */
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"

static size_t trie_slot(uint64_t k, size_t mask)
{
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    k ^= k >> 29;
    return (size_t)k & mask;
}

static int64_t trie_child(const struct llm_tokenizer *t, uint32_t node, uint8_t b)
{
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    size_t i = trie_slot(key, t->trie_mask);
    for (;;) {
        if (t->trie[i].key == key)
            return t->trie[i].child;
        if (t->trie[i].key == 0)
            return -1;
        i = (i + 1) & t->trie_mask;
    }
}

llm_status llm_tok_build_trie(struct llm_tokenizer *t, llm_error *err)
{
    size_t total = 1;
    for (size_t i = 0; i < t->n_vocab; i++)
        total += t->piece_len[i];
    size_t cap = 16;
    while (cap < total * 2)
        cap *= 2;
    t->trie = llm_calloc(cap, sizeof *t->trie);
    t->trie_node_id = llm_malloc(total * sizeof *t->trie_node_id);
    if (!t->trie || !t->trie_node_id)
        return llm_error_set(err, LLM_ERR_NOMEM, "out of memory for the unigram trie");
    t->trie_mask = cap - 1;
    t->trie_nodes = 1;
    t->trie_node_id[0] = -1;
    for (size_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->types[id];
        if (ty != LLM_TOKTYPE_NORMAL && ty != LLM_TOKTYPE_USER_DEFINED && ty != LLM_TOKTYPE_UNUSED)
            continue;
        if (t->piece_len[id] == 0)
            continue;
        uint32_t node = 0;
        for (size_t k = 0; k < t->piece_len[id]; k++) {
            uint8_t b = (uint8_t)t->pieces[id][k];
            int64_t c = trie_child(t, node, b);
            if (c < 0) {
                uint64_t key = (((uint64_t)node << 8) | b) + 1;
                size_t i = trie_slot(key, t->trie_mask);
                while (t->trie[i].key != 0)
                    i = (i + 1) & t->trie_mask;
                t->trie[i].key = key;
                t->trie[i].child = (uint32_t)t->trie_nodes;
                t->trie_node_id[t->trie_nodes] = -1;
                c = (int64_t)t->trie_nodes++;
            }
            node = (uint32_t)c;
        }
        if (t->trie_node_id[node] < 0)
            t->trie_node_id[node] = (int32_t)id;
    }
    return LLM_OK;
}

typedef struct best {
    int32_t id;
    int32_t starts_at;
    float score;
} best;

llm_status llm_tok_unigram_encode(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out)
{
    size_t size = w.len;
    if (size == 0)
        return LLM_OK;
    best *bp = llm_malloc((size + 1) * sizeof *bp);
    if (!bp)
        return LLM_ERR_NOMEM;
    for (size_t i = 0; i <= size; i++) {
        bp[i].id = -1;
        bp[i].starts_at = -1;
        bp[i].score = 0.0f;
    }
    const float unk_score = t->min_score - 10.0f;
    int32_t unk = t->special[LLM_TOKEN_UNK];
    size_t starts_at = 0;
    while (starts_at < size) {
        float till_here = bp[starts_at].score;
        bool has_single = false;
        size_t mblen = llm_tok_utf8_len((uint8_t)w.s[starts_at]);
        if (mblen > size - starts_at)
            mblen = size - starts_at;
        uint32_t node = 0;
        for (size_t key_pos = starts_at; key_pos < size; key_pos++) {
            int64_t c = trie_child(t, node, (uint8_t)w.s[key_pos]);
            if (c < 0)
                break;
            node = (uint32_t)c;
            int32_t id = t->trie_node_id[node];
            if (id < 0 || t->types[id] == LLM_TOKTYPE_UNUSED)
                continue;
            size_t length = key_pos + 1 - starts_at;
            float score = t->types[id] == LLM_TOKTYPE_USER_DEFINED
                              ? (float)((double)length * t->max_score - 0.1)
                              : (t->scores ? t->scores[id] : 0.0f);
            double cand = (double)score + (double)till_here;
            best *tn = &bp[key_pos + 1];
            if (tn->starts_at == -1 || cand > (double)tn->score) {
                tn->score = (float)cand;
                tn->starts_at = (int32_t)starts_at;
                tn->id = id;
            }
            if (!has_single && length == mblen)
                has_single = true;
        }
        if (!has_single) {
            best *tn = &bp[starts_at + mblen];
            double cand = (double)unk_score + (double)till_here;
            if (tn->starts_at == -1 || cand > (double)tn->score) {
                tn->score = (float)cand;
                tn->starts_at = (int32_t)starts_at;
                tn->id = unk;
            }
        }
        starts_at += mblen;
    }
    /* Backtrack into a reversed list, then emit in order, fusing unknowns. */
    size_t count = 0;
    for (size_t e = size; e > 0; e = (size_t)bp[e].starts_at)
        count++;
    size_t *ends = llm_malloc(count * sizeof *ends);
    if (!ends) {
        llm_mem_free(bp);
        return LLM_ERR_NOMEM;
    }
    size_t k = count;
    for (size_t e = size; e > 0; e = (size_t)bp[e].starts_at)
        ends[--k] = e;
    llm_status st = LLM_OK;
    bool prev_unk = false;
    for (size_t i = 0; i < count && st == LLM_OK; i++) {
        size_t e = ends[i], a = (size_t)bp[e].starts_at;
        int32_t id = bp[e].id;
        uint32_t oa = w.ostart[a], ob = w.oend[e - 1];
        bool is_unk = id == unk;
        if (is_unk && prev_unk && out->n > 0) {
            out->offs[2 * out->n - 1] = ob;
            continue;
        }
        prev_unk = is_unk;
        if (id < 0)
            continue; /* no unknown id at all: drop the character */
        st = llm_tok_out_push(out, id, oa, ob);
    }
    llm_mem_free(ends);
    llm_mem_free(bp);
    return st;
}
