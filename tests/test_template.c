/*
 * The chat-template engine through the public API:
 *  - reference: every case of tests/data/template_refs.json (made by make_template_refs.py with
 *    Python's Jinja2 in transformers' configuration) renders byte-exact or fails where Jinja2
 *    raises;
 *  - limits: runaway loops, recursion, nesting, output and memory end in LLM_ERR_LIMIT;
 *  - errors: syntax errors name line and column, raise_exception gives LLM_ERR_STATE with its
 *    message, bad arguments and JSON are LLM_ERR_INVALID_ARG.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llm/llm.h>

#include "chat_case.h"

#ifndef TEMPLATE_REFS
#define TEMPLATE_REFS "tests/data/template_refs.json"
#endif

static const char *const msgs1 = "[{\"role\": \"user\", \"content\": \"Hi\"}]";

START_TEST(reference_cases)
{
    json_error_t je;
    json_t *root = json_load_file(TEMPLATE_REFS, 0, &je);
    ck_assert_msg(root, "%s: %s", TEMPLATE_REFS, je.text);
    const json_t *cases = json_object_get(root, "cases");
    ck_assert(json_array_size(cases) > 50);
    size_t failed = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        char why[512] = "";
        if (!chat_case_check(c, json_string_value(json_object_get(c, "template")), why,
                             sizeof why)) {
            fprintf(stderr, "FAIL %s: %s\n", json_string_value(json_object_get(c, "name")), why);
            failed++;
        }
    }
    json_decref(root);
    ck_assert_msg(failed == 0, "%zu reference cases fail (listed above)", failed);
}
END_TEST

/* Renders with options; returns the status and leaves the output in *out (freed by caller). */
static llm_status render(const char *tpl, const llm_chat_options *o, char **out)
{
    size_t n;
    return llm_chat_template_render(tpl, msgs1, o, out, &n);
}

static void expect_status(const char *tpl, const llm_chat_options *o, llm_status want,
                          const char *msg_part)
{
    char *out = NULL;
    llm_status st = render(tpl, o, &out);
    ck_assert_msg(st == want, "'%s': got %s (%s), want %s", tpl, llm_status_string(st),
                  llm_last_error(), llm_status_string(want));
    ck_assert_ptr_null(out);
    if (msg_part)
        ck_assert_msg(strstr(llm_last_error(), msg_part), "'%s': message '%s' lacks '%s'", tpl,
                      llm_last_error(), msg_part);
}

START_TEST(limit_steps)
{
    expect_status("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                  "{% endfor %}", NULL, LLM_ERR_LIMIT, "steps");
    llm_chat_options o;
    llm_chat_options_init(&o);
    o.max_steps = 1000;
    expect_status("{% for i in range(5000) %}{{ i }}{% endfor %}", &o, LLM_ERR_LIMIT, "1000 steps");
    /* the same template within a larger budget renders */
    o.max_steps = 100000;
    char *out = NULL;
    ck_assert_int_eq(render("{% for i in range(5000) %}x{% endfor %}", &o, &out), LLM_OK);
    ck_assert_uint_eq(strlen(out), 5000);
    llm_free(out);
}
END_TEST

START_TEST(limit_recursion)
{
    expect_status("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, LLM_ERR_LIMIT,
                  "levels deep");
    llm_chat_options o;
    llm_chat_options_init(&o);
    o.max_depth = 16;
    expect_status("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(50) }}",
                  &o, LLM_ERR_LIMIT, "16 levels");
}
END_TEST

START_TEST(limit_nesting)
{
    /* deeply nested brackets and a long left-deep chain are bounded, not a stack overflow */
    size_t depth = 5000;
    char *t = malloc(2 * depth + 16);
    size_t k = 0;
    memcpy(t + k, "{{ ", 3), k += 3;
    for (size_t i = 0; i < depth; i++)
        t[k++] = '(';
    t[k++] = '1';
    for (size_t i = 0; i < depth; i++)
        t[k++] = ')';
    memcpy(t + k, " }}", 4);
    expect_status(t, NULL, LLM_ERR_LIMIT, NULL);
    k = 0;
    memcpy(t + k, "{{ ", 3), k += 3;
    for (size_t i = 0; i < depth; i++)
        t[k++] = 'n', t[k++] = ' ';
    free(t);
    size_t terms = 20000;
    char *chain = malloc(4 * terms + 16);
    k = 0;
    memcpy(chain, "{{ 1", 4), k = 4;
    for (size_t i = 0; i < terms; i++)
        memcpy(chain + k, " + 1", 4), k += 4;
    memcpy(chain + k, " }}", 4);
    expect_status(chain, NULL, LLM_ERR_LIMIT, "levels deep");
    free(chain);
    /* 'not not not ...' */
    char *nots = malloc(4 * terms + 16);
    k = 0;
    memcpy(nots, "{{ ", 3), k = 3;
    for (size_t i = 0; i < terms; i++)
        memcpy(nots + k, "not ", 4), k += 4;
    memcpy(nots + k, "1 }}", 5);
    expect_status(nots, NULL, LLM_ERR_LIMIT, NULL);
    free(nots);
}
END_TEST

START_TEST(limit_output)
{
    llm_chat_options o;
    llm_chat_options_init(&o);
    o.max_output = 1 << 20;
    expect_status("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", &o, LLM_ERR_LIMIT,
                  "output limit");
    /* captured output (set blocks, macros) counts too */
    expect_status("{% for i in range(100000) %}{% set s %}{{ 'y' * 100 }}{% endset %}{% endfor %}",
                  &o, LLM_ERR_LIMIT, "output limit");
}
END_TEST

START_TEST(limit_memory)
{
    /* a string that doubles every iteration outgrows the working-memory budget */
    expect_status("{% set ns = namespace(s='0123456789abcdef') %}{% for i in range(40) %}"
                  "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
                  NULL, LLM_ERR_LIMIT, "working memory");
    /* and a self-referencing namespace is freed with the render (the leak checkers see it) */
    char *out = NULL;
    ck_assert_int_eq(render("{% set ns = namespace() %}{% set ns.me = ns %}ok", NULL, &out),
                     LLM_OK);
    ck_assert_str_eq(out, "ok");
    llm_free(out);
}
END_TEST

START_TEST(errors_named)
{
    expect_status("line one\n\n  {{ x.y.z }}", NULL, LLM_ERR_FORMAT, "line 3, column");
    expect_status("a\n{% frobnicate %}", NULL, LLM_ERR_FORMAT, "line 2, column 4: unknown");
    expect_status("{% include 'x' %}", NULL, LLM_ERR_FORMAT, "cannot read other templates");
    expect_status("{% extends 'x' %}", NULL, LLM_ERR_FORMAT, "'extends' is not allowed");
    expect_status("{% for x in y %}", NULL, LLM_ERR_FORMAT, "not closed by 'endfor'");
    expect_status("{{ 'unterminated }}", NULL, LLM_ERR_FORMAT, "unterminated string");
    expect_status("{{ 1 $ 2 }}", NULL, LLM_ERR_FORMAT, "unexpected character '$'");
    expect_status("{{ messages.append(1) }}", NULL, LLM_ERR_FORMAT, "unsafe");
    expect_status("{{ raise_exception('No system role, please') }}", NULL, LLM_ERR_STATE, NULL);
    ck_assert_str_eq(llm_last_error(), "No system role, please");
    expect_status("{% break %}", NULL, LLM_ERR_FORMAT, "outside a for loop");
    expect_status("{% for x in [1] recursive %}{% endfor %}", NULL, LLM_ERR_FORMAT, "recursive");
    expect_status("{{ '\xff' }}", NULL, LLM_ERR_FORMAT, "not valid UTF-8");
}
END_TEST

START_TEST(bad_arguments)
{
    char *out = (char *)1;
    size_t n;
    ck_assert_int_eq(llm_chat_template_render(NULL, msgs1, NULL, &out, &n), LLM_ERR_INVALID_ARG);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(llm_chat_template_render("x", NULL, NULL, &out, &n), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_chat_template_render("x", msgs1, NULL, NULL, &n), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_chat_template_render("x", "[{", NULL, &out, &n), LLM_ERR_INVALID_ARG);
    ck_assert_msg(strstr(llm_last_error(), "messages is not valid JSON"), "%s", llm_last_error());
    ck_assert_int_eq(llm_chat_template_render("x", "{\"role\": 1}", NULL, &out, &n),
                     LLM_ERR_INVALID_ARG);
    llm_chat_options o;
    llm_chat_options_init(&o);
    o.tools_json = "{\"not\": \"an array\"}";
    ck_assert_int_eq(llm_chat_template_render("x", msgs1, &o, &out, &n), LLM_ERR_INVALID_ARG);
    llm_chat_options_init(&o);
    o.extra_json = "[1]";
    ck_assert_int_eq(llm_chat_template_render("x", msgs1, &o, &out, &n), LLM_ERR_INVALID_ARG);
    llm_chat_options_init(&o);
    o.struct_size = 8;
    ck_assert_int_eq(llm_chat_template_render("x", msgs1, &o, &out, &n), LLM_ERR_ABI);
    ck_assert_ptr_null(llm_model_chat_template(NULL));
    ck_assert_int_eq(llm_model_chat_render(NULL, msgs1, NULL, &out, &n), LLM_ERR_INVALID_ARG);
}
END_TEST

START_TEST(variables_and_time)
{
    llm_chat_options o;
    llm_chat_options_init(&o);
    char *out = NULL;
    /* bos_token NULL is undefined (as transformers passes none); tools default to None */
    ck_assert_int_eq(render("{{ bos_token is defined }} {{ tools is none }} "
                            "{{ documents is none }} {{ add_generation_prompt }}", &o, &out),
                     LLM_OK);
    ck_assert_str_eq(out, "False True True False");
    llm_free(out);
    o.bos_token = "<s>";
    o.add_generation_prompt = 1;
    o.tools_json = "[{\"type\": \"function\"}]";
    o.now = "2025-01-02T03:04:05Z";
    o.extra_json = "{\"date_string\": \"today\"}";
    ck_assert_int_eq(render("{{ bos_token }} {{ tools[0].type }} {{ add_generation_prompt }} "
                            "{{ strftime_now('%Y-%m-%d %H:%M:%S %a') }} {{ date_string }}",
                            &o, &out),
                     LLM_OK);
    ck_assert_str_eq(out, "<s> function True 2025-01-02 03:04:05 Thu today");
    llm_free(out);
    o.now = "yesterday";
    expect_status("{{ strftime_now('%d') }}", &o, LLM_ERR_FORMAT, "ISO-8601");
    /* without a fixed time the clock is used: the year has four digits */
    llm_chat_options_init(&o);
    ck_assert_int_eq(render("{{ strftime_now('%Y') | length }}", &o, &out), LLM_OK);
    ck_assert_str_eq(out, "4");
    llm_free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, reference_cases);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, limit_steps);
    tcase_add_test(tc, limit_recursion);
    tcase_add_test(tc, limit_nesting);
    tcase_add_test(tc, limit_output);
    tcase_add_test(tc, limit_memory);
    suite_add_tcase(s, tc);
    tc = tcase_create("api");
    tcase_add_test(tc, errors_named);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, variables_and_time);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
