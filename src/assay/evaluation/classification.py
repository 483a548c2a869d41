"""ClassificationResults: one evaluation of a classifier, precomputed so threshold queries are
instant.

Construction makes one pass over the (N, C) score matrix (argmax, top score, the annotated class's
score and rank, Brier terms), sorts each class's positives once for ROC AUC / average precision,
and groups the top scores by confusion cell (actual, predicted), sorted. A query at a new threshold
is then a binary search per non-empty cell: O(K log N) with K <= min(N, C^2) cells, never a pass
over N.

Multi-label: each class's positive and negative scores are kept sorted, so per-class counts at a
threshold are two binary searches; subset accuracy uses per-sample intervals of thresholds at which
the sample is exactly right. The multi-label confusion matrix (see
``assay.metrics.classification.multilabel_confusion_matrix``) is the one query that passes over N x
C (kept per threshold).

The object is a :class:`~assay.evaluation.results.Results`: every query takes an
:class:`~assay.evaluation.results.OperatingPoint` (its ``threshold``; None = the evaluation's) and
answers the JSON-safe shapes of :mod:`assay.evaluation.results`; the words it shows come from
:mod:`assay.evaluation.vocabulary`. Kernels live in :mod:`assay.metrics`: curves
(``ranking.*_from_counts``), calibration, and the bootstrap, whose replicates are all computed at
once (:mod:`assay.metrics.bootstrap`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation._classification_base import float_or_none, floats_or_none, nanmean
from assay.evaluation._classification_curves import CurvesMixin
from assay.evaluation._classification_samples import SamplesMixin
from assay.evaluation._classification_statistics import StatisticsMixin
from assay.evaluation._hard_labels import (
    HARD_LABELS_NOTE,
    drop_score_metrics,
)
from assay.evaluation.results import OperatingPoint, Results
from assay.evaluation.vocabulary import (
    BELOW_THRESHOLD,
    CLASSIFICATION_OPTIMA,
    DEFAULT_MULTILABEL_THRESHOLD,
    NO_LABEL,
)
from assay.metrics import calibration as cal
from assay.metrics import classification as clf
from assay.metrics import ranking as rk
from assay.metrics.cells import cell_counts, cells, ml_row_stats, sweep
from assay.metrics.stats import mean_std

__all__ = ["ClassificationResults", "evaluate_classification"]

_AVERAGED = {"f1": "macro_f1", "precision": "macro_precision", "recall": "macro_recall"}


class ClassificationResults(CurvesMixin, SamplesMixin, StatisticsMixin, Results):
    """An evaluation of scores against labels, queryable at any threshold: the
    :class:`~assay.evaluation.results.Results` of single-label ("classification") and multi-label
    ("multilabel") classification.

    ``threshold``: the default operating point. Single-label: None or 0 is the argmax (every
    sample gets its top class; every number equals scikit-learn's on the argmax); a threshold
    t > 0 is selective prediction (a sample whose top score is below t gets no prediction, and
    the summary adds coverage and the accuracy on the kept samples). Multi-label: class c is
    predicted when its score >= t (None: 0.5).

    ``zero_division``: 0 (default, scikit-learn's): averages over the labels present, an
    undefined ratio counting as 0; NaN: each average over the classes where its metric is defined.

    ``top_k``: the ks of top-k accuracy in the summary (single-label); default 1, 3 and 5 where
    below the number of classes; each an integer >= 1, a k at or above the number of classes
    giving 1.0 (every class is within the top k).

    >>> r = ClassificationResults([0, 1, 1], [[.8, .2], [.3, .7], [.6, .4]], ["cat", "dog"])
    >>> r.summary()["accuracy"], r.per_class()["items"][1]["recall"], r.point().threshold
    (0.6666666666666666, 0.5, 0.0)
    >>> s = r.summary(OperatingPoint(threshold=0.7))
    >>> s["accuracy"], s["coverage"], s["selective_accuracy"]
    (0.6666666666666666, 0.6666666666666666, 1.0)
    """

    def __init__(
        self,
        y_true: Any,
        y_score: Any,
        classes: Sequence[str] | None = None,
        *,
        multilabel: bool = False,
        threshold: float | None = None,
        sample_ids: Any = None,
        folds: Any = None,
        top_k: Sequence[int] | None = None,
        zero_division: float = 0.0,
        hard_labels: bool = False,
        groups: Any = None,
    ) -> None:
        self.multilabel = bool(multilabel)
        self.task = "multilabel" if self.multilabel else "classification"
        self.y_score = self._check_scores(y_score)
        n, n_classes = self.y_score.shape
        self.classes, self.y_true = self._check_labels(y_true, classes, n, n_classes)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        if threshold is None:
            threshold = DEFAULT_MULTILABEL_THRESHOLD if self.multilabel else 0.0
        self.threshold = self._check_threshold(threshold, InputError)
        try:
            self.zero_division = clf.check_zero_division(zero_division)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        self.top_k = self._check_top_k(top_k, n_classes)
        self.sample_ids = None if sample_ids is None else np.asarray(sample_ids)
        if self.sample_ids is not None and self.sample_ids.shape != (n,):
            raise InputError(f"sample_ids has {self.sample_ids.shape[0]} entries, expected {n}")
        self.fold_ids = None if folds is None else np.asarray(folds)
        if self.fold_ids is not None and self.fold_ids.shape != (n,):
            raise InputError(f"folds has {len(self.fold_ids)} entries, expected {n}")
        self.groups = None if groups is None else np.asarray(groups)
        if self.groups is not None and self.groups.shape != (n,):
            raise InputError(f"groups has {len(self.groups)} entries, expected {n}")
        self.n_samples, self.n_classes = n, n_classes
        self._cache: dict[Any, Any] = {}  # optimal points, intervals, the sweep order
        self._at_t: dict[Any, Any] = {}  # per threshold (counts, multi-label matrix), bounded
        self._curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._sample_orders: dict[tuple[str, bool], np.ndarray] = {}
        self._last_pred: tuple[Any, np.ndarray] | None = None
        self._intervals: dict[str, Any] | None = None
        if self.multilabel:
            self._precompute_multilabel()
        else:
            self._precompute_single()
        self.hard_labels = bool(hard_labels)  # no scores: see assay.evaluation._hard_labels
        if self.hard_labels:
            drop_score_metrics(self)

    # ---------------------------------------------------------------- precomputation
    def _precompute_single(self) -> None:
        y, s, n_classes = self.y_true, self.y_score, self.n_classes
        rs = clf.row_statistics(y, s)
        self._pred = rs["pred"]
        self._top = rs["top"]
        self._true_score = rs["true_score"]
        self._rank = rs["rank"]
        self._n_true = np.bincount(y, minlength=n_classes)
        self._correct = self._pred == y
        self._cell_ids, self._starts, self._vals, self._csum = cells(
            y, self._pred.astype(np.int64), self._top, n_classes
        )
        positives = rk.group_positives(y, s, true_score=self._true_score)
        self._auc, self._ap = rk.ovr_auc_ap(y, s, positives=positives)
        self._log_loss = clf.log_loss(self._true_score)
        self._brier = clf.brier_score_loss(rs["brier"], n_classes=n_classes)
        self._ece = cal.expected_calibration_error(self._top, self._correct)
        # within_k[k] = the fraction of samples whose annotated class ranks k or better
        hist = np.bincount(self._rank, minlength=n_classes + 1)[: n_classes + 1]
        self._within_k = np.cumsum(hist) / self.n_samples

    def _precompute_multilabel(self) -> None:
        y, s = self.y_true, self.y_score
        self._pos_vals, self._pos_off = rk.group_positives(y, s, multilabel=True)
        self._neg_vals, self._neg_off = rk.group_positives(y, s, multilabel=True, negatives=True)
        self._n_true = np.diff(self._pos_off)
        top, min_pos, max_neg = ml_row_stats(s, y)
        self._top, self._min_pos, self._max_neg = top, min_pos, max_neg
        ok = max_neg < min_pos
        self._exact_lo = np.sort(max_neg[ok])
        self._exact_hi = np.sort(min_pos[ok])
        self._auc, self._ap = rk.ovr_auc_ap(
            y, s, multilabel=True, positives=(self._pos_vals, self._pos_off)
        )
        self._log_loss = clf.log_loss(y_true=y, y_score=s, multilabel=True)
        self._brier = clf.brier_score_loss(y_true=y, y_score=s, multilabel=True)
        self._ece = cal.expected_calibration_error(s.ravel(), y.ravel())

    # ---------------------------------------------------------------- counts at a threshold
    def _counts(self, t: float) -> dict[str, Any]:
        key = ("counts", t)
        if key in self._at_t:
            return self._at_t[key]
        tc = self._tc(t)
        C = self.n_classes
        if self.multilabel:
            tp: np.ndarray = np.empty(C, dtype=np.int64)
            fp = np.empty(C, dtype=np.int64)
            for c in range(C):
                pa, pb = self._pos_off[c], self._pos_off[c + 1]
                na, nb = self._neg_off[c], self._neg_off[c + 1]
                tp[c] = pb - pa - np.searchsorted(self._pos_vals[pa:pb], tc)
                fp[c] = nb - na - np.searchsorted(self._neg_vals[na:nb], tc)
            exact = np.searchsorted(self._exact_lo, tc) - np.searchsorted(self._exact_hi, tc)
            out = {"tp": tp, "n_pred": tp + fp, "n_true": self._n_true, "exact": int(exact)}
        else:
            cnt, ssum = cell_counts(self._vals, self._starts, self._csum, tc)
            actual = self._cell_ids // C
            predicted = self._cell_ids % C
            diag = actual == predicted
            tp = np.bincount(predicted[diag], weights=cnt[diag], minlength=C).astype(np.int64)
            n_pred = np.bincount(predicted, weights=cnt, minlength=C).astype(np.int64)
            out = {"tp": tp, "n_pred": n_pred, "n_true": self._n_true, "cnt": cnt, "ssum": ssum}
            out["exact"] = int(tp.sum())
        self._keep(key, out)
        return out

    def _keep(self, key: Any, value: Any) -> None:
        """Keep an answer at one threshold; the last 64 thresholds' are kept (a slider moves)."""
        if len(self._at_t) >= 64:
            self._at_t.clear()
        self._at_t[key] = value

    # ---------------------------------------------------------------- public queries
    def summary(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        """Headline metrics at the threshold (default: the evaluation's); O(C log N). See
        :mod:`assay.evaluation.results` for the keys. Averages follow scikit-learn's defaults
        (``zero_division``: see the class). ``macro_over`` counts the classes each macro average
        runs over: by default the labels present (single-label: labeled or predicted at least
        once at the threshold; multi-label: every class) for precision, recall and F1; with
        ``zero_division=nan`` the classes where each is defined (precision: predicted, recall:
        labeled, F1: either). ROC AUC runs over the classes with positives and negatives, average
        precision over the classes with positives. ``never_predicted`` / ``never_labeled`` count
        the present classes whose precision / recall is undefined (0 in the averages by default).
        Single-label at t > 0 adds ``coverage`` (share of samples with a prediction),
        ``selective_accuracy`` (accuracy among them) and ``selective_risk`` (1 - that).

        >>> s = ClassificationResults([0, 1, 0], [[.9, .1, 0], [.2, .8, 0], [.5, .5, 0]]).summary()
        >>> s["macro_f1"], s["top1_accuracy"], s["top_k"], s["macro_over"]["roc_auc"]
        (1.0, 1.0, [{'k': 1, 'value': 1.0}], 2)
        >>> r = ClassificationResults([0, 1, 2], [[.9, .1, 0], [.8, .2, 0], [.3, .3, .4]])
        >>> s = r.summary(OperatingPoint(threshold=0.5))  # class 1 never predicted, 2 below
        >>> s["macro_precision"], s["macro_recall"], s["never_predicted"], s["coverage"]
        (0.16666666666666666, 0.3333333333333333, 2, 0.6666666666666666)
        """
        t = self._t(at)
        k = self._counts(t)
        out: dict[str, Any] = {
            "task": self.task,
            "threshold": t,
            "point_rule": "argmax" if not self.multilabel and t == 0.0 else "threshold",
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            "accuracy": k["exact"] / self.n_samples,
        }
        if self.multilabel:
            wrong = int((k["n_true"] - k["tp"]).sum() + (k["n_pred"] - k["tp"]).sum())
            out["top1_accuracy"] = None
            out["top_k"] = []
            out["hamming_loss"] = wrong / (self.n_samples * self.n_classes)
        else:
            out["top1_accuracy"] = float(self._within_k[1])
            out["top_k"] = [
                {"k": q, "value": float(self._within_k[min(q, self.n_classes)])} for q in self.top_k
            ]
            out["hamming_loss"] = None
        out.update(
            clf.averages(
                k["tp"],
                k["n_pred"],
                k["n_true"],
                multilabel=self.multilabel,
                zero_division=self.zero_division,
            )
        )
        kept = int(k["n_pred"].sum())
        if self.multilabel:
            out["coverage"] = out["selective_accuracy"] = out["selective_risk"] = None
        else:
            out["coverage"] = kept / self.n_samples
            out["selective_accuracy"] = k["exact"] / kept if kept else None
            out["selective_risk"] = 1.0 - k["exact"] / kept if kept else None
        out["roc_auc_macro"] = nanmean(self._auc)
        out["average_precision_macro"] = nanmean(self._ap)
        out["log_loss"] = float_or_none(self._log_loss)
        out["brier"] = float_or_none(self._brier)
        out["ece"] = float_or_none(self._ece)
        predicted, labeled = k["n_pred"] > 0, k["n_true"] > 0
        present = np.ones_like(predicted) if self.multilabel else predicted | labeled
        by_rule = math.isnan(self.zero_division)
        out["zero_division"] = None if by_rule else self.zero_division
        out["never_predicted"] = int((present & ~predicted).sum())
        out["never_labeled"] = int((present & ~labeled).sum())
        out["macro_over"] = {
            "precision": int((predicted if by_rule else present).sum()),
            "recall": int((labeled if by_rule else present).sum()),
            "f1": int((predicted | labeled if by_rule else present).sum()),
            "roc_auc": int(np.isfinite(self._auc).sum()),
            "average_precision": int(np.isfinite(self._ap).sum()),
        }
        return out

    def per_class(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        """Per class counts and metrics at the threshold, in class order; None where undefined.

        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).per_class()["items"][1]["tp"]
        1
        """
        t = self._t(at)
        k = self._counts(t)
        p, r, f = clf.prf_from_counts(k["tp"], k["n_pred"], k["n_true"])
        if not math.isnan(self.zero_division):  # scikit-learn's report: 0 where undefined
            present = (k["n_pred"] > 0) | (k["n_true"] > 0)
            if self.multilabel:
                present[:] = True
            p, r, f = (np.where(present & np.isnan(x), self.zero_division, x) for x in (p, r, f))
        tp, npred, ntrue = k["tp"].tolist(), k["n_pred"].tolist(), k["n_true"].tolist()
        cols = [floats_or_none(x) for x in (p, r, f, self._auc, self._ap)]
        items = [
            {
                "label": name,
                "total_labeled": ntrue[c],
                "total_predicted": npred[c],
                "tp": tp[c],
                "fp": npred[c] - tp[c],
                "fn": ntrue[c] - tp[c],
                "precision": cols[0][c],
                "recall": cols[1][c],
                "f1": cols[2][c],
                "roc_auc": cols[3][c],
                "average_precision": cols[4][c],
            }
            for c, name in enumerate(self.classes)
        ]
        return {"task": self.task, "threshold": t, "items": items}

    def _matrix(
        self, t: float, *, with_sums: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, list[str], list[str]]:
        C = self.n_classes
        names = list(self.classes)
        if self.multilabel:
            key = ("mlcm", t)
            if key not in self._at_t:
                self._keep(
                    key, clf.multilabel_confusion_matrix(self.y_true, self.y_score, self._tc(t))
                )
            m, psum = self._at_t[key]
            return m, psum, [*names, NO_LABEL], [*names, BELOW_THRESHOLD]
        k = self._counts(t)
        width = C + 1 if t > 0 else C
        a, p = self._cell_ids // C, self._cell_ids % C
        m = np.zeros((C, width), dtype=np.int64)
        m[a, p] = k["cnt"]
        psum = None
        if with_sums:
            psum = np.zeros((C, width), dtype=np.float64)
            psum[a, p] = k["ssum"]
        if t > 0:
            m[:, C] = self._n_true - m[:, :C].sum(axis=1)
            if psum is not None:
                row_sum_all = np.bincount(
                    a,
                    weights=self._csum[self._starts[1:]] - self._csum[self._starts[:-1]],
                    minlength=C,
                )
                psum[:, C] = row_sum_all - psum[:, :C].sum(axis=1)
            return m, psum, names, [*names, BELOW_THRESHOLD]
        return m, psum, names, names

    def confusion(
        self,
        at: OperatingPoint | None = None,
        *,
        normalize: str | None = None,
        top: int | None = None,
    ) -> dict[str, Any]:
        """Rows actual, columns predicted at the threshold; the "Below threshold" column (samples
        left without a prediction: single-label when t > 0, always for multi-label) and, multi-
        label, the "No label" row close them. A multi-label sample counts once in (a, p) for each
        annotated class a it misses and each class p wrongly predicted (see
        ``assay.metrics.classification.multilabel_confusion_matrix``).

        ``normalize``: None (``matrix`` = ``counts``), "true" (fractions of the full row), or
        "probability" (mean score of the column class over the cell's samples). ``top`` keeps the
        ``top`` classes most involved in confusions (off-diagonal row + column sums, ties in class
        order), shown in class order, the special row / column always kept. ``most_confused``: the
        10 largest off-diagonal class-to-class cells of the full matrix.

        >>> r = ClassificationResults([0, 1], [[.9, .1], [.6, .4]])
        >>> c = r.confusion(OperatingPoint(threshold=0.7))
        >>> c["columns"], c["counts"], c["most_confused"]
        (['0', '1', 'Below threshold'], [[1, 0, 0], [0, 0, 1]], [])
        """
        if normalize not in (None, "true", "probability"):
            raise ParameterError(
                f"normalize: must be None, 'true' or 'probability', got {normalize!r}"
            )
        if top is not None and (
            isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1
        ):
            raise ParameterError(f"top: must be an integer >= 1, got {top!r}")
        t = self._t(at)
        m, psum, rows, cols = self._matrix(t, with_sums=normalize == "probability")
        C = self.n_classes
        values: np.ndarray | None = None
        with np.errstate(invalid="ignore", divide="ignore"):
            if normalize == "true":
                values = m / m.sum(axis=1, keepdims=True)
            elif normalize == "probability":
                assert psum is not None
                values = psum / m
        pairs = clf.most_confused(m[:C, :C], 10)
        most = [
            {"actual": self.classes[a], "predicted": self.classes[p], "count": n}
            for a, p, n in pairs
        ]
        if top is not None and top < C:
            off = m.astype(np.int64, copy=True)
            off[np.arange(C), np.arange(C)] = 0
            involved = off[:C].sum(axis=1) + off[:, :C].sum(axis=0)
            keep = np.sort(np.lexsort((np.arange(C), -involved))[: int(top)])
            r_idx = np.r_[keep, np.arange(C, m.shape[0])]
            c_idx = np.r_[keep, np.arange(C, m.shape[1])]
            m = m[np.ix_(r_idx, c_idx)]
            values = None if values is None else values[np.ix_(r_idx, c_idx)]
            rows = [rows[i] for i in r_idx]
            cols = [cols[i] for i in c_idx]
        counts = m.tolist()
        if values is None:
            matrix: list[Any] = counts
        else:
            shown = values.astype(object)
            shown[~np.isfinite(values)] = None
            matrix = shown.tolist()
        return {
            "task": self.task,
            "threshold": t,
            "unit": "samples",
            "rows": rows,
            "columns": cols,
            "counts": counts,
            "matrix": matrix,
            "normalize": normalize,
            "top": None if top is None else int(top),
            "n_classes": C,
            "most_confused": most,
        }

    def curve(
        self,
        kind: str,
        label: str | None = None,
        at: OperatingPoint | None = None,
        *,
        bins: int | None = None,
    ) -> dict[str, Any]:
        """See :meth:`CurvesMixin.curve`; hard labels have no curves (a ParameterError)."""
        if self.hard_labels:
            raise ParameterError(f"curve: {HARD_LABELS_NOTE}")
        return super().curve(kind, label, at, bins=bins)

    def optimal(self, metric: str = "f1", at: OperatingPoint | None = None) -> dict[str, Any]:
        """The threshold maximising ``metric`` (one of ``vocabulary.CLASSIFICATION_OPTIMA``: f1 =
        macro F1, accuracy, precision = macro precision, recall = macro recall, micro_f1).
        Single-label: over the distinct top scores; multi-label: over the 0.01 grid and 200
        quantiles of the scores. Ties go to the highest threshold. ``at`` is only checked.

        >>> ClassificationResults([0, 1], [[.9, .1], [.6, .4]]).optimal()["threshold"]
        0.9
        """
        if metric not in CLASSIFICATION_OPTIMA:
            raise ParameterError(
                f"metric: must be one of {', '.join(CLASSIFICATION_OPTIMA)}, got {metric!r}"
            )
        self.point(at)
        key = ("optimal", metric)
        if key in self._cache:
            return dict(self._cache[key])
        name = _AVERAGED.get(metric, metric)
        if self.hard_labels and not self.multilabel:  # no scores to threshold: the labels given
            value = self.summary(OperatingPoint(threshold=0.0))[name]
            return {"task": self.task, "metric": metric, "value": value, "threshold": 0.0}
        if self.multilabel:
            grid = np.unique(
                np.r_[
                    np.linspace(0, 1, 101),
                    np.quantile(self.y_score, np.linspace(0, 1, 201)),
                ]
            )
            best_t, best = 0.0, -1.0
            for g in grid[::-1]:
                v = self.summary(OperatingPoint(threshold=float(g)))[name]
                if v is not None and v > best + 1e-12:
                    best_t, best = float(g), v
            t = best_t
        else:
            if "order" not in self._cache:
                self._cache["order"] = np.argsort(self._top, kind="stable")[::-1].copy()
            t, _ = sweep(
                self._cache["order"],
                self.y_true,
                self._pred.astype(np.int64),
                self._top,
                self._n_true,
                self.n_classes,
                CLASSIFICATION_OPTIMA.index(metric),
                math.isnan(self.zero_division),
            )
            t = min(max(float(t), 0.0), 1.0)
        value = self.summary(OperatingPoint(threshold=t))[name]
        out = {"task": self.task, "metric": metric, "value": value, "threshold": t}
        self._cache[key] = out
        return dict(out)

    def headline(self) -> dict[str, Any]:
        """The evaluation's one number: ROC AUC (macro), or accuracy where no AUC is defined.

        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).headline()
        {'metric': 'roc_auc_macro', 'label': 'ROC AUC', 'value': 1.0}
        """
        auc = nanmean(self._auc)
        if auc is not None:
            return {"metric": "roc_auc_macro", "label": "ROC AUC", "value": auc}
        return {"metric": "accuracy", "label": "Accuracy", "value": self.summary()["accuracy"]}

    def folds(self, at: OperatingPoint | None = None) -> dict[str, Any] | None:
        """The summary of each fold at the threshold, with their mean and (population) standard
        deviation per numeric key; None without folds.

        >>> r = ClassificationResults([0, 1, 0, 1], [[.9, .1], [.2, .8]] * 2, folds=[0, 0, 1, 1])
        >>> f = r.folds()
        >>> [x["fold"] for x in f["folds"]], f["mean"]["accuracy"]
        (['0', '1'], 1.0)
        """
        if self.fold_ids is None:
            return None
        t = self._t(at)
        folds: list[dict[str, Any]] = []
        for f in np.unique(self.fold_ids):
            m = self.fold_ids == f
            sub = ClassificationResults(
                self.y_true[m],
                self.y_score[m],
                self.classes,
                multilabel=self.multilabel,
                threshold=t,
                top_k=self.top_k,
                zero_division=self.zero_division,
                hard_labels=self.hard_labels,
            )
            name = str(f.item() if isinstance(f, np.generic) else f)
            folds.append({"fold": name, "n_samples": int(m.sum()), "metrics": sub.summary()})
        mean, std = mean_std([x["metrics"] for x in folds])
        return {"folds": folds, "mean": mean, "std": std}

    def report(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        """The JSON report of the CLI: task, classes, threshold, summary, per_class, confusion,
        optimal (f1), intervals (after ``intervals()``, else None), folds, extra (None). No NaN /
        inf anywhere.

        >>> sorted(ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).report())[:4]
        ['classes', 'confusion', 'extra', 'folds']
        """
        t = self._t(at)
        p = OperatingPoint(threshold=t)
        return {
            "task": self.task,
            "classes": list(self.classes),
            "threshold": t,
            "summary": self.summary(p),
            "per_class": self.per_class(p),
            "confusion": self.confusion(p),
            "optimal": self.optimal("f1"),
            "intervals": self._intervals,
            "folds": self.folds(p),
            "extra": None,
        }

    # ---------------------------------------------------------------- persistence
    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(numpy arrays, JSON-able meta with ``task``) from which ``from_arrays`` rebuilds an
        equal object (sample ids stored as str).

        >>> a, meta = ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).arrays()
        >>> sorted(a), meta["task"], meta["classes"], meta["top_k"]
        (['y_score', 'y_true'], 'classification', ['0', '1'], [1])
        """
        arrays = {"y_true": self.y_true, "y_score": self.y_score}
        if self.sample_ids is not None:
            arrays["sample_ids"] = self.sample_ids.astype(str)
        if self.fold_ids is not None:
            arrays["folds"] = self.fold_ids
        if self.groups is not None:
            arrays["groups"] = self.groups
        meta = {
            "format": 2,
            "task": self.task,
            "classes": list(self.classes),
            "multilabel": self.multilabel,
            "threshold": self.threshold,
            "top_k": list(self.top_k),
            **({"hard_labels": True} if self.hard_labels else {}),
            "zero_division": None if math.isnan(self.zero_division) else self.zero_division,
        }
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]
    ) -> ClassificationResults:
        """Rebuild from :meth:`arrays` output (meta of format 1, without ``task`` / ``top_k``,
        still reads). ``meta["point"]`` (``{"threshold": t}``, the operating point a store kept
        with the evaluation) overrides the default threshold.

        >>> r = ClassificationResults([0, 1], [[.9, .1], [.2, .8]])
        >>> ClassificationResults.from_arrays(*r.arrays()).summary() == r.summary()
        True
        """
        multilabel = meta.get("task") == "multilabel" or bool(meta.get("multilabel", False))
        threshold = (meta.get("point") or {}).get("threshold", meta.get("threshold", 0.5))
        zd = meta.get("zero_division", 0.0)
        return cls(
            arrays["y_true"],
            arrays["y_score"],
            meta["classes"],
            multilabel=multilabel,
            threshold=None if threshold is None else float(threshold),
            sample_ids=arrays.get("sample_ids"),
            folds=arrays.get("folds"),
            groups=arrays.get("groups"),
            top_k=meta.get("top_k"),
            hard_labels=bool(meta.get("hard_labels", False)),
            zero_division=float("nan") if zd is None else float(zd),
        )


def evaluate_classification(
    y_true: Any,
    y_score: Any,
    classes: Sequence[str] | None = None,
    *,
    multilabel: bool = False,
    threshold: float | None = None,
    sample_ids: Any = None,
    folds: Any = None,
    top_k: Sequence[int] | None = None,
    zero_division: float = 0.0,
    hard_labels: bool = False,
    groups: Any = None,
) -> ClassificationResults:
    """Evaluate class scores against labels (indices, names, or a multi-label indicator matrix).

    >>> res = evaluate_classification(["cat", "dog"], [[.8, .2], [.3, .7]], classes=["cat", "dog"])
    >>> res.summary()["accuracy"], res.per_class()["items"][1]["f1"]
    (1.0, 1.0)
    """
    return ClassificationResults(
        y_true,
        y_score,
        classes,
        multilabel=multilabel,
        threshold=threshold,
        sample_ids=sample_ids,
        folds=folds,
        top_k=top_k,
        zero_division=zero_division,
        hard_labels=hard_labels,
        groups=groups,
    )
