"""``alert: apprise``: the alert to any of the 150+ services Apprise knows, by URL
(``json://``, ``form://``, ``tgram://``, ``discord://``, ``mailto://``, ``ntfy://`` …).

Options: ``apprise_urls`` (one URL, or a list whose items are URLs or ``{url: URL, tag:
TAG or [TAGS]}``), ``apprise_config`` (path to an Apprise config file, text or YAML, with
more URLs and their tags), ``apprise_tags`` (one or a list: only URLs carrying one of
them are notified, plus those tagged ``always`` — Apprise's own rule; without it every
URL is notified, tagged or not), ``apprise_title`` (default: the alert subject),
``apprise_body_format`` (how the body is written: text, markdown or html; Apprise
converts it for each service), ``apprise_notify_type`` (info/success/warning/failure:
the ``type`` field, colour or icon most services show; a resolved notice is always
``success``) and ``apprise_timeout``.

Tags: Apprise does not read a ``?tag=`` from a URL string (only its config files tag
URLs), so a rule tags a URL with the mapping form. Tags pay off with a shared
``apprise_config`` file, or URLs set once in an ``import:``-ed base rule, each rule then
picking its audience with ``apprise_tags``. Tag priorities (Apprise's ``1:ops``
escalation) are not used: every selected URL is notified.

Delivery: every selected URL is notified (in parallel, each by its own Apprise call, so
each URL's outcome is known); the notification is delivered only when every URL
succeeded. After a partial failure the notifier remembers, per alert and in memory,
which URLs succeeded, and a retry (within the run or by a later run of the same
process) re-sends only to the others. A restart or a rule reload forgets it: the next
retry re-sends to every URL, a duplicate on those that had it. A URL that times out may
still deliver afterwards (Apprise stops waiting, its request goes on), so retrying it
may duplicate too. Apprise reports no HTTP status, only log lines: a failure is
retryable unless every failed URL logged an ``error=4xx`` (other than 408 and 429).

``apprise_timeout`` (default 10 s) is Apprise's deadline for each URL (its
``service_timeout`` and ``notify(timeout=…)``) and its socket connect/read timeouts,
unless a URL sets its own ``?cto=``/``?rto=``.

Secrets: every URL carries tokens. The URLs are masked everywhere (``logalert.secrets``);
their parts (host, user, password, path segments, query values) are masked in Apprise's
log records and in this notifier's errors only — not process-wide, where a host such as
``127.0.0.1`` would blank unrelated output. Apprise's logger is kept at WARNING.

``apprise`` is imported inside functions (rule loading reads ``OPTIONS`` of every
notifier); absolute imports make ``import apprise`` the library, not this module.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, STRING, STRING_OR_LIST, Option
from logalert.secrets import MASK, mask, register

_URL = {"type": "string", "minLength": 1}
_TAGS = {"anyOf": [_URL, {"type": "array", "items": _URL, "minItems": 1}]}
URLS: Mapping[str, Any] = {
    "description": "an Apprise URL, or a list of URLs and {url: URL, tag: TAG or [TAGS]} mappings",
    "errorMessage": "must be an Apprise URL or a list of them, each a URL or {url: URL, tag: TAG or [TAGS]}",
    "anyOf": [_URL, {"type": "array", "minItems": 1, "items": {"anyOf": [
        _URL, {"type": "object", "required": ["url"], "additionalProperties": False,
               "properties": {"url": _URL, "tag": _TAGS}}]}}],
}

OPTIONS = (
    Option("apprise_urls", URLS, scope=ALERTER, secret=True, description="Apprise URLs (each carries tokens)"),
    Option("apprise_config", STRING, scope=ALERTER, description="path to an Apprise config file (text or YAML)"),
    Option("apprise_tags", STRING_OR_LIST, scope=ALERTER, description="notify only the URLs tagged so"),
    Option("apprise_title", STRING, scope=ALERTER, description="default: the alert subject"),
    Option("apprise_body_format", {"enum": ["text", "markdown", "html"]}, "text", ALERTER),
    Option("apprise_notify_type", {"enum": ["info", "success", "warning", "failure"]}, "warning", ALERTER),
    Option("apprise_timeout", {"type": "number", "exclusiveMinimum": 0}, 10, ALERTER,
           description="seconds Apprise waits for each URL"),
)
REQUIRED: tuple[str, ...] = ()  # apprise_urls or apprise_config: check() says so

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://")
_SPLIT = re.compile(r"[\s,]+(?=[A-Za-z][A-Za-z0-9+.-]{0,31}://)")
_REFUSED = re.compile(r"\berror=(4\d\d)\b")
_REMEMBERED_ALERTS = 256  # alerts whose partly-delivered URLs a notifier remembers

# --- masking of URL parts in Apprise's output -------------------------------------------
_lock = threading.Lock()
_parts: set[str] = set()
_muted: contextvars.ContextVar[bool] = contextvars.ContextVar("logalert_apprise_muted", default=False)
_guarded = False


def _url_parts(url: str) -> set[str]:
    """The pieces of ``url`` Apprise may quote on their own: userinfo, host, path segments,
    query values (raw and unquoted). Short ones (< 4 characters) are no secret."""
    found = {url}
    try:
        split = urlsplit(url.strip())
    except ValueError:
        return found
    userinfo, _, hostport = split.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    found.update({split.netloc, userinfo, user, password, hostport, hostport.rsplit(":", 1)[0], split.path})
    found.update(s for s in split.path.split("/") if len(s) >= 6)
    found.update(v for _, v in parse_qsl(split.query) if len(v) >= 6)
    found |= {unquote(p) for p in found}
    # A bare scheme ("json://") is no secret, and masking it would hide which URL is meant.
    return {p for p in found if len(p) >= 4 and p.strip("/") and p.rstrip(":/").lower() != split.scheme.lower()}


def _remember(urls: list[str]) -> None:
    """Mask these URLs everywhere, and their parts in Apprise's output and our errors."""
    register(urls)
    with _lock:
        for url in urls:
            _parts.update(_url_parts(url))


def _mask(text: str) -> str:
    text = mask(text)
    with _lock:
        known = sorted(_parts, key=len, reverse=True)
    for part in known:
        if part in text:
            text = text.replace(part, MASK)
    return text


class _Privacy(logging.Filter):
    """On Apprise's logger: drops its records while ``check`` probes URLs, masks the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _muted.get():
            return False
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = _mask(record.getMessage()), ()
        return True


def _guard() -> None:
    """Apprise's logger at WARNING (unless set otherwise) and masked; once."""
    global _guarded
    with _lock:
        if _guarded:
            return
        log = logging.getLogger("apprise")
        if log.level == logging.NOTSET:
            log.setLevel(logging.WARNING)
        log.addFilter(_Privacy())
        _guarded = True


# --- options ----------------------------------------------------------------------------
def _list(value: Any) -> list[Any]:
    if not value:
        return []
    return [value] if isinstance(value, (str, dict)) else list(value)


def _entries(value: Any) -> Iterator[tuple[str, str, list[str]]]:
    """(label, url, tags) per URL of ``apprise_urls``; the label names the item
    (``apprise_urls[2]``) and never quotes it. A string may hold several URLs."""
    items = _list(value)
    for i, item in enumerate(items):
        label = "apprise_urls" if isinstance(value, str) else f"apprise_urls[{i}]"
        url, tags = (item.get("url"), item.get("tag")) if isinstance(item, dict) else (item, None)
        if not isinstance(url, str):
            continue
        for piece in _SPLIT.split(url.strip()):
            if piece:
                yield label, piece, [str(t) for t in _list(tags)]


def _scheme(url: str) -> str | None:
    found = _SCHEME.match(url.strip())
    return found.group(1).lower() if found else None


def _unusable(url: str) -> str | None:
    """Why Apprise cannot use ``url`` (never quoting it), or None."""
    from apprise import Apprise
    from apprise.plugins import N_MGR

    scheme = _scheme(url)
    if scheme is None:
        return "it has no scheme; an Apprise URL looks like json://host/path"
    if scheme not in N_MGR:
        return f"scheme '{scheme}://' is not one it knows"
    plugin = N_MGR[scheme]
    if not plugin.enabled:
        needs = ", ".join((getattr(plugin, "requirements", None) or {}).get("packages_required") or [])
        return f"'{scheme}://' is disabled here" + (f" (it needs {needs})" if needs else "")
    if Apprise().add(url):
        return None
    try:
        Apprise.instantiate(url, suppress_exceptions=False)
    except Exception as exc:  # noqa: BLE001 - the plugin's own words say what is wrong
        return f"{plugin.service_name}: {_mask(' '.join(str(exc).split()))[:200]}"
    where = getattr(plugin, "setup_url", None)
    return f"a '{scheme}://' URL {plugin.service_name} cannot use" + (f"; see {where}" if where else "")


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every URL must be one Apprise can use; tags must select some URL."""
    entries = list(_entries(options.get("apprise_urls")))
    if not entries and not options.get("apprise_config"):
        return [("apprise_urls", "set apprise_urls (one Apprise URL or a list) or apprise_config")]
    _remember([url for _, url, _ in entries])
    _guard()
    token = _muted.set(True)  # Apprise logs a URL it cannot parse, unmasked
    try:
        problems = [(label, f"Apprise cannot parse this URL ({reason})")
                    for label, url, _ in entries if (reason := _unusable(url))]
        tags = [str(t) for t in _list(options.get("apprise_tags"))]
        if tags and not problems and not options.get("apprise_config"):
            from apprise import Apprise

            apobj = Apprise()
            for _, url, url_tags in entries:
                apobj.add(url, tag=url_tags or None)
            if not list(apobj.find(tag=tags)):
                problems.append(("apprise_tags", "no URL of apprise_urls carries any of these tags "
                                                 "(tag one with {url: URL, tag: [TAGS]})"))
    finally:
        _muted.reset(token)
    return problems


# --- the notifier -----------------------------------------------------------------------
class AppriseAlerter(Alerter):
    name = "apprise"

    def __init__(self, rule: Any, options: Mapping[str, Any]):
        super().__init__(rule, options)
        self.entries = list(_entries(self.options.get("apprise_urls")))
        self.tags = [str(t) for t in _list(self.options.get("apprise_tags"))]
        _remember([url for _, url, _ in self.entries])
        self._delivered: OrderedDict[str, set[str]] = OrderedDict()
        self._memory = threading.Lock()

    def _services(self, apprise: Any, asset: Any) -> list[tuple[str, Any]]:
        """(label, service) of every URL the tags select, in order."""
        apobj = apprise.Apprise(asset=asset)
        labels: dict[int, str] = {}
        for label, url, tags in self.entries:
            before = len(apobj.services)
            if not apobj.add(url, tag=tags or None):
                raise DeliveryError(f"{label}: Apprise cannot parse this URL", retryable=False)
            labels.update((id(s), label) for s in apobj.services[before:])
        path = self.options.get("apprise_config")
        if path:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise DeliveryError(f"cannot read apprise_config {path}: {exc.strerror}", retryable=False) from None
            loaded = apprise.AppriseConfig(paths=os.path.abspath(path), asset=asset).services()
            if not loaded:
                raise DeliveryError(f"apprise_config {path} holds no URL Apprise can use", retryable=False)
            _remember([s.url(privacy=False) for s in loaded])
            for service in loaded:
                apobj.add(service)
                labels[id(service)] = "apprise_config"
        selected = list(apobj.find(tag=self.tags)) if self.tags else list(apobj.find())
        if not selected:
            raise DeliveryError(f"apprise_tags {', '.join(self.tags)} select none of the {len(apobj.services)} "
                                "Apprise URLs", retryable=False)
        return [(labels.get(id(s), "apprise_urls"), s) for s in selected]

    @staticmethod
    def _key(label: str, service: Any) -> str:
        """The same URL gets the same key in every send (services are rebuilt each time)."""
        try:
            identity = service.url(privacy=False)
        except Exception:  # noqa: BLE001 - a plugin bug; fall back to where it came from
            identity = f"{label}/{service.service_name}"
        tags = ",".join(sorted(str(t) for t in service.tags))
        return hashlib.sha256(f"{identity}#{tags}".encode()).hexdigest()

    def send(self, alert: Alert) -> None:
        import apprise

        _guard()
        o = self.options
        timeout = float(o["apprise_timeout"])
        asset = apprise.AppriseAsset(service_timeout=timeout)
        selected = self._services(apprise, asset)
        memo = f"{alert.id}/{getattr(alert, 'status', '')}"  # a resolved notice is another message
        with self._memory:
            done = set(self._delivered.get(memo, ()))
        pending, seen = [], set(done)
        for label, service in selected:  # a URL listed twice is notified once
            if (key := self._key(label, service)) not in seen:
                seen.add(key)
                pending.append((label, service, key))
        title = o.get("apprise_title") or alert.subject
        body = alert.body or title  # Apprise refuses an empty body
        notify_type = "success" if getattr(alert, "resolved", False) else o["apprise_notify_type"]

        def one(item: tuple[str, Any, str]) -> tuple[Any, list[str], float]:
            _label, service, _key = item
            for attr, default in (("socket_connect_timeout", apprise.URLBase.socket_connect_timeout),
                                  ("socket_read_timeout", apprise.URLBase.socket_read_timeout)):
                if getattr(service, attr, None) == default:  # not set by the URL's ?cto=/?rto=
                    setattr(service, attr, timeout)
            started = time.monotonic()
            try:
                with apprise.Apprise(services=[service], asset=asset).notify(
                        body=body, title=title, body_format=o["apprise_body_format"],
                        notify_type=notify_type, timeout=timeout) as result:
                    status, lines = result.status, [_mask(e.message) for e in result.logs()]
            except Exception as exc:  # noqa: BLE001 - Apprise or a plugin crashed: worth a retry
                status, lines = apprise.AppriseResultStatus.FAILURE, [_mask(f"{type(exc).__name__}: {exc}")]
            return status, lines, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=min(8, len(pending) or 1), thread_name_prefix="apprise") as pool:
            outcomes = list(pool.map(one, pending))
        succeeded = {key for (_, _, key), (status, _, _) in zip(pending, outcomes)
                     if status == apprise.AppriseResultStatus.SUCCESS}
        failed = [(label, service.service_name, status is apprise.AppriseResultStatus.TIMEOUT, lines, took)
                  for (label, service, key), (status, lines, took) in zip(pending, outcomes) if key not in succeeded]
        self._note(memo, done | succeeded, finished=not failed)
        if failed:
            raise self._error(failed, len(selected), timeout)

    def _note(self, memo: str, delivered: set[str], *, finished: bool) -> None:
        with self._memory:
            self._delivered.pop(memo, None)
            if not finished and delivered:
                self._delivered[memo] = delivered
                while len(self._delivered) > _REMEMBERED_ALERTS:
                    self._delivered.popitem(last=False)

    @staticmethod
    def _error(failed: list[tuple[str, str, bool, list[str], float]], total: int, timeout: float) -> DeliveryError:
        reasons, refused = [], 0
        for label, service_name, timed_out, lines, took in failed:
            if timed_out:
                why = f"no answer within {timeout:g} s (delivery unknown)"
            else:
                why = " ".join(" ".join(lines).split())[:300] or "failed (Apprise logged no reason)"
                codes = [int(c) for c in _REFUSED.findall(" ".join(lines))]
                refused += bool(codes) and all(c not in (408, 429) for c in codes)
                if took >= 0.9 * timeout:  # its socket timeout, which Apprise logs as a connection error
                    why += f" (after {took:.1f} s, the apprise_timeout: delivery unknown)"
            reasons.append(f"{label} ({service_name}): {why}")
        delivered = total - len(failed)
        head = f"Apprise: {len(failed)} of {total} URL{'s' if total != 1 else ''} not delivered"
        if delivered:
            head += f" ({delivered} delivered; a retry re-sends only to the others)"
        return DeliveryError(_mask(f"{head}: {'; '.join(reasons)}"), retryable=refused < len(failed))

    def describe(self) -> str:
        schemes = [f"{_scheme(url) or '?'}://<secret>" for _, url, _ in self.entries]
        parts = [f"{len(schemes)} URL{'s' if len(schemes) != 1 else ''}: {', '.join(schemes)}"] if schemes else []
        if self.options.get("apprise_config"):
            parts.append(f"config {self.options['apprise_config']}")
        if self.tags:
            parts.append(f"tags {', '.join(self.tags)}")
        return f"apprise ({'; '.join(parts)})"
