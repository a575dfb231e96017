"""The in-process engine's analysis, mappings, dates, patterns and query semantics. The
expected answers are the real engine's (OpenSearch 2.19), as the differential suite
(tests/integration/engine/test_differential.py) checks them at scale."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.engine import EngineError
from logalert.engine.inprocess import InProcessBackend, Unsupported
from logalert.engine.inprocess import analysis, dates, patterns, percentiles

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, tokens", [
    ("foo.bar baz", ["foo.bar", "baz"]), ("10.0.0.1", ["10.0.0.1"]), ("1,000 a,b", ["1,000", "a", "b"]),
    ("user@example.com", ["user", "example.com"]), ("a:b", ["a:b"]), ("it's", ["it's"]),
    ("_foo foo_ foo_bar", ["_foo", "foo_", "foo_bar"]), ("payment-failed", ["payment", "failed"]),
    ("ÉCOLE İstanbul", ["école", "istanbul"]), ("日本語テキスト", ["日", "本", "語", "テキスト"]),
    ("3.5.x", ["3.5", "x"]), ("ab12.cd", ["ab12", "cd"]), ("emoji😀x", ["emoji", "😀", "x"]),
    ("€100 #tag", ["100", "tag"]), ("a\u200bb", ["a", "b"]), ("x" * 300, ["x" * 255, "x" * 45]),
])
def test_the_standard_analyzer(text, tokens):
    assert analysis.analyze(text) == tokens


def test_dynamic_mapping_like_the_engine():
    b = InProcessBackend()
    b.bulk("i", [("1", {"s": "x", "d": "2024-01-15", "y": "2024", "n": 5, "f": 1.5, "b": True, "o": {"p": 1},
                        "k.dotted": "v", "e": None, "a": []})], refresh=True)
    props = b.get_mappings("i")["properties"]
    text = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert props == {"s": text, "d": {"type": "date"}, "y": text, "n": {"type": "long"}, "f": {"type": "float"},
                     "b": {"type": "boolean"}, "o": {"properties": {"p": {"type": "long"}}},
                     "k": {"properties": {"dotted": text}}}


@pytest.mark.parametrize("doc, reason", [
    ({"x": ["a", 5]}, "mapper [x] cannot be changed from type [text] to [long]"),
    ({"n": 1, "more": {"n": "abc"}}, None),
    ({"o": 5}, "object mapping for [o] tried to parse field [o] as object"),
    ({"n": "abc"}, "failed to parse field [n] of type [long] in document with id 'x'. Preview of field's value: 'abc'"),
    ({"n": {"a": 1}}, "Preview of field's value: '{a=1}'"),
    ({"n": " 5 "}, "failed to parse field [n]"),
])
def test_values_refused_as_the_engine_refuses_them(doc, reason):
    b = InProcessBackend()
    b.bulk("i", [("first", {"n": 1, "o": {"p": 1}})], refresh=True)
    result = b.bulk("i", [("x", doc)], refresh=True)
    if reason is None:
        assert result.ok
    else:
        assert reason in (result.failed[0].error or "")


@pytest.mark.parametrize("text, round_up, expected", [
    ("2024-01-15", False, "2024-01-15T00:00:00.000Z"), ("2024-01-15", True, "2024-01-15T23:59:59.999Z"),
    ("2024-01", True, "2024-01-01T23:59:59.999Z"), ("2024-01-15T10", True, "2024-01-15T10:59:59.999Z"),
    ("2024-01-15T10:00:00+01:00", False, "2024-01-15T09:00:00.000Z"), ("1705312800000", False, "2024-01-15T10:00:00.000Z"),
    ("now-1h/d", False, "2025-01-15T00:00:00.000Z"), ("now-1h/d", True, "2025-01-15T23:59:59.999Z"),
    ("2024-01-31||+1M", False, "2024-02-29T00:00:00.000Z"), ("now/w", False, "2025-01-13T00:00:00.000Z"),
])
def test_date_math_and_rounding(text, round_up, expected):
    assert dates.format_ms(dates.math(text, dates.to_ms(NOW), round_up=round_up)) == expected


@pytest.mark.parametrize("value, detected", [
    ("2024-01-15", True), ("2024-01-15T10:00:00.123456789Z", True), ("2024-01", True), ("2024", False),
    ("2024-01-15 10:00:00", False), ("2024/01/15", True), ("2024-02-30", False), ("2024-01-15Z", False),
])
def test_date_detection(value, detected):
    assert bool(dates.detect(value)) is detected


@pytest.mark.parametrize("regex, yes, no", [
    ("pay.*", ["payment"], ["repay"]), ("^pay", ["^pay"], ["pay"]), ("a{2,3}", ["aaa"], ["a", "aaaa"]),
    ('"a.b"c', ["a.bc"], ["axbc"]), ("[^a-c]x", ["dx"], ["ax"]), ("\\d+", ["123"], ["12a"]), ("@", ["", "any"], []),
    ("#", [], ["", "x"]), ("(ab|cd)+", ["abcd"], ["abc"]),
])
def test_lucene_regexps(regex, yes, no):
    compiled = patterns.regexp(regex)
    assert [bool(compiled.fullmatch(t)) for t in yes + no] == [True] * len(yes) + [False] * len(no)


@pytest.mark.parametrize("regex", ["a&b", "~a", "<1-10>"])
def test_regexp_operators_without_an_exact_answer_are_refused(regex):
    with pytest.raises(Unsupported, match="--engine"):
        patterns.regexp(regex)


def test_percentiles_as_the_engines_digest_few_values():
    assert percentiles.percentile([1.0, 2.0], 50) == 1.5
    assert percentiles.percentile([10.0, 20.0, 30.0, 40.0, 50.0], 25) == 17.5  # OpenSearch 2.19
    assert percentiles.percentile([10.0, 20.0, 30.0, 40.0, 50.0], 25, "elasticsearch") == 20.0  # Elasticsearch 9.2
    assert percentiles.percentile([float(v) for v in range(1, 11)], 95, "elasticsearch") == 9.549999999999999
    assert percentiles.percentile([], 95) is None
    with pytest.raises(Unsupported, match="percentiles over more than 200"):
        percentiles.percentile([float(v) for v in range(201)], 95)
    assert percentiles.percentile([float(v) for v in range(1000)], 50, "elasticsearch") == 499.5


def test_a_regexp_on_a_text_field_follows_the_engine_asked_for():
    for semantics, expected in (("opensearch", ["a"]), ("elasticsearch", [])):
        b = InProcessBackend(semantics=semantics)
        b.bulk("i", [("a", {"msg": "Payment FAILED"})], refresh=True)
        assert [h.id for h in b.search("i", {"query": {"query_string": {"query": "msg:/PAY.*/"}}}).hits] == expected
        assert semantics in b.describe().lower()


# --- queries over a small corpus ----------------------------------------------------------
DOCS = {
    "a": {"msg": "Payment FAILED for user Bob", "level": "ERROR", "status": 500, "rt": 0.25, "ok": True,
          "t": "2024-01-15T10:00:00Z", "host": "web-1"},
    "b": {"msg": "payment ok", "level": "info", "status": 200, "rt": 1.5, "ok": False, "t": "2024-01-15T11:00:00Z"},
    "c": {"msg": "Error: disk full", "level": "Error", "status": "503", "t": "2024-01-16T10:00:00Z",
          "k8s": {"pod": "web-1"}},
    "d": {"msg": "500 errors seen", "level": "WARN", "t": "2024-01-14T10:00:00Z", "tags": ["x", "Y"]},
}


@pytest.fixture(scope="module")
def corpus():
    b = InProcessBackend(clock=lambda: NOW)
    assert b.bulk("q", list(DOCS.items()), refresh=True).ok
    return b


def ids(backend, query):
    try:
        return "".join(sorted(h.id for h in backend.search("q", {"query": query, "size": 100}).hits))
    except EngineError:
        return "refused"


@pytest.mark.parametrize("text, expected", [
    ("msg:[P TO Q]", "ab"), ("msg:PAY*", "ab"), ("msg:/PAY.*/", "ab"), ("500", "ad"), ("abc", ""),
    ("status:abc", ""), ("ERROR", "ac"), ('"payment failed"', "a"), ("level.keyword:ERROR", "a"),
    ("level.keyword:error", ""), ("true", "a"), ("2024-01-15", "ab"), ("0.25", "a"), ("ok:TRUE", ""),
    ("k8s.pod:web-1", "c"), ("k8s.\\*:web", "c"), ("_exists_:k8s", "c"), ("tags:y", "d"), ("tags.keyword:y", ""),
    ("NOT level:error", "bd"), ("*", "abcd"), ("status:*", "abc"), ("status:>=500", "ac"), ("rt:>0.25", "b"),
    ("msg:payment AND NOT msg:failed", "b"), ("msg:payment-failed", "ab"),
    ("level:ERROR OR level:info AND status:200", "b"),  # Lucene: +info +200 ERROR
    ("level:ERROR AND level:info OR status:200", ""),  # +ERROR +info 200
    ("-level:error", "bd"), ("+level:error msg:disk", "ac"), ("!level:error", "bd"),
    ("level:error && status:500", "a"), ("level.keyword:(ERROR info)", ""),  # one keyword "ERROR info"
    ("level.keyword:(ERROR OR info)", "ab"), ("500 200", "d"),  # bare words together: numbers cannot match
    ("t:[2024-01-15 TO 2024-01-16}", "ab"), ("t:>2024-01-15", "c"), ("t:<=2024-01-15", "abd"),
    ("_exists_:k8s.*", ""), ("msg:#", ""),
])
def test_query_string(corpus, text, expected):
    assert ids(corpus, {"query_string": {"query": text}}) == expected


@pytest.mark.parametrize("text, expected", [
    ("payment failed", "a"), ("level:error status:500", "a"), ("payment OR disk", "abc"), ("NOT payment", "cd"),
])
def test_default_operator_and(corpus, text, expected):
    assert ids(corpus, {"query_string": {"query": text, "default_operator": "AND"}}) == expected


@pytest.mark.parametrize("text", ["level:(error", "a AND", "msg:/unterminated", "t:2024-01-15T10:00:00Z",
                                  "k8s.*:web", "msg:a/b", "NOT NOT a"])
def test_what_the_engine_cannot_parse_is_refused_like_the_engine(corpus, text):
    assert ids(corpus, {"query_string": {"query": text}}) == "refused"


@pytest.mark.parametrize("query, expected", [
    ({"range": {"msg": {"gte": "P", "lte": "Q"}}}, ""), ({"wildcard": {"msg": "PAY*"}}, ""),
    ({"wildcard": {"msg": {"value": "PAY*", "case_insensitive": True}}}, "ab"), ({"prefix": {"msg": "pay"}}, "ab"),
    ({"match": {"status": "500"}}, "a"), ({"match": {"status": "abc"}}, "refused"), ({"term": {"ok": "TRUE"}}, "refused"),
    ({"match": {"msg": {"query": "payment failed", "operator": "and"}}}, "a"), ({"exists": {"field": "k8s"}}, "c"),
    ({"term": {"status": 500.5}}, ""), ({"range": {"status": {"gt": 499.5}}}, "ac"), ({"term": {"t": "2024-01-15"}}, "ab"),
    ({"bool": {"filter": [{"query_string": {"query": "msg:#"}}]}}, ""), ({"bool": {}}, "abcd"),
    ({"bool": {"should": [{"term": {"status": 500}}, {"term": {"host.keyword": "web-1"}}], "minimum_should_match": 2}}, "a"),
    ({"match_phrase": {"msg": "disk full"}}, "c"), ({"ids": {"values": ["a", "z"]}}, "a"),
])
def test_query_dsl(corpus, query, expected):
    assert ids(corpus, query) == expected


@pytest.mark.parametrize("query, what", [
    ({"query_string": {"query": "msg:pymnt~"}}, "fuzzy"),
    ({"query_string": {"query": 'msg:"payment failed"~2'}}, "phrase slop"),
    ({"query_string": {"query": "pay*", "analyze_wildcard": True}}, "analyze_wildcard"),
    ({"simple_query_string": {"query": "x"}}, "simple_query_string"), ({"script": {}}, "script"),
    ({"match_phrase": {"msg": {"query": "a b", "slop": 1}}}, "slop"),
])
def test_what_cannot_be_answered_exactly_is_refused(corpus, query, what):
    with pytest.raises(Unsupported) as info:
        corpus.search("q", {"query": query})
    assert what in str(info.value) and "logalert test --engine" in str(info.value)
