"""percentage_match: the share of documents matching match_bucket_filter."""

from __future__ import annotations

import pytest

from logalert.model import Window

from .support import doc, minutes

BASE = dict(match_bucket_filter=[{"range": {"status": {"gte": 500}}}], realert={"minutes": 0},
            buffer_time={"minutes": 10})


def traffic(start, statuses, host="a"):
    return [doc(minutes(start + i * 0.1), id=f"{host}{start}{i}", status=s, host=host) for i, s in enumerate(statuses)]


def test_share_of_errors_above_the_maximum(make_type):
    rtype, engine = make_type("percentage_match", traffic(1, [200] * 7 + [500, 502, 503]), max_percentage=20, **BASE)
    leaf = rtype.queries(Window(minutes(0), minutes(10)))[0].aggs["all"]["aggs"]["pct"]["filters"]
    assert leaf == {"filters": {"match_bucket": {"bool": {"filter": [{"range": {"status": {"gte": 500}}}]}}},
                    "other_bucket_key": "_other_"}
    [m] = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert (m.fields["percentage"], m.fields["denominator"]) == (30.0, 10)
    assert rtype.describe(m) == ("30.0% of 10 documents matched match_bucket_filter (3) from 2024-05-01T12:00:00.000Z "
                                 "to 2024-05-01T12:10:00.000Z, above the maximum of 20%.")


def test_min_percentage_min_denominator_and_query_key(make_type):
    docs = traffic(1, [500] * 9 + [200], host="a") + traffic(1, [500, 200, 200], host="b") + traffic(1, [200], host="c")
    rtype, engine = make_type("percentage_match", docs, min_percentage=50, min_denominator=2, query_key="host", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [(m.key, round(m.details["percentage"], 1)) for m in matches] == [(("b",), 33.3)]


@pytest.mark.parametrize("bucket", [{"minutes": 5}])
def test_bucket_interval(make_type, bucket):
    docs = traffic(0, [200] * 10) + traffic(5, [500] * 5 + [200] * 5)
    rtype, engine = make_type("percentage_match", docs, max_percentage=40, bucket_interval=bucket, **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [(m.timestamp, m.details["percentage"]) for m in matches] == [(minutes(5), 50.0)]
