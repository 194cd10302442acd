/*
 * `llm embed`: sentence embeddings (or token vectors with --pooling none) of texts, lines of a
 * file or one sequence of ids, as TSV, JSON or raw float32. Also `llm bench embed`
 * (llm_bench_embed): embedding throughput in sentences/s and tokens/s, with the FLOP rate
 * compared against this machine's measured FMA peak.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_lora.h"

#define CMD "embed"

static void embed_help(FILE *f)
{
    fprintf(f,
            "usage: llm embed -m MODEL [options] [-f LINES.txt | TEXT...]\n"
            "\n"
            "Embeds each text (each non-empty line of -f) with the model's tokenizer and pooling.\n"
            "\n"
            "options:\n"
            "  -m, --model PATH        GGUF file or Hugging Face directory (required)\n"
            "  --pooling KIND          mean | cls | last | max | none (default: the model's)\n"
            "  --normalize             L2-normalize the vectors\n"
            "  --no-normalize          do not (default: what the model asks for)\n"
            "  --prompt-ids \"ID ...\"   embed one sequence of ids exactly as given\n"
            "  -f, --file PATH         texts, one per line\n"
            "  --truncate              cut texts longer than the model's context\n"
            "  --no-special            do not add [CLS]/[SEP]\n"
            "  --format tsv|json       output format (default tsv: one vector per line)\n"
            "  -o, --output PATH       write raw little-endian float32 [n][dim] instead\n"
            "  -t, --threads N         threads (default: all CPUs)\n"
            "  -b, --batch N           tokens per batch (default 512)\n"
            "  --lora FILE[:SCALE]     attach a LoRA adapter (adapter GGUF or PEFT folder) at\n"
            "                          SCALE (default 1); repeatable\n"
            "\n"
            "With --pooling none every token gets a vector: TSV lines are then\n"
            "'INPUT<TAB>POSITION<TAB>ID<TAB>values...'.\n");
}

static bool parse_pooling(const char *s, int *out)
{
    static const struct {
        const char *name;
        int value;
    } kinds[] = {{"mean", LLM_POOLING_MEAN}, {"cls", LLM_POOLING_CLS},
                 {"last", LLM_POOLING_LAST}, {"max", LLM_POOLING_MAX},
                 {"none", LLM_POOLING_NONE}, {"model", LLM_POOLING_MODEL}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].value;
            return true;
        }
    return false;
}

static const char *pooling_name(int p)
{
    switch (p) {
    case LLM_POOLING_NONE: return "none";
    case LLM_POOLING_MEAN: return "mean";
    case LLM_POOLING_CLS: return "cls";
    case LLM_POOLING_LAST: return "last";
    case LLM_POOLING_MAX: return "max";
    default: return "model";
    }
}

/* Splits a file into its non-empty lines (trailing \r removed), in place. */
static char **split_lines(char *buf, size_t *n_out)
{
    size_t cap = 64, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    char *p = buf;
    while (lines && *p) {
        char *nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        char *next = nl ? nl + 1 : end;
        if (end > p && end[-1] == '\r')
            end--;
        *end = '\0';
        if (*p) {
            if (n == cap) {
                cap *= 2;
                char **nb = realloc(lines, cap * sizeof *lines);
                if (!nb) {
                    free(lines);
                    return NULL;
                }
                lines = nb;
            }
            lines[n++] = p;
        }
        p = next;
    }
    *n_out = n;
    return lines;
}

/* A JSON string literal (RFC 8259 escapes). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void print_vector(FILE *f, const float *v, size_t dim, bool json)
{
    for (size_t i = 0; i < dim; i++) {
        if (json)
            fprintf(f, "%s%.9g", i ? ", " : "[", v[i]);
        else
            fprintf(f, "%s%.9g", i ? "\t" : "", v[i]);
    }
    fputs(json ? "]" : "\n", f);
}

enum {
    OPT_POOLING = LLM_CLI_LONG_ONLY,
    OPT_NORMALIZE,
    OPT_NO_NORMALIZE,
    OPT_PROMPT_IDS,
    OPT_TRUNCATE,
    OPT_NO_SPECIAL,
    OPT_FORMAT,
    OPT_SECONDS,
};

const llm_cli_opt llm_embed_opts[] = {
    LLM_CLI_OPT_MODEL,
    {OPT_POOLING, "pooling", LLM_CLI_WORDS, "mean cls last max none model"},
    {OPT_NORMALIZE, "normalize", LLM_CLI_FLAG, NULL},
    {OPT_NO_NORMALIZE, "no-normalize", LLM_CLI_FLAG, NULL},
    {OPT_PROMPT_IDS, "prompt-ids", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_FILE,
    {OPT_TRUNCATE, "truncate", LLM_CLI_FLAG, NULL},
    {OPT_NO_SPECIAL, "no-special", LLM_CLI_FLAG, NULL},
    {OPT_FORMAT, "format", LLM_CLI_WORDS, "tsv json"},
    LLM_CLI_OPT_OUTPUT,
    LLM_CLI_OPT_THREADS,
    {'b', "batch", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_LORA,
    LLM_CLI_OPT_END,
};

typedef struct embed_args {
    const char *model, *file, *out, *prompt_ids, *format;
    int pooling, normalize, truncate, add_special;
    int64_t threads, batch;
    char **texts;
    size_t n_texts;
    llm_cli_loras lora;
} embed_args;

static int parse_args(int argc, char **argv, embed_args *a)
{
    memset(a, 0, sizeof *a);
    a->pooling = LLM_POOLING_MODEL;
    a->normalize = -1;
    a->add_special = 1;
    a->format = "tsv";
    a->texts = calloc((size_t)argc + 1, sizeof *a->texts);
    if (!a->texts)
        return llm_cli_fail(CMD, LLM_ERR_NOMEM, "arguments");
    llm_cli_parser p;
    llm_cli_parser_init(&p, CMD, llm_embed_opts, argc, argv);
    int c, rc = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: embed_help(stdout); return -1;
        case LLM_CLI_POSITIONAL: a->texts[a->n_texts++] = (char *)p.arg; break;
        case 'm': a->model = p.arg; break;
        case 'f': a->file = p.arg; break;
        case 'o': a->out = p.arg; break;
        case OPT_PROMPT_IDS: a->prompt_ids = p.arg; break;
        case OPT_FORMAT:
            if (strcmp(p.arg, "tsv") != 0 && strcmp(p.arg, "json") != 0)
                return llm_cli_usage(CMD, "--format must be tsv or json, not '%s'", p.arg);
            a->format = p.arg;
            break;
        case OPT_POOLING:
            if (!parse_pooling(p.arg, &a->pooling))
                return llm_cli_usage(CMD, "--pooling must be mean, cls, last, max or none, not "
                                          "'%s'", p.arg);
            break;
        case OPT_NORMALIZE: a->normalize = 1; break;
        case OPT_NO_NORMALIZE: a->normalize = 0; break;
        case OPT_TRUNCATE: a->truncate = 1; break;
        case OPT_NO_SPECIAL: a->add_special = 0; break;
        case 't': rc = llm_cli_value_threads(&p, &a->threads); break;
        case 'b': rc = llm_cli_value_i64(&p, 1, 1 << 20, &a->batch); break;
        case LLM_CLI_LORA_ID: rc = llm_cli_lora_arg(&a->lora, &p); break;
        default: return llm_cli_usage(CMD, "unhandled option %s", p.spelled);
        }
    }
    if (rc)
        return rc;
    if (!a->model)
        return llm_cli_usage(CMD, "-m MODEL is required");
    int sources = (a->file != NULL) + (a->prompt_ids != NULL) + (a->n_texts > 0);
    if (sources != 1)
        return llm_cli_usage(CMD, "give exactly one input: TEXT..., -f LINES.txt or "
                                  "--prompt-ids");
    return 0;
}

static llm_status open_session(const embed_args *a, llm_model **m, llm_session **s)
{
    llm_status st = llm_model_open(a->model, NULL, m);
    if (st != LLM_OK)
        return st;
    llm_session_options so;
    llm_session_options_init(&so);
    so.n_threads = (uint32_t)a->threads;
    so.n_batch = (uint32_t)a->batch;
    st = llm_session_create(*m, &so, s);
    if (st != LLM_OK) {
        llm_model_close(*m);
        *m = NULL;
    }
    return st;
}

/* Writes rows [n][dim] to the output the arguments chose. */
static int write_rows(const embed_args *a, const float *rows, size_t n, size_t dim,
                      const llm_embed_result *res, char **texts)
{
    if (a->out) {
        FILE *f = fopen(a->out, "wb");
        if (!f || fwrite(rows, sizeof(float), n * dim, f) != n * dim || fclose(f) != 0) {
            fprintf(stderr, "llm %s: cannot write '%s'\n", CMD, a->out);
            return 1;
        }
        fprintf(stderr, "llm %s: wrote %zu x %zu float32 to %s (pooling %s%s)\n", CMD, n, dim,
                a->out, pooling_name(res->pooling), res->normalized ? ", normalized" : "");
        return 0;
    }
    if (strcmp(a->format, "json") == 0) {
        printf("{\"dim\": %zu, \"pooling\": \"%s\", \"normalized\": %s, \"n_tokens\": %llu,\n"
               " \"embeddings\": [\n",
               dim, pooling_name(res->pooling), res->normalized ? "true" : "false",
               (unsigned long long)res->n_tokens);
        for (size_t i = 0; i < n; i++) {
            printf("  {");
            if (texts) {
                printf("\"text\": ");
                json_string(stdout, texts[i]);
                printf(", ");
            }
            printf("\"embedding\": ");
            print_vector(stdout, rows + i * dim, dim, true);
            printf("}%s\n", i + 1 < n ? "," : "");
        }
        printf(" ]}\n");
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        print_vector(stdout, rows + i * dim, dim, false);
    return 0;
}

/* Token vectors (pooling none) of one sequence of ids, printed as rows of input `index`. */
static int emit_tokens(const embed_args *a, llm_session *s, const int32_t *ids, size_t n,
                       size_t index, size_t dim, FILE *raw, bool *first, size_t *rows)
{
    llm_embed_options o;
    llm_embed_options_init(&o);
    o.pooling = LLM_POOLING_NONE;
    o.normalize = a->normalize;
    o.truncate = a->truncate;
    llm_embed_result res = {.struct_size = sizeof res};
    float *v = malloc(n * dim * sizeof(float));
    if (!v)
        return llm_cli_fail(CMD, LLM_ERR_NOMEM, "token vectors");
    llm_status st = llm_session_embed_ids(s, ids, n, &o, v, n * dim, &res);
    if (st != LLM_OK) {
        free(v);
        fprintf(stderr, "llm %s: input %zu: %s: %s\n", CMD, index, llm_status_string(st),
                llm_session_last_error(s));
        return 1;
    }
    n = (size_t)res.n_tokens;
    *rows += n;
    if (raw) {
        if (fwrite(v, sizeof(float), n * dim, raw) != n * dim) {
            free(v);
            fprintf(stderr, "llm %s: cannot write '%s'\n", CMD, a->out);
            return 1;
        }
    } else if (strcmp(a->format, "json") == 0) {
        printf("%s  {\"input\": %zu, \"ids\": [", *first ? "" : ",\n", index);
        for (size_t t = 0; t < n; t++)
            printf("%s%d", t ? ", " : "", ids[t]);
        printf("], \"tokens\": [");
        for (size_t t = 0; t < n; t++) {
            printf("%s", t ? ", " : "");
            print_vector(stdout, v + t * dim, dim, true);
        }
        printf("]}");
    } else {
        for (size_t t = 0; t < n; t++) {
            printf("%zu\t%zu\t%d\t", index, t, ids[t]);
            print_vector(stdout, v + t * dim, dim, false);
        }
    }
    *first = false;
    free(v);
    return 0;
}

static int run_embed(const embed_args *a, llm_model *m, llm_session *s, char **texts, size_t n)
{
    const size_t dim = llm_model_embedding_dim(m);
    llm_embed_options o;
    llm_embed_options_init(&o);
    o.pooling = a->pooling;
    o.normalize = a->normalize;
    o.truncate = a->truncate;
    o.add_special = a->add_special;

    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (a->prompt_ids && !llm_cli_parse_ids(a->prompt_ids, &ids, &n_ids))
        return llm_cli_usage(CMD, "--prompt-ids: not a list of ids: '%s'", a->prompt_ids);

    /* Pooling none: one row per token of each input. */
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    int resolved = a->pooling == LLM_POOLING_MODEL ? info.pooling : a->pooling;
    /* token vectors of an encoder, or of the encoder half of an encoder-decoder */
    if (resolved == LLM_POOLING_NONE && info.family != LLM_FAMILY_DECODER) {
        FILE *raw = a->out ? fopen(a->out, "wb") : NULL;
        if (a->out && !raw) {
            free(ids);
            fprintf(stderr, "llm %s: cannot write '%s'\n", CMD, a->out);
            return 1;
        }
        bool json = !raw && strcmp(a->format, "json") == 0, first = true;
        size_t rows = 0;
        if (json)
            printf("{\"dim\": %zu, \"pooling\": \"none\", \"inputs\": [\n", dim);
        int rc = 0;
        if (ids) {
            rc = emit_tokens(a, s, ids, n_ids, 0, dim, raw, &first, &rows);
        } else {
            const llm_tokenizer *tok = llm_model_tokenizer(m);
            for (size_t i = 0; i < n && rc == 0; i++) {
                size_t cnt = 0;
                uint32_t fl = a->add_special ? LLM_ENCODE_ADD_SPECIAL : 0;
                llm_tokenizer_encode(tok, texts[i], strlen(texts[i]), fl, NULL, 0, &cnt);
                int32_t *t = malloc((cnt + 1) * sizeof *t);
                llm_status st = t ? llm_tokenizer_encode(tok, texts[i], strlen(texts[i]), fl, t,
                                                         cnt + 1, &cnt)
                                  : LLM_ERR_NOMEM;
                rc = st == LLM_OK ? emit_tokens(a, s, t, cnt, i, dim, raw, &first, &rows)
                                  : llm_cli_fail(CMD, st, "tokenizing input %zu", i);
                free(t);
            }
        }
        if (json)
            printf("\n]}\n");
        if (raw && fclose(raw) != 0)
            rc = llm_cli_fail(CMD, LLM_ERR_IO, "writing %s", a->out);
        else if (raw && rc == 0)
            fprintf(stderr, "llm %s: wrote %zu x %zu float32 to %s (pooling none: one vector per "
                            "token)\n", CMD, rows, dim, a->out);
        free(ids);
        return rc;
    }

    llm_embed_result res = {.struct_size = sizeof res};
    size_t rows = ids ? 1 : n;
    float *out = malloc((rows ? rows : 1) * dim * sizeof(float));
    if (!out) {
        free(ids);
        return llm_cli_fail(CMD, LLM_ERR_NOMEM, "allocating %zu embeddings", rows);
    }
    llm_status st = ids ? llm_session_embed_ids(s, ids, n_ids, &o, out, dim, &res)
                        : llm_session_embed(s, (const char *const *)texts, n, &o, out, n * dim,
                                            &res);
    free(ids);
    if (st != LLM_OK) {
        free(out);
        fprintf(stderr, "llm %s: %s: %s\n", CMD, llm_status_string(st),
                llm_session_last_error(s));
        return 1;
    }
    int rc = write_rows(a, out, rows, dim, &res, a->prompt_ids ? NULL : texts);
    free(out);
    return rc;
}

int llm_cmd_embed(int argc, char **argv)
{
    embed_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        free(a.texts);
        llm_cli_lora_free(&a.lora);
        return rc < 0 ? 0 : rc;
    }
    char *buf = NULL;
    char **lines = NULL;
    char **texts = a.texts;
    size_t n = a.n_texts;
    if (a.file) {
        size_t len = 0;
        buf = llm_cli_read_file(a.file, &len);
        if (!buf) {
            free(a.texts);
            llm_cli_lora_free(&a.lora);
            fprintf(stderr, "llm %s: cannot read '%s'\n", CMD, a.file);
            return 1;
        }
        lines = split_lines(buf, &n);
        texts = lines;
    }
    llm_model *m = NULL;
    llm_session *s = NULL;
    llm_status st = open_session(&a, &m, &s);
    if (st != LLM_OK)
        rc = llm_cli_fail(CMD, st, "opening '%s'", a.model);
    else
        rc = llm_cli_lora_open(&a.lora, CMD, m, s);
    if (st == LLM_OK && rc == 0)
        rc = run_embed(&a, m, s, texts, n);
    llm_session_destroy(s);
    llm_cli_lora_free(&a.lora);
    llm_model_close(m);
    free(lines);
    free(buf);
    free(a.texts);
    return rc;
}

// ------------------------------------------------------------------------------------------------
// llm bench embed
// ------------------------------------------------------------------------------------------------

/* FMA peak: every thread runs independent chains of fused multiply-adds (enough to cover the
 * FMA latency on two pipes) for a fixed time; the rate is the sum over threads. Uses 8-wide AVX2
 * FMA where the CPU has it, otherwise whatever the compiler makes of 4-wide vectors. */
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

static volatile float peak_sink;


/* Twelve named accumulators (not an array) so that they stay in registers. */
#define PEAK_CHAINS 12
#define PEAK_ITERS 4000000
#define PEAK_ALL(STEP)                                                                             \
    STEP(c0); STEP(c1); STEP(c2); STEP(c3); STEP(c4); STEP(c5);                                    \
    STEP(c6); STEP(c7); STEP(c8); STEP(c9); STEP(c10); STEP(c11)

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static double fma_loop_avx2(uint64_t iters)
{
    const v8f a = {1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f,
                   1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f};
    const v8f b = {1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f};
    /* distinct starting values, or the compiler folds identical chains into one */
    v8f c0 = b * 1, c1 = b * 2, c2 = b * 3, c3 = b * 4, c4 = b * 5, c5 = b * 6, c6 = b * 7,
        c7 = b * 8, c8 = b * 9, c9 = b * 10, c10 = b * 11, c11 = b * 12;
#define FMA8(x) x = __builtin_ia32_vfmaddps256(x, a, b)
    for (uint64_t i = 0; i < iters; i++) {
        PEAK_ALL(FMA8);
    }
#undef FMA8
    v8f t = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    peak_sink = t[0] + t[7];
    return (double)iters * PEAK_CHAINS * 8 * 2;
}
#endif

static double fma_loop_generic(uint64_t iters)
{
    const v4f a = {1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f};
    const v4f b = {1e-7f, 1e-7f, 1e-7f, 1e-7f};
    v4f c0 = b * 1, c1 = b * 2, c2 = b * 3, c3 = b * 4, c4 = b * 5, c5 = b * 6, c6 = b * 7,
        c7 = b * 8, c8 = b * 9, c9 = b * 10, c10 = b * 11, c11 = b * 12;
#define MAD4(x) x = x * a + b
    for (uint64_t i = 0; i < iters; i++) {
        PEAK_ALL(MAD4);
    }
#undef MAD4
    v4f t = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    peak_sink = t[0] + t[3];
    return (double)iters * PEAK_CHAINS * 4 * 2;
}

static bool have_avx2_fma(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static double cpu_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct peak_run {
    double flops;
    double cpu_s;   /* CPU time the thread actually ran */
} peak_run;

static void *fma_thread(void *arg)
{
    peak_run *r = arg;
    double c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
#if defined(__x86_64__) || defined(__i386__)
    if (have_avx2_fma())
        r->flops = fma_loop_avx2(PEAK_ITERS);
    else
#endif
        r->flops = fma_loop_generic(PEAK_ITERS);
    r->cpu_s = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

/* Measured FMA peak of n_threads threads running at once (best of 3): *wall in FLOP/s of wall
 * time, *per_core in FLOP per second of CPU time a thread got. On a shared machine the second
 * is the stable one: it does not count time the scheduler gave to other processes. */
static void measure_fma_peak(int n_threads, double *wall, double *per_core)
{
    pthread_t th[256];
    peak_run runs[256];
    if (n_threads > 256)
        n_threads = 256;
    *wall = *per_core = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = llm_cli_now();
        for (int i = 0; i < n_threads; i++)
            pthread_create(&th[i], NULL, fma_thread, &runs[i]);
        double total = 0, cpu = 0;
        for (int i = 0; i < n_threads; i++) {
            pthread_join(th[i], NULL);
            total += runs[i].flops;
            cpu += runs[i].cpu_s;
        }
        double rate = total / (llm_cli_now() - t0);
        if (rate > *wall)
            *wall = rate;
        if (cpu > 0 && total / cpu > *per_core)
            *per_core = total / cpu;
    }
}

static void bench_help(FILE *f)
{
    fprintf(f, "usage: llm bench embed -m MODEL -f LINES.txt [-t THREADS] [-b BATCH] "
               "[--seconds S]\n\n"
               "Embeds every line of LINES.txt (warm-up pass, then timed passes for at least S\n"
               "seconds, default 3) and reports sentences/s, tokens/s, the FLOP rate of the\n"
               "matrix products and attention, and its share of the measured FMA peak: per\n"
               "second of wall time, and per second of CPU time the threads actually got (the\n"
               "figure to trust on a machine shared with other work).\n");
}

const llm_cli_opt llm_bench_embed_opts[] = {
    LLM_CLI_OPT_MODEL, LLM_CLI_OPT_FILE, LLM_CLI_OPT_THREADS, {'b', "batch", LLM_CLI_TEXT, NULL},
    {OPT_SECONDS, "seconds", LLM_CLI_TEXT, NULL}, LLM_CLI_OPT_END,
};

int llm_bench_embed(int argc, char **argv)
{
    const char *model = NULL, *file = NULL;
    int64_t threads = 0, batch = 0;
    double seconds = 3.0;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "bench embed", llm_bench_embed_opts, argc, argv);
    int c, prc = 0;
    while (prc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: bench_help(stdout); return 0;
        case 'm': model = p.arg; break;
        case 'f': file = p.arg; break;
        case 't': prc = llm_cli_value_threads(&p, &threads); break;
        case 'b': prc = llm_cli_value_i64(&p, 1, 1 << 20, &batch); break;
        case OPT_SECONDS:
            if (!llm_cli_parse_f64(p.arg, &seconds) || seconds < 0)
                return llm_cli_usage("bench embed", "bad duration '%s'", p.arg);
            break;
        default: return llm_cli_usage("bench embed", "unexpected argument '%s'", p.arg);
        }
    }
    if (prc)
        return prc;
    if (!model || !file)
        return llm_cli_usage("bench embed", "-m MODEL and -f LINES.txt are required");

    size_t len = 0, n = 0;
    char *buf = llm_cli_read_file(file, &len);
    if (!buf) {
        fprintf(stderr, "llm bench embed: cannot read '%s'\n", file);
        return 1;
    }
    char **lines = split_lines(buf, &n);
    embed_args a = {.model = model, .threads = threads, .batch = batch};
    llm_model *m = NULL;
    llm_session *s = NULL;
    llm_status st = n ? open_session(&a, &m, &s) : LLM_ERR_INVALID_ARG;
    if (st != LLM_OK) {
        free(lines);
        free(buf);
        return n ? llm_cli_fail("bench embed", st, "opening '%s'", model)
                 : llm_cli_usage("bench embed", "'%s' has no lines", file);
    }
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(m, &info);
    int64_t nt = 0;
    llm_session_get_int(s, LLM_PARAM_N_THREADS, &nt);
    if (nt <= 0)
        nt = threads > 0 ? threads : 1;

    /* FLOPs of one pass: per layer and token 2·(4E² + 2E·F) for the projections and the FFN,
     * plus 4·len·E for the scores and the weighted sum of a sequence of len tokens. */
    const double E = info.n_embd, F = info.n_ff, L = info.n_layer;
    const llm_tokenizer *tok = llm_model_tokenizer(m);
    double flops = 0;
    uint64_t tokens = 0;
    for (size_t i = 0; i < n; i++) {
        size_t cnt = 0;
        llm_tokenizer_encode(tok, lines[i], strlen(lines[i]), LLM_ENCODE_ADD_SPECIAL, NULL, 0,
                             &cnt);
        if (cnt > info.n_ctx_train)
            cnt = info.n_ctx_train; /* truncated below */
        tokens += cnt;
        flops += L * ((double)cnt * (8 * E * E + 4 * E * F) + 4.0 * (double)cnt * cnt * E);
    }
    const size_t dim = llm_model_embedding_dim(m);
    float *out = malloc(n * dim * sizeof(float));
    llm_embed_options o;
    llm_embed_options_init(&o);
    o.truncate = 1;
    if (info.pooling == LLM_POOLING_NONE)
        o.pooling = LLM_POOLING_MEAN;
    llm_embed_result res = {.struct_size = sizeof res};

    /* warm-up: a few sentences */
    size_t warm = n < 8 ? n : 8;
    st = out ? llm_session_embed(s, (const char *const *)lines, warm, &o, out, warm * dim, &res)
             : LLM_ERR_NOMEM;
    int passes = 0;
    double t0 = llm_cli_now(), el = 0, c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    while (st == LLM_OK && (passes == 0 || el < seconds)) {
        st = llm_session_embed(s, (const char *const *)lines, n, &o, out, n * dim, &res);
        passes++;
        el = llm_cli_now() - t0;
    }
    const double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    int rc = 0;
    if (st != LLM_OK) {
        fprintf(stderr, "llm bench embed: %s: %s\n", llm_status_string(st),
                llm_session_last_error(s));
        rc = 1;
    } else {
        double peak = 0, peak_core = 0;
        measure_fma_peak((int)nt, &peak, &peak_core);
        const double rate = flops * passes / el;
        const double rate_cpu = cpu > 0 ? flops * passes / cpu : 0;
        printf("model         %s (%s, %u layers, %u wide, %u heads, n_ff %u)\n", model,
               llm_model_arch_name(m), info.n_layer, info.n_embd, info.n_head, info.n_ff);
        printf("kernels       %s, %lld threads\n", llm_kernel_isa(), (long long)nt);
        printf("input         %zu sentences, %llu tokens (%.1f per sentence), %d passes in "
               "%.2f s\n",
               n, (unsigned long long)tokens, (double)tokens / n, passes, el);
        printf("sentences/s   %.1f\n", n * passes / el);
        printf("tokens/s      %.1f\n", (double)tokens * passes / el);
        printf("GFLOP/s       %.2f (%.3f GFLOP per pass)\n", rate * 1e-9, flops * 1e-9);
        printf("FMA peak      %.2f GFLOP/s (%s, %lld threads) -> %.1f%% of peak\n", peak * 1e-9,
               have_avx2_fma() ? "avx2 fma" : "generic", (long long)nt, 100.0 * rate / peak);
        printf("CPU time      %.2f s (%.2f of %lld threads busy on average)\n", cpu, cpu / el,
               (long long)nt);
        printf("per CPU-s     %.2f GFLOP vs FMA peak %.2f GFLOP per CPU-s -> %.1f%% of peak "
               "(ignores time given to other processes)\n",
               rate_cpu * 1e-9, peak_core * 1e-9, 100.0 * rate_cpu / peak_core);
    }
    free(out);
    llm_session_destroy(s);
    llm_model_close(m);
    free(lines);
    free(buf);
    return rc;
}
