/*
 * `llm convert HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0|q4_0]`: imports a Hugging Face model
 * directory and writes it as a GGUF file llama.cpp can load. 2-D weight matrices get the requested
 * type; norms, biases and other 1-D tensors stay f32 (as llama.cpp's converter does). Tokenizer
 * metadata comes from the tokenizer module's exporter (the directory's tokenizer files). A
 * progress bar goes to stderr when stderr is a terminal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/dtype.h"
#include "model/gguf.h"
#include "model/hf_import.h"

enum { OPT_TYPE = LLM_CLI_LONG_ONLY };

const llm_cli_opt llm_convert_opts[] = {
    {OPT_TYPE, "type", LLM_CLI_WORDS, "f32 f16 bf16 q8_0 q4_0"},
    LLM_CLI_OPT_END,
};

static void usage(FILE *out)
{
    fprintf(out, "usage: llm convert HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0|q4_0]\n\n"
                 "Converts a Hugging Face model directory (config.json, *.safetensors, tokenizer\n"
                 "files) of a GPT-2, Llama, BERT or T5 model to GGUF. 2-D weights get --type\n"
                 "(default f16); norms and biases stay f32.\n");
}

static void progress(void *user, uint64_t done, uint64_t total)
{
    (void)user;
    int width = 40, fill = total ? (int)(done * (uint64_t)width / total) : width;
    fprintf(stderr, "\rconverting [%.*s%*s] %" PRIu64 "/%" PRIu64, fill,
            "########################################", width - fill, "", done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

int llm_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *type_s = "f16";
    llm_cli_parser p;
    llm_cli_parser_init(&p, "convert", llm_convert_opts, argc, argv);
    int c;
    while ((c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: usage(stdout); return 0;
        case OPT_TYPE: type_s = p.arg; break;
        case LLM_CLI_POSITIONAL:
            if (!in)
                in = p.arg;
            else if (!out)
                out = p.arg;
            else
                return llm_cli_usage("convert", "unexpected argument '%s'", p.arg);
            break;
        default: return llm_cli_usage("convert", "unhandled option %s", p.spelled);
        }
    }
    if (!in || !out)
        return llm_cli_usage("convert", "needs a Hugging Face directory and an output file");
    static const struct {
        const char *name;
        uint32_t type;
    } types[] = {{"f32", LLM_DTYPE_F32},   {"f16", LLM_DTYPE_F16},   {"bf16", LLM_DTYPE_BF16},
                 {"q8_0", LLM_DTYPE_Q8_0}, {"q4_0", LLM_DTYPE_Q4_0}};
    uint32_t type = UINT32_MAX;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(type_s, types[i].name))
            type = types[i].type;
    if (type == UINT32_MAX)
        return llm_cli_usage("convert", "--type '%s' is not one of f32, f16, bf16, q8_0, q4_0",
                             type_s);

    double t0 = llm_cli_now();
    llm_gguf *g = NULL;
    llm_error err = {0};
    llm_status st = llm_hf_import(in, NULL, &g, &err);
    if (st != LLM_OK) {
        fprintf(stderr, "llm convert: %s: %s: %s\n", in, llm_status_string(st), err.msg);
        return 1;
    }
    bool tok_done = false;
    st = llm_hf_export_tokenizer(in, g, &tok_done, &err);
    if (st != LLM_OK) {
        fprintf(stderr, "llm convert: %s: tokenizer: %s: %s\n", in, llm_status_string(st),
                err.msg);
        llm_gguf_close(g);
        return 1;
    }
    if (!tok_done)
        fprintf(stderr, "llm convert: warning: %s has no tokenizer files; %s gets no "
                        "tokenizer.ggml.* metadata (llama.cpp needs it to load the model)\n",
                in, out);
    st = llm_hf_convert_types(g, type, isatty(STDERR_FILENO) ? progress : NULL, NULL, &err);
    if (st == LLM_OK)
        st = llm_gguf_write(g, out, &err);
    if (st != LLM_OK) {
        fprintf(stderr, "llm convert: %s: %s: %s\n", out, llm_status_string(st), err.msg);
        llm_gguf_close(g);
        return 1;
    }
    printf("wrote %s: %" PRIu64 " tensors, %" PRIu64 " bytes, %s weights, in %.2f s\n", out,
           llm_gguf_n_tensors(g), llm_gguf_file_size(g), type_s, llm_cli_now() - t0);
    llm_gguf_close(g);
    return 0;
}
