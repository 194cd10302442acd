/*
 * Training recipes (lib/config/recipe.c): every class of error names the file, the line and the
 * key; defaults, overrides and reading values back; YAML anchors, aliases and merge keys; and the
 * recipes shipped in the repository parse.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llm/llm.h>

static char dir[] = "/tmp/llm-recipe-XXXXXX";

/* Writes `yaml` to DIR/name and returns the path (static buffer). */
static const char *write_recipe(const char *name, const char *yaml)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

static char *get(const llm_recipe *r, const char *key)
{
    static char buf[256];
    ck_assert_msg(llm_recipe_get(r, key, buf, sizeof buf, NULL) == LLM_OK, "get %s: %s", key,
                  llm_last_error());
    return buf;
}

/* Opening must fail with `status` and a message containing every one of `parts` (NULL-ended). */
static void expect_error(const char *yaml, llm_status status, const char *const *parts)
{
    const char *path = write_recipe("bad.yaml", yaml);
    llm_recipe *r = (llm_recipe *)1;
    llm_status st = llm_recipe_open(path, &r);
    ck_assert_msg(st == status, "recipe:\n%s\ngave %s (%s), expected %s", yaml,
                  llm_status_string(st), llm_last_error(), llm_status_string(status));
    ck_assert_ptr_null(r);
    const char *msg = llm_last_error();
    for (const char *const *p = parts; *p; p++)
        ck_assert_msg(strstr(msg, *p), "message '%s' lacks '%s'", msg, *p);
}
#define EXPECT(yaml, status, ...) expect_error(yaml, status, (const char *const[]){__VA_ARGS__, NULL})

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(dir)); }
static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(dir, "/tmp/llm-recipe-XXXXXX");
}

START_TEST(defaults_and_values)
{
    const char *path = write_recipe("r.yaml",
                                    "# a comment\n"
                                    "model:\n"
                                    "  arch: gpt2\n"
                                    "  n_layer: 2\n"
                                    "  bias: false\n"
                                    "data:\n"
                                    "  path: corpus.txt\n"
                                    "  val_fraction: 0.05\n"
                                    "optimizer: {lr: 3e-4, betas_unused_key_is_not_here: 0}\n");
    llm_recipe *r = NULL;
    /* flow mappings are mappings too: the unknown key in one is found */
    ck_assert_int_eq(llm_recipe_open(path, &r), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "r.yaml:9: unknown key "
                                                   "'optimizer.betas_unused_key_is_not_here'"));
    path = write_recipe("r.yaml", "model:\n  arch: gpt2\n  n_layer: 2\n  bias: false\n"
                                  "data:\n  path: corpus.txt\n  val_fraction: 0.05\n"
                                  "optimizer: {lr: 3e-4}\nsteps: 10\n");
    ck_assert_int_eq(llm_recipe_open(path, &r), LLM_OK);
    ck_assert_str_eq(get(r, "model.arch"), "gpt2");
    ck_assert_str_eq(get(r, "model.n_layer"), "2");
    ck_assert_str_eq(get(r, "model.bias"), "false");
    ck_assert_str_eq(get(r, "data.path"), "corpus.txt");
    ck_assert_str_eq(get(r, "data.val_fraction"), "0.050000000000000003");
    ck_assert_str_eq(get(r, "optimizer.lr"), "0.00029999999999999997");
    ck_assert_str_eq(get(r, "steps"), "10");
    /* the defaults of docs/TRAINING.md */
    ck_assert_str_eq(get(r, "model.n_embd"), "128");
    ck_assert_str_eq(get(r, "model.tied_output"), "true");
    ck_assert_str_eq(get(r, "optimizer.beta2"), "0.98999999999999999");
    ck_assert_str_eq(get(r, "schedule.kind"), "cosine");
    ck_assert_str_eq(get(r, "schedule.warmup_steps"), "100");
    ck_assert_str_eq(get(r, "batch_size"), "12");
    ck_assert_str_eq(get(r, "export.type"), "f16");
    ck_assert_str_eq(get(r, "export.path"), "");
    ck_assert_str_eq(get(r, "checkpoint.dir"), "checkpoints");
    ck_assert_str_eq(get(r, "data.format"), "auto");
    /* overrides */
    ck_assert_int_eq(llm_recipe_set(r, "steps", "25"), LLM_OK);
    ck_assert_str_eq(get(r, "steps"), "25");
    ck_assert_int_eq(llm_recipe_set(r, "export.type", "q8_0"), LLM_OK);
    ck_assert_str_eq(get(r, "export.type"), "q8_0");
    ck_assert_int_eq(llm_recipe_set(r, "stepz", "25"), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "--set: unknown key 'stepz'"));
    ck_assert_int_eq(llm_recipe_set(r, "steps", "-1"), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "--set steps: 'steps' needs an integer"));
    ck_assert_int_eq(llm_recipe_set(r, "model.n_head", "3"), LLM_OK);
    ck_assert_int_eq(llm_recipe_validate(r), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "not a multiple of 'model.n_head' 3"));
    ck_assert_int_eq(llm_recipe_set(r, "model.n_head", "4"), LLM_OK);
    ck_assert_int_eq(llm_recipe_validate(r), LLM_OK);
    /* get: sizes and errors */
    size_t len = 0;
    ck_assert_int_eq(llm_recipe_get(r, "data.path", NULL, 0, &len), LLM_OK);
    ck_assert_uint_eq(len, strlen("corpus.txt"));
    char small[4];
    ck_assert_int_eq(llm_recipe_get(r, "data.path", small, sizeof small, &len),
                     LLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(llm_recipe_get(r, "nope", small, sizeof small, &len), LLM_ERR_INVALID_ARG);
    llm_recipe_close(r);
    llm_recipe_close(NULL);
}
END_TEST

START_TEST(anchors_aliases_merges)
{
    const char *path = write_recipe("a.yaml",
                                    "defaults: &none {}\n");
    llm_recipe *r = NULL;
    /* an unknown top-level key, even one only used as an anchor holder, is an error */
    ck_assert_int_eq(llm_recipe_open(path, &r), LLM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "a.yaml:1: unknown key 'defaults'"));
    path = write_recipe("a.yaml",
                        "optimizer: &opt\n"
                        "  lr: &peak 2e-3\n"
                        "  weight_decay: 0.05\n"
                        "schedule:\n"
                        "  warmup_steps: &w 40\n"
                        "eval:\n"
                        "  interval: *w\n"        /* an alias of a scalar */
                        "data: &data\n"
                        "  path: text.txt\n"
                        "  format: text\n"
                        "model:\n"
                        "  <<: &small {n_layer: 2, n_embd: 64, n_head: 2}\n" /* merge */
                        "  n_embd: 96\n"          /* the mapping's own key wins */
                        "checkpoint:\n"
                        "  <<: [{dir: ck}, {interval: 7}]\n"); /* merge of a list */
    ck_assert_msg(llm_recipe_open(path, &r) == LLM_OK, "%s", llm_last_error());
    ck_assert_str_eq(get(r, "optimizer.lr"), "0.002");
    ck_assert_str_eq(get(r, "optimizer.weight_decay"), "0.050000000000000003");
    ck_assert_str_eq(get(r, "eval.interval"), "40");
    ck_assert_str_eq(get(r, "data.format"), "text");
    ck_assert_str_eq(get(r, "model.n_layer"), "2");
    ck_assert_str_eq(get(r, "model.n_embd"), "96");
    ck_assert_str_eq(get(r, "model.n_head"), "2");
    ck_assert_str_eq(get(r, "checkpoint.dir"), "ck");
    ck_assert_str_eq(get(r, "checkpoint.interval"), "7");
    llm_recipe_close(r);
    /* an alias of a whole section, with a bad value in it, is reported at the anchored line */
    EXPECT("data: {path: x.txt}\n"
           "optimizer: &o\n  lr: fast\n"
           "schedule: *o\n",
           LLM_ERR_FORMAT, "bad.yaml:3: 'optimizer.lr' needs a number in (0, 10], got 'fast'");
    EXPECT("data: {path: x.txt}\nmodel:\n  <<: 5\n", LLM_ERR_FORMAT,
           "bad.yaml:3: a merge key ('<<') takes a mapping or a list of mappings");
    EXPECT("data: {path: x.txt}\nmodel: {n_layer: *nowhere}\n", LLM_ERR_FORMAT,
           "bad.yaml:2", "undefined alias");
}
END_TEST

START_TEST(errors_name_file_line_key)
{
    EXPECT("data:\n  path: x.txt\nmodel:\n  n_layers: 4\n", LLM_ERR_FORMAT,
           "bad.yaml:4: unknown key 'model.n_layers'", "known in model: arch, n_layer,");
    EXPECT("data: {path: x.txt}\nstepz: 4\n", LLM_ERR_FORMAT,
           "bad.yaml:2: unknown key 'stepz'", "steps", "optimizer");
    EXPECT("data: {path: x.txt}\nsteps: many\n", LLM_ERR_FORMAT,
           "bad.yaml:2: 'steps' needs an integer >= 1, got 'many'");
    EXPECT("data: {path: x.txt}\nsteps: 0\n", LLM_ERR_FORMAT,
           "bad.yaml:2: 'steps' needs an integer >= 1, got 0");
    EXPECT("data: {path: x.txt}\nbatch_size: 99999999\n", LLM_ERR_FORMAT,
           "bad.yaml:2: 'batch_size' needs an integer in [1, 65536]");
    EXPECT("data: {path: x.txt}\noptimizer:\n  beta2: 1\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'optimizer.beta2' needs a number in [0, 1), got 1");
    EXPECT("data: {path: x.txt}\noptimizer:\n  lr: nan\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'optimizer.lr' needs a number");
    EXPECT("data: {path: x.txt}\nmodel:\n  arch: bert\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'model.arch' needs one of gpt2, llama, got 'bert'");
    EXPECT("data: {path: x.txt}\nexport:\n  type: q4_k\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'export.type' needs one of f32, f16, q8_0, got 'q4_k'");
    EXPECT("data: {path: x.txt}\nmodel:\n  bias: maybe\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'model.bias' needs true or false, got 'maybe'");
    EXPECT("data: {path: x.txt}\nsteps:\n", LLM_ERR_FORMAT, "bad.yaml:2", "'steps' has no value");
    EXPECT("data: {path: ''}\n", LLM_ERR_FORMAT, "bad.yaml:1: 'data.path' needs a non-empty");
    EXPECT("data: {path: x.txt}\nsteps: 5\nsteps: 6\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'steps' appears twice");
    EXPECT("data: {path: x.txt}\ndata: {path: y.txt}\n", LLM_ERR_FORMAT,
           "bad.yaml:2: 'data' appears twice");
    EXPECT("data: x.txt\n", LLM_ERR_FORMAT, "bad.yaml:1: 'data' needs a mapping");
    EXPECT("data: {path: [a, b]}\n", LLM_ERR_FORMAT, "bad.yaml:1: 'data.path' needs a value, "
           "got a list");
    EXPECT("- steps: 5\n", LLM_ERR_FORMAT, "bad.yaml:1: a recipe is a mapping");
    EXPECT("", LLM_ERR_FORMAT, "bad.yaml: the recipe is empty");
    EXPECT("data: {path: x.txt}\nsteps: [1\n", LLM_ERR_FORMAT, "bad.yaml:3");
    EXPECT("data: {path: x.txt}\n  steps: 4\n", LLM_ERR_FORMAT, "bad.yaml:2");
    EXPECT("data: {path: x.txt}\n---\nsteps: 4\n", LLM_ERR_FORMAT,
           "bad.yaml:2: a recipe is one YAML document");
    /* rules between keys */
    EXPECT("steps: 4\n", LLM_ERR_FORMAT, "bad.yaml: 'data.path' is required");
    EXPECT("data: {path: x.txt}\nmodel:\n  n_embd: 100\n  n_head: 3\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'model.n_embd' 100 is not a multiple of 'model.n_head' 3");
    EXPECT("data: {path: x.txt}\nmodel:\n  arch: llama\n  n_head: 4\n  n_head_kv: 3\n",
           LLM_ERR_FORMAT, "bad.yaml:5: 'model.n_head' 4 is not a multiple of 'model.n_head_kv' 3");
    EXPECT("data: {path: x.txt}\nmodel:\n  arch: llama\n  bias: true\n", LLM_ERR_FORMAT,
           "bad.yaml:4: 'model.bias' is true, but a llama model has no biases");
    EXPECT("data: {path: x.txt}\nmodel: {n_ctx: 64}\ncontext: 128\n", LLM_ERR_FORMAT,
           "bad.yaml:3: 'context' 128 is longer than the model's 'model.n_ctx' 64");
    EXPECT("data: {path: x.txt}\noptimizer: {lr: 1e-4, min_lr: 1e-3}\n", LLM_ERR_FORMAT,
           "bad.yaml:2: 'optimizer.min_lr' 0.001 is above 'optimizer.lr' 0.0001");
    EXPECT("data: {path: x.txt}\nmodel:\n  from: base.gguf\n  n_layer: 4\n", LLM_ERR_FORMAT,
           "bad.yaml:4: 'model.n_layer' describes a new model, but 'model.from' starts from a "
           "file");
}
END_TEST

START_TEST(io_and_arguments)
{
    llm_recipe *r = (llm_recipe *)1;
    ck_assert_int_eq(llm_recipe_open("/nonexistent/r.yaml", &r), LLM_ERR_IO);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(llm_last_error(), "/nonexistent/r.yaml"));
    ck_assert_int_eq(llm_recipe_open(NULL, &r), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_recipe_open("x", NULL), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_recipe_set(NULL, "steps", "1"), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_recipe_validate(NULL), LLM_ERR_INVALID_ARG);
    ck_assert_int_eq(llm_recipe_get(NULL, "steps", NULL, 0, NULL), LLM_ERR_INVALID_ARG);
    /* invalid UTF-8 in a value: libyaml rejects the stream, with the line */
    EXPECT("data: {path: x.txt}\nmodel: {name: \"\xff\xfe\"}\n", LLM_ERR_FORMAT, "bad.yaml:");
}
END_TEST

/* The recipes shipped in the repository parse and validate. */
START_TEST(shipped_recipes)
{
    const char *root = getenv("LLM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    const char *files[] = {"examples/recipes/shakespeare-char.yaml", "models/shakespeare-char.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", root, files[i]);
        llm_recipe *r = NULL;
        ck_assert_msg(llm_recipe_open(path, &r) == LLM_OK, "%s: %s", files[i], llm_last_error());
        llm_recipe_close(r);
    }
}
END_TEST

int main(void)
{
    Suite *su = suite_create("recipe");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_and_values);
    tcase_add_test(tc, anchors_aliases_merges);
    tcase_add_test(tc, errors_name_file_line_key);
    tcase_add_test(tc, io_and_arguments);
    tcase_add_test(tc, shipped_recipes);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
