"""Shared pieces of the data-quality analysis: the optional-extra gate, JSON-safe floats, and the
grouping of near-duplicate pairs."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from assay.errors import AssayError

EXTRA_HINT = "pip install 'assay[analysis]'"


class MissingAnalysisExtra(AssayError):
    """A package of the ``analysis`` extra is not installed."""


def need(module: str) -> ModuleType:
    """Import ``module`` of the ``analysis`` extra, or a one-line error saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingAnalysisExtra(
            f"data-quality analysis needs {top} (install it with {EXTRA_HINT})"
        ) from None


def fnum(x: Any) -> float | None:
    """A finite float, or None (NaN, inf, None)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass
class PropertyTable:
    """Per-sample properties: ``values[name]`` is a float64 array with one entry per sample (NaN
    where undefined, e.g. an unreadable file); ``descriptions[name]`` says what it measures;
    ``unreadable`` counts the samples whose source could not be read; ``notes`` are for people.
    ``extra`` holds arrays that are not properties (image perceptual hashes, text MinHash
    signatures) for the near-duplicate search."""

    values: dict[str, np.ndarray]
    descriptions: dict[str, str]
    unreadable: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0


def group_pairs(n: int, pairs: list[tuple[int, int, float]]) -> list[dict[str, Any]]:
    """Connected components of near-duplicate pairs (i, j, distance): [{indices (sorted),
    distance (the largest pair distance inside the group)}], the largest groups first, then by
    smallest index."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    worst: dict[int, float] = {}
    for i, j, _ in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i, j, d in pairs:
        root = find(i)
        worst[root] = max(worst.get(root, 0.0), float(d))
        for k in (i, j):
            members.setdefault(root, []).append(k)
    found = sorted((sorted(set(m)), worst[root]) for root, m in members.items())
    found.sort(key=lambda g: -len(g[0]))
    return [{"indices": idx, "distance": d} for idx, d in found]
