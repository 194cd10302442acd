/*
 * GGUF reader and writer tests.
 *
 *  - shared:   every .gguf in the shared data opens (mapped and read), verifies, and
 *              stories260K's hyper-parameters are those its README states.
 *  - corrupt:  files this test writes byte by byte (independently of the library's writer) with
 *              one defect each, plus truncations and byte flips of real files: each must give a
 *              clean error with a message, never a crash (Check forks, so a crash fails the test).
 *  - builder:  a GGUF built in memory with every metadata type round-trips through the writer and
 *              the reader; rewriting a real file reproduces it.
 *
 * Debug one case with CK_FORK=no CK_RUN_CASE=corrupt ./test_gguf under gdb.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/dtype.h"
#include "model/gguf.h"
#include "testdata.h"

// ------------------------------------------------------------------------------------------------
// A byte emitter for hand-made GGUF files

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void b_put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void b_u32(buf *b, uint32_t v) { b_put(b, &v, 4); }
static void b_u64(buf *b, uint64_t v) { b_put(b, &v, 8); }
static void b_str(buf *b, const char *s) { b_u64(b, strlen(s)); b_put(b, s, strlen(s)); }
static void b_head(buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    b_put(b, "GGUF", 4);
    b_u32(b, version);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}
static void b_kv_u32(buf *b, const char *key, uint32_t v)
{
    b_str(b, key);
    b_u32(b, LLM_GGUF_UINT32);
    b_u32(b, v);
}
static void b_kv_str(buf *b, const char *key, const char *v)
{
    b_str(b, key);
    b_u32(b, LLM_GGUF_STRING);
    b_str(b, v);
}
static void b_tensor(buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                     uint64_t offset)
{
    b_str(b, name);
    b_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        b_u64(b, ne[d]);
    b_u32(b, type);
    b_u64(b, offset);
}
static void b_pad(buf *b, size_t a)
{
    static const uint8_t z[64];
    b_put(b, z, (a - b->n % a) % a);
}
static void b_data(buf *b, size_t n, uint8_t fill)
{
    for (size_t i = 0; i < n; i++)
        b_put(b, &fill, 1);
}

/* A small valid file: two keys (one string array, one nested array), two f32 tensors. */
static buf make_small(void)
{
    buf b = {0};
    b_head(&b, 3, 2, 4);
    b_kv_str(&b, "general.architecture", "llama");
    b_kv_u32(&b, "llama.block_count", 1);
    b_str(&b, "tokenizer.ggml.tokens");
    b_u32(&b, LLM_GGUF_ARRAY);
    b_u32(&b, LLM_GGUF_STRING);
    b_u64(&b, 3);
    b_str(&b, "a");
    b_str(&b, "");
    b_str(&b, "ccc");
    b_str(&b, "nested");
    b_u32(&b, LLM_GGUF_ARRAY);
    b_u32(&b, LLM_GGUF_ARRAY);
    b_u64(&b, 2);
    b_u32(&b, LLM_GGUF_INT32);
    b_u64(&b, 2);
    b_u32(&b, 7);
    b_u32(&b, 8);
    b_u32(&b, LLM_GGUF_STRING);
    b_u64(&b, 1);
    b_str(&b, "x");
    uint64_t ne_a[2] = {4, 2}, ne_b[1] = {8};
    b_tensor(&b, "a.weight", 2, ne_a, LLM_DTYPE_F32, 0);
    b_tensor(&b, "b.weight", 1, ne_b, LLM_DTYPE_F32, 32);
    b_pad(&b, 32);
    b_data(&b, 32, 0x11);
    b_data(&b, 32, 0x22);
    return b;
}

static llm_status open_buf(const buf *b, const llm_gguf_limits *lim, llm_error *e)
{
    llm_gguf *g = NULL;
    memset(e, 0, sizeof *e);
    llm_status st = llm_gguf_open_memory(b->p, b->n, lim, &g, e);
    if (st == LLM_OK) {
        ck_assert_ptr_nonnull(g);
        llm_gguf_close(g);
    } else {
        ck_assert_ptr_null(g);
        ck_assert_msg(e->msg[0] != '\0', "status %d without a message", st);
    }
    return st;
}

/* Expects status `want` and a message containing `needle`. */
static void expect_fail(const buf *b, llm_status want, const char *needle)
{
    llm_error e;
    llm_status st = open_buf(b, NULL, &e);
    ck_assert_msg(st == want, "expected status %d, got %d (%s)", want, st, e.msg);
    ck_assert_msg(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
}

// ------------------------------------------------------------------------------------------------
// shared

/* Every .gguf file under the data folder, found by walking it. */
static char *gguf_paths[256];
static int n_gguf_paths;

static int collect_gguf(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 5 && strcmp(path + n - 5, ".gguf") == 0 && n_gguf_paths < 256)
        gguf_paths[n_gguf_paths++] = strdup(path);
    return 0;
}

START_TEST(test_shared_open_all)
{
    ck_assert_int_eq(nftw(llm_test_path("."), collect_gguf, 16, 0), 0);
    int n_files = 0;
    for (int i = 0; i < n_gguf_paths; i++) {
        const char *path = gguf_paths[i];
        llm_gguf_limits lim;
        llm_gguf_limits_default(&lim);
        llm_gguf *a = NULL, *b = NULL;
        llm_error e = {0};
        lim.load_mode = 1;
        ck_assert_msg(llm_gguf_open(path, &lim, &a, &e) == LLM_OK, "%s: %s", path, e.msg);
        lim.load_mode = 2;
        ck_assert_msg(llm_gguf_open(path, &lim, &b, &e) == LLM_OK, "%s: %s", path, e.msg);
        ck_assert_msg(llm_gguf_verify(a, &e) == LLM_OK, "%s: %s", path, e.msg);
        ck_assert(llm_gguf_version(a) == 2 || llm_gguf_version(a) == 3);
        ck_assert_uint_eq(llm_gguf_n_tensors(a), llm_gguf_n_tensors(b));
        ck_assert_uint_eq(llm_gguf_n_kv(a), llm_gguf_n_kv(b));
        ck_assert_uint_gt(llm_gguf_n_kv(a), 0);
        for (uint64_t t = 0; t < llm_gguf_n_tensors(a); t++) {
            const llm_gguf_tensor *ta = llm_gguf_tensor_at(a, t);
            const llm_gguf_tensor *tb = llm_gguf_find_tensor(b, ta->name);
            ck_assert_ptr_nonnull(tb);
            ck_assert_uint_eq(ta->nbytes, tb->nbytes);
            ck_assert_uint_eq(ta->offset % llm_gguf_alignment(a), 0);
            ck_assert(memcmp(ta->data, tb->data, ta->nbytes) == 0);
        }
        llm_gguf_close(a);
        llm_gguf_close(b);
        n_files++;
    }
    /* 3 vocabularies, stories260K and 13 golden models at the time of writing. */
    ck_assert_int_ge(n_files, 17);
}
END_TEST

START_TEST(test_shared_stories_hparams)
{
    llm_gguf *g = NULL;
    llm_error e = {0};
    const char *path = llm_test_path("models/stories260K/stories260K.gguf");
    ck_assert_msg(llm_gguf_open(path, NULL, &g, &e) == LLM_OK, "%s", e.msg);
    const char *s;
    size_t len;
    uint32_t u;
    float f;
    ck_assert(llm_gguf_get_str(g, "general.architecture", &s, &len));
    ck_assert_str_eq(s, "llama");
    ck_assert_uint_eq(len, 5);
    ck_assert(llm_gguf_get_u32(g, "llama.embedding_length", &u) && u == 64);
    ck_assert(llm_gguf_get_u32(g, "llama.block_count", &u) && u == 5);
    ck_assert(llm_gguf_get_u32(g, "llama.attention.head_count", &u) && u == 8);
    ck_assert(llm_gguf_get_u32(g, "llama.attention.head_count_kv", &u) && u == 4);
    ck_assert(llm_gguf_get_u32(g, "llama.feed_forward_length", &u) && u == 172);
    ck_assert(llm_gguf_get_u32(g, "llama.context_length", &u) && u == 128);
    ck_assert(llm_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f));
    ck_assert(fabsf(f - 1e-5f) < 1e-9f);
    llm_gguf_type et;
    uint64_t n;
    ck_assert(llm_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n));
    ck_assert_int_eq(et, LLM_GGUF_STRING);
    ck_assert_uint_eq(n, 512);
    ck_assert_ptr_nonnull(llm_gguf_arr_str(g, "tokenizer.ggml.tokens", 511, &len));
    ck_assert_ptr_null(llm_gguf_arr_str(g, "tokenizer.ggml.tokens", 512, &len));
    float scores[512];
    ck_assert(llm_gguf_arr_f32(g, "tokenizer.ggml.scores", scores, 512));
    int32_t types[512];
    ck_assert(llm_gguf_arr_i32(g, "tokenizer.ggml.token_type", types, 512));
    /* The separator id is 0xffffffff: a u32 but not an i64-representable... it is, and no i32. */
    int64_t i64;
    ck_assert(llm_gguf_get_i64(g, "tokenizer.ggml.bos_token_id", &i64) && i64 == 1);
    ck_assert(!llm_gguf_get_u32(g, "general.architecture", &u));
    ck_assert(!llm_gguf_get_str(g, "no.such.key", &s, &len));
    const llm_gguf_tensor *t = llm_gguf_find_tensor(g, "token_embd.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->ne[0], 64);
    ck_assert_uint_eq(t->ne[1], 512);
    ck_assert_uint_eq(t->type, LLM_DTYPE_F32);
    ck_assert_uint_eq(t->nbytes, 64 * 512 * 4);
    ck_assert_uint_eq(llm_gguf_n_tensors(g), 48);
    ck_assert_uint_eq(llm_gguf_file_size(g), 1185376);
    llm_gguf_close(g);
}
END_TEST

START_TEST(test_shared_missing_file)
{
    llm_gguf *g = (llm_gguf *)1;
    llm_error e = {0};
    ck_assert_int_eq(llm_gguf_open("/nonexistent/x.gguf", NULL, &g, &e), LLM_ERR_IO);
    ck_assert_ptr_null(g);
    ck_assert(strstr(e.msg, "/nonexistent/x.gguf"));
    ck_assert_int_eq(llm_gguf_open("/", NULL, &g, &e), LLM_ERR_IO);
}
END_TEST

// ------------------------------------------------------------------------------------------------
// corrupt

START_TEST(test_corrupt_small_valid)
{
    buf b = make_small();
    llm_gguf *g = NULL;
    llm_error e = {0};
    ck_assert_msg(llm_gguf_open_memory(b.p, b.n, NULL, &g, &e) == LLM_OK, "%s", e.msg);
    llm_gguf_type et;
    uint64_t n;
    ck_assert(llm_gguf_get_arr(g, "nested", &et, &n));
    ck_assert_int_eq(et, LLM_GGUF_ARRAY);
    ck_assert_uint_eq(n, 2);
    size_t len;
    ck_assert_str_eq(llm_gguf_arr_str(g, "tokenizer.ggml.tokens", 2, &len), "ccc");
    ck_assert_str_eq(llm_gguf_arr_str(g, "tokenizer.ggml.tokens", 1, &len), "");
    const llm_gguf_tensor *t = llm_gguf_find_tensor(g, "b.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(((const uint8_t *)t->data)[0], 0x22);
    ck_assert_uint_eq(llm_gguf_data_offset(g) % 32, 0);
    llm_gguf_close(g);
    free(b.p);
}
END_TEST

/* Truncation at every byte of the small file: an error unless all tensor data is there. */
START_TEST(test_corrupt_truncate_every_byte)
{
    buf b = make_small();
    for (size_t cut = 0; cut < b.n; cut++) {
        buf t = {.p = b.p, .n = cut};
        llm_error e;
        llm_status st = open_buf(&t, NULL, &e);
        ck_assert_msg(st == LLM_ERR_FORMAT, "cut at %zu: status %d (%s)", cut, st, e.msg);
    }
    free(b.p);
}
END_TEST

/* Truncations of real files at section boundaries and at random points. */
START_TEST(test_corrupt_truncate_real)
{
    static const char *const files[] = {"models/stories260K/stories260K.gguf",
                                        "vocab/ggml-vocab-gpt-2.gguf",
                                        "golden/models/t5-tiny-gated-q8_0.gguf"};
    srand(1234);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        size_t size;
        uint8_t *data = llm_test_read_file(llm_test_path(files[k]), &size);
        ck_assert_ptr_nonnull(data);
        llm_gguf *g = NULL;
        llm_error e = {0};
        ck_assert_msg(llm_gguf_open_memory(data, size, NULL, &g, &e) == LLM_OK, "%s", e.msg);
        uint64_t need = llm_gguf_data_offset(g) - llm_gguf_alignment(g) + 1;
        size_t cuts[512];
        size_t nc = 0;
        for (uint64_t i = 0; i < llm_gguf_n_tensors(g) && nc < 200; i++) {
            const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
            uint64_t end = llm_gguf_data_offset(g) + t->offset + t->nbytes;
            if (end > need)
                need = end;
            cuts[nc++] = llm_gguf_data_offset(g) + t->offset;
            cuts[nc++] = end - 1;
        }
        for (size_t s = 0; s < 64; s++)
            cuts[nc++] = s;
        cuts[nc++] = llm_gguf_data_offset(g) - 1;
        while (nc < sizeof cuts / sizeof cuts[0])
            cuts[nc++] = (size_t)rand() % size;
        llm_gguf_close(g);
        for (size_t c = 0; c < nc; c++) {
            if (cuts[c] >= size)
                continue; /* a file without tensors ends before its (unpadded) data section */
            buf t = {.p = data, .n = cuts[c]};
            llm_status st = open_buf(&t, NULL, &e);
            if (cuts[c] < need)
                ck_assert_msg(st != LLM_OK, "%s cut at %zu opened", files[k], cuts[c]);
        }
        free(data);
    }
}
END_TEST

/* Random byte flips in the header region: any status, but never a crash, always a message. */
START_TEST(test_corrupt_flips)
{
    size_t size;
    uint8_t *orig = llm_test_read_file(llm_test_path("vocab/ggml-vocab-llama-spm.gguf"), &size);
    ck_assert_ptr_nonnull(orig);
    uint8_t *data = malloc(size);
    srand(99);
    for (int round = 0; round < 300; round++) {
        memcpy(data, orig, size);
        int nflip = 1 + rand() % 4;
        for (int f = 0; f < nflip; f++) {
            size_t at = (size_t)rand() % (round < 150 ? 4096 : size);
            data[at] ^= (uint8_t)(1u << (rand() % 8));
            if (rand() % 4 == 0)
                data[at] = 0xff;
        }
        buf t = {.p = data, .n = size};
        llm_error e;
        open_buf(&t, NULL, &e);
    }
    buf small = make_small();
    for (size_t at = 0; at < small.n; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            small.p[at] ^= (uint8_t)(1u << bit);
            llm_error e;
            open_buf(&small, NULL, &e);
            small.p[at] ^= (uint8_t)(1u << bit);
        }
    }
    free(small.p);
    free(data);
    free(orig);
}
END_TEST

START_TEST(test_corrupt_header)
{
    buf b = {0};
    b_put(&b, "GGUX", 4);
    b_u32(&b, 3);
    b_u64(&b, 0);
    b_u64(&b, 0);
    expect_fail(&b, LLM_ERR_FORMAT, "magic");
    b.n = 0;
    b_head(&b, 1, 0, 0);
    expect_fail(&b, LLM_ERR_UNSUPPORTED, "version 1");
    b.n = 0;
    b_head(&b, 4, 0, 0);
    expect_fail(&b, LLM_ERR_UNSUPPORTED, "version 4");
    b.n = 0;
    b_head(&b, 0x03000000, 0, 0);
    expect_fail(&b, LLM_ERR_UNSUPPORTED, "big-endian");
    b.n = 0;
    b_head(&b, 3, UINT64_MAX, 0);
    expect_fail(&b, LLM_ERR_LIMIT, "tensor count");
    b.n = 0;
    b_head(&b, 3, 1000, 0);
    expect_fail(&b, LLM_ERR_FORMAT, "tensor count");
    b.n = 0;
    b_head(&b, 3, 0, (uint64_t)1 << 62);
    expect_fail(&b, LLM_ERR_LIMIT, "metadata count");
    b.n = 0;
    b_head(&b, 3, 0, 5);
    expect_fail(&b, LLM_ERR_FORMAT, "metadata count");
    /* An empty but valid file. */
    b.n = 0;
    b_head(&b, 2, 0, 0);
    llm_error e;
    ck_assert_int_eq(open_buf(&b, NULL, &e), LLM_OK);
    free(b.p);
}
END_TEST

START_TEST(test_corrupt_metadata)
{
    buf b = {0};
    /* Huge string length. */
    b_head(&b, 3, 0, 1);
    b_u64(&b, UINT64_MAX - 3);
    b_data(&b, 20, 'k');
    expect_fail(&b, LLM_ERR_LIMIT, "length");
    /* String longer than the file. */
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_u64(&b, 1000);
    b_data(&b, 20, 'k');
    expect_fail(&b, LLM_ERR_FORMAT, "offset 24");
    /* Unknown value type. */
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, 13);
    b_u64(&b, 0);
    expect_fail(&b, LLM_ERR_FORMAT, "type 13");
    /* Duplicate key. */
    b.n = 0;
    b_head(&b, 3, 0, 2);
    b_kv_u32(&b, "a.b", 1);
    b_kv_u32(&b, "a.b", 2);
    expect_fail(&b, LLM_ERR_FORMAT, "duplicate key 'a.b'");
    /* Empty key, key with a NUL. */
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_kv_u32(&b, "", 1);
    expect_fail(&b, LLM_ERR_FORMAT, "empty");
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_u64(&b, 3);
    b_put(&b, "a\0b", 3);
    b_u32(&b, LLM_GGUF_UINT8);
    b_put(&b, "\1", 1);
    expect_fail(&b, LLM_ERR_FORMAT, "NUL");
    /* Huge array count (limit) and an array longer than the file. */
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, LLM_GGUF_ARRAY);
    b_u32(&b, LLM_GGUF_UINT64);
    b_u64(&b, (uint64_t)1 << 61);
    expect_fail(&b, LLM_ERR_LIMIT, "arr");
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, LLM_GGUF_ARRAY);
    b_u32(&b, LLM_GGUF_STRING);
    b_u64(&b, 1000);
    b_str(&b, "x");
    expect_fail(&b, LLM_ERR_FORMAT, "arr");
    /* A string element past the end. */
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, LLM_GGUF_ARRAY);
    b_u32(&b, LLM_GGUF_STRING);
    b_u64(&b, 2);
    b_str(&b, "x");
    b_u64(&b, 500);
    b_data(&b, 10, 'y');
    expect_fail(&b, LLM_ERR_FORMAT, "element 1");
    /* Arrays nested too deep. */
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_str(&b, "deep");
    b_u32(&b, LLM_GGUF_ARRAY);
    for (int d = 0; d < 20; d++) {
        b_u32(&b, LLM_GGUF_ARRAY);
        b_u64(&b, 1);
    }
    b_u32(&b, LLM_GGUF_UINT8);
    b_u64(&b, 0);
    expect_fail(&b, LLM_ERR_FORMAT, "nested");
    /* Bad alignments. */
    const uint32_t bad[] = {0, 3, 48};
    for (size_t i = 0; i < 3; i++) {
        b.n = 0;
        b_head(&b, 3, 0, 1);
        b_kv_u32(&b, "general.alignment", bad[i]);
        expect_fail(&b, LLM_ERR_FORMAT, "power of two");
    }
    b.n = 0;
    b_head(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, LLM_GGUF_UINT64);
    b_u64(&b, 32);
    expect_fail(&b, LLM_ERR_FORMAT, "expected uint32");
    free(b.p);
}
END_TEST

/* One file with one tensor described by the arguments, data of `data_bytes`. */
static buf one_tensor(const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                      uint64_t offset, size_t data_bytes)
{
    buf b = {0};
    b_head(&b, 3, 1, 0);
    b_tensor(&b, name, n_dims, ne, type, offset);
    b_pad(&b, 32);
    b_data(&b, data_bytes, 0);
    return b;
}

START_TEST(test_corrupt_tensors)
{
    uint64_t ne[5] = {32, 4, 1, 1, 1};
    buf b = one_tensor("t", 2, ne, LLM_DTYPE_F32, 0, 512);
    llm_error e;
    ck_assert_int_eq(open_buf(&b, NULL, &e), LLM_OK);
    free(b.p);

    b = one_tensor("blk.3.attn_q.weight", 2, ne, LLM_DTYPE_F32, 0, 500);
    expect_fail(&b, LLM_ERR_FORMAT, "tensor 'blk.3.attn_q.weight': data range [96, 608) ends past "
                                    "the end of the file (596 bytes)");
    free(b.p);
    b = one_tensor("t", 2, ne, LLM_DTYPE_F32, 16, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "not a multiple of the alignment 32");
    free(b.p);
    b = one_tensor("t", 2, ne, LLM_DTYPE_F32, UINT64_MAX - 31, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "overflows");
    free(b.p);
    b = one_tensor("t", 5, ne, LLM_DTYPE_F32, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "5 dimensions");
    free(b.p);
    b = one_tensor("t", 0, ne, LLM_DTYPE_F32, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "0 dimensions");
    free(b.p);
    uint64_t zero[2] = {32, 0};
    b = one_tensor("t", 2, zero, LLM_DTYPE_F32, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "dimension 1 is 0");
    free(b.p);
    uint64_t huge[4] = {(uint64_t)1 << 32, (uint64_t)1 << 32, (uint64_t)1 << 32, 2};
    b = one_tensor("t", 4, huge, LLM_DTYPE_F32, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "overflows");
    free(b.p);
    uint64_t big[2] = {(uint64_t)1 << 60, 4};
    b = one_tensor("t", 2, big, LLM_DTYPE_F32, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "overflows");
    free(b.p);
    uint64_t neg[1] = {UINT64_MAX};
    b = one_tensor("t", 1, neg, LLM_DTYPE_F32, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "dimension 0");
    free(b.p);
    b = one_tensor("weird", 2, ne, 99, 0, 600);
    expect_fail(&b, LLM_ERR_UNSUPPORTED, "tensor 'weird' has unknown type 99");
    free(b.p);
    b = one_tensor("weird", 2, ne, 4, 0, 600);
    expect_fail(&b, LLM_ERR_UNSUPPORTED, "unknown type 4");
    free(b.p);
    uint64_t odd[2] = {33, 4};
    b = one_tensor("q", 2, odd, LLM_DTYPE_Q8_0, 0, 600);
    expect_fail(&b, LLM_ERR_FORMAT, "block size 32");
    free(b.p);

    /* Duplicate tensor names. */
    b = (buf){0};
    b_head(&b, 3, 2, 0);
    b_tensor(&b, "same", 1, ne, LLM_DTYPE_F32, 0);
    b_tensor(&b, "same", 1, ne, LLM_DTYPE_F32, 128);
    b_pad(&b, 32);
    b_data(&b, 256, 0);
    expect_fail(&b, LLM_ERR_FORMAT, "duplicate tensor name 'same'");
    free(b.p);

    /* A custom alignment is honoured. */
    b = (buf){0};
    b_head(&b, 3, 1, 1);
    b_kv_u32(&b, "general.alignment", 64);
    b_tensor(&b, "t", 1, ne, LLM_DTYPE_F32, 32);
    b_pad(&b, 64);
    b_data(&b, 256, 0);
    expect_fail(&b, LLM_ERR_FORMAT, "alignment 64");
    free(b.p);
}
END_TEST

START_TEST(test_corrupt_limits)
{
    buf b = make_small();
    llm_gguf_limits lim;
    llm_error e;
    llm_gguf_limits_default(&lim);
    lim.max_file_bytes = 100;
    ck_assert_int_eq(open_buf(&b, &lim, &e), LLM_ERR_LIMIT);
    llm_gguf_limits_default(&lim);
    lim.max_kv_count = 3;
    ck_assert_int_eq(open_buf(&b, &lim, &e), LLM_ERR_LIMIT);
    llm_gguf_limits_default(&lim);
    lim.max_tensor_count = 1;
    ck_assert_int_eq(open_buf(&b, &lim, &e), LLM_ERR_LIMIT);
    llm_gguf_limits_default(&lim);
    lim.max_array_length = 2;
    ck_assert_int_eq(open_buf(&b, &lim, &e), LLM_ERR_LIMIT);
    ck_assert(strstr(e.msg, "tokenizer.ggml.tokens"));
    llm_gguf_limits_default(&lim);
    lim.max_string_length = 4;
    ck_assert_int_eq(open_buf(&b, &lim, &e), LLM_ERR_LIMIT);
    llm_gguf_limits_default(&lim);
    ck_assert_int_eq(open_buf(&b, &lim, &e), LLM_OK);

    /* The file limit also applies to llm_gguf_open, in both load modes. */
    char path[] = "/tmp/llm_test_gguf_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b.p, b.n), (ssize_t)b.n);
    close(fd);
    for (int mode = 0; mode < 3; mode++) {
        llm_gguf *g = NULL;
        llm_gguf_limits_default(&lim);
        lim.load_mode = mode;
        ck_assert_int_eq(llm_gguf_open(path, &lim, &g, &e), LLM_OK);
        ck_assert_uint_eq(llm_gguf_n_tensors(g), 2);
        llm_gguf_close(g);
        lim.max_file_bytes = 10;
        ck_assert_int_eq(llm_gguf_open(path, &lim, &g, &e), LLM_ERR_LIMIT);
    }
    unlink(path);
    free(b.p);
}
END_TEST

START_TEST(test_corrupt_verify)
{
    /* A q8_0 tensor whose second block has an infinite scale. */
    buf b = {0};
    uint64_t ne[1] = {64};
    b_head(&b, 3, 1, 0);
    b_tensor(&b, "q", 1, ne, LLM_DTYPE_Q8_0, 0);
    b_pad(&b, 32);
    size_t at = b.n;
    b_data(&b, 68, 0);
    uint16_t inf = 0x7c00;
    memcpy(b.p + at + 34, &inf, 2);
    llm_gguf *g = NULL;
    llm_error e = {0};
    ck_assert_int_eq(llm_gguf_open_memory(b.p, b.n, NULL, &g, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_verify(g, &e), LLM_ERR_FORMAT);
    ck_assert_msg(strstr(e.msg, "tensor 'q'") && strstr(e.msg, "block 1"), "%s", e.msg);
    llm_gguf_close(g);
    free(b.p);
}
END_TEST

// ------------------------------------------------------------------------------------------------
// builder

static void assert_same_kv(const llm_gguf *a, const llm_gguf *b)
{
    ck_assert_uint_eq(llm_gguf_n_kv(a), llm_gguf_n_kv(b));
    for (uint64_t i = 0; i < llm_gguf_n_kv(a); i++) {
        const char *k = llm_gguf_key(a, i);
        ck_assert_str_eq(k, llm_gguf_key(b, i));
        ck_assert_int_eq(llm_gguf_kv_type(a, i), llm_gguf_kv_type(b, i));
    }
}

static void assert_same_tensors(const llm_gguf *a, const llm_gguf *b)
{
    ck_assert_uint_eq(llm_gguf_n_tensors(a), llm_gguf_n_tensors(b));
    for (uint64_t i = 0; i < llm_gguf_n_tensors(a); i++) {
        const llm_gguf_tensor *ta = llm_gguf_tensor_at(a, i), *tb = llm_gguf_tensor_at(b, i);
        ck_assert_str_eq(ta->name, tb->name);
        ck_assert_uint_eq(ta->type, tb->type);
        ck_assert_uint_eq(ta->n_dims, tb->n_dims);
        for (int d = 0; d < 4; d++)
            ck_assert_uint_eq(ta->ne[d], tb->ne[d]);
        ck_assert_uint_eq(ta->offset, tb->offset);
        ck_assert_uint_eq(ta->nbytes, tb->nbytes);
        ck_assert(memcmp(ta->data, tb->data, ta->nbytes) == 0);
    }
}

START_TEST(test_builder_roundtrip)
{
    llm_gguf *g = NULL, *r = NULL;
    llm_error e = {0};
    ck_assert_int_eq(llm_gguf_create(&g, &e), LLM_OK);
    uint8_t u8 = 200;
    int8_t i8 = -100;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    int64_t i64 = -((int64_t)1 << 40);
    double f64 = 3.25;
    ck_assert_int_eq(llm_gguf_set_scalar(g, "t.u8", LLM_GGUF_UINT8, &u8, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_scalar(g, "t.i8", LLM_GGUF_INT8, &i8, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_scalar(g, "t.u16", LLM_GGUF_UINT16, &u16, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_scalar(g, "t.i16", LLM_GGUF_INT16, &i16, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_scalar(g, "t.i64", LLM_GGUF_INT64, &i64, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_scalar(g, "t.f64", LLM_GGUF_FLOAT64, &f64, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_u32(g, "t.u32", 4000000000u, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_i32(g, "t.i32", -5, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_u64(g, "t.u64", UINT64_MAX, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_f32(g, "t.f32", 0.5f, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_bool(g, "t.bool", true, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_str(g, "t.str", "h\0llo", 5, &e), LLM_OK);
    const char *strs[] = {"one", "", "three"};
    ck_assert_int_eq(llm_gguf_set_arr_str(g, "t.astr", strs, NULL, 3, &e), LLM_OK);
    const int32_t ints[] = {1, -2, 3};
    ck_assert_int_eq(llm_gguf_set_arr(g, "t.ai32", LLM_GGUF_INT32, ints, 3, &e), LLM_OK);
    const float fl[] = {0.25f, -1.5f};
    ck_assert_int_eq(llm_gguf_set_arr(g, "t.af32", LLM_GGUF_FLOAT32, fl, 2, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_arr(g, "t.au8", LLM_GGUF_UINT8, "\1\2\3\4", 4, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_arr(g, "t.empty", LLM_GGUF_UINT32, NULL, 0, &e), LLM_OK);
    /* Replacing keeps the position. */
    ck_assert_int_eq(llm_gguf_set_i32(g, "t.i32", -6, &e), LLM_OK);
    /* A nested array copied from a parsed file. */
    buf sm = make_small();
    llm_gguf *small = NULL;
    ck_assert_int_eq(llm_gguf_open_memory(sm.p, sm.n, NULL, &small, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_copy_kv(g, small, (uint64_t)llm_gguf_find_key(small, "nested"), &e),
                     LLM_OK);
    ck_assert_int_eq(llm_gguf_set_u32(g, "general.alignment", 64, &e), LLM_OK);
    ck_assert_int_ne(llm_gguf_set_u32(g, "general.alignment", 48, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_set_u32(small, "x", 1, &e), LLM_ERR_STATE);

    float w[3 * 32];
    for (int i = 0; i < 96; i++)
        w[i] = sinf((float)i);
    uint64_t ne2[2] = {32, 3}, ne1[1] = {3};
    ck_assert_int_eq(llm_gguf_add_tensor(g, "w.f32", LLM_DTYPE_F32, 2, ne2, w, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_add_tensor(g, "v", LLM_DTYPE_F32, 1, ne1, w, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_add_tensor(g, "w.q8", LLM_DTYPE_F32, 2, ne2, w, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_convert_tensor(g, 2, LLM_DTYPE_Q8_0, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_add_tensor(g, "w.f16", LLM_DTYPE_F32, 2, ne2, w, &e), LLM_OK);
    ck_assert_int_eq(llm_gguf_convert_tensor(g, 3, LLM_DTYPE_F16, &e), LLM_OK);
    ck_assert_int_ne(llm_gguf_add_tensor(g, "v", LLM_DTYPE_F32, 1, ne1, w, &e), LLM_OK);
    ck_assert_int_ne(llm_gguf_add_tensor(g, "bad", LLM_DTYPE_Q8_0, 1, ne1, w, &e), LLM_OK);
    char longname[80];
    memset(longname, 'n', 79);
    longname[79] = 0;
    ck_assert_int_eq(llm_gguf_add_tensor(g, longname, LLM_DTYPE_F32, 1, ne1, w, &e),
                     LLM_ERR_INVALID_ARG);
    ck_assert_uint_eq(llm_gguf_find_tensor(g, "w.q8")->type, LLM_DTYPE_Q8_0);
    ck_assert_uint_eq(llm_gguf_find_tensor(g, "w.q8")->nbytes, 3 * 34);

    /* Getters on the builder itself. */
    int32_t i32v = 0;
    int64_t i64v = 0;
    ck_assert(llm_gguf_arr_i32(g, "t.ai32", &i32v, 1) && i32v == 1);
    ck_assert(llm_gguf_get_i64(g, "t.i32", &i64v) && i64v == -6);

    void *mem;
    size_t size;
    ck_assert_int_eq(llm_gguf_write_memory(g, &mem, &size, &e), LLM_OK);
    ck_assert_uint_eq(size, llm_gguf_file_size(g));
    ck_assert_int_eq(llm_gguf_open_memory(mem, size, NULL, &r, &e), LLM_OK);
    ck_assert_uint_eq(llm_gguf_alignment(r), 64);
    ck_assert_uint_eq(llm_gguf_data_offset(r), llm_gguf_data_offset(g));
    assert_same_kv(g, r);
    assert_same_tensors(g, r);

    uint32_t u;
    float f;
    bool bo;
    const char *s;
    size_t len;
    ck_assert(llm_gguf_get_u32(r, "t.u8", &u) && u == 200);
    ck_assert(!llm_gguf_get_u32(r, "t.i8", &u));
    ck_assert(llm_gguf_get_i64(r, "t.i8", &i64v) && i64v == -100);
    ck_assert(llm_gguf_get_u32(r, "t.u16", &u) && u == 60000);
    ck_assert(llm_gguf_get_i64(r, "t.i16", &i64v) && i64v == -30000);
    ck_assert(llm_gguf_get_i64(r, "t.i64", &i64v) && i64v == i64);
    ck_assert(llm_gguf_get_f32(r, "t.f64", &f) && f == 3.25f);
    ck_assert(llm_gguf_get_u32(r, "t.u32", &u) && u == 4000000000u);
    ck_assert(!llm_gguf_get_i64(r, "t.u64", &i64v));
    ck_assert(llm_gguf_get_f32(r, "t.f32", &f) && f == 0.5f);
    ck_assert(llm_gguf_get_bool(r, "t.bool", &bo) && bo);
    ck_assert(llm_gguf_get_str(r, "t.str", &s, &len) && len == 5 && memcmp(s, "h\0llo", 6) == 0);
    ck_assert_str_eq(llm_gguf_arr_str(r, "t.astr", 2, &len), "three");
    ck_assert_uint_eq(len, 5);
    int32_t iv[3];
    ck_assert(llm_gguf_arr_i32(r, "t.ai32", iv, 3) && iv[1] == -2);
    float fv[2];
    ck_assert(llm_gguf_arr_f32(r, "t.af32", fv, 2) && fv[1] == -1.5f);
    ck_assert(!llm_gguf_arr_i32(r, "t.af32", iv, 2));
    uint64_t nb;
    const uint8_t *raw = llm_gguf_arr_data(r, "t.au8", &nb);
    ck_assert(raw && nb == 4 && raw[3] == 4);
    llm_gguf_type et;
    uint64_t cnt;
    ck_assert(llm_gguf_get_arr(r, "nested", &et, &cnt) && et == LLM_GGUF_ARRAY && cnt == 2);
    ck_assert(llm_gguf_get_arr(r, "t.empty", &et, &cnt) && cnt == 0);
    ck_assert(llm_gguf_find_key(r, "t.i32") == 7);

    /* And through a file. */
    char path[] = "/tmp/llm_test_gguf_w_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ck_assert_int_eq(llm_gguf_write(g, path, &e), LLM_OK);
    llm_gguf *rf = NULL;
    ck_assert_int_eq(llm_gguf_open(path, NULL, &rf, &e), LLM_OK);
    assert_same_kv(g, rf);
    assert_same_tensors(g, rf);
    ck_assert_int_eq(llm_gguf_verify(rf, &e), LLM_OK);
    llm_gguf_close(rf);
    unlink(path);

    ck_assert(llm_gguf_remove_key(g, "t.u8"));
    ck_assert(!llm_gguf_remove_key(g, "t.u8"));
    ck_assert_int_eq(llm_gguf_find_key(g, "t.u8"), -1);
    ck_assert_int_ge(llm_gguf_find_key(g, "t.i8"), 0);

    llm_mem_free(mem);
    llm_gguf_close(r);
    llm_gguf_close(small);
    llm_gguf_close(g);
    free(sm.p);
}
END_TEST

/* Copying every key and tensor of real files reproduces them byte for byte: the writer lays out
 * files exactly as llama.cpp's gguf-py did. */
START_TEST(test_builder_rewrite_real)
{
    static const char *const files[] = {"models/stories260K/stories260K.gguf",
                                        "golden/models/gpt2-tiny-q4_0.gguf",
                                        "golden/models/t5-tiny-gated-q8_0.gguf",
                                        "vocab/ggml-vocab-bert-bge.gguf"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        size_t size;
        uint8_t *data = llm_test_read_file(llm_test_path(files[k]), &size);
        ck_assert_ptr_nonnull(data);
        llm_gguf *src = NULL, *g = NULL;
        llm_error e = {0};
        ck_assert_int_eq(llm_gguf_open_memory(data, size, NULL, &src, &e), LLM_OK);
        ck_assert_int_eq(llm_gguf_create(&g, &e), LLM_OK);
        for (uint64_t i = 0; i < llm_gguf_n_kv(src); i++)
            ck_assert_int_eq(llm_gguf_copy_kv(g, src, i, &e), LLM_OK);
        for (uint64_t i = 0; i < llm_gguf_n_tensors(src); i++) {
            const llm_gguf_tensor *t = llm_gguf_tensor_at(src, i);
            ck_assert_int_eq(llm_gguf_add_tensor(g, t->name, t->type, t->n_dims, t->ne, t->data,
                                                 &e),
                             LLM_OK);
        }
        void *mem;
        size_t n;
        ck_assert_int_eq(llm_gguf_write_memory(g, &mem, &n, &e), LLM_OK);
        ck_assert_msg(n == size, "%s: %zu bytes written, %zu in the file", files[k], n, size);
        ck_assert_msg(memcmp(mem, data, n) == 0, "%s differs", files[k]);
        llm_mem_free(mem);
        llm_gguf_close(g);
        llm_gguf_close(src);
        free(data);
    }
}
END_TEST

static Suite *gguf_suite(void)
{
    Suite *s = suite_create("gguf");
    const int data = llm_test_data_present();
    TCase *tc = tcase_create("shared");
    if (data) {
        tcase_add_test(tc, test_shared_open_all);
        tcase_add_test(tc, test_shared_stories_hparams);
    } else {
        llm_test_data_left_out("shared/open_all, shared/stories_hparams");
    }
    tcase_add_test(tc, test_shared_missing_file);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("corrupt");
    tcase_add_test(tc, test_corrupt_small_valid);
    tcase_add_test(tc, test_corrupt_truncate_every_byte);
    if (data) {
        tcase_add_test(tc, test_corrupt_truncate_real);
        tcase_add_test(tc, test_corrupt_flips);
    } else {
        llm_test_data_left_out("corrupt/truncate_real, corrupt/flips");
    }
    tcase_add_test(tc, test_corrupt_header);
    tcase_add_test(tc, test_corrupt_metadata);
    tcase_add_test(tc, test_corrupt_tensors);
    tcase_add_test(tc, test_corrupt_limits);
    tcase_add_test(tc, test_corrupt_verify);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("builder");
    tcase_add_test(tc, test_builder_roundtrip);
    if (data)
        tcase_add_test(tc, test_builder_rewrite_real);
    else
        llm_test_data_left_out("builder/rewrite_real");
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return llm_test_run(gguf_suite());
}
