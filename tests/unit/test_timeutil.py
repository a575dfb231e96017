"""Spans, document timestamps in every timestamp_type, ISO formatting."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert import timeutil
from logalert.timeutil import format_doc_time, iso, parse_cli_time, parse_doc_time, parse_iso, pretty_span, to_timedelta

from .conftest import UTC, at


def test_to_timedelta_sums_units():
    assert to_timedelta({"hours": 1, "minutes": 30}) == dt.timedelta(minutes=90)
    assert to_timedelta({"milliseconds": 250}) == dt.timedelta(microseconds=250_000)
    assert to_timedelta({"weeks": 1, "days": 1.5}) == dt.timedelta(days=8, hours=12)
    assert to_timedelta(dt.timedelta(seconds=3)) == dt.timedelta(seconds=3)


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01T10:20:30Z", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
    ("2024-05-01T12:20:30+02:00", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
    ("2024-05-01T10:20:30.123456789Z", dt.datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC)),
    ("2024-05-01T10:20:30.5Z", dt.datetime(2024, 5, 1, 10, 20, 30, 500000, tzinfo=UTC)),
    ("2024-05-01T10:20:30", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
    ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=UTC)),
])
def test_parse_iso_forms(text, expected):
    parsed = parse_iso(text)
    assert parsed == expected
    assert parsed.utcoffset() == dt.timedelta(0)


def test_parse_doc_time_per_timestamp_type():
    moment = at(2024, 5, 1, 10, 20, 30)
    assert parse_doc_time("2024-05-01T10:20:30Z") == moment
    assert parse_doc_time(1714558830, "unix") == moment
    assert parse_doc_time("1714558830", "unix") == moment
    assert parse_doc_time(1714558830000, "unix_ms") == moment
    assert parse_doc_time("01/05/2024 10:20:30", "custom", "%d/%m/%Y %H:%M:%S") == moment
    assert parse_doc_time("01/05/2024 12:20:30 +0200", "custom", "%d/%m/%Y %H:%M:%S %z") == moment
    # an iso-typed date field the engine returned as epoch millis
    assert parse_doc_time(1714558830000) == moment


@pytest.mark.parametrize("value, ts_type", [(None, "iso"), ("yesterday", "iso"), ("abc", "unix"),
                                            ("2024-05-01", "custom")])
def test_unreadable_timestamps_are_none(value, ts_type):
    assert parse_doc_time(value, ts_type, "%d/%m/%Y" if ts_type == "custom" else None) is None


def test_format_doc_time_per_timestamp_type():
    moment = dt.datetime(2024, 5, 1, 12, 20, 30, 987654, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_doc_time(moment) == "2024-05-01T10:20:30.987Z"
    assert format_doc_time(moment, "unix") == 1714558830
    assert format_doc_time(moment, "unix_ms") == 1714558830987
    assert format_doc_time(moment, "custom", "%Y/%m/%d %H:%M") == "2024/05/01 10:20"


def test_iso_treats_naive_as_utc():
    assert iso(dt.datetime(2024, 1, 2, 3, 4, 5, 6000)) == "2024-01-02T03:04:05.006Z"


@pytest.mark.parametrize("delta, text", [
    (dt.timedelta(minutes=5), "5 minutes"), (dt.timedelta(minutes=1), "1 minute"),
    (dt.timedelta(hours=2), "2 hours"), (dt.timedelta(days=1), "1 day"),
    (dt.timedelta(minutes=90), "90 minutes"), (dt.timedelta(seconds=45), "45 seconds"),
    (dt.timedelta(seconds=1), "1 second"),
])
def test_pretty_span(delta, text):
    assert pretty_span(delta) == text


def test_parse_cli_time(monkeypatch):
    fixed = at(2024, 6, 1, 12, 0)
    monkeypatch.setattr(timeutil, "now", lambda: fixed)
    assert parse_cli_time("now") == fixed
    assert parse_cli_time("now-2h") == at(2024, 6, 1, 10, 0)
    assert parse_cli_time("now-30m") == at(2024, 6, 1, 11, 30)
    assert parse_cli_time("now-1w") == at(2024, 5, 25, 12, 0)
    assert parse_cli_time("2024-01-31T12:00:00Z") == at(2024, 1, 31, 12, 0)
    with pytest.raises(ValueError):
        parse_cli_time("tomorrow")
