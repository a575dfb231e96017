"""The web console: the rule list, a YAML editor with Test and Save, silences, alert
history and the error log, over a token-protected JSON API (README, "Web console").

Served by ``logalert run`` (next to the scheduler: saves are picked up by hot reload)
and by ``logalert web`` (the console alone). Modules, each one job:

- ``server``: the HTTP server, routing, the CSRF and auth gates
- ``auth``: the token, session cookies, CSRF tokens
- ``console``: what the handlers share (config, folder, state, pool, daemon)
- ``api``: the rule endpoints; ``history``: status, alerts, errors, silences
- ``paths``: rule paths from URLs, never outside rules_folder
- ``ruletext``: secrets masked and kept, ``is_enabled`` edits, atomic writes
- ``checks``: validating draft text as ``logalert validate`` does
- ``rulelist``: the folder listing, joined with status and liveness
- ``testrun``: Test, through the runner test-rule uses
- ``pages`` + ``static/``: the HTML shells, hand-written JS and CSS (no third-party code)
"""

from logalert.daemon.web.auth import TokenRequired
from logalert.daemon.web.console import DEFAULT_PORT, Console
from logalert.daemon.web.server import serve

__all__ = ["DEFAULT_PORT", "Console", "TokenRequired", "serve"]
