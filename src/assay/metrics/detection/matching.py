"""Class-agnostic greedy matching for the detection confusion matrix, P/R/F1 and the image feed.

Predictions are taken highest score first (ties: input order); each takes the unmatched, non-crowd
ground truth of its image with the best IoU >= ``iou`` (ties: the first). A prediction with no such
match that overlaps a crowd region at (crowd) IoU >= ``iou`` is ignored; crowd regions are never
missed. Because the greedy pass goes by score, the matching at a confidence ``s`` is the matching at
0 restricted to the predictions scored >= s: one pass per IoU serves every confidence.

>>> import numpy as np
>>> dt_ptr, pg, pv = np.array([0, 1, 2]), np.array([0, 0]), np.array([0.9, 0.8])
>>> m = greedy_match(dt_ptr, pg, pv, np.array([False]), 0.5)
>>> m.dt_gt.tolist(), m.dt_state.tolist()
([0, -1], [1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

__all__ = [
    "MATCHED",
    "UNMATCHED",
    "CROWD",
    "AgnosticMatch",
    "box_outcomes",
    "cell_events",
    "confusion_counts",
    "f1_sweep",
    "f1_table",
    "greedy_match",
    "match_sweep",
    "prf_from_confusion",
    "sweep_events",
]

MATCHED, UNMATCHED, CROWD = 1, 2, 3


@dataclass(eq=False)
class AgnosticMatch:
    """Matching at one IoU and confidence 0, in the order the predictions were given.

    ``dt_gt``: matched ground-truth index (the crowd region for an ignored prediction), -1 if none;
    ``dt_iou``: its IoU; ``dt_state``: MATCHED / UNMATCHED / CROWD; ``gt_dt``: matching prediction.
    """

    dt_gt: np.ndarray
    dt_iou: np.ndarray
    dt_state: np.ndarray
    gt_dt: np.ndarray


@nb.njit(cache=True)
def _greedy(dt_ptr, pair_gt, pair_iou, crowd, thr):  # pragma: no cover - compiled
    nd = dt_ptr.shape[0] - 1
    dt_gt = np.full(nd, -1, np.int32)
    dt_iou = np.zeros(nd)
    dt_state = np.full(nd, 2, np.int8)
    gt_dt = np.full(crowd.shape[0], -1, np.int32)
    for d in range(nd):
        best = -1
        bv = 0.0
        cb = -1
        cv = 0.0
        for p in range(dt_ptr[d], dt_ptr[d + 1]):
            g = pair_gt[p]
            v = pair_iou[p]
            if v < thr:
                continue
            if crowd[g]:
                if cb < 0 or v > cv:
                    cb = g
                    cv = v
                continue
            if gt_dt[g] >= 0:
                continue
            if best < 0 or v > bv:
                best = g
                bv = v
        if best >= 0:
            dt_gt[d] = best
            dt_iou[d] = bv
            dt_state[d] = 1
            gt_dt[best] = d
        elif cb >= 0:
            dt_gt[d] = cb
            dt_iou[d] = cv
            dt_state[d] = 3
    return dt_gt, dt_iou, dt_state, gt_dt


def greedy_match(
    dt_ptr: np.ndarray,
    pair_gt: np.ndarray,
    pair_iou: np.ndarray,
    gt_crowd: np.ndarray,
    iou: float,
) -> AgnosticMatch:
    """Greedy class-agnostic matching of predictions (already sorted by descending score).

    ``dt_ptr``, ``pair_gt``, ``pair_iou`` come from :func:`assay.metrics.detection.image_pairs`.
    """
    thr = max(float(iou), 1e-12)
    return AgnosticMatch(*_greedy(dt_ptr, pair_gt, pair_iou, np.asarray(gt_crowd, np.bool_), thr))


@nb.njit(cache=True)
def _match_sweep(
    dt_ptr, pair_gt, pair_iou, crowd, thr, dt_sort, by_score, gt_labels, labels, image, neg_score, k
):  # pragma: no cover - compiled
    nd = dt_ptr.shape[0] - 1
    dt_gt = np.full(nd, -1, np.int32)
    dt_iou = np.zeros(nd)
    dt_state = np.full(nd, 2, np.int8)
    gt_dt = np.full(crowd.shape[0], -1, np.int32)
    n_crowd = 0
    for d in range(nd):  # _greedy's pass, written in input order
        best = -1
        bv = 0.0
        cb = -1
        cv = 0.0
        for p in range(dt_ptr[d], dt_ptr[d + 1]):
            g = pair_gt[p]
            v = pair_iou[p]
            if v < thr:
                continue
            if crowd[g]:
                if cb < 0 or v > cv:
                    cb = g
                    cv = v
                continue
            if gt_dt[g] >= 0:
                continue
            if best < 0 or v > bv:
                best = g
                bv = v
        q = dt_sort[d]
        if best >= 0:
            dt_gt[q] = best
            dt_iou[q] = bv
            dt_state[q] = 1
            gt_dt[best] = q
        elif cb >= 0:
            dt_gt[q] = cb
            dt_iou[q] = cv
            dt_state[q] = 3
            n_crowd += 1
    n = nd - n_crowd
    n_runs = 0
    for i in range(nd):
        if i + 1 == nd or neg_score[i + 1] != neg_score[i]:
            n_runs += 1
    key = np.empty(n, np.float64)
    row = np.empty(n, np.int32)
    col = np.empty(n, np.int32)
    img = np.empty(n, np.int32)
    code = np.empty(n, np.int32)
    tp = np.zeros(n, np.bool_)
    run_score = np.empty(n_runs, np.float64)
    run_tp = np.empty(n_runs, np.int64)
    run_fp = np.empty(n_runs, np.int64)
    j = 0
    r = 0
    t = 0
    f = 0
    for i in range(nd):  # _sweep_events' and _f1_counts' pass, by descending score
        d = by_score[i]
        st = dt_state[d]
        if st != CROWD:
            rw = gt_labels[dt_gt[d]] if st == MATCHED else k
            c = labels[i]
            key[j] = neg_score[i]
            row[j] = rw
            col[j] = c
            img[j] = image[i]
            code[j] = rw * (k + 1) + c
            if st == MATCHED and rw == c:
                tp[j] = True
                t += 1
            else:
                f += 1
            j += 1
        if i + 1 == nd or neg_score[i + 1] != neg_score[i]:
            run_score[r] = -neg_score[i]
            run_tp[r] = t
            run_fp[r] = f
            r += 1
    return dt_gt, dt_iou, dt_state, gt_dt, key, row, col, img, code, tp, run_score, run_tp, run_fp


def match_sweep(
    dt_ptr: np.ndarray,
    pair_gt: np.ndarray,
    pair_iou: np.ndarray,
    gt_crowd: np.ndarray,
    iou: float,
    dt_sort: np.ndarray,
    by_score: np.ndarray,
    neg_score: np.ndarray,
    gt_labels: np.ndarray,
    labels: np.ndarray,
    image: np.ndarray,
    n_classes: int,
) -> tuple[AgnosticMatch, tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`greedy_match`, :func:`sweep_events` and :func:`f1_sweep`'s counts in one call.

    The pairs are over the predictions in ``dt_sort`` order (by image, then descending score);
    the matching comes back in input order. ``by_score``: the predictions by descending score
    (ties: input order), ``neg_score``, ``labels`` and ``image`` in that order. Returns the
    :class:`AgnosticMatch`, the events ``(-score, row, column, image, code, is a TP)`` as
    :func:`sweep_events` gives them (crowd-ignored predictions left out), and per run of equal
    scores
    ``(score, tp, fp)`` as :func:`f1_sweep` counts them.
    """
    thr = max(float(iou), 1e-12)
    out = _match_sweep(
        dt_ptr,
        pair_gt,
        pair_iou,
        np.asarray(gt_crowd, np.bool_),
        thr,
        np.asarray(dt_sort, np.int64),
        np.asarray(by_score, np.int64),
        np.asarray(gt_labels, np.int64),
        np.asarray(labels, np.int32),
        np.asarray(image, np.int32),
        np.asarray(neg_score, np.float64),
        int(n_classes),
    )
    return AgnosticMatch(*out[:4]), out[4:10], out[10:]


def f1_table(score: np.ndarray, tp: np.ndarray, fp: np.ndarray, n_gt: int) -> dict[str, np.ndarray]:
    """:func:`f1_sweep`'s table from its counts per run of equal scores and the non-crowd
    ground truth ``n_gt``: tp / fp / fn, precision, recall, f1 at each distinct confidence."""
    fn = n_gt - tp
    return {
        "score": score,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


@nb.njit(cache=True)
def _sweep_events(by_score, dt_state, dt_gt, gt_labels, labels, image, neg_score, k):
    n = 0
    for i in range(by_score.shape[0]):
        if dt_state[by_score[i]] != CROWD:
            n += 1
    key = np.empty(n, np.float64)
    row = np.empty(n, np.int32)
    col = np.empty(n, np.int32)
    img = np.empty(n, np.int32)
    code = np.empty(n, np.int32)
    tp = np.zeros(n, np.bool_)
    j = 0
    for i in range(by_score.shape[0]):
        d = by_score[i]
        st = dt_state[d]
        if st == CROWD:
            continue
        r = gt_labels[dt_gt[d]] if st == MATCHED else k
        c = labels[i]
        key[j] = neg_score[i]
        row[j] = r
        col[j] = c
        img[j] = image[i]
        code[j] = r * (k + 1) + c
        tp[j] = st == MATCHED and r == c
        j += 1
    return key, row, col, img, code, tp


def sweep_events(
    m: AgnosticMatch,
    by_score: np.ndarray,
    neg_score: np.ndarray,
    gt_labels: np.ndarray,
    labels: np.ndarray,
    image: np.ndarray,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The predictions that count at this matching (crowd-ignored ones left out) as confusion
    events, by descending score, in one pass: (-score, row, column, image, code, is a TP).

    ``by_score``: every prediction by descending score (ties: input order); ``neg_score``,
    ``labels``, ``image``: minus its score, its class and its image in that order. Row: the
    matched ground truth's class, else ``n_classes`` ("Not an object"); column: the predicted
    class; code: ``row * (n_classes + 1) + column``.

    >>> m = AgnosticMatch(np.array([0, -1]), np.zeros(2), np.array([1, 2], np.int8), np.array([0]))
    >>> key, row, col, img, code, tp = sweep_events(m, np.array([1, 0]), -np.array([.9, .8]),
    ...     np.array([1]), np.array([0, 1]), np.array([0, 0]), 2)
    >>> row.tolist(), col.tolist(), code.tolist(), tp.tolist()
    ([2, 1], [0, 1], [6, 4], [False, True])
    """
    return _sweep_events(
        np.asarray(by_score, np.int64),
        m.dt_state,
        m.dt_gt,
        np.asarray(gt_labels, np.int64),
        labels,
        image,
        np.asarray(neg_score, np.float64),
        int(n_classes),
    )


def box_outcomes(
    m: AgnosticMatch,
    gt_labels: np.ndarray,
    gt_crowd: np.ndarray,
    dt_labels: np.ndarray,
    dt_scores: np.ndarray,
    score: float,
) -> dict[str, np.ndarray]:
    """Per box outcome at confidence ``score`` (boolean masks over predictions / ground truth).

    ``active`` (pred >= score), ``dt_ok`` (matched), ``same`` (matched, same class: a TP),
    ``dt_fp`` (FP: unmatched or misclassified, crowd-ignored excluded), ``gt_hit`` (matched),
    ``gt_tp``, ``gt_fn`` (not a TP, crowd excluded), ``dt_unmatched``, ``gt_missed``.
    """
    active = np.asarray(dt_scores) >= score
    dt_ok = active & (m.dt_state == MATCHED)
    if len(gt_labels):
        same = dt_ok & (gt_labels[np.maximum(m.dt_gt, 0)] == dt_labels)
    else:
        same = np.zeros(len(active), bool)
    crowd = np.asarray(gt_crowd, bool)
    gt_hit = np.zeros(len(gt_labels), bool)
    gt_hit[m.dt_gt[dt_ok]] = True
    gt_tp = np.zeros(len(gt_labels), bool)
    gt_tp[m.dt_gt[same]] = True
    return {
        "active": active,
        "dt_ok": dt_ok,
        "same": same,
        "gt_hit": gt_hit,
        "gt_tp": gt_tp,
        "dt_fp": active & (m.dt_state != CROWD) & ~same,
        "gt_fn": ~crowd & ~gt_tp,
        "dt_unmatched": active & (m.dt_state == UNMATCHED),
        "gt_missed": ~gt_hit & ~crowd,
    }


def cell_events(
    m: AgnosticMatch,
    o: dict[str, np.ndarray],
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    dt_labels: np.ndarray,
    dt_image: np.ndarray,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, image) of every confusion-matrix entry; row/column ``n_classes`` = none."""
    k = n_classes
    ok, um, miss = o["dt_ok"], o["dt_unmatched"], o["gt_missed"]
    rows = np.concatenate([gt_labels[m.dt_gt[ok]], np.full(int(um.sum()), k), gt_labels[miss]])
    cols = np.concatenate([dt_labels[ok], dt_labels[um], np.full(int(miss.sum()), k)])
    img = np.concatenate([dt_image[ok], dt_image[um], gt_image[miss]])
    return rows.astype(np.int64), cols.astype(np.int64), img


def confusion_counts(
    m: AgnosticMatch,
    gt_labels: np.ndarray,
    gt_crowd: np.ndarray,
    dt_labels: np.ndarray,
    dt_scores: np.ndarray,
    score: float,
    n_classes: int,
) -> np.ndarray:
    """(K + 1, K + 1) counts: rows actual (+ "Not an object"), columns predicted (+ "Not detected").

    >>> m = AgnosticMatch(np.array([0, -1]), np.zeros(2), np.array([1, 2]), np.array([0]))
    >>> confusion_counts(m, np.array([0]), np.array([False]), np.array([1, 1]), np.ones(2), 0.5,
    ...     2).tolist()
    [[0, 1, 0], [0, 0, 0], [0, 1, 0]]
    """
    k = n_classes
    o = box_outcomes(m, gt_labels, gt_crowd, dt_labels, dt_scores, score)
    zi, zd = np.zeros(len(gt_labels), np.int64), np.zeros(len(dt_labels), np.int64)
    rows, cols, _ = cell_events(m, o, gt_labels, zi, dt_labels, zd, k)
    return np.bincount(rows * (k + 1) + cols, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.maximum(b, 1), np.nan)


def prf_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class and overall (micro) tp, fp, fn, precision, recall, f1 from a confusion matrix.

    Returns arrays of length K + 1; the last entry is the overall figure. Undefined ratios are nan.
    """
    k = cm.shape[0] - 1
    tp = np.diag(cm)[:k].astype(np.int64)
    fp = cm[:, :k].sum(axis=0) - tp
    fn = cm[:k, :].sum(axis=1) - tp
    tp, fp, fn = (np.append(x, x.sum()) for x in (tp, fp, fn))
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


@nb.njit(cache=True)
def _f1_counts(order, dt_state, dt_gt, gt_labels, dt_labels, scores):  # pragma: no cover
    """(score, tp, fp) after each run of equal scores, predictions taken in ``order``."""
    n = order.shape[0]
    n_runs = 0
    for i in range(n):
        if i + 1 == n or scores[order[i + 1]] != scores[order[i]]:
            n_runs += 1
    score = np.empty(n_runs, np.float64)
    tp = np.empty(n_runs, np.int64)
    fp = np.empty(n_runs, np.int64)
    t = 0
    f = 0
    j = 0
    for i in range(n):
        d = order[i]
        st = dt_state[d]
        if st == MATCHED and gt_labels[dt_gt[d]] == dt_labels[d]:
            t += 1
        elif st != CROWD:
            f += 1
        if i + 1 == n or scores[order[i + 1]] != scores[d]:
            score[j] = scores[d]
            tp[j] = t
            fp[j] = f
            j += 1
    return score, tp, fp


def f1_sweep(
    m: AgnosticMatch,
    gt_labels: np.ndarray,
    gt_crowd: np.ndarray,
    dt_labels: np.ndarray,
    dt_scores: np.ndarray,
    order: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Overall tp/fp/fn, precision, recall, f1 at every distinct confidence (descending).

    ``order``: the predictions by descending score, ties in input order (the stable sort this
    computes when None), when the caller keeps it across IoUs.
    """
    s = np.asarray(dt_scores, np.float64)
    if order is None:
        order = np.argsort(-s, kind="stable")
    ss, tp, fp = _f1_counts(
        np.asarray(order, np.int64),
        m.dt_state,
        m.dt_gt,
        np.asarray(gt_labels, np.int64),
        np.asarray(dt_labels, np.int64),
        s,
    )
    return f1_table(ss, tp, fp, int((~np.asarray(gt_crowd, bool)).sum()))
