"""``alert: command``: run a program for each alert.

ElastAlert2's command alerter. ``command`` is a list (the program and its arguments,
run directly, no shell) or a string (run by ``/bin/sh -c``). Arguments may name fields of
the alert's first match as ``%(field.path)s`` or ``{match[field.path]}``; ``%%`` is a
literal ``%``. A field the match lacks fails the alert instead of running the command
with a hole in its arguments.

The string form hands log data to a shell, so every value filled into it is shell-quoted
for the place it stands in: bare, or inside the rule's own '…' or "…" (closed and
reopened around the value), so ``'%(user)s'`` from an ElastAlert rule stays one word.
ElastAlert2 pasted values in as they were: a log line holding ``'; rm -rf ~; '`` ran.
Where no quoting can be trusted (inside ``$(…)``, backticks, ``${…}``, ``$'…'``, or right
after a backslash or ``$``) a placeholder is refused when the rule is loaded. The list
form needs no quoting and is the one to prefer; a value may still begin with ``-``, so
write ``--host=%(host)s`` where a program would take it for an option.

The child does not inherit the daemon's environment, which holds credentials such as
``LOGALERT_ES_PASSWORD``: it gets PATH, HOME, LANG and TZ, plus ``LOGALERT_RULE``,
``LOGALERT_ALERT_ID`` and ``LOGALERT_SUBJECT``. It is killed (with any children it
started) after ``command_timeout`` seconds; its output is kept for the error message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from logalert.errors import DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.http import TIMEOUT
from logalert.notify.alerters.post import field_value, first_match
from logalert.options import ALERTER, BOOLEAN, STRING_OR_LIST, Option
from logalert.secrets import mask
from logalert.timeutil import iso

if TYPE_CHECKING:
    import subprocess

log = logging.getLogger(__name__)

OPTIONS = (
    Option("command", STRING_OR_LIST, scope=ALERTER,
           description="a list (program and arguments, no shell) or a string run by /bin/sh; "
                       "%(field)s fills in a field of the first match"),
    Option("pipe_match_json", BOOLEAN, False, ALERTER,
           description="write the matches as a JSON array to the command's standard input"),
    Option("pipe_alert_text", BOOLEAN, False, ALERTER,
           description="write the alert text to the command's standard input"),
    Option("fail_on_non_zero_exit", BOOLEAN, False, ALERTER,
           description="a non-zero exit status fails the alert (else it is only logged)"),
    Option("command_timeout", TIMEOUT, 60, ALERTER, description="seconds; the command is killed after that"),
)
REQUIRED = ("command",)

PASSED_ENVIRONMENT = ("PATH", "HOME", "LANG", "TZ")
_PLACEHOLDER = re.compile(r"%%|%\((?P<old>[^()]+)\)s|\{match\[(?P<new>[^\[\]{}]+)\]\}")
_MISSING = object()
_TAIL = 400  # characters of the command's output quoted in an error


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    command = options.get("command")
    if isinstance(command, str):
        for found, quoting in _shell_placeholders(command):
            if quoting == _UNSAFE:
                out.append(("command", _unsafe(found.group(0))))
                break
    if options.get("pipe_match_json") and options.get("pipe_alert_text"):
        out.append(("pipe_alert_text",
                    "cannot be used together with pipe_match_json: the command has one standard input"))
    return out


def _text(value: Any) -> str:
    """An argument from a field value: text as is, structures as JSON, null as nothing."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value).replace("\0", "")


def _field_text(found: re.Match[str], match: Match | None) -> str:
    """The text a placeholder stands for; DeliveryError (not retryable) when the match
    lacks the field: a command with a hole in its arguments may do the wrong thing."""
    name = found.group("old") or found.group("new")
    if match is None:
        raise DeliveryError(f"command: cannot fill in {name!r}: the alert carries no match "
                            "(re-sent after a restart)", retryable=False)
    value = field_value(match, name, _MISSING)
    if value is _MISSING:
        raise DeliveryError(f"command: field {name!r} named in the command is not in the match", retryable=False)
    return _text(value)


def fill(template: str, match: Match | None) -> str:
    """One argument of the list form: placeholders replaced as they are (no shell reads it)."""
    return _PLACEHOLDER.sub(lambda found: "%" if found.group(0) == "%%" else _field_text(found, match), template)


_UNSAFE = "$"  # a place no quoting of ours can be trusted


def _scan(text: str, start: int, end: int, stack: list[str]) -> bool:
    """Follow the shell's quoting from ``start`` to ``end``: ``stack`` holds the open
    contexts (``'``, ``"``, ANSI-C ``$'``, and the substitutions ``$(``, ``${`` and
    backtick). True when the character at ``end`` is escaped by a backslash."""
    i = start
    while i < end:
        c, top = text[i], (stack[-1] if stack else "")
        if top == "'":
            if c == "'":
                stack.pop()
        elif c == "\\":
            i += 1  # the next character is escaped
        elif top in ("`", "$'"):
            if c == top[-1]:
                stack.pop()
        elif text.startswith(("$(", "${"), i) or (text.startswith("$'", i) and top != '"'):
            stack.append(text[i:i + 2])
            i += 1
        elif c == "`":
            stack.append(c)
        elif top == '"':
            if c == '"':
                stack.pop()
        elif c in "'\"":
            stack.append(c)
        elif (c, top) in ((")", "$("), ("}", "${")):
            stack.pop()
        i += 1
    return i > end


def _shell_placeholders(command: str) -> Iterator[tuple[re.Match[str], str]]:
    """Each placeholder of a shell command with the quoting it stands in: "" (none),
    ``'`` or ``"``; or ``$`` where no quoting can be trusted: inside a substitution or
    ANSI-C quotes, or right after a backslash or a ``$``."""
    stack: list[str] = []
    pos = 0
    for found in _PLACEHOLDER.finditer(command):
        escaped = _scan(command, pos, found.start(), stack)
        pos = found.end()
        top = stack[-1] if stack else ""
        unsafe = escaped or any(c not in ("'", '"') for c in stack) or (
            top != "'" and command[:found.start()].endswith("$"))
        yield found, _UNSAFE if unsafe and found.group(0) != "%%" else top


def _unsafe(placeholder: str) -> str:
    return (f"{placeholder} stands where its value cannot be quoted safely (inside $(…), ${{…}}, `…` or $'…', "
            "or right after a backslash or $); use the list form")


def fill_shell(command: str, match: Match | None) -> str:
    """The shell form with every value shell-quoted for where it stands: bare, or by
    closing and reopening the quotes the rule put around it (``'%(user)s'`` from an
    ElastAlert rule stays one safe word)."""
    parts: list[str] = []
    pos = 0
    for found, quoting in _shell_placeholders(command):
        parts.append(command[pos:found.start()])
        pos = found.end()
        if found.group(0) == "%%":
            parts.append("%")
        elif quoting == _UNSAFE:
            raise DeliveryError(f"command: {_unsafe(found.group(0))}", retryable=False)
        else:
            parts.append(f"{quoting}{shlex.quote(_field_text(found, match))}{quoting}")
    parts.append(command[pos:])
    return "".join(parts)


def _tail(output: bytes) -> str:
    text = " ".join(output.decode("utf-8", errors="replace").split())
    return text if len(text) <= _TAIL else "…" + text[-_TAIL:]


def _kill(process: subprocess.Popen[bytes]) -> None:
    """The child and everything it started (its own session, see send)."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


class CommandAlerter(Alerter):
    name = "command"

    def argv(self, alert: Alert) -> list[str] | str:
        """The command to run: a list for exec, a string for the shell."""
        command = self.options["command"]
        match = first_match(alert)
        if isinstance(command, str):
            return fill_shell(command, match)
        return [fill(arg, match) for arg in command]

    def stdin(self, alert: Alert) -> bytes | None:
        """What goes to the command's standard input (None: nothing, it reads /dev/null).
        ElastAlert2 writes the match list (an array even for one match) and a newline."""
        if self.options.get("pipe_match_json"):
            documents = [dict(m.fields) for m in alert.matches]
            return (json.dumps(documents, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        if self.options.get("pipe_alert_text"):
            return alert.body.encode("utf-8")
        return None

    def environment(self, alert: Alert) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSED_ENVIRONMENT if k in os.environ}
        env.setdefault("PATH", os.defpath)
        env["LOGALERT_RULE"] = alert.rule.name
        env["LOGALERT_ALERT_ID"] = alert.id
        env["LOGALERT_SUBJECT"] = alert.subject
        env["LOGALERT_STATUS"] = alert.status  # firing, or resolved (send_resolved)
        if alert.since is not None:
            env["LOGALERT_FIRING_SINCE"] = iso(alert.since)
        if alert.firing_seconds is not None:
            env["LOGALERT_FIRING_SECONDS"] = f"{alert.firing_seconds:g}"
        return {k: v.replace("\0", "") for k, v in env.items()}

    def program(self) -> str:
        """The command's name for messages: its program, never its arguments (they may
        hold tokens); the shell form is named as such."""
        command = self.options.get("command")
        if isinstance(command, str):
            return "shell command"
        return command[0] if command else "?"

    def send(self, alert: Alert) -> None:
        import subprocess

        args = self.argv(alert)
        data = self.stdin(alert)
        timeout = float(self.options["command_timeout"])
        program = self.program()
        try:
            process = subprocess.Popen(args, shell=isinstance(args, str), env=self.environment(alert),
                                       stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
                                       start_new_session=True)  # its own process group: killed as one
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise DeliveryError(mask(f"command {program} cannot be run: {exc.strerror}"), retryable=False) from None
        except OSError as exc:  # out of processes or memory: may pass
            raise DeliveryError(mask(f"command {program} could not start: {exc}"), retryable=True) from None
        try:
            out, err = process.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            try:
                out, err = process.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # a grandchild that left the group holds the pipes
                out, err = b"", b""
                for pipe in (process.stdin, process.stdout, process.stderr):
                    if pipe is not None:
                        pipe.close()
                try:
                    process.wait(timeout=5)  # the child itself was killed: reap it
                except subprocess.TimeoutExpired:
                    pass
            tail = _tail(err or out)
            raise DeliveryError(mask(f"command {program} did not finish within {timeout:g} s and was killed "
                                     f"(delivery unknown){': ' + tail if tail else ''}"), retryable=True) from None
        status = process.returncode
        if status == 0:
            return
        what = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        tail = _tail(err or out)
        message = mask(f"command {program} {what}{': ' + tail if tail else ''}")
        if self.options.get("fail_on_non_zero_exit"):
            raise DeliveryError(message, retryable=True)
        log.warning("rule %r: %s (fail_on_non_zero_exit is off: counted as sent)", alert.rule.name, message)

    def describe(self) -> str:
        return f"command {self.program()}"
