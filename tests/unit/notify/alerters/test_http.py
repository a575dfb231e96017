"""The shared HTTP helper against a real keep-alive receiver on 127.0.0.1: connections are
reused across alerts, never shared between threads, and cookies a service sets are not
sent back on the next rule's request."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from logalert.notify.alerters import http
from tests.support.receivers import Behaviour, WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        receiver.default = Behaviour(headers={"Set-Cookie": "session=abc; Path=/"})
        yield receiver


def _post_in_fresh_thread(url: str, times: int) -> None:
    def work() -> None:
        for _ in range(times):
            http.request("Receiver", "POST", url, json={"text": "alert"})

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def _connections(receiver: WebhookReceiver) -> set[tuple[str, int]]:
    return {r.peer for r in receiver.delivered}


def test_alerts_to_one_service_reuse_one_connection(receiver: WebhookReceiver) -> None:
    _post_in_fresh_thread(receiver.url + "/hook", 5)
    assert len(receiver.delivered) == 5
    assert len(_connections(receiver)) == 1


def test_each_delivery_thread_has_its_own_connection(receiver: WebhookReceiver) -> None:
    _post_in_fresh_thread(receiver.url + "/hook", 2)
    _post_in_fresh_thread(receiver.url + "/hook", 2)
    assert len(_connections(receiver)) == 2


def test_cookies_a_service_sets_are_not_sent_back(receiver: WebhookReceiver) -> None:
    _post_in_fresh_thread(receiver.url + "/hook", 3)
    assert [r.header("Cookie") for r in receiver.delivered] == [None, None, None]
