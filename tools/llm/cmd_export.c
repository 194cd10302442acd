/*
 * `llm export --merge`: a model with LoRA adapters merged into its weights, written as one GGUF
 * (llm_model_export_merged). The result opens and runs like any model, without the adapters.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_lora.h"

static const char export_usage[] =
    "usage: llm export --merge -m MODEL --lora FILE[:SCALE] [--lora ...] -o OUT.gguf\n"
    "\n"
    "Writes MODEL (a GGUF file or a Hugging Face directory) with the adapters merged into its\n"
    "weights: W + SCALE * alpha/rank * B A for every matrix an adapter changes (f32, f16 and\n"
    "bf16 matrices keep their type; adapted quantized ones are written as f16). The merged\n"
    "model computes what MODEL computes with the adapters attached at those scales.\n"
    "\n"
    "options:\n"
    "  --merge              merge the --lora adapters into the weights (required)\n"
    "  -m, --model PATH     the base model\n"
    LLM_CLI_LORA_HELP
    "  -o, --output PATH    the GGUF to write (replaced atomically)\n";

enum { OPT_MERGE = LLM_CLI_LONG_ONLY };

const llm_cli_opt llm_export_opts[] = {
    {OPT_MERGE, "merge", LLM_CLI_FLAG, NULL},
    LLM_CLI_OPT_MODEL,
    LLM_CLI_OPT_LORA,
    LLM_CLI_OPT_OUTPUT,
    LLM_CLI_OPT_END,
};

static int export_merged(int argc, char **argv, llm_cli_loras *lora)
{
    const char *cmd = "export";
    const char *model = NULL, *out = NULL;
    int merge = 0;
    llm_cli_parser p;
    llm_cli_parser_init(&p, cmd, llm_export_opts, argc, argv);
    int c, rc = 0;
    while (rc == 0 && (c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: fputs(export_usage, stdout); return 0;
        case LLM_CLI_POSITIONAL: return llm_cli_usage(cmd, "unexpected argument '%s'", p.arg);
        case OPT_MERGE: merge = 1; break;
        case 'm': model = p.arg; break;
        case 'o': out = p.arg; break;
        case LLM_CLI_LORA_ID: rc = llm_cli_lora_arg(lora, &p); break;
        default: return llm_cli_usage(cmd, "unhandled option %s", p.spelled);
        }
    }
    if (rc)
        return rc;
    if (!merge)
        return llm_cli_usage(cmd, "--merge is required (the only export there is: adapters "
                                  "merged into the weights)");
    if (!model || !out)
        return llm_cli_usage(cmd, "-m MODEL and -o OUT.gguf are required");
    if (lora->n == 0)
        return llm_cli_usage(cmd, "give at least one --lora FILE[:SCALE] to merge");
    llm_model *m = NULL;
    llm_status st = llm_model_open(model, NULL, &m);
    if (st != LLM_OK)
        return llm_cli_fail(cmd, st, "cannot open model '%s'", model);
    rc = llm_cli_lora_open(lora, cmd, m, NULL);
    if (rc == 0) {
        st = llm_model_export_merged(m, lora->adapter, lora->scale, (size_t)lora->n, out);
        if (st != LLM_OK)
            rc = llm_cli_fail(cmd, st, "cannot write '%s'", out);
    }
    if (rc == 0) {
        fprintf(stderr, "wrote %s: %s with", out, model);
        for (int i = 0; i < lora->n; i++)
            fprintf(stderr, "%s %s at %g", i ? "," : "", llm_adapter_name(lora->adapter[i]),
                    (double)lora->scale[i]);
        fprintf(stderr, " merged\n");
    }
    llm_model_close(m);
    return rc;
}

int llm_cmd_export(int argc, char **argv)
{
    llm_cli_loras lora = {0};
    int rc = export_merged(argc, argv, &lora);
    llm_cli_lora_free(&lora);
    return rc;
}
