"""Generated ElastAlert-format rules for the benchmarks.

Two flavours share the same option pools:

* ``validation_rule`` — varied, valid rule files for ``logalert validate`` (filters of
  every supported form, subjects and texts with args, Jinja texts, slack / email / stdout
  notifiers, query_key, include, imports of a shared base).
* ``comparison_rule`` — rules both logalert and ElastAlert2 run unchanged against the
  documents of :mod:`efkdocs` (``alert: debug``, ``realert: 0`` so every match is printed).

Only rule types that logalert has registered (``logalert.ruletypes.RULE_TYPES``) and
that ElastAlert2 knows are generated. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

# The ElastAlert rule types the benchmarks know how to generate, in the order they are
# mixed in. logalert may register them one by one; see available_types().
ELASTALERT_TYPES = (
    "any", "frequency", "flatline", "spike", "blacklist", "whitelist", "change",
    "new_term", "cardinality", "metric_aggregation", "spike_aggregation", "percentage_match",
)

INDEX = "logstash-*"

# Field values present in the generated documents (see efkdocs.APPS).
NAMESPACES = ["shop", "billing", "auth", "platform"]
APPS = ["checkout", "cart", "frontend", "invoice", "payments", "login", "ingress-nginx"]
LEVELS = ["ERROR", "WARN", "FATAL"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def registered_types() -> list[str]:
    """Rule types logalert has registered right now (imported from the installed package)."""
    from logalert.ruletypes import RULE_TYPES

    return [t for t in ELASTALERT_TYPES if t in RULE_TYPES]


def available_types(only: Iterable[str] | None = None) -> list[str]:
    types = registered_types()
    if only:
        wanted = [t.strip() for t in only if t.strip()]
        unknown = [t for t in wanted if t not in types]
        if unknown:
            raise SystemExit(f"rule types not registered in logalert (or unknown to ElastAlert): {', '.join(unknown)}; "
                             f"registered: {', '.join(types)}")
        types = wanted
    return types


def span(rnd: random.Random, choices: list[dict[str, int]]) -> dict[str, int]:
    return dict(rnd.choice(choices))


# --- filters -------------------------------------------------------------------------------
# Each returns a filter list valid in ElastAlert and in logalert, over the EFK fields as the
# engine maps them dynamically (strings: text + .keyword).

def _filter_error_level(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"query": {"query_string": {"query": f"level:{rnd.choice(LEVELS)}"}}}]


def _filter_app_errors(rnd: random.Random) -> list[dict[str, Any]]:
    app = rnd.choice(APPS)
    return [{"term": {"kubernetes.labels.app.keyword": app}},
            {"query": {"query_string": {"query": "level:ERROR OR level:FATAL"}}}]


def _filter_5xx(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"range": {"status": {"gte": 500}}},
            {"term": {"kubernetes.namespace_name.keyword": rnd.choice(NAMESPACES)}}]


def _filter_status_terms(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"terms": {"status": rnd.sample([429, 500, 502, 503, 504], 2)}}]


def _filter_slow(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"range": {"response_time": {"gte": rnd.choice([0.5, 1.0, 2.0])}}}]


def _filter_bool(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"bool": {
        "must": [{"match": {"message": rnd.choice(["timeout", "refused", "failed"])}}],
        "must_not": [{"term": {"kubernetes.namespace_name.keyword": "platform"}}],
    }}]


def _filter_oom(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"query": {"query_string": {"query": 'message:"OOMKilled" OR message:"out of memory"'}}}]


def _filter_wildcard(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"wildcard": {"kubernetes.pod_name.keyword": rnd.choice(APPS) + "-*"}},
            {"exists": {"field": "status"}}, {"term": {"status": 504}}]


def _filter_phrase(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"match_phrase": {"message": rnd.choice(["connection refused", "upstream timed out", "payment declined"])}}]


def _filter_namespace(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"term": {"kubernetes.namespace_name.keyword": rnd.choice(NAMESPACES)}}]


def _filter_app(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"term": {"kubernetes.labels.app.keyword": rnd.choice(APPS)}}]


ERROR_FILTERS: list[Callable[[random.Random], list[dict[str, Any]]]] = [
    _filter_error_level, _filter_app_errors, _filter_5xx, _filter_status_terms, _filter_slow,
    _filter_bool, _filter_oom, _filter_wildcard, _filter_phrase,
]
TRAFFIC_FILTERS = [_filter_namespace, _filter_app]


def _filter_app_fatal(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"term": {"kubernetes.labels.app.keyword": rnd.choice(APPS)}},
            {"query": {"query_string": {"query": "level:FATAL"}}}]


def _filter_app_phrase(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"term": {"kubernetes.labels.app.keyword": rnd.choice(APPS)}},
            {"match_phrase": {"message": rnd.choice(["connection refused", "payment declined", "NullPointerException",
                                                     "failed to publish"])}}]


def _filter_slow_app(rnd: random.Random) -> list[dict[str, Any]]:
    return [{"range": {"response_time": {"gte": rnd.choice([1.0, 2.0, 4.0])}}},
            {"term": {"kubernetes.namespace_name.keyword": rnd.choice(NAMESPACES)}}]


# Alerting on every document only makes sense for rare events: these keep `any` rules to
# tens of matches over the benchmark's range (a busy error filter is frequency's job).
ANY_FILTERS = [_filter_app_fatal, _filter_oom, _filter_app_phrase, _filter_wildcard, _filter_slow_app]


# --- type-specific options -------------------------------------------------------------------

def type_options(rule_type: str, rnd: random.Random) -> dict[str, Any]:
    """Options for ``rule_type`` (filter included) that make sense on the generated logs."""
    if rule_type == "any":
        opts: dict[str, Any] = {"filter": rnd.choice(ANY_FILTERS)(rnd)}
        if rnd.random() < 0.4:
            opts["query_key"] = rnd.choice(["kubernetes.pod_name", "host"])
        return opts
    if rule_type == "frequency":
        opts = {"filter": rnd.choice(ERROR_FILTERS[:4])(rnd),
                "num_events": rnd.choice([5, 10, 20, 50]),
                "timeframe": span(rnd, [{"minutes": 5}, {"minutes": 10}, {"minutes": 15}])}
        roll = rnd.random()
        if roll < 0.35:
            opts["query_key"] = rnd.choice(["kubernetes.pod_name", "kubernetes.namespace_name", "host"])
        elif roll < 0.55:
            opts["use_count_query"] = True
        return opts
    if rule_type == "flatline":
        # Mostly the quieter apps: payments goes silent for a while in the generated logs.
        app = rnd.choice(["payments", "payments", "invoice", "cart", "login"])
        opts = {"filter": [{"term": {"kubernetes.labels.app.keyword": app}}],
                "threshold": rnd.choice([1, 5, 30]),
                "timeframe": span(rnd, [{"minutes": 5}, {"minutes": 10}])}
        if rnd.random() < 0.3:
            opts["use_count_query"] = True
        return opts
    if rule_type == "spike":
        opts = {"filter": rnd.choice([_filter_error_level, _filter_5xx, _filter_app])(rnd),
                "spike_height": rnd.choice([2, 3, 4]),
                "spike_type": rnd.choice(["up", "down", "both"]),
                "timeframe": span(rnd, [{"minutes": 10}, {"minutes": 15}]),
                "threshold_cur": rnd.choice([5, 10])}
        if rnd.random() < 0.3:
            opts["use_count_query"] = True
        return opts
    if rule_type == "blacklist":
        # ElastAlert resolves "user.keyword" to the document's "user" (a multi-field suffix);
        # some rules are written that way, as ElastAlert users often do.
        return {"compare_key": rnd.choice(["user", "user", "user.keyword"]),
                "blacklist": ["mallory", "trent", rnd.choice(["eve", "oscar"])],
                "filter": rnd.choice([[{"term": {"kubernetes.namespace_name.keyword": "auth"}}],
                                      [{"term": {"kubernetes.labels.app.keyword": "login"}}]])}
    if rule_type == "whitelist":
        return {"compare_key": rnd.choice(["user", "user", "user.keyword"]), "whitelist": list(USERS),
                "ignore_null": True, "filter": [{"term": {"kubernetes.labels.app.keyword": "login"}},
                                                {"query": {"query_string": {"query": "message:logged"}}}]}
    if rule_type == "change":
        # ERROR <-> FATAL flips per pod of one app: rare enough to be worth an alert.
        return {"compare_key": "level", "query_key": "kubernetes.pod_name", "ignore_null": True,
                "timeframe": span(rnd, [{"minutes": 10}, {"minutes": 30}]),
                "filter": [{"term": {"kubernetes.labels.app.keyword": rnd.choice(APPS)}},
                           {"query": {"query_string": {"query": "level:ERROR OR level:FATAL"}}}]}
    if rule_type == "new_term":
        return {"fields": [rnd.choice(["user.keyword", "kubernetes.pod_name.keyword", "client_ip.keyword"])],
                "terms_window_size": {"hours": 6},
                "filter": rnd.choice(TRAFFIC_FILTERS)(rnd)}
    if rule_type == "cardinality":
        return {"cardinality_field": rnd.choice(["user.keyword", "client_ip.keyword"]),
                "max_cardinality": rnd.choice([3, 5]),
                "timeframe": span(rnd, [{"minutes": 5}, {"minutes": 10}]),
                "filter": rnd.choice(ERROR_FILTERS[:3])(rnd)}
    if rule_type == "metric_aggregation":
        opts = {"metric_agg_key": "response_time", "metric_agg_type": rnd.choice(["avg", "max"]),
                "max_threshold": rnd.choice([0.8, 1.5, 3.0]),
                "filter": rnd.choice(TRAFFIC_FILTERS)(rnd)}
        if rnd.random() < 0.4:
            opts["query_key"] = "kubernetes.labels.app.keyword"
        return opts
    if rule_type == "spike_aggregation":
        return {"metric_agg_key": "response_time", "metric_agg_type": "avg",
                "spike_height": rnd.choice([2, 3]), "spike_type": "up",
                "timeframe": span(rnd, [{"minutes": 10}, {"minutes": 15}]),
                "filter": rnd.choice(TRAFFIC_FILTERS)(rnd)}
    if rule_type == "percentage_match":
        return {"match_bucket_filter": [{"range": {"status": {"gte": 500}}}],
                "max_percentage": rnd.choice([5, 10, 20]),
                "min_denominator": 20,
                "filter": rnd.choice(TRAFFIC_FILTERS)(rnd)}
    raise ValueError(f"no generator for rule type {rule_type!r}")


# --- alert text ----------------------------------------------------------------------------------

SUBJECTS = [
    ({"alert_subject": "Errors in {0}", "alert_subject_args": ["kubernetes.namespace_name"]}),
    ({"alert_subject": "{0} on {1}: {2}", "alert_subject_args": ["kubernetes.pod_name", "host", "level"]}),
    ({"alert_subject": "Log alert"}),
    ({}),
]

TEXTS = [
    {"alert_text": "{0} logged on {1}: {2}", "alert_text_args": ["kubernetes.container_name", "host", "message"]},
    {"alert_text": "Status {0} for {1}", "alert_text_args": ["status", "request"], "alert_text_type": "exclude_fields"},
    {"alert_text": "Pod {pod} in {ns}", "alert_text_kw": {"kubernetes.pod_name": "pod", "kubernetes.namespace_name": "ns"}},
    {"alert_text_type": "alert_text_jinja",
     "alert_text": "{{ kubernetes.pod_name }} ({{ kubernetes.namespace_name }}): {{ message }}"},
    {"alert_text": "Something is wrong, see the fields below."},
    {},
]


def _notifier_options(rnd: random.Random, i: int) -> dict[str, Any]:
    choice = i % 4
    if choice == 0:
        return {"alert": ["slack"],
                "slack_webhook_url": f"https://hooks.slack.com/services/T000/B{i:05d}/XXXXXXXXXXXX",
                "slack_channel_override": rnd.choice(["#alerts", "#oncall", "#payments"]),
                "slack_username_override": "logalert", "slack_msg_color": rnd.choice(["danger", "warning"])}
    if choice == 1:
        return {"alert": ["email"], "email": [f"team{i % 7}@example.org"],
                "smtp_host": "smtp.example.org", "smtp_port": 587, "from_addr": "alerts@example.org"}
    if choice == 2:
        return {"alert": ["stdout"]}
    return {"alert": ["slack", "email"],
            "slack_webhook_url": [f"https://hooks.slack.com/services/T000/B{i:05d}/YYYYYYYYYYYY"],
            "email": f"oncall{i % 5}@example.org", "cc": ["lead@example.org"],
            "smtp_host": "smtp.example.org", "from_addr": "alerts@example.org"}


def validation_rule(i: int, rule_type: str, rnd: random.Random, *, with_import: bool = False) -> dict[str, Any]:
    """A varied, valid rule file for ``logalert validate``."""
    rule: dict[str, Any] = {}
    if with_import:
        rule["import"] = "_base.yaml"
    rule["name"] = f"generated-{i:04d}-{rule_type}"
    rule["description"] = f"Generated rule {i} ({rule_type})"
    if not with_import:
        rule["index"] = rnd.choice([INDEX, "logstash-*,fluentd-*", "logstash-%Y.%m.%d"])
        if rule["index"].endswith("%d"):
            rule["use_strftime_index"] = True
        rule["timestamp_field"] = "@timestamp"
    rule["type"] = rule_type
    rule.update(type_options(rule_type, rnd))
    rule["realert"] = span(rnd, [{"minutes": 0}, {"minutes": 5}, {"hours": 1}])
    if rnd.random() < 0.2:
        rule["run_every"] = span(rnd, [{"minutes": 1}, {"minutes": 5}])
    if rnd.random() < 0.2:
        rule["buffer_time"] = span(rnd, [{"minutes": 15}, {"minutes": 30}])
    if rnd.random() < 0.15 and rule_type in ("any", "frequency", "change", "blacklist", "whitelist"):
        rule["include"] = ["@timestamp", "message", "level", "kubernetes.pod_name", "host"]
    rule.update(rnd.choice(SUBJECTS))
    rule.update(rnd.choice(TEXTS))
    rule.update(_notifier_options(rnd, i))
    return rule


BASE_RULE = {"index": INDEX, "timestamp_field": "@timestamp", "owner": "sre", "priority": 2}


def comparison_rule(i: int, rule_type: str, rnd: random.Random) -> dict[str, Any]:
    """A rule for the side-by-side run: the same file is read by both tools."""
    rule: dict[str, Any] = {
        "name": f"bench-{i:04d}-{rule_type}",
        "index": INDEX,
        "timestamp_field": "@timestamp",
        "type": rule_type,
    }
    rule.update(type_options(rule_type, rnd))
    rule["realert"] = {"minutes": 0}
    rule["alert_subject"] = "bench {0}"
    rule["alert_subject_args"] = ["@timestamp"]
    rule["alert_text"] = "{0} {1}: {2}"
    rule["alert_text_args"] = ["kubernetes.pod_name", "level", "message"]
    rule["alert"] = ["debug"]
    return rule


def mixed_types(n: int, types: list[str]) -> list[str]:
    """``n`` rule types cycling through ``types`` so every type gets about n/len(types)."""
    return [types[i % len(types)] for i in range(n)]


def dump(rule: dict[str, Any], header: str = "") -> str:
    text = yaml.safe_dump(rule, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
    return (header + "\n" if header else "") + text


def write_validation_rules(folder: Path, n: int, types: list[str], seed: int = 7) -> list[Path]:
    """``n`` rule files under ``folder`` (a quarter import ``_base.yaml``; some in sub-folders)."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_base.yaml").write_text(dump(BASE_RULE, "# shared options, imported by some rules"))
    paths = []
    for i, rule_type in enumerate(mixed_types(n, types)):
        sub = folder / f"team{i % 10}"
        sub.mkdir(exist_ok=True)
        with_import = i % 4 == 3
        rule = validation_rule(i, rule_type, rnd, with_import=with_import)
        if with_import:
            rule["import"] = "../_base.yaml"
        path = sub / f"rule_{i:04d}_{rule_type}.yaml"
        path.write_text(dump(rule, f"# generated rule {i}: {rule_type}"))
        paths.append(path)
    return paths


def write_comparison_rules(folder: Path, n: int, types: list[str], seed: int = 11) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rules = []
    for i, rule_type in enumerate(mixed_types(n, types)):
        rule = comparison_rule(i, rule_type, rnd)
        (folder / f"bench_{i:04d}_{rule_type}.yaml").write_text(dump(rule))
        rules.append(rule)
    return rules
