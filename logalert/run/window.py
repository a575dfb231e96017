"""Which time range a rule run covers.

A run covers ``[last_end - buffer_time, now - query_delay)``. The overlap with
the previous run catches documents indexed late (Fluentd buffers, ingest lag);
dedupe by index + _id keeps them from alerting twice, and ``overlap`` keeps the
overlap from being fetched again (it is counted; only changed buckets are read). After downtime the range
starts at the last recorded end, but never further back than old_query_limit.
"""

from __future__ import annotations

import datetime as dt

from logalert.model import Window


def next_window(
    *,
    now: dt.datetime,
    last_end: dt.datetime | None,
    buffer_time: dt.timedelta,
    query_delay: dt.timedelta,
    old_query_limit: dt.timedelta,
) -> Window | None:
    """The range for the next run, or None when there is nothing new to look at yet."""
    end = now - query_delay
    if last_end is None:
        start = end - buffer_time
    else:
        start = min(last_end, end) - buffer_time
    oldest = end - max(old_query_limit, buffer_time)
    start = max(start, oldest)
    if start >= end:
        return None
    return Window(start, end)


def backfill_windows(start: dt.datetime, end: dt.datetime, *, run_every: dt.timedelta,
                     buffer_time: dt.timedelta) -> list[Window]:
    """The windows the live daemon would have run over ``[start, end)``: one per
    run_every, each reaching back buffer_time (not before ``start``) as a live run does.
    A backfill of a rule that judges in event time across runs (send_resolved) must see
    the same sequence of window ends, or it resolves only at the very end."""
    if run_every <= dt.timedelta(0) or end <= start:
        return [Window(start, end)]
    windows, last_end = [], start
    while last_end < end:
        stop = min(last_end + run_every, end)
        windows.append(Window(max(start, last_end - buffer_time) if windows else start, stop))
        last_end = stop
    return windows
