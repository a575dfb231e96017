"""``logalert validate --engine`` against the real engine: index patterns, field types
from the mappings the engine's dynamic mapping made of EFK logs, the engine's own
query validation, and the config's connection."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from logalert.engine import connect
from tests.integration.helpers import engine_options, logalert, write_yaml
from tests.support.efk import bulk_load, efk_doc


@pytest.fixture
def loaded(engine, fresh_index):
    """EFK documents in today's daily index of the fresh prefix (dynamic mapping: strings
    are text with a .keyword sub-field, status a long, @timestamp a date)."""
    now = dt.datetime.now(dt.timezone.utc)
    bulk_load(engine, None, [efk_doc(now - dt.timedelta(minutes=i), "ERROR", f"line {i}") for i in range(3)],
              prefix=fresh_index)
    return fresh_index


def _folder(tmp_path, engine_url, rules: dict[str, dict]):
    """A config.yaml naming the engine (rules carry no connection options) and the rules."""
    write_yaml(tmp_path / "config.yaml", {**engine_options(engine_url), "rules_folder": "rules"})
    for name, body in rules.items():
        write_yaml(tmp_path / "rules" / name, {"name": name, "type": "any", "alert": ["stdout"], **body})
    return tmp_path / "rules"


def _line(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_good_rule_passes(engine_url, loaded, tmp_path):
    folder = _folder(tmp_path, engine_url, {"good.yaml": {
        "index": f"{loaded}-*", "type": "frequency", "num_events": 3, "timeframe": {"minutes": 5},
        "query_key": "kubernetes.pod_name.keyword", "use_terms_query": True,
        "filter": [{"term": {"level.keyword": "ERROR"}},
                   {"query": {"query_string": {"query": "message:line AND status:[500 TO 599]"}}}],
        "include": ["message", "kubernetes.pod_name"]}})
    proc = logalert("validate", "--engine", str(folder), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "1 rule(s) valid, 0 file(s) invalid, 0 warning(s)\n"


def test_each_problem_names_the_option_and_the_fix(engine_url, loaded, tmp_path):
    folder = _folder(tmp_path, engine_url, {
        "index.yaml": {"index": f"{loaded.replace('logstash', 'logstsh')}-*"},
        "fields.yaml": {
            "index": f"{loaded}-*", "type": "frequency", "num_events": 3, "timeframe": {"minutes": 5},
            "query_key": "kubernetes.pod_name", "use_terms_query": True, "compare_key": "hots",
            "filter": [{"term": {"level": "ERROR"}}, {"query": {"query_string": {"query": "levl:ERROR"}}}]},
        "metric.yaml": {"index": f"{loaded}-*", "type": "metric_aggregation", "metric_agg_key": "host.keyword",
                        "metric_agg_type": "avg", "max_threshold": 1, "timestamp_field": "message"},
        "refused.yaml": {"index": f"{loaded}-*", "filter": [{"term": {"status": "five hundred"}}]},
    })
    proc = logalert("validate", "--engine", str(folder), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    fields, index, metric, refused = (folder / n for n in ("fields.yaml", "index.yaml", "metric.yaml", "refused.yaml"))
    pattern = f"{loaded}-*"
    assert proc.stdout.splitlines() == [
        f"{fields}:{_line(fields, 'query_key')}: query_key: 'kubernetes.pod_name' is text: counting per value needs "
        "an aggregatable field; use 'kubernetes.pod_name.keyword'",
        f"{fields}:{_line(fields, 'compare_key')}: compare_key: field 'hots' is not in the mappings of {pattern!r}; "
        "did you mean 'host'?",
        f"{fields}:{_line(fields, 'level: ERROR')}: filter[0].term.level: 'level' is text: a term query compares "
        "whole values, and a text field holds lower-cased words; use 'level.keyword'",
        f"{fields}:{_line(fields, 'levl:ERROR')}: filter[1].query.query_string.query: field 'levl' is not in the "
        f"mappings of {pattern!r}; did you mean 'level'?",
        f"{index}:{_line(index, 'index:')}: index: '{loaded.replace('logstash', 'logstsh')}-*' matches no index, "
        f"alias or data stream on this engine; the closest existing: {pattern!r} (1 index)",
        f"{metric}:{_line(metric, 'metric_agg_key')}: metric_agg_key: 'host.keyword' is keyword: a metric needs a "
        "number",
        f"{metric}:{_line(metric, 'timestamp_field')}: timestamp_field: 'message' is text, but the timestamp field "
        "must be a date",
        f"{refused}:{_line(refused, 'filter:')}: filter: the engine rejects this query: failed to create query: "
        "For input string: \"five hundred\"",
        "0 rule(s) valid, 4 file(s) invalid, 0 warning(s)",
    ]


def test_the_engine_validates_each_query_once(engine_url, loaded, tmp_path, monkeypatch):
    """Three rules on one pattern: one field-caps request, one validation per rule."""
    from logalert.config import load_config
    from logalert.rules import load_folder
    from logalert.rules.engine_check import EngineCheck

    folder = _folder(tmp_path, engine_url, {f"r{i}.yaml": {"index": f"{loaded}-*", "query_key": "host"}
                                            for i in range(3)})
    backend = connect(engine_options(engine_url))
    calls: list[str] = []
    for name in ("resolve_indices", "field_types", "validate_query"):
        real = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    check = EngineCheck(backend)
    rules = load_folder([str(folder)], load_config(str(tmp_path / "config.yaml"))).rules
    assert [p for rule in rules for p in check.check(rule)] == []
    assert calls == ["resolve_indices", "field_types", "validate_query", "validate_query", "validate_query"]
    backend.close()


def test_an_unreachable_engine_exits_2_after_the_offline_findings(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_yaml(tmp_path / "config.yaml", {"es_host": "127.0.0.1", "es_port": port, "es_conn_timeout": 2})
    write_yaml(tmp_path / "r.yaml", {"name": "r", "type": "any", "index": "logs-*", "alert": ["stdout"],
                                     "filter": [{"query": {"query_string": {"query": "message:/x/i"}}}]})
    proc = logalert("validate", "--engine", "r.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "warning: filter[0].query.query_string.query: col 12: 'i' after the regex" in proc.stdout
    (error,) = proc.stderr.splitlines()
    assert error.startswith(f"error: cannot reach the search engine at http://127.0.0.1:{port}")
