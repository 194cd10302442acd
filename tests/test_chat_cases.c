/*
 * Every case of the shared chat-template reference set (../shared/data/chat_templates:
 * real templates of well-known models rendered by Python's Jinja2 in transformers'
 * environment) renders byte-exact, or fails where the reference raises. One test walks all the
 * cases and names each one that does not hold.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_case.h"
#include "testdata.h"

START_TEST(all_cases)
{
    json_error_t je;
    const char *path = llm_test_path("chat_templates/cases.json");
    json_t *root = json_load_file(path, 0, &je);
    ck_assert_msg(root, "%s: %s", path, je.text);
    const json_t *cases = json_object_get(root, "cases");
    ck_assert_msg(json_is_array(cases) && json_array_size(cases) > 0, "%s has no cases", path);
    size_t failed = 0, total = json_array_size(cases);
    for (size_t i = 0; i < total; i++) {
        const json_t *c = json_array_get(cases, i);
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *file = json_string_value(json_object_get(c, "template_file"));
        char rel[1024];
        snprintf(rel, sizeof rel, "chat_templates/%s", file ? file : "?");
        char *tpl = llm_test_read_file(llm_test_path(rel), NULL);
        char why[512] = "";
        bool ok = tpl && chat_case_check(c, tpl, why, sizeof why);
        if (!tpl)
            snprintf(why, sizeof why, "cannot read %.400s", rel);
        if (!ok) {
            fprintf(stderr, "FAIL %s: %s\n", id ? id : "?", why);
            failed++;
        }
        free(tpl);
    }
    fprintf(stderr, "%zu of %zu chat-template cases hold\n", total - failed, total);
    json_decref(root);
    ck_assert_msg(failed == 0, "%zu of %zu chat-template cases fail (listed above)", failed, total);
}
END_TEST

int main(void)
{
    llm_test_data_require();
    Suite *s = suite_create("chat_cases");
    TCase *tc = tcase_create("shared_reference");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, all_cases);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
