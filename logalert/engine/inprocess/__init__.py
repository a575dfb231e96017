"""An in-process engine: the query DSL, query_string and the aggregations the rule types
use, evaluated in memory with the engine's analysis, dynamic mappings and answer
shapes. ``logalert test`` runs rules on it offline; the differential suite
(tests/integration/engine/test_differential.py) holds it to a real engine's answers.
What it cannot answer exactly it refuses with ``Unsupported``, which says to use a
real engine (``logalert test --engine``).

Modules: ``backend`` (the Backend), ``store`` (indices, documents), ``mapping``
(dynamic mapping, value coercion), ``analysis`` (standard analyzer), ``dates``
(formats, date math), ``patterns`` (wildcards, Lucene regexps), ``fieldops`` (one
query on one field), ``queries`` (the DSL), ``querystring`` (Lucene syntax via luqum),
``search`` (sorting, paging, hits), ``aggs`` and ``percentiles``.
"""

from logalert.engine.inprocess.backend import InProcessBackend
from logalert.engine.inprocess.errors import BadRequest, Unsupported

__all__ = ["BadRequest", "InProcessBackend", "Unsupported"]
