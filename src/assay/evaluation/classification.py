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
from numba import njit, prange

from assay.errors import InputError, ParameterError
from assay.metrics import calibration as cal
from assay.metrics import classification as clf
from assay.metrics import ranking as rk
from assay.metrics.stats import bootstrap_intervals, mean_std

__all__ = ["ClassificationResults", "evaluate_classification"]

BELOW = "Below threshold"
NO_PREDICTION = "No prediction"
NO_LABEL = "No label"
_OPT_METRICS = ("f1", "accuracy", "precision", "recall", "micro_f1")


def _f(x: Any) -> float | None:
    """A JSON-safe float: None for NaN / inf / None."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def _floats(a: np.ndarray) -> list[float | None]:
    """A float array as a list, NaN / inf as None."""
    return [x if x - x == 0 else None for x in np.asarray(a, dtype=np.float64).tolist()]


def _nanmean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else None


@njit(cache=True, parallel=True)
def _first_bad_row(s):
    """Index of the first row holding a NaN or a value outside [0, 1], or -1 (one pass)."""
    n, n_classes = s.shape
    chunks = 64
    step = (n + chunks - 1) // chunks
    first = np.full(chunks, -1, dtype=np.int64)
    for k in prange(chunks):
        for i in range(k * step, min(n, (k + 1) * step)):
            ok = True
            for c in range(n_classes):
                v = s[i, c]
                if not (v >= 0 and v <= 1):
                    ok = False
            if not ok:
                first[k] = i
                break
    for k in range(chunks):
        if first[k] >= 0:
            return first[k]
    return -1


@njit(cache=True, parallel=True)
def _cells(y_true, pred, top, n_classes):
    n = y_true.shape[0]
    nc2 = n_classes * n_classes
    counts = np.zeros(nc2 + 1, dtype=np.int64)
    for i in range(n):
        counts[y_true[i] * n_classes + pred[i] + 1] += 1
    offsets = np.cumsum(counts)
    pos = offsets[:-1].copy()
    vals = np.empty(n, dtype=top.dtype)
    for i in range(n):
        k = y_true[i] * n_classes + pred[i]
        vals[pos[k]] = top[i]
        pos[k] += 1
    n_cells = 0
    for k in range(nc2):
        if offsets[k + 1] > offsets[k]:
            n_cells += 1
    cell_ids = np.empty(n_cells, dtype=np.int64)
    starts = np.empty(n_cells + 1, dtype=np.int64)
    j = 0
    for k in range(nc2):
        if offsets[k + 1] > offsets[k]:
            cell_ids[j] = k
            starts[j] = offsets[k]
            j += 1
    starts[n_cells] = n
    for j in prange(n_cells):
        vals[starts[j] : starts[j + 1]] = np.sort(vals[starts[j] : starts[j + 1]])
    csum = np.zeros(n + 1, dtype=np.float64)
    for i in range(n):
        csum[i + 1] = csum[i] + vals[i]
    return cell_ids, starts, vals, csum


@njit(cache=True)
def _cell_counts(vals, starts, csum, t):
    n_cells = starts.shape[0] - 1
    cnt = np.empty(n_cells, dtype=np.int64)
    ssum = np.empty(n_cells, dtype=np.float64)
    for k in range(n_cells):
        a, b = starts[k], starts[k + 1]
        j = a + np.searchsorted(vals[a:b], t)
        cnt[k] = b - j
        ssum[k] = csum[b] - csum[j]
    return cnt, ssum


@njit(cache=True)
def _sweep(order, y_true, pred, top, n_true, n_classes, metric):
    """Metric after predicting the samples in ``order`` (top descending), at each distinct top."""
    n = order.shape[0]
    tp = np.zeros(n_classes, dtype=np.int64)
    npred = np.zeros(n_classes, dtype=np.int64)
    present = 0
    for c in range(n_classes):
        if n_true[c] > 0:
            present += 1
    sum_f1 = 0.0
    sum_p = 0.0
    sum_r = 0.0
    tot_tp = 0
    best = -1.0
    best_t = top[order[0]] if n else 0.0
    i = 0
    while i < n:
        j = i
        while j < n and top[order[j]] == top[order[i]]:
            s = order[j]
            p = pred[s]
            hit = 1 if y_true[s] == p else 0
            old_f1 = 2.0 * tp[p] / (n_true[p] + npred[p]) if n_true[p] + npred[p] > 0 else 0.0
            old_p = tp[p] / npred[p] if npred[p] > 0 else 0.0
            old_r = tp[p] / n_true[p] if n_true[p] > 0 else 0.0
            if n_true[p] == 0 and npred[p] == 0:
                present += 1
            npred[p] += 1
            tp[p] += hit
            tot_tp += hit
            sum_f1 += 2.0 * tp[p] / (n_true[p] + npred[p]) - old_f1
            sum_p += tp[p] / npred[p] - old_p
            sum_r += (tp[p] / n_true[p] if n_true[p] > 0 else 0.0) - old_r
            j += 1
        if metric == 0:
            v = sum_f1 / present
        elif metric == 1:
            v = tot_tp / n
        elif metric == 2:
            v = sum_p / present
        elif metric == 3:
            v = sum_r / present
        else:
            v = 2.0 * tot_tp / (n + j)
        if v > best + 1e-12:
            best = v
            best_t = top[order[i]]
        i = j
    return best_t, best


@njit(cache=True, parallel=True)
def _ml_row_stats(y_score, y_true):
    n, n_classes = y_score.shape
    top = np.empty(n, dtype=y_score.dtype)
    min_pos = np.empty(n, dtype=np.float64)
    max_neg = np.empty(n, dtype=np.float64)
    for i in prange(n):
        bv = y_score[i, 0]
        lo = np.inf
        hi = -np.inf
        for c in range(n_classes):
            v = y_score[i, c]
            if v > bv:
                bv = v
            if y_true[i, c]:
                lo = min(lo, float(v))
            else:
                hi = max(hi, float(v))
        top[i] = bv
        min_pos[i] = lo
        max_neg[i] = hi
    return top, min_pos, max_neg


class ClassificationResults:
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

    # ---------------------------------------------------------------- validation at the door
    @staticmethod
    def _check_scores(y_score: Any) -> np.ndarray:
        s = np.asarray(y_score)
        if s.dtype not in (np.float32, np.float64):
            if not np.issubdtype(s.dtype, np.number):
                raise InputError(f"scores must be numbers, got dtype {s.dtype}")
            s = s.astype(np.float64)
        if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
            raise InputError(f"scores must be a non-empty (samples, classes) matrix, got {s.shape}")
        s = np.ascontiguousarray(s)
        bad = _first_bad_row(s)
        if bad >= 0:
            what = "score is NaN" if np.isnan(s[bad]).any() else "scores must be in [0, 1]"
            raise InputError(what, where=f"row {bad}")
        return s

    def _check_labels(
        self, y_true: Any, classes: Sequence[str] | None, n: int, n_classes: int
    ) -> tuple[list[str], np.ndarray]:
        names = None if classes is None else [str(c) for c in classes]
        if names is not None and len(names) != n_classes:
            raise InputError(f"{len(names)} class names for {n_classes} score columns")
        if names is not None and len(set(names)) != len(names):
            raise InputError("class names are not unique")
        if self.multilabel:
            return self._check_multilabel(y_true, names, n, n_classes)
        y = np.asarray(y_true)
        if y.ndim != 1 or y.shape[0] != n:
            raise InputError(f"labels have shape {y.shape}, expected ({n},) to match the scores")
        if y.dtype.kind in "US" or y.dtype == object:
            y = y.astype(str)
            if names is None:
                names = sorted(set(y.tolist()))
                if len(names) > n_classes:
                    raise InputError(f"{len(names)} label names for {n_classes} score columns")
                if len(names) < n_classes:
                    raise InputError("pass classes= to name the score columns")
            lookup = {c: i for i, c in enumerate(names)}
            try:
                idx = np.array([lookup[v] for v in y.tolist()], dtype=np.int64)
            except KeyError as e:
                raise InputError(f"unknown label {e.args[0]!r}") from None
            return names, idx
        if y.dtype.kind not in "iub":
            if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            else:
                raise InputError("labels must be class indices or class names")
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            bad = int(np.flatnonzero((y < 0) | (y >= n_classes))[0])
            raise InputError(f"label index out of range 0..{n_classes - 1}", where=f"row {bad}")
        return names or [str(i) for i in range(n_classes)], y

    def _check_multilabel(
        self, y_true: Any, names: list[str] | None, n: int, n_classes: int
    ) -> tuple[list[str], np.ndarray]:
        names = names or [str(i) for i in range(n_classes)]
        if (
            isinstance(y_true, np.ndarray)
            and y_true.ndim == 2
            or (
                not isinstance(y_true, np.ndarray)
                and len(y_true) > 0
                and isinstance(y_true[0], np.ndarray | list | tuple)
                and len(y_true[0]) == n_classes
                and all(isinstance(v, bool | np.bool_ | int | np.integer) for v in y_true[0])
                and np.asarray(y_true).ndim == 2
            )
        ):
            y = np.asarray(y_true)
            if y.shape != (n, n_classes):
                raise InputError(f"labels have shape {y.shape}, expected ({n}, {n_classes})")
            if not np.isin(y, (0, 1)).all():
                raise InputError("a multi-label indicator matrix must hold 0/1")
            return names, y.astype(bool)
        if len(y_true) != n:
            raise InputError(f"{len(y_true)} label lists for {n} score rows")
        lookup = {c: i for i, c in enumerate(names)}
        y = np.zeros((n, n_classes), dtype=bool)
        for i, labels in enumerate(y_true):
            for v in labels:
                j = lookup.get(str(v)) if not isinstance(v, int | np.integer) else int(v)
                if j is None or not 0 <= j < n_classes:
                    raise InputError(f"unknown label {v!r}", where=f"row {i}")
                y[i, j] = True
        return names, y

    @staticmethod
    def _check_threshold(threshold: Any, error: type[Exception] = ParameterError) -> float:
        try:
            t = float(threshold)
        except (TypeError, ValueError):
            raise error(f"threshold must be a number, got {threshold!r}") from None
        if not 0.0 <= t <= 1.0:
            raise error(f"threshold must be within [0, 1], got {t}")
        return t

    def _t(self, threshold: float | None) -> float:
        return self.threshold if threshold is None else self._check_threshold(threshold)

    def _tc(self, t: float) -> Any:
        """The threshold in the scores' dtype, the one comparison rule used everywhere."""
        return self.y_score.dtype.type(t)

    def _label(self, label: str | int | None) -> int:
        if label is None:
            return 0
        if isinstance(label, int | np.integer) and not isinstance(label, bool):
            if 0 <= int(label) < self.n_classes:
                return int(label)
        elif str(label) in self.class_index:
            return self.class_index[str(label)]
        raise ParameterError(f"unknown label {label!r}")

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

        >>> ClassificationResults([0, 1], [[.9, .1], [.2, .8]]).density(1, bins=2)["positives"]
        [0, 1]
        """
        if not isinstance(bins, int | np.integer) or bins < 1:
            raise ParameterError(f"bins must be a positive integer, got {bins!r}")
        c = self._label(label)
        d = cal.score_density(self.y_score[:, c], self._is_positive(c), bins=int(bins))
        return {k: v.tolist() for k, v in d.items()}

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

    # ---------------------------------------------------------------- samples
    def _pred_at(self, t: float) -> np.ndarray:
        """Single-label predicted index per sample (-1 below threshold); multi-label (N, C) bool."""
        tc = self._tc(t)
        last = self._last_pred
        if last is not None and last[0] == tc:
            return last[1]  # consecutive queries at one threshold (a label's TP / FP / FN pages)
        pred = self.y_score >= tc if self.multilabel else np.where(self._top >= tc, self._pred, -1)
        pred.flags.writeable = False
        self._last_pred = (tc, pred)
        return pred

    def samples(
        self,
        actual: str | None = None,
        predicted: str | None = None,
        outcome: str | None = None,
        errors_only: bool = False,
        sort: str = "confidence",
        descending: bool = True,
        offset: int = 0,
        limit: int = 50,
        threshold: float | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Filtered, sorted, paged samples. ``outcome`` tp / fp / fn is relative to ``label``
        (without one: tp = correct, fp = a wrong class predicted, fn = the annotated class missed).
        ``sort``: confidence (top score), confusion (top score minus the annotated class's score),
        index.

        >>> r = ClassificationResults([0, 1], [[.9, .1], [.6, .4]])
        >>> r.samples(errors_only=True, threshold=0)["items"][0]["index"]
        1
        """
        if sort not in ("confidence", "confusion", "index"):
            raise ParameterError(f"sort must be confidence, confusion or index, got {sort!r}")
        if outcome not in (None, "tp", "fp", "fn"):
            raise ParameterError(f"outcome must be tp, fp or fn, got {outcome!r}")
        if offset < 0 or limit < 0:
            raise ParameterError("offset and limit must be >= 0")
        t = self._t(threshold)
        pred = self._pred_at(t)
        n = self.n_samples
        mask = np.ones(n, dtype=bool)
        L = None if label is None else self._label(label)
        if self.multilabel:
            y = self.y_true
            if actual is not None:
                mask &= y[:, self._label(actual)]
            if predicted is not None:
                if predicted == NO_PREDICTION:
                    mask &= ~pred.any(axis=1)
                else:
                    mask &= pred[:, self._label(predicted)]
            exact = (pred == y).all(axis=1)
            if outcome is not None:
                if L is not None:
                    yl, pl = y[:, L], pred[:, L]
                    cond = {"tp": yl & pl, "fp": pl & ~yl, "fn": yl & ~pl}[outcome]
                else:
                    cond = {
                        "tp": exact,
                        "fp": (pred & ~y).any(axis=1),
                        "fn": (y & ~pred).any(axis=1),
                    }[outcome]
                mask &= cond
            if errors_only:
                mask &= ~exact
            worst = np.where(np.isfinite(self._min_pos), self._min_pos, self._top)
            margin = self._top - worst
        else:
            y = self.y_true
            if actual is not None:
                mask &= y == self._label(actual)
            if predicted is not None:
                mask &= pred == (-1 if predicted == BELOW else self._label(predicted))
            if outcome is not None:
                if L is not None:
                    cond = {
                        "tp": (y == L) & (pred == L),
                        "fp": (pred == L) & (y != L),
                        "fn": (y == L) & (pred != L),
                    }[outcome]
                else:
                    cond = {"tp": pred == y, "fp": (pred != y) & (pred >= 0), "fn": pred != y}[
                        outcome
                    ]
                mask &= cond
            if errors_only:
                mask &= pred != y
            margin = self._top.astype(np.float64) - self._true_score
        idx = np.flatnonzero(mask)
        if sort == "index":
            order = idx[::-1] if descending else idx
        else:
            # One stable sort of all samples per (key, direction), kept: restricting it to the
            # mask gives the same order as sorting the selected samples (ties by index).
            full = self._sample_orders.get((sort, descending))
            if full is None:
                key = self._top if sort == "confidence" else margin
                full = np.argsort(-key if descending else key, kind="stable")
                self._sample_orders[(sort, descending)] = full
            order = full[mask[full]] if idx.size < n else full
        page = order[offset : offset + limit]
        return {
            "total": int(idx.size),
            "offset": offset,
            "limit": limit,
            "items": [self._sample_dict(int(i), t, label=L) for i in page],
        }

    def _sample_dict(self, i: int, t: float, *, label: int | None = None) -> dict[str, Any]:
        s = self.y_score[i]
        tc = self._tc(t)
        sid = i if self.sample_ids is None else self.sample_ids[i]
        sid = sid.item() if isinstance(sid, np.generic) else sid
        if self.multilabel:
            actual_idx = np.flatnonzero(self.y_true[i])
            pred_idx = np.flatnonzero(s >= tc)
            if actual_idx.size:
                worst = int(actual_idx[np.argmin(s[actual_idx])])
                actual_conf: float | None = float(s[worst])
                rank: int | None = 1 + int((s > s[worst]).sum() + (s[:worst] == s[worst]).sum())
            else:
                actual_conf, rank = None, None
            yl = self.y_true[i]
            pl = s >= tc
            if label is not None:
                outcome = _outcome(bool(yl[label]), bool(pl[label]))
            else:
                outcome = "correct" if bool((yl == pl).all()) else "incorrect"
            return {
                "index": i,
                "id": sid,
                "actual": [self.classes[j] for j in actual_idx],
                "predicted": [self.classes[j] for j in pred_idx],
                "confidence": float(self._top[i]),
                "actual_confidence": actual_conf,
                "actual_rank": rank,
                "outcome": outcome,
            }
        a = int(self.y_true[i])
        p = int(self._pred[i]) if self._top[i] >= tc else -1
        if label is not None:
            outcome = _outcome(a == label, p == label)
        else:
            outcome = "correct" if p == a else ("below_threshold" if p < 0 else "incorrect")
        return {
            "index": i,
            "id": sid,
            "actual": self.classes[a],
            "predicted": self.classes[p] if p >= 0 else None,
            "confidence": float(self._top[i]),
            "actual_confidence": float(self._true_score[i]),
            "actual_rank": int(self._rank[i]),
            "outcome": outcome,
        }

    def sample(self, index: int, threshold: float | None = None) -> dict[str, Any]:
        """One sample with all class scores, highest first.

        >>> ClassificationResults([0, 1], [[.9, .1], [.6, .4]]).sample(1)["scores"]
        {'0': 0.6, '1': 0.4}
        """
        if not 0 <= int(index) < self.n_samples:
            raise ParameterError(f"sample index {index} out of range 0..{self.n_samples - 1}")
        d = self._sample_dict(int(index), self._t(threshold))
        s = self.y_score[int(index)]
        order = np.argsort(-s, kind="stable")
        d["scores"] = {self.classes[j]: float(s[j]) for j in order}
        return d

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


def _outcome(is_actual: bool, is_pred: bool) -> str:
    if is_actual and is_pred:
        return "tp"
    if is_pred:
        return "fp"
    return "fn" if is_actual else "tn"


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
