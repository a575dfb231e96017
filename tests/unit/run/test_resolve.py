"""send_resolved: firing per key, resolution after resolve_after in event time, crash-safe
through the outbox, silences, and rules without send_resolved untouched (no engine: the
runner's answers are handed to it)."""

from __future__ import annotations

import datetime as dt

from logalert.engine import Hit, SearchResult
from logalert.model import Window
from logalert.notify.alerters.base import Alerter
from logalert.run import resolve
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState
from logalert.state.base import Silence

from ..conftest import at

T0 = at(2024, 5, 1, 12, 0)

RULE = """
name: burst
type: any
index: logstash-*
query_key: ns
realert: {minutes: 30}
alert:
  - stdout
  - stdout: {send_resolved: true}
resolve_after: {minutes: 5}
"""


class Recorder(Alerter):
    name = "rec"

    def __init__(self, rule, options, log, name="rec", renews=False):
        super().__init__(rule, options)
        self.name, self.log, self.renews = name, log, renews

    def send(self, alert):
        self.log.append((self.name, alert.status, alert.subject, alert.matches[0].key if alert.matches else ()))


class StubPool:
    def get(self, key, options):
        return object()


def docs(*pairs):
    """(minute, ns) -> hits at T0 + minute."""
    return SearchResult(hits=tuple(
        Hit("logstash-x", f"d{m}-{ns}", {"@timestamp": (T0 + dt.timedelta(minutes=m)).isoformat(), "ns": ns})
        for m, ns in pairs), total=len(pairs))


def window(start_min, end_min):
    return Window(T0 + dt.timedelta(minutes=start_min), T0 + dt.timedelta(minutes=end_min))


def runner_for(make_rule, state, log, text=RULE, renews=False):
    rule = make_rule(text)
    alerters = [Recorder(rule, t.options, log, name=f"n{i}", renews=renews) for i, t in enumerate(rule.alerts)]
    return RuleRunner(rule, StubPool(), state, alerters=alerters, clock=lambda: T0 + dt.timedelta(hours=1))


def run(runner, w, answer):
    plan = runner.plan(w)
    plan.answers = [answer for _ in plan.requests]
    return runner.finish(plan)


def test_one_trigger_then_one_resolve_to_the_notifiers_that_want_it(make_rule):
    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log)
    run(runner, window(0, 1), docs((0, "shop"), (0, "pay")))
    assert sorted(log) == [("n0", "firing", "logalert: burst - pay", ("pay",)), ("n0", "firing", "logalert: burst - shop", ("shop",)),
                           ("n1", "firing", "logalert: burst - pay", ("pay",)), ("n1", "firing", "logalert: burst - shop", ("shop",))]
    log.clear()
    for minute in range(1, 4):  # pay keeps bursting, shop is quiet
        run(runner, window(minute, minute + 1), docs((minute, "pay")))
    assert log == []  # realert silences pay's repeats; nothing resolved yet (4 min < 5 min)
    run(runner, window(4, 5), docs((4, "pay")))  # 5 min after shop's last match
    assert log == [("n1", "resolved", "[RESOLVED] logalert: burst - shop", ("shop",))]
    status = state.load_status("burst")
    assert set(status.firing) == {"pay"}
    assert status.firing["pay"]["since"].startswith("2024-05-01T12:00:00")


def test_the_resolved_alert_is_the_same_after_a_crash_before_the_status_was_saved(make_rule):
    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log)
    run(runner, window(0, 1), docs((0, "shop")))
    before = state.load_status("burst")
    run(runner, window(6, 7), docs())
    assert [entry[1] for entry in log] == ["firing", "firing", "resolved"]
    # As if the process died after enqueueing the resolution, before saving the status:
    state.save_status(before)
    again = runner_for(make_rule, state, log)
    run(again, window(6, 7), docs())
    assert [entry[1] for entry in log] == ["firing", "firing", "resolved"]  # not sent twice
    resolved = [e for e in state.outbox("burst") if e.alert_status == "resolved"]
    assert len(resolved) == 1 and resolved[0].status == "sent"


def test_a_resolution_left_pending_is_retried_as_a_resolution(make_rule):
    from logalert.notify.delivery import retry_pending

    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log)
    run(runner, window(0, 1), docs((0, "shop")))
    failing = runner.alerters[1]
    failing.send = lambda alert: (_ for _ in ()).throw(__import__("logalert.errors").errors.DeliveryError("503"))
    run(runner, window(6, 7), docs())
    (pending,) = state.pending_outbox("burst")
    assert pending.alert_status == "resolved" and pending.since == T0
    seen = []
    fresh = Recorder(runner.rule, runner.rule.alerts[1].options, seen, name="n1")
    retry_pending("burst", {"n1": fresh}, state, time_limit=dt.timedelta(days=1), now=T0 + dt.timedelta(hours=1),
                  rule=runner.rule)
    assert seen == [("n1", "resolved", "[RESOLVED] logalert: burst - shop", ("shop",))]


def test_a_new_burst_after_the_resolution_fires_again_despite_realert(make_rule):
    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log)
    run(runner, window(0, 1), docs((0, "shop")))
    run(runner, window(6, 7), docs())
    run(runner, window(7, 8), docs((7, "shop")))  # within the 30 min realert of the first alert
    assert [(e[0], e[1]) for e in log] == [("n0", "firing"), ("n1", "firing"), ("n1", "resolved"),
                                           ("n0", "firing"), ("n1", "firing")]


def test_a_manually_silenced_key_resolves_without_a_notification(make_rule):
    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log)
    run(runner, window(0, 1), docs((0, "shop")))
    state.put_silence(Silence("burst", "shop", T0 + dt.timedelta(hours=2), reason="maintenance"))
    run(runner, window(6, 7), docs())
    assert [e[1] for e in log] == ["firing", "firing"]
    assert state.load_status("burst").firing == {}


def test_rules_without_send_resolved_keep_no_firing_state(make_rule):
    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log, RULE.replace("  - stdout: {send_resolved: true}\n", ""))
    run(runner, window(0, 1), docs((0, "shop")))
    run(runner, window(6, 7), docs())
    assert [e[1] for e in log] == ["firing"]
    assert state.load_status("burst").firing == {}


def test_renewing_notifiers_hear_each_run_while_it_fires(make_rule):
    state, log = MemoryState(), []
    runner = runner_for(make_rule, state, log, renews=True)
    run(runner, window(0, 1), docs((0, "pay")))
    run(runner, window(1, 2), docs((1, "pay")))  # suppressed by realert, renewed for n1 only
    assert [(e[0], e[1]) for e in log] == [("n0", "firing"), ("n1", "firing"), ("n1", "firing")]


def test_resolve_after_defaults_to_the_timeframe_else_two_runs(make_rule):
    base = "name: r\ntype: any\nindex: x\nalert: stdout\nrun_every: {minutes: 2}\n"
    assert make_rule(base).resolve_after == dt.timedelta(minutes=4)
    freq = "name: f\ntype: frequency\nindex: x\nnum_events: 3\ntimeframe: {minutes: 10}\nalert: stdout\n"
    assert make_rule(freq).resolve_after == dt.timedelta(minutes=10)
    assert make_rule(base + "resolve_after: {minutes: 7}\n").resolve_after == dt.timedelta(minutes=7)


def test_aggregated_rules_fire_and_resolve_per_digest_key(make_rule):
    from logalert.run.resolve import key_of, track

    rule = make_rule(RULE + "aggregation: {minutes: 2}\naggregation_key: team\nquery_key: [ns, pod]\n")
    from logalert.model import Match
    from logalert.state.base import RuleStatus

    status = RuleStatus("burst")
    first = Match(T0, {"team": "payments", "ns": "shop", "pod": "a"}, key=("shop", "a"))
    other = Match(T0 + dt.timedelta(minutes=3), {"team": "payments", "ns": "shop", "pod": "b"}, key=("shop", "b"))
    assert key_of(rule, first) == key_of(rule, other) == "payments"
    assert track(rule, status, [first], window(0, 1)) == ([], ["payments"])
    resolved, renewed = track(rule, status, [other], window(3, 4))  # another pod of the same team: still firing
    assert (resolved, renewed) == ([], ["payments"])
    resolved, _ = track(rule, status, [], window(8, 9))
    assert [(r.key, r.since, r.last) for r in resolved] == [("payments", T0, T0 + dt.timedelta(minutes=3))]


def test_a_backfill_resolves_and_fires_again_as_the_live_daemon_does(make_rule):
    """``run --once --start/--end`` runs a send_resolved rule over the live daemon's windows,
    so a burst, a quiet stretch longer than resolve_after and a second burst give the same
    trigger, resolve, trigger as live runs do (one window over the whole range would see
    one long firing alert)."""
    from logalert.run.window import backfill_windows

    minutes = [(0, "shop"), (1, "shop"), (8, "shop"), (9, "shop")]

    def replay(windows):
        state, log = MemoryState(), []
        runner = runner_for(make_rule, state, log)
        for w in windows:
            inside = [(m, ns) for m, ns in minutes if w.start <= T0 + dt.timedelta(minutes=m) < w.end]
            run(runner, w, docs(*inside))
        return [(name, status) for name, status, *_ in log], state

    live, _ = replay([window(m, m + 1) for m in range(12)])
    backfill, state = replay(backfill_windows(T0, T0 + dt.timedelta(minutes=12), run_every=dt.timedelta(minutes=1),
                                              buffer_time=dt.timedelta(minutes=3)))
    assert live == backfill == [("n0", "firing"), ("n1", "firing"), ("n1", "resolved"),
                                ("n0", "firing"), ("n1", "firing")]
    resolved = [e for e in state.outbox("burst") if e.alert_status == "resolved"]
    assert [(e.since, e.until) for e in resolved] == [(T0, T0 + dt.timedelta(minutes=1))]
    whole, _ = replay([window(0, 12)])
    assert whole == [("n0", "firing"), ("n1", "firing")]  # what a single window would have sent
