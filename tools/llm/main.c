/*
 * `llm`: the command-line face of libllm. main() only dispatches to the subcommand named by the
 * first argument; each subcommand lives in its own cmd_*.c file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const llm_cli_cmd commands[] = {
    {"info", llm_cmd_info, "CPU features, selected kernels, library version"},
    {"bench", llm_cmd_bench, "benchmarks: kernels, tokenize (llm bench --help)"},
    /* subcommands: keep one line each, in the order of `llm --help` */
    {"generate", llm_cmd_generate, "stream a continuation of a prompt (decoders, T5)"},
    {"logits", llm_cmd_logits, "write the logits of every prompt position as float32"},
    {"tokenize", llm_cmd_tokenize, "text to token ids (any tokenizer file, model or directory)"},
    {"detokenize", llm_cmd_detokenize, "token ids to text"},
    {"perplexity", llm_cmd_perplexity, "perplexity of a decoder over a text (llama-perplexity's method)"},
    {"embed", llm_cmd_embed, "sentence embeddings or token vectors of texts (encoder models)"},
    {"inspect", llm_cmd_inspect, "architecture, hyper-parameters, tokenizer and tensors of a model"},
    {"convert", llm_cmd_convert, "Hugging Face directory to GGUF (f32, f16, bf16, q8_0, q4_0)"},
};

static void print_help(FILE *out)
{
    fprintf(out, "usage: llm COMMAND [OPTIONS]\n\n"
                 "Run transformer language models on the CPU.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'llm COMMAND --help' describes a command. 'llm --version' prints the version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("llm %s (libllm %s, kernels %s)\n", LLM_VERSION_STRING, llm_version_string(),
               llm_kernel_isa());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "llm: unknown command '%s'\n", name);
    print_help(stderr);
    return 2;
}
