"""Run state: rule status, silences and the alert outbox."""

from logalert.state.base import Aggregation, OutboxEntry, RuleStatus, Silence, StateStore
from logalert.state.memory import MemoryState

__all__ = ["Aggregation", "MemoryState", "OutboxEntry", "RuleStatus", "Silence", "StateStore"]
