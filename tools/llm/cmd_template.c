/*
 * `llm template`: renders a conversation through a chat template (the model's own, or a file)
 * and prints the result byte for byte, for people debugging what a model is actually fed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_TEMPLATE = LLM_CLI_LONG_ONLY, OPT_MESSAGES, OPT_AGP, OPT_BOS, OPT_EOS, OPT_TOOLS,
       OPT_DOCUMENTS, OPT_NOW, OPT_VARS };

const llm_cli_opt llm_template_opts[] = {
    LLM_CLI_OPT_MODEL,
    {OPT_TEMPLATE, "template", LLM_CLI_FILE, NULL},
    {OPT_MESSAGES, "messages", LLM_CLI_FILE, NULL},
    {OPT_AGP, "add-generation-prompt", LLM_CLI_FLAG, NULL},
    {OPT_BOS, "bos", LLM_CLI_TEXT, NULL},
    {OPT_EOS, "eos", LLM_CLI_TEXT, NULL},
    {OPT_TOOLS, "tools", LLM_CLI_FILE, NULL},
    {OPT_DOCUMENTS, "documents", LLM_CLI_FILE, NULL},
    {OPT_NOW, "now", LLM_CLI_TEXT, NULL},
    {OPT_VARS, "vars", LLM_CLI_FILE, NULL},
    LLM_CLI_OPT_END,
};

static void template_help(void)
{
    printf("usage: llm template (-m MODEL | --template FILE) --messages FILE.json\n"
           "                    [--add-generation-prompt] [--bos S] [--eos S] [--tools FILE.json]\n"
           "                    [--documents FILE.json] [--now ISO-TIME] [--vars FILE.json]\n\n"
           "Renders a conversation through a chat template as transformers' apply_chat_template\n"
           "does and prints it byte for byte (no newline is added).\n"
           "  -m MODEL                 use the model's template (GGUF tokenizer.chat_template, or\n"
           "                           chat_template in a Hugging Face folder) and its BOS/EOS\n"
           "  --template FILE          a Jinja2 chat template file instead\n"
           "  --messages FILE          a JSON array of {\"role\": ..., \"content\": ...} messages\n"
           "  --add-generation-prompt  end with the opening of the assistant's turn\n"
           "  --bos S, --eos S         the bos_token / eos_token texts (default: the model's;\n"
           "                           with --template: not defined)\n"
           "  --tools FILE             a JSON array of tool definitions, given as `tools`\n"
           "  --documents FILE         a JSON array of documents, given as `documents`\n"
           "  --now ISO-TIME           the time strftime_now() reports, e.g. 2024-07-26T12:00:00\n"
           "  --vars FILE              a JSON object of extra template variables\n");
}

static char *read_or_complain(const char *what, const char *path)
{
    size_t len = 0;
    char *s = llm_cli_read_file(path, &len);
    if (!s)
        fprintf(stderr, "llm template: cannot read %s '%s'\n", what, path);
    else if (strlen(s) != len) {
        fprintf(stderr, "llm template: %s '%s' contains a NUL byte\n", what, path);
        free(s);
        s = NULL;
    }
    return s;
}

int llm_cmd_template(int argc, char **argv)
{
    const char *model = NULL, *tpl_path = NULL, *msgs_path = NULL, *tools_path = NULL;
    const char *docs_path = NULL, *vars_path = NULL;
    llm_chat_options o;
    llm_chat_options_init(&o);
    llm_cli_parser p;
    llm_cli_parser_init(&p, "template", llm_template_opts, argc, argv);
    int c;
    while ((c = llm_cli_next(&p)) != LLM_CLI_DONE) {
        switch (c) {
        case LLM_CLI_ERROR: return 2;
        case LLM_CLI_HELP: template_help(); return 0;
        case 'm': model = p.arg; break;
        case OPT_TEMPLATE: tpl_path = p.arg; break;
        case OPT_MESSAGES: msgs_path = p.arg; break;
        case OPT_AGP: o.add_generation_prompt = 1; break;
        case OPT_BOS: o.bos_token = p.arg; break;
        case OPT_EOS: o.eos_token = p.arg; break;
        case OPT_TOOLS: tools_path = p.arg; break;
        case OPT_DOCUMENTS: docs_path = p.arg; break;
        case OPT_NOW: o.now = p.arg; break;
        case OPT_VARS: vars_path = p.arg; break;
        case LLM_CLI_POSITIONAL: return llm_cli_usage("template", "unexpected argument '%s'", p.arg);
        default: return llm_cli_usage("template", "unhandled option %s", p.spelled);
        }
    }
    if (!model == !tpl_path)
        return llm_cli_usage("template", "give exactly one of -m MODEL and --template FILE");
    if (!msgs_path)
        return llm_cli_usage("template", "--messages FILE.json is required");
    char *tpl = NULL, *msgs = NULL, *tools = NULL, *docs = NULL, *vars = NULL, *out = NULL;
    llm_model *m = NULL;
    int rc = 1;
    if (tpl_path && !(tpl = read_or_complain("template", tpl_path)))
        goto done;
    if (!(msgs = read_or_complain("messages", msgs_path)))
        goto done;
    if (tools_path && !(tools = read_or_complain("tools", tools_path)))
        goto done;
    if (docs_path && !(docs = read_or_complain("documents", docs_path)))
        goto done;
    if (vars_path && !(vars = read_or_complain("variables", vars_path)))
        goto done;
    o.tools_json = tools;
    o.documents_json = docs;
    o.extra_json = vars;
    size_t n = 0;
    llm_status st;
    if (model) {
        st = llm_model_open(model, NULL, &m);
        if (st != LLM_OK) {
            rc = llm_cli_fail("template", st, "cannot open model '%s'", model);
            goto done;
        }
        st = llm_model_chat_render(m, msgs, &o, &out, &n);
    } else {
        st = llm_chat_template_render(tpl, msgs, &o, &out, &n);
    }
    if (st == LLM_ERR_STATE) {   /* raise_exception(): the template's own words */
        fprintf(stderr, "llm template: the template rejects the conversation: %s\n",
                llm_last_error());
        goto done;
    }
    if (st != LLM_OK) {
        rc = llm_cli_fail("template", st, "cannot render %s", model ? model : tpl_path);
        goto done;
    }
    rc = fwrite(out, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "llm template: writing the output failed\n");
done:
    llm_free(out);
    llm_model_close(m);
    free(tpl);
    free(msgs);
    free(tools);
    free(docs);
    free(vars);
    return rc;
}
