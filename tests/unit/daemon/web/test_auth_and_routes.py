"""The console's gates and rule endpoints, called through ``server.route`` (no socket, no
engine): tokens, sessions, CSRF, path refusals, validation and atomic saves."""

from __future__ import annotations

import json
import re

import pytest

from logalert import metrics
from logalert.config import load_config
from logalert.daemon.web import server
from logalert.daemon.web.auth import Auth, TokenRequired, resolve_token, same_origin
from logalert.daemon.web.console import Console
from logalert.daemon.web.testrun import interval, window_of
from logalert.daemon.web.wire import Request
from logalert.engine import Pool
from logalert.state import MemoryState

TOKEN = "unit-token-0123456789abcdef"
RULE = "name: {name}\ntype: any\nindex: logstash-*\nfilter:\n- query:\n    query_string:\n      query: \"level:ERROR\"\nalert: stdout\n"


def test_a_token_is_generated_on_loopback_only():
    assert resolve_token("  given  ", "0.0.0.0") == ("given", False)
    token, generated = resolve_token(None, "127.0.0.1")
    assert generated and len(token) >= 32
    assert resolve_token("", "::1")[1] and resolve_token(None, "localhost")[1]
    for host in ("0.0.0.0", "::", "10.1.2.3", "example.org"):
        with pytest.raises(TokenRequired, match="not a loopback address"):
            resolve_token(None, host)


def test_sessions_are_signed_expire_and_end():
    now = [1_000_000.0]
    auth = Auth(TOKEN, clock=lambda: now[0])
    cookie = auth.new_session()
    session = auth.session(f"logalert_session={cookie}")
    assert session and auth.csrf_ok(session, auth.csrf(session)) and not auth.csrf_ok(session, "x" * 32)
    expires, nonce, signature = cookie.split(".")
    assert auth.session(f"logalert_session={int(expires) + 999}.{nonce}.{signature}") is None  # tampered
    assert Auth("another token " * 2).session(f"logalert_session={cookie}") is None  # token changed
    now[0] += 13 * 3600
    assert auth.session(f"logalert_session={cookie}") is None  # expired
    now[0] -= 13 * 3600
    auth.end(session)
    assert auth.session(f"logalert_session={cookie}") is None  # signed out
    assert auth.bearer(f"Bearer {TOKEN}") is True and auth.bearer("Bearer nope") is False
    assert auth.bearer(f"Basic {TOKEN}") is False and auth.bearer(None) is None
    assert same_origin(None, "h:1") and same_origin("http://h:1", "h:1")
    assert not same_origin("http://evil:1", "h:1") and not same_origin("null", "h:1")


@pytest.fixture
def console(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(RULE.format(name="A"))
    config = load_config(None, environ={"LOGALERT_RULES_FOLDER": str(rules), "LOGALERT_WEB_TOKEN": TOKEN})
    return Console(config, MemoryState(), Pool(), port=0)


def call(console, method, path, body=b"", **headers):
    raw = path.split("?")[0]
    query = dict(p.split("=", 1) for p in path.split("?")[1].split("&")) if "?" in path else {}
    from urllib.parse import unquote

    headers = {k.lower().replace("_", "-"): v for k, v in headers.items()}
    req = Request(method, unquote(raw), raw, query, headers, body.encode() if isinstance(body, str) else body)
    return server.route(console, req)


def bearer(**extra):
    return {"authorization": f"Bearer {TOKEN}", **extra}


def test_the_api_needs_the_token_and_pages_send_to_the_login(console):
    assert call(console, "GET", "/api/rules").status == 401
    assert call(console, "GET", "/api/rules", authorization="Bearer wrong").status == 401
    answer = call(console, "GET", "/api/rules", **bearer())
    assert answer.status == 200 and json.loads(answer.body)["rules"][0]["name"] == "A"
    page = call(console, "GET", "/rules/a.yaml")
    assert page.status == 303 and page.headers["Location"] == "/login?next=/rules/a.yaml"
    assert call(console, "GET", "/static/app.js").status == 200  # assets are public code
    assert call(console, "GET", "/static/../auth.py").status == 404


def test_login_sets_an_httponly_samesite_cookie_and_writes_need_csrf(console):
    assert call(console, "POST", "/login", "token=wrong").status == 401
    login = call(console, "POST", "/login?next=/rules/a.yaml", f"token={TOKEN}")
    assert login.status == 303 and login.headers["Location"] == "/rules/a.yaml"
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = cookie.split(";")[0]
    page = call(console, "GET", "/rules/a.yaml", cookie=jar)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.body.decode()).group(1)
    text = RULE.format(name="A2")
    assert call(console, "PUT", "/api/rules/a.yaml", text, cookie=jar).status == 403
    assert call(console, "PUT", "/api/rules/a.yaml", text, cookie=jar, x_csrf_token="forged").status == 403
    assert call(console, "PUT", "/api/rules/a.yaml", text, cookie=jar, x_csrf_token=csrf,
                origin="http://evil.example", host="127.0.0.1:8090").status == 403
    assert call(console, "PUT", "/api/rules/a.yaml", text, cookie=jar, x_csrf_token=csrf).status == 200
    assert call(console, "POST", "/login?next=//evil.example", f"token={TOKEN}").headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/api/rules/../x.yaml", "/api/rules/%2e%2e/x.yaml", "/api/rules//etc/x.yaml",
                                  "/api/rules/x.json", "/api/rules/a/%2E%2E/%2E%2E/x.yaml"])
def test_paths_out_of_the_folder_answer_400(console, path):
    assert call(console, "GET", path, **bearer()).status == 400
    assert call(console, "PUT", path, "name: x\n", **bearer()).status == 400


def test_an_invalid_save_is_422_with_the_line_and_writes_nothing(console, tmp_path):
    before = (tmp_path / "rules" / "a.yaml").read_text()
    answer = call(console, "PUT", "/api/rules/a.yaml", "name: A\ntype: any\nindex: logstash-*\nalert: [stdout\n", **bearer())
    assert answer.status == 422
    problem = json.loads(answer.body)[0]
    assert problem["line"] == 5 and "YAML" in problem["message"]
    assert (tmp_path / "rules" / "a.yaml").read_text() == before
    created = call(console, "PUT", "/api/rules/sub/b.yaml", RULE.format(name="B"), **bearer())
    assert created.status == 201 and (tmp_path / "rules" / "sub" / "b.yaml").read_text() == RULE.format(name="B")
    duplicate = call(console, "PUT", "/api/rules/c.yaml", RULE.format(name="B"), **bearer())
    assert duplicate.status == 422 and "sub/b.yaml" in json.loads(duplicate.body)[0]["message"]
    checked = json.loads(call(console, "POST", "/api/validate",
                              json.dumps({"path": "a.yaml", "yaml": RULE.format(name="A").replace("any", "anyy", 1)}),
                              **bearer()).body)
    assert checked["valid"] is False and checked["errors"][0]["line"] == 2


def test_delete_and_enable_toggle(console, tmp_path):
    answer = call(console, "PATCH", "/api/rules/a.yaml", json.dumps({"is_enabled": False}), **bearer())
    assert answer.status == 200 and (tmp_path / "rules" / "a.yaml").read_text().endswith("is_enabled: false\n")
    rules = json.loads(call(console, "GET", "/api/rules", **bearer()).body)["rules"]
    assert rules[0]["enabled"] is False and rules[0]["live"]["state"] == "no-daemon"
    assert call(console, "DELETE", "/api/rules/a.yaml", **bearer()).status == 200
    assert not (tmp_path / "rules" / "a.yaml").exists()
    assert call(console, "DELETE", "/api/rules/a.yaml", **bearer()).status == 404


def test_test_ranges_and_histogram_intervals():
    window = window_of({"hours": 1})
    assert round(window.span.total_seconds()) == 3600
    assert window_of({"start": "now-2h", "end": "now-1h"}).span.total_seconds() == pytest.approx(3600, abs=1)
    for bad in ({"hours": 0}, {"hours": "1"}, {"start": "yesterday"}, {"start": "now-1h", "end": "now-2h"},
                {"hours": 24 * 40}):
        with pytest.raises(ValueError):
            window_of(bad)
    assert [interval(window_of({"hours": h}).span) for h in (1, 24, 168)] == [60, 1800, 10800]


def test_metrics_updates_of_a_muted_thread_are_dropped():
    metrics.reset()
    with metrics.muted():
        metrics.inc("logalert_rule_runs_total", rule="x", outcome="ok")
        metrics.set_gauge("logalert_rule_run_seconds", 1.0, rule="x")
    metrics.inc("logalert_rule_runs_total", rule="y", outcome="ok")
    text = metrics.render()
    assert 'rule="x"' not in text and 'rule="y"' in text
    metrics.reset()


def test_reload_soon_runs_the_reload_check_now(tmp_path):
    import datetime as dt

    from logalert.daemon.scheduler import Daemon

    (tmp_path / "a.yaml").write_text(RULE.format(name="A"))
    daemon = Daemon(load_config(None, environ={}), [str(tmp_path)], MemoryState())
    daemon.start()
    try:
        job = daemon.scheduler.get_job("__reload__")
        assert job.next_run_time - dt.datetime.now(dt.timezone.utc) > dt.timedelta(seconds=5)
        daemon.reload_soon()
        job = daemon.scheduler.get_job("__reload__")
        assert job is None or job.next_run_time - dt.datetime.now(dt.timezone.utc) < dt.timedelta(seconds=5)
    finally:
        daemon.stop(timeout=5)
