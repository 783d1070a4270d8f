"""The codebase's shape: no import circle between modules, and imports only go down the layers.

Walks every product module's imports with ``ast`` (imports inside functions and under
``TYPE_CHECKING`` count too: an import moved into a function to dodge a circle is still a
circle) and checks two rules from the README's architecture section:

* no strongly connected set of two or more modules (a circle, however long);
* a module imports only from its own layer or the layers below it::

    errors, models → domain → infra → rules → store → reports → activities → workflows
      → audit → services → cli, web → starter, worker
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("claims", "activities", "workflows", "rules")
TOP_LEVEL = ("starter.py", "worker.py")

LAYERS: tuple[tuple[str, ...], ...] = (
    ("claims", "claims.errors", "claims.models"),
    ("claims.domain",),
    ("claims.infra",),
    ("rules",),
    ("claims.store",),
    ("claims.reports",),
    ("activities",),
    ("workflows",),
    ("claims.audit",),
    ("claims.services",),
    ("claims.cli", "claims.web"),
    ("starter", "worker"),
)
"""Layer order, lowest first; a module belongs to the longest prefix that names it."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    """Every product module by dotted name (packages by their ``__init__``)."""
    found: dict[str, Path] = {}
    for top in PRODUCT:
        for path in sorted((REPO / top).rglob("*.py")):
            found[_module_name(path)] = path
    for name in TOP_LEVEL:
        found[name.removesuffix(".py")] = REPO / name
    return found


def _imported(module: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported product module, line) for each import in ``path`` that names a product module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            # The longest known module that the target names (``claims.store.db.Claim`` → ``claims.store.db``).
            parts = target.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts and ".".join(parts) != module:
                yield ".".join(parts), node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """module → {imported module: first line}, product modules only."""
    known = product_modules()
    graph: dict[str, dict[str, int]] = {}
    for module, path in known.items():
        edges: dict[str, int] = {}
        for target, line in _imported(module, path, known):
            edges.setdefault(target, line)
        graph[module] = edges
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected sets of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                members.append(top)
                if top == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int:
    """The layer index of ``module`` (by its longest matching prefix in ``LAYERS``)."""
    best, best_len = -1, -1
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    if best < 0:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in tests/test_layers.py")
    return best


def test_the_walker_sees_the_known_modules_and_their_imports() -> None:
    graph = import_graph()
    assert "workflows.claim" in graph and "claims.store.db" in graph and "starter" in graph
    assert "activities.store" in graph["worker"]
    assert "workflows.claim" in graph["worker"]


def test_the_circle_finder_finds_a_three_module_circle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert circles(graph) == [["a", "b", "c"]]


def test_no_import_circle_between_modules() -> None:
    found = circles(import_graph())
    assert not found, "import circles: " + "; ".join(" ↔ ".join(c) for c in found)


def test_imports_only_go_down_the_layers() -> None:
    graph = import_graph()
    known = product_modules()
    upward = [
        f"{known[module].relative_to(REPO)}:{line} imports {target}"
        f" (layer {layer_of(target)} above {layer_of(module)})"
        for module, edges in sorted(graph.items())
        for target, line in sorted(edges.items())
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_product_code_does_not_import_tests_or_benches() -> None:
    known = product_modules()
    offending = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offending += [f"{module}:{node.lineno} {n}" for n in names if n.split(".")[0] in ("tests", "bench")]
    assert not offending, offending


@pytest.mark.parametrize("module", sorted(product_modules()))
def test_every_module_opens_with_a_docstring_naming_its_job(module: str) -> None:
    path = product_modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    if path.name == "__init__.py" and not tree.body:
        pytest.skip("empty package marker")
    assert doc and len(doc.split()) >= 4, f"{path.relative_to(REPO)} has no opening docstring saying its job"
