"""batch.execute: many jobs' searches in _msearch batches; errors stay with their job."""

from __future__ import annotations

from logalert.engine import batch
from logalert.engine.results import Hit, SearchResult
from logalert.errors import EngineError


def found(index, n=0):
    """The answer of a search that found one document of ``index``."""
    return SearchResult(hits=(Hit(index, f"d{n}", {"n": n}),), total=1)


class RecordingBackend:
    """Answers each sub-search from a function; records every _msearch call."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[int] = []

    def msearch(self, searches):
        self.calls.append(len(searches))
        return [self.answer(index, body) for index, body in searches]


def test_searches_of_many_jobs_share_requests_in_batches():
    backend = RecordingBackend(lambda index, body: found(index, body["n"]))
    jobs = [(backend, [batch.Request("count", f"i{j}", {"n": j * 10 + k}) for k in range(3)]) for j in range(70)]
    answers = batch.execute(jobs)
    assert backend.calls == [100, 100, 10]
    assert answers[5] == [found("i5", 50), found("i5", 51), found("i5", 52)]


def test_a_failed_sub_search_fails_only_its_job():
    def answer(index, body):
        return EngineError("refused", reason="bad query") if index == "bad" else found(index)

    backend = RecordingBackend(answer)
    answers = batch.execute([(backend, [batch.Request("hits", "good", {})]),
                             (backend, [batch.Request("hits", "bad", {})])])
    assert answers[0] == [found("good")]
    assert isinstance(answers[1][0], EngineError) and answers[1][0].reason == "bad query"


def test_an_unreachable_engine_fails_its_jobs_only():
    class Down:
        def msearch(self, searches):
            raise EngineError("cannot reach", unreachable=True)

    up = RecordingBackend(lambda index, body: found(index))
    answers = batch.execute([(Down(), [batch.Request("count", "a", {})]), (up, [batch.Request("count", "b", {})])])
    assert isinstance(answers[0][0], EngineError) and answers[0][0].unreachable
    assert answers[1] == [found("b")]


def test_a_short_answer_fails_the_whole_batch_rather_than_misplacing_answers():
    class Short:
        def msearch(self, searches):
            return [found("x")] * (len(searches) - 1)

    answers = batch.execute([(Short(), [batch.Request("count", "a", {}), batch.Request("count", "b", {})])])
    assert all(isinstance(a, EngineError) and "different number" in str(a) for a in answers[0])
