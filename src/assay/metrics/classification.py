"""Classification kernels: per-sample statistics, counts at a threshold, averages, top-k, losses.

Semantics (one definition each, see DESIGN.md):

- Single-label: a sample's prediction is its argmax class (ties to the first class) when that
  score is at least the threshold ``t``, else "no prediction" (index ``-1``).
- Multi-label: class ``c`` is predicted when ``score_c >= t``.
- Per class, precision is undefined with nothing predicted, recall with nothing labeled, F1 =
  2 TP / (2 TP + FP + FN) when the class is neither labeled nor predicted. Averages follow
  scikit-learn's defaults: macro and weighted averages run over the labels present (single-label:
  labeled or predicted at least once, as ``unique_labels(y_true, y_pred)``; multi-label: every
  column), an undefined ratio counting as 0 (``zero_division=0``); weighted averages weight by the
  number labeled; micro averages pool the counts. ``zero_division=nan`` (scikit-learn's
  ``zero_division=np.nan``) instead averages each metric over the classes where it is defined.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from assay.metrics.jit import small_first

__all__ = [
    "row_statistics",
    "prf_from_counts",
    "averages",
    "averages_batch",
    "check_zero_division",
    "counts_at_threshold",
    "multilabel_counts",
    "confusion_matrix",
    "multilabel_confusion_matrix",
    "accuracy_score",
    "top_k_accuracy_score",
    "log_loss",
    "brier_score_loss",
    "most_confused",
]


@small_first(cache=True, parallel=True)
def _row_stats(y_score, y_true):
    n, n_classes = y_score.shape
    pred = np.empty(n, dtype=np.int32)
    top = np.empty(n, dtype=y_score.dtype)
    true_score = np.empty(n, dtype=y_score.dtype)
    rank = np.empty(n, dtype=np.int32)
    brier = np.empty(n, dtype=np.float64)
    for i in prange(n):
        t = y_true[i]
        st = y_score[i, t]
        best = 0
        bv = y_score[i, 0]
        r = 1
        sq = 0.0
        for c in range(n_classes):
            v = y_score[i, c]
            fv = np.float64(v)  # float() of a float32 stays float32 under numba
            sq += fv * fv
            if v > bv:
                bv = v
                best = c
            # without branches (a quarter less CPU than ``if ... or ...``): the same count
            r += (v > st) | ((v == st) & (c < t))
        pred[i] = best
        top[i] = bv
        true_score[i] = st
        rank[i] = r
        brier[i] = sq - 2.0 * np.float64(st) + 1.0
    return pred, top, true_score, rank, brier


def row_statistics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, np.ndarray]:
    """One pass over a single-label score matrix: argmax, top score, the annotated class's score and
    rank (1 = top; ties ranked as argmax breaks them), and the per-sample Brier term.

    >>> s = row_statistics(np.array([1, 0]), np.array([[.3, .7], [.5, .5]]))
    >>> s["pred"].tolist(), s["rank"].tolist()
    ([1, 0], [1, 1])
    """
    pred, top, true_score, rank, brier = _row_stats(
        np.ascontiguousarray(y_score), y_true.astype(np.int64, copy=False)
    )
    return {"pred": pred, "top": top, "true_score": true_score, "rank": rank, "brier": brier}


def prf_from_counts(
    tp: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 (NaN where undefined) from counts.

    >>> p, r, f = prf_from_counts(np.array([1, 0]), np.array([2, 0]), np.array([1, 1]))
    >>> p.tolist(), r.tolist(), f.tolist()
    ([0.5, nan], [1.0, 0.0], [0.6666666666666666, 0.0])
    """
    tp = np.asarray(tp, dtype=np.float64)
    n_pred = np.asarray(n_pred, dtype=np.float64)
    n_true = np.asarray(n_true, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, np.nan)
        recall = np.where(n_true > 0, tp / n_true, np.nan)
        f1 = np.where(n_pred + n_true > 0, 2 * tp / (n_pred + n_true), np.nan)
    return precision, recall, f1


def averages(
    tp: np.ndarray,
    n_pred: np.ndarray,
    n_true: np.ndarray,
    *,
    multilabel: bool = False,
    zero_division: float = 0.0,
) -> dict[str, float | None]:
    """Macro, micro and weighted precision / recall / F1 as scikit-learn computes them by default
    (None where undefined even so). Here class 1 is never predicted: its precision counts as 0.

    >>> a = averages(np.array([1, 0]), np.array([2, 0]), np.array([1, 1]))
    >>> a["macro_precision"], a["macro_recall"], a["macro_f1"]
    (0.25, 0.5, 0.3333333333333333)
    >>> averages(np.array([1, 0]), np.array([2, 0]), np.array([1, 1]), zero_division=np.nan)[
    ...     "macro_precision"]
    0.5
    """
    batch = averages_batch(
        np.asarray(tp)[None],
        np.asarray(n_pred)[None],
        np.asarray(n_true)[None],
        multilabel=multilabel,
        zero_division=zero_division,
    )
    return {k: (float(v[0]) if np.isfinite(v[0]) else None) for k, v in batch.items()}


def check_zero_division(value: object) -> float:
    """``zero_division`` as a float: 0.0 (scikit-learn's default) or NaN (average over the classes
    where a metric is defined); anything else is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"zero_division: expected 0 or nan, got {value!r}")
    v = float(value)
    if not (v == 0.0 or math.isnan(v)):
        raise ValueError(f"zero_division: expected 0 or nan, got {value!r}")
    return v


def averages_batch(
    tp: np.ndarray,
    n_pred: np.ndarray,
    n_true: np.ndarray,
    *,
    multilabel: bool = False,
    zero_division: float = 0.0,
) -> dict[str, np.ndarray]:
    """:func:`averages` of each row of (B, C) count matrices at once (NaN where undefined), e.g.
    the bootstrap replicates.

    >>> averages_batch(np.array([[1, 0]]), np.array([[2, 0]]), np.array([[1, 1]]))["macro_f1"]
    array([0.33333333])
    """
    tp = np.asarray(tp, dtype=np.float64)
    n_pred = np.asarray(n_pred, dtype=np.float64)
    n_true = np.asarray(n_true, dtype=np.float64)
    precision, recall, f1 = prf_from_counts(tp, n_pred, n_true)
    zero = not math.isnan(check_zero_division(zero_division))
    present = np.ones_like(tp, dtype=bool) if multilabel else (n_pred > 0) | (n_true > 0)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, arr in (("precision", precision), ("recall", recall), ("f1", f1)):
            if zero:  # every present label counts, an undefined ratio as 0
                defined = present
                a0 = np.where(present & np.isfinite(arr), arr, 0.0)
            else:
                defined = np.isfinite(arr)
                a0 = np.where(defined, arr, 0.0)
            k = defined.sum(axis=1)
            macro = np.where(k > 0, a0.sum(axis=1) / np.maximum(k, 1), np.nan)
            w = np.where(defined, n_true, 0.0)
            w_sum = w.sum(axis=1)
            # no support anywhere: scikit-learn gives zero_division (0), or with nan the plain
            # mean of the defined values (all 0 then: such a class has no TP)
            fallback = np.where(k > 0, 0.0, np.nan) if zero else macro
            weighted = np.where(w_sum > 0, (a0 * w).sum(axis=1) / np.maximum(w_sum, 1), fallback)
            out[f"macro_{name}"] = macro
            out[f"weighted_{name}"] = weighted
        stp, spred, strue = tp.sum(axis=1), n_pred.sum(axis=1), n_true.sum(axis=1)
        undefined = 0.0 if zero else np.nan
        out["micro_precision"] = np.where(spred > 0, stp / np.maximum(spred, 1), undefined)
        out["micro_recall"] = np.where(strue > 0, stp / np.maximum(strue, 1), undefined)
        out["micro_f1"] = np.where(
            spred + strue > 0, 2 * stp / np.maximum(spred + strue, 1), undefined
        )
    order = [
        f"{k}_{m}" for k in ("macro", "micro", "weighted") for m in ("precision", "recall", "f1")
    ]
    return {k: out[k] for k in order}


def counts_at_threshold(
    y_true: np.ndarray, pred: np.ndarray, top: np.ndarray, n_classes: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single-label TP, number predicted, number labeled per class at ``threshold`` (O(N)).

    >>> counts_at_threshold(np.array([0, 1]), np.array([0, 0]), np.array([.9, .4]), 2, 0.5)
    (array([1, 0]), array([1, 0]), array([1, 1]))
    """
    kept = top >= threshold
    n_true = np.bincount(y_true, minlength=n_classes)
    n_pred = np.bincount(pred[kept], minlength=n_classes)
    tp = np.bincount(pred[kept & (pred == y_true)], minlength=n_classes)
    return tp, n_pred, n_true


@njit(cache=True, parallel=True)
def _ml_counts(y_score, y_true, threshold):
    n, n_classes = y_score.shape
    tp = np.zeros(n_classes, dtype=np.int64)
    npred = np.zeros(n_classes, dtype=np.int64)
    ntrue = np.zeros(n_classes, dtype=np.int64)
    for c in prange(n_classes):
        a = 0
        b = 0
        d = 0
        for i in range(n):
            p = y_score[i, c] >= threshold
            if p:
                b += 1
                if y_true[i, c]:
                    a += 1
            if y_true[i, c]:
                d += 1
        tp[c] = a
        npred[c] = b
        ntrue[c] = d
    return tp, npred, ntrue


def multilabel_counts(
    y_true: np.ndarray, y_score: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-label TP, number predicted, number labeled per class at ``threshold`` (O(N C)).

    >>> multilabel_counts(np.array([[1, 1]], bool), np.array([[.9, .2]]), 0.5)
    (array([1, 0]), array([1, 0]), array([1, 1]))
    """
    return _ml_counts(np.ascontiguousarray(y_score), np.asarray(y_true, dtype=np.bool_), threshold)


def confusion_matrix(
    y_true: np.ndarray, pred: np.ndarray, top: np.ndarray, n_classes: int, threshold: float = 0.0
) -> np.ndarray:
    """Single-label counts, rows actual, columns predicted; one extra last column "below threshold".

    >>> confusion_matrix(np.array([0, 1]), np.array([0, 0]), np.array([.9, .4]), 2, 0.5).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    col = np.where(top >= threshold, pred, n_classes)
    flat = np.bincount(y_true * (n_classes + 1) + col, minlength=n_classes * (n_classes + 1))
    return flat.reshape(n_classes, n_classes + 1)


@njit(cache=True)
def _ml_confusion(y_score, y_true, threshold):
    n, n_classes = y_score.shape
    m = np.zeros((n_classes + 1, n_classes + 1), dtype=np.int64)
    psum = np.zeros((n_classes + 1, n_classes + 1), dtype=np.float64)
    wrong = np.empty(n_classes, dtype=np.int64)
    missed = np.empty(n_classes, dtype=np.int64)
    for i in range(n):
        nw = 0
        nm = 0
        for c in range(n_classes):
            p = y_score[i, c] >= threshold
            a = y_true[i, c]
            if p and a:
                m[c, c] += 1
                psum[c, c] += y_score[i, c]
            elif p:
                wrong[nw] = c
                nw += 1
            elif a:
                missed[nm] = c
                nm += 1
        for k in range(nm):
            a = missed[k]
            if nw == 0:
                m[a, n_classes] += 1
            for q in range(nw):
                m[a, wrong[q]] += 1
                psum[a, wrong[q]] += y_score[i, wrong[q]]
        if nm == 0:
            for q in range(nw):
                m[n_classes, wrong[q]] += 1
                psum[n_classes, wrong[q]] += y_score[i, wrong[q]]
    return m, psum


def multilabel_confusion_matrix(
    y_true: np.ndarray, y_score: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-label (C + 1) x (C + 1) counts and summed column-class scores per cell.

    Diagonal: labeled and predicted. A labeled class that is not predicted counts once in the column
    of every class wrongly predicted for that sample, or in the last column ("Below threshold") when
    none is. A wrongly predicted class of a sample whose labels are all predicted counts in the last
    row ("No label").

    >>> m, _ = multilabel_confusion_matrix(np.array([[1, 0]], bool), np.array([[.2, .9]]), 0.5)
    >>> m.tolist()
    [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    """
    return _ml_confusion(
        np.ascontiguousarray(y_score), np.asarray(y_true, dtype=np.bool_), threshold
    )


def accuracy_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of exact matches (rows of an indicator matrix must match entirely).

    >>> accuracy_score(np.array([0, 1, 1]), np.array([0, 1, 0]))
    0.6666666666666666
    """
    eq = np.asarray(y_true) == np.asarray(y_pred)
    if eq.ndim == 2:
        eq = eq.all(axis=1)
    return float(eq.mean()) if eq.size else float("nan")


def top_k_accuracy_score(rank: np.ndarray, k: int) -> float:
    """Fraction of samples whose annotated class ranks within the top ``k`` (from
    ``row_statistics``).

    Ties rank as argmax breaks them (the first class wins), so ``k = 1`` equals the argmax accuracy.
    scikit-learn's ``top_k_accuracy_score`` breaks ties the other way; without ties they agree.

    >>> top_k_accuracy_score(np.array([1, 3, 2]), 2)
    0.6666666666666666
    """
    return float(np.mean(rank <= k)) if rank.size else float("nan")


def log_loss(
    true_score: np.ndarray | None = None,
    *,
    y_true: np.ndarray | None = None,
    y_score: np.ndarray | None = None,
    multilabel: bool = False,
) -> float:
    """Mean negative log-likelihood, scores clipped to [eps, 1 - eps] of their dtype (as
    scikit-learn).

    Single-label: pass the annotated class's score per sample. Multi-label: pass ``y_true`` (N, C)
    bool and ``y_score``; the result is the mean binary cross entropy over all cells.

    >>> round(log_loss(np.array([0.5, 0.25])), 6)
    1.039721
    """
    if multilabel:
        assert y_true is not None and y_score is not None
        return float(_ml_log_loss(np.ascontiguousarray(y_score), np.asarray(y_true, np.bool_)))
    assert true_score is not None
    eps = np.finfo(true_score.dtype).eps
    return float(-np.mean(np.log(np.clip(true_score, eps, 1 - eps))))


@njit(cache=True, parallel=True)
def _ml_log_loss(y_score, y_true):
    n, n_classes = y_score.shape
    eps = np.finfo(y_score.dtype).eps
    total = 0.0
    for i in prange(n):
        s = 0.0
        for c in range(n_classes):
            p = min(max(np.float64(y_score[i, c]), np.float64(eps)), 1.0 - np.float64(eps))
            s += -math.log(p) if y_true[i, c] else -math.log(1.0 - p)
        total += s
    return total / (n * n_classes)


def brier_score_loss(
    brier_terms: np.ndarray | None = None,
    *,
    n_classes: int = 3,
    y_true: np.ndarray | None = None,
    y_score: np.ndarray | None = None,
    multilabel: bool = False,
) -> float:
    """Brier score as scikit-learn 1.9's ``brier_score_loss``.

    Single-label: mean over samples of ``sum_c (p_c - onehot_c)^2`` (pass the per-sample terms from
    ``row_statistics``), halved when there are two classes (the binary Brier score). Multi-label:
    the mean over all cells of ``(p - y)^2``.

    >>> brier_score_loss(np.array([0.5, 0.0]), n_classes=3)
    0.25
    """
    if multilabel:
        assert y_true is not None and y_score is not None
        d = np.asarray(y_score, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
        return float(np.mean(d * d))
    assert brier_terms is not None
    value = float(np.mean(brier_terms))
    return value * 0.5 if n_classes < 3 else value


def most_confused(matrix: np.ndarray, top: int = 10) -> list[tuple[int, int, int]]:
    """The ``top`` largest off-diagonal cells of a square count matrix as (actual, predicted,
    count).

    >>> most_confused(np.array([[5, 2], [7, 1]]), 1)
    [(1, 0, 7)]
    """
    m = np.array(matrix, dtype=np.int64, copy=True)
    k = min(m.shape)
    m[np.arange(k), np.arange(k)] = 0
    flat = m.ravel()
    nz = np.flatnonzero(flat)
    if nz.size == 0:
        return []
    order = nz[np.lexsort((nz, -flat[nz]))][:top]
    return [(int(i // m.shape[1]), int(i % m.shape[1]), int(flat[i])) for i in order]
