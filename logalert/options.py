"""The option registry: every option of config.yaml and of rule files, declared once.

An option's name, JSON-Schema fragment, default, where it may be set, whether a
config.yaml value is the rule's default, whether it is a secret or part of an engine
connection's identity, and — for options accepted only so ElastAlert files load — what
logalert does not do with it. Config loading, rule loading, the JSON Schemas, secret
masking and the engine's connection key all derive from these declarations, so an
option cannot be known in one place and forgotten in another (``es_conn_timeout`` once
was: config.yaml accepted it and no rule's connection ever saw it).

Rule types and alerters declare their own options next to their code (``OPTIONS`` and
``REQUIRED`` in each ``logalert/ruletypes/NAME.py`` and ``logalert/notify/alerters/NAME.py``);
this module holds what every rule shares and what config.yaml accepts. It sits at the
bottom of the import graph: everything may import it, it imports no stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from logalert import ea2_unimplemented
from logalert.timeutil import SPAN_UNITS

CONFIG, RULE, ALERTER = "config", "rule", "alerter"
SCOPES = frozenset({CONFIG, RULE, ALERTER})

# The warning an accepted-but-unimplemented option gives, before what is not done.
NOT_IMPLEMENTED = "accepted for ElastAlert compatibility but not implemented"

# Shared schema shapes, referenced as {"$ref": "#/$defs/NAME"} and inlined when the
# schemas are built (logalert.config.schema).
DEFS: Mapping[str, Mapping[str, Any]] = {
    "span": {
        "type": "object",
        "description": "a time span such as {minutes: 5}; units: " + ", ".join(SPAN_UNITS),
        "errorMessage": "must be a time span such as {minutes: 5} (units: " + ", ".join(SPAN_UNITS) + ")",
        "properties": {unit: {"type": "number", "minimum": 0} for unit in SPAN_UNITS},
        "additionalProperties": False,
    },
    "stringOrList": {
        "description": "a string or a list of strings",
        "errorMessage": "must be a string or a list of strings",
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        ],
    },
}
SPAN: Mapping[str, Any] = {"$ref": "#/$defs/span"}
STRING_OR_LIST: Mapping[str, Any] = {"$ref": "#/$defs/stringOrList"}
STRING: Mapping[str, Any] = {"type": "string"}
NONEMPTY: Mapping[str, Any] = {"type": "string", "minLength": 1}
BOOLEAN: Mapping[str, Any] = {"type": "boolean"}
INTEGER: Mapping[str, Any] = {"type": "integer"}
PORT: Mapping[str, Any] = {"type": "integer", "minimum": 1, "maximum": 65535}
STRINGS: Mapping[str, Any] = {"type": "array", "items": {"type": "string"}}
# es_hosts: ``host`` or ``host:port`` (IPv6 in brackets), as a list or comma-separated (as
# ElastAlert2's ES_HOSTS variable, here LOGALERT_ES_HOSTS).
_NODE = r"(?:\[[0-9A-Fa-f:.]+\]|[^\s,:/\[\]]+)(?::[0-9]{1,5})?"
HOSTS: Mapping[str, Any] = {
    "description": "cluster nodes as host or host:port (default port: es_port)",
    "errorMessage": "must be a list of host or host:port, e.g. [es1.example.com, 'es2.example.com:9201']",
    "anyOf": [
        {"type": "string", "pattern": rf"^\s*{_NODE}(?:\s*,\s*{_NODE})*\s*$"},
        {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": rf"^\s*{_NODE}\s*$"}},
    ],
}


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Option:
    """One option. ``scope``: where it may be set — ``config`` (config.yaml and
    LOGALERT_* variables), ``rule`` (any rule file) and ``alerter`` (a rule using that
    alerter, at its top level or in its ``alert:`` entry). ``inherited``: the config.yaml
    value is the rule's default. ``connection``: part of the identity of an engine
    connection (rules differing in it get their own client). ``fills``: the option names
    a file whose content is the value of that other option. ``unimplemented``: what
    logalert does not do with it; setting it (to anything but its default) warns."""

    name: str
    schema: Mapping[str, Any]
    default: Any = NO_DEFAULT
    scope: frozenset[str] | str = RULE
    inherited: bool = False
    secret: bool = False
    connection: bool = False
    fills: str = ""
    unimplemented: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.scope, str):
            object.__setattr__(self, "scope", frozenset(self.scope.split()))

    @property
    def implemented(self) -> bool:
        return not self.unimplemented

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def is_span(self) -> bool:
        return self.schema.get("$ref") == SPAN["$ref"]

    def fragment(self) -> dict[str, Any]:
        """The JSON-Schema property for this option (``$ref`` still to be inlined)."""
        out = dict(self.schema)
        if self.description and "description" not in out:
            out["description"] = self.description
        return out

    def warning(self) -> str:
        return f"{NOT_IMPLEMENTED}: {self.unimplemented}"

    def warns_for(self, value: Any) -> bool:
        """Whether setting this option to ``value`` asks for something not done."""
        return bool(self.unimplemented) and not (self.has_default and value == self.default)


_KIBANA = "Kibana 3/4 dashboard links are not built; use generate_kibana_discover_url instead"
_SHORTEN = "Discover links are never shortened (the full link is sent), so Kibana is not called"


def _discover_options(app: str) -> tuple[Option, ...]:
    """``generate_{app}_discover_url`` and its ``{app}_discover_*`` settings (logalert.notify.discover):
    ElastAlert2 has the same set for Kibana and for OpenSearch Dashboards."""
    return (
        Option(f"generate_{app}_discover_url", BOOLEAN, False,
               description=f"put a Discover link ({app}_discover_url) around each match into the alert"),
        Option(f"{app}_url", STRING, description=f"base URL a relative {app}_discover_app_url is resolved against"),
        Option(f"{app}_discover_app_url", STRING, description="the Discover app's URL, e.g. "
               + ("http://kibana:5601/app/discover#/" if app == "kibana"
                  else "http://dashboards:5601/app/data-explorer/discover#")),
        Option(f"{app}_discover_version", {"type": ["string", "number"]},
               description="the Kibana/Dashboards version, e.g. '8.11' (it chooses the link format)"),
        Option(f"{app}_discover_index_pattern_id", STRING, description="id of the index pattern (data view)"),
        Option(f"{app}_discover_columns", STRINGS, ["_source"]),
        Option(f"{app}_discover_from_timedelta", SPAN, description="link starts this long before the match; "
               "default timeframe, else 10 minutes"),
        Option(f"{app}_discover_to_timedelta", SPAN, description="link ends this long after the match; "
               "default timeframe, else 10 minutes"),
    )

_CONNECTION = "config rule"

OPTIONS: tuple[Option, ...] = (
    # --- the engine (config.yaml; a rule may override each) ---------------------------
    Option("es_host", NONEMPTY, "localhost", _CONNECTION, inherited=True, connection=True),
    Option("es_port", PORT, 9200, _CONNECTION, inherited=True, connection=True),
    Option("use_ssl", BOOLEAN, False, _CONNECTION, inherited=True, connection=True),
    Option("verify_certs", BOOLEAN, True, _CONNECTION, inherited=True, connection=True),
    Option("ca_certs", STRING, scope=_CONNECTION, inherited=True, connection=True),
    Option("client_cert", STRING, scope=_CONNECTION, inherited=True, connection=True),
    Option("client_key", STRING, scope=_CONNECTION, inherited=True, connection=True),
    Option("es_username", STRING, scope=_CONNECTION, inherited=True, connection=True),
    Option("es_password", STRING, scope=_CONNECTION, inherited=True, connection=True, secret=True),
    Option("es_api_key", STRING, scope=_CONNECTION, inherited=True, connection=True, secret=True,
           description="sent as 'Authorization: ApiKey VALUE' (base64 id:key); wins over es_bearer and es_password"),
    Option("es_bearer", STRING, scope=_CONNECTION, inherited=True, connection=True, secret=True,
           description="sent as 'Authorization: Bearer VALUE'; wins over es_username/es_password"),
    Option("es_hosts", HOSTS, scope=_CONNECTION, inherited=True, connection=True,
           description="more nodes of the same cluster, tried in order after es_host:es_port when one is down"),
    Option("es_url_prefix", STRING, scope=_CONNECTION, inherited=True, connection=True),
    Option("es_conn_timeout", {"type": "number", "exclusiveMinimum": 0}, 20, _CONNECTION,
           inherited=True, connection=True, description="seconds per engine request"),
    Option("es_password_file", STRING, scope=CONFIG, fills="es_password"),
    Option("es_api_key_file", STRING, scope=CONFIG, fills="es_api_key"),
    # --- the daemon (config.yaml only) -----------------------------------------------
    Option("rules_folder", STRING, "rules", CONFIG),
    Option("scan_subdirectories", BOOLEAN, True, CONFIG,
           description="false: only the rule files directly in each rules folder"),
    Option("writeback_index", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$"}, "logalert_status", CONFIG),
    Option("max_threads", {"type": "integer", "minimum": 1, "maximum": 256}, 10, CONFIG),
    Option("health_port", {"type": "integer", "minimum": 0, "maximum": 65535}, 0, CONFIG),
    # --- the web console (logalert.daemon.web) ----------------------------------------
    Option("web_port", {"type": "integer", "minimum": 0, "maximum": 65535}, 0, CONFIG,
           description="serve the web console on this port (0: off)"),
    Option("web_host", NONEMPTY, "127.0.0.1", CONFIG,
           description="address the web console binds; anything but loopback needs a web_token"),
    Option("web_token", STRING, scope=CONFIG, secret=True,
           description="the web console's access token (Bearer for the API, login form for the browser)"),
    Option("web_token_file", STRING, scope=CONFIG, fills="web_token"),
    Option("log_format", {"enum": ["text", "json"]}, "text", CONFIG,
           description="json: one JSON object per log line (time, level, logger, message, rule, hits…) for Fluentd"),
    # --- replicas (logalert.daemon.leases) -------------------------------------------
    Option("lease_duration", SPAN, {"seconds": 30}, CONFIG,
           description="a replica takes a rule over when its lease went unrenewed this long"),
    Option("lease_renew_interval", SPAN, {"seconds": 10}, CONFIG,
           description="how often each replica renews its leases and heartbeat (one _bulk); "
                       "at most half of lease_duration"),
    Option("writeback_retention", SPAN, {"days": 30}, CONFIG,
           description="sent and failed alerts, run errors, ended silences and statuses of deleted "
                       "rules older than this are deleted from the writeback index (hourly)"),
    Option("notify_email", STRING_OR_LIST, scope=CONFIG,
           unimplemented="rule errors are not emailed; they are logged and kept in the writeback index"),
    Option("disable_rules_on_error", BOOLEAN, False, CONFIG,
           unimplemented="a failing rule is never disabled; it runs again at its next run_every"),
    # --- timing (config.yaml defaults, rule overrides) -------------------------------
    Option("run_every", SPAN, {"minutes": 1}, "config rule", inherited=True),
    Option("buffer_time", SPAN, {"minutes": 15}, "config rule", inherited=True),
    Option("query_delay", SPAN, {"seconds": 0}, "config rule", inherited=True),
    Option("max_query_size", {"type": "integer", "minimum": 1, "maximum": 10000}, 10000, "config rule", inherited=True),
    Option("realert", SPAN, {"minutes": 1}, "config rule", inherited=True),
    Option("alert_time_limit", SPAN, {"days": 2}, "config rule", inherited=True),
    Option("old_query_limit", SPAN, {"weeks": 1}, "config rule", inherited=True),
    # --- mail (config.yaml defaults for the email alerter) ---------------------------
    Option("smtp_host", NONEMPTY, "localhost", "config rule alerter", inherited=True),
    Option("smtp_port", PORT, scope="config rule alerter", inherited=True,
           description="default 465 with smtp_ssl, else 25"),
    Option("from_addr", NONEMPTY, "logalert@localhost", "config rule alerter", inherited=True),
    Option("email_reply_to", STRING, scope="config rule alerter", inherited=True),
    # --- what a rule is --------------------------------------------------------------
    Option("name", NONEMPTY),
    Option("type", NONEMPTY),
    Option("index", NONEMPTY),
    Option("description", STRING, ""),
    Option("owner", STRING, ""),
    Option("priority", INTEGER, 2),
    Option("category", STRING, ""),
    Option("is_enabled", BOOLEAN, True),
    Option("import", STRING_OR_LIST),
    Option("filter", {
        "type": "array",
        "errorMessage": "must be a list of filters, e.g. '- query: {query_string: {query: \"level:ERROR\"}}'",
        "items": {"type": "object", "minProperties": 1,
                  "errorMessage": "each filter must be a mapping such as {term: {level: ERROR}}"},
    }, []),
    Option("timestamp_field", NONEMPTY, "@timestamp"),
    Option("timestamp_type", {"enum": ["iso", "unix", "unix_ms", "custom"]}, "iso"),
    Option("timestamp_format", NONEMPTY),
    Option("timestamp_format_expr", NONEMPTY,
           description="timestamp_type custom: a Python expression over ts (the formatted query timestamp) and "
                       "dt (its datetime), e.g. ts[:23] + ts[26:]; only ts, dt, literals, operators and methods"),
    Option("query_timezone", STRING, description="write query ranges in this zone (e.g. Europe/Istanbul): for "
                                                 "custom-format timestamps stored as local time without a zone"),
    Option("use_strftime_index", BOOLEAN, False),
    Option("search_extra_index", BOOLEAN, False,
           description="use_strftime_index: also search the index of the period before the window "
                       "(for indices not named after timestamp_field)"),
    Option("include", STRINGS),
    Option("include_fields", STRINGS, description="also fetch these fields (runtime or script fields) through "
                                                  "the search's fields parameter; _source values win"),
    Option("query_key", STRING_OR_LIST),
    Option("timeframe", SPAN),
    Option("use_count_query", BOOLEAN, False),
    Option("use_terms_query", BOOLEAN, False),
    Option("top_count_keys", STRINGS),
    Option("top_count_number", {"type": "integer", "minimum": 1}, 5),
    Option("raw_count_keys", BOOLEAN, True),
    Option("exponential_realert", SPAN),
    Option("realert_key", NONEMPTY, description="the name realert silences are kept under (default: the rule's "
                                                "name); rules sharing it silence each other per query_key value"),
    Option("limit_execution", NONEMPTY, description="a cron expression such as '* 10-18 * * 1-5': the rule runs "
                                                    "only at ticks when it fired since the previous tick"),
    Option("limit_execution_timezone", NONEMPTY, "UTC",
           description="the zone limit_execution is read in (ElastAlert2: always UTC)"),
    Option("send_resolved", BOOLEAN, False, "rule alerter",
           description="also notify when the alert clears (no new match for resolve_after); "
                       "per notifier in its alert: entry"),
    Option("resolve_after", SPAN, description="an alert resolves after this long (event time) without a new match "
                                              "for its key; default: timeframe, else 2 x run_every"),
    # --- alerts ----------------------------------------------------------------------
    Option("alert", {
        "description": "a notifier name or a list of them, e.g. [slack, email]",
        "errorMessage": "must be a notifier name or a list of them, e.g. [slack, email]",
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "minItems": 1, "items": {"anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "object", "minProperties": 1, "maxProperties": 1},
            ]}},
        ],
    }),
    Option("alert_subject", STRING),
    Option("alert_subject_args", STRINGS),
    Option("alert_text", STRING),
    Option("alert_text_args", STRINGS),
    Option("alert_text_kw", {"type": "object"}),
    Option("alert_text_type", {"enum": ["alert_text_only", "exclude_fields", "aggregation_summary_only", "alert_text_jinja"]}),
    Option("alert_missing_value", STRING, "<MISSING VALUE>"),
    Option("jinja_root_name", {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "_data", "config rule alerter",
           inherited=True,
           description="the Jinja variable holding the whole match document (alert_text_jinja, post2)"),
    Option("use_local_time", BOOLEAN, False,
           description="timestamps logalert writes into alert text in the local time zone (default UTC; "
                       "ElastAlert2's default is true)"),
    Option("custom_pretty_ts_format", STRING, scope="config rule", inherited=True,
           description="strftime format of timestamps logalert writes into alert text (default ISO 8601)"),
    Option("alert_subject_max_len", {"type": "integer", "minimum": 1}),
    Option("aggregation", {
        "description": "a time span such as {minutes: 10}, or {schedule: CRON}",
        "errorMessage": "must be a time span such as {minutes: 10} or a cron schedule such as {schedule: '*/15 * * * *'}",
        "anyOf": [SPAN, {"type": "object", "required": ["schedule"], "additionalProperties": False,
                         "properties": {"schedule": {"type": "string", "minLength": 1}}}],
    }),
    Option("aggregation_key", STRING_OR_LIST),
    Option("summary_table_fields", STRINGS),
    Option("summary_prefix", STRING, description="text before the aggregation summary table"),
    Option("summary_suffix", STRING, description="text after the aggregation summary table"),
    # --- Discover links (logalert.notify.discover) -----------------------------------
    *_discover_options("kibana"),
    Option("kibana_discover_security_tenant", STRING, description="OpenSearch/OpenDistro security tenant of the link"),
    *_discover_options("opensearch"),
    Option("shorten_kibana_discover_url", BOOLEAN, False, unimplemented=_SHORTEN),
    Option("kibana_username", STRING, unimplemented=_SHORTEN),
    Option("kibana_password", STRING, secret=True, unimplemented=_SHORTEN),
    Option("kibana_verify_certs", BOOLEAN, True, unimplemented=_SHORTEN),
    Option("aggregate_by_match_time", BOOLEAN, False),
    # --- ElastAlert options logalert accepts without acting on them ------------------
    Option("doc_type", STRING, unimplemented="searches ignore it (document types are gone since Elasticsearch 7)"),
    Option("scan_entire_timeframe", BOOLEAN, False,
           unimplemented="each run searches its own window, not the whole timeframe"),
    Option("generate_kibana_link", BOOLEAN, False, unimplemented=_KIBANA),
    Option("kibana4_start_timedelta", SPAN, unimplemented=_KIBANA),
    Option("kibana4_end_timedelta", SPAN, unimplemented=_KIBANA),
    Option("use_kibana4_dashboard", STRING, unimplemented=_KIBANA),
    Option("match_enhancements", {"type": "array"}, unimplemented="match enhancement modules are not run"),
    Option("fields", {"type": "array"}, unimplemented="only type new_term reads it; other types ignore it"),
    # --- ElastAlert2 options logalert does not implement ------------------------------
    # Documented by ElastAlert2 and accepted so its config.yaml and rules load as they are,
    # each with a one-line warning (what is not done, what to use instead). Kept as data in
    # logalert/ea2_unimplemented.py; tests/unit/test_ea2_options.py holds ElastAlert2's
    # documented names against this registry.
    *(Option(**spec) for spec in ea2_unimplemented.SPECS),
)

# Every rule must set these (a rule type or an alerter may require more).
RULE_REQUIRED: tuple[str, ...] = ("name", "type", "index", "alert")

# Secret options of ElastAlert alerters logalert does not have: not accepted (they warn
# as unknown), but a carried-over rule may still hold them, so their values are masked.
FOREIGN_SECRETS = frozenset({
    "smtp_password", "http_post_url", "http_post2_url", "webhook_url",
    "ms_teams_webhook_url", "teams_webhook_url", "pagerduty_service_key", "opsgenie_key",
    "telegram_bot_token", "mattermost_webhook_url", "discord_webhook_url", "google_chat_webhook_url",
})
# Any option whose name ends so holds a secret, declared or not.
SECRET_SUFFIXES = ("_password", "_api_key", "_token", "_secret", "_webhook_url")

BY_NAME: Mapping[str, Option] = {o.name: o for o in OPTIONS}
# Options every notifier accepts, at the rule's top level or in its ``alert:`` entry
# (``- pagerduty: {send_resolved: true}``).
ALERTER_COMMON: tuple[Option, ...] = (BY_NAME["send_resolved"],)


def scoped(scope: str, options: Iterable[Option] = OPTIONS) -> tuple[Option, ...]:
    return tuple(o for o in options if scope in o.scope)


def defaults(options: Iterable[Option]) -> dict[str, Any]:
    """``{name: default}`` of those options that have one (shared objects: copy before mutating)."""
    return {o.name: o.default for o in options if o.has_default}


CONFIG_OPTIONS: tuple[Option, ...] = scoped(CONFIG)
RULE_OPTIONS: tuple[Option, ...] = scoped(RULE)
INHERITED: tuple[str, ...] = tuple(o.name for o in OPTIONS if o.inherited)
CONNECTION_OPTIONS: tuple[str, ...] = tuple(o.name for o in OPTIONS if o.connection)
SECRET_OPTIONS = frozenset(o.name for o in OPTIONS if o.secret) | FOREIGN_SECRETS
