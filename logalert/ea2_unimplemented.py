"""ElastAlert2 options logalert accepts but does not implement, as keyword arguments of
``logalert.options.Option``.

ElastAlert2 documents them (its configuration, rule and alert pages); a config.yaml or rule
carried over from it may set them. Accepting them keeps those files loading, and the
``unimplemented`` text turns a silent difference into one warning line that says what is
not done and what to use instead. Plain data, so the registry (``logalert.options``)
builds the Option objects and this module imports nothing.
"""

from __future__ import annotations

from typing import Any

_BOOL = {"type": "boolean"}
_STR = {"type": "string"}
_STRS = {"type": "array", "items": {"type": "string"}}
_CONFIG, _BOTH, _RULE = "config", "config rule", "rule"

_SIGV4 = "requests are not signed with AWS SigV4; use es_api_key, es_username/es_password or a signing proxy"
_STATSD = "no StatsD metrics are sent; scrape the Prometheus /metrics endpoint on health_port"
_PARAMS = "rule options are not copied into matches; *_args read rule options by name, Jinja as {{ rule.NAME }}"


def _spec(name: str, schema: dict[str, Any], scope: str, unimplemented: str, **more: Any) -> dict[str, Any]:
    # Options a rule may override take config.yaml's value as their default (registry rule).
    inherited = {"inherited": True} if scope == _BOTH else {}
    return {"name": name, "schema": schema, "scope": scope, "unimplemented": unimplemented, **inherited, **more}


SPECS: tuple[dict[str, Any], ...] = (
    # --- config.yaml (ElastAlert2's "Global Configuration") ---------------------------
    _spec("rules_loader", _STR, _CONFIG, "rules are always read from the files in rules_folder; "
                                         "generate rule files instead"),
    _spec("writeback_alias", _STR, _CONFIG, "state is read and written through writeback_index; "
                                            "set writeback_index to the alias"),
    _spec("misfire_grace_time", {"type": "number", "minimum": 0}, _CONFIG,
          "a late run is never skipped: it runs and searches the whole window it missed"),
    _spec("max_scrolling_count", {"type": "integer", "minimum": 0}, _CONFIG,
          "every hit is read (point-in-time pages of max_query_size, no page limit); "
          "narrow the filter or use use_count_query"),
    _spec("scroll_keepalive", _STR, _CONFIG,
          "pages are read through a point in time kept alive 2m per page; not configurable"),
    _spec("max_aggregation", {"type": "integer", "minimum": 1}, _CONFIG,
          "a digest holds every match of its period; use summary_table_fields to keep it short", default=10000),
    _spec("show_disabled_rules", _BOOL, _CONFIG,
          "disabled rules are not listed in the log; logalert validate and the web console list rules"),
    _spec("notify_alert", {"type": "array"}, _CONFIG,
          "rule errors are not sent to notifiers; they are logged, kept in the writeback index "
          "and counted in /metrics (logalert_rule_runs_total, outcome=error)"),
    _spec("notify_all_errors", _BOOL, _CONFIG,
          "errors are not sent to notifiers; alert on logalert_rule_runs_total (outcome=error) in /metrics",
          default=False),
    _spec("aws_region", _STR, _CONFIG, _SIGV4),
    _spec("profile", _STR, _CONFIG, _SIGV4),
    _spec("replace_dots_in_field_names", _BOOL, _CONFIG,
          "writeback documents keep their field names (dots are fine since Elasticsearch 2.4)", default=False),
    _spec("string_multi_field_name", _STR, _CONFIG,
          "top_count_keys and terms aggregate the '.keyword' sub-field; name FIELD.raw explicitly "
          "and set raw_count_keys: false", default=".keyword"),
    _spec("add_metadata_alert", _BOOL, _CONFIG,
          "category/description/owner/priority are not appended to alerts; name them in alert_text_args "
          "or Jinja ({{ rule.owner }})", default=False),
    _spec("skip_invalid", _BOOL, _CONFIG,
          "invalid rule files are always skipped and reported; the daemon never exits for them", default=True),
    _spec("jinja_template_path", _STR, _CONFIG,
          "templates are not read from files; put the template in alert_text (import: shares it)"),
    _spec("logging", {"type": "object"}, _CONFIG,
          "a Python logging config is not read; use log_format (text or json) and -v"),
    # --- config.yaml defaults a rule may override ------------------------------------
    _spec("es_send_get_body_as", {"enum": ["GET", "POST", "source"]}, _BOTH,
          "searches are always sent as POST with a JSON body, which proxies accept; nothing to set", default="GET"),
    _spec("ssl_show_warn", _BOOL, _BOTH,
          "the one warning for verify_certs: false is always logged; set ca_certs and keep verify_certs on",
          default=True),
    _spec("statsd_host", _STR, _BOTH, _STATSD),
    _spec("statsd_instance_tag", _STR, _BOTH, _STATSD),
    # --- rules -----------------------------------------------------------------------
    _spec("_source_enabled", _BOOL, _RULE,
          "documents are always read from _source; stored fields are not fetched", default=True),
    _spec("timestamp_to_datetime_format_expr", _STR, _RULE,
          "hit timestamps are not rewritten before parsing; normalise the field at ingest or use timestamp_format"),
    _spec("include_match_in_root", _BOOL, _RULE,
          "writeback alert records keep the matches under 'items' (README › The writeback index); "
          "their fields are not copied to the record's root", default=False),
    _spec("run_enhancements_first", _BOOL, _RULE, "match enhancement modules are not run", default=False),
    _spec("include_rule_params_in_matches", _STRS, _RULE, _PARAMS),
    _spec("include_rule_params_in_first_match_only", _BOOL, _RULE, _PARAMS, default=False),
    _spec("aggregation_alert_time_compared_with_timestamp_field", _BOOL, _RULE,
          "a digest's send time is not compared with event times; aggregate_by_match_time alone decides "
          "the period", default=False),
    _spec("summary_table_type", {"enum": ["ascii", "markdown", "html"]}, _RULE,
          "the summary is always a plain 'a | b | count' table"),
    _spec("summary_table_max_rows", {"type": "integer", "minimum": 1}, _RULE,
          "the summary lists every distinct row, most frequent first; fewer summary_table_fields keep it short"),
)
