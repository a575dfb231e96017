"""Offline query checks (logalert.rules.lint): syntax errors, warnings, nesting, positions."""

from __future__ import annotations

import textwrap

import pytest

from logalert.rules.lint import lint_file, lint_filters

WHERE = ("rule.yaml", 7)
OPTION = "filter[0].query.query_string.query"


def check(query: str, **params: object) -> list[str]:
    """Each problem of one ElastAlert-style query_string filter, as printed."""
    return [str(p) for p in lint_filters([{"query": {"query_string": {"query": query, **params}}}], WHERE)]


def error(col: int, message: str) -> list[str]:
    return [f"rule.yaml:7: {OPTION}: col {col}: {message}"]


def warning(col: int, message: str) -> list[str]:
    return [f"rule.yaml:7: warning: {OPTION}: col {col}: {message}"]


VALID = [
    "level:ERROR", "level:ERROR OR message:error", 'message:"OOMKilled" OR message:"Out of memory"',
    "*", "*:*", "_exists_:kubernetes.pod_name", "NOT level:DEBUG", "+level:ERROR -message:healthcheck",
    "level:(ERROR OR FATAL) AND NOT kubernetes.namespace_name:kube-system", "status:[500 TO 599]",
    "status:{400 TO 500]", "status:>=500", "status:(>=500 AND <600)", "@timestamp:[now-1h TO now]",
    "ts:[10:00 TO 11:00]", "@timestamp:[2024-01-01T00:00:00+01:00 TO *]", r"path:\/var\/log",
    r'message:"a \"quoted\" word"', r"field\:with\:colons:value", "host:web-01", "name:jo?n", "name:j*n",
    'message:"connection refused"~2', "message:timeout~1 AND level:ERROR^2", "message:can't",
    "user:'bob'", "message:/[0-9]+ failed/", r"message:/a\/b/", "message:a && message:b",
    "message:a || !message:b", "message:ошибка", "level: ERROR", "level:ERROR\nAND message:timeout",
    "-(level:DEBUG OR level:INFO)", 'message:""',
]


@pytest.mark.parametrize("query, word, others", [
    ("error", "error", ""), ("error OR fatal", "error", " and 1 other term(s) have"),
    ('"out of memory"', '"out of memory"', ""), ("a && b", "a", " and 1 other term(s) have"),
])
def test_a_query_of_bare_terms_gets_one_warning_and_default_field_star_says_it_is_meant(query, word, others):
    assert check(query) == warning(1, f"'{word}'{others or ' has'} no field, so every field of every document is "
                                      f"searched (slower, and a match in any field alerts); name the field, e.g. "
                                      f'message:{word} (default_field: "*" says every field is meant)')
    assert check(query, default_field="*") == []


@pytest.mark.parametrize("query", VALID)
def test_valid_queries_give_nothing(query):
    assert check(query) == []


@pytest.mark.parametrize("query, col, message", [
    ("(level:ERROR OR level:WARN", 1, "unbalanced parenthesis"),
    ("level:ERROR AND (message:a OR (message:b)", 17, "unbalanced parenthesis"),
    ("level:ERROR)", 12, "unbalanced parenthesis"),
    ('message:"connection refused', 9, "unterminated quoted phrase"),
    ('message:"quoted text at position 3', 9, "unterminated quoted phrase"),
    ('message:(a OR b)) "at position 1"', 17, "unbalanced parenthesis"),
    ("message:/ERROR", 9, "unterminated regex (write \\/ to search for a slash)"),
    ("level:ERROR AND", 13, "dangling operator AND"),
    ("OR level:ERROR", 1, "dangling operator OR"),
    ("level:ERROR AND AND message:x", 13, "dangling operator AND"),
    ("level:ERROR OR (message:x AND)", 27, "dangling operator AND"),
    ("level:ERROR NOT", 13, "dangling operator NOT"),
    ("level:ERROR -", 13, "dangling operator -"),
    ("", 1, "empty query (it would match no documents)"),
    ("   ", 1, "empty query (it would match no documents)"),
    ("level:", 6, "no value after 'level:'"),
    ("level: AND message:x", 6, "no value after 'level:'"),
    ("status:[500 TO", 8, "unterminated range '['"),
    ("status:]", 8, "']' without a matching '['"),
    ("message:[ERROR]", 9, "a range is written [low TO high] (write \\[ to search for a bracket)"),
    ("status:[500 to 599]", 8, "a range is written [low TO high] (write \\[ to search for a bracket)"),
    ("message:error\\", 14, "escape character \\ at the end of the query"),
    ("^2 level:ERROR", 1, "'^' must follow a term"),
    ("message:timeout~~", 17, "unexpected '~'"),  # luqum's own finding, with the user's text
    ("message:/(ERROR/", 10, "unbalanced parenthesis in the regex"),
    ("message:/[0-9/", 10, "unterminated character class [ in the regex"),
    ('message:/say "hi/', 14, 'unterminated quoted string in the regex (write \\" for a quote character)'),
])
def test_syntax_errors_are_one_fatal_line(query, col, message):
    assert check(query) == error(col, message)


def test_the_column_counts_from_1_inside_the_query_text():
    query = "level:ERROR AND (message:x OR message:y"
    assert check(query) == error(17, "unbalanced parenthesis")
    assert query[17 - 1] == "("


def test_regex_flag_of_the_seed_rule():
    assert check("message:/ERROR/i") == warning(16, (
        "'i' after the regex /ERROR/ is not a flag (Lucene regexes have none): the query means the regex ERROR "
        "on message OR the term 'i' in every field; write message:/[Ee][Rr][Rr][Oo][Rr]/, or message:error "
        "(text fields are lower-cased by the analyzer, so a plain term matches any case)"))


def test_regex_flag_follows_default_operator_and_complex_regexes():
    (line,) = check("message:/ERR.R [0-9]+/i", default_operator="and")
    assert line.endswith("the query means the regex ERR.R [0-9]+ on message AND the term 'i' in every field; "
                         "write message:/each letter as a class ([Ee] for e)/")
    (line,) = check("/Timeout/i")
    assert "the regex Timeout in every field OR the term 'i' in every field; write /[Tt][Ii][Mm][Ee][Oo][Uu][Tt]/, " \
           "or timeout (" in line


def test_inline_flag_and_leading_dot_star_in_a_regex():
    assert check("message:/(?i)error/") == warning(
        10, "(?i) is not a flag in Lucene regexes (they have none); for any letter case write [Ee][Rr][Rr][Oo][Rr]")
    assert check("message:/.*timeout/") == warning(
        10, "the regex starts with .*, so every term of the field is scanned (slow on large indices); "
            "start it with fixed text")


@pytest.mark.parametrize("query, col, word", [
    ("level:ERROR and message:timeout", 13, "and"),
    ("level:ERROR or level:FATAL", 13, "or"),
    ("not level:DEBUG", 1, "not"),
    ("message:(timeout Or refused)", 18, "Or"),
])
def test_lowercase_operators(query, col, word):
    assert check(query) == warning(col, f"'{word}' is searched as a word, not as an operator; write {word.upper()}")


def test_a_query_of_just_the_word_and_is_a_word():
    (line,) = check("and")
    assert "'and' has no field" in line and "operator" not in line


def test_bare_terms_next_to_fielded_ones():
    assert check("message:connection refused") == warning(
        20, "'refused' has no field, so it is searched in every field; give it one, e.g. message:refused")
    assert check('"out of memory" OR kubernetes.pod_name:web') == warning(
        1, "'\"out of memory\"' has no field, so it is searched in every field; "
           "give it one, e.g. kubernetes.pod_name:\"out of memory\"")


def test_bare_terms_are_fine_with_a_default_field():
    assert check("message:connection refused", default_field="message") == []
    assert check("level:ERROR timeout", fields=["message", "level"]) == []


@pytest.mark.parametrize("query, col, term", [("*timeout", 1, "*timeout"), ("message:?imeout", 9, "?imeout"),
                                              ("message:*timeout*", 9, "*timeout*")])
def test_leading_wildcards(query, col, term):
    assert check(query) == warning(col, f"'{term}' starts with a wildcard, so every term of the field is scanned "
                                        "(slow on large indices); search the word itself or put the wildcard at the end")


def test_leading_wildcard_is_an_error_when_the_query_refuses_it():
    assert check("message:*timeout", allow_leading_wildcard=False) == error(
        9, "'*timeout' starts with a wildcard, refused because allow_leading_wildcard is false")


def test_field_names_differing_only_in_case():
    assert check("Level:ERROR OR level:WARN") == warning(
        16, "field 'level' differs from 'Level' (col 1) only in case; "
            "field names are case-sensitive, so these are two fields")


def test_several_warnings_come_in_column_order():
    lines = check("Level:ERROR or level:*arn")
    assert [line.split(": col ")[1].split(":")[0] for line in lines] == ["13", "16", "22"]


def test_nested_filters_are_walked_and_named():
    filters = [
        {"term": {"regexp": "not a query"}},  # a field called regexp in a term query is left alone
        {"bool": {"must": [{"query_string": {"query": "level:ERROR"}}],
                  "must_not": {"query_string": {"query": "message:(a OR b"}}}},
        {"or": [{"query": {"query_string": {"query": "ok:1"}}}, {"not": {"query_string": {"query": "a AND"}}}]},
        {"nested": {"path": "x", "query": {"bool": {"should": [{"wildcard": {"host": "*web"}}]}}}},
    ]
    assert [str(p) for p in lint_filters(filters, WHERE)] == [
        "rule.yaml:7: filter[1].bool.must_not.query_string.query: col 9: unbalanced parenthesis",
        "rule.yaml:7: filter[2].or[1].not.query_string.query: col 3: dangling operator AND",
        "rule.yaml:7: warning: filter[3].nested.query.bool.should[0].wildcard.host: col 1: '*web' starts with a "
        "wildcard, so every term of the field is scanned (slow on large indices); put the wildcard at the end or "
        "match the word",
    ]


def test_regexp_queries():
    filters = [{"regexp": {"message": "/ERROR/i"}},
               {"regexp": {"message": {"value": "(ERROR", "flags": "ALL"}}},
               {"regexp": {"path": "/var/log/"}},  # a keyword value may start and end with a slash
               {"regexp": {"message": {"value": "ERR[OR]", "case_insensitive": True}}}]
    assert [str(p) for p in lint_filters(filters, WHERE)] == [
        "rule.yaml:7: warning: filter[0].regexp.message: col 1: '/ERROR/i' is matched as text, slashes and 'i' "
        "included: a regexp value is the bare regex without flags; write ERROR with case_insensitive: true",
        "rule.yaml:7: filter[1].regexp.message.value: col 1: unbalanced parenthesis in the regex",
    ]


def test_wildcard_queries():
    filters = [{"wildcard": {"host": {"value": "?eb-01"}}}, {"wildcard": {"host": {"wildcard": "web-*"}}},
               {"wildcard": {"host": "*"}}]
    assert [str(p) for p in lint_filters(filters, WHERE)] == [
        "rule.yaml:7: warning: filter[0].wildcard.host.value: col 1: '?eb-01' starts with a wildcard, so every term "
        "of the field is scanned (slow on large indices); put the wildcard at the end or match the word"]


def test_simple_query_string_never_fails_but_warns():
    filters = [{"simple_query_string": {"query": 'level:ERROR AND "see http://x" +(timeout | "a:b"'}}]
    assert [str(p) for p in lint_filters(filters, WHERE)] == [
        "rule.yaml:7: warning: filter[0].simple_query_string.query: col 1: simple_query_string has no field:value "
        "syntax, so 'level:' is searched as text; list the field in fields: [level] or use query_string",
        "rule.yaml:7: warning: filter[0].simple_query_string.query: col 13: 'AND' is searched as a word; "
        "simple_query_string writes it as +",
    ]


def test_queries_that_are_not_text_are_left_to_the_schema():
    assert lint_filters([{"query": {"query_string": {"query": 42}}}, {"query_string": "x"}], WHERE) == []


def test_lines_come_from_the_yaml_file(tmp_path):
    path = tmp_path / "rule.yaml"
    path.write_text(textwrap.dedent("""\
        name: r
        type: any
        index: logs-*
        filter:
        - query:
            query_string:
              query: "message:/ERROR/i"
        - bool:
            must:
            - term: {level: ERROR}
            - query_string:
                default_field: message
                query: >-
                  timeout AND
        - regexp: {message: "(x"}
        alert: [stdout]
        """))
    assert [(p.line, p.option, p.fatal) for p in lint_file(str(path))] == [
        (7, "filter[0].query.query_string.query", False),
        (13, "filter[1].bool.must[1].query_string.query", True),
        (15, "filter[2].regexp.message", True),
    ]
    assert all(p.file == str(path) for p in lint_file(str(path)))


def test_files_without_a_filter_list_or_unreadable_give_nothing(tmp_path):
    (tmp_path / "a.yaml").write_text("name: r\nfilter: {query_string: {query: 'a AND'}}\n")
    (tmp_path / "b.yaml").write_text("name: [\n")
    (tmp_path / "c.yaml").write_text("- just a list\n")
    for name in ("a.yaml", "b.yaml", "c.yaml", "missing.yaml"):
        assert lint_file(str(tmp_path / name)) == []
