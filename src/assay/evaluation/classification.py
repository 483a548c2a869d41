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
C.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation._classification_base import (
    _OPT_METRICS,
    BELOW,
    NO_LABEL,
    NO_PREDICTION,
    _f,
    _floats,
    _nanmean,
)
from assay.evaluation._classification_curves import _CurvesMixin
from assay.evaluation._classification_kernels import _cell_counts, _cells, _ml_row_stats, _sweep
from assay.evaluation._classification_samples import _SamplesMixin
from assay.metrics import calibration as cal
from assay.metrics import classification as clf
from assay.metrics import ranking as rk
from assay.metrics.stats import bootstrap_intervals, mean_std

__all__ = ["ClassificationResults", "evaluate_classification"]


class ClassificationResults(_CurvesMixin, _SamplesMixin):
    """An evaluation of scores against labels, queryable at any threshold.

    >>> r = ClassificationResults([0, 1, 1], [[.8, .2], [.3, .7], [.6, .4]], ["cat", "dog"])
    >>> r.summary()["accuracy"], r.per_class()["dog"]["recall"]
    (0.6666666666666666, 0.5)
    """

    def __init__(
        self,
        y_true: Any,
        y_score: Any,
        classes: Sequence[str] | None = None,
        *,
        multilabel: bool = False,
        threshold: float = 0.5,
        sample_ids: Any = None,
        folds: Any = None,
    ) -> None:
        self.multilabel = bool(multilabel)
        self.y_score = self._check_scores(y_score)
        n, n_classes = self.y_score.shape
        self.classes, self.y_true = self._check_labels(y_true, classes, n, n_classes)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        self.threshold = self._check_threshold(threshold, InputError)
        self.sample_ids = None if sample_ids is None else np.asarray(sample_ids)
        if self.sample_ids is not None and self.sample_ids.shape != (n,):
            raise InputError(f"sample_ids has {self.sample_ids.shape[0]} entries, expected {n}")
        self.folds = None if folds is None else np.asarray(folds)
        if self.folds is not None and self.folds.shape != (n,):
            raise InputError(f"folds has {len(self.folds)} entries, expected {n}")
        self.n_samples, self.n_classes = n, n_classes
        self._cache: dict[Any, Any] = {}
        self._curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._sample_orders: dict[tuple[str, bool], np.ndarray] = {}
        self._last_pred: tuple[Any, np.ndarray] | None = None
        self._intervals: dict | None = None
        if self.multilabel:
            self._precompute_multilabel()
        else:
            self._precompute_single()

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
        self._cell_ids, self._starts, self._vals, self._csum = _cells(
            y, self._pred.astype(np.int64), self._top, n_classes
        )
        self._auc, self._ap = rk.ovr_auc_ap(y, s)
        self._log_loss = clf.log_loss(self._true_score)
        self._brier = clf.brier_score_loss(rs["brier"], n_classes=n_classes)
        self._ece = cal.expected_calibration_error(self._top, self._correct)
        self._top5 = clf.top_k_accuracy_score(self._rank, 5) if n_classes > 5 else None

    def _precompute_multilabel(self) -> None:
        y, s = self.y_true, self.y_score
        self._pos_vals, self._pos_off = rk.group_positives(y, s, multilabel=True)
        self._neg_vals, self._neg_off = rk.group_positives(y, s, multilabel=True, negatives=True)
        self._n_true = np.diff(self._pos_off)
        top, min_pos, max_neg = _ml_row_stats(s, y)
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
        self._top5 = None

    # ---------------------------------------------------------------- counts at a threshold
    def _counts(self, t: float) -> dict[str, Any]:
        key = ("counts", t)
        if key in self._cache:
            return self._cache[key]
        tc = self._tc(t)
        C = self.n_classes
        if self.multilabel:
            tp = np.empty(C, dtype=np.int64)
            fp = np.empty(C, dtype=np.int64)
            for c in range(C):
                pa, pb = self._pos_off[c], self._pos_off[c + 1]
                na, nb = self._neg_off[c], self._neg_off[c + 1]
                tp[c] = pb - pa - np.searchsorted(self._pos_vals[pa:pb], tc)
                fp[c] = nb - na - np.searchsorted(self._neg_vals[na:nb], tc)
            exact = np.searchsorted(self._exact_lo, tc) - np.searchsorted(self._exact_hi, tc)
            out = {"tp": tp, "n_pred": tp + fp, "n_true": self._n_true, "exact": int(exact)}
        else:
            cnt, ssum = _cell_counts(self._vals, self._starts, self._csum, tc)
            actual = self._cell_ids // C
            predicted = self._cell_ids % C
            diag = actual == predicted
            tp = np.bincount(predicted[diag], weights=cnt[diag], minlength=C).astype(np.int64)
            n_pred = np.bincount(predicted, weights=cnt, minlength=C).astype(np.int64)
            out = {"tp": tp, "n_pred": n_pred, "n_true": self._n_true, "cnt": cnt, "ssum": ssum}
            out["exact"] = int(tp.sum())
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = out
        return out

    # ---------------------------------------------------------------- public queries
    def summary(self, threshold: float | None = None) -> dict[str, Any]:
        """Headline metrics at ``threshold`` (default: the evaluation's); O(C log N).

        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).summary()["macro_f1"]
        1.0
        """
        t = self._t(threshold)
        k = self._counts(t)
        out: dict[str, Any] = {"accuracy": k["exact"] / self.n_samples}
        if self.multilabel:
            wrong = int((k["n_true"] - k["tp"]).sum() + (k["n_pred"] - k["tp"]).sum())
            out["hamming_loss"] = wrong / (self.n_samples * self.n_classes)
        if self._top5 is not None:
            out["top5_accuracy"] = self._top5
        out.update(clf.averages(k["tp"], k["n_pred"], k["n_true"]))
        out["roc_auc_macro"] = _nanmean(self._auc)
        out["average_precision_macro"] = _nanmean(self._ap)
        out["log_loss"] = _f(self._log_loss)
        out["brier"] = _f(self._brier)
        out["ece"] = _f(self._ece)
        out["n_samples"] = self.n_samples
        out["n_classes"] = self.n_classes
        return out

    def per_class(self, threshold: float | None = None) -> dict[str, dict[str, Any]]:
        """Per class counts and metrics at ``threshold``; None where undefined.

        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).per_class()["1"]["tp"]
        1
        """
        k = self._counts(self._t(threshold))
        p, r, f = clf.prf_from_counts(k["tp"], k["n_pred"], k["n_true"])
        tp, npred, ntrue = k["tp"].tolist(), k["n_pred"].tolist(), k["n_true"].tolist()
        cols = [_floats(x) for x in (p, r, f, self._auc, self._ap)]
        return {
            name: {
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
        }

    def _matrix(
        self, t: float, *, with_sums: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, list[str], list[str]]:
        C = self.n_classes
        names = list(self.classes)
        if self.multilabel:
            key = ("mlcm", t)
            if key not in self._cache:
                self._cache[key] = clf.multilabel_confusion_matrix(
                    self.y_true, self.y_score, self._tc(t)
                )
            m, psum = self._cache[key]
            return m, psum, [*names, NO_LABEL], [*names, NO_PREDICTION]
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
            return m, psum, names, [*names, BELOW]
        return m, psum, names, names

    def confusion_matrix(
        self, threshold: float | None = None, normalize: str | None = None
    ) -> dict[str, Any]:
        """Rows actual, columns predicted (+ "Below threshold" when t > 0; multi-label: + "No label"
        row and "No prediction" column). ``normalize``: None counts, "true" row fractions,
        "probability" mean score of the column class over the cell (None for empty cells).

        >>> ClassificationResults([0, 1], [[.9, .1], [.6, .4]]).confusion_matrix(0)["matrix"]
        [[1, 0], [1, 0]]
        """
        if normalize not in (None, "true", "probability"):
            raise ParameterError(
                f"normalize must be None, 'true' or 'probability', got {normalize!r}"
            )
        m, psum, rows, cols = self._matrix(self._t(threshold), with_sums=normalize == "probability")
        if normalize is None:
            return {"rows": rows, "columns": cols, "matrix": m.tolist()}
        with np.errstate(invalid="ignore", divide="ignore"):
            if normalize == "true":
                values = m / m.sum(axis=1, keepdims=True)
            else:
                assert psum is not None
                values = psum / m
        matrix = values.astype(object)
        matrix[~np.isfinite(values)] = None
        return {"rows": rows, "columns": cols, "matrix": matrix.tolist()}

    def most_confused(self, top: int = 10, threshold: float | None = None) -> list[dict[str, Any]]:
        """The ``top`` largest off-diagonal class pairs (actual, predicted), largest first.

        >>> ClassificationResults([0, 1], [[.9, .1], [.6, .4]]).most_confused(threshold=0)
        [{'actual': '1', 'predicted': '0', 'count': 1}]
        """
        m, _, _, _ = self._matrix(self._t(threshold))
        C = self.n_classes
        pairs = clf.most_confused(m[:C, :C], top)
        return [
            {"actual": self.classes[a], "predicted": self.classes[p], "count": n}
            for a, p, n in pairs
        ]

    def optimal_threshold(self, metric: str = "f1") -> dict[str, Any]:
        """The threshold maximising ``metric`` (f1 = macro F1, accuracy, precision = macro
        precision, recall = macro recall, micro_f1). Single-label: over the distinct top scores;
        multi-label: over the 0.01 grid and 200 quantiles of the scores. Ties go to the highest
        threshold.

        >>> ClassificationResults([0, 1], [[.9, .1], [.6, .4]]).optimal_threshold()["threshold"]
        0.9
        """
        if metric not in _OPT_METRICS:
            raise ParameterError(f"metric must be one of {', '.join(_OPT_METRICS)}, got {metric!r}")
        key = ("optimal", metric)
        if key in self._cache:
            return self._cache[key]
        name = {"f1": "macro_f1", "precision": "macro_precision", "recall": "macro_recall"}.get(
            metric, metric
        )
        if self.multilabel:
            grid = np.unique(
                np.r_[
                    np.linspace(0, 1, 101),
                    np.quantile(self.y_score, np.linspace(0, 1, 201)),
                ]
            )
            best_t, best = 0.0, -1.0
            for t in grid[::-1]:
                v = self.summary(float(t))[name]
                if v is not None and v > best + 1e-12:
                    best_t, best = float(t), v
            t = best_t
        else:
            if "order" not in self._cache:
                self._cache["order"] = np.argsort(self._top, kind="stable")[::-1].copy()
            code = _OPT_METRICS.index(metric)
            t, _ = _sweep(
                self._cache["order"],
                self.y_true,
                self._pred.astype(np.int64),
                self._top,
                self._n_true,
                self.n_classes,
                code,
            )
            t = float(t)
        out = {"metric": metric, "threshold": t, "value": self.summary(t)[name]}
        self._cache[key] = out
        return out

    # ---------------------------------------------------------------- statistics
    def _replicate(self, idx: np.ndarray, t: float) -> dict[str, float | None]:
        y = self.y_true[idx]
        s = self.y_score[idx]
        C = self.n_classes
        if self.multilabel:
            pred = s >= self._tc(t)
            tp = (pred & y).sum(axis=0)
            k = {"tp": tp, "n_pred": pred.sum(axis=0), "n_true": y.sum(axis=0)}
            acc = float((pred == y).all(axis=1).mean())
            ll = clf.log_loss(y_true=y, y_score=s, multilabel=True)
            auc, ap = rk.ovr_auc_ap(y, s, multilabel=True)
        else:
            p = np.where(self._top[idx] >= self._tc(t), self._pred[idx], -1)
            hit = p == y
            tp = np.bincount(y[hit], minlength=C)
            k = {
                "tp": tp,
                "n_pred": np.bincount(p[p >= 0], minlength=C),
                "n_true": np.bincount(y, minlength=C),
            }
            acc = float(hit.mean())
            ll = clf.log_loss(self._true_score[idx])
            auc, ap = rk.ovr_auc_ap(y, s)
        av = clf.averages(k["tp"], k["n_pred"], k["n_true"])
        return {
            "accuracy": acc,
            "macro_precision": av["macro_precision"],
            "macro_recall": av["macro_recall"],
            "macro_f1": av["macro_f1"],
            "roc_auc_macro": _nanmean(auc),
            "average_precision_macro": _nanmean(ap),
            "log_loss": ll,
        }

    def bootstrap(
        self, n: int = 200, seed: int = 0, *, threshold: float | None = None, cap: int | None = None
    ) -> dict[str, dict[str, float] | None]:
        """95 % bootstrap intervals of the headline metrics (sample resampling, seeded). Above
        ``cap`` rows (default: about 1e6 / C, between 1,000 and 10,000) each replicate draws
        ``cap`` rows and the spread is rescaled by sqrt(cap / N) (see ``assay.metrics.stats``).

        >>> r = ClassificationResults([0, 1] * 20, [[.7, .3], [.4, .6]] * 20)
        >>> r.bootstrap(n=20)["accuracy"]
        {'low': 1.0, 'high': 1.0}
        """
        t = self._t(threshold)
        if cap is None:
            cap = int(np.clip(1_000_000 // self.n_classes, 1_000, 10_000))
        s = self.summary(t)
        keys = (
            "accuracy",
            "macro_precision",
            "macro_recall",
            "macro_f1",
            "roc_auc_macro",
            "average_precision_macro",
            "log_loss",
        )
        estimate = {k: s[k] for k in keys}
        out = bootstrap_intervals(
            lambda idx: self._replicate(idx, t), self.n_samples, estimate, n=n, seed=seed, cap=cap
        )
        self._intervals = out
        return out

    def per_fold(self, threshold: float | None = None) -> dict[str, Any] | None:
        """Summary per fold, with their mean and (population) standard deviation; None without
        folds.

        >>> r = ClassificationResults([0, 1, 0, 1], [[.9, .1], [.2, .8]] * 2, folds=[0, 0, 1, 1])
        >>> r.per_fold()["mean"]["accuracy"]
        1.0
        """
        if self.folds is None:
            return None
        t = self._t(threshold)
        folds: dict[str, Any] = {}
        for f in np.unique(self.folds):
            m = self.folds == f
            sub = ClassificationResults(
                self.y_true[m],
                self.y_score[m],
                self.classes,
                multilabel=self.multilabel,
                threshold=t,
            )
            folds[str(f.item() if isinstance(f, np.generic) else f)] = sub.summary()
        mean, std = mean_std(list(folds.values()))
        return {"folds": folds, "mean": mean, "std": std}

    def to_json(self, threshold: float | None = None) -> dict[str, Any]:
        """The JSON report (issue A): task, classes, threshold, summary, per_class, confusion,
        optimal, intervals (only after ``bootstrap``), per_fold (only with folds). No NaN / inf
        anywhere.

        >>> sorted(ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).to_json())[:3]
        ['classes', 'confusion', 'optimal']
        """
        t = self._t(threshold)
        out: dict[str, Any] = {
            "task": "multilabel" if self.multilabel else "classification",
            "classes": list(self.classes),
            "threshold": t,
            "summary": self.summary(t),
            "per_class": self.per_class(t),
            "confusion": self.confusion_matrix(t),
            "optimal": self.optimal_threshold("f1"),
        }
        if self._intervals is not None:
            out["intervals"] = self._intervals
        if self.folds is not None:
            out["per_fold"] = self.per_fold(t)
        return out

    # ---------------------------------------------------------------- persistence
    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(numpy arrays, JSON-able meta) from which ``from_arrays`` rebuilds an equal object.

        >>> a, meta = ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).arrays()
        >>> sorted(a), meta["classes"]
        (['y_score', 'y_true'], ['0', '1'])
        """
        arrays = {"y_true": self.y_true, "y_score": self.y_score}
        if self.sample_ids is not None:
            arrays["sample_ids"] = self.sample_ids
        if self.folds is not None:
            arrays["folds"] = self.folds
        meta = {
            "format": 1,
            "classes": list(self.classes),
            "multilabel": self.multilabel,
            "threshold": self.threshold,
        }
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]
    ) -> ClassificationResults:
        """Rebuild from :meth:`arrays` output.

        >>> r = ClassificationResults([0, 1], [[.9, .1], [.2, .8]])
        >>> ClassificationResults.from_arrays(*r.arrays()).summary() == r.summary()
        True
        """
        return cls(
            arrays["y_true"],
            arrays["y_score"],
            meta["classes"],
            multilabel=bool(meta.get("multilabel", False)),
            threshold=float(meta.get("threshold", 0.5)),
            sample_ids=arrays.get("sample_ids"),
            folds=arrays.get("folds"),
        )


def evaluate_classification(
    y_true: Any,
    y_score: Any,
    classes: Sequence[str] | None = None,
    *,
    multilabel: bool = False,
    threshold: float = 0.5,
    sample_ids: Any = None,
    folds: Any = None,
) -> ClassificationResults:
    """Evaluate class scores against labels (indices, names, or a multi-label indicator matrix).

    >>> res = evaluate_classification(["cat", "dog"], [[.8, .2], [.3, .7]], classes=["cat", "dog"])
    >>> res.summary()["accuracy"], res.per_class()["dog"]["f1"]
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
    )
