/*
 * libFuzzer target: the chat-template engine (lib/template: lexer, parser, evaluator, filters,
 * tests, methods, tojson). The input is a template, optionally followed by a NUL byte and a JSON
 * object of variables; without one (or when it does not parse) a conversation with a system
 * message, tool definitions, an assistant tool call and a tool reply is used, so that the
 * templates' usual paths have data to walk. Limits are small so that every input ends quickly:
 * the fuzzer looks for crashes, leaks, undefined behaviour and hangs, and a limit error is a
 * correct outcome.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "template/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char default_vars[] =
    "{\"messages\": ["
    "{\"role\": \"system\", \"content\": \"Be brief.\"},"
    "{\"role\": \"user\", \"content\": \"What is the weather in Paris? \\u00e9\\ud83d\\ude00\"},"
    "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"abc123XYZ\", "
    "\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
    "\"arguments\": {\"city\": \"Paris\", \"days\": 2}}}]},"
    "{\"role\": \"tool\", \"tool_call_id\": \"abc123XYZ\", \"content\": \"{\\\"temp\\\": 21.5}\"},"
    "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Thanks\"}, "
    "{\"type\": \"image\"}]}],"
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
    "\"description\": \"Weather\", \"parameters\": {\"type\": \"object\", \"properties\": "
    "{\"city\": {\"type\": \"string\", \"description\": \"City\"}, \"days\": {\"type\": "
    "[\"integer\", \"null\"]}}, \"required\": [\"city\"]}}}],"
    "\"documents\": [{\"title\": \"A\", \"text\": \"Doc text\"}],"
    "\"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *defaults;
    if (!defaults)
        defaults = json_loads(default_vars, 0, NULL);
    const char *tpl = (const char *)data;
    size_t n = size;
    json_t *vars = NULL;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        n = (size_t)(nul - data);
        vars = json_loadb((const char *)nul + 1, size - n - 1, 0, NULL);
        if (vars && !json_is_object(vars)) {
            json_decref(vars);
            vars = NULL;
        }
    }
    llm_tpl_limits lim;
    llm_tpl_limits_default(&lim);
    lim.max_steps = 200000;
    lim.max_output = 1u << 20;
    lim.max_memory = 32u << 20;
    lim.max_depth = 128;
    char *out = NULL;
    size_t out_len = 0;
    llm_error err;
    llm_error_clear(&err);
    llm_status st = llm_tpl_render(tpl, n, vars ? vars : defaults, "2024-07-26T12:00:00", &lim,
                                   &out, &out_len, &err);
    if (st == LLM_OK && out[out_len] != '\0')
        __builtin_trap();   /* the result must be NUL-terminated */
    llm_mem_free(out);
    json_decref(vars);
    return 0;
}
