"""Which results class answers for a task: rebuilding a stored evaluation, and narrowing a
:class:`~assay.evaluation.results.Results` to its class by its ``task`` (never by ``isinstance``),
so the interface module itself imports no results class.

>>> from assay.evaluation.classification import ClassificationResults
>>> r = ClassificationResults([0, 1], [[0.8, 0.2], [0.3, 0.7]])
>>> is_classification(r), is_detection(r)
(True, False)
>>> results_from_arrays(*r.arrays()).summary()["accuracy"]
1.0
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np

from assay.evaluation.classification import ClassificationResults
from assay.evaluation.detection import DetectionResults
from assay.evaluation.results import Results

__all__ = ["is_classification", "is_detection", "results_from_arrays"]


def results_from_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Results:
    """The results object of any task from its stored arrays (``meta["task"]`` picks the class)."""
    if meta.get("task") == "detection":
        return DetectionResults.from_arrays(arrays, meta)
    return ClassificationResults.from_arrays(arrays, meta)


def is_detection(results: Results) -> TypeGuard[DetectionResults]:
    """Whether ``results`` is a detection evaluation (its ``task``)."""
    return results.task == "detection"


def is_classification(results: Results) -> TypeGuard[ClassificationResults]:
    """Whether ``results`` is a classification evaluation, single- or multi-label."""
    return results.task in ("classification", "multilabel")
