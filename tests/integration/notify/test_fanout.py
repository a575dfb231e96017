"""One rule fanning out to six notifiers, ``logalert run`` as a real process against the
real engine: every receiver gets exactly one request per alert, each in its service's
shape, and a receiver that keeps failing never blocks the others."""

from __future__ import annotations

import collections
import datetime as dt
import time

from tests.integration.helpers import start_daemon, stop_daemon, wait_log, write_config, write_yaml
from tests.support.efk import bulk_load, efk_doc
from tests.support.receivers import Behaviour, WebhookReceiver

SERVICES = ("post2", "alertmanager", "pagerduty", "opsgenie", "ms_teams", "apprise")


def fanout_rule(folder, prefix: str, url: str) -> None:
    write_yaml(folder / "rules" / "fanout.yaml", {
        "name": "Payment errors",
        "index": f"{prefix}-*",
        "type": "any",
        "filter": [{"query": {"query_string": {"query": "level:ERROR"}}}],
        "realert": {"minutes": 0},
        "alert_subject": "ERROR: {0}",
        "alert_subject_args": ["message"],
        "alert": list(SERVICES),
        "http_post2_url": f"{url}/post2",
        "http_post2_payload": {"text": "{{ message }}", "pod": "{{ kubernetes.pod_name }}"},
        "alertmanager_hosts": [f"{url}/am"],
        "pagerduty_service_key": "pd-routing-key-0001",
        "pagerduty_api_url": f"{url}/pd",
        "opsgenie_key": "og-api-key-0001",
        "opsgenie_addr": f"{url}/og/v2/alerts",
        "ms_teams_webhook_url": f"{url}/teams/webhookb2/secret-0001",
        "apprise_urls": [f"json://127.0.0.1:{url.rsplit(':', 1)[1]}/apprise"],
    })


def per_service(requests) -> dict[str, list]:
    out = collections.defaultdict(list)
    for r in requests:
        out[r.path.split("/")[1].split("?")[0]].append(r)
    return out


def test_every_notifier_gets_exactly_one_request_per_alert(engine, engine_url, fresh_index, tmp_path):
    messages = ["card declined for order 1", "card declined for order 2"]
    with WebhookReceiver() as hook:
        write_config(tmp_path, engine_url)
        fanout_rule(tmp_path, fresh_index, hook.url)
        now = dt.datetime.now(dt.timezone.utc)
        bulk_load(engine, None, [efk_doc(now - dt.timedelta(seconds=5 + i), "ERROR", m) for i, m in enumerate(messages)],
                  prefix=fresh_index)
        proc = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda got: len(got) >= 2 * len(SERVICES), timeout=90)
            wait_log(tmp_path, "'Payment errors': 2 hits, 0 matches", timeout=60)  # later runs: nothing new
            time.sleep(2)
        finally:
            assert stop_daemon(proc) == 0
        log = (tmp_path / "daemon.log").read_text()
    got = per_service(hook.requests)
    assert {name: len(got[path]) for name, path in zip(SERVICES, ("post2", "am", "pd", "og", "teams", "apprise"))} == \
        {name: 2 for name in SERVICES}
    assert sorted(r.body["text"] for r in got["post2"]) == sorted(messages)
    assert all(r.path == "/am/api/v2/alerts" and r.body[0]["labels"]["alertname"] == "Payment errors" for r in got["am"])
    assert {r.body["routing_key"] for r in got["pd"]} == {"pd-routing-key-0001"}
    assert sorted(r.body["payload"]["summary"] for r in got["pd"]) == sorted(f"ERROR: {m}" for m in messages)
    assert {r.header("Authorization") for r in got["og"]} == {"GenieKey og-api-key-0001"}
    assert all(r.body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive" for r in got["teams"])
    assert sorted(r.body["title"] for r in got["apprise"]) == sorted(f"ERROR: {m}" for m in messages)
    for secret in ("pd-routing-key-0001", "og-api-key-0001", "secret-0001"):
        assert secret not in log


def test_a_failing_notifier_never_blocks_the_others(engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver(respond=lambda r: Behaviour(503) if r.path.startswith("/pd") else Behaviour(200)) as hook:
        write_config(tmp_path, engine_url)
        fanout_rule(tmp_path, fresh_index, hook.url)
        now = dt.datetime.now(dt.timezone.utc)
        bulk_load(engine, None, [efk_doc(now - dt.timedelta(seconds=5), "ERROR", "gateway down")], prefix=fresh_index)
        proc = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda got: len(got) >= len(SERVICES) - 1, timeout=90)
            wait_log(tmp_path, "not delivered via pagerduty", timeout=60)
        finally:
            assert stop_daemon(proc) == 0
    delivered = per_service(hook.delivered)
    assert {path: len(delivered[path]) for path in ("post2", "am", "og", "teams", "apprise")} == \
        {path: 1 for path in ("post2", "am", "og", "teams", "apprise")}
    assert len(per_service(hook.requests)["pd"]) >= 3  # retried, and still pending for later runs
