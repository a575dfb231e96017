"""``init``, ``status`` and ``silence``: the writeback index from the shell."""

from __future__ import annotations

import argparse
import json
from typing import Any

from logalert.cli.common import EXIT_OK, UsageError, config, duration, out, writeback
from logalert.config import Config
from logalert.timeutil import iso, now


def _state(args: argparse.Namespace) -> tuple[Config, Any]:
    from logalert.engine import Pool

    cfg = config(args.config)
    return cfg, writeback(cfg, Pool())


def cmd_init(args: argparse.Namespace) -> int:
    cfg, state = _state(args)
    created = state.ensure_index()
    out(f"writeback index {cfg['writeback_index']!r} {'created' if created else 'already exists with the right mappings'}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    _, state = _state(args)
    statuses = sorted(state.all_status(), key=lambda s: s.rule)
    silences = state.list_silences()
    pending = state.pending_outbox()
    failed = [e for e in state.outbox() if e.status == "failed"]
    if args.format == "json":
        out(json.dumps({
            "rules": [{"rule": s.rule, "last_run": iso(s.last_run) if s.last_run else None,
                       "window_end": iso(s.last_end) if s.last_end else None, "hits": s.hits,
                       "matches": s.matches, "alerts": s.alerts, "duration": round(s.duration, 3),
                       "error": s.error,
                       "firing": [{"key": k, "since": v.get("since"), "last_match": v.get("last")}
                                  for k, v in sorted(s.firing.items())]} for s in statuses],
            "silences": [{"rule": x.rule, "key": x.key, "until": iso(x.until), "reason": x.reason} for x in silences],
            "pending_alerts": len(pending), "failed_alerts": len(failed)}, indent=2))
        return EXIT_OK
    out(f"{'RULE':32} {'LAST RUN':24} {'WINDOW END':24} {'HITS':>6} {'MATCHES':>7} {'ALERTS':>6}  ERROR")
    for s in statuses:
        out(f"{s.rule[:32]:32} {iso(s.last_run) if s.last_run else '-':24} {iso(s.last_end) if s.last_end else '-':24} "
            f"{s.hits:>6} {s.matches:>7} {s.alerts:>6}  {(s.error or '')[:80]}")
    firing = [(s.rule, key, entry) for s in statuses for key, entry in sorted(s.firing.items())]
    out(f"\nfiring: {len(firing)} alert(s) (rules with send_resolved)")
    for rule, key, entry in firing:
        out(f"  {rule} [{key or '*'}] since {entry.get('since')}, last match {entry.get('last')}")
    current = [x for x in silences if x.until > now()]
    out(f"\nsilences: {len(current)} active")
    for x in current:
        out(f"  {x.rule} [{x.key or '*'}] until {iso(x.until)} ({x.reason})")
    out(f"alerts: {len(pending)} pending, {len(failed)} failed")
    for e in failed[-10:]:
        out(f"  FAILED {e.rule} via {e.alerter}: {e.subject} ({e.last_error})")
    return EXIT_OK


def cmd_silence(args: argparse.Namespace) -> int:
    from logalert.run.realert import ALL_KEYS
    from logalert.state.base import Silence

    if not args.rule and not args.list:
        raise UsageError("silence: give a RULE name (or --list)")
    span = duration(args.duration) if not (args.list or args.remove) else None
    _, state = _state(args)
    if args.list:
        active = [x for x in state.list_silences() if x.until > now()]
        for x in sorted(active, key=lambda x: (x.rule, x.key)):
            out(f"{x.rule} [{x.key or '*'}] until {iso(x.until)} ({x.reason})")
        if not active:
            out("no active silences")
        return EXIT_OK
    if args.remove:
        removed = state.remove_silence(args.rule, args.query_key)
        out(f"removed {removed} silence(s) of {args.rule!r}")
        return EXIT_OK
    assert span is not None
    until = now() + span
    state.put_silence(Silence(args.rule, args.query_key or ALL_KEYS, until, 0, "manual"))
    out(f"silenced {args.rule!r}{f' [{args.query_key}]' if args.query_key else ''} until {iso(until)}")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    init = sub.add_parser("init", help="create the writeback index with its mappings")
    init.add_argument("--config")
    init.set_defaults(func=cmd_init)

    st = sub.add_parser("status", help="each rule's last run, window end, counts, errors; silences")
    st.add_argument("--config")
    st.add_argument("--format", choices=["text", "json"], default="text")
    st.set_defaults(func=cmd_status)

    si = sub.add_parser("silence", help="silence a rule (or one query_key value) for a while")
    si.add_argument("rule", nargs="?", help="rule name")
    si.add_argument("--duration", default="1h", help="e.g. 30m, 2h, 1d (default 1h)")
    si.add_argument("--query-key", help="only this query_key value (compound keys: comma-joined)")
    si.add_argument("--list", action="store_true", help="list active silences")
    si.add_argument("--remove", action="store_true", help="remove the rule's silences (or one --query-key)")
    si.add_argument("--config")
    si.set_defaults(func=cmd_silence)
