"""The corpus and the cases of the differential suite (test_differential.py).

Two indices hold the same log documents: ``dyn`` with the engine's dynamic mappings
(strings: text + .keyword, whole numbers long, decimals float), ``typed`` with explicit
mappings (keyword-only level/host/tags, an integer status, a double response time). A
third, ``series``, is a time series for the rule types' aggregations.

A case is a query; the suite runs it on both engines over every document of the
index and compares the matching ids (or that both refuse it). Cases whose ids start
with ``refused:`` are ones the evaluator must refuse (Unsupported), saying to use a
real engine, because it cannot promise the engine's answer.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

UTC = dt.timezone.utc


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def corpus(now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Log documents by id. Times relative to ``now`` are far from the boundaries the
    date-math cases use, so the two engines' clocks (milliseconds apart) agree."""
    def ago(**span: float) -> str:
        return iso(now - dt.timedelta(**span))

    k8s = {"pod_name": "pay-7f9c", "namespace_name": "shop", "container_name": "api", "labels": {"app": "payments"}}
    docs: dict[str, dict[str, Any]] = {
        "d01": {"@timestamp": ago(minutes=31), "message": "Payment FAILED for user Bob", "level": "ERROR",
                "status": 500, "response_time": 0.25, "ok": False, "host": "web-1", "kubernetes": k8s,
                "tags": ["billing", "Critical"], "user": "bob@example.com", "path": "/api/v1/pay",
                "created": "2024-01-15T10:00:00Z", "count": 1},
        "d02": {"@timestamp": ago(minutes=93), "message": "payment ok", "level": "INFO", "status": 200,
                "response_time": 1.5, "ok": True, "host": "web-2", "created": "2024-01-15T23:59:59.999Z", "count": 2},
        "d03": {"@timestamp": ago(hours=3, minutes=7), "message": "Error: disk full on /dev/sda1", "level": "Error",
                "status": 503, "host": "db-1", "created": "2024-01-16T00:00:00Z",
                "kubernetes": {"pod_name": "db-0", "namespace_name": "data", "labels": {"app": "postgres"}}},
        "d04": {"@timestamp": ago(days=2, hours=1), "message": "500 errors seen in the last 5m", "level": "WARN",
                "created": "2024-01-14T23:59:59.999Z", "tags": ["x", "Y"]},
        "d05": {"@timestamp": ago(minutes=12), "message": "OOMKilled: container exceeded memory limit",
                "level": "ERROR", "kubernetes": {"pod_name": "worker-5", "namespace_name": "jobs"}, "count": 5},
        "d06": {"@timestamp": ago(minutes=47), "message": "Out of memory: Killed process 1234 (java)",
                "level": "ERROR", "host": "web-10", "status": 500, "response_time": 2.75},
        "d07": {"@timestamp": ago(hours=5), "message": "GET /api/v1/users?id=42 HTTP/1.1 404", "level": "INFO",
                "status": 404, "path": "/api/v1/users", "response_time": 0.1},
        "d08": {"@timestamp": ago(minutes=20), "message": 'user said "hello world" twice', "level": "debug"},
        "d09": {"@timestamp": ago(hours=26), "message": "key:value pairs: a=1, b=2", "level": "INFO",
                "created": "2024-02-01T00:00:00Z"},
        "d10": {"@timestamp": ago(minutes=75), "message": "C:\\Windows\\System32 path not found", "level": "WARN",
                "host": "WEB-1"},
        "d11": {"@timestamp": ago(minutes=140), "message": "ÉCOLE naïve café déjà vu", "level": "info"},
        "d12": {"@timestamp": ago(minutes=8), "message": "foo-bar baz_qux foo.bar", "level": "TRACE", "count": 3},
        "d13": {"@timestamp": ago(minutes=66), "message": "it's a test's thing", "level": "INFO"},
        "d14": {"@timestamp": ago(minutes=222), "message": "The quick brown fox jumps over the lazy dog",
                "level": "INFO", "tags": "animals"},
        "d15": {"@timestamp": ago(minutes=39), "message": "quick fox", "level": "INFO", "ok": True},
        "d16": {"@timestamp": ago(minutes=17), "message": "", "level": "INFO"},
        "d17": {"@timestamp": ago(minutes=53), "level": "ERROR", "status": 502, "host": "web-3"},
        "d18": {"@timestamp": ago(minutes=100), "message": ["first line", "second line ERROR"], "level": "ERROR"},
        "d19": {"@timestamp": ago(minutes=25), "message": "10.0.0.1 connected from 192.168.1.10", "level": "INFO",
                "host": "10.0.0.1"},
        "d20": {"@timestamp": ago(minutes=160), "message": "timeout after 30s (retry 3/5)", "level": "WARN",
                "status": 504, "response_time": 30.0},
        "d21": {"@timestamp": ago(hours=30), "message": "[2024-01-15 10:00:00,123] WARN c.e.Service - slow",
                "level": "WARN", "created": "2024-01-15T12:30:00Z"},
        "d22": {"@timestamp": ago(minutes=44), "message": "a*b?c literal stars", "level": "INFO"},
        "d23": {"@timestamp": ago(minutes=61), "message": "x" * 300, "level": "INFO"},
        "d24": {"@timestamp": ago(minutes=35), "message": "email: alice+ops@example.org", "user": "alice+ops@example.org",
                "level": "INFO"},
        "d25": {"@timestamp": ago(minutes=81), "message": "NullPointerException at com.example.Foo.bar(Foo.java:42)",
                "level": "ERROR", "status": 500},
        "d26": {"@timestamp": ago(minutes=29), "message": "status=503 upstream=backend-2", "level": "ERROR",
                "status": 503},
        "d27": {"@timestamp": ago(minutes=190), "message": "warning: low disk (5% free)", "level": "warn"},
        "d28": {"@timestamp": ago(minutes=5), "message": "payment failed again", "level": "ERROR", "status": 500,
                "host": "web-1", "kubernetes": {"pod_name": "pay-aa11", "namespace_name": "shop",
                                                "labels": {"app": "payments"}}},
        "d29": {"@timestamp": ago(minutes=57), "message": "FAILED payment", "level": "ERROR", "count": 4},
        "d30": {"@timestamp": ago(minutes=71), "message": "Out-of-memory killer invoked", "level": "ERROR"},
        "d31": {"@timestamp": ago(minutes=23), "message": "not found", "status": "404", "level": "INFO"},
        "d32": {"@timestamp": ago(minutes=86), "message": "redirect", "status": 302, "response_time": 0.5,
                "level": "INFO"},
        "d33": {"@timestamp": ago(days=3), "message": "old news", "level": "INFO", "ok": True},
        "d34": {"@timestamp": iso(now + dt.timedelta(hours=2, minutes=13)), "message": "from the future",
                "level": "INFO"},
        "d35": {"@timestamp": ago(minutes=15), "kubernetes.pod_name": "dotted-1", "message": "flat dotted key",
                "level": "INFO"},
        "d36": {"@timestamp": ago(minutes=19), "tags": ["a", "b", "c"], "level": "warn", "message": "tagged"},
        "d37": {"@timestamp": ago(minutes=99), "level": "Error", "message": "Mixed Case Level", "host": "web-20"},
        "d38": {"@timestamp": ago(minutes=41), "message": "#hashtag and @mention & more", "level": "INFO"},
        "d39": {"@timestamp": ago(minutes=64), "message": "AND OR NOT and or not", "level": "INFO"},
        "d40": {"@timestamp": ago(minutes=11), "message": "emoji 😀 done; price €100", "level": "INFO",
                "response_time": 0.3},
    }
    return docs


TYPED_MAPPINGS = {"properties": {
    "@timestamp": {"type": "date"},
    "message": {"type": "text"},
    "level": {"type": "keyword"},
    "host": {"type": "keyword"},
    "status": {"type": "integer"},
    "response_time": {"type": "double"},
    "ok": {"type": "boolean"},
    "tags": {"type": "keyword"},
    "user": {"type": "keyword"},
    "path": {"type": "keyword"},
    "created": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "count": {"type": "long"},
    "kubernetes": {"properties": {"pod_name": {"type": "keyword"}, "namespace_name": {"type": "keyword"},
                                  "container_name": {"type": "keyword"},
                                  "labels": {"properties": {"app": {"type": "keyword"}}}}},
}}


# --- query_string cases, by theme --------------------------------------------------------
PHRASE = [
    'message:"payment failed"', '"payment failed"', 'message:"failed payment"', 'message:"out of memory"',
    'message:"Out of Memory"', 'message:"quick brown fox"', 'message:"brown quick"', 'message:"hello world"',
    'message:"\\"hello world\\""', '"lazy dog"', 'message:"first line"', 'message:"line second"',
    'message:"second line"', 'message:"ERROR"', 'message:"10.0.0.1"', 'message:"foo bar"', 'message:"foo.bar"',
    "message:\"it's\"", 'message:"a*b"', 'level:"ERROR"', 'message:"payment ok"', 'host:"web-1"',
    'kubernetes.pod_name:"pay-7f9c"', 'message:""', 'tags:"Critical"', 'message:"café"', 'message:"disk full on"',
    'message:"killed process"', 'message:"30s retry"', '"in the last"', 'message:"x-y"', 'message:"#hashtag"',
]
WILDCARD = [
    "message:pay*", "message:PAY*", "message:*ment", "message:p?yment", "message:pa*nt", "level:ERR*", "level:err*",
    "host:web-*", "host:web*", "host:WEB*", "message:*", "*:*", "*", "status:*", "message:10.0.*", "message:a\\*b",
    "tags:crit*", "tags:Crit*", "kubernetes.pod_name:pay-*", "kubernetes.pod_name:pay*", "user:*example*",
    "message:f?o.bar", "path:\\/api\\/*", "message:oom*", "message:*killed*", "level:e*", "message:qu?ck",
    "level:*RO*", "nosuchfield:*", "message:x*", "message:*.bar", "host:?eb-1", "message:*a*", "level:E?ROR",
    "user:bob*", "message:üb*", "message:caf*", "host:web-1*",
]
REGEX = [
    "message:/pay.*/", "message:/PAY.*/", "message:/ERROR/", "message:/err[a-z]+/", "message:/[0-9]+/",
    "message:/.*memory.*/", "level:/ERR.*/", "level:/err.*/", "message:/pay(ment)?/", "message:/f.{2}/",
    "message:/ab|cd/", "message:/(foo|bar)\\.bar/", "message:/10\\.0\\.0\\.1/", "message:/\\d+/", "message:/[^a-z]+/",
    "host:/web-[0-9]+/", "host:/WEB-1/", "message:/^pay.*/", "message:/.*ed$/", "message:/qu[aeiou]ck/",
    "status:/50[0-9]/", "message:/[A-Z]+/", "message:/@/", "message:/#/", "message:/f.o/", "message:/o{2}.*/",
    "message:/[fb]oo/", "message:/.*\\/.*/", "host:/.*-1/", "message:/\"fox\"/", "message:/a.{0,3}/",
    "message:/\\w+ing/", "message:/[0-9]{2,3}/", "level:/[A-Z]+/", "message:/café/", "message:/(oom|out).*/",
]
RANGE = [
    "status:[400 TO 499]", "status:{400 TO 500]", "status:[500 TO *]", "status:>=500", "status:>500", "status:<300",
    "status:<=200", "status:[* TO 200}", "response_time:[0.2 TO 1]", "response_time:>0.25", "response_time:>=0.25",
    "response_time:<1.5", "response_time:[0.1 TO 0.3]", "level:[A TO M]", "level:[a TO m]", "level:{error TO warn}",
    "message:[a TO c]", "message:[A TO C]", "host:{web-1 TO web-3}", "host:[web TO web-2]",
    "@timestamp:[now-2h TO now]", "@timestamp:>now-1h", "@timestamp:<now-1d", "@timestamp:[now-1d/d TO now]",
    "@timestamp:>=now-90m", "@timestamp:[now-6h TO now-1h}", "@timestamp:>now", "@timestamp:[* TO now-2d]",
    "created:[2024-01-15 TO 2024-01-16]", "created:{2024-01-15 TO 2024-01-16}", "created:[2024-01 TO 2024-02]",
    "created:>2024-01-15", "created:<=2024-01-15", "created:>=2024-01-15", "created:<2024-01-15",
    "created:[2024-01-15T10:00:00 TO 2024-01-15T12:00:00]", "created:[2024-01-15T10:00:00Z TO *]",
    "created:>=2024-01-15||+1d", "created:<2024-01-15||/d", "created:[2024-01-15T10:30:00+01:00 TO 2024-01-15T12:00:00]",
    "created:[2024-01-15||/d TO 2024-01-15||/d]", "created:2024-01-15", "created:2024-01-15T10:00:00Z",
    "status:[abc TO def]", "ok:[false TO true]", "count:[1 TO 1.5]", "count:>1.5", "count:<3.5", "status:[500 TO 400]",
    "status:[500 TO 500]", "status:{500 TO 500]", "response_time:[1.5 TO 1.5]", "count:(>1 AND <4)",
    "@timestamp:[now-1h/h TO now/h]", "created:[2024-01-14T23:00:00-01:00 TO 2024-01-15T00:00:00-01:00]",
]
BOOLEAN = [
    "level:error AND status:500", "level:error OR status:200", "level:error AND status:500 OR level:info",
    "level:info OR level:error AND status:500", "level:error AND level:info OR status:200",
    "level:error OR level:info AND status:200", "NOT level:error", "-level:error", "+level:error status:500",
    "+level:error -status:500", "level:error NOT status:500", "level:error AND NOT status:500",
    "level:error OR NOT status:500", "(level:error OR level:warn) AND status:>=500", "level:(error warn)",
    "level:(error AND warn)", "message:(payment failed)", "message:(payment -failed)", "NOT (level:error OR level:info)",
    "level:error && status:500", "level:error || level:info", "!level:error", "level:error AND (message:disk OR message:payment)",
    "((level:error))", "level:error OR (NOT level:info)", "a OR b AND c", "payment OR disk AND full",
    "payment AND failed OR memory", "NOT payment AND NOT memory", "-payment -memory", "+payment +failed",
    "payment -failed", "payment NOT failed", "(payment OR disk) AND (failed OR full)", "level:error AND -message:payment",
    "status:500 AND (message:payment OR message:memory) AND NOT host:web-10", "level:info AND NOT (status:* OR ok:*)",
    "message:(quick OR lazy) AND NOT message:brown", "level:(info OR debug) AND message:(hello OR fox)",
    "level:error AND", "(level:error", "level:error)", "NOT NOT level:error", "level:error OR OR level:info",
    "500 200", "error warn", "payment web-1", "payment failed", "quick brown", "a b c OR d", "ERROR 500",
    "level:error status:500 message:payment", "web-1 web-2", "host:(web-1 web-2)", "payment failed -again",
    "message:(payment failed) AND level:error", "payment failed AND again", "+payment failed again", "oom* killed",
    "payment \"hello world\" failed", "level:(error OR warn) 500 502",
]
DEFAULT_OPERATOR_AND = [
    "payment failed", "payment OR disk", "level:error status:500", "message:payment-failed", "payment failed OR disk",
    "NOT payment", "payment -failed", "message:(payment failed)", "quick fox", "quick OR fox lazy", "+quick fox",
    "fox -brown", "level:error (status:500 OR status:503)", "message:\"out of memory\" level:error",
    "payment web-1", "500 payment", "payment failed again", "error warn", "ERROR 500", "level:(error warn)",
]
EXISTS = [
    "_exists_:message", "_exists_:kubernetes", "_exists_:kubernetes.pod_name", "_exists_:nosuch", "NOT _exists_:message",
    "_exists_:tags", "_exists_:message.keyword", "_exists_:kubernetes.labels.app", "_exists_:kubernetes.*", "_exists_:ok",
    "_exists_:status AND NOT _exists_:response_time", "_exists_:response_time", "_exists_:host OR _exists_:user",
]
ESCAPING = [
    "message:key\\:value", "message:foo\\-bar", "message:a\\*b\\?c", "message:\\(java\\)", 'message:"(java)"',
    "path:\\/api\\/v1\\/pay", "user:bob@example.com", "user:alice\\+ops@example.org", "message:alice\\+ops@example.org",
    "message:30s\\ \\(retry", "message:3\\/5", "host:web\\-1", "message:C\\:\\\\Windows", "message:\\#hashtag",
    "message:\\&", "message:100\\%", "message:\\!important", "message:foo\\.bar", "message:\\\"hello",
    "message:it's", "message:test's", "'payment'", "message:'quoted'", "message:a=1,",
]
KEYWORD_TEXT = [
    "level:ERROR", "level:error", "level.keyword:ERROR", "level.keyword:error", "level.keyword:Error", "host:WEB-1",
    "host.keyword:WEB-1", "host.keyword:web-1", 'message.keyword:"payment ok"', "message.keyword:payment",
    "tags.keyword:Critical", "tags:critical", "tags.keyword:critical", "message.keyword:*memory*",
    "message.keyword:x*", "kubernetes.pod_name.keyword:pay-7f9c", "message.keyword:*Killed*", "level.keyword:E*",
    "host.keyword:/web-[0-9]+/", "level.keyword:[E TO J]", "level.keyword:[e TO j]", "user.keyword:bob@example.com",
    "level:(ERROR INFO)", "host:(web-1 WEB-1)", "level:(error warn)", "message.keyword:(payment ok)",
]
DOTTED = [
    "kubernetes.pod_name:pay-7f9c", "kubernetes.pod_name:dotted-1", "kubernetes.namespace_name:shop",
    "kubernetes.labels.app:payments", "kubernetes.*:shop", "kubernetes.labels.*:payments", "kubernetes:shop",
    "kubernetes.pod_name:pay*", "kubernetes.namespace_name:(shop OR data)", "kubernetes.labels.app:pay*",
    "kubernetes.container_name:api", "kubernetes.pod_name:db\\-0",
]
BARE = [
    "payment", "FAILED", "500", "200", "true", "0.25", "web-1", "bob@example.com", "2024-01-15", '"out of memory"',
    "oom*", "#", "-", "x-y", "404", "pay-7f9c", "Critical", "java", "1.5", "false", "2024-01-15T10:00:00Z", "\\*",
    "10.0.0.1", "€100", "😀", "TO", "and", "déjà", "0.1", "response_time:0.1", "ok:1", "ok:yes",
]
REFUSED = [  # the evaluator cannot promise the engine's answer: it refuses, naming --engine
    "message:pymnt~", "message:payment~1", 'message:"payment failed"~2', "message:/a&b/", "message:/~a/",
    "message:/<1-10>/", 'status:>="500"', "message:a/b/c",
]

QUERY_STRINGS: list[tuple[str, str]] = [
    (theme, q) for theme, queries in (("phrase", PHRASE), ("wildcard", WILDCARD), ("regex", REGEX), ("range", RANGE),
                                      ("boolean", BOOLEAN), ("exists", EXISTS), ("escaping", ESCAPING),
                                      ("keyword-text", KEYWORD_TEXT), ("dotted", DOTTED), ("bare", BARE))
    for q in queries
]


def query_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, index key, query) for every query of the suite."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for theme, text in QUERY_STRINGS:
        for key in ("dyn", "typed"):
            out.append((f"{theme}[{key}]:{text}", key, {"query_string": {"query": text}}))
    for text in DEFAULT_OPERATOR_AND:
        out.append((f"default_operator[dyn]:{text}", "dyn", {"query_string": {"query": text, "default_operator": "AND"}}))
    for text in REFUSED:
        out.append((f"refused:{text}", "dyn", {"query_string": {"query": text}}))
    for i, (key, query) in enumerate(DSL):
        out.append((f"dsl[{key}]#{i}:{str(query)[:60]}", key, query))
    for i, query in enumerate(DSL_REFUSED):
        out.append((f"refused:dsl#{i}:{str(query)[:60]}", "dyn", query))
    return out


def _qs(text: str, **params: Any) -> dict[str, Any]:
    return {"query_string": {"query": text, **params}}


DSL: list[tuple[str, dict[str, Any]]] = [(key, q) for key in ("dyn", "typed") for q in [
    {"term": {"level": "error"}}, {"term": {"level": "ERROR"}}, {"term": {"status": 500}}, {"term": {"status": "500"}},
    {"term": {"status": "abc"}}, {"term": {"response_time": 0.25}}, {"term": {"ok": True}}, {"term": {"ok": "TRUE"}},
    {"term": {"created": "2024-01-15"}}, {"term": {"level": {"value": "error", "case_insensitive": True}}},
    {"term": {"nosuch": "x"}}, {"term": {"status": 500.5}}, {"term": {"host": "web-1"}},
    {"terms": {"status": [200, 500]}}, {"terms": {"level": ["error", "INFO"]}},
    {"range": {"status": {"gte": 400, "lt": 500}}}, {"range": {"status": {"gt": 499.5}}},
    {"range": {"response_time": {"gt": 0.25, "lte": 2.75}}}, {"range": {"level": {"gte": "E", "lt": "J"}}},
    {"range": {"level": {"gte": "e", "lt": "j"}}}, {"range": {"@timestamp": {"gte": "now-2h", "lt": "now-30m"}}},
    {"range": {"created": {"gte": "2024-01-15", "lte": "2024-01-15"}}},
    {"range": {"created": {"gt": "2024-01-15", "time_zone": "+02:00"}}},
    {"range": {"created": {"gte": "2024-01-15T10:00:00.000Z", "lt": "2024-01-16T00:00:00.000Z",
                           "format": "strict_date_optional_time"}}},
    {"range": {"created": {"gte": 1705312800000}}}, {"range": {"created": {"gte": "now-1000d/d"}}},
    {"match": {"message": "payment failed"}}, {"match": {"message": {"query": "payment failed", "operator": "and"}}},
    {"match": {"message": "OUT of MEMORY"}}, {"match": {"message": "-"}}, {"match": {"status": "500"}},
    {"match": {"level": "error"}}, {"match": {"created": "2024-01-15"}}, {"match": {"status": {"query": "x", "lenient": True}}},
    {"match_phrase": {"message": "out of memory"}}, {"match_phrase": {"message": "memory out"}},
    {"match_phrase": {"message": "second line"}}, {"match_phrase": {"level": "ERROR"}},
    {"exists": {"field": "kubernetes"}}, {"exists": {"field": "message"}}, {"exists": {"field": "kubernetes.pod*"}},
    {"prefix": {"host": "web-1"}}, {"prefix": {"message": "Pay"}}, {"prefix": {"message": "pay"}},
    {"prefix": {"message": {"value": "Pay", "case_insensitive": True}}},
    {"wildcard": {"message": {"value": "PAY*", "case_insensitive": True}}}, {"wildcard": {"host": "web-?"}},
    {"wildcard": {"message": "*emory"}}, {"regexp": {"host": "web-[0-9]+"}}, {"regexp": {"message": "pay.*"}},
    {"regexp": {"message": {"value": "PAY.*", "case_insensitive": True}}}, {"regexp": {"status": "50.*"}},
    {"ids": {"values": ["d01", "d05", "nope"]}}, {"match_all": {}}, {"match_none": {}},
    {"bool": {"should": [{"term": {"status": 500}}, {"term": {"status": 503}}, {"term": {"host": "web-1"}}],
              "minimum_should_match": 2}},
    {"bool": {"must_not": [{"exists": {"field": "status"}}]}},
    {"bool": {"filter": [{"range": {"status": {"gte": 500}}}], "should": [{"term": {"host": "nope"}}]}},
    {"bool": {"filter": [_qs("message:#")]}}, {"bool": {"filter": [_qs("message:#"), {"term": {"status": 500}}]}},
    {"bool": {"must": [_qs("payment")], "must_not": [_qs("failed")]}},
    {"bool": {"should": [_qs("level:error"), {"bool": {"must_not": [{"match_all": {}}]}}]}},
    {"bool": {}}, {"constant_score": {"filter": {"term": {"status": 500}}}},
    {"bool": {"should": [{"term": {"status": 500}}], "must_not": [{"term": {"host": "web-1"}}]}},
    {"bool": {"must": [{"match_all": {}}], "should": [{"term": {"status": 500}}]}},
    {"bool": {"should": [{"term": {"status": 500}}, {"term": {"status": 404}}], "minimum_should_match": "-1"}},
    {"range": {"created": {"gte": "2024-01-15T00:00:00", "lt": "2024-01-16T00:00:00", "time_zone": "Europe/Paris"}}},
    _qs("created:[2024-01-15 TO 2024-01-15]", time_zone="America/New_York"),
    {"terms": {"tags": ["Critical", "x"]}}, {"term": {"tags": "critical"}}, {"exists": {"field": "tags"}},
    {"dis_max": {"queries": [{"term": {"status": 500}}, {"term": {"status": 404}}]}},
    _qs("payment", default_field="message"), _qs("payment failed", fields=["message", "level"]),
    _qs("error", fields=["level^2", "message"], default_operator="AND"), _qs("abc", default_field="status"),
    _qs("abc", default_field="status", lenient=True), _qs("created:[2024-01-15T11:00 TO 2024-01-16]", time_zone="+01:00"),
    _qs("*ment", allow_leading_wildcard=False), _qs("level:error", default_field="*"),
    _qs("kubernetes.pod_name:pay*", fields=["kubernetes.*"]), _qs("shop", fields=["kubernetes.*"]),
    _qs("PAYMENT", default_field="message.keyword"),
]]
DSL_REFUSED = [
    {"fuzzy": {"message": "pymnt"}}, {"match_phrase": {"message": {"query": "payment failed", "slop": 1}}},
    {"simple_query_string": {"query": "payment"}}, {"query_string": {"query": "pay*", "analyze_wildcard": True}},
    {"script": {"script": "true"}}, {"multi_match": {"query": "payment", "fields": ["message"]}},
]


# --- aggregations ------------------------------------------------------------------------
def agg_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, index key, search body) with aggregations, run on both engines."""
    bodies = {
        "terms-level": {"terms": {"field": "level.keyword"}}, "terms-status": {"terms": {"field": "status"}},
        "terms-size1": {"terms": {"field": "level.keyword", "size": 1}}, "terms-ok": {"terms": {"field": "ok"}},
        "terms-rt": {"terms": {"field": "response_time", "size": 20}}, "terms-created": {"terms": {"field": "created"}},
        "terms-missing": {"terms": {"field": "nope"}}, "terms-text": {"terms": {"field": "message"}},
        "terms-tags": {"terms": {"field": "tags.keyword", "size": 3}},
        "terms-nested": {"terms": {"field": "level.keyword"}, "aggs": {"s": {"terms": {"field": "status"}},
                                                                        "m": {"max": {"field": "response_time"}}}},
        "min-rt": {"min": {"field": "response_time"}}, "max-status": {"max": {"field": "status"}},
        "avg-rt": {"avg": {"field": "response_time"}}, "sum-rt": {"sum": {"field": "response_time"}},
        "sum-count": {"sum": {"field": "count"}}, "min-created": {"min": {"field": "created"}},
        "max-ts": {"max": {"field": "@timestamp"}}, "min-ok": {"min": {"field": "ok"}},
        "value_count-status": {"value_count": {"field": "status"}}, "value_count-tags": {"value_count": {"field": "tags.keyword"}},
        "cardinality-host": {"cardinality": {"field": "host.keyword", "precision_threshold": 200}},
        "cardinality-status": {"cardinality": {"field": "status"}}, "sum-missing": {"sum": {"field": "nope"}},
        "avg-missing": {"avg": {"field": "nope"}}, "sum-keyword": {"sum": {"field": "level.keyword"}},
        "percentiles-rt": {"percentiles": {"field": "response_time", "percents": [50.0, 95.0, 99.0]}},
        "percentiles-status": {"percentiles": {"field": "status", "percents": [1, 25, 75]}},
        "percentiles-missing": {"percentiles": {"field": "nope", "percents": [95.0]}},
        "date_range": {"date_range": {"field": "created", "keyed": True, "ranges": [
            {"key": "0", "from": 1705276800000, "to": 1705363200000}, {"key": "1", "from": 1705363200000}]}},
        "range-status": {"range": {"field": "status", "keyed": True, "ranges": [{"key": "lo", "to": 400},
                                                                               {"key": "hi", "from": 400, "to": 600}]}},
        "range-unkeyed": {"range": {"field": "status", "ranges": [{"from": 200, "to": 500}, {"to": 300}]}},
        "filter": {"filter": {"match_all": {}}, "aggs": {"n": {"value_count": {"field": "status"}}}},
        "filters": {"filters": {"filters": {"match_bucket": {"bool": {"filter": [{"range": {"status": {"gte": 500}}}]}}},
                                "other_bucket_key": "_other_"}},
        "top_hits": {"top_hits": {"size": 1, "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "date"}}],
                                  "_source": {"includes": ["level", "@timestamp", "kubernetes.pod_name"]}}},
        "date_histogram": {"date_histogram": {"field": "created", "fixed_interval": "3600000ms", "min_doc_count": 1},
                           "aggs": {"s": {"sum": {"field": "count"}}}},
        "date_histogram-empty": {"date_histogram": {"field": "created", "fixed_interval": "6h"}},
        "histogram": {"histogram": {"field": "status", "interval": 100.0, "min_doc_count": 1}},
    }
    out = []
    for key in ("dyn", "typed"):
        for name, agg in bodies.items():
            if key == "typed":
                agg = _typed_fields(agg)
            out.append((f"agg[{key}]:{name}", key, {"size": 0, "query": {"match_all": {}}, "aggs": {"a": agg}}))
    return out


def _typed_fields(node: Any) -> Any:
    """The same aggregation on the typed index, where level/host/tags are keyword already."""
    if isinstance(node, dict):
        return {k: (_typed_fields(v) if k != "field" else str(v).replace(".keyword", "")) for k, v in node.items()}
    if isinstance(node, list):
        return [_typed_fields(v) for v in node]
    return node


# --- a time series for the rule types ----------------------------------------------------
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def series() -> dict[str, dict[str, Any]]:
    """Three hours of EFK-like logs from a few hosts and pods, with a burst of errors, a
    pod that goes quiet and a latency spike (deterministic)."""
    rng = random.Random(42)
    docs: dict[str, dict[str, Any]] = {}
    hosts, pods = ["web-1", "web-2", "db-1"], ["pay-1", "pay-2", "cart-1", "cart-2"]
    for i in range(240):
        minute = i * 0.75 + rng.random() * 0.5
        at = T0 + dt.timedelta(minutes=minute)
        pod = pods[i % 4] if not (minute > 120 and i % 4 == 3) else pods[0]  # cart-2 goes quiet after 2h
        error = rng.random() < (0.5 if 60 <= minute < 75 else 0.1)
        latency = round(rng.uniform(0.05, 0.4) * (6 if 90 <= minute < 100 else 1), 3)
        docs[f"s{i:03d}"] = {
            "@timestamp": iso(at), "host": hosts[i % 3], "level": "ERROR" if error else "INFO",
            "status": 500 if error else rng.choice([200, 200, 200, 302, 404]), "response_time": latency,
            "user": f"user-{rng.randint(1, 25 if minute < 100 else 60)}", "bytes": rng.randint(100, 5000),
            "message": ("payment failed: timeout" if error else "request served"),
            "kubernetes": {"pod_name": pod, "namespace_name": "shop", "labels": {"app": pod.split("-")[0]}},
        }
    for n in range(4):  # documents with the same timestamp: their order is the index order
        docs[f"tie{n}"] = {**docs["s080"], "host": f"web-{n}", "user": f"user-tie-{n}", "level": "ERROR"}
    return docs
