/*
 * `llm`: the command-line face of libllm. main() only dispatches to the subcommand named by the
 * first argument; each subcommand lives in its own cmd_*.c file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const llm_cli_cmd llm_cli_commands[] = {
    {"info", llm_cmd_info, "CPU features, selected kernels, library version", NULL, NULL,
     LLM_CLI_FLAG},
    {"bench", llm_cmd_bench, "benchmarks: kernels, tokenize (llm bench --help)", NULL,
     llm_bench_commands, LLM_CLI_FLAG},
    /* subcommands: keep one line each, in the order of `llm --help`; the fields are the name,
     * the function, the summary, the option table, subcommands, and what positional arguments
     * are (for completion) */
    {"generate", llm_cmd_generate, "stream a continuation of a prompt (decoders, T5)",
     llm_generate_opts, NULL, LLM_CLI_FLAG},
    {"logits", llm_cmd_logits, "write the logits of every prompt position as float32",
     llm_logits_opts, NULL, LLM_CLI_FLAG},
    {"tokenize", llm_cmd_tokenize, "text to token ids (any tokenizer file, model or directory)",
     llm_tokenize_opts, NULL, LLM_CLI_TEXT},
    {"detokenize", llm_cmd_detokenize, "token ids to text", llm_detokenize_opts, NULL,
     LLM_CLI_TEXT},
    {"perplexity", llm_cmd_perplexity, "perplexity of a decoder over a text (llama-perplexity's "
     "method)", llm_perplexity_opts, NULL, LLM_CLI_FLAG},
    {"embed", llm_cmd_embed, "sentence embeddings or token vectors of texts (encoder models)",
     llm_embed_opts, NULL, LLM_CLI_TEXT},
    {"classify", llm_cmd_classify, "label probabilities of texts (sequence classification heads)",
     llm_classify_opts, NULL, LLM_CLI_TEXT},
    {"fill-mask", llm_cmd_fill_mask, "the most likely tokens for every [MASK] (masked-LM heads)",
     llm_fill_mask_opts, NULL, LLM_CLI_TEXT},
    {"inspect", llm_cmd_inspect, "architecture, hyper-parameters, tokenizer and tensors of a model",
     llm_inspect_opts, NULL, LLM_CLI_PATH},
    {"serve", llm_cmd_serve, "OpenAI-compatible HTTP server: completions, chat, embeddings",
     llm_serve_opts, NULL, LLM_CLI_FLAG},
    {"convert", llm_cmd_convert, "Hugging Face directory to GGUF (f32, f16, bf16, q8_0, q4_0)",
     llm_convert_opts, NULL, LLM_CLI_PATH},
    {"template", llm_cmd_template, "render a conversation through a chat template, byte for byte",
     llm_template_opts, NULL, LLM_CLI_FLAG},
    {"chat", llm_cmd_chat, "talk with a chat model (history, streaming, /reset, /save)",
     llm_chat_opts, NULL, LLM_CLI_FLAG},
    {"export", llm_cmd_export, "a model with LoRA adapters merged into its weights (--merge)",
     llm_export_opts, NULL, LLM_CLI_FLAG},
    {NULL, NULL, NULL, NULL, NULL, LLM_CLI_FLAG},
};

static void print_help(FILE *out)
{
    fprintf(out, "usage: llm COMMAND [OPTIONS]\n\n"
                 "Run transformer language models on the CPU.\n\ncommands:\n");
    for (const llm_cli_cmd *c = llm_cli_commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
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
    for (const llm_cli_cmd *c = llm_cli_commands; c->name; c++)
        if (strcmp(name, c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "llm: unknown command '%s'\n", name);
    print_help(stderr);
    return 2;
}
