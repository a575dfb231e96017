"""Rule types by the name used in ``type:``. Adding one: a module here that declares its
options (``OPTIONS``, and the names it needs in ``REQUIRED``; see ``logalert.options``)
and one line below."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from logalert.options import Option
    from logalert.ruletypes.base import RuleType

RULE_TYPES: dict[str, str] = {
    "any": "logalert.ruletypes.any:AnyRule",
    "blacklist": "logalert.ruletypes.blacklist:BlacklistRule",
    "whitelist": "logalert.ruletypes.whitelist:WhitelistRule",
    "change": "logalert.ruletypes.change:ChangeRule",
    "frequency": "logalert.ruletypes.frequency:FrequencyRule",
    "flatline": "logalert.ruletypes.flatline:FlatlineRule",
    "spike": "logalert.ruletypes.spike:SpikeRule",
    "new_term": "logalert.ruletypes.new_term:NewTermRule",
    "cardinality": "logalert.ruletypes.cardinality:CardinalityRule",
    "metric_aggregation": "logalert.ruletypes.metric_aggregation:MetricAggregationRule",
    "spike_aggregation": "logalert.ruletypes.spike_aggregation:SpikeAggregationRule",
    "percentage_match": "logalert.ruletypes.percentage_match:PercentageMatchRule",
}


def get(name: str) -> type["RuleType"]:
    module, _, attr = RULE_TYPES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def declared(name: str) -> tuple[tuple["Option", ...], tuple[str, ...]]:
    """The options type ``name`` declares next to its code, and those it requires."""
    module = importlib.import_module(RULE_TYPES[name].partition(":")[0])
    return tuple(module.OPTIONS), tuple(getattr(module, "REQUIRED", ()))
