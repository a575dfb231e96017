"""``make_type``: a rule loaded through the real loader, its rule type, and a fake engine."""

from __future__ import annotations

import pytest

from logalert import ruletypes

from .support import FakeEngine, rule_text


@pytest.fixture
def make_type(make_rule):
    def make(type_name: str, docs=(), **options):
        rule = make_rule(rule_text(type_name, **options))
        return ruletypes.get(type_name)(rule), FakeEngine(rule, docs)

    return make
