"""The console's API against a real ``logalert run`` process, the real engine and real
files: auth, save -> hot reload -> the rule runs, 422 with the line, path escapes,
concurrent saves, read-only folders, secrets, Test, silences, history."""

from __future__ import annotations

import http.client
import os
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest

from tests.integration.helpers import stop_daemon, wait_log
from tests.integration.web.conftest import TOKEN, free_port, rule_text, start_console

# A notifier option the rule does not use (alert: stdout), on a closed loopback port: never sent anywhere.
WEBHOOK = "http://127.0.0.1:9/services/T000/B000/WEBSECRETWEBSECRET"


def raw_get(console, path: str, token: str = TOKEN) -> tuple[int, str]:
    """GET with the path exactly as written: no client normalises '..' or '%2e%2e' away."""
    parts = urlsplit(console.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


# --- auth ------------------------------------------------------------------------------
def test_every_api_call_and_page_needs_the_token(console):
    for method, path in [("GET", "api/rules"), ("GET", "api/status"), ("GET", "api/rules/errors.yaml"),
                         ("PUT", "api/rules/errors.yaml"), ("POST", "api/test"), ("GET", "api/alerts"),
                         ("GET", "api/silences"), ("DELETE", "api/rules/errors.yaml")]:
        for token in (None, "wrong-" + TOKEN, TOKEN[:-1]):
            answer = console.api(method, path, token=token, data="x")
            assert answer.status_code == 401, (method, path, token)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert console.api("GET", "api/rules").status_code == 200
    page = console.api("GET", "rules/errors.yaml", token=None, allow_redirects=False)
    assert page.status_code == 303 and page.headers["Location"].startswith("/login?next=/rules/errors.yaml")
    assert (console.rules / "errors.yaml").read_text().startswith("# Errors")  # the DELETEs did nothing


def test_cookie_login_and_csrf_protection_on_writes(console):
    import requests

    wrong = requests.post(console.url + "login", data={"token": "nope"}, allow_redirects=False, timeout=30)
    assert wrong.status_code == 401 and "logalert_session" not in wrong.headers.get("Set-Cookie", "")
    session, csrf = console.browser_login()
    cookie = session.cookies.get("logalert_session")
    assert cookie
    login = requests.post(console.url + "login", data={"token": TOKEN}, allow_redirects=False, timeout=30)
    assert "HttpOnly" in login.headers["Set-Cookie"] and "SameSite=Strict" in login.headers["Set-Cookie"]
    assert session.get(console.url + "api/rules", timeout=30).status_code == 200  # reads: the cookie is enough
    before = (console.rules / "errors.yaml").read_text()
    changed = before.replace("minutes: 0", "minutes: 1")
    # A write with the cookie but without the CSRF token (what a forged cross-site form sends) is refused.
    refused = session.put(console.url + "api/rules/errors.yaml", data=changed, timeout=30)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    forged = session.put(console.url + "api/rules/errors.yaml", data=changed, timeout=30,
                         headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert forged.status_code == 403
    assert (console.rules / "errors.yaml").read_text() == before
    ok = session.put(console.url + "api/rules/errors.yaml", data=changed, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert (console.rules / "errors.yaml").read_text() == changed
    # Signing out ends the session: the same cookie no longer works.
    session.post(console.url + "logout", data={"csrf": csrf}, allow_redirects=False, timeout=30)
    assert requests.get(console.url + "api/rules", cookies={"logalert_session": cookie}, timeout=30).status_code == 401


# --- save, reload, run -------------------------------------------------------------------
def test_a_new_rule_saved_goes_live_through_hot_reload_and_runs(console, engine_url):
    name = f"Created {uuid.uuid4().hex[:6]}"
    text = rule_text(console.prefix, engine_url, name)
    answer = console.api("PUT", "api/rules/team/created.yaml", data=text)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == name
    assert (console.rules / "team" / "created.yaml").read_text() == text  # byte for byte, comments kept
    live = console.wait_live("team/created.yaml")
    assert live["name"] == name and live["valid"] is True
    log = wait_log(console.folder, f"=== ALERT [{name}] ERROR on checkout-", log_name=console.log_name)
    assert f"rule '{name}' loaded" in log
    # And an edit of it goes live too: the daemon runs the new version.
    edited = text.replace("level:ERROR", "level:INFO")
    assert console.api("PUT", "api/rules/team/created.yaml", data=edited).status_code == 200
    console.wait_live("team/created.yaml")
    wait_log(console.folder, f"rule '{name}' reloaded", log_name=console.log_name)


def test_invalid_yaml_is_refused_with_its_line_and_the_file_is_untouched(console):
    path = console.rules / "errors.yaml"
    before = path.read_bytes()
    stamp = path.stat().st_mtime_ns
    broken = before.decode().replace("type: any", "type: any\nindex: [unclosed")
    answer = console.api("PUT", "api/rules/errors.yaml", data=broken)
    assert answer.status_code == 422
    problems = answer.json()
    assert problems[0]["line"] in (6, 7, 8) and "YAML" in problems[0]["message"]
    assert set(problems[0]) >= {"line", "option", "message"}
    wrong_type = before.decode().replace("type: any", "type: frequence")
    problems = console.api("PUT", "api/rules/errors.yaml", data=wrong_type).json()
    assert [(p["line"], p["option"]) for p in problems] == [(6, "type")]
    assert "did you mean 'frequency'" in problems[0]["message"]
    bad_query = before.decode().replace('"level:ERROR"', '"level:(ERROR"')
    problems = console.api("PUT", "api/rules/errors.yaml", data=bad_query).json()
    assert problems[0]["line"] == 10 and "parenthesis" in problems[0]["message"]
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stamp
    assert not [p for p in os.listdir(console.rules) if p.startswith(".")]  # no temporary file left behind


def test_a_duplicate_rule_name_is_refused(console):
    text = (console.rules / "errors.yaml").read_text()
    answer = console.api("PUT", "api/rules/copy.yaml", data=text)
    assert answer.status_code == 422
    assert answer.json()[0]["option"] == "name" and "errors.yaml" in answer.json()[0]["message"]
    assert not (console.rules / "copy.yaml").exists()


# --- paths ---------------------------------------------------------------------------------
def test_paths_outside_the_rules_folder_are_refused(console, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("name: secret outside\n")
    (console.rules / "link.yaml").symlink_to(outside)
    (console.rules / "linkdir").symlink_to(tmp_path)
    for path in ["/api/rules/../config.yaml", "/api/rules/%2e%2e/config.yaml", "/api/rules/%2E%2E%2Fconfig.yaml",
                 "/api/rules//etc/passwd.yaml", "/api/rules/%2Fetc%2Fx.yaml", "/api/rules/link.yaml",
                 "/api/rules/linkdir/outside.yaml", "/api/rules/errors.txt", "/api/rules/a/../../x.yaml",
                 "/api/rules/%252e%252e/x.yaml", "/api/rules/.hidden.yaml", "/rules/%2e%2e/config.yaml"]:
        status, body = raw_get(console, path)
        assert status == 400, (path, status, body)
        assert "secret outside" not in body
    for method in ("PUT", "DELETE"):
        for path in ["../escape.yaml", "link.yaml", "linkdir/outside.yaml"]:
            answer = console.api(method, "api/rules/" + path, data="name: x\n")
            assert answer.status_code in (400, 404), (method, path, answer.status_code)
    assert outside.read_text() == "name: secret outside\n"
    assert not (console.folder / "escape.yaml").exists()


# --- concurrency ---------------------------------------------------------------------------
def test_concurrent_saves_of_one_rule_last_write_wins_whole(console, engine_url):
    base = (console.rules / "errors.yaml").read_text()
    versions = [base.replace("minutes: 0", f"minutes: {i}") + "# " + ("padding " * 400) + f"v{i}\n"
                for i in range(1, 9)]
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:  # what the daemon's hot reload could read meanwhile
        while not stop.is_set():
            seen.add((console.rules / "errors.yaml").read_text())

    watcher = threading.Thread(target=reader)
    watcher.start()
    results: list[int] = []

    def save(text: str) -> None:
        results.append(console.api("PUT", "api/rules/errors.yaml", data=text).status_code)

    threads = [threading.Thread(target=save, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert results == [200] * len(versions)
    final = (console.rules / "errors.yaml").read_text()
    assert final in versions
    assert seen <= set(versions) | {base}, "a reader saw a half-written file"
    assert not [p for p in os.listdir(console.rules) if p.startswith(".")]


def test_if_match_refuses_a_save_over_someone_elses(console):
    first = console.api("GET", "api/rules/errors.yaml").json()
    text = first["yaml"].replace("minutes: 0", "minutes: 3")
    assert console.api("PUT", "api/rules/errors.yaml", data=text).status_code == 200
    stale = console.api("PUT", "api/rules/errors.yaml", data=first["yaml"], headers={"If-Match": f'"{first["etag"]}"'})
    assert stale.status_code == 412
    assert (console.rules / "errors.yaml").read_text() == text


# --- secrets ---------------------------------------------------------------------------------
def test_secrets_are_masked_and_a_save_keeping_the_placeholder_keeps_the_value(console):
    path = console.rules / "errors.yaml"
    text = path.read_text() + f'slack_webhook_url: "{WEBHOOK}"  # ops\n'
    assert console.api("PUT", "api/rules/errors.yaml", data=text).status_code == 200
    shown = console.api("GET", "api/rules/errors.yaml")
    assert "WEBSECRET" not in shown.text
    yaml_text = shown.json()["yaml"]
    assert "slack_webhook_url: <secret>  # ops" in yaml_text
    assert "WEBSECRET" not in console.api("GET", "api/rules").text
    edited = yaml_text.replace("minutes: 0", "minutes: 2")
    assert console.api("PUT", "api/rules/errors.yaml", data=edited).status_code == 200
    assert path.read_text() == text.replace("minutes: 0", "minutes: 2")  # the stored URL, quoting and comment kept
    # A placeholder with nothing stored to keep is refused at its line.
    fresh = console.api("PUT", "api/rules/other.yaml", data=edited.replace("name: Errors", "name: Other"))
    assert fresh.status_code == 422
    assert fresh.json()[0]["option"] == "slack_webhook_url" and fresh.json()[0]["line"]


# --- Test ------------------------------------------------------------------------------------
def test_the_test_action_runs_the_draft_through_the_runner_without_touching_state(console):
    draft_name = f"Draft {uuid.uuid4().hex[:6]}"
    draft = (console.rules / "errors.yaml").read_text().replace("level:ERROR", "level:INFO")
    draft = draft.replace(f"name: Errors {console.tag}", f"name: {draft_name}")
    report = console.api("POST", "api/test", json={"yaml": draft, "path": "errors.yaml", "hours": 2}).json()
    assert report["errors"] == []
    assert report["documents"] == 6 and report["hits"] == 6 and report["match_count"] == 6
    assert report["alert_count"] == 6 and report["sent"] is False
    assert report["alerts"][0]["subject"].startswith("ERROR on checkout-") and report["alerts"][0]["notifiers"] == ["stdout"]
    assert "request" in report["alerts"][0]["body"]
    assert report["matches"][0]["fields"]["level"] == "INFO"
    buckets = report["histogram"]["buckets"]
    assert sum(b["count"] for b in buckets) == 6 and report["histogram"]["interval_seconds"] == 120
    # Dry run: nothing printed by the notifier, the file and the daemon's state untouched.
    assert "level:ERROR" in (console.rules / "errors.yaml").read_text()
    log = console.log()
    assert "request 0 ok" not in log
    # The run used an in-memory store: no status, no outbox record of the draft in the writeback index.
    assert draft_name not in {r["rule"] for r in console.api("GET", "api/status").json()["rules"]}
    assert console.api("GET", f"api/alerts?rule={draft_name}").json()["alerts"] == []
    assert f"web console: Test of rule '{draft_name}'" in log


def test_an_engine_refusal_is_reported_at_the_line_of_its_option(console):
    # The offline checks accept a terms aggregation over a text field; the engine refuses it.
    text = (console.rules / "errors.yaml").read_text().replace("type: any", "type: frequency").replace(
        "realert:", "num_events: 2\ntimeframe: {minutes: 30}\nuse_terms_query: true\nquery_key: message\nrealert:")
    answer = console.api("POST", "api/test", json={"yaml": text, "path": "errors.yaml", "hours": 1})
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert [(e["line"], e["option"], e["file"]) for e in errors] == [(14, "query_key", "errors.yaml")], errors
    assert "Text fields are not optimised" in errors[0]["message"]
    # A query the offline check refuses never reaches the engine: 422 at the query's line.
    lint = console.api("POST", "api/test", json={"yaml": text.replace("level:ERROR", "message:/ERROR"),
                                                 "path": "errors.yaml", "hours": 1})
    assert lint.status_code == 422 and lint.json()[0]["line"] == 10


def test_send_real_alerts_sends_through_the_notifiers(console):
    text = (console.rules / "errors.yaml").read_text()
    name = f"Errors {console.tag}"
    marker = f"=== ALERT [{name}]"
    # The daemon's own alerts first: the 2 errors within its buffer_time (15 min).
    wait_log(console.folder, marker, log_name=console.log_name, count=2)
    before = console.log().count(marker)
    report = console.api("POST", "api/test", json={"path": "errors.yaml", "hours": 2, "send": True}).json()
    assert report["sent"] is True and report["alert_count"] == 6
    assert all(v == {"stdout": True} for v in report["delivered"].values())
    assert len(report["delivered"]) == 6
    wait_log(console.folder, marker, log_name=console.log_name, count=before + 6)
    assert "alerts SENT through the rule's notifiers" in console.log()
    assert (console.rules / "errors.yaml").read_text() == text


# --- enable, delete, silences, history -------------------------------------------------------
def test_disable_enable_and_delete(console):
    name = console.api("GET", "api/rules/errors.yaml").json()["name"]
    console.wait_live("errors.yaml")
    answer = console.api("PATCH", "api/rules/errors.yaml", json={"is_enabled": False})
    assert answer.status_code == 200, answer.text
    assert (console.rules / "errors.yaml").read_text().endswith("is_enabled: false\n")
    deadline = time.monotonic() + 20
    while console.api("GET", "api/rules/errors.yaml").json()["live"]["state"] != "disabled":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert name not in console.api("GET", "api/status").json()["daemon"]["scheduled"]
    assert console.api("PATCH", "api/rules/errors.yaml", json={"is_enabled": True}).status_code == 200
    assert "is_enabled: true" in (console.rules / "errors.yaml").read_text()
    console.wait_live("errors.yaml")
    assert console.api("DELETE", "api/rules/quiet.yaml").status_code == 200
    assert not (console.rules / "quiet.yaml").exists()
    assert console.api("GET", "api/rules/quiet.yaml").status_code == 404


def test_silences_alert_history_and_status(console):
    name = console.api("GET", "api/rules/errors.yaml").json()["name"]
    wait_log(console.folder, f"=== ALERT [{name}]", log_name=console.log_name)
    created = console.api("POST", "api/silences", json={"rule": name, "duration": "1h", "reason": "deploying"})
    assert created.status_code == 201, created.text
    listed = console.api("GET", "api/silences").json()["silences"]
    mine = [s for s in listed if s["rule"] == name and s["kind"] == "manual"]
    assert mine and mine[0]["reason"] == "deploying" and mine[0]["key"] == "*"
    assert console.api("GET", "api/rules").json()["rules"][0]["silenced_until"]
    assert console.api("POST", "api/silences", json={"rule": "nope", "duration": "1h"}).status_code == 400
    assert console.api("POST", "api/silences", json={"rule": name, "duration": "soon"}).status_code == 400
    assert console.api("DELETE", f"api/silences?rule={name}&key=*").json()["removed"] == 1
    alerts = console.api("GET", f"api/alerts?rule={name}").json()["alerts"]
    assert alerts and alerts[0]["notifier"] == "stdout" and alerts[0]["status"] == "sent"
    assert alerts[0]["created"] >= alerts[-1]["created"]  # newest first
    status = console.api("GET", "api/status").json()
    assert status["mode"] == "daemon" and status["daemon"]["running"] is True
    assert name in {r["rule"] for r in status["rules"]}
    assert console.api("GET", "api/errors").status_code == 200


# --- read-only folders, logalert web, bind address -----------------------------------------------
def test_a_configmap_folder_is_read_only_but_test_works(tmp_path, engine, engine_url, fresh_index):
    from tests.integration.web.conftest import load_logs

    load_logs(engine, fresh_index)
    rules = tmp_path / "rules"
    data = rules / "..2024_01_01_00_00_00.000000"
    data.mkdir(parents=True)
    (data / "errors.yaml").write_text(rule_text(fresh_index, engine_url, f"CM {uuid.uuid4().hex[:6]}"))
    (rules / "..data").symlink_to(data.name)
    (rules / "errors.yaml").symlink_to("..data/errors.yaml")
    running = start_console(tmp_path, engine_url, command="web")
    try:
        shown = running.api("GET", "api/rules/errors.yaml").json()
        assert "ConfigMap" in shown["read_only"] and shown["live"]["state"] == "no-daemon"
        before = (data / "errors.yaml").read_text()
        refused = running.api("PUT", "api/rules/errors.yaml", data=before.replace("minutes: 0", "minutes: 5"))
        assert refused.status_code == 409 and "read-only" in refused.json()["error"]
        assert running.api("DELETE", "api/rules/errors.yaml").status_code == 409
        assert (data / "errors.yaml").read_text() == before
        report = running.api("POST", "api/test", json={"path": "errors.yaml", "hours": 2}).json()
        assert report["match_count"] == 6 and report["errors"] == []
        assert running.api("GET", "api/status").json()["mode"] == "console"
    finally:
        stop_daemon(running.proc)


def test_a_non_loopback_address_without_a_token_is_refused(tmp_path, engine_url):
    from tests.integration.helpers import logalert, write_config

    (tmp_path / "rules").mkdir()
    write_config(tmp_path, engine_url, web_port=free_port(), web_host="0.0.0.0")
    proc = logalert("web", "--config", str(tmp_path / "config.yaml"), cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "not a loopback address" in proc.stderr and "web_token" in proc.stderr


def test_without_a_token_on_loopback_one_is_generated_and_printed_once(tmp_path, engine_url):
    import requests

    from tests.integration.helpers import write_config

    (tmp_path / "rules").mkdir()
    port = free_port()
    write_config(tmp_path, engine_url, web_port=port)
    import subprocess
    import sys

    log = tmp_path / "web.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "logalert", "web", "--config", str(tmp_path / "config.yaml")],
                                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        text = wait_log(tmp_path, "token (generated", log_name="web.log")
        token = text.split("to choose one): ")[1].split()[0]
        assert len(token) >= 32
        assert requests.get(f"http://127.0.0.1:{port}/api/status", timeout=10).status_code == 401
        assert requests.get(f"http://127.0.0.1:{port}/api/status", timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        stop_daemon(proc)


@pytest.mark.parametrize("page", ["/", "/alerts", "/silences", "/errors", "/new", "/rules/errors.yaml"])
def test_pages_answer_with_a_strict_content_security_policy(console, page):
    session, _ = console.browser_login()
    answer = session.get(console.url.rstrip("/") + page, timeout=30)
    assert answer.status_code == 200 and 'id="main"' in answer.text
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    for asset in ("/static/app.js", "/static/editor.js", "/static/app.css", "/static/favicon.svg"):
        assert session.get(console.url.rstrip("/") + asset, timeout=30).status_code == 200
