"""The rule endpoints: list, read, save (validate first, atomic write), enable/disable,
delete, validate and Test. Every other answer of the API is in ``history``.

``{path}`` is relative to rules_folder and checked by ``paths.RulesFolder.resolve``
(400 when refused). Invalid text is answered 422 with ``[{line, option, message, file,
fatal}]`` and nothing is written. A read-only folder answers 409 with the reason.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import yaml

from logalert import secrets
from logalert.config.yamlfile import load_yaml_text
from logalert.daemon.web import ruletext
from logalert.daemon.web.checks import check_text, checking, problem
from logalert.daemon.web.paths import RulePath
from logalert.daemon.web.rulelist import Entry, liveness, silence_view, status_view
from logalert.daemon.web.testrun import run_test, window_of
from logalert.daemon.web.wire import HTTPError, Request, Response
from logalert.errors import ConfigError, EngineError

if TYPE_CHECKING:
    from logalert.daemon.web.console import Console

log = logging.getLogger(__name__)


def _raw_name(path: str) -> str | None:
    """The ``name:`` of a file the loader refused, when the YAML still says one."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    name = doc.get("name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) else None


def row(console: Console, entry: Entry, statuses: dict[str, Any], silences: list[Any]) -> dict[str, Any]:
    rule = entry.rule
    name = rule.name if rule else (None if entry.base else _raw_name(entry.path))
    until = max((s.until for s in silences if s.rule == name), default=None)
    return {"path": entry.rel, "base": entry.base, "name": name, "valid": rule is not None,
            "type": rule.type if rule else None, "index": rule.index if rule else None,
            "enabled": rule.get("is_enabled") is not False if rule else None,
            "notifiers": [t.name for t in rule.alerts] if rule else [],
            "query_key": list(rule.query_key) if rule else [],
            "errors": entry.errors, "warnings": entry.warnings,
            "status": status_view(statuses.get(name)) if name else None,
            "silenced_until": until.isoformat() if until else None,
            "live": liveness(entry, console.daemon, name)}


def list_rules(console: Console, req: Request) -> Response:
    entries = console.index.entries()
    statuses, silences, state_error = console.state_snapshot()
    return Response.json({"rules": [row(console, e, statuses, silences) for e in entries],
                          "read_only": console.folder.read_only(), "state_error": state_error,
                          "mode": console.mode, "rules_folder": console.folder.folder})


def _existing(path: RulePath) -> str:
    if not os.path.isfile(path.real):
        raise HTTPError(404, f"no rule file {path.rel}")
    return ruletext.read(path.real)


def get_rule(console: Console, req: Request, path: RulePath) -> Response:
    text = _existing(path)
    entry = console.index.find(path.rel) or Entry(path.rel, path.real)
    statuses, silences, state_error = console.state_snapshot()
    out = row(console, entry, statuses, silences)
    out.update(yaml=ruletext.mask(text), etag=ruletext.etag(text), read_only=console.folder.read_only(),
               not_loaded=console.folder.loaded_as_rule(path), state_error=state_error,
               silences=[silence_view(s) for s in silences if s.rule == out["name"]])
    return Response.json(out, raw=("yaml",), ETag=f'"{out["etag"]}"')


def _writable(console: Console) -> None:
    reason = console.folder.read_only()
    if reason:
        raise HTTPError(409, f"read-only: {reason}", read_only=reason)


def _stored(console: Console, path: RulePath, req: Request, source: str | None = None) -> str | None:
    """The text whose secrets a ``<secret>`` keeps: the file's own, else (a copy being
    created) that of ``?secrets_from=`` (or ``secrets_from`` in a JSON body)."""
    if os.path.isfile(path.real):
        return ruletext.read(path.real)
    source = source or req.query.get("secrets_from")
    if source:
        other = console.folder.resolve(source)
        if os.path.isfile(other.real):
            return ruletext.read(other.real)
    return None


def _check(console: Console, path: RulePath, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """(errors, warnings, rule name) of ``text`` as the file ``path``."""
    if path.base:  # an import base need not be a whole rule: it must be a YAML mapping
        try:
            doc = load_yaml_text(text, path.rel)
        except ConfigError as exc:
            return [problem(p.line, p.option, p.message, path.rel) for p in exc.problems], [], None
        if doc is not None and not isinstance(doc, dict):
            return [problem(1, None, "an import base must be a mapping of options", path.rel)], [], None
        return [], [], None
    checked = check_text(console.config, console.folder, path.rel, text)
    errors, name = list(checked.errors), checked.rule.name if checked.rule else None
    if name is not None:
        other = console.index.name_taken(name, path.rel)
        if other:
            line = checked.rule.positions.get("name", ("", None))[1] if checked.rule else None
            errors.append(problem(line, "name", f"duplicate rule name, also used in {other}", path.rel))
    return errors, checked.warnings, name


def _save(console: Console, path: RulePath, text: str, req: Request, *, restore: bool = True) -> Response:
    _writable(console)
    console.index.entries()  # re-read changed files first, outside the isolation: their secrets are real
    with console.write_lock, secrets.isolated():
        existed = os.path.isfile(path.real)
        stored = _stored(console, path, req)
        current = ruletext.read(path.real) if existed else None
        wanted = (req.header("if-match") or "").strip('"')
        if wanted and wanted != "*" and (current is None or ruletext.etag(current) != wanted):
            raise HTTPError(412, "the file changed since you loaded it (someone else saved it): reload and "
                                 "apply your change again", etag=ruletext.etag(current) if current else None)
        if req.header("if-none-match") == "*" and existed:
            raise HTTPError(412, f"{path.rel} exists already")
        if restore:
            text, findings = ruletext.restore(text, stored)
            if findings:
                return Response.json([problem(f.line, f.option, f.message, path.rel) for f in findings], 422)
        errors, warnings, name = _check(console, path, text)
        if errors:
            return Response.json(errors, 422)
        ruletext.write_atomic(path.real, text, console.folder.real)
    log.info("web console: %s %s%s", "saved" if existed else "created", path.rel, f" (rule {name!r})" if name else "")
    console.reload_soon()
    entry = console.index.find(path.rel)
    return Response.json({"path": path.rel, "name": name, "created": not existed, "etag": ruletext.etag(text),
                          "warnings": warnings, "not_loaded": console.folder.loaded_as_rule(path),
                          "live": liveness(entry, console.daemon, name)}, 201 if not existed else 200,
                         ETag=f'"{ruletext.etag(text)}"')


def put_rule(console: Console, req: Request, path: RulePath) -> Response:
    content_type = (req.header("content-type") or "").split(";")[0].strip().lower()
    text = req.json().get("yaml") if content_type == "application/json" else req.text()
    if not isinstance(text, str):
        raise HTTPError(400, "the body is the rule's YAML text (or JSON {\"yaml\": \"...\"})")
    return _save(console, path, text, req)


def patch_rule(console: Console, req: Request, path: RulePath) -> Response:
    """``{"is_enabled": true|false}``: only that line of the file changes."""
    body = req.json()
    if set(body) != {"is_enabled"} or not isinstance(body["is_enabled"], bool):
        raise HTTPError(400, 'the body is {"is_enabled": true} or {"is_enabled": false}')
    text = _existing(path)
    try:
        changed = ruletext.set_enabled(text, body["is_enabled"])
    except (ValueError, yaml.YAMLError) as exc:
        raise HTTPError(422, f"cannot set is_enabled: {exc}") from None
    return _save(console, path, changed, req, restore=False)


def delete_rule(console: Console, req: Request, path: RulePath) -> Response:
    _writable(console)
    with console.write_lock:
        _existing(path)
        os.unlink(os.path.join(console.folder.real, *path.rel.split("/")))  # a symlink itself, not its target
    log.info("web console: deleted %s", path.rel)
    console.reload_soon()
    return Response.json({"deleted": path.rel})


def _draft(console: Console, body: dict[str, Any], req: Request) -> tuple[RulePath, str]:
    """The text to check or test: ``yaml`` as the file ``path``, or the saved file itself."""
    path = console.folder.resolve(str(body.get("path") or "new-rule.yaml"))
    text = body.get("yaml")
    if text is None:
        return path, _existing(path)
    if not isinstance(text, str):
        raise HTTPError(400, "yaml: the rule's text")
    source = body.get("secrets_from")
    restored, findings = ruletext.restore(text, _stored(console, path, req, source if isinstance(source, str) else None))
    if findings:
        raise HTTPError(422, "keeps <secret> with no stored value",
                        problems=[problem(f.line, f.option, f.message, path.rel) for f in findings])
    return path, restored


def validate(console: Console, req: Request) -> Response:
    """``{"yaml": "...", "path": "x.yaml"}`` -> ``{"valid", "errors", "warnings", "name"}`` (200)."""
    console.index.entries()
    with secrets.isolated():
        try:
            path, text = _draft(console, req.json(), req)
        except HTTPError as exc:
            if exc.status != 422:
                raise
            return Response.json({"valid": False, "errors": exc.extra["problems"], "warnings": [], "name": None})
        errors, warnings, name = _check(console, path, text)
        return Response.json({"valid": not errors, "errors": errors, "warnings": warnings, "name": name})


def test(console: Console, req: Request) -> Response:
    """``{"yaml"|"path", "hours"|"start"/"end", "send"}``: the Test report (testrun)."""
    body = req.json()
    try:
        window = window_of(body)
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None
    send = body.get("send") is True
    if not console.tests.acquire(timeout=60):
        raise HTTPError(503, "other Tests are running; try again in a minute")
    try:
        with secrets.isolated():
            try:
                path, text = _draft(console, body, req)
            except HTTPError as exc:
                if exc.status != 422:
                    raise
                return Response.json(exc.extra["problems"], 422)
            with checking(console.config, console.folder, path.rel, text) as checked:
                if not checked.valid or checked.rule is None:
                    return Response.json(checked.errors, 422)
                try:
                    report = run_test(checked.rule, checked, console.pool, window, send=send)
                except EngineError as exc:  # e.g. the writeback of a notifier: never a crash of the console
                    report = {"errors": [problem(None, None, str(exc), path.rel)]}
                return Response.json(report)
    finally:
        console.tests.release()
