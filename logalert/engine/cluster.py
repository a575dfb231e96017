"""What a cluster holds, for checks before any rule runs (``validate --engine``,
``test-rule``): the index names a pattern matches, the fields' mapping types, and the
engine's own verdict on a query. A mixin of ``Backend``: it only needs ``_call``, which
every engine flavour implements."""

from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import quote

from logalert.errors import EngineError


class ClusterInfo:
    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, ndjson: bool = False) -> Any:
        raise NotImplementedError  # Backend's

    def resolve_indices(self, expression: str) -> list[str]:
        """The names of the open indices, aliases and data streams that ``expression``
        (a name, a pattern, a comma-separated list) matches, sorted; [] when none."""
        try:
            response = self._call("GET", f"/_resolve/index/{_path(expression)}")
        except EngineError as exc:
            if getattr(exc, "status", None) != 404:
                raise
            # Elasticsearch refuses a whole list for one missing name: each part alone.
            parts = [p.strip() for p in expression.split(",") if p.strip() and not p.strip().startswith("-")]
            return sorted({name for part in parts for name in self.resolve_indices(part)}) if len(parts) > 1 else []
        names = {str(entry["name"]) for kind in ("indices", "aliases", "data_streams")
                 for entry in response.get(kind) or () if isinstance(entry, Mapping) and entry.get("name")}
        return sorted(names)

    def field_types(self, index: str, fields: Sequence[str] = ("*",)) -> dict[str, dict[str, bool]]:
        """Each mapped field among ``fields`` (wildcards allowed) in the indices ``index``
        matches: its mapping type(s) (two when indices disagree), each with whether it
        can be aggregated on (terms, metrics). {} when no index matches."""
        response = self._call("GET", f"/{_path(index)}/_field_caps",
                              params={"fields": ",".join(fields), "ignore_unavailable": "true",
                                      "allow_no_indices": "true"})
        return {str(name): {str(kind): bool(caps.get("aggregatable")) for kind, caps in types.items()
                            if isinstance(caps, Mapping)}
                for name, types in (response.get("fields") or {}).items() if isinstance(types, Mapping)}

    def validate_query(self, index: str, query: Mapping[str, Any]) -> str | None:
        """None when the engine accepts ``query`` (the ``query`` part of a search body) on
        the indices ``index`` matches; else the engine's explanation of the first refusal."""
        response = self._call("POST", f"/{_path(index)}/_validate/query", body={"query": dict(query)},
                              params={"explain": "true", "ignore_unavailable": "true", "allow_no_indices": "true"})
        if response.get("valid", True):
            return None
        for entry in response.get("explanations") or ():
            if isinstance(entry, Mapping) and not entry.get("valid", True) and entry.get("error"):
                return str(entry["error"])
        return str(response.get("error") or "the engine says the query is not valid")


def _path(part: str) -> str:
    return quote(part, safe=",*-_.%+:")
