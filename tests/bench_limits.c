/*
 * How fast and how small the refusal of a hostile file is: for tests/hostile/ files, each case
 * runs in a fresh child process and reports the wall time of the refused call and the child's
 * peak resident memory, next to a child that does nothing (the baseline of a forked process).
 *   bench_limits HOSTILE_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <llm/llm.h>

#include "common/alloc.h"
#include "common/error.h"
#include "tokenizer/tokenizer.h"

static const char *dir;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int nothing(void)
{
    return LLM_ERR_LIMIT;
}

static int open_refused(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/normalizer_replace_chain.json", dir);
    llm_tokenizer *t = NULL;
    llm_status st = llm_tokenizer_open(path, &t);
    llm_tokenizer_close(t);
    return st;
}

static int encode_refused(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/normalizer_replace_chain.json", dir);
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    struct llm_tokenizer *t = NULL;
    llm_error err;
    llm_error_clear(&err);
    if (llm_tokenizer_from_hf_json(buf, n, NULL, &t, &err) != LLM_OK)
        return -1;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    llm_status st = llm_tokenizer_encode_alloc(t, "hello world", 11, 0, &ids, NULL, &n_ids, &err);
    llm_mem_free(ids);
    llm_tokenizer_free(t);
    return st;
}

/* Runs fn in a child; prints its time and peak RSS. */
static int measure(const char *name, int (*fn)(void))
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        double t0 = now();
        int st = fn();
        double dt = now() - t0;
        if (write(pipefd[1], &dt, sizeof dt) != sizeof dt)
            _exit(2);
        _exit(st == LLM_ERR_LIMIT ? 0 : 1);
    }
    double dt = 0;
    if (read(pipefd[0], &dt, sizeof dt) != sizeof dt)
        dt = -1;
    close(pipefd[0]);
    close(pipefd[1]);
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("%-38s %s  %8.3f ms  peak RSS %6.2f MB\n", name, ok ? "LLM_ERR_LIMIT" : "NOT REFUSED",
           dt * 1e3, (double)ru.ru_maxrss / 1024.0);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_limits HOSTILE_DIR\n");
        return 2;
    }
    dir = argv[1];
    int bad = 0;
    bad |= measure("baseline (a forked child)", nothing);
    bad |= measure("open (llm_tokenizer_open)", open_refused);
    bad |= measure("encode \"hello world\" (no open check)", encode_refused);
    return bad;
}
