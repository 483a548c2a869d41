"""Ranking metrics: one-vs-rest ROC AUC and average precision, and the curves behind them.

The per-class AUC / AP kernel never sorts a whole score column. For class ``c`` it sorts only the
positives (the samples whose truth is ``c``), then places every sample's score among them with a
binary search narrowed by a bucket table keyed on the float's top bits. Counting, for each distinct
positive score ``u``, the samples strictly below ``u`` and equal to ``u`` gives both

- ROC AUC as the Mann-Whitney statistic (a tie between a positive and a negative counts 1/2),
  exactly scikit-learn's trapezoidal ``roc_auc_score``, and
- average precision as scikit-learn's step-wise ``average_precision_score``:
  ``sum_u (#pos == u / P) * (#pos >= u / #all >= u)``.

Undefined values are NaN: AUC of a class without positives or without negatives, AP of a class
without positives.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from assay.metrics.jit import small_first

__all__ = [
    "group_positives",
    "ovr_auc_ap",
    "roc_auc_per_class",
    "average_precision_per_class",
    "binary_clf_curve",
    "roc_curve",
    "precision_recall_curve",
    "threshold_curves",
    "roc_from_counts",
    "pr_from_counts",
    "threshold_from_counts",
]


# Bucket keys: the bit pattern of a non-negative float orders like the float. The key keeps the
# exponent and ``mbits`` mantissa bits, floored at 2**-30 (smaller scores share bucket 0).
def _key_params(dtype: np.dtype, mbits: int) -> tuple[type, int, int, int, int]:
    """(unsigned type, sign mask, shift, base, number of keys) for scores of ``dtype``."""
    utype: type
    if dtype == np.float32:
        utype, mask, frac, bias = np.uint32, 0x7FFFFFFF, 23, 127
    else:
        utype, mask, frac, bias = np.uint64, 0x7FFFFFFFFFFFFFFF, 52, 1023
    shift = frac - mbits
    base = (bias - 30) << mbits
    return utype, mask, shift, base, (30 << mbits) + 1


def _bits(values: np.ndarray) -> np.ndarray:
    """Unsigned bit patterns of floats (a view: the sign bit, set only by -0.0, is masked later)."""
    return values.view(np.uint32 if values.dtype == np.float32 else np.uint64)


@small_first(cache=True)
def _group_by_class(y_true: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.zeros(n_classes + 1, dtype=np.int64)
    for i in range(y_true.shape[0]):
        counts[y_true[i] + 1] += 1
    offsets = np.cumsum(counts)
    pos = offsets[:-1].copy()
    index = np.empty(y_true.shape[0], dtype=np.int64)
    for i in range(y_true.shape[0]):
        c = y_true[i]
        index[pos[c]] = i
        pos[c] += 1
    return index, offsets


@small_first(cache=True, parallel=True)
def _gather_sorted_single(y_score, index, offsets):
    n_classes = offsets.shape[0] - 1
    out = np.empty(index.shape[0], dtype=y_score.dtype)
    for c in prange(n_classes):
        a, b = offsets[c], offsets[c + 1]
        for j in range(a, b):
            out[j] = y_score[index[j], c]
        out[a:b] = np.sort(out[a:b])
    return out


@small_first(cache=True, parallel=True)
def _sorted_by_class(y_true, true_score, n_classes):
    """Each sample's annotated-class score grouped by class (counting sort), each group sorted."""
    n = y_true.shape[0]
    counts = np.zeros(n_classes + 1, dtype=np.int64)
    for i in range(n):
        counts[y_true[i] + 1] += 1
    offsets = np.cumsum(counts)
    pos = offsets[:-1].copy()
    out = np.empty(n, dtype=true_score.dtype)
    for i in range(n):
        c = y_true[i]
        out[pos[c]] = true_score[i]
        pos[c] += 1
    for c in prange(n_classes):
        out[offsets[c] : offsets[c + 1]] = np.sort(out[offsets[c] : offsets[c + 1]])
    return out, offsets


@small_first(cache=True, parallel=True)
def _gather_sorted_multi(y_score, y_true, offsets, want):
    n, n_classes = y_score.shape
    out = np.empty(offsets[-1], dtype=y_score.dtype)
    for c in prange(n_classes):
        a, b = offsets[c], offsets[c + 1]
        k = a
        for i in range(n):
            if y_true[i, c] == want:
                out[k] = y_score[i, c]
                k += 1
        out[a:b] = np.sort(out[a:b])
    return out


def group_positives(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    multilabel: bool = False,
    negatives: bool = False,
    true_score: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The scores of each class's positives, sorted ascending, concatenated, with class offsets.

    >>> v, off = group_positives(np.array([0, 1, 1]), np.array([[.9, .1], [.3, .7], [.6, .4]]))
    >>> v[off[1]:off[2]].tolist()
    [0.4, 0.7]

    ``negatives=True`` (multi-label only) groups each class's negatives instead. Single-label,
    ``true_score`` (each sample's score of its annotated class, ``y_score[i, y_true[i]]``, as
    ``classification.row_statistics`` gives it) is read instead of the score matrix: the same
    result without a pass over scattered rows.
    """
    n_classes = y_score.shape[1]
    if true_score is not None and not multilabel:
        return _sorted_by_class(
            y_true.astype(np.int64, copy=False),
            np.asarray(true_score, dtype=y_score.dtype),
            n_classes,
        )
    if multilabel:
        y_true = np.asarray(y_true, dtype=np.bool_)
        counts = y_true.sum(axis=0)
        if negatives:
            counts = y_true.shape[0] - counts
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        values = _gather_sorted_multi(y_score, y_true, offsets, not negatives)
    else:
        index, offsets = _group_by_class(y_true.astype(np.int64, copy=False), n_classes)
        values = _gather_sorted_single(y_score, index, offsets)
    return values, offsets


@small_first(cache=True, parallel=True)
def _bucket_tables(pos_bits, offsets, mask, shift, base, n_keys):
    """table[c, k] = first positive of class c (relative index) whose key is >= k."""
    n_classes = offsets.shape[0] - 1
    table = np.empty((n_classes, n_keys + 1), dtype=np.int32)
    for c in prange(n_classes):
        a, b = offsets[c], offsets[c + 1]
        j = a
        for k in range(n_keys + 1):
            while j < b:
                kk = max(np.int64((pos_bits[j] & mask) >> shift) - base, 0)
                if kk >= k:
                    break
                j += 1
            table[c, k] = j - a
    return table


@small_first(cache=True, parallel=True)
def _bucket_entries(pos_bits, offsets, mask, shift, base, n_keys):
    """entries[c, 2 k] = first positive of class c (relative index) whose key is >= k,
    entries[c, 2 k + 1] = its bit pattern (all bits set when there is none).

    A bucket's positives are ``entries[c, 2 k] .. entries[c, 2 k + 2] - 1``: where it holds at
    most one, a sample's place among the positives needs no other look-up.
    """
    n_classes = offsets.shape[0] - 1
    out = np.empty((n_classes, 2 * (n_keys + 1)), dtype=pos_bits.dtype)
    none = mask | ~mask  # every bit set, in the keys' unsigned type
    for c in prange(n_classes):
        a, b = offsets[c], offsets[c + 1]
        row = out[c]
        k = 0
        for j in range(a, b):  # keys k up to positive j's own: j is the first at or above them
            kj = max(np.int64((pos_bits[j] & mask) >> shift) - base, 0)
            while k <= kj:
                row[2 * k] = j - a
                row[2 * k + 1] = pos_bits[j]
                k += 1
        while k <= n_keys:
            row[2 * k] = b - a
            row[2 * k + 1] = none
            k += 1
    return out


@small_first(cache=True, parallel=True)
def _place_samples(bits, posx, offx, entries, mask, shift, base, n_chunks):
    """Per chunk of rows: for every class, counts of samples in each gap / on each positive value.

    ``posx`` holds each class's sorted positive bit patterns followed by one sentinel above every
    score (``offx[c]``: where class ``c`` starts). A sample's place ``r`` is the first entry of its
    class not below it; ``cnt[t, 2 r]`` counts the samples strictly below entry ``r`` (and above
    ``r - 1``), ``cnt[t, 2 r + 1]`` those equal to it.

    Each chunk copies 16 columns of a run of up to 2**18 rows at a time into a class-major buffer
    (64-row tiles, so both sides of the copy stay in cache), then walks each class's row of the
    buffer with its :func:`_bucket_entries` row and counters hot in cache. A sample whose bucket
    holds at most one positive is placed from its bucket's entry alone (most samples); a fuller
    bucket is searched by halving.
    """
    n, n_classes = bits.shape
    cnt = np.zeros((n_chunks, 2 * posx.shape[0]), dtype=np.int32)
    chunk = (n + n_chunks - 1) // n_chunks
    group = 16
    for t in prange(n_chunks):
        r0 = t * chunk
        r1 = min(n, r0 + chunk)
        rows = max(1, min(1 << 18, r1 - r0))
        buf = np.empty((group, rows), dtype=bits.dtype)
        ct = cnt[t]  # 1-D views in the inner loops: about a fifth faster than 2-D indexing
        for b0 in range(r0, r1, rows):
            m = min(rows, r1 - b0)
            for c0 in range(0, n_classes, group):
                g = min(group, n_classes - c0)
                for i0 in range(0, m, 64):
                    i1 = min(m, i0 + 64)
                    for q in range(g):
                        bq = buf[q]
                        for i in range(i0, i1):
                            bq[i] = bits[b0 + i, c0 + q] & mask
                for q in range(g):
                    c = c0 + q
                    a = offx[c]
                    ec = entries[c]
                    bq = buf[q]
                    for i in range(m):
                        v = bq[i]
                        key = max(np.int64(v >> shift) - base, 0)
                        j = np.int64(ec[2 * key])
                        w = np.int64(ec[2 * key + 2]) - j
                        r = a + j
                        if w > 1:
                            while w > 1:
                                half = w >> 1
                                if posx[r + half] < v:
                                    r += half
                                w -= half
                            r += 1 if posx[r] < v else 0
                            e = 1 if posx[r] == v else 0
                        else:
                            first = ec[2 * key + 1]
                            r += 1 if first < v else 0
                            e = 1 if first == v else 0
                        ct[2 * r + e] += 1
    return cnt


@small_first(cache=True, parallel=True)
def _reduce_auc_ap(cnt, pos_values, offsets, n):
    n_classes = offsets.shape[0] - 1
    n_chunks = cnt.shape[0]
    auc = np.full(n_classes, np.nan)
    ap = np.full(n_classes, np.nan)
    for c in prange(n_classes):
        a, b = offsets[c], offsets[c + 1]
        p = b - a
        if p == 0:
            continue
        n_neg = n - p
        x = 2 * (a + c)  # cnt[.., x + 2 j]: samples strictly between positive j-1 and j,
        less = 0  # cnt[.., x + 2 j + 1]: samples equal to positive j; less: samples below it
        u_stat = 0.0
        ap_sum = 0.0
        j = 0
        while j < p:
            for t in range(n_chunks):
                less += cnt[t, x + 2 * j]
            g = 1
            while j + g < p and pos_values[a + j + g] == pos_values[a + j]:
                g += 1
            eq_all = 0
            for t in range(n_chunks):
                eq_all += cnt[t, x + 2 * j + 1]
            neg_less = less - j
            neg_eq = eq_all - g
            u_stat += g * (neg_less + 0.5 * neg_eq)
            ap_sum += (g / p) * ((p - j) / (n - less))
            less += eq_all
            # the gaps inside a run of equal positives are empty by construction
            j += g
        ap[c] = ap_sum
        if n_neg > 0:
            auc[c] = u_stat / (p * n_neg)
    return auc, ap


def ovr_auc_ap(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    multilabel: bool = False,
    positives: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ROC AUC and average precision of every class, NaN where undefined.

    ``y_true`` is (N,) class indices, or (N, C) bool with ``multilabel=True``. ``positives`` may
    pass a precomputed :func:`group_positives` result.

    >>> auc, ap = ovr_auc_ap(np.array([0, 1, 1]), np.array([[.9, .1], [.3, .7], [.6, .4]]))
    >>> auc.tolist(), ap.tolist()
    ([1.0, 1.0], [1.0, 1.0])
    """
    y_score = np.ascontiguousarray(y_score)
    if y_score.dtype not in (np.float32, np.float64):
        y_score = y_score.astype(np.float64)
    n, n_classes = y_score.shape
    values, offsets = positives or group_positives(y_true, y_score, multilabel=multilabel)
    # finer buckets while the tables stay small (2 x 4 bytes x C x 2**mbits x 30 for float32):
    # at 2**11 keys per exponent about 95 % of a softmax's samples share their bucket with at
    # most one positive and are placed without a search
    mbits = 11 if n_classes <= 128 else 7 if n_classes <= 1024 else 5
    if n < 50_000:
        mbits = min(mbits, 5)
    utype, mask, shift, base, n_keys = _key_params(y_score.dtype, mbits)
    mask, shift = utype(mask), utype(shift)
    pos_bits = _bits(np.ascontiguousarray(values, dtype=y_score.dtype)) & mask
    entries = _bucket_entries(pos_bits, offsets, mask, shift, base, n_keys)
    # each class's positives then one sentinel above every score (bits of a value <= 1)
    posx = np.insert(pos_bits, offsets[1:], np.iinfo(utype).max)
    offx = offsets + np.arange(n_classes + 1)
    n_chunks = 1 if n < 4096 else max(1, numba.get_num_threads())
    cnt = _place_samples(_bits(y_score), posx, offx, entries, mask, shift, base, n_chunks)
    return _reduce_auc_ap(cnt, values, offsets, n)


def roc_auc_per_class(
    y_true: np.ndarray, y_score: np.ndarray, *, multilabel: bool = False
) -> np.ndarray:
    """One-vs-rest ROC AUC per class (NaN without positives or negatives).

    >>> roc_auc_per_class(np.array([0, 1, 0]), np.array([[.8, .2], [.4, .6], [.3, .7]])).tolist()
    [0.5, 0.5]
    """
    return ovr_auc_ap(y_true, y_score, multilabel=multilabel)[0]


def average_precision_per_class(
    y_true: np.ndarray, y_score: np.ndarray, *, multilabel: bool = False
) -> np.ndarray:
    """One-vs-rest average precision per class, scikit-learn's step-wise definition (NaN if no
    positive).

    >>> average_precision_per_class(np.array([0, 1]), np.array([[.8, .2], [.4, .6]])).tolist()
    [1.0, 1.0]
    """
    return ovr_auc_ap(y_true, y_score, multilabel=multilabel)[1]


def binary_clf_curve(
    y_true: np.ndarray, y_score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive counts at each distinct score, highest first (one sort).

    >>> fps, tps, thr = binary_clf_curve(np.array([1, 0, 1]), np.array([.9, .5, .5]))
    >>> fps.tolist(), tps.tolist(), thr.tolist()
    ([0, 1], [1, 2], [0.9, 0.5])
    """
    y_true = np.asarray(y_true, dtype=bool)
    order = np.argsort(y_score, kind="stable")[::-1]
    s = y_score[order]
    t = y_true[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size else np.empty(0, dtype=np.int64)
    ends = np.r_[distinct, s.size - 1] if s.size else distinct
    tps = np.cumsum(t, dtype=np.int64)[ends]
    fps = 1 + ends - tps
    return fps, tps, s[ends]


def roc_from_counts(
    fps: np.ndarray, tps: np.ndarray, thresholds: np.ndarray
) -> dict[str, np.ndarray | float]:
    """ROC points from :func:`binary_clf_curve` counts: every distinct threshold (none dropped),
    starting at (0, 0) with threshold ``inf``; the AUC by the trapezoidal rule (NaN without
    positives or negatives).

    >>> r = roc_from_counts(np.array([0, 1]), np.array([1, 1]), np.array([.9, .2]))
    >>> r["fpr"].tolist(), r["tpr"].tolist(), r["auc"]
    ([0.0, 0.0, 1.0], [0.0, 1.0, 1.0], 1.0)
    """
    fps = np.r_[0, fps]
    tps = np.r_[0, tps]
    thr = np.r_[np.inf, thresholds].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
        tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    auc = float(np.trapezoid(tpr, fpr)) if fps[-1] > 0 and tps[-1] > 0 else float("nan")
    return {"fpr": fpr, "tpr": tpr, "thresholds": thr, "auc": auc}


def pr_from_counts(
    fps: np.ndarray, tps: np.ndarray, thresholds: np.ndarray
) -> dict[str, np.ndarray | float]:
    """Precision / recall from :func:`binary_clf_curve` counts as scikit-learn's
    ``precision_recall_curve`` (thresholds increasing, last point precision 1, recall 0), plus the
    step-wise average precision (NaN without positives).

    >>> r = pr_from_counts(np.array([0, 1]), np.array([1, 1]), np.array([.9, .2]))
    >>> r["precision"].tolist(), r["recall"].tolist(), r["average_precision"]
    ([0.5, 1.0, 1.0], [1.0, 1.0, 0.0], 1.0)
    """
    precision = tps / np.maximum(tps + fps, 1)
    if tps.size and tps[-1] > 0:
        recall = tps / tps[-1]
        ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    else:
        recall = np.full(tps.shape, np.nan)
        ap = float("nan")
    return {
        "precision": np.r_[precision[::-1], 1.0],
        "recall": np.r_[recall[::-1], 0.0],
        "thresholds": thresholds[::-1].astype(np.float64),
        "average_precision": ap,
    }


def threshold_from_counts(
    fps: np.ndarray, tps: np.ndarray, thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """Precision, recall (= TPR) and FPR of ``score >= threshold`` from :func:`binary_clf_curve`
    counts, thresholds descending (recall / FPR NaN without positives / negatives).

    >>> r = threshold_from_counts(np.array([0, 1]), np.array([1, 1]), np.array([.9, .2]))
    >>> r["precision"].tolist(), r["fpr"].tolist()
    ([1.0, 0.5], [0.0, 1.0])
    """
    pos = tps[-1] if tps.size else 0
    neg = fps[-1] if fps.size else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = tps / pos if pos else np.full(tps.shape, np.nan)
        fpr = fps / neg if neg else np.full(fps.shape, np.nan)
    return {
        "thresholds": thresholds.astype(np.float64),
        "precision": tps / np.maximum(tps + fps, 1),
        "recall": tpr,
        "tpr": tpr,
        "fpr": fpr,
    }


def roc_curve(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, np.ndarray | float]:
    """ROC points at every distinct threshold (no point dropped), starting at (0, 0) with ``inf``.

    >>> r = roc_curve(np.array([1, 0]), np.array([.9, .2]))
    >>> r["fpr"].tolist(), r["tpr"].tolist(), r["auc"]
    ([0.0, 0.0, 1.0], [0.0, 1.0, 1.0], 1.0)
    """
    return roc_from_counts(*binary_clf_curve(y_true, y_score))


def precision_recall_curve(
    y_true: np.ndarray, y_score: np.ndarray
) -> dict[str, np.ndarray | float]:
    """Precision / recall as scikit-learn's ``precision_recall_curve`` (thresholds increasing,
    last point precision 1, recall 0), plus the step-wise average precision.

    >>> r = precision_recall_curve(np.array([1, 0]), np.array([.9, .2]))
    >>> r["precision"].tolist(), r["recall"].tolist(), r["average_precision"]
    ([0.5, 1.0, 1.0], [1.0, 1.0, 0.0], 1.0)
    """
    return pr_from_counts(*binary_clf_curve(y_true, y_score))


def threshold_curves(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall (= TPR) and FPR when predicting ``score >= threshold``, thresholds
    descending.

    >>> r = threshold_curves(np.array([1, 0]), np.array([.9, .2]))
    >>> r["thresholds"].tolist(), r["precision"].tolist(), r["fpr"].tolist()
    ([0.9, 0.2], [1.0, 0.5], [0.0, 1.0])
    """
    return threshold_from_counts(*binary_clf_curve(y_true, y_score))
