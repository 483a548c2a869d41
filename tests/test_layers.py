"""The layers of DESIGN.md import downwards only; no two modules import each other (directly or
round a longer circle); no module imports a private name (``_x``) of another, nor a private
module from outside its package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "assay"

# Each layer and the layers it may import (besides itself and the shared errors / settings).
ALLOWED: dict[str, set[str]] = {
    "metrics": set(),
    "formats": set(),
    "runners": {"metrics", "formats"},
    "evaluation": {"metrics", "formats", "runners"},
    "store": {"metrics", "formats", "evaluation", "runners"},
    "reports": {"metrics", "formats", "evaluation", "runners"},
    "service": {"metrics", "formats", "evaluation", "store", "runners", "reports"},
    "integrations": {"metrics", "formats", "evaluation", "store", "runners", "reports", "service"},
    "server": {"metrics", "formats", "evaluation", "store", "service", "runners", "reports"},
    "cli": {
        "metrics",
        "formats",
        "evaluation",
        "store",
        "service",
        "server",
        "runners",
        "reports",
        "integrations",
    },
    "demo": {
        "metrics",
        "formats",
        "evaluation",
        "store",
        "service",
        "server",
        "cli",
        "runners",
        "reports",
        "integrations",
    },
}
SHARED = {"errors", "settings", "caches"}

# Import circles that exist today and the issue item that removes them. A circle found must lie
# inside one of these (so a circle may shrink, not grow), and none may be added: a new circle is
# a module that belongs elsewhere. Strike an entry when its item lands.
KNOWN_CIRCLES: dict[frozenset[str], str] = {}

# Private names imported from another module today ("importer <- module.name") and the issue
# item that removes them. None may be added; cli has none.
KNOWN_PRIVATE_IMPORTS: dict[str, str] = {}


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "assay" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_down(layer: str) -> None:
    for path in sorted((SRC / layer).rglob("*.py")):
        bad = imported_layers(path) - ALLOWED[layer] - SHARED - {layer}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def module_name(path: Path, package: Path) -> str:
    """``src/assay/cli/main.py`` -> ``assay.cli.main``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_owner(module: str) -> str | None:
    """The package a private module belongs to (``assay.store._util`` -> ``assay.store``), the
    innermost when several parts are private; None for a public module."""
    parts = module.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_") and part[:2] != "__"]
    return ".".join(parts[: private[-1]]) if private else None


def import_graph(package: Path) -> tuple[dict[str, set[str]], set[str]]:
    """The modules of ``package`` (a folder) and the modules each imports, every import counted
    (inside functions too: a lazy import still ties the two modules together), and the private
    imports: "importer <- module.name" for a ``_name`` imported from another module, or a private
    module imported from outside the package that holds it."""
    paths = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    private: set[str] = set()

    def known(name: str) -> str | None:  # the module an import name lands in
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    def check_module(importer: str, module: str) -> None:
        owner = _private_owner(module)
        if owner is not None and importer != owner and not importer.startswith(owner + "."):
            private.add(f"{importer} <- {module}")

    for importer, path in paths.items():
        is_package = path.name == "__init__.py"
        here = importer if is_package else importer.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = known(alias.name)
                    if target is not None:
                        edges.add(target)
                        check_module(importer, target)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package ``level - 1`` above this one's
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if known(base) is None:
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in paths else known(base)
                    assert target is not None
                    edges.add(target)
                    check_module(importer, target)
                    name = alias.name
                    if target != full and name.startswith("_") and name[:2] != "__":
                        private.add(f"{importer} <- {full}")
        edges.discard(importer)
        graph[importer] = edges
    return graph, private


def import_circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The circles of ``graph``: its strongly connected components of two modules or more
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_no_import_circle() -> None:
    graph, _ = import_graph(SRC)
    new = [
        sorted(circle)
        for circle in import_circles(graph)
        if not any(circle <= known for known in KNOWN_CIRCLES)
    ]
    assert not new, f"modules that import each other (directly or round a circle): {new}"


def test_no_private_name_imported_from_another_module() -> None:
    _, private = import_graph(SRC)
    new = sorted(private - set(KNOWN_PRIVATE_IMPORTS))
    assert not new, f"private names or modules imported from another module: {new}"


def test_the_known_exceptions_are_still_there() -> None:
    """A known circle or private import that is gone is struck from the lists, so they only
    shrink and say what is left."""
    graph, private = import_graph(SRC)
    circles = import_circles(graph)
    assert not sorted(set(KNOWN_PRIVATE_IMPORTS) - private), "gone: strike from the list"
    gone = [sorted(k) for k in KNOWN_CIRCLES if not any(c <= k for c in circles)]
    assert not gone, "gone: strike from KNOWN_CIRCLES"


def test_no_known_exception_in_cli() -> None:
    listed = [*KNOWN_PRIVATE_IMPORTS, *(m for circle in KNOWN_CIRCLES for m in circle)]
    assert not [entry for entry in listed if entry.startswith("assay.cli.")]


def test_the_checks_find_a_circle_and_a_private_import(tmp_path: Path) -> None:
    """The checker on a small package: a -> b -> c -> a is one circle, d -> e is none; ``_x``
    from another module and ``p._m`` from outside ``p`` are private imports, ``p._m`` from
    ``p.q`` (its own package) and a relative import of a public name are not."""
    pkg = tmp_path / "assay"
    (pkg / "p").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from assay.b import f\n",
        "b.py": "def f():\n    from assay import c\n",
        "c.py": "import assay.a\nfrom assay.d import _x\n",
        "d.py": "from assay.e import g\n_x = 1\n",
        "e.py": "def g(): ...\n",
        "p/__init__.py": "",
        "p/_m.py": "y = 1\n",
        "p/q.py": "from assay.p._m import y\nfrom .. import e\n",
        "r.py": "from assay.p import _m\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph, private = import_graph(pkg)
    assert graph["assay.b"] == {"assay.c"}
    assert graph["assay.p.q"] == {"assay.p._m", "assay.e"}
    assert import_circles(graph) == [frozenset({"assay.a", "assay.b", "assay.c"})]
    assert private == {"assay.c <- assay.d._x", "assay.r <- assay.p._m"}
