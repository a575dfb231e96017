"""The ElastAlert seed rule, unchanged but for where the engine and indices are,
matches exactly the documents the engine itself returns for its query."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from logalert.config import load_config
from logalert.engine import Pool
from logalert.model import Window
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState
from tests.integration.helpers import engine_options, write_yaml
from tests.support.efk import bulk_load, efk_doc

SEED = Path(__file__).resolve().parents[2] / "examples" / "elastalert_any_error_slack.yaml"

MESSAGES = [
    ("ERROR", "ERROR payment gateway timeout"),
    ("INFO", "request served"),
    ("ERROR", "error while reading config"),
    ("WARN", "Error budget at 80%"),
    ("INFO", "all good"),
    ("INFO", "errors=0 in last batch"),
    ("ERROR", "NullPointerException in CartService"),
    ("INFO", "user logged in"),
    # Lucene has no /…/i flag: "i" becomes an OR term over all fields, on both engines.
    ("WARN", "i/o wait high on node-2"),
]


def test_seed_rule_matches_what_the_engine_returns(engine, engine_url, fresh_index, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    docs = [efk_doc(now - dt.timedelta(minutes=30 - i), level, msg) for i, (level, msg) in enumerate(MESSAGES)]
    written = bulk_load(engine, None, docs, prefix=fresh_index)

    seed = yaml.safe_load(SEED.read_text())
    seed.update(engine_options(engine_url), index=f"{fresh_index}-*")
    rule_file = write_yaml(tmp_path / "seed.yaml", seed)
    rule, warnings = load_rule(str(rule_file), load_config(None, environ={}))
    assert warnings == []

    window = Window(now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1))
    result = RuleRunner(rule, Pool(), MemoryState()).run(window, send=False)
    assert result.error is None
    matched = {(m.index, m.doc_id) for m in result.matches}

    engine_says = engine.search(index=f"{fresh_index}-*", body={
        "size": 100,
        "query": {"bool": {"filter": [
            {"query_string": {"query": "message:/ERROR/i"}},
            {"range": {"@timestamp": {"gte": window.start.isoformat(), "lt": window.end.isoformat()}}},
        ]}},
    })
    expected = {(h["_index"], h["_id"]) for h in engine_says["hits"]["hits"]}
    assert matched == expected
    assert expected, "the query must match something for this test to mean anything"
    assert expected <= set(written)
    # Rendering follows the rule: the subject and only the alert text.
    first = result.alerts[0]
    assert first.subject == "Error!!"
    assert first.body == "occur error on some components!"
