"""``alert: jira``: open a Jira issue per alert, or comment on a recent one (bumping).

Speaks the few Jira REST v2 endpoints it needs through ``http.request`` (no Jira client
library), so failures are classified like every web notifier's. Options are ElastAlert2's.
Credentials come from ``jira_account_file`` (YAML): ``user`` + ``password`` (basic auth;
Jira Cloud takes an API token as the password) or ``apikey`` (a personal access token, sent
as a Bearer token); it is read at send time (a rotated token needs no restart) and its
secrets are registered for masking. Any undeclared ``jira_<name>`` option sets the Jira
field called ``<name>`` (underscores as spaces, any case) or with that id
(``jira_customfield_10010``), shaped by the field's type from ``GET /rest/api/2/field``;
a value ``#some.field`` is read from the first match. Once an issue exists, a failed
assignee, watcher or transition call is logged, not raised: a retry would open a second issue.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

import yaml

from logalert.errors import DeliveryError
from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, NONEMPTY, STRING, STRING_OR_LIST, Option
from logalert.rules.model import Rule
from logalert.secrets import register
from logalert.timeutil import parse_iso

log = logging.getLogger(__name__)

SUMMARY_MAX = 255  # Jira refuses longer summaries
# ElastAlert2 lets any option refer to a rule option as ``$name$``.
_RULE_REF = re.compile(r"^\$([^$\s]+)\$$")
_RULE_REF_SCHEMA = {"type": "string", "pattern": r"^\$[^$\s]+\$$"}

OPTIONS = (
    Option("jira_server", NONEMPTY, scope=ALERTER, description="Jira base URL or host name (then https)"),
    Option("jira_project", NONEMPTY, scope=ALERTER, description="project key"),
    Option("jira_issuetype", NONEMPTY, scope=ALERTER, description="issue type name (case sensitive)"),
    Option("jira_account_file", NONEMPTY, scope=ALERTER, description="YAML with user and password (Jira Cloud: "
           "an API token as password) or apikey (a personal access token); relative to the rule file"),
    Option("jira_parent", STRING, scope=ALERTER, description="parent issue key: open a sub-task of it"),
    Option("jira_assignee", STRING, scope=ALERTER, description="user name (Server) or account id (Cloud)"),
    Option("jira_component", STRING_OR_LIST, scope=ALERTER, description="old name of jira_components"),
    Option("jira_components", STRING_OR_LIST, scope=ALERTER),
    Option("jira_description", STRING, "", ALERTER, description="text put before the alert body"),
    Option("jira_label", STRING_OR_LIST, scope=ALERTER, description="old name of jira_labels"),
    Option("jira_labels", STRING_OR_LIST, scope=ALERTER),
    Option("jira_priority", {"anyOf": [{"type": "integer", "minimum": 0}, _RULE_REF_SCHEMA]}, scope=ALERTER,
           description="position in Jira's priority list, 0 for the first"),
    Option("jira_watchers", STRING_OR_LIST, scope=ALERTER, description="user names or account ids"),
    Option("jira_bump_tickets", BOOLEAN, False, ALERTER,
           description="comment on a recent issue with the same summary instead of opening another"),
    Option("jira_ignore_in_title", STRING, scope=ALERTER,
           description="match field whose value is left out of the summary searched when bumping"),
    Option("jira_max_age", {"type": "number", "exclusiveMinimum": 0}, 30, ALERTER,
           description="days: only issues created since then are bumped"),
    Option("jira_bump_not_in_statuses", STRING_OR_LIST, scope=ALERTER),
    Option("jira_bump_in_statuses", STRING_OR_LIST, scope=ALERTER),
    Option("jira_bump_only", BOOLEAN, False, ALERTER, description="never open an issue, only bump"),
    Option("jira_transition_to", STRING, scope=ALERTER, description="transition a bumped issue by this name"),
    Option("jira_bump_after_inactivity", {"type": "number", "minimum": 0}, 0, ALERTER,
           description="days: leave a found issue alone if it was updated more recently"),
    *http.transport_options("jira"),
)
REQUIRED = ("jira_server", "jira_project", "jira_issuetype", "jira_account_file")
KNOWN = frozenset(o.name for o in OPTIONS)

# Custom field types whose metadata says "string" but whose values Jira wants as {"value": …}.
_VALUE_OBJECT_TYPES = frozenset(f"com.atlassian.jira.plugin.system.customfieldtypes:{name}"
                                for name in ("multicheckboxes", "multiselect", "radiobuttons", "select"))
_TEXT_TYPES = frozenset({"string", "date", "datetime"})
# Characters with a meaning in a JQL text search (``summary ~ "…"``); words are what matter.
_TEXT_SEARCH_SPECIAL = re.compile(r'[+\-&|!(){}\[\]^~*?\\:"/]')
# Jira Cloud account ids: 24 hex digits, or "<number>:<uuid>".
_ACCOUNT_ID = re.compile(r"^(?:[0-9a-f]{24}|\d+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def server_url(value: str) -> str:
    """``jira_server`` as a base URL: EA2 documents a host name, the jira library took a URL."""
    value = value.strip().rstrip("/")
    return value if "://" in value else f"https://{value}"


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    server = options.get("jira_server")
    if isinstance(server, str) and server.strip():
        parts = urlsplit(server_url(server))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return [("jira_server", f"not an http(s) URL or host name: {server!r}")]
    return []


def _listed(value: Any) -> list[Any]:
    return [] if value in (None, "") else list(value) if isinstance(value, (list, tuple)) else [value]


def _jql_string(text: str) -> str:
    """A JQL string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(option: str, value: Any) -> int | float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DeliveryError(f"{option}: {value!r} is not a number", retryable=False) from None
    return int(number) if number.is_integer() else number


def _parse_jira_time(text: str) -> dt.datetime | None:
    """Jira's ``2024-01-31T10:00:00.000+0000`` (no colon in the offset)."""
    try:
        return parse_iso(re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.strip()))
    except ValueError:
        return None


class JiraAlerter(Alerter):
    name = "jira"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        self._transport = http.Transport.from_options(self.options, "jira")
        self._auth: tuple[Any, dict[str, str]] = (None, {})

    # --- options ----------------------------------------------------------------------
    def opt(self, name: str, default: Any = None) -> Any:
        """An option, with ElastAlert2's ``$rule_option$`` references resolved."""
        value = self.options.get(name, default)
        if isinstance(value, str):
            ref = _RULE_REF.match(value)
            if ref:
                return self.rule.get(ref.group(1), default)
        return value

    @property
    def base(self) -> str:
        return server_url(self.options["jira_server"])

    def api(self, path: str) -> str:
        return f"{self.base}/rest/api/2/{path}"

    def custom_options(self) -> dict[str, Any]:
        """The ``jira_*`` options that name Jira fields (everything not declared above)."""
        return {k: v for k, v in self.options.items()
                if isinstance(k, str) and k.startswith("jira_") and k not in KNOWN and v is not None}

    # --- credentials ------------------------------------------------------------------
    def credentials(self) -> tuple[Any, dict[str, str]]:
        """(requests auth, extra headers) from the account file; secrets registered for masking."""
        path = os.path.expanduser(self.options["jira_account_file"])
        if not os.path.isabs(path) and self.rule.file:
            path = os.path.join(os.path.dirname(os.path.abspath(self.rule.file)), path)
        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle) or {}
        except OSError as exc:
            raise DeliveryError(f"cannot read jira_account_file {path}: {exc.strerror or exc}",
                                retryable=False) from None
        except yaml.YAMLError as exc:
            # Not the parser's message: it may quote the line holding the password.
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise DeliveryError(f"jira_account_file {path} is not valid YAML{where}", retryable=False) from None
        if isinstance(data, dict) and data.get("apikey"):
            register(str(data["apikey"]))
            return None, {"Authorization": f"Bearer {data['apikey']}"}
        if isinstance(data, dict) and "user" in data and "password" in data:
            register(str(data["password"]))
            return (str(data["user"]), str(data["password"])), {}
        raise DeliveryError(f"jira_account_file {path} must hold 'user' and 'password', or 'apikey'",
                            retryable=False)

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
             ok: tuple[int, ...] = ()) -> Any:
        auth, headers = self._auth
        headers = {"Accept": "application/json", **headers}
        return http.request("Jira", method, self.api(path), transport=self._transport, json=json,
                            params=params, headers=headers, auth=auth, ok=ok)

    # --- request bodies ---------------------------------------------------------------
    def summary(self, alert: Alert) -> str:
        text = " ".join(alert.subject.split()) or f"logalert: {alert.rule.name}"
        return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 3] + "..."

    def description(self, alert: Alert) -> str:
        prefix = self.opt("jira_description") or ""
        return f"{prefix}\n{alert.body}" if prefix else alert.body

    def issue_fields(self, alert: Alert, priority_id: str | None = None,
                     custom: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``fields`` of ``POST /rest/api/2/issue``."""
        fields: dict[str, Any] = {
            "project": {"key": self.opt("jira_project")},
            "issuetype": {"name": self.opt("jira_issuetype")},
            "summary": self.summary(alert),
            "description": self.description(alert),
        }
        if self.opt("jira_parent"):
            fields["parent"] = {"key": self.opt("jira_parent")}
        if components := _listed(self.opt("jira_components", self.opt("jira_component"))):
            fields["components"] = [{"name": c} for c in components]
        if labels := _listed(self.opt("jira_labels", self.opt("jira_label"))):
            fields["labels"] = [str(label) for label in labels]
        if priority_id is not None:
            fields["priority"] = {"id": priority_id}
        fields.update(custom or {})
        return fields

    def search_text(self, alert: Alert) -> str:
        """The summary words searched for when bumping: ``jira_ignore_in_title``'s value
        left out, and characters JQL text search gives a meaning dropped."""
        title = self.summary(alert)
        ignore = self.opt("jira_ignore_in_title")
        if ignore and alert.matches:
            value = lookup(alert.matches[0].fields, ignore)
            if value not in (None, ""):
                title = title.replace(str(value), " ")
        return " ".join(_TEXT_SEARCH_SPECIAL.sub(" ", title).split())

    def search_jql(self, alert: Alert) -> str | None:
        """``summary ~ … AND project = … AND created >= -Nd [AND status (not) in (…)]``,
        newest first; None when there are no words to search for."""
        text = self.search_text(alert)
        if not text:
            return None
        age = float(self.opt("jira_max_age", 30))
        since = f"-{int(age)}d" if age.is_integer() else f"-{max(1, round(age * 1440))}m"
        clauses = [f"summary ~ {_jql_string(text)}", f"project = {_jql_string(str(self.opt('jira_project')))}",
                   f"created >= {since}"]
        for operator, option in (("in", "jira_bump_in_statuses"), ("not in", "jira_bump_not_in_statuses")):
            if statuses := _listed(self.opt(option)):
                clauses.append(f"status {operator} ({', '.join(_jql_string(str(s)) for s in statuses)})")
        return " AND ".join(clauses) + " ORDER BY created DESC"

    def comment_body(self, alert: Alert) -> dict[str, str]:
        when = f" at {alert.matches[0].timestamp.isoformat()}" if alert.matches else ""
        return {"body": f"This alert was triggered again{when}\n{alert.body}"}

    @staticmethod
    def user_body(user: str) -> dict[str, str]:
        """``PUT …/assignee``: Jira Cloud identifies users by account id, Server by name."""
        return {"accountId": user} if _ACCOUNT_ID.match(user) else {"name": user}

    def field_value(self, option: str, field: Mapping[str, Any], value: Any) -> Any:
        """``value`` shaped as Jira wants it for ``field`` (from ``GET /rest/api/2/field``)."""
        schema = field.get("schema") or {}
        kind = schema.get("type")
        if not kind:
            raise DeliveryError(f"{option}: Jira gives no type for field {field.get('name')!r}; it cannot be set",
                                retryable=False)
        value_objects = schema.get("custom") in _VALUE_OBJECT_TYPES
        if kind == "array":
            items = schema.get("items")
            values = _listed(value)
            if items in _TEXT_TYPES:
                return [{"value": str(v)} for v in values] if value_objects else [str(v) for v in values]
            if items == "number":
                return [_number(option, v) for v in values]
            if items == "option":
                return [{"value": str(v)} for v in values]
            return [{"name": str(v)} for v in values]  # user, version, component, group…
        if kind in _TEXT_TYPES:
            return {"value": str(value)} if value_objects else str(value)
        if kind == "number":
            return _number(option, value)
        if kind == "option":
            return {"value": str(value)}
        return {"name": str(value)}

    def custom_fields(self, alert: Alert, jira_fields: list[Mapping[str, Any]]) -> dict[str, Any]:
        """Field id -> value for every custom ``jira_*`` option."""
        out: dict[str, Any] = {}
        for option, value in self.custom_options().items():
            wanted = option[len("jira_"):].replace("_", " ").lower()
            field = next((f for by in ("name", "id") for f in jira_fields  # names first, as EA2
                          if str(f.get(by, "")).replace("_", " ").lower() == wanted), None)
            if field is None:
                raise DeliveryError(f"{option}: Jira has no field named or with id {wanted!r}", retryable=False)
            if isinstance(value, str) and value.startswith("#"):
                source = value[1:]
                value = lookup(alert.matches[0].fields, source) if alert.matches else None
                if value is None:
                    log.warning("rule %r: %s: the match has no field %r; Jira field %r left unset",
                                alert.rule.name, option, source, field.get("name"))
                    continue
            elif isinstance(value, str):
                ref = _RULE_REF.match(value)
                value = self.rule.get(ref.group(1)) if ref else value
            out[str(field["id"])] = self.field_value(option, field, value)
        return out

    # --- sending ----------------------------------------------------------------------
    def priority_id(self) -> str | None:
        index = self.opt("jira_priority")
        if index is None:
            return None
        priorities = self.call("GET", "priority").json()
        try:
            return str(priorities[int(index)]["id"])
        except (IndexError, KeyError, TypeError, ValueError):
            log.warning("jira_priority %s: Jira has %d priorities %s; the issue gets the default one", index,
                        len(priorities), [p.get("name") for p in priorities if isinstance(p, dict)])
            return None

    def find_issue(self, alert: Alert) -> dict[str, Any] | None:
        """The newest issue to bump, or None. A query Jira refuses (400: words its search
        cannot take) means a new issue, as in ElastAlert2; other failures propagate."""
        jql = self.search_jql(alert)
        if jql is None:
            return None
        params = {"jql": jql, "maxResults": 1, "fields": "summary,status,updated,created"}
        response = self.call("GET", "search", params=params, ok=(400, 410))
        if response.status_code == 410:  # Jira Cloud removed /search for /search/jql
            response = self.call("GET", "search/jql", params=params, ok=(400,))
        if response.status_code == 400:
            log.warning("rule %r: Jira refused the search for an issue to bump (%s): %s",
                        alert.rule.name, jql, " ".join(response.text.split())[:200])
            return None
        issues = response.json().get("issues") or []
        return issues[0] if issues else None

    def recently_updated(self, issue: Mapping[str, Any]) -> bool:
        days = float(self.opt("jira_bump_after_inactivity", 0) or 0)
        if days <= 0:
            return False
        updated = _parse_jira_time(str((issue.get("fields") or {}).get("updated") or ""))
        return updated is not None and updated > dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)

    def bump(self, alert: Alert, issue: Mapping[str, Any]) -> None:
        key = str(issue["key"])
        if self.recently_updated(issue):
            log.info("rule %r: Jira issue %s was updated within jira_bump_after_inactivity; not commented",
                     alert.rule.name, key)
            return
        self.call("POST", f"issue/{quote(key)}/comment", json=self.comment_body(alert))
        log.info("rule %r: commented on Jira issue %s", alert.rule.name, key)
        target = self.opt("jira_transition_to")
        if target:
            self.transition(alert, key, str(target))

    def transition(self, alert: Alert, key: str, target: str) -> None:
        try:
            found = self.call("GET", f"issue/{quote(key)}/transitions").json().get("transitions") or []
            chosen = next((t for t in found if t.get("name") == target), None)
            chosen = chosen or next((t for t in found if (t.get("to") or {}).get("name") == target), None)
            if chosen is None:
                log.warning("rule %r: Jira issue %s has no transition %r (available: %s)", alert.rule.name, key,
                            target, [t.get("name") for t in found])
                return
            self.call("POST", f"issue/{quote(key)}/transitions", json={"transition": {"id": str(chosen["id"])}})
        except DeliveryError as exc:
            log.warning("rule %r: could not transition Jira issue %s to %r: %s", alert.rule.name, key, target, exc)

    def create(self, alert: Alert) -> str:
        fields = self.custom_fields(alert, self.call("GET", "field").json()) if self.custom_options() else {}
        key = str(self.call("POST", "issue", json={"fields": self.issue_fields(alert, self.priority_id(), fields)})
                  .json()["key"])
        log.info("rule %r: opened Jira issue %s", alert.rule.name, key)
        # From here on the issue exists: a failure must not make the alert retry (a duplicate).
        assignee = self.opt("jira_assignee")
        if assignee:
            try:
                self.call("PUT", f"issue/{quote(key)}/assignee", json=self.user_body(str(assignee)))
            except DeliveryError as exc:
                log.warning("rule %r: could not assign Jira issue %s to %r: %s", alert.rule.name, key, assignee, exc)
        for watcher in _listed(self.opt("jira_watchers")):
            try:
                self.call("POST", f"issue/{quote(key)}/watchers", json=str(watcher))
            except DeliveryError as exc:
                log.warning("rule %r: could not add %r as a watcher of Jira issue %s: %s", alert.rule.name,
                            watcher, key, exc)
        return key

    def send(self, alert: Alert) -> None:
        self._auth = self.credentials()
        if self.opt("jira_bump_tickets"):
            issue = self.find_issue(alert)
            if issue is not None:
                self.bump(alert, issue)
                return
        if self.opt("jira_bump_only"):
            log.info("rule %r: no Jira issue to bump and jira_bump_only is set; none opened", alert.rule.name)
            return
        self.create(alert)

    def describe(self) -> str:
        parts = urlsplit(self.base)  # no user:password@ a URL may carry
        return f"jira project {self.options['jira_project']} at {parts.scheme}://{parts.netloc.rpartition('@')[2]}"
