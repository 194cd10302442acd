/*
 * Pins the size and field offsets of every public struct (libfuse test_abi.c). A change here is an
 * ABI change: only appending fields is allowed, and only together with docs/ABI.md's rules. The
 * numbers are for LP64 targets (x86-64, aarch64); bindings/python checks its ctypes mirrors
 * against the same table.
 */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>

#include <llm/llm.h>

#define PIN_SIZE(type, n) ck_assert_msg(sizeof(type) == (n), #type " is %zu bytes, pinned %d", \
                                        sizeof(type), (n))
#define PIN_OFF(type, field, n)                                                                    \
    ck_assert_msg(offsetof(type, field) == (n), #type "." #field " at %zu, pinned %d",             \
                  offsetof(type, field), (n))

START_TEST(layout_lp64)
{
    if (sizeof(void *) != 8)
        return;
    PIN_SIZE(llm_model_options, 72);
    PIN_OFF(llm_model_options, struct_size, 0);
    PIN_OFF(llm_model_options, load_mode, 8);
    PIN_OFF(llm_model_options, verify, 12);
    PIN_OFF(llm_model_options, max_file_bytes, 16);
    PIN_OFF(llm_model_options, max_tensor_count, 24);
    PIN_OFF(llm_model_options, max_kv_count, 32);
    PIN_OFF(llm_model_options, max_array_length, 40);
    PIN_OFF(llm_model_options, max_string_length, 48);
    PIN_OFF(llm_model_options, max_normalize_growth, 56);
    PIN_OFF(llm_model_options, max_added_token_steps, 60);
    PIN_OFF(llm_model_options, max_regex_steps, 64);

    PIN_SIZE(llm_tokenizer_options, 24);
    PIN_OFF(llm_tokenizer_options, struct_size, 0);
    PIN_OFF(llm_tokenizer_options, max_normalize_growth, 8);
    PIN_OFF(llm_tokenizer_options, max_added_token_steps, 12);
    PIN_OFF(llm_tokenizer_options, max_regex_steps, 16);

    PIN_SIZE(llm_model_info, 72);
    PIN_OFF(llm_model_info, arch, 8);
    PIN_OFF(llm_model_info, family, 12);
    PIN_OFF(llm_model_info, n_vocab, 16);
    PIN_OFF(llm_model_info, n_embd, 20);
    PIN_OFF(llm_model_info, n_layer, 24);
    PIN_OFF(llm_model_info, n_layer_encoder, 28);
    PIN_OFF(llm_model_info, n_head, 32);
    PIN_OFF(llm_model_info, n_head_kv, 36);
    PIN_OFF(llm_model_info, n_ff, 40);
    PIN_OFF(llm_model_info, n_ctx_train, 44);
    PIN_OFF(llm_model_info, pooling, 48);
    PIN_OFF(llm_model_info, weight_type, 52);
    PIN_OFF(llm_model_info, n_params, 56);
    PIN_OFF(llm_model_info, weight_bytes, 64);

    PIN_SIZE(llm_session_options, 48);
    PIN_OFF(llm_session_options, n_ctx, 8);
    PIN_OFF(llm_session_options, n_threads, 12);
    PIN_OFF(llm_session_options, n_batch, 16);
    PIN_OFF(llm_session_options, kv_type, 20);
    PIN_OFF(llm_session_options, context_policy, 24);
    PIN_OFF(llm_session_options, parallel_for, 32);
    PIN_OFF(llm_session_options, parallel_host, 40);

    PIN_SIZE(llm_embed_options, 24);
    PIN_OFF(llm_embed_options, pooling, 8);
    PIN_OFF(llm_embed_options, normalize, 12);
    PIN_OFF(llm_embed_options, truncate, 16);
    PIN_OFF(llm_embed_options, add_special, 20);

    PIN_SIZE(llm_embed_result, 24);
    PIN_OFF(llm_embed_result, pooling, 8);
    PIN_OFF(llm_embed_result, normalized, 12);
    PIN_OFF(llm_embed_result, n_tokens, 16);

    PIN_SIZE(llm_chat_options, 88);
    PIN_OFF(llm_chat_options, add_generation_prompt, 8);
    PIN_OFF(llm_chat_options, bos_token, 16);
    PIN_OFF(llm_chat_options, eos_token, 24);
    PIN_OFF(llm_chat_options, tools_json, 32);
    PIN_OFF(llm_chat_options, documents_json, 40);
    PIN_OFF(llm_chat_options, now, 48);
    PIN_OFF(llm_chat_options, extra_json, 56);
    PIN_OFF(llm_chat_options, max_steps, 64);
    PIN_OFF(llm_chat_options, max_output, 72);
    PIN_OFF(llm_chat_options, max_depth, 80);

    /* training (@since 0.2) */
    PIN_SIZE(llm_model_create_options, 80);
    PIN_OFF(llm_model_create_options, arch, 8);
    PIN_OFF(llm_model_create_options, n_layer, 12);
    PIN_OFF(llm_model_create_options, n_embd, 16);
    PIN_OFF(llm_model_create_options, n_head, 20);
    PIN_OFF(llm_model_create_options, n_head_kv, 24);
    PIN_OFF(llm_model_create_options, n_ff, 28);
    PIN_OFF(llm_model_create_options, n_ctx, 32);
    PIN_OFF(llm_model_create_options, bias, 36);
    PIN_OFF(llm_model_create_options, tied_output, 40);
    PIN_OFF(llm_model_create_options, norm_eps, 44);
    PIN_OFF(llm_model_create_options, rope_theta, 48);
    PIN_OFF(llm_model_create_options, seed, 56);
    PIN_OFF(llm_model_create_options, tokenizer_path, 64);
    PIN_OFF(llm_model_create_options, name, 72);

    PIN_SIZE(llm_dataset_options, 32);
    PIN_OFF(llm_dataset_options, format, 8);
    PIN_OFF(llm_dataset_options, val_fraction, 12);
    PIN_OFF(llm_dataset_options, add_eot, 16);
    PIN_OFF(llm_dataset_options, text_key, 24);

    PIN_SIZE(llm_trainer_options, 104);
    PIN_OFF(llm_trainer_options, batch_size, 8);
    PIN_OFF(llm_trainer_options, n_ctx, 12);
    PIN_OFF(llm_trainer_options, grad_accum, 16);
    PIN_OFF(llm_trainer_options, n_threads, 20);
    PIN_OFF(llm_trainer_options, schedule, 24);
    PIN_OFF(llm_trainer_options, warmup_steps, 28);
    PIN_OFF(llm_trainer_options, total_steps, 32);
    PIN_OFF(llm_trainer_options, lr, 40);
    PIN_OFF(llm_trainer_options, min_lr, 48);
    PIN_OFF(llm_trainer_options, beta1, 56);
    PIN_OFF(llm_trainer_options, beta2, 64);
    PIN_OFF(llm_trainer_options, eps, 72);
    PIN_OFF(llm_trainer_options, weight_decay, 80);
    PIN_OFF(llm_trainer_options, grad_clip, 88);
    PIN_OFF(llm_trainer_options, seed, 96);

    PIN_SIZE(llm_train_stats, 56);
    PIN_OFF(llm_train_stats, step, 8);
    PIN_OFF(llm_train_stats, loss, 16);
    PIN_OFF(llm_train_stats, grad_norm, 24);
    PIN_OFF(llm_train_stats, lr, 32);
    PIN_OFF(llm_train_stats, tokens, 40);
    PIN_OFF(llm_train_stats, seconds, 48);
}
END_TEST

/* Enum values are pinned too: bindings hard-code them. */
START_TEST(enum_values)
{
    ck_assert_int_eq(LLM_OK, 0);
    ck_assert_int_eq(LLM_ERR_INVALID_ARG, 1);
    ck_assert_int_eq(LLM_ERR_NOMEM, 2);
    ck_assert_int_eq(LLM_ERR_IO, 3);
    ck_assert_int_eq(LLM_ERR_FORMAT, 4);
    ck_assert_int_eq(LLM_ERR_UNSUPPORTED, 5);
    ck_assert_int_eq(LLM_ERR_ABI, 6);
    ck_assert_int_eq(LLM_ERR_UNKNOWN_PARAM, 7);
    ck_assert_int_eq(LLM_ERR_STATE, 8);
    ck_assert_int_eq(LLM_ERR_CANCELLED, 9);
    ck_assert_int_eq(LLM_ERR_CONTEXT_FULL, 10);
    ck_assert_int_eq(LLM_ERR_TOO_LONG, 11);
    ck_assert_int_eq(LLM_ERR_LIMIT, 12);
    ck_assert_int_eq(LLM_ERR_BUFFER_TOO_SMALL, 13);
    ck_assert_int_eq(LLM_PARAM_TEMPERATURE, 1);
    ck_assert_int_eq(LLM_PARAM_IGNORE_EOS, 17);
    ck_assert_int_eq(LLM_POOLING_MODEL, -1);
    ck_assert_int_eq(LLM_POOLING_MAX, 4);
    ck_assert_int_eq(LLM_STOP_CONTEXT_FULL, 5);
    ck_assert_int_eq(LLM_TOKEN_DECODER_START, 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi-layout");
    TCase *tc = tcase_create("structs");
    tcase_add_test(tc, layout_lp64);
    tcase_add_test(tc, enum_values);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
