"""Jira against a fake Jira on 127.0.0.1: a WebhookReceiver answering the REST v2
endpoints the notifier uses (create, search, comment, watchers, assignee, transitions,
field and priority lists), with rules written as ElastAlert2 rules."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import Behaviour, Received, WebhookReceiver

from .conftest import alert_for, notifier

PASSWORD = "jira-pass-4f9a1c"
BASIC = "Basic " + base64.b64encode(f"svc-logalert:{PASSWORD}".encode()).decode()
FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string", "system": "summary"}},
    {"id": "customfield_10100", "name": "Affected Host", "custom": True, "schema": {"type": "string"}},
    {"id": "customfield_10101", "name": "Environments", "custom": True,
     "schema": {"type": "array", "items": "option",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes"}},
    {"id": "customfield_10102", "name": "Error Count", "custom": True, "schema": {"type": "number"}},
]
PRIORITIES = [{"id": "1", "name": "Highest"}, {"id": "2", "name": "High"}, {"id": "3", "name": "Medium"}]


class FakeJira:
    """Just enough Jira: issues are created with increasing keys; ``existing`` is what a
    search finds; ``cloud`` answers the old search endpoint 410 as Jira Cloud does."""

    def __init__(self) -> None:
        self.created: list[dict] = []
        self.existing: list[dict] = []
        self.cloud = False
        self.failing: dict[tuple[str, str], Behaviour] = {}

    def __call__(self, req: Received) -> Behaviour:
        path = urlsplit(req.path).path
        if (req.method, path) in self.failing:
            return self.failing[(req.method, path)]
        if req.header("Authorization") not in (BASIC, "Bearer pat-7c1e0d"):
            return Behaviour(401, body={"errorMessages": ["You are not authenticated."]})
        if (req.method, path) == ("GET", "/rest/api/2/field"):
            return Behaviour(200, body=FIELDS)
        if (req.method, path) == ("GET", "/rest/api/2/priority"):
            return Behaviour(200, body=PRIORITIES)
        if (req.method, path) == ("POST", "/rest/api/2/issue"):
            key = f"OPS-{100 + len(self.created) + 1}"
            self.created.append(req.body)
            return Behaviour(201, body={"id": str(10000 + len(self.created)), "key": key,
                                        "self": f"/rest/api/2/issue/{key}"})
        if req.method == "GET" and path in ("/rest/api/2/search", "/rest/api/2/search/jql"):
            if self.cloud and path == "/rest/api/2/search":
                return Behaviour(410, body={"errorMessages": ["The requested API has been removed."]})
            return Behaviour(200, body={"issues": self.existing[:1], "total": len(self.existing[:1])})
        if path.endswith("/transitions") and req.method == "GET":
            return Behaviour(200, body={"transitions": [{"id": "11", "name": "Reopen", "to": {"name": "Open"}},
                                                         {"id": "21", "name": "Escalate",
                                                          "to": {"name": "Escalated"}}]})
        if path.endswith(("/transitions", "/watchers", "/assignee")):
            return Behaviour(204, body=b"")
        if path.endswith("/comment") and req.method == "POST":
            return Behaviour(201, body={"id": "5001", "body": req.body["body"]})
        return Behaviour(404, body={"errorMessages": [f"no {req.method} {path} in this fake"]})


@pytest.fixture
def jira():
    fake = FakeJira()
    with WebhookReceiver(respond=fake) as receiver:
        receiver.fake = fake
        yield receiver


@pytest.fixture
def account(tmp_path):
    (tmp_path / "jira_acct.yaml").write_text(f"user: svc-logalert\npassword: {PASSWORD}\n")
    return "jira_acct.yaml"


def _rule(make_rule, jira, extra: str = ""):
    return make_rule(f"""\
name: Checkout errors
type: any
index: logstash-*
alert:
  - jira
jira_server: "{jira.url}"
jira_project: OPS
jira_issuetype: Bug
jira_account_file: jira_acct.yaml
""" + extra)


def _calls(receiver):
    return [(r.method, urlsplit(r.path).path) for r in receiver.requests]


def _jql(req: Received) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(req.path).query).items()}


DOC = {"@timestamp": "2026-03-01T12:00:00Z", "host": "web-1", "level": "ERROR", "count": 7}


def test_opens_an_issue_then_assigns_it_and_adds_watchers(make_rule, jira, account):
    rule = _rule(make_rule, jira, """\
jira_components: [Checkout]
jira_labels: logalert
jira_description: "Opened by logalert."
jira_assignee: jdoe
jira_watchers: [alice, 5b10ac8d82e05b22cc7d4ef5]
""")
    notifier(rule).send(alert_for(rule, DOC, subject="Checkout errors on web-1", body="host: web-1\n"))
    assert _calls(jira) == [
        ("POST", "/rest/api/2/issue"),
        ("PUT", "/rest/api/2/issue/OPS-101/assignee"),
        ("POST", "/rest/api/2/issue/OPS-101/watchers"),
        ("POST", "/rest/api/2/issue/OPS-101/watchers"),
    ]
    create, assign, watch1, watch2 = jira.requests
    assert all(r.header("Authorization") == BASIC for r in jira.requests)
    assert create.header("Content-Type") == "application/json"
    assert create.body == {"fields": {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Bug"},
        "summary": "Checkout errors on web-1",
        "description": "Opened by logalert.\nhost: web-1\n",
        "components": [{"name": "Checkout"}],
        "labels": ["logalert"],
    }}
    assert assign.body == {"name": "jdoe"}
    assert (watch1.body, watch2.body) == ("alice", "5b10ac8d82e05b22cc7d4ef5")  # a JSON string each


def test_priority_index_and_custom_fields_by_name(make_rule, jira, account):
    rule = _rule(make_rule, jira, """\
jira_priority: 2
jira_affected_host: "#host"
jira_environments: [prod, eu]
jira_error_count: "#count"
""")
    notifier(rule).send(alert_for(rule, DOC))
    assert _calls(jira) == [("GET", "/rest/api/2/field"), ("GET", "/rest/api/2/priority"),
                            ("POST", "/rest/api/2/issue")]
    fields = jira.requests[-1].body["fields"]
    assert fields["priority"] == {"id": "3"}
    assert (fields["customfield_10100"], fields["customfield_10101"], fields["customfield_10102"]) == (
        "web-1", [{"value": "prod"}, {"value": "eu"}], 7)


def test_bump_comments_on_the_found_issue_and_transitions_it(make_rule, jira, account):
    jira.fake.existing = [{"key": "OPS-42", "fields": {"summary": "Checkout errors on web-1",
                                                       "updated": "2020-01-01T00:00:00.000+0000"}}]
    rule = _rule(make_rule, jira, """\
jira_bump_tickets: true
jira_bump_not_in_statuses: [Resolved, Closed]
jira_max_age: 14
jira_transition_to: Escalate
jira_ignore_in_title: host
""")
    notifier(rule).send(alert_for(rule, DOC, subject="Checkout errors on web-1", body="again\n"))
    assert _calls(jira) == [
        ("GET", "/rest/api/2/search"),
        ("POST", "/rest/api/2/issue/OPS-42/comment"),
        ("GET", "/rest/api/2/issue/OPS-42/transitions"),
        ("POST", "/rest/api/2/issue/OPS-42/transitions"),
    ]
    search, comment, _, transition = jira.requests
    assert _jql(search) == {
        "jql": 'summary ~ "Checkout errors on" AND project = "OPS" AND created >= -14d '
               'AND status not in ("Resolved", "Closed") ORDER BY created DESC',
        "maxResults": "1", "fields": "summary,status,updated,created"}
    assert comment.body == {"body": "This alert was triggered again at 2026-03-01T12:00:00+00:00\nagain\n"}
    assert transition.body == {"transition": {"id": "21"}}
    assert jira.fake.created == []


def test_bump_on_jira_cloud_falls_back_to_the_enhanced_search(make_rule, jira, account):
    jira.fake.cloud = True
    jira.fake.existing = [{"key": "OPS-9", "fields": {"updated": "2020-01-01T00:00:00.000+0000"}}]
    rule = _rule(make_rule, jira, "jira_bump_tickets: true\n")
    notifier(rule).send(alert_for(rule, DOC))
    assert _calls(jira) == [("GET", "/rest/api/2/search"), ("GET", "/rest/api/2/search/jql"),
                            ("POST", "/rest/api/2/issue/OPS-9/comment")]
    assert _jql(jira.requests[1])["jql"].startswith('summary ~ "Subject" AND project = "OPS"')


def test_nothing_found_to_bump_opens_an_issue_unless_bump_only(make_rule, jira, account):
    rule = _rule(make_rule, jira, "jira_bump_tickets: true\n")
    notifier(rule).send(alert_for(rule, DOC))
    assert _calls(jira) == [("GET", "/rest/api/2/search"), ("POST", "/rest/api/2/issue")]
    jira.requests.clear()
    rule = _rule(make_rule, jira, "jira_bump_tickets: true\njira_bump_only: true\n")
    notifier(rule).send(alert_for(rule, DOC))
    assert _calls(jira) == [("GET", "/rest/api/2/search")]
    assert len(jira.fake.created) == 1


def test_a_recently_updated_issue_is_left_alone(make_rule, jira, account):
    recent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    jira.fake.existing = [{"key": "OPS-42", "fields": {"updated": recent}}]
    rule = _rule(make_rule, jira, "jira_bump_tickets: true\njira_bump_after_inactivity: 1\n")
    notifier(rule).send(alert_for(rule, DOC))
    assert _calls(jira) == [("GET", "/rest/api/2/search")]  # neither comment nor new issue


def test_a_search_jira_refuses_opens_a_new_issue(make_rule, jira, account):
    jira.fake.failing[("GET", "/rest/api/2/search")] = Behaviour(400, body={"errorMessages": ["bad JQL"]})
    rule = _rule(make_rule, jira, "jira_bump_tickets: true\n")
    notifier(rule).send(alert_for(rule, DOC))
    assert _calls(jira) == [("GET", "/rest/api/2/search"), ("POST", "/rest/api/2/issue")]


def test_a_personal_access_token_is_sent_as_bearer(make_rule, jira, tmp_path):
    (tmp_path / "jira_acct.yaml").write_text("apikey: pat-7c1e0d\n")
    rule = _rule(make_rule, jira)
    notifier(rule).send(alert_for(rule))  # no match: an alert re-sent from the outbox
    (create,) = jira.requests
    assert create.header("Authorization") == "Bearer pat-7c1e0d"
    assert create.body["fields"]["summary"] == "Subject"


@pytest.mark.parametrize("status, retryable", [(503, True), (500, True), (429, True), (400, False),
                                               (401, False), (403, False)])
def test_create_failures_are_classified(make_rule, jira, account, status, retryable):
    jira.fake.failing[("POST", "/rest/api/2/issue")] = Behaviour(
        status, headers={"Retry-After": "30"} if status == 429 else {},
        body={"errorMessages": [], "errors": {"summary": f"rejected for svc-logalert/{PASSWORD}"}})
    rule = _rule(make_rule, jira)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is retryable
    assert info.value.retry_after == (30.0 if status == 429 else None)
    assert PASSWORD not in str(info.value)
    assert "<secret>" in str(info.value)
    assert str(info.value).startswith(f"Jira {'rate limit (HTTP 429)' if status == 429 else f'answered HTTP {status}'}")


def test_wrong_credentials_are_not_retried_and_not_shown(make_rule, jira, tmp_path):
    (tmp_path / "jira_acct.yaml").write_text("user: svc-logalert\npassword: wrong-password-1\n")
    rule = _rule(make_rule, jira)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert str(info.value) == 'Jira answered HTTP 401: {"errorMessages": ["You are not authenticated."]}'


def test_a_failed_watcher_after_the_issue_exists_does_not_fail_the_alert(make_rule, jira, account, caplog):
    jira.fake.failing[("POST", "/rest/api/2/issue/OPS-101/watchers")] = Behaviour(
        400, body={"errorMessages": ["The user \"ghost\" does not exist"]})
    rule = _rule(make_rule, jira, "jira_watchers: ghost\n")
    notifier(rule).send(alert_for(rule, DOC))  # a retry would open a second issue
    assert _calls(jira) == [("POST", "/rest/api/2/issue"), ("POST", "/rest/api/2/issue/OPS-101/watchers")]
    assert "could not add 'ghost' as a watcher of Jira issue OPS-101" in caplog.text


def test_an_unreachable_jira_is_retryable(make_rule, account):
    from tests.support.receivers import free_port

    rule = make_rule(f"""\
name: r
type: any
index: x
alert: [jira]
jira_server: http://127.0.0.1:{free_port()}
jira_project: OPS
jira_issuetype: Bug
jira_account_file: jira_acct.yaml
""")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value).startswith("Jira unreachable: ")
    assert PASSWORD not in str(info.value)
