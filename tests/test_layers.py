"""The layers of DESIGN.md import downwards only."""

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
    "service": {"metrics", "formats", "evaluation", "store", "runners"},
    "server": {"metrics", "formats", "evaluation", "store", "service", "runners"},
    "cli": {"metrics", "formats", "evaluation", "store", "service", "server", "runners"},
    "demo": {"metrics", "formats", "evaluation", "store", "service", "server", "cli", "runners"},
}
SHARED = {"errors", "settings", "caches"}


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
