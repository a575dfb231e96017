"""limit_execution's cron: read in a zone (UTC as ElastAlert2), asked whether it fired
in a span, so ticks that skip the exact minute still see it."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.cronspec import Cron, zone

from .conftest import at

MIN = dt.timedelta(minutes=1)


def test_a_range_of_hours_on_weekdays_fires_in_each_of_its_minutes_only():
    cron = Cron.parse("* 10-18 * * 1-5")
    wednesday = at(2024, 5, 1, 10, 0)
    assert cron.fired(wednesday - MIN, wednesday)
    assert cron.fired(at(2024, 5, 1, 18, 58), at(2024, 5, 1, 18, 59))
    assert not cron.fired(at(2024, 5, 1, 19, 0), at(2024, 5, 1, 19, 1))
    assert not cron.fired(at(2024, 5, 4, 11, 0), at(2024, 5, 4, 11, 1))  # a Saturday


def test_an_hourly_cron_is_seen_by_a_tick_that_does_not_land_on_minute_zero():
    cron = Cron.parse("0 * * * *")
    assert cron.fired(at(2024, 5, 1, 9, 57), at(2024, 5, 1, 10, 2))
    assert not cron.fired(at(2024, 5, 1, 10, 2), at(2024, 5, 1, 10, 7))
    assert cron.next_fire(at(2024, 5, 1, 10, 2)) == at(2024, 5, 1, 11, 0)


def test_a_named_zone_moves_the_hours():
    cron = Cron.parse("* 10 * * *", "Europe/Istanbul")  # UTC+3
    assert cron.fired(at(2024, 5, 1, 7, 0), at(2024, 5, 1, 7, 1))
    assert not cron.fired(at(2024, 5, 1, 10, 0), at(2024, 5, 1, 10, 1))


@pytest.mark.parametrize("text", ["* * *", "61 * * * *", "* 25 * * *", "nonsense here a b c"])
def test_bad_expressions_say_why(text):
    with pytest.raises(ValueError, match="cron expression"):
        Cron.parse(text)


def test_unknown_zone():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
    assert zone("") is dt.timezone.utc


@pytest.mark.parametrize("field, names", [
    ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("5-7", "sun,fri,sat"), ("*/2", "sun,tue,thu,sat"),
    ("mon-fri", "mon-fri"), ("*", "*"), ("1,3", "mon,wed"),
])
def test_day_of_week_numbers_are_crontab_ones(field, names):
    from logalert.cronspec import crontab_weekdays

    assert crontab_weekdays(field) == names
