/*
 * semantic_search: rank documents by meaning with sentence embeddings.
 *
 *   semantic_search MODEL "a query" [DOCS.txt]
 *
 * Embeds every document (one per line of DOCS.txt, or a small built-in set) in one batched call,
 * embeds the query, and prints the documents by decreasing cosine similarity. With a real
 * sentence-embedding model (BGE, MiniLM, E5 in GGUF or as a Hugging Face directory) the nearest
 * documents are the ones that mean the same thing, whatever their words.
 *
 * Run without arguments it is a self-test on the tiny model of the reference data
 * ($LLM_TEST_DATA/golden/models/bert-tiny-mean-f32.gguf; exit 77 when absent): a query equal to a
 * document must find that document first, with similarity 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

static const char *const builtin_docs[] = {
    "The cat sat on the mat.",
    "A dog is running in the park.",
    "Stock markets fell sharply on Monday.",
    "The new house had three bedrooms and a garden.",
    "They were the first ones in the new house.",
    "Heavy rain is expected over the weekend.",
    "She plays the piano every evening.",
    "The recipe needs two eggs and a cup of flour.",
};

typedef struct hit {
    size_t doc;
    float score;
} hit;

static int by_score(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

/* Non-empty lines of a file (malloc'ed array of pointers into *buf). */
static const char **read_lines(const char *path, char **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)size + 1);
    const char **lines = malloc(((size_t)size / 2 + 2) * sizeof *lines);
    if (!*buf || !lines || fread(*buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(lines);
        return NULL;
    }
    fclose(f);
    (*buf)[size] = '\0';
    *n = 0;
    for (char *p = strtok(*buf, "\r\n"); p; p = strtok(NULL, "\r\n"))
        lines[(*n)++] = p;
    return lines;
}

static int fail(const char *what, llm_status st)
{
    fprintf(stderr, "semantic_search: %s: %s: %s\n", what, llm_status_string(st),
            llm_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    char path[4096];
    const char *model_path = argc > 1 ? argv[1] : NULL;
    const char *query = argc > 2 ? argv[2] : NULL;
    const int self_test = model_path == NULL;
    if (self_test) {
        const char *data = getenv("LLM_TEST_DATA");
        if (!data || !*data)
            data = getenv("LLM_TEST_DATA_BUILD");
        snprintf(path, sizeof path, "%s/golden/models/bert-tiny-mean-f32.gguf",
                 data && *data ? data : "../shared/data");
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "SKIP: %s is missing (set LLM_TEST_DATA)\n", path);
            return 77;
        }
        fclose(f);
        model_path = path;
        query = builtin_docs[4];
    } else if (!query) {
        fprintf(stderr, "usage: semantic_search MODEL \"QUERY\" [DOCS.txt]\n");
        return 2;
    }

    const char *const *docs = builtin_docs;
    size_t n_docs = sizeof builtin_docs / sizeof builtin_docs[0];
    char *buf = NULL;
    const char **file_docs = NULL;
    if (argc > 3) {
        file_docs = read_lines(argv[3], &buf, &n_docs);
        if (!file_docs || n_docs == 0) {
            fprintf(stderr, "semantic_search: no documents in '%s'\n", argv[3]);
            return 1;
        }
        docs = file_docs;
    }

    llm_model *model = NULL;
    llm_session *s = NULL;
    llm_status st = llm_model_open(model_path, NULL, &model);
    if (st != LLM_OK)
        return fail(model_path, st);
    st = llm_session_create(model, NULL, &s);
    if (st != LLM_OK)
        return fail("creating a session", st);

    /* Sentence embeddings, L2-normalized so that a dot product is the cosine similarity. The
     * pooling is the model's own (mean for most sentence models), or mean when it names none. */
    llm_model_info info = {.struct_size = sizeof info};
    llm_model_get_info(model, &info);
    llm_embed_options opt;
    llm_embed_options_init(&opt);
    opt.normalize = 1;
    opt.truncate = 1;
    if (info.pooling == LLM_POOLING_NONE)
        opt.pooling = LLM_POOLING_MEAN;
    const size_t dim = llm_model_embedding_dim(model);
    float *doc_vecs = malloc(n_docs * dim * sizeof(float));
    float *q_vec = malloc(dim * sizeof(float));
    hit *hits = malloc(n_docs * sizeof *hits);
    llm_embed_result res = {.struct_size = sizeof res};
    st = llm_session_embed(s, docs, n_docs, &opt, doc_vecs, n_docs * dim, &res);
    if (st == LLM_OK)
        st = llm_session_embed(s, &query, 1, &opt, q_vec, dim, NULL);
    int rc = 0;
    if (st != LLM_OK) {
        fprintf(stderr, "semantic_search: embedding: %s: %s\n", llm_status_string(st),
                llm_session_last_error(s));
        rc = 1;
    } else {
        for (size_t i = 0; i < n_docs; i++) {
            hits[i].doc = i;
            hits[i].score = llm_cosine_similarity(q_vec, doc_vecs + i * dim, dim);
        }
        qsort(hits, n_docs, sizeof *hits, by_score);
        printf("query: %s\n(%zu documents, %llu tokens, %zu dimensions)\n", query, n_docs,
               (unsigned long long)res.n_tokens, dim);
        for (size_t i = 0; i < n_docs && i < 5; i++)
            printf("%6.3f  %s\n", hits[i].score, docs[hits[i].doc]);
        if (self_test && (hits[0].doc != 4 || hits[0].score < 0.9999f)) {
            fprintf(stderr, "FAIL: the query's own document is not first with similarity 1\n");
            rc = 1;
        }
    }
    free(hits);
    free(q_vec);
    free(doc_vecs);
    free(file_docs);
    free(buf);
    llm_session_destroy(s);
    llm_model_close(model);
    return rc;
}
