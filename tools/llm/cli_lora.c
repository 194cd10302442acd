/* --lora FILE[:SCALE] for the commands that run a model (cli_lora.h). */
#include "cli_lora.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int llm_cli_lora_arg(llm_cli_loras *l, const llm_cli_parser *p)
{
    if (l->n == LLM_CLI_MAX_LORAS)
        return llm_cli_usage(p->cmd, "at most %d --lora adapters", LLM_CLI_MAX_LORAS);
    const char *arg = p->arg;
    size_t len = strlen(arg);
    double scale = 1.0;
    /* FILE:SCALE when what follows the last ':' is a number; otherwise all of it is the path
     * (a path may contain ':' itself) */
    const char *colon = strrchr(arg, ':');
    if (colon && colon[1] && llm_cli_parse_f64(colon + 1, &scale)) {
        len = (size_t)(colon - arg);
        if (!isfinite(scale))
            return llm_cli_usage(p->cmd, "%s %s: the scale must be a finite number", p->spelled,
                                 arg);
    } else {
        scale = 1.0;
    }
    if (len == 0)
        return llm_cli_usage(p->cmd, "%s %s: no adapter file before the scale", p->spelled, arg);
    char *path = malloc(len + 1);
    if (!path)
        return llm_cli_usage(p->cmd, "out of memory");
    memcpy(path, arg, len);
    path[len] = '\0';
    l->path[l->n] = path;
    l->scale[l->n] = (float)scale;
    l->adapter[l->n] = NULL;
    l->n++;
    return 0;
}

int llm_cli_lora_open(llm_cli_loras *l, const char *cmd, llm_model *m, llm_session *s)
{
    for (int i = 0; i < l->n; i++) {
        if (!l->adapter[i]) {
            llm_status st = llm_adapter_open(m, l->path[i], &l->adapter[i]);
            if (st != LLM_OK)
                return llm_cli_fail(cmd, st, "cannot open adapter '%s'", l->path[i]);
        }
        if (s) {
            llm_status st = llm_session_attach_adapter(s, l->adapter[i], l->scale[i]);
            if (st != LLM_OK)
                return llm_cli_fail(cmd, st, "cannot attach adapter '%s'", l->path[i]);
        }
    }
    return 0;
}

void llm_cli_lora_free(llm_cli_loras *l)
{
    for (int i = 0; i < l->n; i++) {
        llm_adapter_close(l->adapter[i]);
        free(l->path[i]);
    }
    l->n = 0;
}
