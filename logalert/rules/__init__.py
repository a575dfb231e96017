"""Rule files: loading, validation and the immutable Rule model."""

from logalert.rules.loader import LoadResult, load_folder, load_rule, rule_files
from logalert.rules.model import AlertTarget, Rule

__all__ = ["AlertTarget", "LoadResult", "Rule", "load_folder", "load_rule", "rule_files"]
