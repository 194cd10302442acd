#!/usr/bin/env python3
"""Reference renderings for tests/test_template.c, made with Python's Jinja2 configured the way
transformers' apply_chat_template configures it (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loopcontrols, its own tojson, raise_exception, strftime_now at a fixed time).

    python3 tests/make_template_refs.py > tests/data/template_refs.json

Each case renders `template` with messages, tools=None, documents=None,
add_generation_prompt=False and the case's extra variables; the output records what Jinja2
printed, or that it raised (and the message for raise_exception).
"""
import datetime
import json
import sys

import jinja2
import jinja2.nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


class Generation(Extension):
    """transformers' AssistantTracker without the tracking: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                      extensions=[Generation, loopcontrols])
    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    e.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)
    return e


MSGS = [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi \u00e9\u4f60 \U0001F600"},
        {"role": "assistant", "content": "Hello!", "tool_calls": [
            {"id": "abc123XYZ", "type": "function",
             "function": {"name": "get", "arguments": {"city": "Paris", "n": 2}}}]},
        {"role": "user", "content": "  spaced\ttext\n"}]

CASES = [
    # whitespace control: trim_blocks, lstrip_blocks, -, +
    ("ws_trim_blocks", "{% if true %}\nA\n{% endif %}\nB", {}),
    ("ws_lstrip", "x\n    {% if true %}\n    y\n    {% endif %}\nz", {}),
    ("ws_dash", "a   {%- if true -%}   b   {%- endif -%}   c", {}),
    ("ws_var_dash", "a  {{- 'b' -}}  c", {}),
    ("ws_plus", "x\n    {%+ if true %}y{% endif %}\n", {}),
    ("ws_plus_end", "{% if true +%}\nkeep{% endif %}", {}),
    ("ws_comment", "a\n  {# note #}\nb {#- x -#}  c", {}),
    ("ws_trailing_newline", "line\n", {}),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", {}),
    ("ws_inline_block", "a {% if true %}b{% endif %} c\n  {{ 'd' }}  {% if 1 %}e{% endif %}", {}),
    ("raw", "{% raw %}{{ not }} {% evaluated %}{% endraw %}!", {}),
    # literals and printing
    ("print_scalars", "{{ 1 }} {{ 1.0 }} {{ 2.50 }} {{ 1e-5 }} {{ 1e16 }} {{ 123456789.123 }} "
     "{{ true }} {{ none }} {{ -3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} "
     "{{ 2 ** 10 }} {{ 0.1 + 0.2 }}", {}),
    ("print_containers", "{{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': [1, 2]} }} "
     "{{ (1,) }} {{ (1, 'x') }} {{ [] }} {{ {} }}", {}),
    ("print_str_repr", "{{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'tab\\there', "
     "'nl\\n', '\u00e9', '\\x07'] }}", {}),
    ("string_escapes", "{{ 'a\\tb\\\\c\\u00e9\\x41\\101\\d' }}|{{ \"q'\" }}|{{ 'x' 'y' }}", {}),
    ("undefined_prints_empty", "[{{ nothing }}][{{ nothing ~ 'x' }}]", {}),
    ("concat_tilde", "{{ 1 ~ 'a' ~ none ~ true }}", {}),
    # operators and precedence
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} "
     "{{ not 1 == 2 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' ~ (1 + 2) }} {{ 'a' ~ 1 * 2 }}", {}),
    ("and_or_values", "{{ 0 or 'x' }} {{ '' and 'y' }} {{ 'a' and 'b' }} {{ none or none }}", {}),
    ("in_operator", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} "
     "{{ 'z' not in 'abc' }} {{ 'role' in messages[0] }}", {}),
    ("comparisons", "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} "
     "{{ none == none }} {{ [1] == [1] }} {{ {'a': 1} == {'a': 1} }} {{ 'a' != 'a' }}", {}),
    ("cond_expr", "{{ 'y' if true else 'n' }} {{ 'y' if false else 'n' }} [{{ 'y' if false }}]",
     {}),
    ("list_concat_repeat", "{{ [1] + [2, 3] }} {{ 'ab' * 3 }} {{ [0] * 2 }}", {}),
    # lookup
    ("attr_and_item", "{{ messages[0].role }} {{ messages[0]['content'] }} {{ messages[-1].role }}"
     " {{ messages.0.role }}", {}),
    ("missing_key_undefined", "[{{ messages[0].nope }}][{{ messages[9] }}] "
     "{{ messages[0].nope is defined }} {{ messages[0]['tool_calls'] is defined }}", {}),
    ("none_lookup_undefined", "{{ none.x is defined }} {{ none['y'] is defined }}", {}),
    ("slicing", "{{ messages[1:] | length }} {{ 'abcdef'[1:4] }} {{ 'abcdef'[::-1] }} "
     "{{ 'abcdef'[-2:] }} {{ [1, 2, 3, 4][::2] }} {{ 'h\u00e9llo'[1:3] }} {{ 'abc'[:-1] }} "
     "{{ 'abc'[5:] }}", {}),
    ("str_index_unicode", "{{ '\u4f60\u597dx'[1] }} {{ '\u4f60\u597dx' | length }}", {}),
    # statements
    ("for_loop_vars", "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/"
     "{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.length }}/{{ loop.first }}/"
     "{{ loop.last }};{% endfor %}", {}),
    ("for_prev_next", "{% for x in [1, 2, 3] %}{{ loop.previtem | default('-') }}{{ x }}"
     "{{ loop.nextitem | default('-') }} {% endfor %}", {}),
    ("for_filter", "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }} "
     "{% endfor %}", {}),
    ("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}", {}),
    ("for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}"
     "{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("for_unpack", "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}", {}),
    ("for_dict_keys", "{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}", {}),
    ("for_string", "{% for ch in 'ab\u00e9' %}[{{ ch }}]{% endfor %}", {}),
    ("loop_cycle", "{% for x in range(4) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("nested_loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}"
     "{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("set_scoping", "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}"
     "{% if true %}{% set x = 3 %}{% endif %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in range(3) %}"
     "{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d = [3, 4] %}{{ c }}{{ d }}", {}),
    ("set_block", "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]", {}),
    ("set_block_filter", "{% set x | upper %}abc{% endset %}{{ x }}", {}),
    ("filter_block", "{% filter upper %}hello {{ 'w' }}{% endfilter %}", {}),
    ("with_block", "{% with a = 1, b = 'z' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    ("macro_basic", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
     "{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }}", {}),
    ("macro_recursive", "{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}"
     "{% endmacro %}{{ count(4) }}", {}),
    ("macro_in_expr", "{% macro t(x) %}<{{ x }}>{% endmacro %}{{ 'a' + t(1) + 'b' }}", {}),
    ("macro_sees_globals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ messages | length }}"
     "{% endmacro %}{{ m() }}", {}),
    ("generation_block", "{% generation %}gen {{ 1 }}{% endgeneration %}", {}),
    ("elif_chain", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}"
     "many{% endif %} {% endfor %}", {}),
    # filters
    ("f_trim", "[{{ '  a b \\n' | trim }}][{{ messages[3].content | trim }}][{{ 'xxaxx' | "
     "trim('x') }}][{{ '\u3000wide\u3000' | trim }}]", {}),
    ("f_length", "{{ messages | length }} {{ 'h\u00e9' | length }} {{ {'a': 1} | length }} "
     "{{ nothing | length }} {{ [1, 2] | count }}", {}),
    ("f_tojson", "{{ messages[2] | tojson }}", {}),
    ("f_tojson_indent", "{{ messages[2].tool_calls | tojson(indent=2) }}", {}),
    ("f_tojson_opts", "{{ {'b': 1, 'a': [1, 2.5, none, true, 'x\"y\\\\z\\n\u00e9']} | "
     "tojson(sort_keys=true) }} {{ {'a': 1, 'b': [2]} | tojson(separators=(',', ':')) }} "
     "{{ [] | tojson(indent=4) }} {{ {} | tojson(indent=4) }} {{ 'ctl\\x01' | tojson }}", {}),
    ("f_tojson_keys", "{{ {1: 'a', true: 'b', none: 'c', 1.5: 'd'} | tojson }}", {}),
    ("f_join", "{{ ['a', 'b', 'c'] | join(', ') }} {{ [1, 2] | join }} "
     "{{ messages | map(attribute='role') | join('|') }}", {}),
    ("f_default", "{{ nothing | default('d') }} {{ '' | default('e') }} "
     "{{ '' | default('f', true) }} {{ none | d('g') }} {{ 0 | default(5, boolean=true) }}", {}),
    ("f_select", "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} "
     "{{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | list }} "
     "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3] | reject('equalto', 2) | list }} "
     "{{ messages | selectattr('tool_calls', 'defined') | list | length }} "
     "{{ [0, 1, '', 'a'] | select | list }}", {}),
    ("f_map", "{{ ['a', 'B'] | map('upper') | list }} {{ messages | map(attribute='nope', "
     "default='-') | list }} {{ [[1, 2], [3, 4]] | map(attribute='1') | list }}", {}),
    ("f_items_dictsort", "{{ {'b': 1, 'a': 2} | items | list }} {{ {'b': 1, 'A': 2, 'c': 0} | "
     "dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value') }}", {}),
    ("f_case", "{{ 'hello wORLD' | upper }} {{ 'HeLLo' | lower }} {{ 'hello wORLD' | capitalize }}"
     " {{ 'hello-world (x) [y]' | title }} {{ '\u00e9t\u00e9' | upper }}", {}),
    ("f_replace", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} "
     "{{ 'abc' | replace('', '-') }}", {}),
    ("f_numbers", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int(7) }} {{ 3 | float }} "
     "{{ '2.5' | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} "
     "{{ 2.1 | round(method='ceil') }} {{ [1, 2, 3] | sum }} {{ [3, 1, 2] | max }} "
     "{{ [3, 1, 2] | min }}", {}),
    ("f_sort_unique", "{{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}"
     " {{ [3, 1, 2] | sort(reverse=true) }} {{ messages | sort(attribute='role') | "
     "map(attribute='role') | list }} {{ ['a', 'A', 'b', 'a'] | unique | list }}", {}),
    ("f_first_last_list", "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | list }} "
     "{{ 'abc' | first }} {{ (1, 2) | list }}", {}),
    ("f_string", "{{ 1 | string }} {{ [1, 'a'] | string }} {{ none | string }} "
     "{{ (messages[0] | string)[:10] }}", {}),
    ("f_indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, first=true) }}|"
     "{{ 'a\\n\\nb' | indent(width='> ', blank=true) }}", {}),
    ("f_misc", "{{ 'one two  three' | wordcount }} {{ 'ab' | center(6) }}| {{ [1, 2, 3] | "
     "reverse | list }} {{ 'abc' | reverse }} {{ '<a&b>' | e }} {{ 'x' | safe }} "
     "{{ [1, 2, 3, 4, 5] | batch(2) | list }}", {}),
    # tests
    ("tests_types", "{{ 'a' is string }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} "
     "{{ true is integer }} {{ 1.5 is float }} {{ true is boolean }} {{ {} is mapping }} "
     "{{ [] is iterable }} {{ 'a' is iterable }} {{ nothing is iterable }} {{ none is iterable }} "
     "{{ 'a' is sequence }} {{ none is none }} {{ nothing is undefined }} "
     "{{ range is callable }} {{ {} is sequence }}", {}),
    ("tests_values", "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} "
     "{{ 9 is divisibleby(4) }} {{ 'a' is eq 'a' }} {{ 1 is ne 2 }} {{ 2 is gt 1 }} "
     "{{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ 'b' is in 'abc' }} {{ 'ab' is lower }} "
     "{{ 'AB' is upper }} {{ x is sameas x }} {{ true is true }} {{ 0 is false }}", {"x": [1]}),
    ("tests_not", "{{ nothing is not defined }} {{ 1 is not string }} {{ not nothing is defined }}",
     {}),
    # methods
    ("str_methods", "[{{ '  x  '.strip() }}][{{ '  x  '.lstrip() }}][{{ '  x  '.rstrip() }}]"
     "[{{ '--x--'.strip('-') }}] {{ 'Hello'.upper() }} {{ 'Hello'.lower() }} "
     "{{ 'hello world'.title() }} {{ 'hello'.capitalize() }} {{ 'abc'.startswith('ab') }} "
     "{{ 'abc'.endswith(('x', 'c')) }} {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} "
     "{{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'x\\ny\\r\\nz'.splitlines() }}"
     " {{ 'aXbX'.replace('X', '-') }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.rfind('c') }} "
     "{{ 'abcabc'.count('bc') }} {{ '-'.join(['a', 'b']) }} {{ '12'.isdigit() }} "
     "{{ 'ab'.isalpha() }} {{ '  '.isspace() }}", {}),
    ("think_split", "{{ 'reasoning</think>\\n\\nanswer'.split('</think>')[-1].lstrip('\\n') }}",
     {}),
    ("dict_methods", "{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b') }} {{ {'a': 1}.get('b', 2) }} "
     "{{ {'a': 1, 'b': 2}.keys() | list }} {{ {'a': 1, 'b': 2}.values() | list }} "
     "{{ {'a': 1}.items() | list }}", {}),
    ("list_methods", "{{ [1, 2, 2].count(2) }} {{ ['a', 'b'].index('b') }}", {}),
    # globals
    ("range_variants", "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }}",
     {}),
    ("strftime", "{{ strftime_now('%d %b %Y') }} | {{ strftime_now('%Y-%m-%d %H:%M:%S') }} | "
     "{{ strftime_now('%A %B %-d, %j %p %I') }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }} {{ namespace(a=1).a }}", {}),
    ("extra_vars", "{{ custom }} {{ flag is defined }} {{ nested.list[1] }}",
     {"custom": "C", "nested": {"list": [1, 2]}}),
    ("messages_content_list", "{% for p in messages[0].content %}{{ p.type }}:{{ p.text }};"
     "{% endfor %}", {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "hi"}, {"type": "image"}]}]}),
    ("generators_truthy", "{{ 'y' if messages | selectattr('role', 'equalto', 'nobody') else 'n' }}"
     " {{ 'y' if messages | selectattr('role', 'equalto', 'nobody') | list else 'n' }}"
     " {{ messages | map(attribute='role') | list | length }}", {}),
    ("case_tests_python", "{{ '2' is lower }} {{ 'a2' is lower }} {{ [1] is upper }} "
     "{{ 'ABC' is upper }} {{ 'Abc' is lower }}", {}),
    ("round_int_stays_int", "{{ 5 | round }} {{ 5 | round(1) }} {{ 5 | round(method='floor') }} "
     "{{ 2.5 | round }} {{ 3.5 | round }}", {}),
    ("in_undefined", "{{ 1 in nothing }} {{ 'a' not in nothing }}", {}),
    ("err_int_of_undefined", "{{ nothing | int }}", {}),
    ("err_indent_non_string", "{{ 5 | indent }}", {}),
    ("err_unknown_filter_untaken", "{% if false %}{{ 1 | frobnicate }}{% endif %}", {}),
    ("err_unknown_test_untaken", "{{ 1 if true else (1 is frobnicated) }}", {}),
    ("err_generator_length", "{{ messages | selectattr('role') | length }}", {}),
    # errors (the test compares only that they fail; raise_exception also its message)
    ("err_raise", "{{ raise_exception('Custom failure: ' ~ 42) }}", {}),
    ("err_undefined_attr", "{{ nothing.attr }}", {}),
    ("err_undefined_add", "{{ nothing + 'x' }}", {}),
    ("err_iterate_none", "{% for x in none %}{% endfor %}", {}),
    ("err_str_plus_dict", "{{ 'a' + {} }}", {}),
    ("err_list_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("err_unknown_filter", "{{ 1 | frobnicate }}", {}),
    ("err_unknown_tag", "{% frobnicate %}", {}),
    ("err_include", "{% include 'other.txt' %}", {}),
    ("err_unclosed_if", "{% if true %}never closed", {}),
    ("err_unclosed_var", "{{ 1 + }}", {}),
    ("err_bad_endtag", "{% for x in [1] %}{% endif %}", {}),
    ("err_div_zero", "{{ 1 / 0 }}", {}),
    ("err_set_attr_non_ns", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("err_call_non_callable", "{{ 'abc'() }}", {}),
    ("err_range_too_big", "{% for i in range(200000) %}{% endfor %}", {}),
]


def main():
    e = env()
    out = []
    for name, src, extra in CASES:
        variables = {"messages": MSGS, "tools": None, "documents": None,
                     "add_generation_prompt": False}
        variables.update(extra)
        case = {"name": name, "template": src, "extra": {k: v for k, v in extra.items()
                                                         if k != "messages"}}
        if "messages" in extra:
            case["messages"] = extra["messages"]
        else:
            case["messages"] = MSGS
        try:
            case["expected"] = e.from_string(src).render(**variables)
        except jinja2.exceptions.TemplateError as ex:   # includes syntax and undefined errors
            case["error"] = {"type": type(ex).__name__, "message": str(ex)}
        except Exception as ex:   # TypeError, ZeroDivisionError, OverflowError, ...
            case["error"] = {"type": type(ex).__name__, "message": str(ex)}
        out.append(case)
    json.dump({"generator": "tests/make_template_refs.py", "jinja2": jinja2.__version__,
               "now": NOW.isoformat(), "cases": out}, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
