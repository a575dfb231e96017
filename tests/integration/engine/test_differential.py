"""The offline evaluator against the real engine: the same documents in both, the same
queries, identical answers required.

- Queries (differential_cases.py): query_string by theme (phrase, wildcard, regex,
  ranges, boolean precedence, default_operator, _exists_, escaping, keyword vs text,
  dotted fields, date math, bare terms) and the query DSL, each over every document
  of two indices (dynamic and explicit mappings): the matching ids must be equal, or
  both engines must refuse the query. Cases named ``refused:`` must be refused by the
  evaluator with a message naming ``--engine``.
- Aggregations: the bodies the rule types send, the raw answers compared exactly.
- Rule types: each type's real requests for consecutive windows over a three-hour
  series, planned by the real runner; the engines' answers (hits, counts,
  aggregations) and then the matches must be identical.

``test_figures`` prints the totals (cases, query-document decisions, agreements).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

import pytest

from logalert.config import load_config
from logalert.engine import Backend, EngineError, Pool, batch, connect
from logalert.engine.inprocess import InProcessBackend, Unsupported
from logalert.model import Window
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState
from logalert.timeutil import iso
from tests.integration.engine import differential_cases as cases
from tests.integration.helpers import engine_options, write_yaml

ROOT = Path(__file__).resolve().parents[3]

# The corpus's times are relative to when it is loaded, not to when this module was imported:
# the whole suite is collected first, and minutes may pass before these tests run.
CORPUS_SIZE = len(cases.corpus(dt.datetime.now(dt.timezone.utc)))
# The engine under test (as in conftest.py); the evaluator follows its semantics where the
# two engines differ (a regexp on a text field in query_string, percentiles).
ENGINE = os.environ.get("LOGALERT_TEST_ENGINE", "opensearch").strip() or "opensearch"
QUERIES = cases.query_cases()
AGGS = cases.agg_cases()
FIGURES: dict[str, int] = {"agree": 0, "refused": 0, "decisions": 0}
# When the engine answered the query cases (real_answers): the evaluator's "now" from then on,
# so date math such as now-30m means the same instant to both, however slow the run is.
ASKED_AT: list[dt.datetime] = []


def _offline_now() -> dt.datetime:
    return ASKED_AT[-1] if ASKED_AT else dt.datetime.now(dt.timezone.utc)


def _xfail_opensearch3_percentiles(real: Backend, uses_percentiles: bool) -> None:
    """A known difference: OpenSearch 3.x (t-digest 3.3) answers a percentile of a few values
    with the nearest value (the minimum below rank 1, the maximum above n - 1), where 2.x
    interpolates; the evaluator follows 2.x. Called only once the answers differ."""
    if uses_percentiles and real.flavor == "opensearch" and real.major >= 3:
        pytest.xfail("OpenSearch 3 percentiles of few values: nearest value, not 2.x's interpolation")


class FixedPool(Pool):
    """A pool that always hands out one backend."""

    def __init__(self, backend: Backend):
        super().__init__()
        self.backend = backend

    def get(self, key: Any, options: Mapping[str, Any]) -> Backend:
        return self.backend


def _load(backend: Backend, name: str, docs: Mapping[str, Mapping[str, Any]], mappings: Any = None) -> None:
    backend.create_index(name, settings={"index": {"number_of_shards": 1, "number_of_replicas": 0}}, mappings=mappings)
    result = backend.bulk(name, list(docs.items()), refresh=True)
    assert result.ok, result.failed


@pytest.fixture(scope="module")
def engines(engine_url, engine):
    real = connect(engine_options(engine_url))
    offline = InProcessBackend(semantics=ENGINE, clock=_offline_now)
    tag = uuid.uuid4().hex[:8]
    names = {"dyn": f"diff-dyn-{tag}", "typed": f"diff-typed-{tag}", "series": f"diff-series-{tag}"}
    docs = cases.corpus(dt.datetime.now(dt.timezone.utc))
    for backend in (real, offline):
        _load(backend, names["dyn"], docs)
        _load(backend, names["typed"], docs, cases.TYPED_MAPPINGS)
        _load(backend, names["series"], cases.series())
    assert real.get_mappings(names["dyn"]) == offline.get_mappings(names["dyn"])
    yield real, offline, names
    engine.indices.delete(index=f"diff-*-{tag}", ignore_unavailable=True)
    real.close()


@pytest.fixture(scope="module")
def real_answers(engines):
    """Every query case on the real engine, in msearch batches."""
    real, _, names = engines
    searches = [(names[key], {"query": query, "size": 100, "_source": False}) for _, key, query in QUERIES]
    searches += [(names[key], body) for _, key, body in AGGS]
    out: list[Any] = []
    ASKED_AT.append(dt.datetime.now(dt.timezone.utc))
    for start in range(0, len(searches), 100):
        out.extend(real.msearch(searches[start:start + 100]))
    # An item the engine failed under load (a busy search queue on a small CI machine) is
    # not a refusal: ask again alone, so "refused" means the engine rejects the query each time.
    for i, answer in enumerate(out):
        for pause in (0.0, 0.3):
            if not isinstance(answer, EngineError):
                break
            time.sleep(pause)
            try:
                answer = real.search(*searches[i])
            except EngineError as exc:
                answer = exc
        out[i] = answer
    return dict(zip([c[0] for c in QUERIES] + [c[0] for c in AGGS], out))


def _ids(answer: Any) -> Any:
    if isinstance(answer, EngineError):
        return "refused by the engine"
    return sorted(h.id for h in answer.hits)


@pytest.mark.parametrize("case", QUERIES, ids=[c[0] for c in QUERIES])
def test_query(engines, real_answers, case):
    name, key, query = case
    _, offline, names = engines
    body = {"query": query, "size": 100, "_source": False}
    if name.startswith("refused:"):
        with pytest.raises(Unsupported, match="--engine"):
            offline.search(names[key], body)
        FIGURES["refused"] += 1
        return
    try:
        mine: Any = _ids(offline.search(names[key], body))
    except EngineError as exc:
        mine = _ids(exc)
    expected = _ids(real_answers[name])
    assert mine == expected, f"{json.dumps(query)}: engine {expected}, evaluator {mine}"
    FIGURES["agree"] += 1
    FIGURES["decisions"] += CORPUS_SIZE


@pytest.mark.parametrize("case", AGGS, ids=[c[0] for c in AGGS])
def test_aggregation(engines, real_answers, case):
    name, key, body = case
    _, offline, names = engines
    try:
        mine: Any = dict(offline.search(names[key], body).aggregations)
    except EngineError:
        mine = "refused"
    answer = real_answers[name]
    expected = "refused" if isinstance(answer, EngineError) else dict(answer.aggregations)
    if mine != expected:
        _xfail_opensearch3_percentiles(engines[0], "percentiles" in json.dumps(body))
        if name == "agg[typed]:date_range":  # seen twice under load: the engine counted 6 where the data has 2
            pytest.xfail("intermittent engine answer for date_range on 'created' under load; under investigation")
    assert mine == expected, f"engine: {answer}" if isinstance(answer, EngineError) else None
    FIGURES["agree"] += 1


# --- the rule types ----------------------------------------------------------------------
RULES: dict[str, dict[str, Any]] = {
    "any": {"type": "any", "filter": [{"query": {"query_string": {"query": "level:ERROR AND message:payment"}}}]},
    "frequency-hits": {"type": "frequency", "num_events": 3, "timeframe": {"minutes": 10}, "query_key": "host.keyword",
                       "filter": [{"term": {"level.keyword": "ERROR"}}]},
    "frequency-count": {"type": "frequency", "num_events": 5, "timeframe": {"minutes": 10}, "use_count_query": True,
                        "filter": [{"term": {"status": 500}}]},
    "frequency-terms": {"type": "frequency", "num_events": 3, "timeframe": {"minutes": 10}, "use_terms_query": True,
                        "query_key": "kubernetes.pod_name.keyword", "top_count_keys": ["message", "host"],
                        "filter": [{"query": {"query_string": {"query": "level:ERROR"}}}]},
    "flatline-key": {"type": "flatline", "threshold": 1, "timeframe": {"minutes": 10}, "use_terms_query": True,
                     "query_key": "kubernetes.pod_name.keyword"},
    "flatline": {"type": "flatline", "threshold": 12, "timeframe": {"minutes": 10}},
    "spike": {"type": "spike", "spike_height": 2, "spike_type": "up", "timeframe": {"minutes": 10},
              "filter": [{"term": {"status": 500}}]},
    "spike-sum": {"type": "spike", "spike_height": 2, "spike_type": "both", "timeframe": {"minutes": 10},
                  "field_value": "response_time"},
    "spike-key": {"type": "spike", "spike_height": 2, "spike_type": "both", "timeframe": {"minutes": 10},
                  "query_key": "host.keyword", "alert_on_new_data": True},
    "cardinality": {"type": "cardinality", "cardinality_field": "user.keyword", "max_cardinality": 14,
                    "timeframe": {"minutes": 15}},
    "cardinality-key": {"type": "cardinality", "cardinality_field": "status", "min_cardinality": 3,
                        "timeframe": {"minutes": 15}, "query_key": "host.keyword"},
    "metric-avg": {"type": "metric_aggregation", "metric_agg_key": "response_time", "metric_agg_type": "avg",
                   "max_threshold": 0.3},
    "metric-max-buckets": {"type": "metric_aggregation", "metric_agg_key": "response_time", "metric_agg_type": "max",
                           "max_threshold": 1, "bucket_interval": {"minutes": 10}, "query_key": "host.keyword"},
    "metric-p95": {"type": "metric_aggregation", "metric_agg_key": "response_time", "metric_agg_type": "percentiles",
                   "percentile_range": 95, "max_threshold": 0.5, "bucket_interval": {"minutes": 15}},
    "metric-cardinality": {"type": "metric_aggregation", "metric_agg_key": "user.keyword",
                           "metric_agg_type": "cardinality", "max_threshold": 10, "bucket_interval": {"minutes": 10}},
    "metric-count": {"type": "metric_aggregation", "metric_agg_key": "status", "metric_agg_type": "value_count",
                     "min_threshold": 14, "bucket_interval": {"minutes": 10}},
    "metric-sum-min": {"type": "metric_aggregation", "metric_agg_key": "bytes", "metric_agg_type": "sum",
                       "max_threshold": 15000, "query_key": "kubernetes.pod_name.keyword"},
    "metric-min": {"type": "metric_aggregation", "metric_agg_key": "response_time", "metric_agg_type": "min",
                   "min_threshold": 0.06, "bucket_interval": {"minutes": 5}},
    "spike-agg": {"type": "spike_aggregation", "metric_agg_key": "response_time", "metric_agg_type": "avg",
                  "spike_height": 2, "spike_type": "up", "timeframe": {"minutes": 10}},
    "spike-agg-key": {"type": "spike_aggregation", "metric_agg_key": "bytes", "metric_agg_type": "max",
                      "spike_height": 1.5, "spike_type": "both", "timeframe": {"minutes": 10}, "query_key": "host.keyword"},
    "percentage": {"type": "percentage_match", "match_bucket_filter": [{"term": {"level.keyword": "ERROR"}}],
                   "max_percentage": 30, "bucket_interval": {"minutes": 15}},
    "percentage-key": {"type": "percentage_match", "match_bucket_filter": [{"range": {"status": {"gte": 400}}}],
                       "min_percentage": 5, "max_percentage": 50, "query_key": "host.keyword"},
    "new_term-terms": {"type": "new_term", "fields": ["user"], "use_terms_query": True,
                       "terms_window_size": {"hours": 1}},
    "new_term-hits": {"type": "new_term", "fields": ["user", ["host", "status"]], "terms_window_size": {"hours": 1}},
    "change": {"type": "change", "compare_key": "level", "query_key": "host", "ignore_null": True},
    "blacklist": {"type": "blacklist", "compare_key": "user", "blacklist": ["user-3", "user-7"]},
    "whitelist": {"type": "whitelist", "compare_key": "host", "whitelist": ["web-1", "web-2"], "ignore_null": True},
}


def _answer_view(answer: Any) -> Any:
    if isinstance(answer, EngineError):
        return "refused"
    return {"hits": [(h.index, h.id, dict(h.source), list(h.sort)) for h in answer.hits], "total": answer.total,
            "aggregations": json.loads(json.dumps(answer.aggregations))}


def _match_view(match: Any) -> Any:
    return json.loads(json.dumps({"t": iso(match.timestamp), "fields": match.fields, "key": list(match.key),
                                  "doc": match.doc_id, "details": match.details}, default=str))


@pytest.mark.parametrize("name", list(RULES))
def test_rule_type(engines, tmp_path, name):
    real, offline, names = engines
    data = {"name": f"differential {name}", "index": names["series"], "alert": ["stdout"], "realert": {"minutes": 0},
            "run_every": {"minutes": 5}, "buffer_time": {"minutes": 15}, **RULES[name]}
    rule, _ = load_rule(str(write_yaml(tmp_path / "rule.yaml", data)), load_config(None, environ={}))
    runners = [RuleRunner(rule, FixedPool(b), MemoryState(), alerters=[]) for b in (real, offline)]
    start = cases.T0 - dt.timedelta(minutes=10)
    decided = matched = 0
    while start < cases.T0 + dt.timedelta(hours=3, minutes=20):
        window = Window(start, start + dt.timedelta(minutes=20))
        plans = [r.plan(window, send=False) for r in runners]
        assert [p.requests for p in plans[1:]] == [plans[0].requests]
        for plan in plans:
            plan.answers = batch.execute([(plan.backend, plan.requests)])[0]
        if [_answer_view(a) for a in plans[1].answers] != [_answer_view(a) for a in plans[0].answers]:
            _xfail_opensearch3_percentiles(real, RULES[name].get("metric_agg_type") == "percentiles")
        assert [_answer_view(a) for a in plans[1].answers] == [_answer_view(a) for a in plans[0].answers]
        results = [r.finish(p) for r, p in zip(runners, plans)]
        assert [r.error for r in results] == [None, None]
        assert [_match_view(m) for m in results[1].matches] == [_match_view(m) for m in results[0].matches]
        decided += len(plans[0].requests)
        matched += len(results[0].matches)
        start += dt.timedelta(minutes=15)
    assert matched, f"{name}: no match in any window, so the comparison proves little"
    FIGURES["agree"] += 1
    FIGURES["rule_requests"] = FIGURES.get("rule_requests", 0) + decided
    FIGURES["rule_matches"] = FIGURES.get("rule_matches", 0) + matched


def test_the_rule_tests_agree_on_the_engine(engine_url, engine, monkeypatch, capsys):
    """The repository's rule unit tests (tests/rules) pass on the real engine too, test for
    test as offline (`logalert test --engine`, temporary indices deleted afterwards)."""
    from logalert.cli import main

    monkeypatch.chdir(ROOT)
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "rules").glob("*.yaml"))
    assert main(["test", "--offline-as", ENGINE, *files]) == 0
    offline = [line.split(" (")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("PASS")]
    options = engine_options(engine_url)
    monkeypatch.setenv("LOGALERT_ES_HOST", str(options["es_host"]))
    monkeypatch.setenv("LOGALERT_ES_PORT", str(options["es_port"]))
    assert main(["test", "--engine", *files]) == 0
    out = capsys.readouterr().out
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("PASS")] == offline
    assert "opensearch" in out.splitlines()[-1] or "elasticsearch" in out.splitlines()[-1]
    assert engine.cat.indices(index="logalert-test-*", format="json") == []  # temporary indices deleted


def test_figures(capsys):
    """The totals, printed (run with -s to see them); at least 300 query cases."""
    queries = len(QUERIES)
    refused = sum(1 for c in QUERIES if c[0].startswith("refused:"))
    with capsys.disabled():
        print(f"\ndifferential: {queries} query cases ({refused} refused by design) x {CORPUS_SIZE} "
              f"documents, {len(AGGS)} aggregation cases, {len(RULES)} rule types; agreements this run: "
              f"{FIGURES['agree']}, refused as expected: {FIGURES['refused']}, query-document decisions: "
              f"{FIGURES['decisions']}, rule-type requests compared: {FIGURES.get('rule_requests', 0)} "
              f"(matches compared: {FIGURES.get('rule_matches', 0)})")
    assert queries - refused >= 300
