/*
 * safetensors reader tests: a valid file with every supported dtype, hand-made malformed headers
 * (each a clean error with a message), truncation at every byte, byte flips, limits, sharded
 * checkpoints and their index file. The files are written by tests/st_writer.c or by hand here.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/safetensors.h"
#include "st_writer.h"

static void *make_valid(size_t *size)
{
    stw w = {0};
    float f[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[4] = {0x3c00, 0x4000, 0x3f80, 0};
    int8_t i8[3] = {-1, 0, 1};
    uint64_t s23[2] = {2, 3}, s4[1] = {4}, s3[1] = {3}, s0[1] = {0};
    stw_add(&w, "a.weight", "F32", 2, s23, f, sizeof f);
    stw_add(&w, "b.half", "F16", 1, s4, h, sizeof h);
    stw_add(&w, "c.bf", "BF16", 1, s4, h, sizeof h);
    stw_add(&w, "d.i8", "I8", 1, s3, i8, sizeof i8);
    stw_add(&w, "e.u8", "U8", 1, s3, i8, sizeof i8);
    stw_add(&w, "f.empty", "F32", 1, s0, f, 0);
    stw_add(&w, "g.scalar", "I64", 0, s0, "\1\0\0\0\0\0\0\0", 8);
    void *p = stw_write_memory(&w, size);
    stw_free(&w);
    return p;
}

/* A file from a header string and `data` bytes of zeros. */
static void *make_raw(const char *header, size_t data, size_t *size)
{
    size_t hl = strlen(header);
    *size = 8 + hl + data;
    unsigned char *p = calloc(1, *size);
    uint64_t n = hl;
    memcpy(p, &n, 8);
    memcpy(p + 8, header, hl);
    return p;
}

static llm_status open_mem(const void *p, size_t n, const llm_gguf_limits *lim, llm_error *e)
{
    llm_safetensors *st = (llm_safetensors *)1;
    memset(e, 0, sizeof *e);
    llm_status s = llm_safetensors_open_memory(p, n, lim, &st, e);
    if (s == LLM_OK) {
        ck_assert_ptr_nonnull(st);
        llm_safetensors_close(st);
    } else {
        ck_assert_ptr_null(st);
        ck_assert_msg(e->msg[0], "status %d without a message", s);
    }
    return s;
}

static void expect(const char *header, size_t data, llm_status want, const char *needle)
{
    size_t n;
    void *p = make_raw(header, data, &n);
    llm_error e;
    llm_status s = open_mem(p, n, NULL, &e);
    ck_assert_msg(s == want, "%s: status %d, expected %d (%s)", header, s, want, e.msg);
    ck_assert_msg(strstr(e.msg, needle), "'%s' lacks '%s'", e.msg, needle);
    free(p);
}

START_TEST(test_valid)
{
    size_t n;
    void *p = make_valid(&n);
    llm_safetensors *st = NULL;
    llm_error e = {0};
    ck_assert_msg(llm_safetensors_open_memory(p, n, NULL, &st, &e) == LLM_OK, "%s", e.msg);
    ck_assert_uint_eq(llm_safetensors_n_tensors(st), 7);
    const llm_st_tensor *t = llm_safetensors_find(st, "a.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->dtype, LLM_ST_F32);
    ck_assert_uint_eq(t->n_dims, 2);
    ck_assert_uint_eq(t->shape[0], 2);
    ck_assert_uint_eq(t->shape[1], 3);
    ck_assert_uint_eq(t->nbytes, 24);
    ck_assert_float_eq(((const float *)t->data)[5], 6.0f);
    ck_assert_uint_eq(llm_safetensors_find(st, "b.half")->dtype, LLM_ST_F16);
    ck_assert_uint_eq(llm_safetensors_find(st, "c.bf")->dtype, LLM_ST_BF16);
    ck_assert_uint_eq(llm_safetensors_find(st, "d.i8")->dtype, LLM_ST_I8);
    ck_assert_uint_eq(llm_safetensors_find(st, "e.u8")->dtype, LLM_ST_U8);
    ck_assert_uint_eq(llm_safetensors_find(st, "f.empty")->nbytes, 0);
    ck_assert_uint_eq(llm_safetensors_find(st, "g.scalar")->n_dims, 0);
    ck_assert_ptr_null(llm_safetensors_find(st, "__metadata__"));
    /* Sorted by data offset. */
    ck_assert_str_eq(llm_safetensors_tensor_at(st, 0)->name, "a.weight");
    ck_assert_str_eq(llm_st_dtype_name(LLM_ST_BF16), "BF16");
    ck_assert_uint_eq(llm_st_dtype_size(LLM_ST_I64), 8);
    llm_safetensors_close(st);
    free(p);
}
END_TEST

START_TEST(test_malformed)
{
    unsigned char tiny[4] = {0};
    llm_error e;
    ck_assert_int_eq(open_mem(tiny, 4, NULL, &e), LLM_ERR_FORMAT);
    /* Header length past the end, and absurdly large. */
    unsigned char bad[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    ck_assert_int_eq(open_mem(bad, 16, NULL, &e), LLM_ERR_FORMAT);
    ck_assert(strstr(e.msg, "runs past the end"));
    memset(bad, 0xff, 8);
    ck_assert_int_eq(open_mem(bad, 16, NULL, &e), LLM_ERR_LIMIT);

    /* Regression (fuzzer): a header without tensors is a valid, empty file. */
    size_t en;
    void *empty = make_raw("{}      ", 0, &en);
    ck_assert_int_eq(open_mem(empty, en, NULL, &e), LLM_OK);
    free(empty);

    expect("[1, 2]", 0, LLM_ERR_FORMAT, "not a JSON object");
    expect("{\"a\": ", 0, LLM_ERR_FORMAT, "JSON header");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
           "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
           8, LLM_ERR_FORMAT, "duplicate");
    expect("{\"a\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
           LLM_ERR_UNSUPPORTED, "unknown dtype");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 8,
           LLM_ERR_FORMAT, "expected 8");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4,
           LLM_ERR_FORMAT, "not within");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8,
           LLM_ERR_FORMAT, "not within");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
           "\"data_offsets\": [0, 8]}}",
           8, LLM_ERR_FORMAT, "overflows");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], "
           "\"data_offsets\": [0, 8]}}",
           8, LLM_ERR_FORMAT, "overflows");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4,
           LLM_ERR_FORMAT, "shape[0]");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, -4]}}", 4,
           LLM_ERR_FORMAT, "data_offsets");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 18446744073709551615]}}",
           4, LLM_ERR_FORMAT, "JSON header");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, LLM_ERR_FORMAT, "data_offsets");
    expect("{\"a\": 3}", 4, LLM_ERR_FORMAT, "tensor 'a'");
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], "
           "\"data_offsets\": [0, 4]}}",
           4, LLM_ERR_FORMAT, "9 dimensions");
    expect("{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
           LLM_ERR_FORMAT, "empty name");
}
END_TEST

START_TEST(test_truncate_and_flip)
{
    size_t n;
    unsigned char *p = make_valid(&n);
    llm_error e;
    for (size_t cut = 0; cut < n; cut++) {
        llm_status s = open_mem(p, cut, NULL, &e);
        ck_assert_msg(s != LLM_OK, "cut at %zu opened", cut);
    }
    srand(7);
    for (int round = 0; round < 2000; round++) {
        unsigned char *q = malloc(n);
        memcpy(q, p, n);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++)
            q[(size_t)rand() % n] ^= (unsigned char)(1u << (rand() % 8));
        open_mem(q, n, NULL, &e);
        free(q);
    }
    free(p);
}
END_TEST

START_TEST(test_limits)
{
    size_t n;
    void *p = make_valid(&n);
    llm_gguf_limits lim;
    llm_error e;
    llm_gguf_limits_default(&lim);
    lim.max_tensor_count = 3;
    ck_assert_int_eq(open_mem(p, n, &lim, &e), LLM_ERR_LIMIT);
    llm_gguf_limits_default(&lim);
    lim.max_file_bytes = 16;
    ck_assert_int_eq(open_mem(p, n, &lim, &e), LLM_ERR_LIMIT);
    llm_gguf_limits_default(&lim);
    lim.max_string_length = 32;
    ck_assert_int_eq(open_mem(p, n, &lim, &e), LLM_ERR_LIMIT);
    free(p);
}
END_TEST

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

START_TEST(test_dir_and_shards)
{
    char dir[] = "/tmp/llm_test_st_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    llm_safetensors *st = NULL;
    llm_error e = {0};
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_ERR_IO);

    float v[2] = {1, 2};
    uint64_t s2[1] = {2};
    stw a = {0}, b = {0};
    stw_add(&a, "x", "F32", 1, s2, v, sizeof v);
    stw_add(&b, "y", "F32", 1, s2, v, sizeof v);
    size_t na, nb;
    void *pa = stw_write_memory(&a, &na), *pb = stw_write_memory(&b, &nb);
    write_file(dir, "m-1.safetensors", pa, na);
    write_file(dir, "m-2.safetensors", pb, nb);
    const char *idx = "{\"metadata\": {}, \"weight_map\": {\"x\": \"m-1.safetensors\", "
                      "\"y\": \"m-2.safetensors\"}}";
    write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
    for (int mode = 0; mode < 3; mode++) {
        llm_gguf_limits lim;
        llm_gguf_limits_default(&lim);
        lim.load_mode = mode;
        ck_assert_msg(llm_safetensors_open_dir(dir, &lim, &st, &e) == LLM_OK, "%s", e.msg);
        ck_assert_uint_eq(llm_safetensors_n_tensors(st), 2);
        ck_assert_ptr_nonnull(strstr(llm_safetensors_find(st, "y")->file, "m-2"));
        llm_safetensors_close(st);
    }
    /* A tensor the index places in the wrong shard. */
    idx = "{\"weight_map\": {\"x\": \"m-2.safetensors\", \"y\": \"m-2.safetensors\"}}";
    write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "'x'"));
    /* A duplicate name across shards. */
    write_file(dir, "m-2.safetensors", pa, na);
    idx = "{\"weight_map\": {\"x\": \"m-1.safetensors\", \"y\": \"m-2.safetensors\"}}";
    write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "duplicate"));
    /* Missing shard file, traversal, malformed index. */
    idx = "{\"weight_map\": {\"x\": \"m-9.safetensors\"}}";
    write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_ERR_IO);
    idx = "{\"weight_map\": {\"x\": \"/etc/passwd\"}}";
    write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_ERR_FORMAT);
    idx = "{\"weight_map\": [1]}";
    write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_ERR_FORMAT);
    ck_assert_ptr_null(st);

    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    unlink(path);
    write_file(dir, "model.safetensors", pa, na);
    ck_assert_int_eq(llm_safetensors_open_dir(dir, NULL, &st, &e), LLM_OK);
    llm_safetensors_close(st);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(llm_safetensors_open(path, NULL, &st, &e), LLM_OK);
    llm_safetensors_close(st);
    unlink(path);
    snprintf(path, sizeof path, "%s/m-1.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/m-2.safetensors", dir);
    unlink(path);
    ck_assert_int_eq(llm_safetensors_open(path, NULL, &st, &e), LLM_ERR_IO);
    rmdir(dir);
    free(pa);
    free(pb);
    stw_free(&a);
    stw_free(&b);
}
END_TEST

static Suite *st_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_truncate_and_flip);
    tcase_add_test(tc, test_limits);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_dir_and_shards);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(st_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
