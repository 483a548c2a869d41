"""Curves of ``ClassificationResults``: ROC, precision-recall, per-threshold curves, calibration
bins and score densities, one class against the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation._classification_base import _ClassificationBase, _f
from assay.metrics import calibration as cal
from assay.metrics import ranking as rk


class _CurvesMixin(_ClassificationBase):
    """ROC / PR / threshold curves (each class's sorted scores kept), calibration, density."""

    def _curve(self, label: str | int | None) -> tuple[int, tuple]:
        c = self._label(label)
        if c not in self._curves:
            self._curves[c] = rk.binary_clf_curve(self._is_positive(c), self.y_score[:, c])
        return c, self._curves[c]

    def _is_positive(self, c: int) -> np.ndarray:
        return self.y_true[:, c] if self.multilabel else self.y_true == c

    def roc_curve(self, label: str | int | None = None) -> dict[str, Any]:
        """ROC of one class vs the rest: every distinct threshold, the first point (0, 0) at
        ``inf``.

        >>> from assay.evaluation.classification import ClassificationResults
        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).roc_curve("1")["auc"]
        1.0
        """
        c, (fps, tps, thr) = self._curve(label)
        fps, tps = np.r_[0, fps], np.r_[0, tps]
        with np.errstate(invalid="ignore", divide="ignore"):
            fpr = fps / fps[-1] if fps[-1] else np.full(fps.shape, np.nan)
            tpr = tps / tps[-1] if tps[-1] else np.full(tps.shape, np.nan)
        thresholds = np.r_[np.inf, thr.astype(np.float64)]
        return {"fpr": fpr, "tpr": tpr, "thresholds": thresholds, "auc": _f(self._auc[c])}

    def pr_curve(self, label: str | int | None = None) -> dict[str, Any]:
        """Precision-recall as scikit-learn's ``precision_recall_curve`` (thresholds increasing).

        >>> from assay.evaluation.classification import ClassificationResults
        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).pr_curve("1")["average_precision"]
        1.0
        """
        c, (fps, tps, thr) = self._curve(label)
        precision = tps / np.maximum(tps + fps, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = tps / tps[-1] if tps[-1] else np.full(tps.shape, np.nan)
        return {
            "precision": np.r_[precision[::-1], 1.0],
            "recall": np.r_[recall[::-1], 0.0],
            "thresholds": thr[::-1].astype(np.float64),
            "average_precision": _f(self._ap[c]),
        }

    def threshold_curves(self, label: str | int | None = None) -> dict[str, Any]:
        """Precision, recall (TPR) and FPR of ``score >= threshold`` one-vs-rest, thresholds
        descending.

        >>> from assay.evaluation.classification import ClassificationResults
        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).threshold_curves(1)["fpr"].tolist()
        [0.0, 1.0]
        """
        _, (fps, tps, thr) = self._curve(label)
        pos, neg = tps[-1], fps[-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            tpr = tps / pos if pos else np.full(tps.shape, np.nan)
            fpr = fps / neg if neg else np.full(fps.shape, np.nan)
        return {
            "thresholds": thr.astype(np.float64),
            "precision": tps / np.maximum(tps + fps, 1),
            "recall": tpr,
            "tpr": tpr,
            "fpr": fpr,
        }

    def calibration(self, bins: int = 15) -> dict[str, Any]:
        """Reliability bins and ECE on the top-1 confidence (multi-label: every class score).

        >>> from assay.evaluation.classification import ClassificationResults
        >>> r = ClassificationResults([0, 1], [[.9, .1], [.2, .8]])
        >>> r.calibration(bins=2)["bins"][1]["count"]
        2
        """
        if not isinstance(bins, int | np.integer) or bins < 1:
            raise ParameterError(f"bins must be a positive integer, got {bins!r}")
        if self.multilabel:
            return cal.reliability_bins(self.y_score.ravel(), self.y_true.ravel(), bins=int(bins))
        return cal.reliability_bins(self._top, self._correct, bins=int(bins))

    def density(self, label: str | int | None = None, bins: int = 50) -> dict[str, Any]:
        """Histogram of one class's score for its positives and negatives on [0, 1].

        >>> from assay.evaluation.classification import ClassificationResults
        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).density(1, bins=2)["positives"]
        [0, 1]
        """
        if not isinstance(bins, int | np.integer) or bins < 1:
            raise ParameterError(f"bins must be a positive integer, got {bins!r}")
        c = self._label(label)
        d = cal.score_density(self.y_score[:, c], self._is_positive(c), bins=int(bins))
        return {k: v.tolist() for k, v in d.items()}
