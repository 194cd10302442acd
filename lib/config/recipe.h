/*
 * The internal form of a training recipe (recipe.c parses it, recipe_run.c runs it). Every key
 * of docs/TRAINING.md is a field here; `keys` in recipe.c maps the dotted names onto them.
 */
#ifndef LLM_CONFIG_RECIPE_H
#define LLM_CONFIG_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llm/llm.h>

#define LLM_RECIPE_MAX_KEYS 64

/* The values of the trainer's llm_dataset_format and llm_schedule (pinned in <llm/llm.h>). */
enum { LLM_RECIPE_FORMAT_AUTO = 0, LLM_RECIPE_FORMAT_TEXT = 1, LLM_RECIPE_FORMAT_JSONL = 2 };
enum { LLM_RECIPE_SCHEDULE_COSINE = 0, LLM_RECIPE_SCHEDULE_CONSTANT = 1 };

struct llm_recipe {
    char *path;              /* the recipe file, as given */
    char *dir;               /* its folder: relative paths in the recipe start here */
    /* model: a new one ... */
    int32_t arch;            /* LLM_ARCH_GPT2 / LLM_ARCH_LLAMA */
    int64_t n_layer, n_embd, n_head, n_head_kv, n_ff, n_ctx;
    bool bias, tied_output;
    double norm_eps, rope_theta;
    char *tokenizer;         /* "bytes" or a path */
    char *name;
    /* ... or one from a file */
    char *from;
    /* data */
    char *data_path;
    int32_t data_format;     /* llm_dataset_format */
    double val_fraction;
    char *text_key;
    bool add_eot;
    /* optimizer and schedule */
    double lr, min_lr, beta1, beta2, eps, weight_decay, grad_clip;
    int32_t schedule;        /* llm_schedule */
    int64_t warmup_steps;
    /* the run */
    int64_t steps, batch_size, grad_accum, context;
    int64_t eval_interval, eval_windows, log_interval;
    char *checkpoint_dir;
    int64_t checkpoint_interval;
    int64_t seed, threads;
    char *export_path;
    int32_t export_type;     /* GGUF type: 0 F32, 1 F16, 8 Q8_0 */
    /* where each key was set: line in the file, 0 = default, -1 = llm_recipe_set() */
    int32_t line[LLM_RECIPE_MAX_KEYS];
};

/* An input path of the recipe resolved against its folder (absolute paths unchanged);
 * malloc'ed. */
char *llm_recipe_resolve(const struct llm_recipe *r, const char *path);

/* "FILE:LINE: " where `key` was set ("FILE: " for a default, "--set KEY: " for an override). */
void llm_recipe_where(const struct llm_recipe *r, const char *key, char *buf, size_t cap);

#endif /* LLM_CONFIG_RECIPE_H */
