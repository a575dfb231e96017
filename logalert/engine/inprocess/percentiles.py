"""Percentiles as the engines compute them for few values, where their digests are
exact; beyond that their answers are approximations of their own, and the evaluator
refuses instead of guessing (checked against both engines by the differential suite).

- OpenSearch 2.x (t-digest, every value its own centroid up to ``EXACT_UP_TO``): linear
  interpolation between the values' centres (value i of n, sorted, sits at rank i + 0.5),
  with the digest's weights and rounding; the smallest value below rank 0.5, the largest
  above n - 0.5.
- Elasticsearch 8/9 (a sorted array up to ``EXACT_UP_TO``): linear interpolation at rank
  q * (n - 1).
"""

from __future__ import annotations

import math

from logalert.engine.inprocess.errors import Unsupported

EXACT_UP_TO = {"opensearch": 200, "elasticsearch": 1000}


def percentile(values: list[float], percent: float, flavor: str = "opensearch") -> float | None:
    if not values:
        return None
    limit = EXACT_UP_TO[flavor]
    if len(values) > limit:
        raise Unsupported(f"percentiles over more than {limit} values (the engine's t-digest approximates)")
    ordered = sorted(values)
    return _sorted_array(ordered, percent) if flavor == "elasticsearch" else _tdigest(ordered, percent)


def _sorted_array(ordered: list[float], percent: float) -> float:
    n = len(ordered)
    rank = percent / 100.0 * (n - 1)
    if rank <= 0:
        return ordered[0]
    if rank >= n - 1:
        return ordered[-1]
    low = math.floor(rank)
    return ordered[low] + (rank - low) * (ordered[low + 1] - ordered[low])


def _tdigest(ordered: list[float], percent: float) -> float:
    n = len(ordered)
    if n == 1:
        return ordered[0]
    rank = percent / 100.0 * n
    if rank < 0.5:  # between the minimum and the first centre (both the smallest value)
        low, high = 0.5 - rank, rank
        return (ordered[0] * low + ordered[0] * high) / (low + high)
    so_far = 0.5
    for i in range(n - 1):
        if so_far + 1.0 > rank:
            left, right = rank - so_far, so_far + 1.0 - rank
            return _between(ordered[i], right, ordered[i + 1], left)
        so_far += 1.0
    return ordered[-1]


def _between(x1: float, w1: float, x2: float, w2: float) -> float:
    """The weighted average of two neighbours, kept between them (t-digest's rounding)."""
    value = (x1 * w1 + x2 * w2) / (w1 + w2)
    return max(x1, min(value, x2))
