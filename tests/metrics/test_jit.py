"""``small_first`` kernels: the Python path (small inputs, before any compile) gives exactly the
machine code's answer, for every wrapped kernel on the inputs the evaluation really passes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from assay.evaluation.classification import ClassificationResults
from assay.evaluation.results import OperatingPoint
from assay.metrics import cells, classification, jit, ranking
from assay.metrics.jit import SmallFirst, small_first

WRAPPED = {
    "first_bad_row": cells.first_bad_row,
    "cells": cells.cells,
    "cell_counts": cells.cell_counts,
    "sweep": cells.sweep,
    "ml_row_stats": cells.ml_row_stats,
    "_row_stats": classification._row_stats,
    "_group_by_class": ranking._group_by_class,
    "_sorted_by_class": ranking._sorted_by_class,
    "_gather_sorted_single": ranking._gather_sorted_single,
    "_gather_sorted_multi": ranking._gather_sorted_multi,
    "_bucket_tables": ranking._bucket_tables,
    "_bucket_entries": ranking._bucket_entries,
    "_place_samples": ranking._place_samples,
    "_reduce_auc_ap": ranking._reduce_auc_ap,
}


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Every call of a wrapped kernel (its name and a copy of its arguments)."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    original = SmallFirst.__call__

    def record(self: SmallFirst, *args: Any) -> Any:
        calls.append(
            (self.__name__, tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args))
        )
        return original(self, *args)

    monkeypatch.setattr(SmallFirst, "__call__", record)
    yield calls


def _exercise(rng: np.random.Generator, dtype: type, multilabel: bool) -> None:
    n, c = 300, 5
    if multilabel:
        y: np.ndarray = rng.random((n, c)) < 0.35
        s = rng.random((n, c))
    else:
        y = rng.integers(0, c, n)
        s = rng.dirichlet(np.ones(c), n)
        s[:40] = np.round(s[:40], 1)  # ties between samples and between classes
        s[40:50] = 1.0 / c
    res = ClassificationResults(y, s.astype(dtype), multilabel=multilabel)
    for t in (None, 0.2, 0.55):
        res.summary(OperatingPoint(threshold=t)), res.confusion(OperatingPoint(threshold=t))
    for metric in ("f1", "accuracy", "precision", "recall", "micro_f1"):
        res.optimal(metric)


def _same(a: Any, b: Any) -> None:
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, z in zip(a, b, strict=True):
            _same(x, z)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert type(a) is type(b) and (a == b or (a != a and b != b)), (a, b)


@pytest.mark.parametrize(
    ("dtype", "multilabel"), [(np.float64, False), (np.float32, False), (np.float64, True)]
)
def test_python_path_equals_machine_code(
    recorded: list[tuple[str, tuple[Any, ...]]], dtype: type, multilabel: bool
) -> None:
    _exercise(np.random.default_rng(7), dtype, multilabel)
    seen = {name for name, _ in recorded}
    want = {"first_bad_row", "cells", "cell_counts", "sweep", "_row_stats", "_sorted_by_class"}
    want = {"ml_row_stats", "_gather_sorted_multi"} if multilabel else want
    assert want | {"_bucket_entries", "_place_samples", "_reduce_auc_ap"} <= seen
    for name, args in recorded:
        kernel = WRAPPED[name]
        fresh = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        _same(jit._py_scalar(kernel.py_func(*args)), kernel.dispatcher(*fresh))


def test_small_inputs_run_in_python_until_compiled() -> None:
    @small_first(cache=False)
    def total(x: np.ndarray) -> float:
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i]
        return s

    assert total(np.arange(10.0)) == 45.0 and not total.compiled
    big = np.ones(jit.SMALL + 1)
    assert total(big) == jit.SMALL + 1 and total.compiled  # a large input compiles
    assert total(np.arange(10.0)) == 45.0 and isinstance(total(np.arange(3.0)), float)


def test_compile_always_compiles_small_inputs() -> None:
    @small_first(cache=False)
    def first(x: np.ndarray) -> int:
        return x[0]

    try:
        jit.compile_always()
        assert first(np.arange(3)) == 0 and first.compiled
    finally:
        jit.compile_always(False)
    assert type(first(np.arange(3))) is int
