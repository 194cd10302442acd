/*
 * libFuzzer target for the GGUF reader: parses the input with llm_gguf_open_memory, then walks
 * every getter, verifies the block scales, and round-trips the file through the builder and the
 * writer. A failure must come with a message; anything else (crash, leak, sanitizer report) is a
 * bug. Build with clang (tests/fuzz/meson.build); seeds are in corpus_gguf/.
 */
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "model/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const llm_gguf *g)
{
    for (uint64_t i = 0; i < llm_gguf_n_kv(g); i++) {
        const char *k = llm_gguf_key(g, i);
        uint32_t u;
        int64_t s;
        float f;
        bool b;
        const char *str;
        size_t len;
        llm_gguf_type et;
        uint64_t n;
        (void)llm_gguf_kv_type(g, i);
        (void)llm_gguf_get_u32(g, k, &u);
        (void)llm_gguf_get_i64(g, k, &s);
        (void)llm_gguf_get_f32(g, k, &f);
        (void)llm_gguf_get_bool(g, k, &b);
        if (llm_gguf_get_str(g, k, &str, &len) && len && str[len] != '\0')
            __builtin_trap();
        if (llm_gguf_find_key(g, k) != (int64_t)i)
            __builtin_trap();
        if (llm_gguf_get_arr(g, k, &et, &n)) {
            float fb[64];
            int32_t ib[64];
            uint64_t m = n < 64 ? n : 64;
            (void)llm_gguf_arr_f32(g, k, fb, m);
            (void)llm_gguf_arr_i32(g, k, ib, m);
            for (uint64_t j = 0; j < m; j++) {
                const char *e = llm_gguf_arr_str(g, k, j, &len);
                if (e && e[len] != '\0')
                    __builtin_trap();
            }
            uint64_t nb;
            const uint8_t *raw = llm_gguf_arr_data(g, k, &nb);
            if (raw && nb)
                (void)*(volatile const uint8_t *)&raw[nb - 1];
        }
    }
    for (uint64_t i = 0; i < llm_gguf_n_tensors(g); i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        if (llm_gguf_find_tensor(g, t->name) != t)
            __builtin_trap();
        const volatile uint8_t *p = t->data;
        (void)p[0];
        (void)p[t->nbytes - 1];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    llm_gguf_limits lim;
    llm_gguf_limits_default(&lim);
    lim.max_array_length = 1u << 16;
    lim.max_string_length = 1u << 16;
    llm_gguf *g = NULL;
    llm_error e = {0};
    if (llm_gguf_open_memory(data, size, &lim, &g, &e) != LLM_OK) {
        if (g || !e.msg[0])
            __builtin_trap();
        return 0;
    }
    walk(g);
    (void)llm_gguf_verify(g, &e);

    /* Rebuild and rewrite it; the copy must parse to the same counts. */
    llm_gguf *b = NULL;
    if (llm_gguf_create(&b, &e) == LLM_OK) {
        bool ok = true;
        for (uint64_t i = 0; ok && i < llm_gguf_n_kv(g); i++)
            ok = llm_gguf_copy_kv(b, g, i, &e) == LLM_OK;
        for (uint64_t i = 0; ok && i < llm_gguf_n_tensors(g); i++) {
            const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
            /* Names of 64 bytes or more are legal to read but not written (ggml's limit). */
            if (strlen(t->name) < 64)
                ok = llm_gguf_add_tensor(b, t->name, t->type, t->n_dims, t->ne, t->data, &e) ==
                     LLM_OK;
        }
        void *mem = NULL;
        size_t n = 0;
        /* A huge general.alignment pads every tensor to it: skip what would not fit. */
        if (ok && llm_gguf_file_size(b) <= (64u << 20) &&
            llm_gguf_write_memory(b, &mem, &n, &e) == LLM_OK) {
            llm_gguf *r = NULL;
            if (llm_gguf_open_memory(mem, n, &lim, &r, &e) != LLM_OK)
                __builtin_trap();
            if (llm_gguf_n_kv(r) != llm_gguf_n_kv(b) || llm_gguf_n_tensors(r) != llm_gguf_n_tensors(b))
                __builtin_trap();
            llm_gguf_close(r);
            llm_mem_free(mem);
        }
        llm_gguf_close(b);
    }
    llm_gguf_close(g);
    return 0;
}
