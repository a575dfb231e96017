"""The HTML pages: a login form, and one shell per page whose content ``static/app.js``
builds from the API (the pages use exactly the API documented in the README). No inline
script or style: the Content-Security-Policy allows only this server's own files."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import logalert

PAGES = {
    "rules": "Rules",
    "rule": "Rule",
    "new": "New rule",
    "alerts": "Alert history",
    "silences": "Silences",
    "errors": "Error log",
}
NAV = (("rules", "/", "Rules"), ("alerts", "/alerts", "Alerts"), ("silences", "/silences", "Silences"),
       ("errors", "/errors", "Errors"))


def _head(title: str) -> str:
    version = escape(logalert.__version__)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} · logalert</title>'
            f'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
            f'<link rel="stylesheet" href="/static/app.css?v={version}">')


def shell(page: str, *, csrf: str, mode: str, path: str = "") -> str:
    """A page's frame: the top bar, and ``<main>`` for app.js to fill."""
    version = escape(logalert.__version__)
    nav = "".join(f'<a href="{href}"{" class=active" if page == name or (page in ("rule", "new") and name == "rules") else ""}>'
                  f'{label}</a>' for name, href, label in NAV)
    mode_label = "daemon" if mode == "daemon" else "console only"
    return (_head(PAGES.get(page, "logalert"))
            + f'<meta name="csrf-token" content="{escape(csrf)}">'
            + f'<script src="/static/editor.js?v={version}" defer></script>'
            + f'<script src="/static/app.js?v={version}" defer></script></head>'
            + f'<body data-page="{escape(page)}" data-path="{escape(path)}" data-mode="{escape(mode)}">'
            + '<header class="topbar"><a class="brand" href="/"><span class="logo" aria-hidden="true"></span>logalert</a>'
            + f'<nav>{nav}</nav><div class="spacer"></div>'
            + f'<span class="mode mode-{escape(mode)}" title="logalert run: the daemon schedules the rules; '
              f'logalert web: the console alone">{mode_label}</span>'
            + '<form method="post" action="/logout" class="logout">'
            + f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            + '<button type="submit" class="btn btn-quiet">Sign out</button></form></header>'
            + '<main id="main"><noscript>The console needs JavaScript; the API works without it.</noscript>'
            + '<div class="loading">Loading…</div></main></body></html>')


def login(*, next_url: str = "/", error: str = "", generated: bool = False) -> str:
    hint = ("The token was generated at start-up and printed by the daemon (set web_token to choose one)."
            if generated else "The token is the daemon's web_token (or LOGALERT_WEB_TOKEN).")
    problem = f'<p class="login-error" role="alert">{escape(error)}</p>' if error else ""
    return (_head("Sign in") + '</head><body class="login-page"><main class="login-card">'
            + '<div class="brand brand-large"><span class="logo" aria-hidden="true"></span>logalert</div>'
            + '<h1>Sign in to the console</h1>'
            + problem
            + f'<form method="post" action="/login?next={escape(quote(next_url, safe="/"))}">'
            + '<label for="token">Access token</label>'
            + '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>'
            + '<button type="submit" class="btn btn-primary btn-block">Sign in</button></form>'
            + f'<p class="hint">{escape(hint)}</p></main></body></html>')


def not_found(message: str) -> str:
    return (_head("Not found") + '</head><body class="login-page"><main class="login-card">'
            + f'<h1>Not found</h1><p>{escape(message)}</p><p><a href="/">Back to the rules</a></p></main></body></html>')
