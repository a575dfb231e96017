"""Rule types by the name used in ``type:``. Adding one: a module here, a schema in
``logalert/config/schema/ruletypes/NAME.json`` and one line below."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
