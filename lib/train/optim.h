/*
 * AdamW as torch.optim.AdamW with torch.nn.utils.clip_grad_norm_, and the learning-rate schedule.
 */
#ifndef LLM_TRAIN_OPTIM_H
#define LLM_TRAIN_OPTIM_H

#include "train/train.h"

/* Global L2 norm of every gradient (summed in float64 in tensor order). */
double llm_train_grad_norm(const llm_trainer *tr);
/* Learning rate of the step with 0-based index `it`. */
double llm_train_lr(const llm_trainer_options *o, uint64_t it);
/* Clips by the norm, then one AdamW update at lr, as step tr->step + 1. */
void llm_train_adamw(llm_trainer *tr, double norm, double lr);

#endif /* LLM_TRAIN_OPTIM_H */
