"""timestamp_format_expr: parsed once, only ts/dt and their public methods, no builtins."""

from __future__ import annotations

import pytest

from logalert.tsexpr import apply, compile_expr

from .conftest import at


def test_the_documented_millisecond_cut():
    moment = at(2024, 5, 1, 10, 0, 0).replace(microsecond=123456)
    ts = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert apply(compile_expr("ts[:23] + ts[26:]"), ts, moment) == "2024-05-01T10:00:00.123Z"


def test_methods_of_ts_and_dt_and_conditionals():
    moment = at(2024, 5, 1, 10, 0)
    assert apply(compile_expr("ts.replace('T', ' ') if dt.year > 2000 else ts"), "2024-05-01T10", moment) == \
        "2024-05-01 10"
    assert apply(compile_expr("dt.strftime('%d/%m/%Y')"), "x", moment) == "01/05/2024"


@pytest.mark.parametrize("text, why", [
    ("__import__('os')", "unknown name '__import__'"),
    ("open('/etc/passwd')", "unknown name 'open'"),
    ("ts.__class__", "attribute '__class__'"),
    ("[c for c in ts]", "ListComp is not allowed"),
    ("lambda: ts", "Lambda is not allowed"),
    ("ts +", "not a Python expression"),
    ("ts * 10000000", "numbers above a million"),
])
def test_anything_else_is_refused_with_a_reason(text, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace("[", r"\[")):
        compile_expr(text)


@pytest.mark.parametrize("text", [
    "'{0.__class__.__mro__}'.format(ts)",
    "'{0.tzinfo.__class__}'.format(dt)",
    "ts.format_map",
])
def test_format_methods_cannot_reach_underscore_attributes(text):
    """str.format reads attributes named inside the string ('{0.__class__}'): refused."""
    with pytest.raises(ValueError, match="format"):
        compile_expr(text)


@pytest.mark.parametrize("text", [
    "ts * 999999 * 99",
    "'%99999999s' % ts",
    "'%*s' % (999999 * 999, ts)",
    "f'{ts:>99999999}'",
    "ts.ljust(999999).replace('', ts.ljust(999))",
    "('\\t' + ts).expandtabs(999999 * 999)",
])
def test_expressions_that_would_build_huge_strings_fail_instead_of_eating_memory(text):
    moment = at(2024, 5, 1, 10, 0)
    with pytest.raises(ValueError, match="too long|too large|not allowed|width"):
        apply(compile_expr(text), moment.isoformat(), moment)


def test_a_runtime_failure_is_one_readable_valueerror():
    moment = at(2024, 5, 1, 10, 0)
    with pytest.raises(ValueError, match="timestamp_format_expr.*IndexError"):
        apply(compile_expr("ts[100]"), "2024", moment)


def test_guarded_evaluation_keeps_ordinary_expressions_working():
    moment = at(2024, 5, 1, 10, 0).replace(microsecond=250000)
    ts = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    assert apply(compile_expr("ts[:-3] + 'Z' if dt.microsecond else ts"), ts, moment) == "2024-05-01 10:00:00.250Z"
    assert apply(compile_expr("f'{ts}|{dt.year:>6}|' + '%s-%02d' % (ts[:4], 7)"), ts, moment) == \
        f"{ts}|  2024|2024-07"
    assert apply(compile_expr("dt.replace(microsecond=0).isoformat() + '-' * 3"), ts, moment) == \
        "2024-05-01T10:00:00+00:00---"


def test_bytes_formats_are_guarded_like_str_formats():
    moment = at(2024, 5, 1, 10, 0)
    with pytest.raises(ValueError, match="width"):
        apply(compile_expr("(b'%99999999s' % ts.encode()).decode()"), "2024", moment)
    assert apply(compile_expr("(b'%5s' % ts.encode()).decode()"), "2024", moment) == " 2024"


def test_arithmetic_on_numbers_is_not_capped():
    moment = at(2024, 5, 1, 10, 0)
    assert apply(compile_expr("dt.year * 10000 + dt.month * 100 + dt.day"), "x", moment) == "20240501"
