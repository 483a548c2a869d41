"""Curves of ``ClassificationResults``: ROC, precision-recall, per-threshold curves, calibration
bins and score densities, one class against the rest. The formulas are the kernels of
:mod:`assay.metrics.ranking` and :mod:`assay.metrics.calibration`; this part keeps each class's
sorted counts and turns the arrays into JSON-safe answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation._classification_base import ClassificationBase, float_or_none, floats_or_none
from assay.evaluation.results import OperatingPoint
from assay.evaluation.vocabulary import CURVES
from assay.metrics import calibration as cal
from assay.metrics import ranking as rk
from assay.metrics.selective import risk_coverage_curve

_DEFAULT_BINS = {"calibration": 15, "density": 50}


class CurvesMixin(ClassificationBase):
    """``curve(kind, label, at, bins=)``; each class's ``binary_clf_curve`` counts are kept."""

    def _clf_curve(self, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if c not in self._curves:
            self._curves[c] = rk.binary_clf_curve(self._is_positive(c), self.y_score[:, c])
        return self._curves[c]

    def _is_positive(self, c: int) -> np.ndarray:
        return self.y_true[:, c] if self.multilabel else self.y_true == c

    def curve(
        self,
        kind: str,
        label: str | None = None,
        at: OperatingPoint | None = None,
        *,
        bins: int | None = None,
    ) -> dict[str, Any]:
        """One curve, ``label`` against the rest (None: the first class; calibration has none):

        - roc {fpr, tpr, thresholds, auc}: every distinct score, the first point (0, 0) with
          threshold None (above every score); ``auc`` is the per-class table's ROC AUC;
        - pr {precision, recall, thresholds, average_precision}: as scikit-learn's
          ``precision_recall_curve`` (thresholds increasing, last point precision 1, recall 0);
        - threshold {thresholds, precision, recall, tpr, fpr}: ``score >= threshold``, descending;
        - calibration {ece, bins: [{lower, upper, count, confidence, accuracy}]}: the top-1
          confidence (multi-label: every class score), ``bins`` equal-width bins (default 15);
        - density {edges, positives, negatives}: histograms of the class's score on [0, 1]
          (``bins`` default 50);
        - risk_coverage {thresholds, coverage, risk, aurc} (single-label; label None): keeping
          the samples whose top score is at least each distinct top score, the share kept and the
          error rate among them; ``aurc`` its area (:mod:`assay.metrics.selective`).

        Threshold-free: ``at`` is only checked. Undefined values are None.

        >>> from assay.evaluation.classification import ClassificationResults
        >>> r = ClassificationResults([0, 1], [[.9, .1], [.2, .8]], ["cat", "dog"])
        >>> r.curve("roc", "dog")["tpr"], r.curve("roc", "dog")["auc"]
        ([0.0, 1.0, 1.0], 1.0)
        >>> r.curve("density", "dog", bins=2)["positives"]
        [0, 1]
        """
        kinds = CURVES[self.task]
        if kind not in kinds:
            raise ParameterError(f"kind: must be one of {', '.join(kinds)}, got {kind!r}")
        self.point(at)
        if bins is None:
            bins = _DEFAULT_BINS.get(kind, 15)
        elif isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
            raise ParameterError(f"bins: must be a positive integer, got {bins!r}")
        if kind == "calibration":
            if self.multilabel:
                bins_ = cal.reliability_bins(
                    self.y_score.ravel(), self.y_true.ravel(), bins=int(bins)
                )
            else:
                bins_ = cal.reliability_bins(self._top, self._correct, bins=int(bins))
            return {
                "kind": kind,
                "label": None,
                "ece": float_or_none(bins_["ece"]),
                "bins": bins_["bins"],
            }
        if kind == "risk_coverage":
            if "risk_coverage" not in self._cache:
                rc = risk_coverage_curve(self._top, self._correct)
                self._cache["risk_coverage"] = {
                    "kind": kind,
                    "label": None,
                    **{k: floats_or_none(rc[k]) for k in ("thresholds", "coverage", "risk")},
                    "aurc": float_or_none(rc["aurc"]),
                }
            return dict(self._cache["risk_coverage"])
        c = self._label(label)
        out: dict[str, Any] = {"kind": kind, "label": self.classes[c]}
        if kind == "density":
            d = cal.score_density(self.y_score[:, c], self._is_positive(c), bins=int(bins))
            out.update({k: v.tolist() for k, v in d.items()})
            return out
        counts = self._clf_curve(c)
        if kind == "roc":
            roc = rk.roc_from_counts(*counts)
            out.update({k: floats_or_none(roc[k]) for k in ("fpr", "tpr", "thresholds")})
            out["auc"] = float_or_none(self._auc[c])
        elif kind == "pr":
            pr = rk.pr_from_counts(*counts)
            out.update({k: floats_or_none(pr[k]) for k in ("precision", "recall", "thresholds")})
            out["average_precision"] = float_or_none(self._ap[c])
        else:
            th = rk.threshold_from_counts(*counts)
            out.update({k: floats_or_none(v) for k, v in th.items()})
        return out
