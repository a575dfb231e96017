"""Links that open Kibana Discover or OpenSearch Dashboards Discover on an alert's match.

ElastAlert2's ``generate_kibana_discover_url`` / ``generate_opensearch_discover_url``:
the link shows the rule's index pattern, a time range around the match
(``*_discover_from_timedelta`` before, ``*_discover_to_timedelta`` after; default the
rule's ``timeframe``, else 10 minutes, as ElastAlert2 does), the chosen columns, and as
filters the rule's ``filter:`` entries plus one phrase filter per ``query_key`` value,
so the reader lands on the documents that made the alert.

Both apps keep their state in the URL fragment as Rison (a compact JSON for URLs):
``_g`` the global state (time range, refresh), ``_a`` the app state (index pattern,
columns, filters), and in OpenSearch Dashboards 2.10 and later (the "data explorer")
``_q`` the query state (filters, query). What differs between versions:

* Kibana 7 stores a filter's query DSL at the top level of the filter, Kibana 8 and
  later under ``query`` (a 7-style custom filter is ignored by Kibana 8's query bar).
* OpenSearch Dashboards before 2.10 is Kibana 7's Discover (same URL); 2.10 and later
  put index pattern and columns under ``_a.metadata``/``_a.discover`` and the filters
  into ``_q``.

Nothing here talks to the network: the link is built from the rule and the match
only, so a notifier can rebuild it from an outbox entry after a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
from typing import Any, Mapping
from urllib.parse import quote, urljoin, urlsplit

from logalert.fields import lookup
from logalert.model import Match
from logalert.rules.filters import normalise_filter
from logalert.rules.model import Rule
from logalert.timeutil import iso, to_timedelta

log = logging.getLogger(__name__)
_warned: set[tuple[str, str]] = set()

KIBANA, OPENSEARCH = "kibana", "opensearch"
APPS = (KIBANA, OPENSEARCH)
DEFAULT_SPAN = dt.timedelta(minutes=10)
# The settings a link cannot be built without (ElastAlert2 requires the same three).
NEEDED = ("discover_app_url", "discover_version", "discover_index_pattern_id")
# Where ElastAlert2 looks when the app URL is relative and no {app}_url is set.
DEFAULT_BASE = {KIBANA: "http://{host}:{port}/_plugin/kibana/", OPENSEARCH: "http://{host}:{port}/_plugin/_dashboards/"}


def variable(app: str) -> str:
    """The name the link goes by in alert text and templates (ElastAlert2's)."""
    return f"{app}_discover_url"


# --- Rison ------------------------------------------------------------------------------
# Characters that end a bare Rison word; a word may also not start like a number.
_NOT_ID = " '!:(),*@$"
_BARE = re.compile(r"^[^-0-9" + re.escape(_NOT_ID) + r"][^" + re.escape(_NOT_ID) + r"]*$")


def rison(value: Any) -> str:
    """``value`` (JSON-like data) as Rison: ``(a:1,b:!(x,'y z'))``. Object keys are
    sorted, as the reference encoder does, so equal states give equal links."""
    if value is None:
        return "!n"
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "!n"  # as rison.js does (JSON has no NaN or Infinity either)
        # Rison's exponent takes no '+': Python's 1e+20 would break the whole link.
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value).replace("+", "")
    if isinstance(value, str):
        if _BARE.match(value):
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{rison(str(k))}:{rison(value[k])}" for k in sorted(value, key=str)) + ")"
    if isinstance(value, (list, tuple)):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    return rison(str(value))


# --- settings ---------------------------------------------------------------------------
def enabled(rule: Rule, app: str) -> bool:
    return bool(rule.get(f"generate_{app}_discover_url"))


def problems(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, message) for a link that is asked for but cannot be built."""
    out = []
    for app in APPS:
        if options.get(f"generate_{app}_discover_url"):
            missing = [f"{app}_{n}" for n in NEEDED if options.get(f"{app}_{n}") in (None, "")]
            if missing:
                out.append((f"generate_{app}_discover_url", "needs " + " and ".join(missing)))
    return out


def _version(rule: Rule, app: str) -> tuple[int, int]:
    """(major, minor) of ``{app}_discover_version``; YAML may have read ``7.10`` as 7.1,
    which only the minor would tell apart, and no format depends on that."""
    found = re.match(r"^\s*(\d+)(?:\.(\d+))?", str(rule.get(f"{app}_discover_version") or ""))
    if not found:
        return (0, 0)
    return int(found.group(1)), int(found.group(2) or 0)


def time_range(rule: Rule, match: Match, app: str) -> tuple[dt.datetime, dt.datetime]:
    """From ``{app}_discover_from_timedelta`` before the match to ``…_to_timedelta`` after."""
    default = rule.span("timeframe") or DEFAULT_SPAN
    before = rule.get(f"{app}_discover_from_timedelta")
    after = rule.get(f"{app}_discover_to_timedelta")
    before = to_timedelta(before) if before is not None else default
    after = to_timedelta(after) if after is not None else default
    return match.timestamp - before, match.timestamp + after


def _app_url(rule: Rule, app: str) -> str:
    """The Discover app's URL, ``$VAR`` expanded, a relative one joined to ``{app}_url``."""
    url = os.path.expandvars(str(rule.get(f"{app}_discover_app_url")))
    if urlsplit(url).scheme:
        return url
    base = rule.get(f"{app}_url") or DEFAULT_BASE[app].format(host=rule.get("es_host", "localhost"),
                                                             port=rule.get("es_port", 9200))
    return urljoin(os.path.expandvars(str(base)), url)


# --- filters ----------------------------------------------------------------------------
def _key_values(rule: Rule, match: Match) -> list[tuple[str, Any]]:
    """(field, value) of every query_key: the match's key, else the field of its document."""
    out = []
    for i, name in enumerate(rule.query_key):
        value = match.key[i] if i < len(match.key) else None
        if value is None:
            value = lookup(match.fields, name)
        out.append((name, value))
    return out


def _filter(meta: dict[str, Any], dsl: Mapping[str, Any], nested: bool) -> dict[str, Any]:
    """A Discover filter pill: Kibana 8+ keeps the DSL under ``query``; Kibana 7 and
    OpenSearch Dashboards inline custom and exists filters (phrase filters they too
    keep under ``query``)."""
    body = {"query": dict(dsl)} if nested else dict(dsl)
    return {"$state": {"store": "appState"}, "meta": meta, **body}


def filters(rule: Rule, match: Match, pattern_id: str, nested: bool) -> list[dict[str, Any]]:
    """The rule's filter entries as one custom filter (labelled with the rule's name) and
    a phrase filter per query_key value (``exists``, negated, for a missing one)."""
    out = []
    clauses = [normalise_filter(f) for f in rule.filters]
    if clauses:
        dsl = {"bool": {"must": clauses}}
        out.append(_filter({"alias": rule.name, "disabled": False, "index": pattern_id, "key": "bool",
                            "negate": False, "type": "custom", "value": json.dumps(dsl, separators=(",", ":"))},
                           dsl, nested))
    for name, value in _key_values(rule, match):
        if value is None:
            out.append(_filter({"alias": None, "disabled": False, "index": pattern_id, "key": name, "negate": True,
                                "type": "exists", "value": "exists"}, {"exists": {"field": name}}, nested))
            continue
        if not isinstance(value, (str, int, float, bool)):
            value = json.dumps(value, default=str)
        out.append(_filter({"alias": None, "disabled": False, "index": pattern_id, "key": name, "negate": False,
                            "params": {"query": value}, "type": "phrase"},
                           {"match_phrase": {name: value}}, nested=True))  # under query in every version
    return out


# --- the link ---------------------------------------------------------------------------
def _join(app_url: str, query: str) -> str:
    """The state appended to the app URL as ElastAlert2 does (``…/discover#/`` + ``?_g=…``),
    with ``&`` when the part that carries it already has a query."""
    carrier = app_url.split("#", 1)[1] if "#" in app_url else app_url
    return app_url + ("&" if "?" in carrier else "?") + query


def _with_tenant(url: str, tenant: str | None) -> str:
    """``security_tenant=…`` in the query before the fragment (OpenSearch/OpenDistro security)."""
    if not tenant:
        return url
    base, hash_, fragment = url.partition("#")
    return base + ("&" if "?" in base else "?") + "security_tenant=" + quote(tenant, safe="") + hash_ + fragment


def _encode(states: list[tuple[str, Any]]) -> str:
    # Everything but unreserved characters percent-encoded (as ElastAlert2's links are):
    # the link then survives Markdown, mrkdwn and mail clients that end links at ( ) or '.
    return "&".join(f"{name}={quote(rison(state), safe='')}" for name, state in states)


def url(rule: Rule, match: Match, app: str) -> str | None:
    """The Discover link of ``app`` (kibana or opensearch) for this match; None when the
    rule does not ask for one, or lacks what it needs (logged: the alert still goes out)."""
    if not enabled(rule, app):
        return None
    missing = [f"{app}_{n}" for n in NEEDED if rule.get(f"{app}_{n}") in (None, "")]
    if missing:
        where = rule.where(f"generate_{app}_discover_url")
        if (where, app) not in _warned:  # once per rule, not once per alert and notifier
            _warned.add((where, app))
            log.warning("%s: generate_%s_discover_url needs %s; the alert carries no Discover link",
                        where, app, " and ".join(missing))
        return None
    pattern_id = str(rule.get(f"{app}_discover_index_pattern_id"))
    columns = list(rule.get(f"{app}_discover_columns") or ["_source"])
    start, end = time_range(rule, match, app)
    global_state = {"filters": [], "refreshInterval": {"pause": True, "value": 0},
                    "time": {"from": iso(start), "to": iso(end)}}
    version = _version(rule, app)
    if app == OPENSEARCH and version >= (2, 10):
        pills = filters(rule, match, pattern_id, nested=False)
        states = [("_a", {"discover": {"columns": columns, "isDirty": False, "sort": []},
                          "metadata": {"indexPattern": pattern_id, "view": "discover"}}),
                  ("_g", global_state),
                  ("_q", {"filters": pills, "query": {"language": "kuery", "query": ""}})]
    else:
        nested = app == KIBANA and version >= (8, 0)
        pills = filters(rule, match, pattern_id, nested=nested)
        states = [("_g", global_state),
                  ("_a", {"columns": columns, "filters": pills, "index": pattern_id, "interval": "auto"})]
    link = _join(_app_url(rule, app), _encode(states))
    tenant = rule.get("kibana_discover_security_tenant") if app == KIBANA else None
    return _with_tenant(link, tenant)


def urls(rule: Rule, match: Match | None) -> dict[str, str]:
    """``{kibana_discover_url: …, opensearch_discover_url: …}``: the links the rule asks
    for, under the names alert text and templates use (none without a match)."""
    if match is None:
        return {}
    out = {}
    for app in APPS:
        link = url(rule, match, app)
        if link:
            out[variable(app)] = link
    return out
