/*
 * The session thread pool: n_threads − 1 workers plus the calling thread. llm_pool_run hands out
 * the indices of one job through an atomic counter; every index runs exactly once, and which
 * thread runs it never changes the result, because ops partition work by outputs only.
 * Between jobs a worker first polls for the next one for a short while (LLM_POOL_SPIN_NS), then
 * sleeps on a condition variable, so an idle session costs nothing. The short poll matters while
 * generating: a token runs about fifty small matrix-vector products back to back, each shorter
 * than the time a sleeping thread takes to wake up, and without it the second thread would
 * mostly arrive after the work is done. The caller polls for the end of a job the same way.
 * With a host parallel_for, jobs go to the host instead and no thread is created.
 *
 * Not here: work stealing, affinity, nested jobs (an op never starts a job from inside a job).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "kernels/ops.h"

#define LLM_POOL_MAX_THREADS 256
#define LLM_POOL_SPIN_NS 200000 /* 0.2 ms: longer than a small matmul, short enough to be idle */

struct llm_pool {
    uint32_t n_threads;
    llm_parallel_for_fn host_fn;
    void *host;

    pthread_mutex_t mu;
    pthread_cond_t wake;     /* workers wait for a new generation */
    pthread_cond_t done;     /* the caller waits for the last index */
    _Atomic uint64_t generation; /* written under mu; polled without it */
    atomic_int stop;

    void (*fn)(void *ctx, uint32_t i);
    void *ctx;
    uint32_t n;
    atomic_uint next;        /* next index to hand out */
    atomic_uint finished;    /* indices completed (written under mu) */
    atomic_uint active;      /* workers inside drain() (written under mu); the caller waits for
                              * 0 so that no worker still reads this job when the next starts */
    uint32_t n_workers;
    pthread_t *workers;
};

/* Runs indices of the current job until none are left; returns how many it ran. */
static uint32_t drain(llm_pool *p)
{
    uint32_t ran = 0;
    for (;;) {
        const uint32_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n)
            return ran;
        p->fn(p->ctx, i);
        ran++;
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Polls `cond(p, arg)` for up to LLM_POOL_SPIN_NS; true when it became true. */
static int spin_until(llm_pool *p, int (*cond)(llm_pool *, uint64_t), uint64_t arg)
{
    const int64_t deadline = now_ns() + LLM_POOL_SPIN_NS;
    for (int i = 0;; i++) {
        if (cond(p, arg))
            return 1;
        if ((i & 63) == 63 && now_ns() > deadline)
            return 0;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static int new_job_or_stop(llm_pool *p, uint64_t seen)
{
    return atomic_load(&p->stop) || atomic_load(&p->generation) != seen;
}

static int job_done(llm_pool *p, uint64_t n)
{
    return atomic_load(&p->finished) >= n && atomic_load(&p->active) == 0;
}

static void *worker_main(void *arg)
{
    llm_pool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (!p->stop && p->generation == seen) {
            pthread_mutex_unlock(&p->mu);
            spin_until(p, new_job_or_stop, seen);
            pthread_mutex_lock(&p->mu);
        }
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->generation;
        p->active++;
        pthread_mutex_unlock(&p->mu);
        const uint32_t ran = drain(p);
        pthread_mutex_lock(&p->mu);
        p->finished += ran;
        p->active--;
        if (p->active == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

llm_pool *llm_pool_create(uint32_t n_threads, llm_parallel_for_fn host_fn, void *host)
{
    if (n_threads == 0) {
        const long online = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = online > 0 ? (uint32_t)online : 1;
    }
    if (n_threads > LLM_POOL_MAX_THREADS)
        n_threads = LLM_POOL_MAX_THREADS;
    llm_pool *p = llm_calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->n_threads = n_threads;
    p->host_fn = host_fn;
    p->host = host;
    atomic_init(&p->next, 0);
    if (host_fn != NULL || n_threads == 1)
        return p;

    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        llm_mem_free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        llm_mem_free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        llm_mem_free(p);
        return NULL;
    }
    p->workers = llm_calloc(n_threads - 1, sizeof *p->workers);
    if (p->workers == NULL) {
        llm_pool_destroy(p);
        return NULL;
    }
    for (uint32_t i = 0; i + 1 < n_threads; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
            llm_pool_destroy(p); /* joins the ones already started */
            return NULL;
        }
        p->n_workers++;
    }
    return p;
}

void llm_pool_destroy(llm_pool *p)
{
    if (p == NULL)
        return;
    if (p->host_fn == NULL && p->n_threads > 1) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (uint32_t i = 0; i < p->n_workers; i++)
            pthread_join(p->workers[i], NULL);
        llm_mem_free(p->workers);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
    }
    llm_mem_free(p);
}

uint32_t llm_pool_threads(const llm_pool *p)
{
    return p == NULL ? 1 : p->n_threads;
}

void llm_pool_run(llm_pool *p, void (*fn)(void *ctx, uint32_t i), void *ctx, uint32_t n)
{
    if (n == 0)
        return;
    if (p != NULL && p->host_fn != NULL) {
        p->host_fn(p->host, fn, ctx, n);
        return;
    }
    if (p == NULL || p->n_workers == 0 || n == 1) {
        for (uint32_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) /* a late worker may still be leaving the previous job */
        pthread_cond_wait(&p->done, &p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->finished = 0;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    const uint32_t ran = drain(p);

    pthread_mutex_lock(&p->mu);
    p->finished += ran;
    if (p->finished < p->n || p->active > 0) {
        pthread_mutex_unlock(&p->mu);
        spin_until(p, job_done, n);
        pthread_mutex_lock(&p->mu);
    }
    while (p->finished < p->n || p->active > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
