/*
 * The optimizer, exactly as ../shared/data/train/README.md states the reference convention:
 *   clip:   g *= min(1, max_norm / (norm + 1e-6))              (clip_grad_norm_)
 *   decay:  w *= 1 - lr·wd on 2-D tensors only
 *   moments m = b1·m + (1-b1)·g,  v = b2·v + (1-b2)·g²
 *   update  w -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * Each element is computed in float64 and stored as float32; the order of the elements never
 * matters (each is independent), so threads could split this freely, but it is cheap next to the
 * backward pass and runs on the calling thread.
 *
 * Schedule (it = 0-based step): it < warmup: lr·(it+1)/warmup; then a cosine from lr down to
 * min_lr over total_steps − warmup steps (min_lr from total_steps on); LLM_SCHEDULE_CONSTANT
 * keeps lr after the warmup.
 */
#include "train/optim.h"

#include <math.h>

double llm_train_grad_norm(const llm_trainer *tr)
{
    double ss = 0.0;
    for (size_t i = 0; i < tr->np; i++) {
        const llm_tparam *p = &tr->p[i];
        for (size_t k = 0; k < p->n; k++)
            ss += (double)p->g[k] * p->g[k];
    }
    return sqrt(ss);
}

double llm_train_lr(const llm_trainer_options *o, uint64_t it)
{
    if (it < o->warmup_steps)
        return o->lr * (double)(it + 1) / (double)o->warmup_steps;
    if (o->schedule == LLM_SCHEDULE_CONSTANT)
        return o->lr;
    if (it >= o->total_steps || o->total_steps <= o->warmup_steps)
        return o->min_lr;
    const double ratio = (double)(it - o->warmup_steps) / (double)(o->total_steps - o->warmup_steps);
    const double coeff = 0.5 * (1.0 + cos(M_PI * ratio));
    return o->min_lr + coeff * (o->lr - o->min_lr);
}

void llm_train_adamw(llm_trainer *tr, double norm, double lr)
{
    const llm_trainer_options *o = &tr->opt;
    double clip = 1.0;
    if (o->grad_clip > 0) {
        clip = o->grad_clip / (norm + 1e-6);
        if (clip > 1.0)
            clip = 1.0;
    }
    const double t = (double)(tr->step + 1);
    const double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
    const double step_size = lr / bc1, bc2_sqrt = sqrt(bc2);
    const double b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    const double decay = 1.0 - lr * o->weight_decay;
    for (size_t i = 0; i < tr->np; i++) {
        llm_tparam *p = &tr->p[i];
        for (size_t k = 0; k < p->n; k++) {
            const double g = (double)(float)((double)p->g[k] * clip);
            p->g[k] = (float)g;
            double w = p->w[k];
            if (p->decay)
                w *= decay;
            const double m = b1 * p->m[k] + (1.0 - b1) * g;
            const double v = b2 * p->v[k] + (1.0 - b2) * g * g;
            p->m[k] = (float)m;
            p->v[k] = (float)v;
            w -= step_size * m / (sqrt(v) / bc2_sqrt + eps);
            p->w[k] = (float)w;
        }
    }
}
