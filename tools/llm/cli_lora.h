/*
 * `--lora FILE[:SCALE]`, the same for every command that runs a model: repeatable, each an
 * adapter GGUF or a PEFT folder with an optional scale (default 1.0), attached to the command's
 * session in the order given.
 */
#ifndef LLM_TOOLS_CLI_LORA_H
#define LLM_TOOLS_CLI_LORA_H

#include "cli.h"

/* The option's id in every table (long form only). */
#define LLM_CLI_LORA_ID (LLM_CLI_LONG_ONLY + 200)
#define LLM_CLI_OPT_LORA {LLM_CLI_LORA_ID, "lora", LLM_CLI_PATH, NULL}
#define LLM_CLI_LORA_HELP                                                                          \
    "  --lora FILE[:SCALE]  attach a LoRA adapter (llama.cpp adapter GGUF or PEFT folder) at\n"    \
    "                       SCALE (default 1); repeatable\n"

#define LLM_CLI_MAX_LORAS 16

typedef struct llm_cli_loras {
    char *path[LLM_CLI_MAX_LORAS];
    float scale[LLM_CLI_MAX_LORAS];
    llm_adapter *adapter[LLM_CLI_MAX_LORAS];
    int n;
} llm_cli_loras;

/* Records the value of the --lora just parsed. 0, or 2 after a usage message. */
int llm_cli_lora_arg(llm_cli_loras *l, const llm_cli_parser *p);
/* Opens every adapter for `m` (and attaches it to `s` when s is not NULL). 0, or 1 after a
 * message naming the adapter. */
int llm_cli_lora_open(llm_cli_loras *l, const char *cmd, llm_model *m, llm_session *s);
/* Closes the adapters and frees the paths. */
void llm_cli_lora_free(llm_cli_loras *l);

#endif /* LLM_TOOLS_CLI_LORA_H */
