"""The statistics of a ``ClassificationResults``: 95 % intervals of its summary metrics (the
bootstrap over samples, or groups, drawn in chunks at any number of classes; which interval each
metric reads is :data:`INTERVAL_METHODS`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation._classification_base import (
    ClassificationBase,
)
from assay.evaluation._hard_labels import (
    drop_score_intervals,
)
from assay.evaluation.results import OperatingPoint
from assay.metrics import calibration as cal
from assay.metrics.bootstrap import interval_replicates
from assay.metrics.stats import percentile_intervals

INTERVAL_CAP = 50_000
"""Default ``cap`` of :meth:`ClassificationResults.intervals`: the rows a replicate draws above
it (m out of n), where every class keeps enough rows in so few."""

INTERVAL_METHODS = {
    f"{avg}_{m}": "centred"
    for avg in ("macro", "micro", "weighted")
    for m in ("precision", "recall", "f1")
} | {"roc_auc_macro": "logit", "average_precision_macro": "logit"}
"""How each interval is read from the bootstrap replicates (the rest: percentile; ECE: none of
these, see below). Per-class ratios (P, R, F1) on few rows a class are biased by O(1 / rows), and
a macro average over many classes keeps the bias while its standard error shrinks; their
replicates carry it again, so their interval is the percentile interval moved by twice the
bootstrap bias, centred on estimate - bias ("centred" in
:func:`assay.metrics.stats.percentile_intervals`), where the plain percentile one would double
the bias. ROC AUC and AP: a normal interval on the logit scale, bias-corrected, with a Student
quantile for the effective degrees of freedom of the macro average (:func:`_ranking_df`): at 5
classes x 1,000 samples (one class ~31 rows) their percentile intervals covered 91.0 % of 300
simulated datasets each, these 93.3 / 92.7 % (94.0 / 93.3 % of the next 300). ECE: :func:`assay.metrics.calibration.ece_interval`, centred on the
debiased ECE (of the same 300 datasets the percentile interval covered 59.7 %, the centred
one 87.0 %, the debiased one 92.3 %; 95.7 % of the next 300). Accuracy, log
loss and Brier (means of per-sample terms) keep the percentile interval. Every interval is
widened, where it excludes its estimate, to reach it (``contain_estimate``). Coverage:
benchmarks/statistics.py --only cls5 / cls1000, benchmarks/interval_coverage.py."""


def _ranking_df(values: np.ndarray, rows: np.ndarray) -> float | None:
    """Satterthwaite's effective degrees of freedom of a macro average of per-class AUC / AP
    ``values`` whose class c is measured on ``rows[c]`` rows (its positives, or for AUC the
    fewer of positives and negatives): class c's variance taken as v (1 - v) / rows with rows - 1
    degrees of freedom. Few where one rare class dominates the average's variance (5 classes,
    one of 31 rows: ~60), many at 1,000 classes; None where no class varies."""
    ok = np.isfinite(values) & (rows >= 2)
    v, m = values[ok], rows[ok].astype(np.float64)
    w = v * (1 - v) / m
    if not w.size or w.sum() <= 0:
        return None
    return float(w.sum() ** 2 / (w * w / (m - 1)).sum())


class StatisticsMixin(ClassificationBase):
    """The intervals of a classification evaluation."""

    if TYPE_CHECKING:

        def summary(self, at: OperatingPoint | None = None) -> dict[str, Any]: ...

    def intervals(
        self,
        n: int = 200,
        seed: int = 0,
        at: OperatingPoint | None = None,
        *,
        cap: int | None = None,
    ) -> dict[str, dict[str, float] | None]:
        """95 % bootstrap intervals of the summary metrics (keys as in ``summary``: accuracy,
        top1_accuracy or hamming_loss, macro / micro / weighted precision, recall, f1,
        roc_auc_macro, average_precision_macro, log_loss, brier, ece), samples resampled with
        ``np.random.default_rng(seed)``; None where undefined.

        The ``n`` replicates (:func:`assay.metrics.bootstrap.interval_replicates`) draw N rows
        each, or, with :attr:`groups`, whole groups (the cluster bootstrap). ``cap`` (default
        :data:`INTERVAL_CAP`): above ``cap`` rows a replicate draws only ``cap`` of them, the
        spread rescaled by sqrt(cap / N) (m out of n), but only where every class still keeps
        at least :data:`assay.metrics.bootstrap.MIN_CLASS_ROWS` rows in it; ROC AUC and AP at
        many classes are drawn class by class. Precision, recall and F1 get the percentile
        interval of the deviations ``d`` of the replicates from the estimate moved by
        ``-2 mean(d)`` (centred on the bias-corrected estimate), which removes the O(1/n) bias of
        per-class ratios on few rows a class that a macro average over many classes keeps while
        its standard error shrinks; ROC AUC and AP a bias-corrected normal interval on the logit
        scale; accuracy, log loss and Brier the percentile interval (:data:`INTERVAL_METHODS`,
        :func:`assay.metrics.stats.percentile_intervals`). ECE's interval is for the population
        ECE and centred on the debiased ECE, not on the (upward-biased) ECE shown
        (:func:`assay.metrics.calibration.ece_interval`). An interval that would exclude its
        estimate (a bias larger than the spread: weighted precision at 1,000 classes x 50
        rows) is widened to reach it.

        >>> from assay.evaluation.classification import ClassificationResults
        >>> r = ClassificationResults([0, 1] * 20, [[.7, .3], [.4, .6]] * 20)
        >>> r.intervals(n=20)["accuracy"]
        {'low': 1.0, 'high': 1.0}
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ParameterError(f"n: must be an integer >= 1, got {n!r}")
        if cap is None:
            cap = INTERVAL_CAP
        if isinstance(cap, bool) or not isinstance(cap, int | np.integer) or cap < 1:
            raise ParameterError(f"cap: must be an integer >= 1, got {cap!r}")
        t = self._t(at)
        key = ("intervals", int(n), int(seed), t, int(cap))
        if key not in self._cache:
            reps, scale = interval_replicates(
                self.y_true,
                self.y_score,
                t,
                n=int(n),
                seed=int(seed),
                cap=int(cap),
                groups=self.groups,
                multilabel=self.multilabel,
                zero_division=self.zero_division,
                ranking=not self.hard_labels,
            )
            s = self.summary(OperatingPoint(threshold=t))
            ranked = ("roc_auc_macro", "average_precision_macro")  # None without scores
            estimate = {k: s[k] for k in s if k in reps or k in ranked}
            positives = np.asarray(self._n_true, dtype=np.int64)
            df = {
                "roc_auc_macro": _ranking_df(
                    self._auc, np.minimum(positives, self.n_samples - positives)
                ),
                "average_precision_macro": _ranking_df(self._ap, positives),
            }
            found = percentile_intervals(
                reps,
                estimate,
                scale=scale,
                method=INTERVAL_METHODS,
                df={k: v for k, v in df.items() if v is not None},
                contain_estimate=True,
            )
            if "ece" in found and found["ece"] is not None:
                found["ece"] = self._ece_interval(int(seed))
            self._cache[key] = drop_score_intervals(found) if self.hard_labels else found
        self._intervals = dict(self._cache[key])
        return dict(self._intervals)

    def _ece_interval(self, seed: int) -> dict[str, float] | None:
        """ECE's interval (:func:`assay.metrics.calibration.ece_interval`): over the top-1
        confidence of each sample, or every cell of a multi-label evaluation (a sample's cells
        one unit); with :attr:`groups` a group is the unit."""
        unit: np.ndarray | None
        if self.multilabel:
            conf, hit = self.y_score.ravel(), np.asarray(self.y_true, dtype=np.float64).ravel()
            owner = np.arange(self.n_samples) if self.groups is None else self.groups
            unit = np.repeat(owner, self.n_classes)
        else:
            conf, hit = self._top, self._correct
            unit = None if self.groups is None else self.groups
        return cal.ece_interval(conf, hit, units=unit, seed=seed)
