/* PEFT folder fixtures from adapter GGUFs (peft_writer.h). */
#include "peft_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "model/gguf.h"
#include "st_writer.h"

typedef struct name_map {
    const char *gguf;   /* after "blk.%u." */
    const char *hf;     /* the module path, "%u" the layer */
    int permute;        /* 1: q rows (n_head), 2: k rows (n_head_kv) */
} name_map;

static const name_map gpt2_names[] = {
    {"attn_qkv.weight", "transformer.h.%u.attn.c_attn", 0},
    {"attn_output.weight", "transformer.h.%u.attn.c_proj", 0},
    {"ffn_up.weight", "transformer.h.%u.mlp.c_fc", 0},
    {"ffn_down.weight", "transformer.h.%u.mlp.c_proj", 0},
    {NULL, NULL, 0},
};

static const name_map llama_names[] = {
    {"attn_q.weight", "model.layers.%u.self_attn.q_proj", 1},
    {"attn_k.weight", "model.layers.%u.self_attn.k_proj", 2},
    {"attn_v.weight", "model.layers.%u.self_attn.v_proj", 0},
    {"attn_output.weight", "model.layers.%u.self_attn.o_proj", 0},
    {"ffn_gate.weight", "model.layers.%u.mlp.gate_proj", 0},
    {"ffn_up.weight", "model.layers.%u.mlp.up_proj", 0},
    {"ffn_down.weight", "model.layers.%u.mlp.down_proj", 0},
    {NULL, NULL, 0},
};

static char *path_in(const char *dir, const char *name)
{
    static char buf[2][1024];
    static int k;
    char *p = buf[k++ & 1];
    snprintf(p, 1024, "%s/%s", dir, name);
    return p;
}

void peft_remove(const char *dir)
{
    unlink(path_in(dir, "adapter_config.json"));
    unlink(path_in(dir, "adapter_model.safetensors"));
    rmdir(dir);
}

int peft_write_from_gguf(const char *gguf_path, const char *dir, const peft_fixture *fx)
{
    llm_error err = {0};
    llm_gguf *g = NULL;
    if (llm_gguf_open(gguf_path, NULL, &g, &err) != LLM_OK)
        return -1;
    const name_map *names = strcmp(fx->arch, "llama") == 0 ? llama_names : gpt2_names;
    mkdir(dir, 0755);
    stw w = {0};
    char targets[512] = "";
    uint64_t rank = 0;
    int rc = 0;
    for (uint64_t i = 0; i < llm_gguf_n_tensors(g) && rc == 0; i++) {
        const llm_gguf_tensor *t = llm_gguf_tensor_at(g, i);
        unsigned layer = 0;
        int used = 0;
        if (sscanf(t->name, "blk.%u.%n", &layer, &used) != 1 || used == 0) {
            rc = -1;
            break;
        }
        const char *rest = t->name + used;
        size_t len = strlen(rest);
        int is_b = len > 7 && strcmp(rest + len - 7, ".lora_b") == 0;
        const name_map *hit = NULL;
        for (const name_map *nm = names; nm->gguf && !hit; nm++)
            if (strlen(nm->gguf) == len - 7 && strncmp(nm->gguf, rest, len - 7) == 0)
                hit = nm;
        if (!hit || t->type != 0 /* f32 */) {
            rc = -1;
            break;
        }
        char module[256], name[300];
        snprintf(module, sizeof module, hit->hf, layer);
        snprintf(name, sizeof name, "base_model.model.%s.%s.weight", module,
                 is_b ? "lora_B" : "lora_A");
        const uint64_t rows = t->ne[1], cols = t->ne[0];
        const float *src = t->data;
        float *d = malloc((size_t)(rows * cols) * sizeof *d);
        memcpy(d, src, (size_t)(rows * cols) * sizeof *d);
        if (is_b && hit->permute) {
            /* the inverse of (n_head, 2, half, cols) -> (n_head, half, 2, cols) */
            uint32_t nh = hit->permute == 1 ? fx->n_head : fx->n_head_kv;
            uint64_t hd = rows / nh, half = hd / 2;
            for (uint64_t r = 0; r < rows; r++) {
                uint64_t h = r / hd, x = r % hd, sr = h * hd + (x % 2) * half + x / 2;
                memcpy(d + sr * cols, src + r * cols, (size_t)cols * sizeof *d);
            }
        }
        const uint64_t shape[2] = {rows, cols};
        stw_add(&w, name, "F32", 2, shape, d, (size_t)(rows * cols) * sizeof *d);
        free(d);
        if (!is_b)
            rank = rows;
        const char *leaf = strrchr(module, '.') + 1;
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", leaf);
        if (!strstr(targets, quoted))
            snprintf(targets + strlen(targets), sizeof targets - strlen(targets), "%s%s",
                     targets[0] ? ", " : "", quoted);
    }
    float alpha = 0.0f;
    llm_gguf_get_f32(g, "adapter.lora.alpha", &alpha);
    llm_gguf_close(g);
    if (rc == 0)
        rc = stw_write(&w, path_in(dir, "adapter_model.safetensors"));
    stw_free(&w);
    FILE *f = rc == 0 ? fopen(path_in(dir, "adapter_config.json"), "w") : NULL;
    if (!f)
        return -1;
    if (fx->config_json)
        fputs(fx->config_json, f);
    else
        fprintf(f,
                "{\n  \"peft_type\": \"LORA\",\n  \"task_type\": \"CAUSAL_LM\",\n"
                "  \"r\": %llu,\n  \"lora_alpha\": %g,\n  \"lora_dropout\": 0.0,\n"
                "  \"bias\": \"none\",\n  \"fan_in_fan_out\": %s,\n"
                "  \"target_modules\": [%s],\n  \"use_rslora\": false,\n"
                "  \"modules_to_save\": null\n}\n",
                (unsigned long long)rank, (double)alpha,
                strcmp(fx->arch, "gpt2") == 0 ? "true" : "false", targets);
    return fclose(f) == 0 ? 0 : -1;
}
