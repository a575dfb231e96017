"""SeenIds: the evaluated ids of a rule, as digests filed by second."""

from __future__ import annotations

import json

from logalert.state.base import RuleStatus
from logalert.state.records import decode_status, status_doc
from logalert.state.seen import SeenIds

T = 1_714_564_800.0  # 2024-05-01T12:00:00Z, a whole minute


def test_an_id_is_found_at_its_second_only_and_added_once():
    seen = SeenIds({"logs/a": T + 5.25, "logs/b": T + 5.75, "logs/c": T + 61})
    seen.update([("logs/a", T + 5.25)])
    assert len(seen) == 3
    assert seen.has("logs/a", T + 5.9) and seen.has("logs/c", T + 61.0)
    assert not seen.has("logs/a", T + 6) and not seen.has("logs/d", T + 5)
    assert "logs/b" in seen and "logs/d" not in seen


def test_counts_per_second_cover_the_asked_range_only():
    seen = SeenIds([(f"logs/{i}", T + i // 3) for i in range(300)])  # 3 ids a second for 100 s
    counts = seen.counts(int(T) + 58, int(T) + 62)
    assert counts == {int(T) + 58: 3, int(T) + 59: 3, int(T) + 60: 3, int(T) + 61: 3}
    assert sum(seen.counts(int(T), int(T) + 1000).values()) == 300


def test_forgetting_drops_whole_minutes_before_the_horizon():
    seen = SeenIds([(f"logs/{i}", T + i) for i in range(180)])
    seen.forget_before(T + 125)
    assert not seen.has("logs/0", T) and not seen.has("logs/119", T + 119)
    assert seen.has("logs/120", T + 120) and len(seen) == 60


def test_memory_is_bounded_by_the_horizon_not_by_history():
    """A rule seeing 10 documents a second for a day keeps only the horizon's minutes."""
    seen = SeenIds()
    sizes = []
    for minute in range(24 * 60):
        start = T + 60 * minute
        seen.update([(f"logs/{minute}-{i}", start + i / 10) for i in range(600)])
        seen.forget_before(start + 60 - 16 * 60)  # buffer_time 15 min + run_every 1 min
        sizes.append(len(seen))
    assert max(sizes[60:]) == max(sizes[30:60]) <= 17 * 600


def test_the_stored_form_reads_back_equal_and_old_records_still_read():
    seen = SeenIds({"logs/a": T + 1.5, "logs/b": T + 70})
    status = RuleStatus("r", seen=seen)
    doc = json.loads(json.dumps(status_doc(status)))
    assert decode_status(doc).seen == seen
    old = dict(doc, seen={"logs/a": T + 1.5, "logs/b": T + 70})
    assert decode_status(old).seen == seen
    assert RuleStatus("r", seen={"logs/a": T + 1.5, "logs/b": T + 70}).seen == seen


def test_copies_are_independent():
    seen = SeenIds({"logs/a": T})
    copy = seen.copy()
    copy["logs/b"] = T
    copy.clear()
    assert len(seen) == 1 and len(copy) == 0
