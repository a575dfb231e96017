"""``timestamp_format_expr``: a small Python expression that adjusts the formatted query
timestamp ``ts`` (a string; ``dt`` is the datetime it came from), e.g. ``ts[:23] + ts[26:]``
to cut microseconds to milliseconds.

ElastAlert2 hands the text to ``eval`` with everything Python has. Here the expression
is parsed once, at load, and may use only ``ts``, ``dt``, literals, operators,
subscripts/slices, conditionals and calls of their public methods (``ts.replace(...)``,
``dt.strftime(...)``): no other names, no builtins, no ``_``-attributes, no lambdas or
comprehensions. What it refuses is said at load with the rule's file:line.

Operators and method calls run through guards (``_op``/``_call``) so that no value grows
past MAX_VALUE characters: the rule runs inside the daemon, and ``ts * 999999 * 99`` or
``'%99999999s' % ts`` would otherwise take gigabytes. ``format``/``format_map`` are refused:
their format strings read any attribute (``'{0.__class__}'.format(ts)``).
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import operator
import re
from types import CodeType
from typing import Any

NAMES = frozenset({"ts", "dt"})
MAX_LENGTH = 500
MAX_VALUE = 1000  # characters of any string the expression builds; ts is about 30
MAX_INT = 10**6  # integers given to operators and methods (microsecond=999999 must pass)
REFUSED_METHODS = frozenset({"format", "format_map", "expandtabs"})
_LONG_WIDTH = re.compile(r"\d{5,}")  # a width/precision of 10000 or more in a format
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}

_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Slice,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Tuple,
    ast.JoinedStr, ast.FormattedValue,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd, ast.Not,
    ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
)


@functools.lru_cache(maxsize=256)
def compile_expr(text: str) -> CodeType:
    """The expression's code; ValueError (one readable sentence) when it is refused."""
    if len(text) > MAX_LENGTH:
        raise ValueError(f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not a Python expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"{type(node).__name__} is not allowed; use ts, dt, literals, operators, "
                             "slices and their methods")
        if isinstance(node, ast.Name) and node.id not in NAMES:
            raise ValueError(f"unknown name {node.id!r}: only ts (the formatted timestamp) and dt (its datetime)")
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in REFUSED_METHODS):
            raise ValueError(f"attribute {node.attr!r} is not allowed")
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = node.format_spec
            if not all(isinstance(part, ast.Constant) for part in spec.values) or \
                    _LONG_WIDTH.search("".join(str(part.value) for part in spec.values)):
                raise ValueError("a format spec must be plain text with a width below 10000")
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Attribute):
            if isinstance(node.func, ast.Name) and node.func.id not in NAMES:
                raise ValueError(f"unknown name {node.func.id!r}: only ts (the formatted timestamp) and dt (its datetime)")
            raise ValueError("only methods of ts and dt may be called, such as ts.replace('+00:00', 'Z')")
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and abs(node.value) > 10**6:
            raise ValueError("numbers above a million are not allowed")
    tree = ast.fix_missing_locations(_Guard().visit(tree))
    return compile(tree, "<timestamp_format_expr>", "eval")


class _Guard(ast.NodeTransformer):
    """``a * b`` becomes ``_op('Mult', a, b)``; ``x.m(args)`` becomes ``_call(x, 'm', args)``."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(ast.Call(ast.Name("_op", ast.Load()),
                                          [ast.Constant(type(node.op).__name__), node.left, node.right], []), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        assert isinstance(func, ast.Attribute)  # compile_expr refuses any other call
        return ast.copy_location(ast.Call(ast.Name("_call", ast.Load()),
                                          [func.value, ast.Constant(func.attr), *node.args], node.keywords), node)


def _small(value: Any, argument: bool = False) -> Any:
    """``value`` if it is small enough to feed an operator (or, ``argument``, a method or a
    % format, where a number is a width or count); ValueError if not. Numbers alone may grow
    (dt.year * 10000 + dt.month * 100 is fine): without ** they stay a few hundred digits."""
    if isinstance(value, (str, bytes)) and len(value) > MAX_VALUE:
        raise ValueError(f"a value grew too long ({len(value)} characters, at most {MAX_VALUE})")
    if argument and isinstance(value, int) and abs(value) > MAX_INT:
        raise ValueError(f"a number grew too large ({value}, at most {MAX_INT})")
    if isinstance(value, tuple):
        for item in value:
            _small(item, argument)
    return value


def _op(name: str, left: Any, right: Any) -> Any:
    _small(left), _small(right)
    if name == "Mult" and isinstance(left, int) and isinstance(right, (str, bytes, tuple)):
        left, right = right, left
    if name == "Mult" and isinstance(left, (str, bytes, tuple)) and isinstance(right, int) \
            and len(left) * right > MAX_VALUE:
        raise ValueError(f"a value grew too long ({len(left) * right} characters, at most {MAX_VALUE})")
    fmt = left.decode("latin-1") if isinstance(left, bytes) else left  # bytes % formats like str %
    if name == "Mod" and isinstance(fmt, str) and _LONG_WIDTH.search(fmt):
        raise ValueError("a % format width of 10000 or more is not allowed")
    if name == "Mod" and isinstance(fmt, str) and "*" in fmt and any(
            isinstance(item, int) and abs(item) > MAX_VALUE for item in (right if isinstance(right, tuple) else (right,))):
        raise ValueError(f"a % format width above {MAX_VALUE} is not allowed")
    return _small(_OPS[getattr(ast, name)](left, right))


def _call(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    if name.startswith("_") or name in REFUSED_METHODS:
        raise ValueError(f"attribute {name!r} is not allowed")
    _small(obj)
    for value in (*args, *kwargs.values()):
        _small(value, argument=True)
    return _small(getattr(obj, name)(*args, **kwargs))


def apply(code: CodeType, ts: str, moment: dt.datetime) -> str:
    """``ts`` adjusted by the expression (its value as text)."""
    # No builtins the expression could name (compile_expr lets it name only ts and dt);
    # __import__ only because datetime.strftime imports the time module from C.
    scope = {"__builtins__": {"__import__": __import__}, "_op": _op, "_call": _call}
    try:
        value = eval(code, scope, {"ts": ts, "dt": moment})  # noqa: S307
    except Exception as exc:  # one readable line at query time instead of a traceback
        raise ValueError(f"timestamp_format_expr failed on {ts!r}: {type(exc).__name__}: {exc}") from None
    return value if isinstance(value, str) else str(value)
