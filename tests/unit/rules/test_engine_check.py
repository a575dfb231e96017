"""``validate --engine``'s checks (logalert.rules.engine_check) on a scripted backend,
and the fields a rule uses (logalert.rules.fields_used). The real engine's answers are
covered by tests/integration/test_validate_engine.py."""

from __future__ import annotations

from logalert.rules.engine_check import EngineCheck, closest, index_expression
from logalert.rules.fields_used import rule_fields

MAPPED = {
    "@timestamp": {"date": True}, "message": {"text": False}, "level": {"text": False},
    "level.keyword": {"keyword": True}, "status": {"long": True}, "host": {"keyword": True},
    "kubernetes.pod_name": {"text": False}, "kubernetes.pod_name.keyword": {"keyword": True},
    "user": {"keyword": True, "text": False}, "kubernetes": {"object": False},
}


class FakeBackend:
    """The three engine methods the checks use, with counted calls."""

    def __init__(self, indices=("logstash-2026.05.01", "logstash-2026.05.02", "audit"), refusal=None):
        self.indices, self.refusal, self.calls = list(indices), refusal, []

    def resolve_indices(self, expression):
        import fnmatch

        self.calls.append(("resolve", expression))
        return sorted(n for part in expression.split(",") for n in fnmatch.filter(self.indices, part))

    def field_types(self, index, fields=("*",)):
        self.calls.append(("fields", index))
        return MAPPED

    def validate_query(self, index, query):
        self.calls.append(("validate", index))
        return self.refusal


def lines(problems):
    return [str(p).split(": ", 1)[1] for p in problems]


def test_a_good_rule_has_no_problem_and_costs_three_requests(make_rule):
    rule = make_rule("""\
        name: r
        type: frequency
        index: logstash-*
        num_events: 3
        timeframe: {minutes: 5}
        query_key: kubernetes.pod_name.keyword
        use_terms_query: true
        filter:
        - term: {level.keyword: ERROR}
        - query: {query_string: {query: "message:error AND status:500"}}
        alert: [stdout]
        """)
    backend = FakeBackend()
    check = EngineCheck(backend)
    assert check.check(rule) == []
    assert [c[0] for c in backend.calls] == ["resolve", "fields", "validate"]
    check.check(rule)  # a second rule on the same pattern: only its query is validated again
    assert [c[0] for c in backend.calls][3:] == ["validate"]


def test_a_misspelt_index_names_the_closest_pattern_and_skips_the_rest(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logstsh-*\nalert: [stdout]\n")
    backend = FakeBackend()
    assert lines(EngineCheck(backend).check(rule)) == [
        "index: 'logstsh-*' matches no index, alias or data stream on this engine; the closest existing: "
        "'logstash-*' (2 indices)"]
    assert [c[0] for c in backend.calls] == ["resolve", "resolve"]  # the part, then every name


def test_each_part_of_an_index_list_is_checked_and_strftime_patterns_read_as_wildcards(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: 'logstash-%Y.%m.%d,audti'\nuse_strftime_index: true\n"
                     "alert: [stdout]\n")
    assert index_expression(rule) == "logstash-*.*.*,audti"
    assert lines(EngineCheck(FakeBackend()).index_problems(rule)) == [
        "index: 'audti' matches no index, alias or data stream on this engine; the closest existing: 'audit'"]


def test_fields_with_unusable_types_name_the_option_and_the_fix(make_rule):
    rule = make_rule("""\
        name: r
        type: frequency
        index: logstash-*
        num_events: 3
        timeframe: {minutes: 5}
        query_key: kubernetes.pod_name
        use_terms_query: true
        compare_key: hots
        include: [message, level.raw]
        filter:
        - term:
            level: ERROR
        - query:
            query_string:
              query: "levl:ERROR"
        alert: [stdout]
        """)
    found = EngineCheck(FakeBackend()).field_problems(rule)
    assert sorted(str(p).split(f"{rule.file}:", 1)[1] for p in found) == sorted([
        "6: query_key: 'kubernetes.pod_name' is text: counting per value needs an aggregatable field; "
        "use 'kubernetes.pod_name.keyword'",
        "8: compare_key: field 'hots' is not in the mappings of 'logstash-*'; did you mean 'host'?",
        "9: include: field 'level.raw' is not in the mappings of 'logstash-*'; 'level' is text and has no 'raw' "
        "sub-field, use 'level'",
        "12: filter[0].term.level: 'level' is text: a term query compares whole values, and a text field holds "
        "lower-cased words; use 'level.keyword'",
        "15: filter[1].query.query_string.query: field 'levl' is not in the mappings of 'logstash-*'; "
        "did you mean 'level'?",
    ])


def test_timestamps_metrics_and_fields_typed_differently_in_some_indices(make_rule):
    rule = make_rule("""\
        name: r
        type: metric_aggregation
        index: logstash-*
        timestamp_field: message
        metric_agg_key: host
        metric_agg_type: avg
        max_threshold: 5
        query_key: user
        alert: [stdout]
        """)
    found = {p.option: p.message for p in EngineCheck(FakeBackend()).field_problems(rule)}
    assert found["metric_agg_key"] == "'host' is keyword: a metric needs a number"
    assert found["timestamp_field"] == "'message' is text, but the timestamp field must be a date"
    assert found["query_key"] == ("'user' is keyword in some indices and text in others: counting per value needs "
                                  "an aggregatable field; map it as keyword")


def test_unix_timestamps_may_be_numbers(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logstash-*\ntimestamp_field: status\ntimestamp_type: unix\n"
                     "alert: [stdout]\n")
    assert EngineCheck(FakeBackend()).field_problems(rule) == []


def test_the_engines_refusal_is_one_line_at_the_filter(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logstash-*\nfilter:\n- term: {status: abc}\nalert: [stdout]\n")
    refusal = ("[logstash-2026.05.01/uuid] QueryShardException[failed to create query: For input string: \"abc\"]; "
               "nested: NumberFormatException[For input string: \"abc\"];; java.lang.NumberFormatException: x")
    (problem,) = [p for p in EngineCheck(FakeBackend(refusal=refusal)).check(rule) if p.option == "filter"]
    assert str(problem) == (f"{rule.file}:4: filter: the engine rejects this query: failed to create query: "
                            "For input string: \"abc\"")


def test_closest_prefers_families_for_patterns_and_names_for_names():
    names = ["logstash-2026.05.01", "logstash-2026.05.02", "nginx-access", "audit"]
    assert closest("logstsh-*", names) == "logstash-*"
    assert closest("nginx-acess", names) == "nginx-access"
    assert closest("zzz", names) is None


def test_rule_fields_reads_what_the_rule_type_aggregates_on(make_rule):
    rule = make_rule("""\
        name: r
        type: new_term
        index: logstash-*
        fields: [host, [user, status]]
        top_count_keys: [message]
        include: ["*", kubernetes.pod_name]
        alert: [stdout]
        """)
    found = {(u.option, u.field, u.need) for u in rule_fields(rule)}
    assert ("fields", "host.keyword", "aggregate") in found
    assert ("fields", "status.keyword", "aggregate") in found
    assert ("include", "kubernetes.pod_name", "exists") in found
    assert ("timestamp_field", "@timestamp", "date") in found
    assert not any(u.field == "*" for u in rule_fields(rule))
