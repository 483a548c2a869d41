"""Exact merges of per-shard classification states (arrays in, numbers or arrays out).

A sharded evaluation never holds the (N, C) score matrix. Each shard (or batch of rows) is reduced
to a state; the states merge to the very numbers the in-memory path computes from the whole matrix
(to the last bits of a float sum's order):

- counts (labels per class, ranks of the annotated class, calibration bins, log-loss / Brier sums)
  add up;
- per class and shard, the sorted scores of the positives and of the negatives ("runs"): ROC AUC
  and average precision of the union follow from counting, for every positive score, the
  positives at or above it and the negatives below / equal to it in every run
  (:func:`auc_ap_from_runs`); ties between runs count exactly as scikit-learn counts them;
- per shard, the top scores sorted with the (actual, predicted) class of each sample: the counts at
  any threshold (:func:`cells_at`) and, merged in descending order (:func:`merge_descending`), the
  optimal-threshold sweep (:func:`sweep_batch`, the stateful twin of
  :func:`assay.metrics.cells.sweep`);
- exact quantiles of all scores from the runs, as :func:`numpy.quantile` computes them
  (:func:`quantiles_from_runs`);
- detection, per shard of whole images: the matched detections of :func:`coco_match` (class,
  score, image rank, rank in its (image, class) cell, matched / ignored at every area range and
  IoU) merge in pycocotools' accumulation order and accumulate to ``COCOeval``'s precision and
  recall (:func:`coco_records`, :func:`coco_merge`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numba import njit

from assay.metrics.detection import CocoMatches, coco_accumulate

__all__ = [
    "ECE_BINS",
    "as_run_values",
    "auc_ap_from_runs",
    "calibration_bins",
    "cells_at",
    "class_runs",
    "coco_merge",
    "coco_records",
    "merge_descending",
    "order_statistics",
    "quantiles_from_runs",
    "sweep_batch",
    "sweep_state",
]

ECE_BINS = 15  # the bins of assay.metrics.calibration.expected_calibration_error


def calibration_bins(
    confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> np.ndarray:
    """(3, bins) float64: per equal-width bin the count, the summed confidence and the summed
    correctness; summing these over shards and taking ``|acc - conf|.sum() / N`` gives
    :func:`~assay.metrics.calibration.expected_calibration_error` of the union.

    >>> calibration_bins(np.array([0.9, 0.9, 0.2]), np.array([1, 0, 0]), bins=2).tolist()
    [[1.0, 2.0], [0.2, 1.8], [0.0, 1.0]]
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    out = np.empty((3, bins), dtype=np.float64)
    out[0] = np.bincount(idx, minlength=bins)
    out[1] = np.bincount(idx, weights=confidence, minlength=bins)
    out[2] = np.bincount(idx, weights=np.asarray(correct, dtype=np.float64), minlength=bins)
    return out


def class_runs(
    y_true: np.ndarray, y_score: np.ndarray, *, multilabel: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One shard's per-class runs: (positives, positive offsets, negatives, negative offsets).

    Class c's positive scores (samples whose truth holds c), sorted ascending, are
    ``positives[pos_off[c]:pos_off[c + 1]]``; its negatives likewise. ``y_true`` is (n,) class
    indices, or (n, C) bool with ``multilabel``.

    >>> p, po, q, qo = class_runs(np.array([0, 1, 0]), np.array([[.9, .1], [.3, .7], [.6, .4]]))
    >>> p.tolist(), po.tolist(), q.tolist(), qo.tolist()
    ([0.6, 0.9, 0.7], [0, 2, 3], [0.3, 0.1, 0.4], [0, 1, 3])
    """
    s = np.asarray(y_score)
    n, n_classes = s.shape
    if multilabel:
        n_pos = np.asarray(y_true, dtype=bool).sum(axis=0).astype(np.int64)
    else:
        n_pos = np.bincount(y_true, minlength=n_classes).astype(np.int64)
    pos_off = np.zeros(n_classes + 1, dtype=np.int64)
    neg_off = np.zeros(n_classes + 1, dtype=np.int64)
    pos_off[1:] = np.cumsum(n_pos)
    neg_off[1:] = np.cumsum(n - n_pos)
    pos = np.empty(int(pos_off[-1]), dtype=s.dtype)  # filled in place: one copy of the scores
    neg = np.empty(int(neg_off[-1]), dtype=s.dtype)
    for c in range(n_classes):
        col = s[:, c]
        is_pos = y_true[:, c] if multilabel else y_true == c
        part = pos[pos_off[c] : pos_off[c + 1]]
        part[:] = col[is_pos]
        part.sort()
        part = neg[neg_off[c] : neg_off[c + 1]]
        part[:] = col[~is_pos]
        part.sort()
    return pos, pos_off, neg, neg_off


def auc_ap_from_runs(
    pos_runs: Sequence[np.ndarray], neg_runs: Sequence[np.ndarray]
) -> tuple[float, float]:
    """ROC AUC and average precision of one class from its sorted positive and negative scores in
    every shard; exactly scikit-learn's ``roc_auc_score`` (a positive-negative tie counts 1/2) and
    ``average_precision_score`` of the union. NaN where undefined (no positives; AUC: no
    negatives).

    AUC = sum over positives of (#negatives below + #negatives equal / 2) / (P * N-); AP = mean
    over positives of (#positives >= s) / (#samples >= s). Counts are integers summed over runs,
    so the merge is exact whatever the split; memory holds one class's positives.

    >>> auc_ap_from_runs([np.array([.8]), np.array([.4])], [np.array([.4, .9])])
    (0.375, 0.5)
    """
    n_pos = sum(len(r) for r in pos_runs)
    n_neg = sum(len(r) for r in neg_runs)
    if n_pos == 0:
        return float("nan"), float("nan")
    q = np.sort(np.concatenate([np.asarray(r) for r in pos_runs]))
    pos_ge = n_pos - np.searchsorted(q, q, side="left")
    neg_lt = np.zeros(n_pos, dtype=np.int64)
    neg_le = np.zeros(n_pos, dtype=np.int64)
    for run in neg_runs:
        if len(run):
            neg_lt += np.searchsorted(run, q, side="left")
            neg_le += np.searchsorted(run, q, side="right")
    ap = float((pos_ge / (pos_ge + (n_neg - neg_lt))).sum()) / n_pos
    if n_neg == 0:
        return float("nan"), ap
    twice_u = int(neg_lt.sum()) + int(neg_le.sum())
    return twice_u / (2 * n_pos * n_neg), ap


def cells_at(
    top: np.ndarray, actual: np.ndarray, predicted: np.ndarray, threshold: float, n_classes: int
) -> np.ndarray:
    """(C, C) counts of samples with top score >= ``threshold`` by (actual, predicted), from one
    shard's top scores sorted ascending with the classes of each sample.

    >>> cells_at(np.array([.5, .7, .9]), np.array([0, 1, 1]), np.array([0, 0, 1]), .6, 2).tolist()
    [[0, 0], [1, 1]]
    """
    k = int(np.searchsorted(top, threshold, side="left"))
    a = np.asarray(actual[k:], dtype=np.int64)
    p = np.asarray(predicted[k:], dtype=np.int64)
    flat = np.bincount(a * n_classes + p, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def merge_descending(
    runs: Sequence[np.ndarray], payloads: Sequence[Sequence[np.ndarray]], block: int = 1 << 18
) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """Merge runs sorted ascending into batches in descending order, with their payloads.

    Each batch (values, [payload arrays]) is sorted descending and holds every value equal to its
    smallest one (a tie never straddles two batches). Memory: about ``block`` entries per run.

    >>> out = list(merge_descending([np.array([1., 3.]), np.array([2., 3.])],
    ...                             [[np.array([10, 30])], [np.array([20, 31])]], block=1))
    >>> [(v.tolist(), p[0].tolist()) for v, p in out]
    [([3.0, 3.0], [31, 30]), ([2.0, 1.0], [20, 10])]
    """
    ends = [len(r) for r in runs]
    while any(ends):
        lows: list[int] = []
        bounds: list[float] = []
        for r, end in zip(runs, ends, strict=True):
            if end == 0:
                lows.append(0)
                continue
            lo = max(end - block, 0)
            lo = int(np.searchsorted(r[:end], r[lo], side="left"))  # the whole tie group
            lows.append(lo)
            if lo > 0:
                bounds.append(float(r[lo]))
        cut = max(bounds) if bounds else -np.inf
        values: list[np.ndarray] = []
        parts: list[list[np.ndarray]] = []
        for j, (r, end, lo) in enumerate(zip(runs, ends, lows, strict=True)):
            if end == 0:
                continue
            start = lo + int(np.searchsorted(r[lo:end], cut, side="left"))
            if start < end:
                values.append(np.asarray(r[start:end]))
                parts.append([np.asarray(p[start:end]) for p in payloads[j]])
            ends[j] = start
        v = np.concatenate(values)
        order = np.argsort(v, kind="stable")[::-1]
        n_payloads = len(parts[0])
        yield v[order], [np.concatenate([p[k] for p in parts])[order] for k in range(n_payloads)]


def sweep_state(n_true: np.ndarray) -> dict[str, np.ndarray]:
    """The starting state of :func:`sweep_batch` for classes labeled ``n_true`` times."""
    n_true = np.asarray(n_true, dtype=np.int64)
    labeled = int((n_true > 0).sum())
    return {
        "tp": np.zeros(len(n_true), dtype=np.int64),
        "npred": np.zeros(len(n_true), dtype=np.int64),
        # present (labeled or predicted), labeled, predicted, total TP, samples seen
        "ints": np.array([labeled, labeled, 0, 0, 0], dtype=np.int64),
        # sum of F1, of precision (over predicted), of recall (over labeled), best, best threshold
        "floats": np.array([0.0, 0.0, 0.0, -1.0, 0.0], dtype=np.float64),
    }


@njit(cache=True)
def _sweep(top, actual, pred, n_true, tp, npred, ints, floats, n_total, metric, by_definition):
    n = top.shape[0]
    present, labeled, predicted, tot_tp, seen = ints[0], ints[1], ints[2], ints[3], ints[4]
    sum_f1, sum_p, sum_r, best, best_t = floats[0], floats[1], floats[2], floats[3], floats[4]
    i = 0
    while i < n:
        j = i
        while j < n and top[j] == top[i]:
            p = pred[j]
            hit = 1 if actual[j] == p else 0
            old_f1 = 2.0 * tp[p] / (n_true[p] + npred[p]) if n_true[p] + npred[p] > 0 else 0.0
            old_p = tp[p] / npred[p] if npred[p] > 0 else 0.0
            if npred[p] == 0:
                predicted += 1
                if n_true[p] == 0:
                    present += 1
            npred[p] += 1
            tp[p] += hit
            tot_tp += hit
            sum_f1 += 2.0 * tp[p] / (n_true[p] + npred[p]) - old_f1
            sum_p += tp[p] / npred[p] - old_p
            if hit:
                sum_r += 1.0 / n_true[p]
            j += 1
        done = seen + j
        if metric == 0:
            v = sum_f1 / present
        elif metric == 1:
            v = tot_tp / n_total
        elif metric == 2:
            v = sum_p / (predicted if by_definition else present)
        elif metric == 3:
            v = sum_r / (labeled if by_definition else present)
        else:
            v = 2.0 * tot_tp / (n_total + done)
        if v > best + 1e-12:
            best = v
            best_t = top[i]
        i = j
    ints[0], ints[1], ints[2], ints[3], ints[4] = present, labeled, predicted, tot_tp, seen + n
    floats[0], floats[1], floats[2], floats[3], floats[4] = sum_f1, sum_p, sum_r, best, best_t


def sweep_batch(
    state: dict[str, np.ndarray],
    top: np.ndarray,
    actual: np.ndarray,
    pred: np.ndarray,
    n_true: np.ndarray,
    n_total: int,
    metric: int,
    by_definition: bool,
) -> None:
    """Feed one batch of :func:`merge_descending` (top scores descending, whole tie groups) to the
    optimal-threshold sweep; ``state["floats"][3:5]`` is then (best value, its threshold) so far.
    ``metric`` and ``by_definition`` as in :func:`assay.metrics.cells.sweep` (0 macro F1, 1
    accuracy, 2 macro precision, 3 macro recall, 4 micro F1); ``n_total`` is N."""
    _sweep(
        np.ascontiguousarray(top, dtype=np.float64),
        np.ascontiguousarray(actual, dtype=np.int64),
        np.ascontiguousarray(pred, dtype=np.int64),
        np.asarray(n_true, dtype=np.int64),
        state["tp"],
        state["npred"],
        state["ints"],
        state["floats"],
        int(n_total),
        int(metric),
        bool(by_definition),
    )


def as_run_values(values: np.ndarray, dtype: np.dtype, side: str) -> np.ndarray:
    """float64 ``values`` as values of a run's ``dtype`` that a binary search counts alike:
    ``side="left"`` (x < v) takes the smallest float32 >= v, ``"right"`` (x <= v) the largest
    float32 <= v. float64 runs take the values as they are. (Searching float32 runs with float64
    values would copy each run to float64 on every search.)

    >>> r = np.array([0.1, 0.3], np.float32)
    >>> v = np.array([0.1, 0.3])
    >>> bool((np.searchsorted(r, as_run_values(v, r.dtype, "left")) ==
    ...       np.searchsorted(r.astype(np.float64), v)).all())
    True
    """
    v = np.asarray(values, dtype=np.float64)
    if np.dtype(dtype) != np.float32:
        return v
    c = v.astype(np.float32)
    back = c.astype(np.float64)
    if side == "left":
        c = np.where(back < v, np.nextafter(c, np.float32(np.inf)), c)
    else:
        c = np.where(back > v, np.nextafter(c, np.float32(-np.inf)), c)
    return c.astype(np.float32)


def order_statistics(runs: Sequence[np.ndarray], ranks: np.ndarray) -> np.ndarray:
    """The values of 0-based ``ranks`` in the ascending order of all runs' values together (each
    run sorted ascending; values in [0, 1], e.g. probabilities), found by bisection on the float's
    bit pattern: about 62 counting passes of one binary search per run, never a merge.

    >>> order_statistics([np.array([.1, .5]), np.array([.2, .2, .9])], np.array([0, 2, 4])).tolist()
    [0.1, 0.2, 0.9]
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    lo: np.ndarray = np.zeros(len(ranks), dtype=np.int64)  # bits of 0.0
    hi: np.ndarray = np.full(len(ranks), np.float64(1.0).view(np.int64), dtype=np.int64)
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = lo + (hi - lo) // 2
        values = mid.view(np.float64)
        count = np.zeros(len(ranks), dtype=np.int64)
        as_dtype = {}
        for r in runs:
            if len(r):
                if r.dtype not in as_dtype:
                    as_dtype[r.dtype] = as_run_values(values, r.dtype, "right")
                count += np.searchsorted(r, as_dtype[r.dtype], side="right")
        enough = count >= ranks + 1
        hi = np.where(open_ & enough, mid, hi)
        lo = np.where(open_ & ~enough, mid + 1, lo)
    return lo.view(np.float64)


def quantiles_from_runs(runs: Sequence[np.ndarray], q: np.ndarray) -> np.ndarray:
    """``numpy.quantile(all values, q)`` (method "linear") from sorted runs of values in [0, 1].

    >>> x = [np.array([.1, .5, .7]), np.array([.2, .3])]
    >>> bool((quantiles_from_runs(x, np.linspace(0, 1, 7)) ==
    ...       np.quantile(np.r_[x[0], x[1]], np.linspace(0, 1, 7))).all())
    True
    """
    q = np.asarray(q, dtype=np.float64)
    m = sum(len(r) for r in runs)
    virtual = (m - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= m - 1
    prev[above] = m - 1
    nxt[above] = m - 1
    prev_i, next_i = prev.astype(np.int64), nxt.astype(np.int64)
    wanted = np.unique(np.r_[prev_i, next_i])
    values = order_statistics(runs, wanted)
    a = values[np.searchsorted(wanted, prev_i)]
    b = values[np.searchsorted(wanted, next_i)]
    gamma = np.where(above, virtual - (-1.0), virtual - prev)  # numpy's gamma (a == b above)
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def coco_records(
    m: CocoMatches, dt_labels: np.ndarray, dt_scores: np.ndarray, dt_image_rank: np.ndarray
) -> dict[str, np.ndarray]:
    """One shard's matched detections (from :func:`~assay.metrics.detection.coco_match` on the
    shard's images and detections): label, score, image rank (pycocotools' image order), rank in
    its (image, class) cell, and matched / ignored (n, A, T), in the shard's accumulation order."""
    o = m.dt_order
    return {
        "label": np.asarray(dt_labels, dtype=np.int64)[o],
        "score": np.asarray(dt_scores, dtype=np.float64)[o],
        "image_rank": np.asarray(dt_image_rank, dtype=np.int64)[o],
        "cell_rank": np.asarray(m.dt_rank, dtype=np.int64),
        "matched": m.dt_matched,
        "ignored": m.dt_ignored,
    }


def coco_merge(
    records: Sequence[dict[str, np.ndarray]], npig: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``COCOeval.accumulate()``'s precision (T, R, K, A, M), recall (T, K, A, M) and scores from
    the :func:`coco_records` of shards holding disjoint sets of whole images; ``npig`` (K, A):
    the non-ignored ground truth per class and area range over every image.

    The order is pycocotools': per class by descending score, ties by image (id order) then by
    rank in the image's cell (file order), so the merge equals the single-pass accumulation.
    """
    keys = ("label", "score", "image_rank", "cell_rank", "matched", "ignored")
    cat = {k: np.concatenate([r[k] for r in records]) for k in keys} if records else {}
    n_classes = int(npig.shape[0])
    n = len(cat["label"]) if cat else 0
    if n == 0:
        n_a, n_t = npig.shape[1], 10
        cat = {k: np.zeros(0, dtype=np.int64) for k in keys}
        cat["score"] = np.zeros(0)
        cat["matched"] = cat["ignored"] = np.zeros((0, n_a, n_t), dtype=bool)
    order = np.lexsort((cat["cell_rank"], cat["image_rank"], -cat["score"], cat["label"]))
    label = cat["label"][order]
    m = CocoMatches(
        gt_order=np.zeros(0, dtype=np.int64),
        dt_order=np.arange(n),
        dt_rank=cat["cell_rank"][order],
        dt_matched=cat["matched"][order],
        dt_ignored=cat["ignored"][order],
        gt_ignored=np.zeros((npig.shape[1], 0), dtype=bool),
        dt_gt=np.zeros((n, cat["matched"].shape[2]), dtype=np.int64),
        acc_order=np.arange(n),
        class_ptr=np.searchsorted(label, np.arange(n_classes + 1), "left"),
        npig=npig,
    )
    return coco_accumulate(m, cat["score"][order])  # type: ignore[return-value]
