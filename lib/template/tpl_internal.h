/*
 * The chat-template engine's inner parts: the arena every render allocates from, the value model,
 * the syntax tree, and the evaluation context shared by the evaluator, the filters, the tests and
 * the methods. Nothing here is public; lib/template/template.h is the engine's one entry point.
 *
 * Two decisions shape every file of the engine:
 *  - All memory of one render (tokens, tree, values, output) comes from one arena that is freed at
 *    the end. Values therefore need no reference counts, cycles (a namespace holding itself)
 *    cannot leak, and the arena's byte budget bounds memory.
 *  - Errors unwind with longjmp to the render entry (tpl_fail). Because nothing is allocated
 *    outside the arena, unwinding from any depth leaks nothing, and the code reads like the
 *    semantics it implements instead of like error plumbing.
 */
#ifndef LLM_TEMPLATE_TPL_INTERNAL_H
#define LLM_TEMPLATE_TPL_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "template/template.h"

/* ---------------------------------------------------------------------------------------------- */
/* arena                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

typedef struct tpl_block tpl_block;
typedef struct tpl_ctx tpl_ctx;

typedef struct tpl_arena {
    tpl_block *head;
    size_t used_total;  /* bytes handed out so far */
    size_t limit;       /* budget; exceeding it fails the render with LLM_ERR_LIMIT */
    tpl_ctx *ctx;       /* where failures go */
} tpl_arena;

void *tpl_alloc(tpl_ctx *c, size_t size);           /* zeroed, 16-byte aligned; fails on budget */
char *tpl_strndup(tpl_ctx *c, const char *s, size_t n); /* NUL-terminated copy */
void tpl_arena_free(tpl_arena *a);

/* A growable byte buffer inside the arena (growth copies; the old block is simply abandoned). */
typedef struct tpl_buf {
    char *p;
    size_t len, cap;
    bool is_output;     /* counts against the output limit */
} tpl_buf;

void tpl_buf_put(tpl_ctx *c, tpl_buf *b, const char *s, size_t n);
void tpl_buf_putc(tpl_ctx *c, tpl_buf *b, char ch);
void tpl_buf_putf(tpl_ctx *c, tpl_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---------------------------------------------------------------------------------------------- */
/* values                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef enum tpl_kind {
    TV_UNDEF = 0,   /* Jinja's Undefined: prints "", iterates empty, fails on use */
    TV_NONE,
    TV_BOOL,
    TV_INT,
    TV_FLOAT,
    TV_STR,
    TV_LIST,        /* also tuples (flag TV_TUPLE) */
    TV_DICT,        /* ordered; a namespace() is a dict with flag TV_NAMESPACE (the only mutable) */
    TV_FUNC,        /* a built-in function or bound method */
    TV_MACRO,
    TV_LOOP         /* the `loop` variable of a for loop */
} tpl_kind;

/* List flags: a tuple; a generator (what Jinja's select, map, unique, ... return: always true,
 * without a length or an index, until `| list` makes it a list). Dict flag: a namespace. */
enum { TV_TUPLE = 1, TV_NAMESPACE = 2, TV_GEN = 4 };

typedef struct tpl_str { size_t n; char p[]; } tpl_str;
typedef struct tpl_list tpl_list;
typedef struct tpl_dict tpl_dict;
typedef struct tpl_func tpl_func;
typedef struct tpl_macro tpl_macro;
typedef struct tpl_loop tpl_loop;

typedef struct tpl_value {
    uint8_t kind;
    uint8_t flag;
    union {
        bool b;
        int64_t i;
        double f;
        tpl_str *s;
        tpl_list *l;
        tpl_dict *d;
        tpl_func *fn;
        tpl_macro *m;
        tpl_loop *loop;
        const char *undef;  /* why it is undefined, for the error when it is used (may be NULL) */
    } u;
} tpl_value;

struct tpl_list { size_t n, cap; tpl_value *v; };
struct tpl_dict { size_t n, cap; tpl_value *k; tpl_value *v; };

struct tpl_node;
typedef struct tpl_args {
    size_t n;                  /* positional */
    tpl_value *v;
    size_t nkw;                /* keyword */
    const char **kw;
    tpl_value *kv;
} tpl_args;

typedef tpl_value (*tpl_builtin_fn)(tpl_ctx *c, const struct tpl_node *at, tpl_value self,
                                    const tpl_args *a);
struct tpl_func { const char *name; tpl_builtin_fn fn; tpl_value self; };

struct tpl_loop {
    tpl_value items;   /* the list iterated (after the loop's `if` filter) */
    size_t index0;
    size_t depth0;
};

/* constructors */
static inline tpl_value tv_undef(const char *why)
{
    tpl_value v = {0};
    v.kind = TV_UNDEF;
    v.u.undef = why;
    return v;
}
static inline tpl_value tv_none(void)
{
    tpl_value v = {0};
    v.kind = TV_NONE;
    return v;
}
static inline tpl_value tv_bool(bool b)
{
    tpl_value v = {0};
    v.kind = TV_BOOL;
    v.u.b = b;
    return v;
}
static inline tpl_value tv_int(int64_t i)
{
    tpl_value v = {0};
    v.kind = TV_INT;
    v.u.i = i;
    return v;
}
static inline tpl_value tv_float(double f)
{
    tpl_value v = {0};
    v.kind = TV_FLOAT;
    v.u.f = f;
    return v;
}
tpl_value tv_str(tpl_ctx *c, const char *s, size_t n);
tpl_value tv_cstr(tpl_ctx *c, const char *s);
tpl_value tv_str_buf(tpl_ctx *c, const tpl_buf *b);
tpl_value tv_list(tpl_ctx *c, size_t cap);
tpl_value tv_tuple2(tpl_ctx *c, tpl_value a, tpl_value b);
tpl_value tv_dict(tpl_ctx *c, size_t cap);
tpl_value tv_func(tpl_ctx *c, const char *name, tpl_builtin_fn fn, tpl_value self);

void tv_list_push(tpl_ctx *c, tpl_value list, tpl_value item);
/* Sets key (replacing an equal key's value, keeping its place). */
void tv_dict_set(tpl_ctx *c, tpl_value dict, tpl_value key, tpl_value val);
void tv_dict_set_cstr(tpl_ctx *c, tpl_value dict, const char *key, tpl_value val);
/* Returns the value of `key` or NULL. */
tpl_value *tv_dict_get(tpl_value dict, tpl_value key);
tpl_value *tv_dict_get_cstr(tpl_value dict, const char *key);

bool tv_truthy(tpl_value v);
bool tv_equal(tpl_ctx *c, tpl_value a, tpl_value b);
/* Python ordering (<); fails with a TypeError-like message for unorderable pairs. */
int tv_compare(tpl_ctx *c, const struct tpl_node *at, tpl_value a, tpl_value b);
const char *tv_type_name(tpl_value v);   /* Python's type names: 'str', 'dict', 'NoneType' */
bool tv_is_number(tpl_value v);           /* int, float or bool */
double tv_as_double(tpl_value v);

/* str(v) as Python would print it (Undefined -> ""), appended to b. */
void tv_str_to(tpl_ctx *c, tpl_buf *b, tpl_value v);
/* repr(v) appended to b. */
void tv_repr_to(tpl_ctx *c, tpl_buf *b, tpl_value v);
/* str(v) as a string value (returns v itself when it already is one). */
tpl_value tv_to_str(tpl_ctx *c, tpl_value v);
/* Python's repr of a float (shortest round-trip, "1.0", "1e-05", "inf"). */
void tv_float_repr(double f, char out[32]);

/* Fails with the message an Undefined carries (or "'name' is undefined"). */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void tv_undef_fail(tpl_ctx *c, const struct tpl_node *at, tpl_value v);

/* ---------------------------------------------------------------------------------------------- */
/* strings (UTF-8)                                                                                */
/* ---------------------------------------------------------------------------------------------- */

/* Decodes one code point at s[*i] (advancing *i); the text is valid UTF-8 (checked on entry). */
uint32_t tpl_utf8_next(const char *s, size_t n, size_t *i);
size_t tpl_utf8_put(uint32_t cp, char out[4]);
size_t tpl_utf8_count(const char *s, size_t n);
/* Byte offset of code point index `cp` (n when past the end). */
size_t tpl_utf8_offset(const char *s, size_t n, size_t cp);
bool tpl_utf8_valid(const char *s, size_t n, size_t *bad_at);
bool tpl_is_space(uint32_t cp);             /* Python str.isspace() */
/* Python str.strip()/lstrip()/rstrip() without argument (Unicode whitespace) or with a char set. */
void tpl_strip(const char *s, size_t n, const char *chars, size_t nchars, bool left, bool right,
               size_t *start, size_t *len);
tpl_value tpl_case_map(tpl_ctx *c, tpl_value s, int mode); /* 0 lower, 1 upper, 2 capitalize, 3 title */

/* ---------------------------------------------------------------------------------------------- */
/* tokens and syntax tree                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef enum tpl_tok_kind {
    TK_EOF = 0,
    TK_TEXT,
    TK_VAR_BEGIN,
    TK_VAR_END,
    TK_BLOCK_BEGIN,
    TK_BLOCK_END,
    TK_NAME,
    TK_STRING,
    TK_INT,
    TK_FLOAT,
    TK_OP
} tpl_tok_kind;

typedef struct tpl_token {
    uint8_t kind;
    char op[3];         /* TK_OP: the operator text */
    size_t pos;         /* byte offset in the normalized source */
    const char *s;      /* TK_TEXT / TK_NAME / TK_STRING: NUL-terminated arena text */
    size_t n;
    int64_t i;
    double f;
} tpl_token;

typedef enum tpl_node_kind {
    /* expressions */
    TN_LIT = 1, TN_NAME, TN_LIST, TN_TUPLE, TN_DICT, TN_GETATTR, TN_GETITEM, TN_SLICE, TN_CALL,
    TN_FILTER, TN_TEST, TN_NOT, TN_NEG, TN_POS, TN_BINOP, TN_AND, TN_OR, TN_CMP, TN_IN, TN_NOTIN,
    TN_COND,
    /* statements */
    TN_TEXT, TN_OUTPUT, TN_IF, TN_FOR, TN_SET, TN_SETBLOCK, TN_MACRO, TN_BREAK, TN_CONTINUE,
    TN_FILTERBLOCK, TN_WITH, TN_BODY
} tpl_node_kind;

typedef struct tpl_nodes { size_t n, cap; struct tpl_node **v; } tpl_nodes;

typedef struct tpl_node {
    uint8_t kind;
    char op[3];                 /* TN_BINOP / TN_CMP operator */
    size_t pos;                 /* source offset, for line:column in errors */
    struct tpl_node *a, *b, *c, *d;
    tpl_nodes items;            /* arguments, elements, dict keys, body */
    tpl_nodes items2;           /* keyword values, dict values, else body, macro defaults */
    const char **names;         /* keyword names, macro parameter names (n = items2.n) */
    const char *name;           /* identifier, attribute, filter/test/macro name */
    const char *text;           /* TN_TEXT */
    size_t text_n;
    tpl_value lit;
} tpl_node;

struct tpl_macro { const tpl_node *def; };

/* ---------------------------------------------------------------------------------------------- */
/* context                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

typedef struct tpl_scope {
    struct tpl_scope *parent;
    tpl_value vars;             /* dict */
} tpl_scope;

struct tpl_ctx {
    tpl_arena arena;
    jmp_buf jb;
    llm_error *err;
    llm_tpl_limits lim;
    const char *src;            /* normalized source */
    size_t src_n;
    /* lexer/parser */
    tpl_token *toks;
    size_t ntok, tok_cap, tp;
    uint32_t parse_depth;
    uint32_t loop_nesting;
    /* evaluation */
    tpl_buf *out;
    size_t output_bytes;        /* everything written to output-counting buffers */
    uint64_t steps;
    uint32_t depth;
    int jump;                   /* 1 break, 2 continue */
    tpl_scope *globals;
    tpl_scope *root;
    const char *now;            /* ISO time for strftime_now, or NULL */
};

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 4, 5)))
#endif
void tpl_fail(tpl_ctx *c, size_t pos, llm_status st, const char *fmt, ...);
/* The "line L, column C" of a source offset. */
void tpl_line_col(const tpl_ctx *c, size_t pos, unsigned *line, unsigned *col);
void tpl_step(tpl_ctx *c, size_t pos, uint64_t n);  /* charges work; fails past max_steps */

/* lexer.c / parser.c */
void tpl_lex(tpl_ctx *c);
tpl_node *tpl_parse(tpl_ctx *c);

/* eval.c */
void tpl_exec_body(tpl_ctx *c, const tpl_nodes *body, tpl_scope *sc);
tpl_value tpl_eval(tpl_ctx *c, const tpl_node *n, tpl_scope *sc);
tpl_value tpl_getattr(tpl_ctx *c, const tpl_node *at, tpl_value obj, const char *name);
tpl_value tpl_getitem(tpl_ctx *c, const tpl_node *at, tpl_value obj, tpl_value key);
tpl_value tpl_call(tpl_ctx *c, const tpl_node *at, tpl_value fn, const tpl_args *a);
/* Materializes an iterable as a list value (strings: characters, dicts: keys). */
tpl_value tpl_iterate(tpl_ctx *c, const tpl_node *at, tpl_value v);

/* filters.c / tests.c / methods.c / globals.c */
tpl_value tpl_apply_filter(tpl_ctx *c, const tpl_node *at, const char *name, tpl_value v,
                           const tpl_args *a);
bool tpl_apply_test(tpl_ctx *c, const tpl_node *at, const char *name, tpl_value v,
                    const tpl_args *a);
bool tpl_test_exists(const char *name);
bool tpl_filter_exists(const char *name);
/* A bound method of a str/dict/list, or an Undefined saying why there is none. */
tpl_value tpl_method(tpl_ctx *c, tpl_value obj, const char *name, bool *found);
void tpl_install_globals(tpl_ctx *c, tpl_scope *g);

/* json.c */
struct json_t;
tpl_value tpl_from_json(tpl_ctx *c, const struct json_t *j, uint32_t depth);
/* HF's tojson: json.dumps(x, ensure_ascii=False, indent, separators, sort_keys). */
void tpl_to_json(tpl_ctx *c, const tpl_node *at, tpl_buf *b, tpl_value v, const char *indent,
                 const char *item_sep, const char *key_sep, bool sort_keys, uint32_t level);

/* argument helpers: the i-th positional or the keyword `name`, else NULL */
const tpl_value *tpl_arg(const tpl_args *a, size_t i, const char *name);
void tpl_args_check(tpl_ctx *c, const tpl_node *at, const char *fname, const tpl_args *a,
                    size_t max_pos, const char *const *kw_allowed);

#endif /* LLM_TEMPLATE_TPL_INTERNAL_H */
