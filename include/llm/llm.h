/*
 * libllm — run transformer language models on the CPU through a stable C ABI.
 *
 * Anything not declared in <llm/llm.h> is not API.
 *
 * This header is the manual. It is ordered the way a program meets the library:
 *   1. version            4. tokenizer          7. generation and sampling
 *   2. status and errors  5. model              8. embeddings
 *   3. logging and misc   6. session            9. saving and forking sessions
 *                                              10. scoring and perplexity
 *                                              11. training recipes
 *                                              12. low-rank adapters
 *                                              13. chat templates
 *                                              14. limits on the work of one input
 *                                              15. encoder tasks (classification, fill-mask)
 *                                              16. training (new models, datasets, trainer)
 *
 * Conventions (see docs/ABI.md for the compatibility promise):
 *  - Every fallible call returns an llm_status. LLM_OK is 0. Results come back through trailing
 *    out-parameters; an out-pointer to a handle is set to NULL on failure.
 *  - llm_last_error() returns a message for the last failure on the calling thread; a session
 *    also keeps its own (llm_session_last_error()).
 *  - Option structs start with `size_t struct_size` and have an `_init()` function that sets it
 *    and the defaults. Rarely used knobs are typed setters keyed by pinned enums.
 *  - Strings and arrays passed in are copied unless a function says otherwise. Strings returned as
 *    `const char *` are borrowed. Memory the library allocates for the caller is released with
 *    llm_free(). Most calls instead write into caller buffers and report the size needed.
 *  - Threading: an llm_model and its llm_tokenizer are immutable after open and may be used from
 *    any number of threads at once. An llm_session belongs to one thread at a time.
 *  - Text is UTF-8. Invalid UTF-8 passed to the tokenizer is replaced by U+FFFD, never an error
 *    and never a crash.
 */
#ifndef LLM_LLM_H
#define LLM_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(LLM_BUILDING_DLL)
#define LLM_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define LLM_API __attribute__((visibility("default")))
#else
#define LLM_API
#endif

/* ============================================================================================== */
/* 1. Version                                                                                     */
/* ============================================================================================== */

/**
 * @return the version of the library that is running, as LLM_VERSION_NUMBER encodes it. Compare
 *         it with LLM_VERSION_NUMBER from the header the program was built with.
 * @since 0.1
 */
LLM_API int llm_version_number(void);

/** @return the running library's version as "MAJOR.MINOR.PATCH" (static string). @since 0.1 */
LLM_API const char *llm_version_string(void);

/* ============================================================================================== */
/* 2. Status codes and error messages                                                             */
/* ============================================================================================== */

/**
 * Status of a call. Values are pinned and never renumbered; new codes are only appended.
 * @since 0.1
 */
typedef enum llm_status {
    LLM_OK = 0,
    LLM_ERR_INVALID_ARG = 1,   /**< NULL handle, bad size, value out of range */
    LLM_ERR_NOMEM = 2,         /**< an allocation failed */
    LLM_ERR_IO = 3,            /**< a file could not be opened, read or written */
    LLM_ERR_FORMAT = 4,        /**< a model, tokenizer or preset file is malformed */
    LLM_ERR_UNSUPPORTED = 5,   /**< architecture, tensor type or option not built in */
    LLM_ERR_ABI = 6,           /**< struct_size of an options struct is not understood */
    LLM_ERR_UNKNOWN_PARAM = 7, /**< a typed setter got a key it does not know */
    LLM_ERR_STATE = 8,         /**< calls made in the wrong order */
    LLM_ERR_CANCELLED = 9,     /**< a callback or llm_session_cancel() stopped the work */
    LLM_ERR_CONTEXT_FULL = 10, /**< the session's context has no room for more tokens */
    LLM_ERR_TOO_LONG = 11,     /**< an input is longer than the model accepts */
    LLM_ERR_LIMIT = 12,        /**< a file or text exceeds a configured limit (section 14) */
    LLM_ERR_BUFFER_TOO_SMALL = 13 /**< a caller buffer is too small; the size needed is reported */
} llm_status;

/** @return a static, human-readable name for a status ("invalid argument", ...). @since 0.1 */
LLM_API const char *llm_status_string(llm_status status);

/**
 * @return the message of the last failed call made by this thread, naming exactly what was
 *         wrong (file, field, offset, expected value); "" when there is none.
 * @note The string is owned by the library and valid until the next call on this thread.
 * @since 0.1
 */
LLM_API const char *llm_last_error(void);

/* ============================================================================================== */
/* 3. Logging, memory and the machine                                                             */
/* ============================================================================================== */

/** Log levels, least to most verbose. @since 0.1 */
typedef enum llm_log_level {
    LLM_LOG_ERROR = 0,
    LLM_LOG_WARN = 1,
    LLM_LOG_INFO = 2,
    LLM_LOG_DEBUG = 3
} llm_log_level;

/** Receives one formatted message (no trailing newline). @since 0.1 */
typedef void (*llm_log_fn)(void *user, llm_log_level level, const char *message);

/**
 * Installs a process-wide logger. The library never prints; without a logger messages are
 * dropped. Pass NULL to remove it. Messages above `max_level` are not formatted at all.
 * @note Call before other threads use the library; the callback may be called from any thread.
 * @since 0.1
 */
LLM_API void llm_set_logger(llm_log_fn fn, void *user, llm_log_level max_level);

/** Releases memory the library allocated for the caller. Accepts NULL. @since 0.1 */
LLM_API void llm_free(void *ptr);

/**
 * @return the kernel tier chosen for this process: "generic", "avx2", "avx512" or "neon".
 *         The environment variable LLM_ISA caps the tier (for tests and bug reports).
 * @since 0.1
 */
LLM_API const char *llm_kernel_isa(void);

/**
 * @return the CPU features the library detected and the OS enabled, space separated
 *         (e.g. "sse4.2 avx avx2 fma f16c"). Static string.
 * @since 0.1
 */
LLM_API const char *llm_cpu_features(void);

/** @return cosine similarity of two vectors of length n (0 when either is all zeros). @since 0.1 */
LLM_API float llm_cosine_similarity(const float *a, const float *b, size_t n);

/* ============================================================================================== */
/* 4. Tokenizer                                                                                   */
/* ============================================================================================== */

/** A tokenizer. Immutable; thread-safe for concurrent use. @since 0.1 */
typedef struct llm_tokenizer llm_tokenizer;

/** Kinds of tokenizer. Append-only. @since 0.1 */
typedef enum llm_tokenizer_kind {
    LLM_TOKENIZER_NONE = 0,
    LLM_TOKENIZER_BPE = 1,       /**< byte-level BPE (GPT-2 family) */
    LLM_TOKENIZER_SPM = 2,       /**< SentencePiece BPE with byte fallback (Llama 2) */
    LLM_TOKENIZER_UNIGRAM = 3,   /**< SentencePiece unigram (T5) */
    LLM_TOKENIZER_WORDPIECE = 4  /**< WordPiece (BERT) */
} llm_tokenizer_kind;

/** Special tokens a tokenizer may define. Append-only. @since 0.1 */
typedef enum llm_special_token {
    LLM_TOKEN_BOS = 0,
    LLM_TOKEN_EOS = 1,
    LLM_TOKEN_UNK = 2,
    LLM_TOKEN_PAD = 3,
    LLM_TOKEN_SEP = 4,
    LLM_TOKEN_CLS = 5,
    LLM_TOKEN_MASK = 6,
    LLM_TOKEN_EOT = 7,           /**< end of turn, where the model has one */
    LLM_TOKEN_DECODER_START = 8  /**< first decoder input of an encoder-decoder model */
} llm_special_token;

/** Flags of llm_tokenizer_encode(). @since 0.1 */
enum {
    LLM_ENCODE_ADD_SPECIAL = 1u << 0,   /**< add BOS/EOS/CLS/SEP per the model's own rules */
    LLM_ENCODE_PARSE_SPECIAL = 1u << 1  /**< treat special-token text ("</s>") as the token */
};

/** Flags of llm_tokenizer_decode(). @since 0.1 */
enum {
    LLM_DECODE_SKIP_SPECIAL = 1u << 0   /**< leave control tokens (BOS, EOS, ...) out */
};

/**
 * Opens a tokenizer on its own: a .gguf file, a tokenizer.json, a SentencePiece .model, a
 * WordPiece vocab.txt, a GPT-2 vocab.json (merges.txt beside it) or a Hugging Face directory.
 * @param[in]  path  file or directory
 * @param[out] out   the tokenizer; NULL on failure
 * @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_IO, LLM_ERR_FORMAT, LLM_ERR_UNSUPPORTED, LLM_ERR_NOMEM
 * @since 0.1
 */
LLM_API llm_status llm_tokenizer_open(const char *path, llm_tokenizer **out);

/** Closes a tokenizer from llm_tokenizer_open(). Accepts NULL. @since 0.1 */
LLM_API void llm_tokenizer_close(llm_tokenizer *tok);

/**
 * Encodes UTF-8 text into token ids, zstd style: `ids` may be NULL (or `cap` too small) to learn
 * the count; `*n_out` is always set to the number of ids the text needs.
 * @param[in]  text   UTF-8 bytes, not necessarily NUL-terminated; invalid sequences act as U+FFFD
 * @param[in]  len    byte length of `text`
 * @param[in]  flags  LLM_ENCODE_*
 * @param[out] ids    caller buffer of `cap` ids, or NULL
 * @param[out] n_out  number of ids needed
 * @return LLM_OK, LLM_ERR_BUFFER_TOO_SMALL (when ids != NULL and cap < *n_out), LLM_ERR_INVALID_ARG,
 *         LLM_ERR_NOMEM
 * @since 0.1
 */
LLM_API llm_status llm_tokenizer_encode(const llm_tokenizer *tok, const char *text, size_t len,
                                        uint32_t flags, int32_t *ids, size_t cap, size_t *n_out);

/**
 * Like llm_tokenizer_encode(), and also writes for each id the byte range [start, end) of the
 * input it came from into `offsets` (2 * cap entries). Added special tokens get an empty range.
 * @since 0.1
 */
LLM_API llm_status llm_tokenizer_encode_offsets(const llm_tokenizer *tok, const char *text,
                                                size_t len, uint32_t flags, int32_t *ids,
                                                uint32_t *offsets, size_t cap, size_t *n_out);

/**
 * Decodes ids into UTF-8 text (the exact inverse of encoding for byte-level BPE). `buf` may be
 * NULL to learn the size; `*len_out` is the length without the terminating NUL, which is written
 * when there is room.
 * @return LLM_OK, LLM_ERR_BUFFER_TOO_SMALL, LLM_ERR_INVALID_ARG (an id out of range)
 * @since 0.1
 */
LLM_API llm_status llm_tokenizer_decode(const llm_tokenizer *tok, const int32_t *ids, size_t n,
                                        uint32_t flags, char *buf, size_t cap, size_t *len_out);

/** @return the number of ids in the vocabulary. @since 0.1 */
LLM_API size_t llm_tokenizer_vocab_size(const llm_tokenizer *tok);

/** @return the tokenizer's kind. @since 0.1 */
LLM_API llm_tokenizer_kind llm_tokenizer_get_kind(const llm_tokenizer *tok);

/** @return the id of a special token, or -1 when the tokenizer has none. @since 0.1 */
LLM_API int32_t llm_tokenizer_special(const llm_tokenizer *tok, llm_special_token which);

/**
 * @return the vocabulary piece of `id` as stored (e.g. "Ġthe", "▁the", "##s"), or NULL when `id`
 *         is out of range. Borrowed, valid while the tokenizer lives. `*len` gets its length.
 * @since 0.1
 */
LLM_API const char *llm_tokenizer_piece(const llm_tokenizer *tok, int32_t id, size_t *len);

/** @return the id whose stored piece is exactly `piece`, or -1. @since 0.1 */
LLM_API int32_t llm_tokenizer_piece_to_id(const llm_tokenizer *tok, const char *piece, size_t len);

/** An incremental detokenizer for streaming. One per stream; not shared. @since 0.1 */
typedef struct llm_detokenizer llm_detokenizer;

/** Creates a streaming detokenizer over `tok` (which must outlive it). @since 0.1 */
LLM_API llm_status llm_detokenizer_create(const llm_tokenizer *tok, uint32_t flags,
                                          llm_detokenizer **out);

/**
 * Adds one id and writes the text that is now complete: never an incomplete UTF-8 sequence
 * (bytes of a character split across tokens are held back until it is whole).
 * @return LLM_OK, LLM_ERR_BUFFER_TOO_SMALL (nothing consumed; `*len_out` = size needed)
 * @since 0.1
 */
LLM_API llm_status llm_detokenizer_push(llm_detokenizer *d, int32_t id, char *buf, size_t cap,
                                        size_t *len_out);

/** Writes what is still held back (invalid bytes become U+FFFD) and resets. @since 0.1 */
LLM_API llm_status llm_detokenizer_flush(llm_detokenizer *d, char *buf, size_t cap,
                                         size_t *len_out);

/** Destroys a detokenizer. Accepts NULL. @since 0.1 */
LLM_API void llm_detokenizer_destroy(llm_detokenizer *d);

/* ============================================================================================== */
/* 5. Model                                                                                       */
/* ============================================================================================== */

/** A loaded model. Immutable; shared by any number of sessions and threads. @since 0.1 */
typedef struct llm_model llm_model;

/** Architectures. Append-only. @since 0.1 */
typedef enum llm_arch {
    LLM_ARCH_UNKNOWN = 0,
    LLM_ARCH_GPT2 = 1,
    LLM_ARCH_LLAMA = 2,
    LLM_ARCH_BERT = 3,
    LLM_ARCH_T5 = 4
} llm_arch;

/** Model families. Append-only. @since 0.1 */
typedef enum llm_model_family {
    LLM_FAMILY_DECODER = 0,          /**< autoregressive: GPT-2, Llama */
    LLM_FAMILY_ENCODER = 1,          /**< autoencoding: BERT */
    LLM_FAMILY_ENCODER_DECODER = 2   /**< seq2seq: T5 */
} llm_model_family;

/** Pooling of token vectors into one embedding. Append-only. @since 0.1 */
typedef enum llm_pooling {
    LLM_POOLING_MODEL = -1,  /**< what the model file says (bert.pooling_type, 1_Pooling/) */
    LLM_POOLING_NONE = 0,    /**< one vector per token */
    LLM_POOLING_MEAN = 1,
    LLM_POOLING_CLS = 2,
    LLM_POOLING_LAST = 3,
    LLM_POOLING_MAX = 4
} llm_pooling;

/** How model files are read. @since 0.1 */
typedef enum llm_load_mode {
    LLM_LOAD_AUTO = 0,   /**< memory-map when possible, otherwise read */
    LLM_LOAD_MMAP = 1,   /**< memory-map: see "SIGBUS" at llm_model_open() */
    LLM_LOAD_READ = 2    /**< read into memory: safe if the file changes later */
} llm_load_mode;

/**
 * Options of llm_model_open(). Initialize with llm_model_options_init().
 * @since 0.1
 */
typedef struct llm_model_options {
    size_t struct_size;           /**< sizeof(llm_model_options), set by _init() */
    int32_t load_mode;            /**< llm_load_mode; default LLM_LOAD_AUTO */
    int32_t verify;               /**< non-zero: check every quantized block scale for NaN/Inf */
    uint64_t max_file_bytes;      /**< reject larger files; 0 = no limit */
    uint64_t max_tensor_count;    /**< default 65536 */
    uint64_t max_kv_count;        /**< metadata entries; default 65536 */
    uint64_t max_array_length;    /**< elements of one metadata array; default 16M */
    uint64_t max_string_length;   /**< bytes of one metadata string; default 16M */
    /* Bounds on the work of the model's tokenizer for one text, as in llm_tokenizer_options
     * (section 14), which gives their meaning and defaults. @since 0.2 */
    uint32_t max_normalize_growth;
    uint32_t max_added_token_steps;
    uint64_t max_regex_steps;
} llm_model_options;

/** Sets struct_size and every default. @since 0.1 */
LLM_API void llm_model_options_init(llm_model_options *opt);

/**
 * Opens a model from a GGUF file or a Hugging Face directory (config.json, tokenizer files,
 * *.safetensors, optionally sharded, optionally sentence-transformers pooling config).
 * @param[in]  opt  NULL for defaults
 * @param[out] out  the model; NULL on failure
 * @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_ABI, LLM_ERR_IO, LLM_ERR_FORMAT,
 *         LLM_ERR_UNSUPPORTED, LLM_ERR_LIMIT, LLM_ERR_NOMEM
 * @since 0.1
 */
LLM_API llm_status llm_model_open(const char *path, const llm_model_options *opt,
                                  llm_model **out);

/*
 * Memory-mapped model files and SIGBUS. With LLM_LOAD_MMAP, and with LLM_LOAD_AUTO (the default)
 * wherever mapping works, the weights are read straight from the page cache. If the file is
 * truncated or its storage fails while it is mapped (another program rewrites the file in
 * place, a network file system drops, a disk returns an error) the kernel raises SIGBUS in the
 * thread that touches the missing page, and the default action of SIGBUS ends the whole host
 * process. The library installs no signal handler (it cannot do so safely for a host that has
 * its own). A host that cannot rule this out opens with load_mode = LLM_LOAD_READ: the file is
 * read into memory once at open (slower to open, more memory), and a later change to the file
 * no longer affects the model. Replacing a model file by writing a new one and renaming it over
 * the old is always safe, in both modes.
 */

/**
 * Drops the caller's reference. The model is freed once no session uses it, so closing a model
 * before its sessions (as garbage collectors do) is safe. Accepts NULL.
 * @since 0.1
 */
LLM_API void llm_model_close(llm_model *model);

/** Facts about a model. Fill with llm_model_get_info(). @since 0.1 */
typedef struct llm_model_info {
    size_t struct_size;       /**< set by the caller: sizeof(llm_model_info) */
    int32_t arch;             /**< llm_arch */
    int32_t family;           /**< llm_model_family */
    uint32_t n_vocab;
    uint32_t n_embd;          /**< hidden size (d_model) */
    uint32_t n_layer;         /**< decoder layers, or encoder layers of an encoder */
    uint32_t n_layer_encoder; /**< encoder layers of an encoder-decoder model, else 0 */
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t n_ff;
    uint32_t n_ctx_train;     /**< context length the file declares */
    int32_t pooling;          /**< llm_pooling the model asks for (encoders) */
    int32_t weight_type;      /**< dominant tensor type, GGUF type numbering */
    uint64_t n_params;
    uint64_t weight_bytes;
} llm_model_info;

/** Fills `info` (set info->struct_size first). @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_ABI @since 0.1 */
LLM_API llm_status llm_model_get_info(const llm_model *model, llm_model_info *info);

/** @return "gpt2", "llama", "bert" or "t5". @since 0.1 */
LLM_API const char *llm_model_arch_name(const llm_model *model);

/** @return the size of one embedding vector (n_embd / d_model). @since 0.1 */
LLM_API size_t llm_model_embedding_dim(const llm_model *model);

/**
 * @return the model's tokenizer, borrowed: valid while the model is open. Never NULL for a model
 *         that opened.
 * @since 0.1
 */
LLM_API const llm_tokenizer *llm_model_tokenizer(const llm_model *model);

/* ============================================================================================== */
/* 6. Session                                                                                     */
/* ============================================================================================== */

/** A conversation with a model: KV cache, sampler state and scratch. One thread at a time. @since 0.1 */
typedef struct llm_session llm_session;

/**
 * Runs `fn(ctx, i)` for every i in [0, n), possibly in parallel, and returns when all are done.
 * Lets a host with its own job system run the library's work. @since 0.1
 */
typedef void (*llm_parallel_for_fn)(void *host, void (*fn)(void *ctx, uint32_t i), void *ctx,
                                    uint32_t n);

/** What happens when a decoder's context is full. @since 0.1 */
typedef enum llm_context_policy {
    LLM_CONTEXT_ERROR = 0,  /**< LLM_ERR_CONTEXT_FULL */
    LLM_CONTEXT_SHIFT = 1   /**< drop the oldest half of the tokens after the first, re-evaluate */
} llm_context_policy;

/** Element type of the KV cache. @since 0.1 */
typedef enum llm_kv_type {
    LLM_KV_F32 = 0,
    LLM_KV_F16 = 1
} llm_kv_type;

/** Options of llm_session_create(). Initialize with llm_session_options_init(). @since 0.1 */
typedef struct llm_session_options {
    size_t struct_size;              /**< sizeof(llm_session_options), set by _init() */
    uint32_t n_ctx;                  /**< context length; 0 = min(2048, the model's) */
    uint32_t n_threads;              /**< 0 = number of online CPUs; results never depend on it */
    uint32_t n_batch;                /**< prompt tokens evaluated per batch; 0 = 512 */
    int32_t kv_type;                 /**< llm_kv_type; default LLM_KV_F32 */
    int32_t context_policy;          /**< llm_context_policy; default LLM_CONTEXT_ERROR */
    llm_parallel_for_fn parallel_for;/**< NULL: the library's own thread pool */
    void *parallel_host;             /**< first argument of parallel_for */
} llm_session_options;

/** Sets struct_size and every default. @since 0.1 */
LLM_API void llm_session_options_init(llm_session_options *opt);

/**
 * Reports the bytes a session with `opt` would allocate (KV cache, scratch), before creating it.
 * @since 0.1
 */
LLM_API llm_status llm_model_estimate_memory(const llm_model *model,
                                             const llm_session_options *opt, uint64_t *bytes);

/**
 * Creates a session on a model (which it keeps a reference on).
 * @param[in]  opt  NULL for defaults
 * @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_ABI, LLM_ERR_NOMEM
 * @since 0.1
 */
LLM_API llm_status llm_session_create(llm_model *model, const llm_session_options *opt,
                                      llm_session **out);

/** Destroys a session and drops its model reference. Accepts NULL. @since 0.1 */
LLM_API void llm_session_destroy(llm_session *s);

/** @return the message of the last failed call on `s` ("" when none). Borrowed. @since 0.1 */
LLM_API const char *llm_session_last_error(const llm_session *s);

/** @return the model the session runs (borrowed). @since 0.1 */
LLM_API const llm_model *llm_session_model(const llm_session *s);

/** Forgets every token (decoder cache, encoder output); keeps the settings. @since 0.1 */
LLM_API void llm_session_reset(llm_session *s);

/** @return the number of tokens in the session's context. @since 0.1 */
LLM_API size_t llm_session_n_tokens(const llm_session *s);

/**
 * Feeds tokens. A decoder appends them to its context and evaluates them (prompt batches run as
 * matrix products). An encoder-decoder model encodes them as its input (replacing the previous
 * input) and restarts its decoder. When `logits` is not NULL it receives the logits of every fed
 * position, [n][n_vocab] floats (an encoder-decoder: its first decoder step, [1][n_vocab]);
 * `cap` counts floats. For automatic reuse of a cached prefix
 * use llm_session_feed_prompt(). Every feed starts a new generation (the stop reason, the token
 * count of MAX_TOKENS and held-back text start over); a decoder may be fed zero tokens to
 * continue generating from its current context.
 * @return LLM_OK, LLM_ERR_CONTEXT_FULL, LLM_ERR_INVALID_ARG (id out of range),
 *         LLM_ERR_BUFFER_TOO_SMALL, LLM_ERR_STATE (an encoder-only model), LLM_ERR_CANCELLED
 * @since 0.1
 */
LLM_API llm_status llm_session_feed(llm_session *s, const int32_t *ids, size_t n, float *logits,
                                    size_t cap);

/**
 * Makes the context equal to `ids`, keeping the longest common prefix already in the cache and
 * evaluating only the rest. The usual way to give a decoder a prompt.
 * @param[out] n_reused  tokens kept from the cache (may be NULL)
 * @since 0.1
 */
LLM_API llm_status llm_session_feed_prompt(llm_session *s, const int32_t *ids, size_t n,
                                           size_t *n_reused);

/**
 * @return the logits of the last evaluated position ([n_vocab] floats, borrowed until the next
 *         call on the session), or NULL when nothing was evaluated. `*n_vocab` gets the count.
 * @since 0.1
 */
LLM_API const float *llm_session_logits(const llm_session *s, size_t *n_vocab);

/* ============================================================================================== */
/* 7. Generation and sampling                                                                     */
/* ============================================================================================== */

/**
 * Sampling and generation knobs, for llm_session_set_int()/_float(). Pinned, append-only.
 * The sampling chain runs in this order: logit bias → repetition/frequency/presence penalties
 * over the last PENALTY_LAST_N tokens → temperature → top-k → top-p → min-p → typical-p → greedy
 * pick (TEMPERATURE 0) or a draw from the seeded generator.
 * @since 0.1
 */
typedef enum llm_param {
    LLM_PARAM_TEMPERATURE = 1,       /**< float, default 0.8; 0 = greedy */
    LLM_PARAM_TOP_K = 2,             /**< int, default 40; 0 = off */
    LLM_PARAM_TOP_P = 3,             /**< float, default 0.95; 1 = off */
    LLM_PARAM_MIN_P = 4,             /**< float, default 0.05; 0 = off */
    LLM_PARAM_TYPICAL_P = 5,         /**< float, default 1 = off */
    LLM_PARAM_REPEAT_PENALTY = 6,    /**< float, default 1 = off */
    LLM_PARAM_FREQUENCY_PENALTY = 7, /**< float, default 0 */
    LLM_PARAM_PRESENCE_PENALTY = 8,  /**< float, default 0 */
    LLM_PARAM_PENALTY_LAST_N = 9,    /**< int, default 64 */
    LLM_PARAM_SEED = 10,             /**< int, default 0 */
    LLM_PARAM_MAX_TOKENS = 11,       /**< int, default 256; tokens generated per call */
    LLM_PARAM_N_THREADS = 12,        /**< int; 1 .. max(CPUs, n_threads at creation) */
    LLM_PARAM_NUM_BEAMS = 13,        /**< int, default 1 */
    LLM_PARAM_LENGTH_PENALTY = 14,   /**< float, default 1: score = logprob / length^penalty */
    LLM_PARAM_EARLY_STOPPING = 15,   /**< int (bool), default 1 */
    LLM_PARAM_N_BEST = 16,           /**< int, default 1 */
    LLM_PARAM_IGNORE_EOS = 17        /**< int (bool), default 0 */
} llm_param;

/** @return LLM_OK, LLM_ERR_UNKNOWN_PARAM, LLM_ERR_INVALID_ARG (out of range) @since 0.1 */
LLM_API llm_status llm_session_set_int(llm_session *s, llm_param key, int64_t value);
/** @return LLM_OK, LLM_ERR_UNKNOWN_PARAM, LLM_ERR_INVALID_ARG (out of range or NaN) @since 0.1 */
LLM_API llm_status llm_session_set_float(llm_session *s, llm_param key, double value);
/** @since 0.1 */
LLM_API llm_status llm_session_get_int(const llm_session *s, llm_param key, int64_t *value);
/** @since 0.1 */
LLM_API llm_status llm_session_get_float(const llm_session *s, llm_param key, double *value);

/** Adds `bias` to the logit of `id` before sampling (0 removes it). @since 0.1 */
LLM_API llm_status llm_session_set_logit_bias(llm_session *s, int32_t id, float bias);

/**
 * Adds a stop string. Generation ends when the decoded text contains it; the stop text and
 * anything after it are never emitted (partial matches are held back). @since 0.1
 */
LLM_API llm_status llm_session_add_stop(llm_session *s, const char *text);

/** Removes every stop string. @since 0.1 */
LLM_API void llm_session_clear_stops(llm_session *s);

/**
 * Loads a YAML generation preset (sampling parameters, stop strings, max tokens, threads).
 * Unknown keys and bad values are LLM_ERR_FORMAT with the line in the message.
 * @since 0.1
 */
LLM_API llm_status llm_session_load_preset(llm_session *s, const char *path);

/** Why generation ended. @since 0.1 */
typedef enum llm_stop_reason {
    LLM_STOP_NONE = 0,        /**< still running */
    LLM_STOP_EOS = 1,         /**< the model produced an end-of-generation token */
    LLM_STOP_MAX_TOKENS = 2,
    LLM_STOP_STRING = 3,
    LLM_STOP_CANCELLED = 4,
    LLM_STOP_CONTEXT_FULL = 5
} llm_stop_reason;

/**
 * Receives each generated token and the UTF-8-complete text it adds (possibly empty while bytes
 * are held back). Return non-zero to stop. @since 0.1
 */
typedef int (*llm_token_fn)(void *user, int32_t id, const char *text, size_t len);

/**
 * Samples one token from the current logits, feeds it back, and reports it: the step API for
 * hosts that drive their own loop (one token per frame). Stop strings and max_tokens apply.
 * @param[out] id        the token, or -1 when generation has ended (see `*reason`)
 * @param[out] text      the text it adds, borrowed until the next call (may be NULL)
 * @param[out] len       its length (may be NULL)
 * @param[out] reason    LLM_STOP_NONE while generation goes on (may be NULL)
 * @return LLM_OK, LLM_ERR_STATE (no prompt fed), LLM_ERR_CONTEXT_FULL, LLM_ERR_CANCELLED
 * @since 0.1
 */
LLM_API llm_status llm_session_step(llm_session *s, int32_t *id, const char **text, size_t *len,
                                    llm_stop_reason *reason);

/**
 * Generates until a stop condition, calling `fn` for each token. The prompt (already fed with
 * llm_session_feed_prompt(), or the encoder input of a seq2seq model) must be in place.
 * @return LLM_OK (see llm_session_stop_reason()), LLM_ERR_CANCELLED, LLM_ERR_CONTEXT_FULL
 * @since 0.1
 */
LLM_API llm_status llm_session_generate(llm_session *s, llm_token_fn fn, void *user);

/**
 * Tokenizes `prompt` with the model's own special-token rules, feeds it (reusing the cached
 * prefix) and generates as llm_session_generate() does.
 * @since 0.1
 */
LLM_API llm_status llm_session_generate_text(llm_session *s, const char *prompt, llm_token_fn fn,
                                             void *user);

/** @return why the last generation ended. @since 0.1 */
LLM_API llm_stop_reason llm_session_stop_reason(const llm_session *s);

/**
 * Asks running work on `s` to stop at the next token. The only call that may be made on a
 * session from another thread. The request stays pending until work on `s` notices it (and
 * clears it): when nothing is running, the next generation, prompt evaluation, beam search or
 * embedding on `s` stops at its start, so a cancel issued just before a call begins is not lost.
 * @since 0.1
 */
LLM_API void llm_session_cancel(llm_session *s);

/**
 * Beam search from the current prompt (decoder) or encoder input (encoder-decoder), with
 * NUM_BEAMS, LENGTH_PENALTY, EARLY_STOPPING, N_BEST and MAX_TOKENS. Deterministic.
 * Hypotheses are written best first: ids[h * max_len ...], lens[h], scores[h] (sum of
 * log-probabilities divided by length^LENGTH_PENALTY), for h < *n_hyp.
 * @param[in] max_len  room per hypothesis in `ids`
 * @since 0.1
 */
LLM_API llm_status llm_session_beam_search(llm_session *s, int32_t *ids, size_t max_len,
                                           size_t *lens, float *scores, size_t n_hyp_cap,
                                           size_t *n_hyp);

/* ============================================================================================== */
/* 8. Embeddings                                                                                  */
/* ============================================================================================== */

/** Options of llm_session_embed(). Initialize with llm_embed_options_init(). @since 0.1 */
typedef struct llm_embed_options {
    size_t struct_size;      /**< sizeof(llm_embed_options), set by _init() */
    int32_t pooling;         /**< llm_pooling; default LLM_POOLING_MODEL */
    int32_t normalize;       /**< -1 = as the model says, 0 = no, 1 = L2-normalize */
    int32_t truncate;        /**< non-zero: cut texts to the model's length instead of failing */
    int32_t add_special;     /**< non-zero (default): add CLS/SEP per the tokenizer's rules */
} llm_embed_options;

/** Sets struct_size and every default. @since 0.1 */
LLM_API void llm_embed_options_init(llm_embed_options *opt);

/** What an embedding call applied. @since 0.1 */
typedef struct llm_embed_result {
    size_t struct_size;      /**< set by the caller */
    int32_t pooling;         /**< llm_pooling applied */
    int32_t normalized;      /**< 1 when vectors were L2-normalized */
    uint64_t n_tokens;       /**< tokens evaluated in all */
} llm_embed_result;

/**
 * Embeds many texts at once into `out` [n_texts][dim] (dim = llm_model_embedding_dim()).
 * Sequences are packed without padding and attend only to themselves. Works on encoder models
 * and on the encoder of encoder-decoder models.
 * @param[in]  cap     floats in `out`
 * @param[out] result  may be NULL
 * @return LLM_OK, LLM_ERR_TOO_LONG (names the text), LLM_ERR_BUFFER_TOO_SMALL, LLM_ERR_STATE
 *         (pooling none: use llm_session_embed_ids), LLM_ERR_UNSUPPORTED (a decoder model)
 * @since 0.1
 */
LLM_API llm_status llm_session_embed(llm_session *s, const char *const *texts, size_t n_texts,
                                     const llm_embed_options *opt, float *out, size_t cap,
                                     llm_embed_result *result);

/**
 * Embeds one sequence of ids exactly as given (no special tokens added). With pooling NONE
 * `out` receives [n][dim] token vectors, otherwise [dim].
 * @since 0.1
 */
LLM_API llm_status llm_session_embed_ids(llm_session *s, const int32_t *ids, size_t n,
                                         const llm_embed_options *opt, float *out, size_t cap,
                                         llm_embed_result *result);

/* ============================================================================================== */
/* 9. Saving, restoring and forking sessions                                                      */
/* ============================================================================================== */

/**
 * Writes the session's state (tokens, KV cache, sampler state) in the versioned format of
 * docs/SESSION_STATE.md. `buf` may be NULL to learn the size.
 * @return LLM_OK, LLM_ERR_BUFFER_TOO_SMALL
 * @since 0.1
 */
LLM_API llm_status llm_session_save_state(const llm_session *s, void *buf, size_t cap,
                                          size_t *size);

/** Restores a state written by llm_session_save_state() for the same model. @since 0.1 */
LLM_API llm_status llm_session_load_state(llm_session *s, const void *buf, size_t size);

/** llm_session_save_state() into a file. @since 0.1 */
LLM_API llm_status llm_session_save_file(const llm_session *s, const char *path);

/** llm_session_load_state() from a file. @since 0.1 */
LLM_API llm_status llm_session_load_file(llm_session *s, const char *path);

/** Creates a new session with a copy of this one's context, cache and settings. @since 0.1 */
LLM_API llm_status llm_session_fork(const llm_session *s, llm_session **out);

/* ============================================================================================== */
/* 10. Scoring and perplexity                                                                     */
/* ============================================================================================== */

/**
 * Scores a token sequence with a decoder: forgets the session's context, feeds `ids` exactly as
 * given (no BOS is added) and writes the negative log-likelihood, in nats, of every token the
 * positions from `first` on predict:
 *     nll[j] = -log p(ids[first + j + 1] | ids[0 .. first + j]),   j = 0 .. n - 2 - first.
 * The mean of these is the loss of language-model training; exp(mean) is the perplexity
 * (`llm perplexity` scores the second half of each window, first = n_ctx / 2). The log-softmax
 * is computed in double from the float logits that generation uses.
 * @param[in]  first  position of the first prediction scored; first + 2 <= n
 * @param[out] nll    n - 1 - first values
 * @param[in]  cap    values `nll` holds
 * @return LLM_OK, LLM_ERR_INVALID_ARG (NULL, nothing to score, an id outside the vocabulary),
 *         LLM_ERR_BUFFER_TOO_SMALL, LLM_ERR_TOO_LONG (n exceeds the session's n_ctx),
 *         LLM_ERR_UNSUPPORTED (not a decoder), LLM_ERR_NOMEM, LLM_ERR_CANCELLED
 * @since 0.2
 */
LLM_API llm_status llm_session_score(llm_session *s, const int32_t *ids, size_t n, size_t first,
                                     double *nll, size_t cap);

/* ============================================================================================== */
/* 11. Training recipes                                                                           */
/* ============================================================================================== */

/*
 * A training recipe is a YAML file that says what to train and how: the model (a new one from
 * hyper-parameters, or a file to start from), the data, the optimizer, the schedule, the run
 * (steps, batch size, accumulation, context, evaluation, logging, checkpoints, seed, threads)
 * and the export. docs/TRAINING.md documents every key; `llm train RECIPE.yaml` runs one.
 * Relative input paths in a recipe (data, tokenizer, a model to start from) are relative to the
 * recipe file's folder; output paths (checkpoints, export) to the current directory.
 */

/** A parsed, validated recipe. @since 0.2 */
typedef struct llm_recipe llm_recipe;

/**
 * Reads and validates a recipe. YAML anchors, aliases and merge keys (`<<: *base`) work.
 * @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_IO (the file cannot be read), LLM_ERR_FORMAT
 *         (invalid YAML, an unknown or repeated key, a bad value, keys that contradict each
 *         other: the message names the file, the line and the key), LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_recipe_open(const char *path, llm_recipe **out);

/** Frees a recipe. Accepts NULL. @since 0.2 */
LLM_API void llm_recipe_close(llm_recipe *recipe);

/**
 * Overrides one key by its dotted name ("optimizer.lr", "steps", "data.path"), parsed and
 * range-checked as in a file. Call llm_recipe_validate() afterwards for the rules between keys.
 * @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_FORMAT (unknown key or bad value, named)
 * @since 0.2
 */
LLM_API llm_status llm_recipe_set(llm_recipe *recipe, const char *key, const char *value);

/** Checks the rules between keys again (after llm_recipe_set()). @since 0.2 */
LLM_API llm_status llm_recipe_validate(const llm_recipe *recipe);

/**
 * The value of a key as text, as the recipe holds it after defaults and overrides ("2000",
 * "0.001", "true", "gpt2"; "" for an unset path). `buf` may be NULL to learn the length.
 * @return LLM_OK, LLM_ERR_INVALID_ARG (unknown key), LLM_ERR_BUFFER_TOO_SMALL
 * @since 0.2
 */
LLM_API llm_status llm_recipe_get(const llm_recipe *recipe, const char *key, char *buf,
                                  size_t cap, size_t *len_out);

/* ============================================================================================== */
/* 12. Low-rank adapters (LoRA)                                                                   */
/* ============================================================================================== */

/**
 * A low-rank adapter resolved against one model: for some of the model's matrices W a pair
 * (A, B) of rank r, so that a session with the adapter attached at scale s computes
 *
 *     y = W x + s · (alpha / r) · B (A x)            (s alone when the file's alpha is 0)
 *
 * for each of them (llama.cpp's convention). Immutable; usable by any number of sessions on its
 * model at once, from any thread. It keeps a reference on the model.
 * @since 0.2
 */
typedef struct llm_adapter llm_adapter;

/**
 * Opens an adapter for `model` from
 *  - llama.cpp's LoRA GGUF (general.type = "adapter", adapter.type = "lora", adapter.lora.alpha,
 *    tensors "<name>.lora_a" of ne [n_in, rank] and "<name>.lora_b" of ne [rank, n_out]), or
 *  - a Hugging Face PEFT folder (adapter_config.json with r, lora_alpha, target_modules,
 *    use_rslora; adapter_model.safetensors), whose module names are mapped onto the model's GGUF
 *    names the way a Hugging Face model folder is imported (GPT-2 c_attn, c_proj, c_fc; Llama
 *    q_proj ... down_proj; T5 q, k, v, o, wi, wi_0, wi_1, wo; BERT query, key, value, dense;
 *    lm_head).
 * Everything is checked against the model before the call returns: the architecture, that every
 * adapted matrix exists and is multiplied by the forward pass (not an embedding table), and
 * every shape.
 * @param[out] out  the adapter; NULL on failure
 * @return LLM_OK; LLM_ERR_INVALID_ARG (an adapter for another architecture, a matrix the model
 *         does not have, a shape that does not fit: the message names the tensor and both
 *         shapes), LLM_ERR_UNSUPPORTED (not a LoRA adapter; a PEFT target module, DoRA,
 *         alpha_pattern, trained biases or modules_to_save: named), LLM_ERR_FORMAT, LLM_ERR_IO,
 *         LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_adapter_open(llm_model *model, const char *path, llm_adapter **out);

/**
 * Drops the caller's reference. Sessions the adapter is attached to keep it alive until they
 * detach it or are destroyed. Accepts NULL.
 * @since 0.2
 */
LLM_API void llm_adapter_close(llm_adapter *adapter);

/** @return the adapter's name (general.name, or the file name); borrowed. @since 0.2 */
LLM_API const char *llm_adapter_name(const llm_adapter *adapter);

/**
 * Attaches an adapter (opened for this session's model) at `scale`, after those already
 * attached; attaching one that is attached already changes its scale. Several adapters add
 * their terms (in attach order). The model is not changed: other sessions on it are unaffected.
 * @note This changes the weights the session computes with, so its context is cleared (as by
 *       llm_session_reset()).
 * @return LLM_OK, LLM_ERR_INVALID_ARG (NULL, another model's adapter, a scale that is not
 *         finite), LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_session_attach_adapter(llm_session *s, llm_adapter *adapter, float scale);

/**
 * Detaches an adapter (NULL: all of them). Without adapters a session computes exactly the
 * bytes it computed before any was attached. Clears the context as attaching does.
 * @return LLM_OK, LLM_ERR_INVALID_ARG (the adapter is not attached to this session)
 * @since 0.2
 */
LLM_API llm_status llm_session_detach_adapter(llm_session *s, const llm_adapter *adapter);

/** @return the number of adapters attached to the session. @since 0.2 */
LLM_API size_t llm_session_n_adapters(const llm_session *s);

/**
 * Writes the model with adapters merged into its weights as a GGUF file at `path` (replaced
 * atomically): W' = W + scale · (alpha / r) · B A for every adapted matrix, in double precision,
 * rounded once. f32, f16 and bf16 matrices keep their type; adapted quantized matrices are
 * written as f16. Every other tensor and all metadata are copied unchanged.
 * @param[in] scales  one per adapter, or NULL for 1.0 each
 * @return LLM_OK, LLM_ERR_INVALID_ARG (NULL, another model's adapter), LLM_ERR_IO, LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_model_export_merged(const llm_model *model, llm_adapter *const *adapters,
                                           const float *scales, size_t n, const char *path);

/* ============================================================================================== */
/* 13. Chat templates                                                                             */
/* ============================================================================================== */

/*
 * A model's chat template is the Jinja2 text Hugging Face stores as `chat_template` in
 * tokenizer_config.json (and llama.cpp as `tokenizer.chat_template` in GGUF). These calls render
 * a conversation through it the way transformers' apply_chat_template does (trim_blocks,
 * lstrip_blocks, raise_exception, strftime_now, tojson with ensure_ascii=False), in a sandbox:
 * the template sees only the variables given, cannot read files, cannot change values in place,
 * and every render is bounded in work, nesting depth and output size.
 */

/** Options of the chat-template calls. Zero limits mean the defaults. @since 0.2 */
typedef struct llm_chat_options {
    size_t struct_size;            /**< set by llm_chat_options_init() */
    int32_t add_generation_prompt; /**< non-zero: end with the assistant's turn opener */
    const char *bos_token;         /**< NULL: the model's BOS text (model call), else undefined */
    const char *eos_token;         /**< NULL: the model's EOS text (model call), else undefined */
    const char *tools_json;        /**< JSON array given to the template as `tools`; NULL: none */
    const char *documents_json;    /**< JSON array as `documents`; NULL: none */
    const char *now;               /**< ISO-8601 time strftime_now() reports; NULL: the clock */
    const char *extra_json;        /**< JSON object of extra template variables, or NULL */
    uint64_t max_steps;            /**< evaluation steps (0: 10 000 000) */
    uint64_t max_output;           /**< output bytes (0: 16 MiB) */
    uint64_t max_depth;            /**< nesting of expressions, blocks, macro calls (0: 256) */
} llm_chat_options;

/** Zeroes `opt` and sets struct_size and the defaults. @since 0.2 */
LLM_API void llm_chat_options_init(llm_chat_options *opt);

/**
 * Renders `messages_json` (a JSON array of {"role", "content", ...} objects) through
 * `template_text`. The variables are messages, add_generation_prompt, tools and documents
 * (None when not given, as transformers passes them), bos_token and eos_token (undefined when
 * NULL), and the keys of extra_json (which may override any of them but messages).
 * @param[out] out      NUL-terminated rendering, freed with llm_free()
 * @param[out] out_len  its length in bytes (may be NULL)
 * @return LLM_OK; LLM_ERR_INVALID_ARG (NULL argument, malformed JSON, messages not an array);
 *         LLM_ERR_ABI; LLM_ERR_FORMAT (a syntax error or an operation the values do not support,
 *         named with its template line and column); LLM_ERR_STATE (the template called
 *         raise_exception(msg): llm_last_error() is exactly msg); LLM_ERR_LIMIT (a bound of the
 *         sandbox); LLM_ERR_NOMEM
 * @note Thread-safe; the template is parsed on every call.
 * @since 0.2
 */
LLM_API llm_status llm_chat_template_render(const char *template_text, const char *messages_json,
                                            const llm_chat_options *opt, char **out,
                                            size_t *out_len);

/**
 * @return the model's own chat template (GGUF `tokenizer.chat_template`; for a Hugging Face
 *         folder chat_template.jinja or `chat_template` in tokenizer_config.json), or NULL when
 *         it has none. Borrowed, valid while the model lives.
 * @since 0.2
 */
LLM_API const char *llm_model_chat_template(const llm_model *model);

/**
 * llm_chat_template_render() with the model's template and, where the options leave them NULL,
 * the model's BOS and EOS texts.
 * @return as llm_chat_template_render(), and LLM_ERR_UNSUPPORTED when the model has no template
 * @since 0.2
 */
LLM_API llm_status llm_model_chat_render(const llm_model *model, const char *messages_json,
                                         const llm_chat_options *opt, char **out, size_t *out_len);

/* ============================================================================================== */
/* 14. Limits on the work of one input                                                            */
/* ============================================================================================== */

/*
 * Every stage driven by a file or a text has a bound on the work one input may cause, so that a
 * small hostile file cannot make a call take gigabytes or minutes. Exceeding one returns
 * LLM_ERR_LIMIT; llm_last_error() names the stage ("normalizer 3 (Replace)", "pre-tokenizer 1
 * (Split)", "added-token matching"), the amount, the limit and the option that raises it.
 * A limit of 0 means no limit.
 */

/** Options of llm_tokenizer_open_with(). Initialize with llm_tokenizer_options_init(). @since 0.2 */
typedef struct llm_tokenizer_options {
    size_t struct_size;             /**< sizeof(llm_tokenizer_options), set by _init() */
    /** Bytes the normalizers together may make of one input byte, plus 1024. Checked at open
     *  against what a chain of Replace normalizers can produce, and while encoding against the
     *  bytes held. Default 64 (Unicode forms grow a byte at most 18 times). */
    uint32_t max_normalize_growth;
    /** Added-token candidates compared per input byte, plus 65536. Default 1024. */
    uint32_t max_added_token_steps;
    /** PCRE2 match limit of one regex match of a pre-tokenizer split or a Replace normalizer
     *  (bounds backtracking). Default 1000000. */
    uint64_t max_regex_steps;
} llm_tokenizer_options;

/** Sets struct_size and every default. @since 0.2 */
LLM_API void llm_tokenizer_options_init(llm_tokenizer_options *opt);

/**
 * llm_tokenizer_open() with limits. `opt` may be NULL for the defaults.
 * @return as llm_tokenizer_open(), and LLM_ERR_ABI, LLM_ERR_LIMIT (a file whose normalizers can
 *         grow a text beyond max_normalize_growth)
 * @since 0.2
 */
LLM_API llm_status llm_tokenizer_open_with(const char *path, const llm_tokenizer_options *opt,
                                           llm_tokenizer **out);

/* ============================================================================================== */
/* 15. Encoder tasks: sequence classification and fill-mask                                       */
/* ============================================================================================== */

/** What a model's classification head predicts. Append-only. @since 0.2 */
typedef enum llm_classifier {
    LLM_CLASSIFIER_NONE = 0,          /**< the model has no classification head */
    LLM_CLASSIFIER_SINGLE_LABEL = 1,  /**< one label of n: probabilities are a softmax */
    LLM_CLASSIFIER_MULTI_LABEL = 2,   /**< any labels of n: a sigmoid per label */
    LLM_CLASSIFIER_REGRESSION = 3     /**< n values: "probabilities" are the raw outputs */
} llm_classifier;

/**
 * The classification head of an encoder model: a linear layer on the pooled output
 * (cls_head.weight/cls_head.bias, on the model's own pooling, not normalized), or Hugging Face's
 * BertForSequenceClassification (a tanh pooler on the [CLS] row, then the classifier; imported
 * from the folder as llama.cpp names them, cls.* and cls.output.*). The kind comes from
 * config.json's problem_type (bert.classifier.problem_type); without one, one output is a
 * regression and more are single-label, as in Hugging Face.
 * @param[out] n_labels  outputs of the head (0 without one); may be NULL
 * @since 0.2
 */
LLM_API llm_classifier llm_model_classifier(const llm_model *model, size_t *n_labels);

/**
 * @return the name of label `i` (config.json's id2label, GGUF bert.classifier.output_labels),
 *         borrowed; NULL when the model names none or `i` is out of range.
 * @since 0.2
 */
LLM_API const char *llm_model_label(const llm_model *model, size_t i);

/**
 * Classifies a batch of texts (tokenized with [CLS]/[SEP], packed without padding, each
 * attending only to itself). For text t, `probs[t * n_labels + j]` receives the probability of
 * label j and `logits[t * n_labels + j]` the head's raw output; either array may be NULL.
 * @param[in] cap  floats in each non-NULL array; at least n_texts * n_labels
 * @return LLM_OK, LLM_ERR_UNSUPPORTED (no classification head), LLM_ERR_BUFFER_TOO_SMALL,
 *         LLM_ERR_TOO_LONG (names the text), LLM_ERR_INVALID_ARG, LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_session_classify(llm_session *s, const char *const *texts, size_t n_texts,
                                        float *probs, float *logits, size_t cap);

/** llm_session_classify() of one sequence of ids exactly as given. @since 0.2 */
LLM_API llm_status llm_session_classify_ids(llm_session *s, const int32_t *ids, size_t n,
                                            float *probs, float *logits, size_t cap);

/**
 * Fills the masks of a text with a masked-LM head (Hugging Face BertForMaskedLM folders: dense,
 * GELU, LayerNorm, then the decoder tied to the token embeddings, plus a bias). The text is
 * tokenized with [CLS]/[SEP] and with special-token text recognized, so "[MASK]" is the mask
 * token. For mask m (in text order), ids[m * k + j] and probs[m * k + j] receive the j-th most
 * likely token and its probability (softmax over the vocabulary), best first; pieces come from
 * llm_tokenizer_piece().
 * @param[in]  cap      entries in ids and in probs (either may be NULL to count the masks)
 * @param[out] n_masks  the number of masks in the text (always set)
 * @return LLM_OK, LLM_ERR_UNSUPPORTED (no masked-LM head), LLM_ERR_INVALID_ARG (no mask in the
 *         text, k = 0), LLM_ERR_BUFFER_TOO_SMALL (cap < n_masks * k), LLM_ERR_TOO_LONG
 * @since 0.2
 */
LLM_API llm_status llm_session_fill_mask(llm_session *s, const char *text, size_t k, int32_t *ids,
                                         float *probs, size_t cap, size_t *n_masks);

/* ============================================================================================== */
/* 16. Training: new models, datasets, the trainer                                                */
/* ============================================================================================== */

/*
 * Training decoders (GPT-2, Llama) on the CPU.
 *
 *   llm_model_create()     a new model with fresh, seeded weights from hyper-parameters; it is
 *                          an ordinary llm_model (sessions can sample from it at once)
 *   llm_dataset_*          a token stream tokenized once (text, JSONL or ids), with an optional
 *                          per-token loss mask, split into a train part and a validation part
 *   llm_trainer_*          full-parameter training of a model in f32 master weights with AdamW:
 *                          random windows of n_ctx+1 tokens drawn by a seeded sampler, or an
 *                          explicit batch; evaluation; checkpoints with exact resume; export
 *
 * Conventions of this section:
 *  - A batch of B sequences of T ids predicts ids[b][t+1] from position t, t = 0..T-2: B·(T-1)
 *    targets. The loss is the mean natural-log cross-entropy over the counted targets; a mask
 *    [B][T-1] (index t = the prediction position, target ids[b][t+1]) counts target t when
 *    non-zero: loss = sum(mask·CE) / sum(mask).
 *  - AdamW follows torch.optim.AdamW with torch.nn.utils.clip_grad_norm_: the global L2 norm over
 *    all gradients, g *= min(1, clip / (norm + 1e-6)); decoupled decay w *= 1 - lr·wd on every
 *    2-D tensor (all matrices, embeddings included), none on 1-D tensors (norms, biases); bias-
 *    corrected moments. The learning rate rises linearly over warmup_steps to lr, then follows a
 *    cosine down to min_lr at total_steps (or stays at lr with LLM_SCHEDULE_CONSTANT). With
 *    it = the 0-based step: it < warmup: lr·(it+1)/warmup; else min_lr + ½(1 + cos(π·r))·(lr −
 *    min_lr), r = (it − warmup)/(total_steps − warmup); min_lr from total_steps on.
 *  - Tensors are named and laid out as in the GGUF file (llama.cpp's names, ne[0] fastest).
 *  - Results are bit-identical at any n_threads; a step allocates nothing (every buffer is sized
 *    when the trainer is created).
 *  - A trainer belongs to one thread at a time; llm_trainer_cancel() may be called from any.
 */

/** Options of llm_model_create(). Initialize with llm_model_create_options_init(). @since 0.2 */
typedef struct llm_model_create_options {
    size_t struct_size;         /**< sizeof(llm_model_create_options), set by _init() */
    int32_t arch;               /**< LLM_ARCH_GPT2 (default) or LLM_ARCH_LLAMA */
    uint32_t n_layer;           /**< blocks; default 4 */
    uint32_t n_embd;            /**< width; default 128 */
    uint32_t n_head;            /**< attention heads; default 4 (n_embd must be a multiple) */
    uint32_t n_head_kv;         /**< key/value heads (Llama grouped-query); 0 = n_head */
    uint32_t n_ff;              /**< feed-forward width; 0 = 4·n_embd (GPT-2), or Llama's
                                     multiple of 32 near 8/3·n_embd */
    uint32_t n_ctx;             /**< context length (GPT-2: rows of position_embd); default 64 */
    int32_t bias;               /**< 1: biases in every linear layer and LayerNorm (GPT-2 only),
                                     0: none (nanoGPT's bias=False), -1 (default): the
                                     architecture's usual (GPT-2 yes, Llama no) */
    int32_t tied_output;        /**< non-zero (default): the output head is token_embd */
    float norm_eps;             /**< 0 = 1e-5 */
    float rope_theta;           /**< Llama rope.freq_base; 0 = 10000 */
    uint64_t seed;              /**< seed of the weight initialisation; default 0 */
    const char *tokenizer_path; /**< any file llm_tokenizer_open() reads, whose vocabulary the
                                     model takes; NULL (default): 256 byte tokens (id = byte
                                     value) plus <|endoftext|> (id 256), n_vocab 257 */
    const char *name;           /**< general.name; NULL = "libllm-<arch>" */
} llm_model_create_options;

/** Sets struct_size and every default. @since 0.2 */
LLM_API void llm_model_create_options_init(llm_model_create_options *opt);

/**
 * Creates a model with fresh f32 weights: every matrix and embedding N(0, 0.02), the residual
 * output projections (attn_output, ffn_down) N(0, 0.02/sqrt(2·n_layer)), biases 0, norm weights
 * 1 (GPT-2 style). The same seed gives the same weights.
 * @param[out] out  the model (close with llm_model_close()); NULL on failure
 * @return LLM_OK, LLM_ERR_INVALID_ARG (a size that is zero or does not divide), LLM_ERR_ABI,
 *         LLM_ERR_UNSUPPORTED (an architecture other than GPT-2/Llama, bias with Llama), the
 *         tokenizer's errors, LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_model_create(const llm_model_create_options *opt, llm_model **out);

/** A tokenized corpus split into a train and a validation part. Immutable. @since 0.2 */
typedef struct llm_dataset llm_dataset;

/** Parts of a dataset. @since 0.2 */
typedef enum llm_split {
    LLM_SPLIT_TRAIN = 0,
    LLM_SPLIT_VALIDATION = 1
} llm_split;

/** Formats of llm_dataset_open(). @since 0.2 */
typedef enum llm_dataset_format {
    LLM_DATASET_AUTO = 0,   /**< JSONL when the name ends in .jsonl or .json, else text */
    LLM_DATASET_TEXT = 1,   /**< the whole file is one UTF-8 text */
    LLM_DATASET_JSONL = 2   /**< one JSON object per line with a string field "text" (blank
                                 lines are skipped); each record is one document */
} llm_dataset_format;

/** Options of the dataset constructors. Initialize with llm_dataset_options_init(). @since 0.2 */
typedef struct llm_dataset_options {
    size_t struct_size;       /**< sizeof(llm_dataset_options), set by _init() */
    int32_t format;           /**< llm_dataset_format; default AUTO */
    float val_fraction;       /**< the last fraction of the tokens is the validation part;
                                   default 0.1; 0 = none */
    int32_t add_eot;          /**< non-zero (default): the tokenizer's end-of-text (EOS) id ends
                                   each JSONL record */
    const char *text_key;     /**< JSONL field; NULL = "text" */
} llm_dataset_options;

/** Sets struct_size and every default. @since 0.2 */
LLM_API void llm_dataset_options_init(llm_dataset_options *opt);

/**
 * Reads and tokenizes a text or JSONL file once (no special tokens added inside the text).
 * @return LLM_OK, LLM_ERR_IO, LLM_ERR_FORMAT (invalid UTF-8, a line that is not a JSON object, a
 *         missing or non-string field: the message names the file, line and byte), LLM_ERR_ABI,
 *         LLM_ERR_INVALID_ARG (an empty file, a fraction outside [0, 1)), LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_dataset_open(const char *path, const llm_tokenizer *tok,
                                    const llm_dataset_options *opt, llm_dataset **out);

/**
 * A dataset from ids, copied. `mask` (n bytes, or NULL = every token counts) says for each token
 * whether predicting it counts in the loss (mask[i] belongs to the target ids[i]).
 * @return LLM_OK, LLM_ERR_INVALID_ARG (n = 0, a negative id), LLM_ERR_ABI, LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_dataset_from_ids(const int32_t *ids, const uint8_t *mask, size_t n,
                                        const llm_dataset_options *opt, llm_dataset **out);

/** Destroys a dataset. Accepts NULL. @since 0.2 */
LLM_API void llm_dataset_close(llm_dataset *ds);

/** @return the number of tokens in a part (0 for a NULL dataset). @since 0.2 */
LLM_API uint64_t llm_dataset_n_tokens(const llm_dataset *ds, llm_split split);

/** Learning-rate schedules. @since 0.2 */
typedef enum llm_schedule {
    LLM_SCHEDULE_COSINE = 0,    /**< linear warmup to lr, cosine to min_lr at total_steps */
    LLM_SCHEDULE_CONSTANT = 1   /**< linear warmup to lr, then lr */
} llm_schedule;

/** Options of llm_trainer_create(). Initialize with llm_trainer_options_init(). @since 0.2 */
typedef struct llm_trainer_options {
    size_t struct_size;       /**< sizeof(llm_trainer_options), set by _init() */
    uint32_t batch_size;      /**< windows per micro-batch; default 12 */
    uint32_t n_ctx;           /**< positions per window (a window holds n_ctx+1 tokens);
                                   0 = the model's context; larger is LLM_ERR_TOO_LONG */
    uint32_t grad_accum;      /**< micro-batches per optimizer step; default 1 */
    uint32_t n_threads;       /**< 0 = online CPUs; results never depend on it */
    int32_t schedule;         /**< llm_schedule; default COSINE */
    uint32_t warmup_steps;    /**< default 100 */
    uint64_t total_steps;     /**< end of the cosine; default 2000 */
    double lr;                /**< peak learning rate; default 1e-3 */
    double min_lr;            /**< default 1e-4 */
    double beta1;             /**< default 0.9 */
    double beta2;             /**< default 0.99 */
    double eps;               /**< default 1e-8 */
    double weight_decay;      /**< default 0.1 */
    double grad_clip;         /**< max global gradient norm; default 1.0; 0 = no clipping */
    uint64_t seed;            /**< seed of the window sampler; default 0 */
} llm_trainer_options;

/** Sets struct_size and every default. @since 0.2 */
LLM_API void llm_trainer_options_init(llm_trainer_options *opt);

/** A training run over a model: f32 master weights, gradients, AdamW moments. @since 0.2 */
typedef struct llm_trainer llm_trainer;

/**
 * Creates a trainer. Copies the model's weights into f32 (a model opened from f16, bf16 or a
 * quantized file is trained in f32; the model itself is not changed and may be closed).
 * @return LLM_OK, LLM_ERR_INVALID_ARG, LLM_ERR_ABI, LLM_ERR_TOO_LONG (n_ctx above the model's),
 *         LLM_ERR_UNSUPPORTED (not a GPT-2 or Llama decoder), LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_trainer_create(const llm_model *model, const llm_trainer_options *opt,
                                      llm_trainer **out);

/** Destroys a trainer. Accepts NULL. @since 0.2 */
LLM_API void llm_trainer_destroy(llm_trainer *tr);

/** @return the message of the last failed call on `tr` ("" when none). Borrowed. @since 0.2 */
LLM_API const char *llm_trainer_last_error(const llm_trainer *tr);

/** Statistics of one optimizer step. @since 0.2 */
typedef struct llm_train_stats {
    size_t struct_size;       /**< set by the caller: sizeof(llm_train_stats) */
    uint64_t step;            /**< optimizer steps done, this one included (1 after the first) */
    double loss;              /**< mean loss of the step's batch(es), before the update */
    double grad_norm;         /**< global L2 gradient norm before clipping */
    double lr;                /**< learning rate this step used */
    uint64_t tokens;          /**< tokens read by this step (targets, masked or not) */
    double seconds;           /**< wall time of the step */
} llm_train_stats;

/**
 * One optimizer step on grad_accum micro-batches of batch_size random windows of n_ctx+1 tokens
 * from the train part of `ds` (the sampler is seeded by the options and is part of the
 * checkpoint). Each micro-batch's loss is its masked mean; the step's loss and gradient are the
 * average over the micro-batches.
 * @param[out] stats  may be NULL
 * @return LLM_OK; LLM_ERR_INVALID_ARG (a token id outside the model's vocabulary), LLM_ERR_TOO_LONG
 *         (the train part is shorter than n_ctx+1 tokens), LLM_ERR_STATE (a NaN or infinite loss
 *         or gradient: nothing is updated and the message names the step), LLM_ERR_CANCELLED
 *         (nothing is updated; the sampler is as before the call)
 * @since 0.2
 */
LLM_API llm_status llm_trainer_step(llm_trainer *tr, const llm_dataset *ds,
                                    llm_train_stats *stats);

/**
 * One optimizer step on an explicit batch: ids [B][T] with B <= batch_size and 2 <= T <= n_ctx+1,
 * mask [B][T-1] or NULL (see the section's conventions). grad_accum does not apply.
 * @since 0.2
 */
LLM_API llm_status llm_trainer_step_batch(llm_trainer *tr, const int32_t *ids, const uint8_t *mask,
                                          uint32_t B, uint32_t T, llm_train_stats *stats);

/**
 * Loss and gradients of a batch (as llm_trainer_step_batch() takes it) at the current weights,
 * without updating anything. The gradients are then readable with llm_trainer_get_tensor().
 * @param[out] loss  may be NULL
 * @since 0.2
 */
LLM_API llm_status llm_trainer_backward(llm_trainer *tr, const int32_t *ids, const uint8_t *mask,
                                        uint32_t B, uint32_t T, double *loss);

/**
 * Mean loss over a part of `ds`, on deterministic windows: consecutive, non-overlapping windows
 * of n_ctx+1 tokens (each starting where the previous one's last target was) from the start of
 * the part, at most max_windows of them (0 = all). Changes no state.
 * @param[out] loss        mean over every counted target
 * @param[out] n_targets   targets counted (may be NULL)
 * @return LLM_OK, LLM_ERR_TOO_LONG (the part is shorter than 2 tokens), LLM_ERR_CANCELLED
 * @since 0.2
 */
LLM_API llm_status llm_trainer_evaluate(llm_trainer *tr, const llm_dataset *ds, llm_split split,
                                        uint64_t max_windows, double *loss, uint64_t *n_targets);

/** Which array of a trainable tensor. @since 0.2 */
typedef enum llm_tensor_part {
    LLM_TENSOR_WEIGHT = 0,    /**< the f32 master weight */
    LLM_TENSOR_GRAD = 1,      /**< the gradient of the last llm_trainer_backward() (after a step:
                                   the gradient it applied, after clipping) */
    LLM_TENSOR_ADAM_M = 2,    /**< AdamW first moment */
    LLM_TENSOR_ADAM_V = 3     /**< AdamW second moment */
} llm_tensor_part;

/** @return the number of trainable tensors. @since 0.2 */
LLM_API size_t llm_trainer_n_tensors(const llm_trainer *tr);

/**
 * Describes tensor i (0 <= i < llm_trainer_n_tensors()) in GGUF terms.
 * @param[out] name    borrowed, valid while the trainer lives (may be NULL)
 * @param[out] n_dims  1 or 2 (may be NULL)
 * @param[out] ne      ne[0] (fastest), ne[1] (1 for a vector) (may be NULL; 2 entries)
 * @return LLM_OK, LLM_ERR_INVALID_ARG
 * @since 0.2
 */
LLM_API llm_status llm_trainer_tensor_info(const llm_trainer *tr, size_t i, const char **name,
                                           uint32_t *n_dims, int64_t *ne);

/**
 * Copies a part of the tensor named `name` (GGUF name, GGUF element order) into `out`, zstd
 * style: `out` may be NULL (or `cap` too small) to learn the count; `*n_out` is always set.
 * @return LLM_OK, LLM_ERR_INVALID_ARG (unknown name: named in the message),
 *         LLM_ERR_BUFFER_TOO_SMALL
 * @since 0.2
 */
LLM_API llm_status llm_trainer_get_tensor(const llm_trainer *tr, const char *name,
                                          llm_tensor_part part, float *out, size_t cap,
                                          size_t *n_out);

/** Phases reported to the progress callback. @since 0.2 */
typedef enum llm_train_phase {
    LLM_PHASE_STEP = 0,       /**< micro-batches of a step: done of total */
    LLM_PHASE_EVALUATE = 1,   /**< windows of an evaluation */
    LLM_PHASE_SAVE = 2        /**< tensors written of a checkpoint or export */
} llm_train_phase;

/** Progress of long work; return non-zero to cancel it. @since 0.2 */
typedef int (*llm_train_progress_fn)(void *user, llm_train_phase phase, uint64_t done,
                                     uint64_t total);

/** Installs (or with NULL removes) the progress callback, called on the caller's thread. @since 0.2 */
LLM_API void llm_trainer_set_progress(llm_trainer *tr, llm_train_progress_fn fn, void *user);

/**
 * Asks running work on `tr` to stop (step: before the update; evaluate: at the next window).
 * Thread-safe: the one call that may come from another thread or a signal handler. The call that
 * stops returns LLM_ERR_CANCELLED; the flag clears when it does.
 * @since 0.2
 */
LLM_API void llm_trainer_cancel(llm_trainer *tr);

/** Optimizer steps done and tokens read so far (either pointer may be NULL). @since 0.2 */
LLM_API void llm_trainer_position(const llm_trainer *tr, uint64_t *step, uint64_t *tokens);

/**
 * Writes a checkpoint: a GGUF file that llm_model_open() opens as the model (f32 weights,
 * tokenizer, hyper-parameters) and that also holds the AdamW moments, the step, the token count
 * and the sampler's state. Written to a temporary file beside `path` and renamed over it, so a
 * failure (full disk) leaves any previous file at `path` intact. Refuses (LLM_ERR_STATE) when a weight is NaN
 * or infinite.
 * @return LLM_OK, LLM_ERR_IO (names the file and the cause), LLM_ERR_STATE, LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_trainer_save_checkpoint(llm_trainer *tr, const char *path);

/**
 * Restores weights, moments, step, token count and sampler state from a checkpoint of a model
 * with the same tensors. With the same options and dataset, the following steps give the same
 * losses, to the bit, as a run that never stopped. Exact resume: create the model with
 * llm_model_open(path), the trainer over it, then call this.
 * @return LLM_OK, LLM_ERR_IO, LLM_ERR_FORMAT (not a checkpoint, or a tensor that does not match:
 *         named), LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_trainer_load_checkpoint(llm_trainer *tr, const char *path);

/**
 * Exports the current weights as a GGUF model in llama.cpp's conventions for the architecture
 * (its tensor names and metadata keys, the tokenizer in tokenizer.ggml.*). `type` is the GGUF
 * type of the matrices: 0 (F32), 1 (F16) or 8 (Q8_0; a matrix whose rows are not a multiple of 32
 * is stored F16); vectors stay F32. A GPT-2 model without biases is written with zero biases,
 * which compute the same function, because llama.cpp's GPT-2 loader requires them. Written to a
 * temporary file and renamed.
 * @return LLM_OK, LLM_ERR_IO, LLM_ERR_UNSUPPORTED (another type), LLM_ERR_NOMEM
 * @since 0.2
 */
LLM_API llm_status llm_trainer_export(llm_trainer *tr, const char *path, int32_t type);

/**
 * A new model holding a copy of the current weights (f32), for sessions: sample from the model
 * being trained, or compare the training forward pass with inference. Later steps do not change
 * it. Close it with llm_model_close().
 * @since 0.2
 */
LLM_API llm_status llm_trainer_to_model(const llm_trainer *tr, llm_model **out);

#ifdef __cplusplus
}
#endif

#endif /* LLM_LLM_H */
