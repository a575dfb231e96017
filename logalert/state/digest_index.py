"""Open digests (``aggregation``) in the writeback index: matches collected for one
alert per rule and aggregation_key value, read once and then kept in memory; a rule
taken over from another replica has its digests read afresh (``adopt_digests``)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Collection

from logalert.state.base import Aggregation
from logalert.state.index import WritebackIndex
from logalert.state.records import aggregation_doc, decode_aggregation, doc_id


class DigestIndex(WritebackIndex):
    _aggregations: dict[tuple[str, str], Aggregation] | None = None

    def _read_digests(self, rules: Collection[str] | None = None) -> dict[tuple[str, str], Aggregation]:
        query: dict = {"bool": {"filter": [{"term": {"kind": "aggregation"}}]}}
        if rules is not None:
            query["bool"]["filter"].append({"terms": {"rule": sorted(rules)}})
        return {(a.rule, a.key): a for a in self._records("aggregation", query, decode_aggregation, size=None)}

    def _aggregation_cache(self) -> dict[tuple[str, str], Aggregation]:
        if self._aggregations is None:
            found = self._read_digests()
            with self._lock:
                if self._aggregations is None:
                    self._aggregations = found
        return self._aggregations

    def adopt_digests(self, rules: Collection[str]) -> None:
        if self._aggregations is None:
            return  # read whole (and fresh) on first use
        fresh = self._read_digests(rules)
        self.forget_digests(rules)
        with self._lock:
            if self._aggregations is not None:
                self._aggregations.update(fresh)

    def forget_digests(self, rules: Collection[str]) -> None:
        with self._lock:
            if self._aggregations is not None:
                for key in [k for k in self._aggregations if k[0] in rules]:
                    del self._aggregations[key]

    def get_aggregation(self, rule: str, key: str) -> Aggregation | None:
        agg = self._aggregation_cache().get((rule, key))
        return copy.deepcopy(agg) if agg else None

    def put_aggregation(self, agg: Aggregation) -> None:
        self._check_gate([agg.rule])
        doc = aggregation_doc(agg)
        self._put(doc_id("aggregation", agg.rule, agg.key), doc)
        cache = self._aggregation_cache()
        with self._lock:
            cache[(agg.rule, agg.key)] = copy.deepcopy(decode_aggregation(doc))

    def due_aggregations(self, rule: str, now: dt.datetime) -> list[Aggregation]:
        cache = self._aggregation_cache()
        with self._lock:
            return [copy.deepcopy(a) for (r, _), a in cache.items() if r == rule and a.send_at <= now]

    def delete_aggregation(self, rule: str, key: str) -> None:
        self._check_gate([rule])
        self.backend().delete(self.index, doc_id("aggregation", rule, key))  # False: already gone
        cache = self._aggregation_cache()
        with self._lock:
            cache.pop((rule, key), None)
