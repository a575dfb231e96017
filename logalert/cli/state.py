"""``init``, ``status`` and ``silence``: the writeback index from the shell."""

from __future__ import annotations

import argparse
import json
from typing import Any

from logalert.cli.common import EXIT_OK, UsageError, close_names, config, duration, out, writeback
from logalert.config import Config
from logalert.errors import short_reason
from logalert.rules import load_folder
from logalert.timeutil import iso, now, parse_iso


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
    cfg, state = _state(args)
    statuses = sorted(state.all_status(), key=lambda s: s.rule)
    silences = state.list_silences()
    pending = state.pending_outbox()
    failed = [e for e in state.outbox() if e.status == "failed"]
    leases, replicas = {x.rule: x for x in state.leases()}, _replicas(state, cfg)
    if args.format == "json":
        out(json.dumps({
            "rules": [{"rule": s.rule, "last_run": iso(s.last_run) if s.last_run else None,
                       "window_end": iso(s.last_end) if s.last_end else None, "hits": s.hits,
                       "matches": s.matches, "alerts": s.alerts, "duration": round(s.duration, 3),
                       "error": s.error,
                       "firing": [{"key": k, "since": v.get("since"), "last_match": v.get("last")}
                                  for k, v in sorted(s.firing.items())], **_lease_fields(leases.get(s.rule))}
                      for s in statuses],
            "replicas": replicas,
            "silences": [{"rule": x.rule, "key": x.key, "until": iso(x.until), "reason": x.reason} for x in silences],
            "pending_alerts": len(pending), "failed_alerts": len(failed)}, indent=2))
        return EXIT_OK
    out(f"{'RULE':32} {'LAST RUN':24} {'WINDOW END':24} {'HITS':>6} {'MATCHES':>7} {'ALERTS':>6}  ERROR")
    for s in statuses:
        out(f"{s.rule[:32]:32} {iso(s.last_run) if s.last_run else '-':24} {iso(s.last_end) if s.last_end else '-':24} "
            f"{s.hits:>6} {s.matches:>7} {s.alerts:>6}  {short_reason(s.error or '', limit=80)}")
    _print_leases(leases, replicas)
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
        out(f"  FAILED {e.rule} via {e.alerter}: {e.subject} ({short_reason(e.last_error or '', limit=200)})")
    return EXIT_OK


def _replicas(state: Any, cfg: Config) -> list[dict[str, Any]]:
    """Every replica's last heartbeat; live: seen within lease_duration (by this machine's clock)."""
    limit = cfg.span("lease_duration").total_seconds()
    owned: dict[str, int] = {}
    for lease in state.leases():
        if lease.owner:
            owned[lease.owner] = owned.get(lease.owner, 0) + 1
    return [{"id": r.id, "host": r.host, "pid": r.pid, "started": iso(r.started) if r.started else None,
             "last_beat": iso(r.at), "live": (now() - r.at).total_seconds() < limit, "rules": owned.get(r.id, 0)}
            for r in sorted(state.replicas().values(), key=lambda r: r.id)]


def _lease_fields(lease: Any) -> dict[str, Any]:
    return {"owner": lease.owner if lease else None,
            "lease_expires": iso(lease.expires) if lease and lease.owner and lease.expires else None}


def _print_leases(leases: dict[str, Any], replicas: list[dict[str, Any]]) -> None:
    live = [r for r in replicas if r["live"]]
    out(f"\nreplicas: {len(live)} live")
    for r in replicas:
        seen = (now() - parse_iso(r["last_beat"])).total_seconds()
        out(f"  {r['id']:40} {'live' if r['live'] else 'GONE':4}  {r['rules']:>4} rule(s)  "
            f"last beat {seen:.0f}s ago, up since {r['started'] or '-'}")
    if leases:
        out(f"{'  RULE':34} {'OWNER':40} LEASE EXPIRES")
        for rule, lease in sorted(leases.items()):
            fields = _lease_fields(lease)
            out(f"  {rule[:32]:32} {fields['owner'] or '(released)':40} {fields['lease_expires'] or '-'}")


def cmd_silence(args: argparse.Namespace) -> int:
    from logalert.run.realert import ALL_KEYS
    from logalert.state.base import Silence

    if not args.rule and not args.list:
        raise UsageError("silence: give a RULE name (or --list)")
    span = duration(args.duration) if not (args.list or args.remove) else None
    cfg, state = _state(args)
    if args.list:
        active = [x for x in state.list_silences() if x.until > now()]
        for x in sorted(active, key=lambda x: (x.rule, x.key)):
            out(f"{x.rule} [{x.key or '*'}] until {iso(x.until)} ({x.reason})")
        if not active:
            out("no active silences")
        return EXIT_OK
    if args.remove:
        removed = state.remove_silence(args.rule, args.query_key)
        if not removed:
            _known_rule(args.rule, cfg, state, "nothing was removed")
        out(f"removed {removed} silence(s) of {args.rule!r}")
        return EXIT_OK
    assert span is not None
    _known_rule(args.rule, cfg, state, "nothing was silenced")
    until = now() + span
    state.put_silence(Silence(args.rule, args.query_key or ALL_KEYS, until, 0, "manual"))
    out(f"silenced {args.rule!r}{f' [{args.query_key}]' if args.query_key else ''} until {iso(until)}")
    return EXIT_OK


def _known_rule(name: str, cfg: Config, state: Any, outcome: str) -> None:
    """A silence is kept by rule name, so a misspelt name would silence nothing: the name
    must be a rule in rules_folder or one the writeback index has a status of (a rule
    whose file is invalid now still runs its last good version)."""
    names = {s.rule for s in state.all_status()}
    names |= {rule.name for rule in load_folder([cfg.rules_folder], cfg).rules}
    if name in names:
        return
    close = close_names(name, sorted(names))
    where = f"in {cfg.rules_folder} or the writeback index"
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    elif names:
        shown = sorted(names)
        hint = "known: " + ", ".join(repr(n) for n in shown[:10]) + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")
    else:
        hint = "no rules found there (--config?)"
    raise UsageError(f"silence: no rule named {name!r} {where}; {hint}; {outcome}")


def add_parsers(sub: Any) -> None:
    config_help = "global config file (default: ./config.yaml when present)"
    init = sub.add_parser(
        "init", help="create the writeback index with its mappings",
        description="Create the writeback index (config.yaml's writeback_index) with logalert's mappings, "
                    "or check that an existing one has them. The daemon does this itself at start; run it "
                    "where the daemon's credentials may not create indices.")
    init.add_argument("--config", help=config_help)
    init.set_defaults(func=cmd_init)

    st = sub.add_parser(
        "status", help="each rule's last run, window end, counts, errors, owner and lease; replicas; silences",
        description="Read the writeback index and print each rule's last run, window end, hits, matches, "
                    "alerts and last error, its owner and lease expiry, the live replicas, the alerts "
                    "firing per rule and key (send_resolved), active silences and pending/failed alerts.")
    st.add_argument("--config", help=config_help)
    st.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")
    st.set_defaults(func=cmd_status)

    si = sub.add_parser(
        "silence", help="silence a rule (or one query_key value) for a while",
        description="Silence a rule's alerts (all of them, or one --query-key value) for --duration, in "
                    "the writeback index the daemon reads: matches are still evaluated and recorded, "
                    "nothing is sent. --list shows active silences, --remove ends one early. The rule "
                    "must be one the rules folder defines.")
    si.add_argument("rule", nargs="?", help="rule name (as in its name: option; must be a known rule)")
    si.add_argument("--duration", default="1h", help="e.g. 30m, 2h, 1d (default 1h)")
    si.add_argument("--query-key", help="only this query_key value (compound keys: comma-joined)")
    si.add_argument("--list", action="store_true", help="list active silences")
    si.add_argument("--remove", action="store_true", help="remove the rule's silences (or one --query-key)")
    si.add_argument("--config", help=config_help)
    si.set_defaults(func=cmd_silence)
