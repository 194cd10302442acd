/* A tokenized corpus: ids, an optional per-token loss mask, and the train/validation boundary. */
#ifndef LLM_TRAIN_DATASET_H
#define LLM_TRAIN_DATASET_H

#include <stdint.h>

struct llm_dataset {
    int32_t *ids;        /* (n) */
    uint8_t *mask;       /* (n) or NULL: mask[i] says whether predicting ids[i] counts */
    uint64_t n;
    uint64_t n_train;    /* the train part is [0, n_train), validation [n_train, n) */
};

#endif /* LLM_TRAIN_DATASET_H */
