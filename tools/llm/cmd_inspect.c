/*
 * `llm inspect PATH [--json] [--verify] [--ctx N]`: what a model file holds, without running it.
 * PATH is a GGUF file or a Hugging Face directory (imported in memory). Prints the architecture
 * and hyper-parameters from the metadata, the tokenizer (from tokenizer.ggml.*; for a directory,
 * from its tokenizer files), every tensor with its type, shape and size, totals per type, and the
 * KV cache a session of N positions needs (f32 cache: 2 * n_layer * N * n_head_kv * head_dim * 4
 * bytes). --verify checks every quantized block scale for NaN/Inf. Exits 1 on any bad file.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/dtype.h"
#include "common/path.h"
#include "model/gguf.h"
#include "model/hf_import.h"

enum { OPT_JSON = LLM_CLI_LONG_ONLY, OPT_VERIFY, OPT_CTX };

const llm_cli_opt llm_inspect_opts[] = {
    {OPT_JSON, "json", LLM_CLI_FLAG, NULL},
    {OPT_VERIFY, "verify", LLM_CLI_FLAG, NULL},
    {'c', "ctx", LLM_CLI_TEXT, NULL},
    LLM_CLI_OPT_END,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: llm inspect PATH [--json] [--verify] [--ctx N]\n\n"
            "Describes a GGUF file or a Hugging Face model directory: architecture,\n"
            "hyper-parameters, tokenizer, every tensor (name, type, shape, bytes), totals and\n"
            "the KV-cache size of a session.\n\n"
            "  --json       machine-readable output\n"
            "  --verify     check every quantized block scale for NaN/Inf\n"
            "  -c, --ctx N  context length for the KV-cache estimate (default: the model's)\n");
}

static const char *type_name(uint32_t t)
{
    const llm_dtype_traits *tr = llm_dtype_get(t);
    return tr && tr->name ? tr->name : "?";
}

/* A metadata value as text (arrays as "[type x N: a, b, ...]"). */
static void value_text(const llm_gguf *g, uint64_t i, char *buf, size_t cap)
{
    const char *k = llm_gguf_key(g, i);
    llm_gguf_type ty = llm_gguf_kv_type(g, i);
    const char *s;
    size_t len;
    int64_t iv;
    uint32_t uv;
    float fv;
    bool bv;
    llm_gguf_type et;
    uint64_t n;
    if (llm_gguf_get_str(g, k, &s, &len)) {
        snprintf(buf, cap, "\"%.*s%s\"", (int)(len > 60 ? 60 : len), s, len > 60 ? "..." : "");
    } else if (llm_gguf_get_arr(g, k, &et, &n)) {
        static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                            "bool", "str", "arr", "u64", "i64", "f64"};
        size_t o = (size_t)snprintf(buf, cap, "[%s x %" PRIu64,
                             (unsigned)et < 13 ? names[et] : "?", n);
        for (uint64_t j = 0; j < n && j < 4 && o + 40 < cap; j++) {
            if (et == LLM_GGUF_STRING) {
                const char *e = llm_gguf_arr_str(g, k, j, &len);
                o += (size_t)snprintf(buf + o, cap - o, "%s\"%.*s\"", j ? ", " : ": ",
                                      (int)(len > 16 ? 16 : len), e);
            }
        }
        snprintf(buf + o, cap - o, "%s]", n > 4 && et == LLM_GGUF_STRING ? ", ..." : "");
    } else if (ty == LLM_GGUF_BOOL && llm_gguf_get_bool(g, k, &bv)) {
        snprintf(buf, cap, "%s", bv ? "true" : "false");
    } else if ((ty == LLM_GGUF_FLOAT32 || ty == LLM_GGUF_FLOAT64) && llm_gguf_get_f32(g, k, &fv)) {
        snprintf(buf, cap, "%g", (double)fv);
    } else if (llm_gguf_get_u32(g, k, &uv)) {
        snprintf(buf, cap, "%" PRIu32, uv);
    } else if (llm_gguf_get_i64(g, k, &iv)) {
        snprintf(buf, cap, "%" PRId64, iv);
    } else {
        snprintf(buf, cap, "(uint64 beyond int64)");
    }
}

static json_t *value_json(const llm_gguf *g, uint64_t i)
{
    const char *k = llm_gguf_key(g, i);
    llm_gguf_type ty = llm_gguf_kv_type(g, i);
    const char *s;
    size_t len;
    int64_t iv;
    float fv;
    bool bv;
    llm_gguf_type et;
    uint64_t n;
    if (llm_gguf_get_str(g, k, &s, &len))
        return json_stringn_nocheck(s, len);
    if (llm_gguf_get_arr(g, k, &et, &n))
        return json_pack("{s:i,s:I}", "element_type", (int)et, "length", (json_int_t)n);
    if (ty == LLM_GGUF_BOOL && llm_gguf_get_bool(g, k, &bv))
        return json_boolean(bv);
    if ((ty == LLM_GGUF_FLOAT32 || ty == LLM_GGUF_FLOAT64) && llm_gguf_get_f32(g, k, &fv))
        return json_real(fv);
    if (llm_gguf_get_i64(g, k, &iv))
        return json_integer(iv);
    return json_null();
}

static bool key_u32(const llm_gguf *g, const char *arch, const char *key, uint32_t *out)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    return llm_gguf_get_u32(g, full, out);
}

typedef struct tok_info {
    const char *model;
    uint64_t n_tokens;
    uint64_t n_merges;
    struct {
        const char *what;
        int64_t id;
        char text[48];
    } special[8];
    int n_special;
} tok_info;

static void tokenizer_from_meta(const llm_gguf *g, tok_info *t)
{
    size_t len;
    llm_gguf_type et;
    if (!llm_gguf_get_str(g, "tokenizer.ggml.model", &t->model, &len))
        t->model = NULL;
    if (!llm_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &t->n_tokens))
        t->n_tokens = 0;
    if (!llm_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &t->n_merges))
        t->n_merges = 0;
    static const char *const names[] = {"bos", "eos", "unknown", "seperator", "padding", "cls",
                                        "mask", "eot"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char key[64];
        int64_t id;
        snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", names[i]);
        if (!llm_gguf_get_i64(g, key, &id) || id < 0 || (uint64_t)id >= t->n_tokens)
            continue;
        int k = t->n_special++;
        t->special[k].what = names[i];
        t->special[k].id = id;
        const char *p = llm_gguf_arr_str(g, "tokenizer.ggml.tokens", (uint64_t)id, &len);
        snprintf(t->special[k].text, sizeof t->special[k].text, "%.*s",
                 (int)(len > 40 ? 40 : len), p ? p : "");
    }
}

static void tokenizer_from_dir(const char *dir, tok_info *t, llm_tokenizer **keep)
{
    llm_tokenizer *tok = NULL;
    if (llm_tokenizer_open(dir, &tok) != LLM_OK)
        return;
    static const char *const kinds[] = {"none", "gpt2 (byte-level BPE)", "llama (SentencePiece BPE)",
                                        "t5 (unigram)", "bert (WordPiece)"};
    llm_tokenizer_kind k = llm_tokenizer_get_kind(tok);
    t->model = (unsigned)k < 5 ? kinds[k] : "?";
    t->n_tokens = llm_tokenizer_vocab_size(tok);
    static const struct {
        llm_special_token which;
        const char *what;
    } sp[] = {{LLM_TOKEN_BOS, "bos"}, {LLM_TOKEN_EOS, "eos"}, {LLM_TOKEN_UNK, "unknown"},
              {LLM_TOKEN_SEP, "seperator"}, {LLM_TOKEN_PAD, "padding"}, {LLM_TOKEN_CLS, "cls"},
              {LLM_TOKEN_MASK, "mask"}, {LLM_TOKEN_EOT, "eot"}};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
        int32_t id = llm_tokenizer_special(tok, sp[i].which);
        if (id < 0)
            continue;
        int k2 = t->n_special++;
        size_t len = 0;
        const char *p = llm_tokenizer_piece(tok, id, &len);
        t->special[k2].what = sp[i].what;
        t->special[k2].id = id;
        snprintf(t->special[k2].text, sizeof t->special[k2].text, "%.*s",
                 (int)(len > 40 ? 40 : len), p ? p : "");
    }
    *keep = tok;
}

int llm_cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool as_json = false, verify = false;
    int64_t n_ctx = -1;
    llm_cli_parser p;
    llm_cli_parser_init(&p, "inspect", llm_inspect_opts, argc, argv);
    int c;
    while ((c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: usage(stdout); return 0;
        case OPT_JSON: as_json = true; break;
        case OPT_VERIFY: verify = true; break;
        case 'c':
            if (!llm_cli_parse_i64(p.arg, 1, (int64_t)1 << 24, &n_ctx))
                return llm_cli_usage("inspect", "--ctx needs a number from 1 to 16777216");
            break;
        case LLM_CLI_POSITIONAL:
            if (path)
                return llm_cli_usage("inspect", "unexpected argument '%s'", p.arg);
            path = p.arg;
            break;
        default: return llm_cli_usage("inspect", "unhandled option %s", p.spelled);
        }
    }
    if (!path)
        return llm_cli_usage("inspect", "no model file or directory given");

    bool is_dir = llm_path_is_dir(path);
    llm_gguf *g = NULL;
    llm_error err = {0};
    llm_status st = is_dir ? llm_hf_import(path, NULL, &g, &err) : llm_gguf_open(path, NULL, &g, &err);
    if (st != LLM_OK) {
        fprintf(stderr, "llm inspect: %s: %s: %s\n", path, llm_status_string(st), err.msg);
        return 1;
    }
    if (verify) {
        st = llm_gguf_verify(g, &err);
        if (st != LLM_OK) {
            fprintf(stderr, "llm inspect: %s: verification failed: %s\n", path, err.msg);
            llm_gguf_close(g);
            return 1;
        }
    }

    const char *arch = "";
    size_t len;
    if (!llm_gguf_get_str(g, "general.architecture", &arch, &len))
        arch = "";
    const char *name = NULL;
    llm_gguf_get_str(g, "general.name", &name, &len);

    /* Hyper-parameters for the KV cache. */
    uint32_t n_layer = 0, n_head = 0, n_head_kv = 0, n_embd = 0, head_dim = 0, ctx_train = 0;
    key_u32(g, arch, "block_count", &n_layer);
    key_u32(g, arch, "decoder_block_count", &n_layer);
    key_u32(g, arch, "attention.head_count", &n_head);
    if (!key_u32(g, arch, "attention.head_count_kv", &n_head_kv))
        n_head_kv = n_head;
    key_u32(g, arch, "embedding_length", &n_embd);
    if (!key_u32(g, arch, "attention.key_length", &head_dim))
        head_dim = n_head ? n_embd / n_head : 0;
    key_u32(g, arch, "context_length", &ctx_train);
    bool decoder = strcmp(arch, "bert") != 0 && *arch;
    uint64_t kv_ctx = n_ctx > 0 ? (uint64_t)n_ctx : ctx_train;
    uint64_t kv_bytes = decoder ? 2ull * n_layer * kv_ctx * n_head_kv * head_dim * 4 : 0;

    tok_info tok = {0};
    llm_tokenizer *dir_tok = NULL;
    tokenizer_from_meta(g, &tok);
    if (!tok.model && is_dir)
        tokenizer_from_dir(path, &tok, &dir_tok);

    /* Totals per type. */
    uint64_t n_tensors = llm_gguf_n_tensors(g), params = 0, bytes = 0;
    uint64_t per_type_n[LLM_DTYPE_COUNT] = {0}, per_type_bytes[LLM_DTYPE_COUNT] = {0};
    for (uint64_t i = 0; i < n_tensors; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        uint64_t ne = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        params += ne;
        bytes += t->nbytes;
        if (t->type < LLM_DTYPE_COUNT) {
            per_type_n[t->type]++;
            per_type_bytes[t->type] += t->nbytes;
        }
    }

    if (as_json) {
        json_t *root = json_object();
        json_object_set_new(root, "path", json_string(path));
        json_object_set_new(root, "format", json_string(is_dir ? "huggingface" : "gguf"));
        if (!is_dir) {
            json_object_set_new(root, "gguf_version", json_integer(llm_gguf_version(g)));
            json_object_set_new(root, "file_bytes", json_integer((json_int_t)llm_gguf_file_size(g)));
            json_object_set_new(root, "alignment", json_integer((json_int_t)llm_gguf_alignment(g)));
        }
        json_object_set_new(root, "architecture", json_string(arch));
        json_t *meta = json_object();
        for (uint64_t i = 0; i < llm_gguf_n_kv(g); i++)
            json_object_set_new(meta, llm_gguf_key(g, i), value_json(g, i));
        json_object_set_new(root, "metadata", meta);
        json_t *jt = json_object();
        json_object_set_new(jt, "model", tok.model ? json_string(tok.model) : json_null());
        json_object_set_new(jt, "size", json_integer((json_int_t)tok.n_tokens));
        json_object_set_new(jt, "merges", json_integer((json_int_t)tok.n_merges));
        json_t *sp = json_object();
        for (int i = 0; i < tok.n_special; i++)
            json_object_set_new(sp, tok.special[i].what,
                                json_pack("{s:I,s:s}", "id", (json_int_t)tok.special[i].id,
                                          "text", tok.special[i].text));
        json_object_set_new(jt, "special", sp);
        json_object_set_new(root, "tokenizer", jt);
        json_t *arr = json_array();
        for (uint64_t i = 0; i < n_tensors; i++) {
            const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
            json_t *shape = json_array();
            for (uint32_t d = 0; d < t->n_dims; d++)
                json_array_append_new(shape, json_integer((json_int_t)t->ne[d]));
            json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:I,s:I}", "name", t->name, "type",
                                                 type_name(t->type), "shape", shape, "bytes",
                                                 (json_int_t)t->nbytes, "offset",
                                                 (json_int_t)t->offset));
        }
        json_object_set_new(root, "tensors", arr);
        json_object_set_new(root, "totals",
                            json_pack("{s:I,s:I,s:I}", "tensors", (json_int_t)n_tensors,
                                      "parameters", (json_int_t)params, "bytes", (json_int_t)bytes));
        json_object_set_new(root, "kv_cache",
                            json_pack("{s:I,s:I}", "n_ctx", (json_int_t)kv_ctx, "bytes",
                                      (json_int_t)kv_bytes));
        if (verify)
            json_object_set_new(root, "verified", json_true());
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("file          %s\n", path);
        if (is_dir)
            printf("format        Hugging Face directory (imported)\n");
        else
            printf("format        GGUF v%" PRIu32 ", %" PRIu64 " bytes, alignment %" PRIu64 "\n",
                   llm_gguf_version(g), llm_gguf_file_size(g), llm_gguf_alignment(g));
        printf("architecture  %s%s%s%s\n", *arch ? arch : "(none)", name ? " (" : "",
               name ? name : "", name ? ")" : "");
        printf("\nhyper-parameters\n");
        size_t al = strlen(arch);
        for (uint64_t i = 0; i < llm_gguf_n_kv(g); i++) {
            const char *k = llm_gguf_key(g, i);
            if (!(al && !strncmp(k, arch, al) && k[al] == '.') && strncmp(k, "llm.", 4) != 0 &&
                strcmp(k, "general.file_type") != 0)
                continue;
            char v[200];
            value_text(g, i, v, sizeof v);
            printf("  %-44s %s\n", k, v);
        }
        printf("\ntokenizer     ");
        if (tok.model) {
            printf("%s, %" PRIu64 " tokens", tok.model, tok.n_tokens);
            if (tok.n_merges)
                printf(", %" PRIu64 " merges", tok.n_merges);
            printf("\n");
            for (int i = 0; i < tok.n_special; i++)
                printf("  %-10s %6" PRId64 "  \"%s\"\n", tok.special[i].what, tok.special[i].id,
                       tok.special[i].text);
        } else {
            printf("(none)\n");
        }
        printf("\ntensors\n");
        for (uint64_t i = 0; i < n_tensors; i++) {
            const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
            char shape[96];
            int o = snprintf(shape, sizeof shape, "[");
            for (uint32_t d = 0; d < t->n_dims; d++)
                o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%" PRIu64, d ? ", " : "",
                              t->ne[d]);
            snprintf(shape + o, sizeof shape - (size_t)o, "]");
            printf("  %-40s %-6s %-22s %12" PRIu64 "\n", t->name, type_name(t->type), shape,
                   t->nbytes);
        }
        printf("\ntotals        %" PRIu64 " tensors, %" PRIu64 " parameters, %" PRIu64
               " bytes (%.2f MiB)\n",
               n_tensors, params, bytes, (double)bytes / (1 << 20));
        for (uint32_t ty = 0; ty < LLM_DTYPE_COUNT; ty++)
            if (per_type_n[ty])
                printf("  %-6s %4" PRIu64 " tensors %14" PRIu64 " bytes\n", type_name(ty),
                       per_type_n[ty], per_type_bytes[ty]);
        if (decoder)
            printf("kv cache      %" PRIu64 " bytes (%.2f MiB) for %" PRIu64
                   " positions (f32: 2 x %" PRIu32 " layers x %" PRIu32 " kv heads x %" PRIu32
                   " dims)\n",
                   kv_bytes, (double)kv_bytes / (1 << 20), kv_ctx, n_layer, n_head_kv, head_dim);
        else
            printf("kv cache      none (encoder-only model)\n");
        if (verify)
            printf("verify        every quantized block scale is finite\n");
    }
    llm_tokenizer_close(dir_tok);
    llm_gguf_close(g);
    return 0;
}
