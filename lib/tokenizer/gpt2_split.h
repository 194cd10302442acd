/*
 * Hand-written equivalent of a PCRE2 split (llm_tok_regex_split) with GPT-2's pre-tokenizer
 * regex, used instead of PCRE2 because it is measured faster and a differential test
 * (tests/test_gpt2_split.c) shows it cuts exactly the same pieces. See gpt2_split.c.
 */
#ifndef LLM_TOKENIZER_GPT2_SPLIT_H
#define LLM_TOKENIZER_GPT2_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "tokenizer/tok_internal.h"

enum {
    LLM_GPT2_SPLIT_NONE = 0,  /* not GPT-2's regex: use PCRE2 */
    LLM_GPT2_SPLIT_SHORT = 1, /* llama.cpp's form, without the final "|\s+" */
    LLM_GPT2_SPLIT_FULL = 2   /* Hugging Face / OpenAI form, ending in "|\s+" */
};

/* Which of the two GPT-2 regexes pattern[0..len) is, byte for byte (LLM_GPT2_SPLIT_*). */
int llm_tok_gpt2_split_kind(const char *pattern, size_t len);

/* Whether the hand-written split can run in this process (its one-time setup succeeded). */
bool llm_tok_gpt2_split_ready(void);

/* Same result as llm_tok_regex_split() with the regex of `kind` over s[a, b): the matches and
 * the gaps between them are appended to out as byte ranges. s[a, b) is valid UTF-8 (the encode
 * pipeline sanitizes its input); other bytes are read as U+FFFD, one at a time. Returns LLM_OK or
 * LLM_ERR_NOMEM. */
llm_status llm_tok_gpt2_split(int kind, const char *s, size_t a, size_t b, llm_tok_ranges *out);

#endif
