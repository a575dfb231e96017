"""One error path for every command: a bad argument exits 1, an unreachable engine 2,
each with one line on stderr and nothing on stdout."""

from __future__ import annotations

import os
import socket

import pytest

from logalert.cli import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, restore_root_logging):
    for key in list(os.environ):
        if key.startswith("LOGALERT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("argv", [
    ["silence", "some rule", "--duration", "soon"],
    ["silence"],
    ["run", "--once", "--start", "yesterday-ish"],
])
def test_a_bad_argument_is_one_line_and_exit_1(capsys, argv):
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith(("--duration: not a duration: 'soon'", "silence: give a RULE name",
                                    "--start: not a time: 'yesterday-ish'"))


@pytest.mark.parametrize("command", [["init"], ["status"], ["silence", "--list"], ["silence", "r", "--remove"]])
def test_an_unreachable_engine_is_one_line_and_exit_2(capsys, tmp_path, closed_port, command):
    config = tmp_path / "config.yaml"
    config.write_text(f"es_host: 127.0.0.1\nes_port: {closed_port}\nes_conn_timeout: 2\n")
    assert main(command + ["--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"error: cannot reach the search engine at http://127.0.0.1:{closed_port}")
