"""next_window: [last_end - buffer_time, now - query_delay), bounded by old_query_limit."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.model import Window
from logalert.run.window import next_window

from ..conftest import at

MIN = dt.timedelta(minutes=1)
NOW = at(2024, 3, 10, 12, 0)


def _next(last_end, *, buffer=15 * MIN, delay=dt.timedelta(0), limit=dt.timedelta(weeks=1), now=NOW):
    return next_window(now=now, last_end=last_end, buffer_time=buffer, query_delay=delay, old_query_limit=limit)


def test_first_run_looks_back_buffer_time():
    assert _next(None) == Window(at(2024, 3, 10, 11, 45), NOW)


def test_next_run_overlaps_the_previous_by_buffer_time():
    window = _next(at(2024, 3, 10, 11, 59))
    assert window == Window(at(2024, 3, 10, 11, 44), NOW)


def test_query_delay_moves_the_end_back():
    window = _next(None, delay=2 * MIN)
    assert window == Window(at(2024, 3, 10, 11, 43), at(2024, 3, 10, 11, 58))
    later = _next(at(2024, 3, 10, 11, 57), delay=2 * MIN)
    assert later == Window(at(2024, 3, 10, 11, 42), at(2024, 3, 10, 11, 58))


def test_catch_up_after_downtime_starts_at_last_end():
    window = _next(at(2024, 3, 8, 12, 0))
    assert window.start == at(2024, 3, 8, 11, 45)
    assert window.end == NOW
    assert window.span == dt.timedelta(days=2, minutes=15)


def test_old_query_limit_bounds_catch_up():
    window = _next(at(2024, 2, 1), limit=dt.timedelta(days=1))
    assert window == Window(at(2024, 3, 9, 12, 0), NOW)


def test_old_query_limit_smaller_than_buffer_time_still_covers_buffer():
    window = _next(None, buffer=30 * MIN, limit=5 * MIN)
    assert window.start == at(2024, 3, 10, 11, 30)


def test_last_end_in_the_future_is_clamped_to_now():
    window = _next(at(2024, 3, 10, 13, 0))
    assert window == Window(at(2024, 3, 10, 11, 45), NOW)


def test_nothing_to_do_without_buffer_when_already_up_to_date():
    assert _next(NOW, buffer=dt.timedelta(0)) is None
    assert _next(at(2024, 3, 10, 12, 5), buffer=dt.timedelta(0)) is None
    assert _next(at(2024, 3, 10, 11, 59), buffer=dt.timedelta(0)) == Window(at(2024, 3, 10, 11, 59), NOW)


def test_nothing_to_do_when_query_delay_puts_end_before_last_end():
    assert _next(at(2024, 3, 10, 11, 59), buffer=dt.timedelta(0), delay=5 * MIN) is None


def test_window_membership_is_half_open():
    window = Window(at(2024, 1, 1, 0, 0), at(2024, 1, 1, 1, 0))
    assert at(2024, 1, 1, 0, 0) in window
    assert at(2024, 1, 1, 0, 59) in window
    assert at(2024, 1, 1, 1, 0) not in window


def test_window_rejects_naive_bounds():
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(dt.datetime(2024, 1, 1), at(2024, 1, 1, 1))


def test_backfill_windows_step_by_run_every_and_reach_back_buffer_time():
    from logalert.run.window import backfill_windows

    t0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    minute = dt.timedelta(minutes=1)
    windows = backfill_windows(t0, t0 + 3 * minute + dt.timedelta(seconds=30), run_every=minute,
                               buffer_time=2 * minute)
    assert [(w.start - t0, w.end - t0) for w in windows] == [
        (dt.timedelta(0), minute), (dt.timedelta(0), 2 * minute), (dt.timedelta(0), 3 * minute),
        (minute, 3 * minute + dt.timedelta(seconds=30))]
    assert backfill_windows(t0, t0, run_every=minute, buffer_time=minute) == [Window(t0, t0)]
