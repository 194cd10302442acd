/*
 * The internal model: hyper-parameters read from the file, the tensors bound by the architecture,
 * the tokenizer, and the architecture's operations. A model is immutable after open; sessions
 * hold references on it (SQLite close_v2 style), so it lives until the last one goes.
 *
 * Every model, whether it came from a GGUF file or a Hugging Face directory, is described by an
 * llm_gguf: the Hugging Face reader builds one in memory with llama.cpp's tensor names and
 * metadata keys. Architecture code therefore binds tensors by GGUF names only.
 */
#ifndef LLM_MODEL_MODEL_H
#define LLM_MODEL_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/error.h"
#include "kernels/ops.h"
#include "model/gguf.h"

struct llm_tokenizer;
struct llm_run;
struct llm_lora_table;

typedef enum llm_ffn_kind {
    LLM_FFN_GELU = 0,        /* act(up x) with GELU (tanh), GPT-2 */
    LLM_FFN_GELU_ERF = 1,    /* BERT */
    LLM_FFN_RELU = 2,        /* T5 v1.0 */
    LLM_FFN_SWIGLU = 3,      /* silu(gate x) * up x, Llama */
    LLM_FFN_GEGLU = 4        /* gelu_tanh(gate x) * up x, T5 v1.1 / Flan-T5 */
} llm_ffn_kind;

typedef struct llm_hparams {
    llm_arch arch;
    llm_model_family family;
    uint32_t n_vocab;
    uint32_t n_embd;
    uint32_t n_layer;         /* decoder layers (or encoder layers for encoder-only models) */
    uint32_t n_layer_enc;     /* encoder layers of an encoder-decoder model */
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t head_dim;        /* n_embd / n_head unless the file says otherwise (T5 d_kv) */
    uint32_t n_ff;
    uint32_t n_ctx_train;
    float norm_eps;
    /* llama */
    float rope_freq_base;
    float rope_freq_scale;
    uint32_t n_rot;
    int rope_neox;
    /* bert */
    int32_t pooling;          /* llm_pooling */
    int normalize;            /* 1 when the model asks for L2-normalized embeddings */
    uint32_t n_token_types;
    /* t5 */
    uint32_t rel_buckets;
    uint32_t rel_max_distance;
    int32_t decoder_start_token;
    llm_ffn_kind ffn;
    bool tied_embeddings;     /* output head is token_embd */
} llm_hparams;

/* What an architecture implements. Decoders implement decode; encoders encode; encoder-decoders
 * both (encode fills the run's encoder output, decode cross-attends to it). */
typedef struct llm_arch_ops {
    const char *name;
    llm_arch arch;
    llm_model_family family;
    /* Reads hyper-parameters from metadata and binds every tensor (shape-checked, by name). */
    llm_status (*load)(struct llm_model *m, llm_error *err);
    void (*unload)(struct llm_model *m);
    /* Scratch bytes (activations) for batches of up to n_batch tokens in a context of n_ctx. */
    size_t (*scratch_bytes)(const struct llm_model *m, uint32_t n_ctx, uint32_t n_batch,
                            uint32_t n_threads);
    /* Evaluates n tokens at positions pos0.. with the run's KV cache. logits: (n, V) when
     * all_logits, else (V) for the last token only. */
    llm_status (*decode)(struct llm_run *r, const int32_t *ids, uint32_t n, uint32_t pos0,
                         float *logits, bool all_logits, llm_error *err);
    /* Encodes n_seq packed sequences in one batch: sequence s is ids[seq_start[s] ..
     * seq_start[s+1]) with positions restarting at 0, attending only to itself. Writes hidden
     * (n, n_embd): the last layer's output (after the final norm where the model has one).
     * n = seq_start[n_seq]. An encoder-decoder model (n_seq = 1) also keeps the output in the
     * run (enc_out) for its decoder. */
    llm_status (*encode)(struct llm_run *r, const int32_t *ids, const uint32_t *seq_start,
                         uint32_t n_seq, float *hidden, llm_error *err);
} llm_arch_ops;

/* Task heads on top of an encoder (model/heads.c), bound by name when the file has them:
 *   sequence classification, either the linear head of this project's files on the model's
 *   pooling (cls_head.weight [E, L], cls_head.bias [L]), or llama.cpp's names for Hugging Face's
 *   BertForSequenceClassification: the pooler (cls.weight [E, E], cls.bias: tanh(W h_CLS + b))
 *   and then the classifier (cls.output.weight [E, L], cls.output.bias);
 *   masked-LM (BertForMaskedLM's cls.predictions): mlm.dense.* [E, E], GELU, mlm.norm.*
 *   (LayerNorm), then the token embeddings (tied; mlm.output.weight when untied) and
 *   mlm.output.bias [V].
 * All tensors are f32 here (converted copies where the file has another type), except the
 * tied MLM decoder, which is token_embd itself. */
typedef enum llm_cls_kind {
    LLM_CLS_NONE = 0,
    LLM_CLS_LINEAR = 1,       /* cls_head.* on the model's pooling */
    LLM_CLS_POOLER = 2        /* cls.* (tanh pooler on the CLS row), then cls.output.* */
} llm_cls_kind;

typedef struct llm_heads {
    llm_cls_kind cls;
    uint32_t n_labels;
    int32_t problem;               /* llm_classifier */
    llm_weight pooler;             /* (E, E) */
    const float *pooler_b;         /* (E) */
    llm_weight cls_out;            /* (L, E) */
    const float *cls_out_b;        /* (L) */
    bool mlm;
    llm_weight mlm_dense;          /* (E, E) */
    const float *mlm_dense_b, *mlm_norm_w, *mlm_norm_b;   /* (E) */
    float mlm_eps;
    llm_weight mlm_out;            /* (V, E): token_embd unless untied */
    const float *mlm_out_b;        /* (V) */
} llm_heads;

struct llm_model {
    atomic_int refs;
    llm_heads heads;
    llm_hparams hp;
    const llm_arch_ops *ops;
    void *weights;                 /* the architecture's bound tensors */
    llm_gguf *gguf;                /* owns the tensor memory */
    struct llm_tokenizer *tok;
    char *path;
    void **owned;                  /* converted copies made by the bind helpers */
    size_t n_owned, owned_cap;
    char *chat_template;           /* the model's Jinja chat template, or NULL */
    char *bos_text, *eos_text;     /* BOS/EOS texts given to the template, or NULL */
};

/* Fills chat_template, bos_text and eos_text (lib/template/model_template.c). */
llm_status llm_model_load_chat_template(struct llm_model *m, const char *path, bool dir,
                                        llm_error *err);

/* A KV cache: per layer, K and V of n_ctx positions × kv_dim elements (f32 or f16). */
typedef struct llm_kv_cache {
    int type;                      /* llm_kv_type */
    uint32_t n_layer;
    uint32_t n_ctx;
    uint32_t n_kv_head;
    uint32_t head_dim;
    uint32_t kv_dim;               /* n_kv_head * head_dim */
    void **k;                      /* [n_layer] -> (n_kv_head, n_ctx, head_dim): see kv_cache.h */
    void **v;
} llm_kv_cache;

/* Everything a forward pass needs from its session. */
typedef struct llm_run {
    const struct llm_model *m;
    llm_compute comp;
    llm_kv_cache *kv;              /* decoder self-attention cache */
    void *act;                     /* activation scratch, scratch_bytes() large, 64-byte aligned */
    size_t act_bytes;
    uint32_t n_ctx;
    uint32_t n_batch;
    /* encoder-decoder: the encoder output (n_enc, n_embd) and the cross-attention K/V computed
     * from it once per input, per decoder layer (n_enc, n_head*head_dim). */
    float *enc_out;
    uint32_t n_enc;
    uint32_t n_enc_cap;
    float **cross_k;
    float **cross_v;
    bool cross_ready;
    /* low-rank adapters the session attached (adapter/lora_apply.h), or NULL: products go
     * through llm_run_matmul, which adds their terms to the base product */
    const struct llm_lora_table *lora;
} llm_run;

/* Reference counting: sessions retain the model they run; the last release frees it. */
void llm_model_retain(struct llm_model *m);
void llm_model_release(struct llm_model *m);

/* A model over a GGUF built in memory (taken over, closed on failure too); `name` stands in for
 * the path in messages. */
llm_status llm_model_from_gguf(llm_gguf *g, const char *name, struct llm_model **out,
                               llm_error *err);

/* Registry of architectures (lib/arch/). NULL for an unknown name. */
const llm_arch_ops *llm_arch_find(const char *name);

/* Bind helper: finds `name` in the file, checks its type is usable and its shape is
 * (cols, rows) in GGUF order, and fills w. Names the tensor and both shapes on mismatch. */
llm_status llm_model_bind(struct llm_model *m, llm_weight *w, const char *name, int64_t cols,
                          int64_t rows, llm_error *err);
/* Same for a 1-D vector of n elements (norm weights, biases): *out points at f32 data (the
 * file's own when it is f32, else a converted copy the model owns). */
llm_status llm_model_bind_vec(struct llm_model *m, const float **out, const char *name,
                              int64_t n, llm_error *err);
/* A model-owned f32 copy of any tensor (dequantized), for small tables such as T5's relative
 * attention bias. n = element count expected. */
llm_status llm_model_bind_f32(struct llm_model *m, const float **out, const char *name,
                              int64_t n, llm_error *err);
/* Binds the task heads a model file carries (model/heads.c); nothing when it has none. */
llm_status llm_model_bind_heads(struct llm_model *m, llm_error *err);

/* True when the tensor exists. */
bool llm_model_has(const struct llm_model *m, const char *name);

#endif /* LLM_MODEL_MODEL_H */
