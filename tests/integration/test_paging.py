"""More hits than one page: every document is evaluated exactly once (point in time +
search_after), on whichever engine the suite runs against."""

from __future__ import annotations

import datetime as dt

from logalert.config import load_config
from logalert.engine import Pool
from logalert.model import Window
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState
from tests.integration.helpers import engine_options, write_yaml
from tests.support.efk import bulk_load, efk_doc


def test_runner_pages_beyond_max_query_size(engine, engine_url, fresh_index, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    # 23 documents, several sharing a timestamp, across two daily indices.
    docs = [efk_doc(now - dt.timedelta(days=1 if i < 8 else 0, minutes=i // 3), "ERROR", f"boom {i}") for i in range(23)]
    written = set(bulk_load(engine, None, docs, prefix=fresh_index))
    rule_file = write_yaml(tmp_path / "r.yaml", {
        **engine_options(engine_url), "name": "paging", "index": f"{fresh_index}-*", "type": "any",
        "max_query_size": 5, "realert": {"minutes": 0}, "alert": ["stdout"],
        "filter": [{"term": {"level.keyword": "ERROR"}}],
    })
    rule, _ = load_rule(str(rule_file), load_config(None, environ={}))
    window = Window(now - dt.timedelta(days=2), now + dt.timedelta(minutes=1))
    result = RuleRunner(rule, Pool(), MemoryState()).run(window, send=False)
    assert result.error is None
    seen = [(m.index, m.doc_id) for m in result.matches]
    assert len(seen) == 23
    assert set(seen) == written
    stamps = [m.timestamp for m in result.matches]
    assert stamps == sorted(stamps)


def test_strftime_index_searches_only_the_days_of_the_window(engine, engine_url, fresh_index, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    docs = [efk_doc(now - dt.timedelta(days=3), "ERROR", "old"), efk_doc(now - dt.timedelta(minutes=5), "ERROR", "new")]
    bulk_load(engine, None, docs, prefix=fresh_index)
    rule_file = write_yaml(tmp_path / "r.yaml", {
        **engine_options(engine_url), "name": "strftime", "index": f"{fresh_index}-%Y.%m.%d",
        "use_strftime_index": True, "type": "any", "realert": {"minutes": 0}, "alert": ["stdout"],
    })
    rule, _ = load_rule(str(rule_file), load_config(None, environ={}))
    window = Window(now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1))
    result = RuleRunner(rule, Pool(), MemoryState()).run(window, send=False)
    assert result.error is None
    assert [m.fields["message"] for m in result.matches] == ["new"]
