/*
 * The internal adapter: low-rank pairs (A, B) resolved against one model's matrices. An adapter
 * is opened against a model (it keeps a reference on it), checked against it once — architecture,
 * every base name, every shape — and is immutable afterwards, so any number of sessions on that
 * model may use it at once. Sessions keep references on the adapters attached to them.
 *
 * Both source formats end up as the same thing: llama.cpp's LoRA GGUF (general.type = adapter,
 * adapter.type = lora, adapter.lora.alpha, tensors <base>.lora_a ne [n_in, rank] and
 * <base>.lora_b ne [rank, n_out]) is read as it is; a Hugging Face PEFT folder is converted into
 * such a GGUF in memory (peft.c) and then read by the same code.
 */
#ifndef LLM_ADAPTER_ADAPTER_H
#define LLM_ADAPTER_ADAPTER_H

#include <stdatomic.h>

#include "model/model.h"

typedef struct llm_adapter_mat {
    char *base_name;          /* the model tensor, e.g. "blk.0.attn_q.weight" */
    const void *base_data;    /* its data: the key the forward pass looks up */
    int64_t n_in, n_out;      /* the base matrix is (n_out, n_in) */
    uint32_t rank;
    llm_weight a;             /* (rank, n_in) f32, owned */
    llm_weight b;             /* (n_out, rank) f32, owned */
} llm_adapter_mat;

struct llm_adapter {
    atomic_int refs;
    struct llm_model *model;  /* retained */
    char *path;
    char *name;               /* general.name, or the file name */
    float alpha;              /* adapter.lora.alpha; 0 = scale is the user's scale alone */
    llm_adapter_mat *mats;    /* sorted by base_data */
    size_t n_mats;
    uint32_t rank_max;
    int64_t n_out_max;
};

/* Builds an adapter from an adapter GGUF (read from `what`, a path used in messages). Takes
 * ownership of nothing: A/B are copied (converted to f32). */
llm_status llm_adapter_from_gguf(struct llm_model *m, const llm_gguf *g, const char *what,
                                 struct llm_adapter **out, llm_error *err);

/* A Hugging Face PEFT folder (adapter_config.json + adapter_model.safetensors) as an adapter
 * GGUF in memory, with the model's GGUF tensor names (peft.c). */
llm_status llm_peft_import(const struct llm_model *m, const char *dir, llm_gguf **out,
                           llm_error *err);

void llm_adapter_retain(struct llm_adapter *a);
void llm_adapter_release(struct llm_adapter *a);

/* The scale of an adapter at user scale s: s · alpha / rank (s alone when alpha is 0). */
float llm_adapter_scale(const struct llm_adapter *a, const llm_adapter_mat *mat, float s);

/* The pair for a base matrix, or NULL. */
const llm_adapter_mat *llm_adapter_find(const struct llm_adapter *a, const void *base_data);

#endif /* LLM_ADAPTER_ADAPTER_H */
