"""The package's import graph: no cycles, and nothing reaches into another stage's privates.

Every import of a logalert module counts, at any depth (a function-level import is
how a cycle gets hidden), except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "logalert"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import that runs."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, []) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                found.append((base, [a.name for a in child.names]))
            visit(child)

    visit(tree)
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[str, list[str]]]]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    raw: dict[str, list[tuple[str, list[str]]]] = {}
    for name, path in modules.items():
        imports = _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        raw[name] = imports
        for target, names in imports:
            if not target.startswith("logalert"):
                continue
            # `from pkg import sub` imports the submodule; the package's own __init__
            # runs first, unless the importer is inside that package already.
            targets = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules] or [target]
            parts = target.split(".")
            parents = [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
            for t in targets + parents:
                if t in modules and t != name and not name.startswith(t + "."):
                    edges[name].add(t)
    return edges, raw


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def test_the_import_graph_has_no_cycle():
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_the_cycle_check_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_function_level_imports_count(tmp_path):
    tree = ast.parse("def f():\n    from logalert.run import runner\nif TYPE_CHECKING:\n    import logalert.cli\n")
    assert _imports(tree, "logalert.x", False) == [("logalert.run", ["runner"])]


def test_no_module_imports_a_private_name_of_another():
    _, raw = _graph()
    private = [(module, target, n) for module, imports in raw.items() for target, names in imports
               if target.startswith("logalert") for n in names if n.startswith("_") and n != "__version__"]
    assert private == []


def test_bottom_modules_import_no_stage():
    """model, fields and the other bottom modules are what every stage may import; they
    import no stage themselves."""
    edges, _ = _graph()
    bottom = {"logalert.model", "logalert.fields", "logalert.errors", "logalert.timeutil",
              "logalert.failpoints", "logalert.metrics", "logalert.secrets"}
    allowed = bottom | {"logalert", "logalert.options"}
    assert {m: sorted(edges[m] - allowed) for m in bottom if edges.get(m, set()) - allowed} == {}


def test_no_module_is_longer_than_400_lines():
    long = {_module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
