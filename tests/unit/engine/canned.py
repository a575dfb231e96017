"""A Backend whose one raw call answers from a list: for testing what the public methods
send and how they read the engine's answers, without an engine."""

from __future__ import annotations

from logalert.engine.base import Backend


class Canned(Backend):
    """Answers each raw call with the next canned answer (an exception is raised) and
    records (method, path, params, body, ndjson) of every call."""

    flavor = "canned"
    pit_open_path = "_search/point_in_time"
    pit_id_key = "pit_id"

    def __init__(self, *answers):
        super().__init__({"version": {"number": "2.19.6"}})
        self.answers = list(answers)
        self.calls = []

    def _call(self, method, path, *, params=None, body=None, ndjson=False):
        self.calls.append((method, path, params, body, ndjson))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _close_pit(self, pit_id):
        self.calls.append(("close", pit_id))
