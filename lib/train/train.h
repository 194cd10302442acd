/*
 * The trainer's internals, shared by the files of lib/train/: the table of trainable tensors,
 * the network views over it (GPT-2 or Llama), the activations a backward pass needs, and the
 * trainer handle itself. Every buffer is allocated in llm_trainer_create(); a step only writes.
 */
#ifndef LLM_TRAIN_TRAIN_H
#define LLM_TRAIN_TRAIN_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/error.h"
#include "model/model.h"
#include "train/grad_ops.h"

/* One trainable tensor: f32 master weight, gradient, AdamW moments (n floats each). */
typedef struct llm_tparam {
    char name[64];
    uint32_t n_dims;         /* 1 or 2 */
    int64_t ne[2];           /* GGUF order: ne[0] fastest; ne[1] = 1 for a vector */
    size_t n;
    bool decay;              /* 2-D: weight decay applies */
    float *w, *g, *m, *v;
} llm_tparam;

typedef struct llm_tlayer {
    llm_tparam *n1_w, *n1_b, *n2_w, *n2_b;      /* attn_norm, ffn_norm (b: GPT-2 with bias) */
    llm_tparam *qkv_w, *qkv_b;                  /* GPT-2 fused (3E, E) */
    llm_tparam *q_w, *k_w, *v_w;                /* Llama (QD, E), (KD, E), (KD, E) */
    llm_tparam *o_w, *o_b;                      /* (E, QD) */
    llm_tparam *up_w, *up_b, *gate_w;           /* (F, E) */
    llm_tparam *down_w, *down_b;                /* (E, F) */
} llm_tlayer;

/* What a layer's backward pass reads, kept by its forward (N = B·S rows). */
typedef struct llm_tacts {
    float *x_in;             /* (N, E) layer input */
    float *h1, *xn1, *r1;    /* LayerNorm xhat (N, E) | unused for RMSNorm; output; rstd (N) */
    float *q, *k, *v;        /* Llama (N, QD), (N, KD), (N, KD) after RoPE; GPT-2: qkv (N, 3E) in q */
    float *P;                /* (B, H, S, S) */
    float *att;              /* (N, QD) */
    float *x_mid;            /* (N, E) after the attention residual */
    float *h2, *xn2, *r2;
    float *f_pre;            /* (N, F) GPT-2: up before GELU; Llama: gate before SiLU */
    float *f_up;             /* (N, F) Llama: up */
    float *f_act;            /* (N, F) input of ffn_down */
} llm_tacts;

struct llm_trainer {
    llm_trainer_options opt;
    struct llm_model *model;          /* retained: metadata, tokenizer and architecture */
    llm_arch arch;
    /* hyper-parameters */
    int64_t E, H, KV, hd, QD, KD, F, V, L, n_ctx_model;
    float eps, rope_base, rope_scale;
    int n_rot;
    bool has_bias, tied;
    /* tensors */
    llm_tparam *p;
    size_t np;
    float *arena;                     /* w | g | m | v of every tensor */
    size_t n_floats;
    llm_tparam *tok, *pos, *onorm_w, *onorm_b, *output;   /* output NULL when tied */
    llm_tlayer *layers;
    /* activations, sized for batch_size windows of S = n_ctx positions */
    int64_t Bmax, S;
    llm_tacts *acts;
    float *act_block;                 /* every buffer below lives in it */
    float *x_out, *hf, *xnf, *rf;     /* final norm */
    float *logits;                    /* (N, V), the gradient after the loss */
    double *nll;                      /* (N) */
    float *row_scale, *row_weight;    /* (N) */
    int32_t *in_ids, *targets;        /* (N) */
    int32_t *pos_ids, *neg_pos;       /* (N) RoPE positions and their negation */
    float *dx, *dn, *dq, *dk, *dv, *datt, *dh, *dg;      /* backward scratch */
    float *attn_scratch;
    int32_t *win_ids;                 /* (Bmax, S+1) */
    uint8_t *win_mask;                /* (Bmax, S) */
    uint8_t *win_has_mask;
    llm_pool *pool;
    /* state */
    uint64_t step, tokens;
    uint64_t rng[4];
    atomic_int cancel;
    llm_train_progress_fn progress;
    void *progress_user;
    llm_error err;
};

/* Forward over B sequences of S positions (ids (B·S)) to logits (B·S, V) in tr->logits. */
void llm_train_forward(llm_trainer *tr, const int32_t *ids, int64_t B, int64_t S);
/* Backward from tr->logits holding dLoss/dlogits; adds every tensor's gradient into g. */
void llm_train_backward(llm_trainer *tr, int64_t B, int64_t S);

/* Sets up the tensor table and the network views from the model (train/params.c). */
llm_status llm_train_bind(llm_trainer *tr, llm_error *err);
llm_tparam *llm_train_find(const llm_trainer *tr, const char *name);

/* A GGUF builder with the model's metadata and the current weights as f32 (train/export.c). */
llm_status llm_train_build_gguf(const llm_trainer *tr, llm_gguf **out, llm_error *err);

/* The random generator of the sampler (xoshiro256**), seeded with splitmix64. */
void llm_train_rng_seed(uint64_t s[4], uint64_t seed);
uint64_t llm_train_rng_next(uint64_t s[4]);

#endif /* LLM_TRAIN_TRAIN_H */
