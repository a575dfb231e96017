"""Command line: ``logalert run | web | test-rule | validate | init | status | silence``.

Exit codes: 0 fine, 1 invalid config, rules or arguments, 2 search engine unreachable
or refused a request. Commands raise ConfigError, EngineError or UsageError and
``main`` reports each the same way, once; everything printed goes through secret
masking. One module per group of commands.
"""

from __future__ import annotations

import argparse
import os
from typing import Sequence

import logalert
from logalert import logformat
from logalert.cli import daemon, migrate, rules, ruletest, state, web
from logalert.cli.common import EXIT_ENGINE, EXIT_INVALID, UsageError, err
from logalert.errors import ConfigError, EngineError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logalert", description="Alerting on logs in Elasticsearch/OpenSearch (ElastAlert rule format).")
    p.add_argument("--version", action="version", version=f"logalert {logalert.__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for group in (daemon, web, rules, ruletest, state, migrate):
        group.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # LOGALERT_LOG_FORMAT applies from the first line; config.yaml's log_format once it is read.
    logformat.install(getattr(args, "verbose", False), os.environ.get("LOGALERT_LOG_FORMAT", "text").strip().lower())
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            err(str(problem))
        return EXIT_INVALID
    except EngineError as exc:
        err(f"error: {exc}")
        return EXIT_ENGINE
    except UsageError as exc:
        err(str(exc))
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
