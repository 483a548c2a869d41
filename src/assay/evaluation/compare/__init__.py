"""Compare evaluations of the same samples: two of them (:func:`compare`: classification,
multi-label and detection, each in its module), several on one dataset version
(:mod:`assay.evaluation.compare.leaderboard`), or two prediction files without labels
(:mod:`assay.evaluation.compare.agreement`). The toolkit every comparison shares is
:mod:`assay.evaluation.compare.common`.

>>> out = compare(results_a, results_b)          # doctest: +SKIP
>>> out["verdicts"][0]                           # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from assay.errors import InputError
from assay.evaluation.compare.classification import METRICS, compare_classification
from assay.evaluation.compare.common import (
    PRIMARY,
    disagreements,
    margins_of,
    p_text,
    size_text,
    verdict,
    verdicts,
)
from assay.evaluation.dispatch import is_classification, is_detection
from assay.evaluation.results import OperatingPoint, Results

__all__ = [
    "METRICS",
    "PRIMARY",
    "compare",
    "compare_classification",
    "disagreements",
    "margins_of",
    "p_text",
    "size_text",
    "verdict",
    "verdicts",
]


def compare(
    a: Results,
    b: Results,
    *,
    at_a: OperatingPoint | None = None,
    at_b: OperatingPoint | None = None,
    n: int | None = None,
    seed: int = 0,
    level: float = 0.95,
    top: int = 20,
    intervals: bool = True,
    margin: float | None = None,
    margin_metrics: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """B against A, whatever the task (both must share it): :func:`compare_classification` or
    :func:`assay.evaluation.compare.detection.compare_detection`. ``n`` resamples (default 1000
    for classification, 200 for detection, where each resample re-accumulates AP);
    ``intervals=False``: no bootstrap (bootstrap intervals and p-values None). ``margin``: the
    non-inferiority / equivalence margin, in percentage points for metrics shown in points
    (accuracy, F1, ...), in the metric's own units otherwise (mAP, AUC, log loss), applied to
    ``margin_metrics`` (names of the registry; default the task's primary metric)."""
    if is_detection(a) or is_detection(b):
        from assay.evaluation.compare.detection import compare_detection

        if not (is_detection(a) and is_detection(b)):
            raise InputError(
                f"evaluation A is {a.task} and B is {b.task}: compare evaluations of one task"
            )
        margins = margins_of("detection", margin, margin_metrics)
        return compare_detection(
            a, b, at_a=at_a, at_b=at_b, n=n or 200, seed=seed, level=level, top=top,
            intervals=intervals, margins=margins,
        )  # fmt: skip
    if is_classification(a) and a.multilabel:
        from assay.evaluation.compare.multilabel import compare_multilabel

        margins = margins_of("multilabel", margin, margin_metrics)
        return compare_multilabel(
            a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top,
            intervals=intervals, margins=margins,
        )  # fmt: skip
    margins = margins_of("classification", margin, margin_metrics)
    return compare_classification(
        a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top,
        intervals=intervals, margins=margins,
    )  # fmt: skip
