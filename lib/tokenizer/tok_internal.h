/*
 * Internal layout of a tokenizer, shared by the files of lib/tokenizer/. A tokenizer is built by a
 * source reader (gguf_vocab.c, hf_json.c, spm_model.c, plain_files.c), finished by
 * llm_tok_finish() (tokenizer.c), and is immutable afterwards: encoding keeps all of its state in
 * per-call buffers, so any number of threads may encode with one tokenizer at once.
 *
 * Text inside an encode call travels as an llm_tok_str: UTF-8 bytes plus, for each byte, the byte
 * range of the original input it came from, so that token offsets survive normalization.
 */
#ifndef LLM_TOKENIZER_TOK_INTERNAL_H
#define LLM_TOKENIZER_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Token types, numbered as GGUF's tokenizer.ggml.token_type (and sentencepiece + 1). */
enum {
    LLM_TOKTYPE_UNDEFINED = 0,
    LLM_TOKTYPE_NORMAL = 1,
    LLM_TOKTYPE_UNKNOWN = 2,
    LLM_TOKTYPE_CONTROL = 3,
    LLM_TOKTYPE_USER_DEFINED = 4,
    LLM_TOKTYPE_UNUSED = 5,
    LLM_TOKTYPE_BYTE = 6
};

/* ---------------------------------------------------------------------------------------------- */
/* Hash map from byte strings to ids (open addressing, immutable after build).                    */

typedef struct llm_tok_strmap {
    uint32_t *slots; /* id + 1, 0 = empty */
    size_t mask;
} llm_tok_strmap;

uint64_t llm_tok_hash(const char *s, size_t n);

/* ---------------------------------------------------------------------------------------------- */
/* Text with offsets into the original input.                                                    */

typedef struct llm_tok_str {
    char *s;
    uint32_t *ostart; /* per byte: start of the original span it came from */
    uint32_t *oend;   /* per byte: end of that span */
    size_t len, cap;
    size_t limit;     /* 0, or the most bytes it may hold: growing past it is LLM_ERR_LIMIT */
    bool over;        /* set when a growth was refused for the limit */
} llm_tok_str;

llm_status llm_tok_str_reserve(llm_tok_str *t, size_t extra);
/* Appends n bytes that all come from original range [a, b). */
static inline llm_status llm_tok_str_append(llm_tok_str *t, const char *s, size_t n, uint32_t a,
                                            uint32_t b)
{
    if (t->len + n > t->cap) {
        llm_status st = llm_tok_str_reserve(t, n); /* NOMEM, or LIMIT past t->limit */
        if (st != LLM_OK)
            return st;
    }
    char *d = t->s + t->len;
    uint32_t *os = t->ostart + t->len, *oe = t->oend + t->len;
    for (size_t i = 0; i < n; i++) {
        d[i] = s[i];
        os[i] = a;
        oe[i] = b;
    }
    t->len += n;
    t->s[t->len] = '\0';
    return LLM_OK;
}
void llm_tok_str_free(llm_tok_str *t);

/* A borrowed slice of an llm_tok_str. */
typedef struct llm_tok_view {
    const char *s;
    const uint32_t *ostart;
    const uint32_t *oend;
    size_t len;
} llm_tok_view;

llm_tok_view llm_tok_str_view(const llm_tok_str *t, size_t from, size_t to);

/* ---------------------------------------------------------------------------------------------- */
/* Output of an encode call.                                                                      */

typedef struct llm_tok_out {
    int32_t *ids;
    uint32_t *offs; /* 2 per id */
    size_t n, cap;
} llm_tok_out;

llm_status llm_tok_out_grow(llm_tok_out *o);
static inline llm_status llm_tok_out_push(llm_tok_out *o, int32_t id, uint32_t a, uint32_t b)
{
    if (o->n == o->cap && llm_tok_out_grow(o) != LLM_OK)
        return LLM_ERR_NOMEM;
    o->ids[o->n] = id;
    o->offs[2 * o->n] = a;
    o->offs[2 * o->n + 1] = b;
    o->n++;
    return LLM_OK;
}
void llm_tok_out_free(llm_tok_out *o);

/* ---------------------------------------------------------------------------------------------- */
/* Normalizers and pre-tokenizers (tokenizer.json vocabulary).                                   */

typedef enum llm_tok_norm_kind {
    LLM_NORM_NFC,
    LLM_NORM_NFD,
    LLM_NORM_NFKC,
    LLM_NORM_NFKD,
    LLM_NORM_LOWERCASE,
    LLM_NORM_STRIP_ACCENTS,
    LLM_NORM_BERT,       /* clean_text, handle_chinese_chars, strip_accents, lowercase */
    LLM_NORM_PREPEND,    /* str */
    LLM_NORM_REPLACE,    /* literal pattern (or regex) -> str */
    LLM_NORM_STRIP,      /* left / right */
    LLM_NORM_PRECOMPILED, /* sentencepiece charsmap only (HF "Precompiled") */
    LLM_NORM_SPM         /* sentencepiece normalizer: charsmap + whitespace rules */
} llm_tok_norm_kind;

typedef struct llm_tok_charsmap {
    const uint32_t *units; /* double-array trie */
    size_t n_units;
    const char *normalized; /* NUL-separated strings */
    size_t n_normalized;
    void *blob;             /* owned copy */
} llm_tok_charsmap;

/* Bounds on the work of one encode; see llm_tokenizer_options in llm.h for their meaning. */
typedef struct llm_tok_limits {
    uint32_t max_normalize_growth;  /* output bytes per input byte of the normalizer chain */
    uint32_t max_added_token_steps; /* added-token candidates compared per input byte */
    uint64_t max_regex_steps;       /* PCRE2 match limit of one match */
} llm_tok_limits;

#define LLM_TOK_DEFAULT_NORMALIZE_GROWTH 64u
#define LLM_TOK_DEFAULT_ADDED_TOKEN_STEPS 1024u
#define LLM_TOK_DEFAULT_REGEX_STEPS 1000000u
#define LLM_TOK_NORMALIZE_SLACK 1024u   /* bytes allowed beyond growth * input (Prepend) */
#define LLM_TOK_ADDED_STEPS_SLACK 65536u

typedef struct llm_tok_norm {
    llm_tok_norm_kind kind;
    bool clean_text, chinese_chars, strip_accents, lowercase; /* BERT */
    bool left, right;                                        /* STRIP */
    bool add_dummy_prefix, remove_extra_ws, escape_ws;       /* SPM */
    char *str;                                               /* PREPEND / REPLACE content */
    char *pattern;                                           /* REPLACE literal */
    pcre2_code *re;                                          /* REPLACE regex (or NULL) */
} llm_tok_norm;

typedef enum llm_tok_pre_kind {
    LLM_PRE_REGEX_SPLIT,   /* llama.cpp style: matches and the gaps between them are pieces */
    LLM_PRE_SPLIT,         /* HF Split: regex + behavior + invert */
    LLM_PRE_BYTELEVEL,     /* HF ByteLevel: optional prefix space + GPT-2 regex */
    LLM_PRE_BERT,          /* whitespace + punctuation */
    LLM_PRE_WHITESPACE,    /* \w+|[^\w\s]+ */
    LLM_PRE_WHITESPACE_SPLIT,
    LLM_PRE_METASPACE,     /* replace ' ' by ▁, prepend ▁, split before ▁ */
    LLM_PRE_DIGITS,
    LLM_PRE_PUNCTUATION
} llm_tok_pre_kind;

enum { /* HF SplitDelimiterBehavior */
    LLM_SPLIT_REMOVED = 0,
    LLM_SPLIT_ISOLATED = 1,
    LLM_SPLIT_MERGED_PREV = 2,
    LLM_SPLIT_MERGED_NEXT = 3,
    LLM_SPLIT_CONTIGUOUS = 4
};

enum { LLM_PREPEND_ALWAYS = 0, LLM_PREPEND_FIRST = 1, LLM_PREPEND_NEVER = 2 };

typedef struct llm_tok_pre {
    llm_tok_pre_kind kind;
    pcre2_code *re;
    int behavior;
    bool invert;
    bool add_prefix_space; /* BYTELEVEL */
    bool use_regex;        /* BYTELEVEL */
    bool individual_digits;
    int prepend_scheme;    /* METASPACE */
    bool split;            /* METASPACE */
    int gpt2_split;        /* LLM_GPT2_SPLIT_* (gpt2_split.h): re is GPT-2's regex */
    const pcre2_match_context *mctx; /* the tokenizer's (regex step limit); set by finish */
} llm_tok_pre;

/* ---------------------------------------------------------------------------------------------- */
/* Decoders.                                                                                      */

typedef enum llm_tok_dec_kind {
    LLM_DEC_BYTELEVEL,
    LLM_DEC_METASPACE,   /* ▁ -> ' ', drop the first leading space */
    LLM_DEC_WORDPIECE,   /* ## joining, HF cleanup */
    LLM_DEC_SPM,         /* ▁ -> ' ', byte fallback, drop leading space of the first piece */
    LLM_DEC_WPM_GGUF     /* llama.cpp WPM vocab: ▁ marks a word start */
} llm_tok_dec_kind;

/* ---------------------------------------------------------------------------------------------- */
/* Added tokens (matched before the model).                                                       */

typedef struct llm_tok_added {
    int32_t id;
    bool special;    /* needs LLM_ENCODE_PARSE_SPECIAL */
    bool lstrip, rstrip;
    const char *text; /* the vocabulary piece (borrowed from the vocab) */
    size_t len;
} llm_tok_added;

/* ---------------------------------------------------------------------------------------------- */
/* The tokenizer.                                                                                 */

typedef enum llm_tok_model {
    LLM_TOKMODEL_BPE,       /* rank merges (HF BPE, byte-level or char-level with byte fallback) */
    LLM_TOKMODEL_SPM,       /* sentencepiece BPE: score merges */
    LLM_TOKMODEL_UNIGRAM,
    LLM_TOKMODEL_WORDPIECE
} llm_tok_model;

typedef struct llm_tok_merge_slot {
    uint64_t key; /* (left id + 1) << 32 | (right id + 1); 0 = empty */
    int32_t rank;
    int32_t result;
} llm_tok_merge_slot;

typedef struct llm_tok_trie_slot {
    uint64_t key; /* node << 8 | byte, + 1; 0 = empty */
    uint32_t child;
} llm_tok_trie_slot;

struct llm_tokenizer {
    int kind;              /* llm_tokenizer_kind */
    llm_tok_model model;

    /* vocabulary */
    size_t n_vocab;
    char **pieces;
    uint32_t *piece_len;
    float *scores;         /* may be NULL */
    uint8_t *types;        /* LLM_TOKTYPE_* */
    llm_tok_strmap map;

    int32_t special[9];    /* llm_special_token -> id or -1 */
    bool add_bos, add_eos; /* decoder models: BOS / EOS per the model */
    bool add_cls_sep;      /* BERT: [CLS] text [SEP] */
    bool prefix_after_special; /* llama.cpp SPM: dummy prefix again after a special token */
    /* Post-processing template (tokenizer.json TemplateProcessing etc.); when post_set is false
     * llm_tok_finish() derives it from add_bos / add_eos / add_cls_sep. */
    bool post_set;
    int32_t post_pre[4], post_suf[4];
    size_t n_post_pre, n_post_suf;

    /* added tokens, longest first within the same first byte */
    llm_tok_added *added;
    size_t n_added;
    uint16_t added_first[257]; /* index range per first byte: [added_first[b], added_first[b+1]) */

    /* pipeline */
    llm_tok_norm *norms;
    size_t n_norms;
    llm_tok_pre *pres;
    size_t n_pres;
    llm_tok_dec_kind dec;
    bool dec_cleanup;      /* WordPiece cleanup of spaces before punctuation */
    bool dec_strip_first_space;

    /* BPE */
    char pre_name[32];         /* llama.cpp's tokenizer.ggml.pre name of the split regex, or "" */
    bool byte_level;
    bool byte_fallback;
    bool ignore_merges;
    bool fuse_unk;
    llm_tok_merge_slot *merges;
    size_t merges_mask;
    int32_t byte_ids[256];     /* byte-level: id of the piece for byte b; fallback: <0xNN> */
    char *end_of_word_suffix;  /* rarely used */
    char *cont_prefix;         /* BPE continuing_subword_prefix (rare) */

    /* SentencePiece BPE: the text may be cut before "▁" runs (llm_tok_spm_can_split) */
    bool spm_split;

    /* Unigram */
    llm_tok_trie_slot *trie;
    size_t trie_mask;
    int32_t *trie_node_id;     /* node -> id or -1 */
    size_t trie_nodes;
    float min_score, max_score;

    /* WordPiece */
    char *wp_prefix;           /* continuing prefix ("##") or "" */
    char *wp_word_prefix;      /* word-start prefix ("" or "▁" for llama.cpp vocabularies) */
    uint32_t wp_max_chars;

    /* sentencepiece normalizer data */
    llm_tok_charsmap charsmap;

    /* bounds on the work of one encode (llm_tokenizer_options), and the PCRE2 match context
     * that carries the regex step limit to every match (read-only while encoding) */
    llm_tok_limits lim;
    pcre2_match_context *mctx;
};

/* Byte-level BPE: the printable character GPT-2 maps byte b to (UTF-8, NUL-terminated). */
void llm_tok_byte_to_unicode(uint8_t b, char out[4], size_t *n);
/* Inverse: the byte for code point cp, or -1. */
int llm_tok_unicode_to_byte(uint32_t cp);

/* UTF-8 helpers. */
size_t llm_tok_utf8_len(uint8_t c); /* length from the lead byte (1 for invalid) */
/* Decodes one code point of s[0..n); returns bytes used (>= 1) and sets *cp (0xFFFD if invalid). */
size_t llm_tok_utf8_decode(const char *s, size_t n, int32_t *cp);
size_t llm_tok_utf8_encode(int32_t cp, char out[4]);
/* Length of the valid UTF-8 sequence at s, or 0 when it is invalid or truncated. */
size_t llm_tok_utf8_valid_len(const char *s, size_t n);

/* Vocabulary. */
llm_status llm_tok_alloc_vocab(struct llm_tokenizer *t, size_t n, llm_error *err);
llm_status llm_tok_set_piece(struct llm_tokenizer *t, size_t id, const char *s, size_t n,
                             llm_error *err);
int32_t llm_tok_find(const struct llm_tokenizer *t, const char *s, size_t n);
/* Builds the map, the added-token index, BPE byte tables etc. Called once by every source. */
llm_status llm_tok_finish(struct llm_tokenizer *t, llm_error *err);
struct llm_tokenizer *llm_tok_new(void);
/* Marks id as an added token (matched before the model). */
llm_status llm_tok_add_added(struct llm_tokenizer *t, int32_t id, bool special, bool lstrip,
                             bool rstrip, llm_error *err);
llm_status llm_tok_add_norm(struct llm_tokenizer *t, const llm_tok_norm *n, llm_error *err);
llm_status llm_tok_add_pre(struct llm_tokenizer *t, const llm_tok_pre *p, llm_error *err);
/* Compiles a pattern with PCRE2_UTF | PCRE2_UCP and JIT. */
llm_status llm_tok_compile_regex(const char *pattern, size_t len, pcre2_code **out,
                                 llm_error *err);
/* BPE merges: adds merge (a, b) with the given rank. Unknown pieces make the merge ignored. */
llm_status llm_tok_add_merge(struct llm_tokenizer *t, const char *a, size_t alen, const char *b,
                             size_t blen, int32_t rank, llm_error *err);
llm_status llm_tok_merges_reserve(struct llm_tokenizer *t, size_t n, llm_error *err);
/* Unigram trie over the pieces that may appear in a segmentation. */
llm_status llm_tok_build_trie(struct llm_tokenizer *t, llm_error *err);
/* Charsmap: parses the blob (copied) of a sentencepiece precompiled_charsmap. */
llm_status llm_tok_charsmap_load(llm_tok_charsmap *cm, const void *blob, size_t n,
                                 llm_error *err);

/* Pipeline steps. Each returns LLM_OK or LLM_ERR_NOMEM. */
llm_status llm_tok_normalize(const struct llm_tokenizer *t, const llm_tok_norm *n,
                             llm_tok_view in, bool first, llm_tok_str *out);
/* Splits `in` into pieces: appends [start, end) byte ranges of in to *ranges (pairs). */
typedef struct llm_tok_ranges {
    size_t *v; /* pairs */
    size_t n, cap;
} llm_tok_ranges;
llm_status llm_tok_ranges_grow(llm_tok_ranges *r);
static inline llm_status llm_tok_ranges_push(llm_tok_ranges *r, size_t a, size_t b)
{
    if (r->n == r->cap && llm_tok_ranges_grow(r) != LLM_OK)
        return LLM_ERR_NOMEM;
    r->v[2 * r->n] = a;
    r->v[2 * r->n + 1] = b;
    r->n++;
    return LLM_OK;
}
llm_status llm_tok_pretokenize(const llm_tok_pre *p, const char *s, size_t len, bool first,
                               llm_tok_ranges *in, llm_tok_ranges *out, llm_tok_str *rewrite);
/* Regex split with gaps (llama.cpp) on one range. */
llm_status llm_tok_regex_split(const pcre2_code *re, const char *s, size_t a, size_t b,
                               pcre2_match_data *md, llm_tok_ranges *out);

/* Models: encode one pre-tokenized word / one segment. */
llm_status llm_tok_bpe_word(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out);
typedef struct llm_tok_bpe_cache llm_tok_bpe_cache;
/* A word encoder that can also report each id's byte range [rel[2i], rel[2i+1]) in the word
 * (rel may be NULL; it has room for 2 * w.len entries). */
typedef llm_status (*llm_tok_word_fn)(const struct llm_tokenizer *t, llm_tok_view w,
                                      llm_tok_out *out, uint16_t *rel);
llm_status llm_tok_bpe_word_rel(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out,
                                uint16_t *rel);
llm_status llm_tok_spm_chunk_rel(const struct llm_tokenizer *t, llm_tok_view w, llm_tok_out *out,
                                 uint16_t *rel);
/* Runs fn on a word, remembering the ids of words already seen in *cache (created on first use;
 * one cache per encode call, never shared). */
llm_status llm_tok_word_cached(const struct llm_tokenizer *t, llm_tok_bpe_cache **cache,
                               llm_tok_view w, llm_tok_out *out, llm_tok_word_fn fn);
void llm_tok_bpe_cache_free(llm_tok_bpe_cache *c);
bool llm_tok_spm_can_split(const struct llm_tokenizer *t);
llm_status llm_tok_spm_encode(const struct llm_tokenizer *t, llm_tok_view w,
                              llm_tok_bpe_cache **cache, llm_tok_out *out);
llm_status llm_tok_unigram_encode(const struct llm_tokenizer *t, llm_tok_view w,
                                  llm_tok_out *out);
llm_status llm_tok_wordpiece_word(const struct llm_tokenizer *t, llm_tok_view w,
                                  llm_tok_out *out);

/* Unicode classes from utf8proc. */
bool llm_tok_is_whitespace(int32_t cp); /* White_Space property */
bool llm_tok_is_punct(int32_t cp);      /* BERT: ASCII punctuation or category P* */

/* Decoding of one token to bytes given its position (first or not); appends to a buffer. */
typedef struct llm_tok_bytes {
    char *p;
    size_t n, cap;
} llm_tok_bytes;
llm_status llm_tok_bytes_append(llm_tok_bytes *b, const char *s, size_t n);
llm_status llm_tok_decode_piece(const struct llm_tokenizer *t, int32_t id, bool first,
                                uint32_t flags, llm_tok_bytes *out);

/* Shared setup (plain_files.c). */
extern const char llm_tok_gpt2_regex[];
llm_status llm_tok_read_file(const char *path, char **data, size_t *len, llm_error *err);
llm_status llm_tok_setup_bytelevel(struct llm_tokenizer *t, const char *regex, llm_error *err);
llm_status llm_tok_setup_bert(struct llm_tokenizer *t, bool lowercase, bool strip_accents,
                              llm_error *err);
void llm_tok_guess_specials(struct llm_tokenizer *t);

/* GGUF metadata keys of the special-token ids, in the order llama.cpp's converters write them
 * (gguf_vocab.c; read there and written by export_gguf.c). */
typedef struct llm_tok_special_key {
    const char *key;
    int which;             /* llm_special_token */
} llm_tok_special_key;
extern const llm_tok_special_key llm_tok_special_keys[];
extern const size_t llm_tok_n_special_keys;

/* Whole encode (tokenizer.c). */
llm_status llm_tok_encode(const struct llm_tokenizer *t, const char *text, size_t len,
                          uint32_t flags, llm_tok_out *out, llm_error *err);

#endif /* LLM_TOKENIZER_TOK_INTERNAL_H */
