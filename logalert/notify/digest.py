"""``aggregation``: collect matches and send them as one digest when the period ends.

The period is a span (``aggregation: {minutes: 10}``) counted from the first match
(its timestamp with ``aggregate_by_match_time``, else the time it was processed), or a
cron schedule (``aggregation: {schedule: "*/15 * * * *"}``, UTC). ``aggregation_key``
keeps one digest per value. Buckets live in the state store, so a restart neither loses
nor repeats them: a bucket is deleted only after its digest is in the outbox, and a
match re-evaluated after a crash is recognised by its identity.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Mapping, Sequence

from logalert.fields import lookup
from logalert.model import Match
from logalert.notify import render
from logalert.cronspec import Cron
from logalert.rules.model import Rule
from logalert.state.base import Aggregation, StateStore
from logalert.timeutil import iso, to_timedelta


def enabled(rule: Rule) -> bool:
    return bool(rule.get("aggregation"))


def _send_at(rule: Rule, start: dt.datetime) -> dt.datetime:
    spec = rule.get("aggregation")
    if isinstance(spec, Mapping) and "schedule" in spec:
        # cronspec reads day-of-week as crontab does (1 = Monday); APScheduler's own
        # from_crontab counts from Monday = 0 and would send Monday's digest on Tuesday.
        fire = Cron.parse(spec["schedule"]).next_fire(start)
        return fire if fire else start
    return start + to_timedelta(spec)


def agg_fields(rule: Rule) -> list[str]:
    """The aggregation_key fields (one name or a list; none without one)."""
    names = rule.get("aggregation_key")
    if not names:
        return []
    return [names] if isinstance(names, str) else list(names)


def agg_key(rule: Rule, match: Match) -> str:
    """The digest a match belongs to: its aggregation_key values ("" without one)."""
    names = agg_fields(rule)
    if not names:
        return ""
    return ",".join(str(lookup(match.fields, n, "")) for n in names)


def to_record(rule: Rule, match: Match) -> dict[str, Any]:
    return {"id": match.identity(rule.name), **match.record(), "timestamp": iso(match.timestamp)}


def from_record(record: Mapping[str, Any]) -> Match:
    return Match.from_record(record)


def collect(rule: Rule, matches: Sequence[Match], state: StateStore, now: dt.datetime) -> None:
    """Add matches to their open buckets (creating them as needed)."""
    buckets: dict[str, Aggregation] = {}
    for match in matches:
        key = agg_key(rule, match)
        bucket = buckets.get(key) or state.get_aggregation(rule.name, key)
        if bucket is None:
            start = match.timestamp if rule.get("aggregate_by_match_time") else now
            bucket = Aggregation(rule.name, key, start, _send_at(rule, start))
        record = to_record(rule, match)
        if all(r.get("id") != record["id"] for r in bucket.matches):
            bucket.matches.append(record)
        buckets[key] = bucket
    for bucket in buckets.values():
        state.put_aggregation(bucket)


def summary_table(rule: Rule, matches: Sequence[Match]) -> str:
    fields = rule.get("summary_table_fields") or []
    if not fields:
        return ""
    counts = Counter(tuple(str(lookup(m.fields, f, "")) for f in fields) for m in matches)
    header = " | ".join(list(fields) + ["count"])
    lines = [f"Aggregation summary ({len(matches)} matches):", header, "-" * len(header)]
    for values, count in counts.most_common():
        lines.append(" | ".join(list(values) + [str(count)]))
    return "\n".join(lines)


def digest(rule: Rule, bucket: Aggregation, describe: Any) -> tuple[str, str, list[Match]]:
    """Subject and body of the digest alert for a due bucket."""
    matches = sorted((from_record(r) for r in bucket.matches), key=lambda m: m.timestamp)
    table = render.summary(rule, summary_table(rule, matches))  # with summary_prefix/suffix
    if rule.get("alert_text_type") == "aggregation_summary_only":
        body = table or f"{len(matches)} matches"
    else:
        parts = [table] if table else []
        parts += [render.body(rule, m, describe(m)) for m in matches]
        body = "\n----------------------------------------\n".join(p.rstrip("\n") for p in parts) + "\n"
    return render.subject(rule, matches[0]), body, matches
