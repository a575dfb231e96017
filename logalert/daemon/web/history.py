"""The state endpoints: status, alert history (the outbox), the run error log, silences.

They read the writeback index (the daemon's own store in ``logalert run``, so a silence
set here applies at once; in ``logalert web`` the daemon sees it within 30 s, as it
sees ``logalert silence``). An engine that is down answers 503 with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from logalert.daemon.web.rulelist import active, silence_view, status_view
from logalert.daemon.web.wire import HTTPError, Request, Response
from logalert.errors import EngineError
from logalert.state.base import OutboxEntry, Silence, StateStore
from logalert.state.records import decode_entry
from logalert.timeutil import iso, now, parse_cli_time, parse_short_span

if TYPE_CHECKING:
    from logalert.daemon.web.console import Console

MAX_SILENCE = dt.timedelta(days=365)
STATUSES = ("pending", "sent", "failed")


def _size(req: Request, default: int, most: int) -> int:
    try:
        return max(1, min(most, int(req.query.get("size", default))))
    except ValueError:
        raise HTTPError(400, "size: a number") from None


def status(console: Console, req: Request) -> Response:
    """The daemon (or console-only mode), every rule's last run, active silences and the
    outbox's pending and failed counts."""
    daemon = console.daemon
    out: dict[str, Any] = {"mode": console.mode, "started": iso(console.started),
                           "rules_folder": console.folder.folder, "read_only": console.folder.read_only(),
                           "daemon": None if daemon is None else {"running": daemon.running,
                                                                  "scheduled": sorted(daemon.runners)}}
    try:
        out["rules"] = [dict(status_view(s) or {}, rule=s.rule)
                        for s in sorted(console.state.all_status(), key=lambda s: s.rule)]
        out["silences"] = [silence_view(s) for s in active(console.state.list_silences())]
        pending = console.state.pending_outbox()
        out["pending_alerts"] = len(pending)
        out["failed_alerts"] = len(recent_outbox(console.state, status="failed", size=1000))
    except EngineError as exc:
        out["state_error"] = f"writeback index unavailable: {exc}"
    return Response.json(out)


def recent_outbox(state: StateStore, *, rule: str | None = None, status: str | None = None,
                  size: int = 200) -> list[OutboxEntry]:
    """Outbox records, newest first: from the writeback index sorted by the engine (never
    the whole outbox into memory), or from any other store sorted here."""
    backend_of = getattr(state, "backend", None)
    index = getattr(state, "index", None)
    if backend_of is None or not isinstance(index, str):
        found = [e for e in state.outbox(rule, size=100_000) if status is None or e.status == status]
        return sorted(found, key=lambda e: e.created, reverse=True)[:size]
    filters: list[dict[str, Any]] = [{"term": {"kind": "alert"}}]
    if rule:
        filters.append({"term": {"rule": rule}})
    if status:
        filters.append({"term": {"status": status}})
    backend = backend_of()
    backend.refresh(index)
    body = {"query": {"bool": {"filter": filters}}, "size": size,
            "sort": [{"created": {"order": "desc", "unmapped_type": "date"}}],
            "_source": {"excludes": ["items.matches"]}}
    out = []
    for hit in backend.search(index, body).hits:
        try:
            out.append(decode_entry(hit.source))
        except (KeyError, TypeError, ValueError):
            continue  # a damaged record; the store logs those when it reads them
    return out


def alerts(console: Console, req: Request) -> Response:
    """``?rule=&status=pending|sent|failed&size=``: one record per alert and notifier."""
    wanted = req.query.get("status") or None
    if wanted and wanted not in STATUSES:
        raise HTTPError(400, f"status: one of {', '.join(STATUSES)}")
    entries = recent_outbox(console.state, rule=req.query.get("rule") or None, status=wanted,
                            size=_size(req, 200, 1000))
    return Response.json({"alerts": [{
        "id": e.id, "alert_id": e.alert_id, "rule": e.rule, "notifier": e.alerter, "status": e.status,
        "alert_status": e.alert_status, "subject": e.subject, "body": e.body, "created": iso(e.created),
        "sent_at": iso(e.sent_at) if e.sent_at else None, "attempts": e.attempts, "last_error": e.last_error,
    } for e in entries]})


def errors(console: Console, req: Request) -> Response:
    """``?rule=&size=``: the run error log, newest first."""
    found = console.state.errors(req.query.get("rule") or None, size=_size(req, 200, 1000))
    return Response.json({"errors": [{"rule": e.rule, "message": e.message, "created": iso(e.created)}
                                     for e in found]})


def list_silences(console: Console, req: Request) -> Response:
    return Response.json({"silences": [silence_view(s) for s in active(console.state.list_silences())]})


def _until(body: dict[str, Any]) -> dt.datetime:
    if body.get("until"):
        try:
            until = parse_cli_time(str(body["until"]))
        except ValueError:
            raise HTTPError(400, "until: ISO 8601 such as 2026-01-31T12:00:00Z") from None
    else:
        span = parse_short_span(str(body.get("duration") or ""))
        if span is None:
            raise HTTPError(400, "duration: such as 5m, 1h, 1d (or until: an ISO 8601 time)")
        until = now() + span
    if until <= now():
        raise HTTPError(400, "the silence would end in the past")
    if until - now() > MAX_SILENCE:
        raise HTTPError(400, "a silence lasts at most a year; disable the rule instead")
    return until


def add_silence(console: Console, req: Request) -> Response:
    """``{"rule", "key"?, "duration": "1h" | "until": ISO, "reason"?}``; no alert from the
    rule (or its query_key value ``key``) until then."""
    from logalert.run.realert import ALL_KEYS

    body = req.json()
    rule = body.get("rule")
    names = {e.rule.name for e in console.index.entries() if e.rule is not None}
    if not isinstance(rule, str) or rule not in names:
        raise HTTPError(400, f"rule: no rule named {rule!r} in rules_folder")
    key = body.get("key") or ALL_KEYS
    if not isinstance(key, str):
        raise HTTPError(400, "key: the query_key value (compound keys comma-joined)")
    reason = str(body.get("reason") or "").strip()[:200]
    silence = Silence(rule, key, _until(body), 0, f"manual: {reason}" if reason else "manual")
    console.state.put_silence(silence)
    return Response.json(silence_view(silence), 201)


def remove_silence(console: Console, req: Request) -> Response:
    """``?rule=NAME[&key=VALUE]``: lift the rule's silences (or one key's)."""
    rule = req.query.get("rule")
    if not rule:
        raise HTTPError(400, "rule: which rule's silences to lift (?rule=NAME[&key=VALUE])")
    removed = console.state.remove_silence(rule, req.query.get("key") or None)
    return Response.json({"removed": removed})
