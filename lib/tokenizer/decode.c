/*
 * Decoding ids back to text, one token at a time so that the streaming detokenizer and the whole
 * decode share the same rules:
 *  - byte-level BPE: each character of a piece maps back to its byte (exact inverse);
 *  - SentencePiece (BPE and unigram): ▁ becomes a space, <0xNN> pieces become raw bytes, and the
 *    leading space of the first piece is removed (HF Strip / sentencepiece decode);
 *  - WordPiece: "##" pieces join the previous one, others get a space before them, and the
 *    per-token cleanup of Hugging Face's WordPiece decoder (" ." -> ".", " n't" -> "n't", ...).
 * Control tokens (BOS, EOS, [CLS], ...) are written as their text unless LLM_DECODE_SKIP_SPECIAL.
 * Invalid UTF-8 that byte tokens may produce is replaced by U+FFFD on output.
 */
#include <string.h>

#include "common/alloc.h"
#include "tokenizer/tok_internal.h"

static const char SPACE_SYMBOL[] = "\xE2\x96\x81";

static bool is_special_type(uint8_t ty)
{
    return ty == LLM_TOKTYPE_CONTROL || ty == LLM_TOKTYPE_UNKNOWN;
}

/* HF WordPiece cleanup applied to one token string (with its leading space). */
static size_t cleanup(char *s, size_t n)
{
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not",
                                       " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't",
                                     "'s", "'ve", "'re"};
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]);
        size_t i = 0;
        while (i + fl <= n) {
            if (memcmp(s + i, from[r], fl) == 0) {
                /* to is never longer than from */
                memmove(s + i + tl, s + i + fl, n - i - fl);
                memcpy(s + i, to[r], tl);
                n -= fl - tl;
                i += tl;
            } else {
                i++;
            }
        }
    }
    return n;
}

static llm_status append_spm(const struct llm_tokenizer *t, const char *p, size_t n, bool first,
                             llm_tok_bytes *out)
{
    size_t start = out->n;
    for (size_t i = 0; i < n;) {
        if (n - i >= 3 && memcmp(p + i, SPACE_SYMBOL, 3) == 0) {
            LLM_TRY(llm_tok_bytes_append(out, " ", 1));
            i += 3;
        } else {
            LLM_TRY(llm_tok_bytes_append(out, p + i, 1));
            i++;
        }
    }
    if (first && t->dec_strip_first_space && out->n > start && out->p[start] == ' ') {
        memmove(out->p + start, out->p + start + 1, out->n - start - 1);
        out->n--;
        out->p[out->n] = '\0';
    }
    return LLM_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

llm_status llm_tok_decode_piece(const struct llm_tokenizer *t, int32_t id, bool first,
                                uint32_t flags, llm_tok_bytes *out)
{
    const char *p = t->pieces[id];
    size_t n = t->piece_len[id];
    uint8_t ty = t->types[id];
    bool added_special = false;
    for (size_t i = 0; i < t->n_added; i++) {
        if (t->added[i].id == id) {
            added_special = t->added[i].special;
            if (!added_special)
                ty = LLM_TOKTYPE_USER_DEFINED;
            break;
        }
    }
    if (is_special_type(ty) || added_special) {
        if (flags & LLM_DECODE_SKIP_SPECIAL)
            return LLM_OK;
        if (t->dec == LLM_DEC_WORDPIECE || t->dec == LLM_DEC_WPM_GGUF) {
            if (!first)
                LLM_TRY(llm_tok_bytes_append(out, " ", 1));
        }
        return llm_tok_bytes_append(out, p, n);
    }
    if (ty == LLM_TOKTYPE_USER_DEFINED && t->dec != LLM_DEC_BYTELEVEL)
        return llm_tok_bytes_append(out, p, n);
    switch (t->dec) {
    case LLM_DEC_BYTELEVEL:
        for (size_t i = 0; i < n;) {
            int32_t cp;
            size_t l = llm_tok_utf8_decode(p + i, n - i, &cp);
            int b = ty == LLM_TOKTYPE_USER_DEFINED ? -1 : llm_tok_unicode_to_byte((uint32_t)cp);
            if (b >= 0) {
                char c = (char)b;
                LLM_TRY(llm_tok_bytes_append(out, &c, 1));
            } else {
                LLM_TRY(llm_tok_bytes_append(out, p + i, l));
            }
            i += l;
        }
        return LLM_OK;
    case LLM_DEC_SPM:
    case LLM_DEC_METASPACE:
        if (n == 6 && (ty == LLM_TOKTYPE_BYTE || t->byte_fallback) && p[0] == '<' &&
            p[1] == '0' && p[2] == 'x' && p[5] == '>') {
            int hi = hexval(p[3]), lo = hexval(p[4]);
            if (hi >= 0 && lo >= 0) {
                char c = (char)(hi * 16 + lo);
                return llm_tok_bytes_append(out, &c, 1);
            }
        }
        return append_spm(t, p, n, first, out);
    case LLM_DEC_WORDPIECE:
    case LLM_DEC_WPM_GGUF: {
        char stack[256];
        size_t cap = n + 4;
        char *b = cap <= sizeof stack ? stack : llm_malloc(cap);
        if (!b)
            return LLM_ERR_NOMEM;
        size_t bn = 0;
        if (t->dec == LLM_DEC_WORDPIECE) {
            size_t pl = t->wp_prefix ? strlen(t->wp_prefix) : 0;
            if (!first) {
                if (pl && n >= pl && memcmp(p, t->wp_prefix, pl) == 0) {
                    p += pl;
                    n -= pl;
                } else {
                    b[bn++] = ' ';
                }
            }
            memcpy(b + bn, p, n);
            bn += n;
        } else {
            for (size_t i = 0; i < n;) {
                if (n - i >= 3 && memcmp(p + i, SPACE_SYMBOL, 3) == 0) {
                    if (!(first && bn == 0))
                        b[bn++] = ' ';
                    i += 3;
                } else {
                    b[bn++] = p[i++];
                }
            }
        }
        if (t->dec_cleanup)
            bn = cleanup(b, bn);
        llm_status st = llm_tok_bytes_append(out, b, bn);
        if (b != stack)
            llm_mem_free(b);
        return st;
    }
    }
    return LLM_OK;
}
