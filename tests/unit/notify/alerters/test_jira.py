"""Jira: options as ElastAlert2 rules write them, request bodies, JQL, custom-field typing
and the account file (no network; the REST exchanges are in the integration tests)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.jira import JiraAlerter, server_url
from logalert.rules import load_rule

UTC = dt.timezone.utc
BASE = """\
name: Payment errors
type: any
index: logstash-*
alert: [jira]
jira_server: jira.example.com
jira_project: OPS
jira_issuetype: Bug
jira_account_file: jira_acct.yaml
"""


@pytest.fixture
def account(tmp_path):
    """The account file next to the rule files (EA2 resolves a relative path so)."""
    (tmp_path / "jira_acct.yaml").write_text("user: bot\npassword: s3cr3t-pass\n")
    return tmp_path / "jira_acct.yaml"


def _jira(make_rule, extra: str = ""):
    rule = make_rule(BASE + textwrap.dedent(extra))
    target = rule.alerts[0]
    alerter = get(target.name)(rule, target.options)
    assert isinstance(alerter, JiraAlerter)
    return rule, alerter


def _alert(rule, *docs, subject="Payment errors on web-1", body="3 errors\n"):
    matches = tuple(Match(dt.datetime(2026, 3, 1, 12, 0, i, tzinfo=UTC), d, doc_id=f"d{i}") for i, d in enumerate(docs))
    return Alert("a1", rule, matches, subject, body)


def test_ea2_rule_loads_with_defaults_and_describes_without_secrets(make_rule, account):
    rule, alerter = _jira(make_rule)
    o = alerter.options
    assert (o["jira_max_age"], o["jira_bump_tickets"], o["jira_bump_only"], o["jira_bump_after_inactivity"],
            o["jira_description"], o["jira_timeout"]) == (30, False, False, 0, "", 10)
    assert alerter.base == "https://jira.example.com"
    assert alerter.describe() == "jira project OPS at https://jira.example.com"
    assert "s3cr3t" not in alerter.describe()


@pytest.mark.parametrize("value, base", [
    ("jira.example.com", "https://jira.example.com"),
    ("https://example.atlassian.net/", "https://example.atlassian.net"),
    ("http://127.0.0.1:8080/jira", "http://127.0.0.1:8080/jira"),
])
def test_server_may_be_a_host_name_or_a_url(value, base):
    assert server_url(value) == base


def test_every_ea2_required_option_is_required(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule("name: r\ntype: any\nindex: x\nalert: [jira]\njira_server: j.example.com\n")
    text = str(info.value)
    for option in ("jira_project", "jira_issuetype", "jira_account_file"):
        assert f"{option}: required by the 'jira' notifier but not set" in text


def test_a_server_that_is_no_url_is_refused_at_load(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule(BASE.replace("jira.example.com", "ftp://jira.example.com"))
    assert "jira_server: not an http(s) URL or host name: 'ftp://jira.example.com'" in str(info.value)


def test_issue_fields_from_ea2_options(make_rule, account):
    rule, alerter = _jira(make_rule, """\
        jira_components: Payments
        jira_label: [prod, logalert]
        jira_description: "Seen by logalert."
        jira_parent: OPS-7
    """)
    fields = alerter.issue_fields(_alert(rule, {"host": "web-1"}), priority_id="3")
    assert fields == {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Bug"},
        "summary": "Payment errors on web-1",
        "description": "Seen by logalert.\n3 errors\n",
        "parent": {"key": "OPS-7"},
        "components": [{"name": "Payments"}],
        "labels": ["prod", "logalert"],
        "priority": {"id": "3"},
    }


def test_plural_names_win_and_the_body_alone_is_the_description(make_rule, account):
    rule, alerter = _jira(make_rule, """\
        jira_component: Old
        jira_components: [New, Other]
        jira_label: old
        jira_labels: new
    """)
    fields = alerter.issue_fields(_alert(rule))
    assert fields["components"] == [{"name": "New"}, {"name": "Other"}]
    assert fields["labels"] == ["new"]
    assert fields["description"] == "3 errors\n"
    assert "priority" not in fields and "parent" not in fields


def test_summary_is_one_line_and_cut_to_jiras_255(make_rule, account):
    rule, alerter = _jira(make_rule)
    assert alerter.summary(_alert(rule, subject="a\nb   c")) == "a b c"
    long = alerter.summary(_alert(rule, subject="x" * 400))
    assert len(long) == 255 and long.endswith("...")


def test_bump_jql_with_statuses_age_and_ignored_field(make_rule, account):
    rule, alerter = _jira(make_rule, """\
        jira_bump_tickets: true
        jira_max_age: 7
        jira_bump_not_in_statuses: [Resolved, "Won't Do"]
        jira_ignore_in_title: host
    """)
    jql = alerter.search_jql(_alert(rule, {"host": "web-1"}, subject='Payment "errors" on web-1 - (prod)'))
    assert jql == ('summary ~ "Payment errors on prod" AND project = "OPS" AND created >= -7d '
                   'AND status not in ("Resolved", "Won\'t Do") ORDER BY created DESC')


def test_bump_jql_in_statuses_fractional_age_and_no_matches(make_rule, account):
    rule, alerter = _jira(make_rule, """\
        jira_max_age: 0.5
        jira_bump_in_statuses: Open
        jira_ignore_in_title: host
    """)
    jql = alerter.search_jql(_alert(rule, subject="Back\\slash: web-1"))  # no match: nothing to ignore
    assert jql == ('summary ~ "Back slash web 1" AND project = "OPS" AND created >= -720m '
                   'AND status in ("Open") ORDER BY created DESC')
    assert alerter.search_jql(_alert(rule, subject="*** ???")) is None


def test_comment_says_when_and_carries_the_body(make_rule, account):
    rule, alerter = _jira(make_rule)
    assert alerter.comment_body(_alert(rule, {"a": 1})) == {
        "body": "This alert was triggered again at 2026-03-01T12:00:00+00:00\n3 errors\n"}
    assert alerter.comment_body(_alert(rule)) == {"body": "This alert was triggered again\n3 errors\n"}


@pytest.mark.parametrize("user, body", [
    ("jdoe", {"name": "jdoe"}),
    ("5b10ac8d82e05b22cc7d4ef5", {"accountId": "5b10ac8d82e05b22cc7d4ef5"}),
    ("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", {"accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"}),
])
def test_assignee_by_name_on_server_by_account_id_on_cloud(user, body):
    assert JiraAlerter.user_body(user) == body


FIELDS = [
    {"id": "summary", "name": "Summary", "schema": {"type": "string", "system": "summary"}},
    {"id": "customfield_10010", "name": "Affected User", "custom": True,
     "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"}},
    {"id": "customfield_10011", "name": "Story Points", "custom": True, "schema": {"type": "number"}},
    {"id": "customfield_10012", "name": "Environments", "custom": True,
     "schema": {"type": "array", "items": "string",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multiselect"}},
    {"id": "customfield_10013", "name": "Severity", "custom": True, "schema": {"type": "option"}},
    {"id": "customfield_10014", "name": "Tags", "custom": True, "schema": {"type": "array", "items": "string"}},
    {"id": "customfield_10015", "name": "Approvers", "custom": True, "schema": {"type": "array", "items": "user"}},
    {"id": "customfield_10016", "name": "Counts", "custom": True, "schema": {"type": "array", "items": "number"}},
    {"id": "customfield_10017", "name": "Team", "custom": True, "schema": {"type": "team"}},
    {"id": "thumbnail", "name": "Images"},
]


def test_custom_fields_by_name_or_id_typed_from_jiras_metadata(make_rule, account):
    rule, alerter = _jira(make_rule, """\
        jira_affected_user: "#user.name"
        jira_story_points: "3"
        jira_environments: [prod, staging]
        jira_severity: High
        jira_customfield_10014: single-tag
        jira_approvers: [alice]
        jira_counts: [1, "2.5"]
        jira_team: Ops
    """)
    out = alerter.custom_fields(_alert(rule, {"user": {"name": "jdoe"}}), FIELDS)
    assert out == {
        "customfield_10010": "jdoe",
        "customfield_10011": 3,
        "customfield_10012": [{"value": "prod"}, {"value": "staging"}],
        "customfield_10013": {"value": "High"},
        "customfield_10014": ["single-tag"],
        "customfield_10015": [{"name": "alice"}],
        "customfield_10016": [1, 2.5],
        "customfield_10017": {"name": "Ops"},
    }


def test_a_match_field_reference_is_skipped_when_there_is_no_match(make_rule, account, caplog):
    rule, alerter = _jira(make_rule, 'jira_affected_user: "#user.name"\n')
    assert alerter.custom_fields(_alert(rule), FIELDS) == {}  # an outbox re-send has no matches
    assert "Jira field 'Affected User' left unset" in caplog.text


@pytest.mark.parametrize("extra, message", [
    ("jira_no_such_thing: x\n", "jira_no_such_thing: Jira has no field named or with id 'no such thing'"),
    ("jira_story_points: lots\n", "jira_story_points: 'lots' is not a number"),
    ("jira_images: x\n", "jira_images: Jira gives no type for field 'Images'; it cannot be set"),
])
def test_custom_field_problems_are_not_retryable(make_rule, account, extra, message):
    rule, alerter = _jira(make_rule, extra)
    with pytest.raises(DeliveryError) as info:
        alerter.custom_fields(_alert(rule), FIELDS)
    assert (str(info.value), info.value.retryable) == (message, False)


def test_custom_field_options_reach_the_alerter_though_the_loader_calls_them_unknown(tmp_path, config, account):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "jira_affected_user: jdoe\n")
    rule, warnings = load_rule(str(path), config)
    assert [(w.option, w.message, w.fatal) for w in warnings] == [
        ("jira_affected_user", "unknown option, ignored", False)]
    alerter = get("jira")(rule, rule.alerts[0].options)
    assert alerter.custom_options() == {"jira_affected_user": "jdoe"}


def test_rule_option_references_are_resolved(make_rule, account):
    rule, alerter = _jira(make_rule, """\
        priority: 2
        owner: jdoe
        jira_priority: $priority$
        jira_assignee: $owner$
    """)
    assert (alerter.opt("jira_priority"), alerter.opt("jira_assignee")) == (2, "jdoe")


def test_basic_credentials_from_the_account_file_relative_to_the_rule(make_rule, account):
    _, alerter = _jira(make_rule)
    auth, headers = alerter.credentials()
    assert (auth, headers) == (("bot", "s3cr3t-pass"), {})


def test_a_personal_access_token_is_a_bearer_token(make_rule, tmp_path):
    (tmp_path / "jira_acct.yaml").write_text("apikey: pat-0123456789\n")
    _, alerter = _jira(make_rule)
    assert alerter.credentials() == (None, {"Authorization": "Bearer pat-0123456789"})


@pytest.mark.parametrize("content, message", [
    (None, "cannot read jira_account_file"),
    ("user: bot\npassword: [unclosed-s3cr3t\n", "is not valid YAML (line 3)"),
    ("user: bot\n", "must hold 'user' and 'password', or 'apikey'"),
    ("[a, b]\n", "must hold 'user' and 'password', or 'apikey'"),
])
def test_a_bad_account_file_is_not_retryable(make_rule, tmp_path, content, message):
    if content is not None:
        (tmp_path / "jira_acct.yaml").write_text(content)
    _, alerter = _jira(make_rule)
    with pytest.raises(DeliveryError) as info:
        alerter.credentials()
    assert message in str(info.value) and info.value.retryable is False
    assert "s3cr3t" not in str(info.value)


@responses.activate
def test_priority_is_an_index_into_jiras_priority_list(make_rule, account, caplog):
    responses.get("https://jira.example.com/rest/api/2/priority",
                  json=[{"id": "1", "name": "Highest"}, {"id": "2", "name": "High"}, {"id": "3", "name": "Medium"}])
    _, alerter = _jira(make_rule, "jira_priority: 1\n")
    assert alerter.priority_id() == "2"
    _, alerter = _jira(make_rule, "jira_priority: 5\n")
    assert alerter.priority_id() is None
    assert "jira_priority 5: Jira has 3 priorities ['Highest', 'High', 'Medium']" in caplog.text


@responses.activate
def test_send_opens_an_issue_with_basic_auth(make_rule, account):
    responses.post("https://jira.example.com/rest/api/2/issue", status=201, json={"id": "1", "key": "OPS-1"})
    rule, alerter = _jira(make_rule)
    alerter.send(_alert(rule))
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == "Basic Ym90OnMzY3IzdC1wYXNz"  # bot:s3cr3t-pass
    assert json.loads(call.request.body)["fields"]["summary"] == "Payment errors on web-1"


def test_recent_activity_is_judged_from_jiras_updated_time(make_rule, account):
    _, alerter = _jira(make_rule, "jira_bump_after_inactivity: 2\n")
    now = dt.datetime.now(UTC)
    fresh = (now - dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    stale = (now - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert alerter.recently_updated({"fields": {"updated": fresh}}) is True
    assert alerter.recently_updated({"fields": {"updated": stale}}) is False
    _, alerter = _jira(make_rule)  # 0 days: always bump
    assert alerter.recently_updated({"fields": {"updated": fresh}}) is False
