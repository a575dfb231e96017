"""send_resolved end to end: ``logalert run`` as a process, the real engine, PagerDuty and
Alertmanager played by a real HTTP receiver. One namespace bursts and goes quiet (one
trigger, then one resolve with the same dedup key), another keeps bursting (stays firing);
kill -9 between the resolve decision and its delivery still delivers it; a restart while
firing neither resolves nor re-triggers."""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.request

from logalert.timeutil import parse_iso
from tests.integration.helpers import logalert, start_daemon, stop_daemon, wait_log, write_config, write_yaml
from tests.support.efk import bulk_load, efk_doc
from tests.support.receivers import WebhookReceiver, free_port


def burst_rule(folder, prefix: str, url: str) -> None:
    write_yaml(folder / "rules" / "burst.yaml", {
        "name": "Error burst",
        "index": f"{prefix}-*",
        "type": "frequency",
        "num_events": 3,
        "timeframe": {"minutes": 1},
        "query_key": "kubernetes.namespace_name",
        "filter": [{"term": {"level.keyword": "ERROR"}}],
        "realert": {"minutes": 10},
        "resolve_after": {"seconds": 8},
        "alert": ["pagerduty", "alertmanager", "opsgenie"],
        "send_resolved": True,
        "pagerduty_service_key": "pd-key-resolve-01",
        "pagerduty_api_url": f"{url}/pd",
        "alertmanager_hosts": [f"{url}/am"],
        "opsgenie_key": "og-key-resolve-01",
        "opsgenie_addr": f"{url}/og/v2/alerts",
    })


class Stream:
    """ERROR lines for one namespace, one a second, until stopped (the one that keeps firing)."""

    def __init__(self, engine, prefix: str, namespace: str):
        self.engine, self.prefix, self.namespace = engine, prefix, namespace
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            now = dt.datetime.now(dt.timezone.utc)
            bulk_load(self.engine, None, [efk_doc(now, "ERROR", "still failing",
                                                  **{"kubernetes.namespace_name": self.namespace})], prefix=self.prefix)

    def __enter__(self) -> "Stream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


def burst(engine, prefix: str, namespace: str) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    bulk_load(engine, None, [efk_doc(now - dt.timedelta(seconds=i + 1), "ERROR", f"payment failed {i}",
                                     **{"kubernetes.namespace_name": namespace}) for i in range(3)], prefix=prefix)


def pd_events(hook: WebhookReceiver, namespace: str) -> list[tuple[str, str]]:
    return [(r.body["event_action"], r.body["dedup_key"]) for r in hook.delivered
            if r.path.startswith("/pd") and r.body["dedup_key"].endswith("/" + namespace)]


def am_posts(hook: WebhookReceiver, namespace: str) -> list[dict]:
    return [r.body[0] for r in hook.delivered if r.path.startswith("/am")
            and r.body[0]["annotations"]["summary"].endswith(namespace)]


def test_quiet_namespace_resolves_once_busy_one_stays_firing(engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver() as hook, Stream(engine, fresh_index, "busy"):
        port = free_port()
        write_config(tmp_path, engine_url, health_port=port)
        burst_rule(tmp_path, fresh_index, hook.url)
        burst(engine, fresh_index, "shop")
        proc = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda _: any(a == "resolve" for a, _ in pd_events(hook, "shop")), timeout=90)
            time.sleep(3)  # more runs: nothing more for shop
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                metrics = response.read().decode()
            assert 'logalert_alerts_firing{rule="Error burst"} 1' in metrics  # busy only: shop resolved
        finally:
            assert stop_daemon(proc) == 0
        shop = pd_events(hook, "shop")
        assert [a for a, _ in shop] == ["trigger", "resolve"]
        assert shop[0][1] == shop[1][1] == "logalert/Error burst/shop"
        busy = pd_events(hook, "busy")
        assert [a for a, _ in busy] == ["trigger"]  # realert 10 min: one trigger, never resolved
        posts = am_posts(hook, "shop")
        firing, resolved = posts[0], posts[-1]
        assert parse_iso(firing["endsAt"]) > parse_iso(resolved["endsAt"])
        assert parse_iso(resolved["endsAt"]) <= dt.datetime.now(dt.timezone.utc)
        assert firing["labels"] == resolved["labels"]
        assert resolved["startsAt"] == firing["startsAt"]
        og = [(r.path, r.body.get("alias")) for r in hook.delivered if r.path.startswith("/og")]
        shop_alias = "logalert%2FError%20burst%2Fshop"
        assert ("/og/v2/alerts", "logalert/Error burst/shop") in og  # opened with the stable alias
        assert [p for p, _ in og if "/close" in p] == [f"/og/v2/alerts/{shop_alias}/close?identifierType=alias"]
        status = logalert("status", "--config", str(tmp_path / "config.yaml"), cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        firing_lines = [line for line in status.stdout.splitlines() if line.startswith("  Error burst [") and " since " in line]
        assert len(firing_lines) == 1 and firing_lines[0].startswith("  Error burst [busy] since ")
        assert "firing: 1 alert(s)" in status.stdout
        busy_posts = am_posts(hook, "busy")
        assert len(busy_posts) >= 2  # re-posted while firing, as Alertmanager expects
        # Alertmanager tells alerts apart by labels: shop's resolution must not resolve busy
        assert firing["labels"]["kubernetes_namespace_name"] == "shop"
        assert {p["labels"]["kubernetes_namespace_name"] for p in busy_posts} == {"busy"}
        # each re-post of the firing alert ends after it arrived: Alertmanager keeps it firing
        busy_requests = [r for r in hook.delivered if r.path.startswith("/am")
                         and r.body[0]["labels"]["kubernetes_namespace_name"] == "busy"]
        assert all(parse_iso(r.body[0]["endsAt"]).timestamp() > r.at for r in busy_requests)


def test_kill_9_after_the_resolve_is_decided_still_delivers_it(engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver() as hook:
        write_config(tmp_path, engine_url)
        burst_rule(tmp_path, fresh_index, hook.url)
        burst(engine, fresh_index, "shop")
        proc = start_daemon(tmp_path, env={"LOGALERT_FAILPOINTS": "resolve_enqueued"})
        assert proc.wait(90) == -9, "the daemon should have died right after deciding the resolve"
        assert [a for a, _ in pd_events(hook, "shop")] == ["trigger"]
        restarted = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda _: any(a == "resolve" for a, _ in pd_events(hook, "shop")), timeout=60)
            wait_log(tmp_path, "'Error burst': ", count=3)
            time.sleep(2)
        finally:
            assert stop_daemon(restarted) == 0
    assert [a for a, _ in pd_events(hook, "shop")] == ["trigger", "resolve"]


def test_a_restart_while_firing_neither_resolves_nor_retriggers(engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver() as hook, Stream(engine, fresh_index, "busy"):
        write_config(tmp_path, engine_url)
        burst_rule(tmp_path, fresh_index, hook.url)
        proc = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda _: pd_events(hook, "busy"), timeout=60)
        finally:
            assert stop_daemon(proc) == 0
        restarted = start_daemon(tmp_path)
        try:
            wait_log(tmp_path, "'Error burst': ", count=8)
            time.sleep(10)  # longer than resolve_after: the stream keeps it firing
        finally:
            assert stop_daemon(restarted) == 0
    assert [a for a, _ in pd_events(hook, "busy")] == ["trigger"]
