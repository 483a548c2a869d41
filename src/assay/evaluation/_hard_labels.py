"""Hard labels: predictions that name a class without a score.

They are read as one-hot (multi-label: multi-hot) score rows (:func:`assay.formats.align.align`),
so every metric that needs no scores (accuracy, per-class precision / recall / F1, the confusion
matrix, averages, top-1 accuracy) is exact. Those that rank or weigh scores (ROC AUC, average
precision, log loss, Brier, calibration error, top-k for k > 1, curves) would be computed on the
ones and zeros and mean nothing: a results object built with ``hard_labels=True`` drops them
(None in every answer), and :data:`HARD_LABELS_NOTE` says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.formats.tables import HARD_LABELS_NOTE

__all__ = ["HARD_LABELS_NOTE", "SCORE_METRICS", "drop_score_metrics", "drop_score_intervals"]

SCORE_METRICS = ("roc_auc_macro", "average_precision_macro", "log_loss", "brier", "ece")
"""The summary keys that need scores."""


def drop_score_metrics(results: Any) -> None:
    """Undefine a classification results object's score-based metrics (NaN, answered as None)
    and keep only top-1 of its top-k accuracies."""
    results._auc = np.full(results.n_classes, np.nan)
    results._ap = np.full(results.n_classes, np.nan)
    results._log_loss = results._brier = results._ece = float("nan")
    if not results.multilabel:
        results.top_k = [1]


def drop_score_intervals(intervals: dict[str, Any]) -> dict[str, Any]:
    """Bootstrap intervals without those of the score-based metrics (None)."""
    return {k: (None if k in SCORE_METRICS else v) for k, v in intervals.items()}
