/*
 * WordPiece (BERT), as Hugging Face's WordPiece model: each pre-tokenized word is cut greedily
 * into the longest vocabulary pieces from the left; pieces after the first carry the continuing
 * prefix ("##"). A word longer than max_input_chars_per_word characters, or one that cannot be
 * covered, becomes a single [UNK]. llama.cpp's GGUF vocabularies mark word starts with "▁" and
 * continuations with nothing instead; wp_word_prefix / wp_prefix hold whichever applies.
 */
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"

llm_status llm_tok_wordpiece_word(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out)
{
    if (w.len == 0)
        return LLM_OK;
    int32_t unk = t->special[LLM_TOKEN_UNK];
    uint32_t oa = w.ostart[0], ob = w.oend[w.len - 1];
    size_t chars = 0;
    for (size_t i = 0; i < w.len; i += llm_tok_utf8_len((uint8_t)w.s[i]))
        chars++;
    if (chars > t->wp_max_chars)
        return unk >= 0 ? llm_tok_out_push(out, unk, oa, ob) : LLM_OK;
    const char *wpre = t->wp_word_prefix ? t->wp_word_prefix : "";
    const char *cpre = t->wp_prefix ? t->wp_prefix : "";
    size_t wl = strlen(wpre), cl = strlen(cpre);
    size_t pl = wl > cl ? wl : cl;
    char stack[512];
    char *buf = w.len + pl <= sizeof stack ? stack : llm_malloc(w.len + pl);
    if (!buf)
        return LLM_ERR_NOMEM;
    size_t first = out->n;
    size_t start = 0;
    llm_status st = LLM_OK;
    while (start < w.len) {
        const char *pre = start == 0 ? wpre : cpre;
        size_t prl = start == 0 ? wl : cl;
        memcpy(buf, pre, prl);
        size_t end = w.len;
        int32_t found = -1;
        while (end > start) {
            memcpy(buf + prl, w.s + start, end - start);
            int32_t id = llm_tok_find(t, buf, prl + end - start);
            if (id >= 0) {
                found = id;
                break;
            }
            /* step back one character */
            end--;
            while (end > start && ((uint8_t)w.s[end] & 0xC0) == 0x80)
                end--;
        }
        if (found < 0) {
            out->n = first;
            st = unk >= 0 ? llm_tok_out_push(out, unk, oa, ob) : LLM_OK;
            goto done;
        }
        st = llm_tok_out_push(out, found, w.ostart[start], w.oend[end - 1]);
        if (st != LLM_OK)
            goto done;
        start = end;
    }
done:
    if (buf != stack)
        llm_mem_free(buf);
    return st;
}
