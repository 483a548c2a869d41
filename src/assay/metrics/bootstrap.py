"""Vectorised bootstrap of the classification summary metrics: every replicate at once.

A bootstrap draws ``B`` replicates of ``m`` row indices (:func:`assay.metrics.stats.bootstrap_indices`;
``m = N``, or fewer in the "m out of n" scheme of :mod:`assay.metrics.stats`). The metrics of all
replicates are then computed together, never one replicate after another:

- counts per (replicate, class) (TP, number predicted, number labeled at the threshold) come from
  one ``bincount`` over ``B * m`` keys (single-label) or one parallel pass (multi-label), and
  :func:`assay.metrics.classification.averages_batch` turns them into macro / micro / weighted
  precision, recall and F1 of every replicate;
- means of per-sample terms (accuracy, log loss, Brier, Hamming loss) are gathers of ``B * m``;
- ROC AUC and average precision: each class's positives are sorted once and every sample gets,
  per class, a key saying where its score falls among them (equal scores share a key). A
  replicate is then a histogram of its drawn keys, reduced in one walk over the positives: AUC is
  the Mann-Whitney statistic (a positive-negative tie counts 1/2) and AP scikit-learn's step-wise
  ``sum (#pos == u / P) (#pos >= u / #all >= u)``, exactly as
  :func:`assay.metrics.ranking.ovr_auc_ap` on the resampled rows. Cost O(N C log N + B m C).

Undefined values are NaN (a class without positives in a replicate has no AUC / AP there; macro
averages run over the classes where the metric is defined, as in the summary).

Every kernel that takes ``idx`` skips -1 entries (the padding of the shorter replicates of a
group bootstrap) and divides by each replicate's own row count. :func:`interval_replicates` picks
the scheme of an evaluation's intervals (m, chunks, groups, ranking metrics on shared rows or
class by class: see :mod:`assay.metrics.stats` for why).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numba import njit, prange

from assay.metrics import ranking as rk
from assay.metrics.classification import averages_batch, row_statistics
from assay.metrics.ranking import group_positives
from assay.metrics.stats import bootstrap_indices, replicate_sizes

__all__ = [
    "class_cell_auc_ap",
    "classification_replicates",
    "interval_replicates",
    "replicate_auc_ap",
    "replicate_rows",
]


@njit(cache=True, parallel=True)
def _keys(score_bits, y_single, y_multi, multilabel, pos_bits, pos_off, table, shift, base, keys):
    """keys[c, i] = 2 (2 lo + eq) + positive: ``lo`` = the positives of class c scoring strictly
    below sample i, ``eq`` = 1 when sample i's score equals a positive's (equal scores share a
    key; keys order like the scores). Searches narrowed by the bucket table of the float bits;
    rows go a block at a time so each block stays in cache while every class reads it."""
    n, n_classes = score_bits.shape
    block = 1024
    for r in prange((n + block - 1) // block):
        for c in range(n_classes):
            a = pos_off[c]
            p = pos_off[c + 1] - a
            for i in range(r * block, min(n, (r + 1) * block)):
                v = score_bits[i, c]
                k = np.int64(v >> shift) - base
                if k < 0:
                    k = 0
                lo = np.int64(table[c, k])
                hi = np.int64(table[c, k + 1])
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if pos_bits[a + mid] < v:
                        lo = mid + 1
                    else:
                        hi = mid
                eq = 1 if lo < p and pos_bits[a + lo] == v else 0
                positive = y_multi[i, c] if multilabel else y_single[i] == c
                keys[c, i] = 2 * (2 * lo + eq) + (1 if positive else 0)


@njit(cache=True, parallel=True)
def _auc_ap(idx, keys, run_end, pos_off, n_pos):
    n_rep, m = idx.shape
    n_classes = keys.shape[0]
    auc = np.full((n_rep, n_classes), np.nan)
    ap = np.full((n_rep, n_classes), np.nan)
    for c in prange(n_classes):  # one class's keys stay in cache over all replicates
        a = pos_off[c]
        p = pos_off[c + 1] - a
        h = np.zeros(4 * p + 4, dtype=np.int32)  # drawn (key, positive) counts, kept zeroed
        for b in range(n_rep):
            p_all = n_pos[b, c]
            if p_all == 0:
                continue
            m_b = 0  # this replicate's rows (-1 pads a short one)
            for j in range(m):
                i = idx[b, j]
                if i >= 0:
                    h[keys[c, i]] += 1
                    m_b += 1
            less = 0  # drawn samples strictly below the current positive value
            pos_less = 0
            u_stat = 0.0
            ap_sum = 0.0
            j = 0
            while j < p:  # runs of equal positive values; a run's samples sit on its first key
                g0 = 4 * j
                less += h[g0] + h[g0 + 1]
                eq_all = h[g0 + 2] + h[g0 + 3]
                gp = h[g0 + 3]
                h[g0] = 0
                h[g0 + 1] = 0
                h[g0 + 2] = 0
                h[g0 + 3] = 0
                if gp > 0:
                    u_stat += gp * ((less - pos_less) + 0.5 * (eq_all - gp))
                    ap_sum += gp * ((p_all - pos_less) / (m_b - less))
                less += eq_all
                pos_less += gp
                j = run_end[a + j]
            h[4 * p] = 0  # samples above every positive
            h[4 * p + 1] = 0
            ap[b, c] = ap_sum / p_all
            if m_b - p_all > 0:
                auc[b, c] = u_stat / (p_all * (m_b - p_all))
    return auc, ap


@njit(cache=True)
def _run_ends(pos_bits, pos_off):
    """run_end[k] = the index (within its class) after the run of positives equal to k's."""
    run_end = np.empty(pos_bits.shape[0], dtype=np.int64)
    for c in range(pos_off.shape[0] - 1):
        a, b = pos_off[c], pos_off[c + 1]
        end = b
        for k in range(b - 1, a - 1, -1):
            if k + 1 < b and pos_bits[k + 1] != pos_bits[k]:
                end = k + 1
            run_end[k] = end - a
    return run_end


def _class_keys(
    y_true: np.ndarray, y_score: np.ndarray, multilabel: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys (C, N), run_end, pos_off): every sample's key per class (see :func:`_keys`), the
    runs of equal positive scores and the classes' offsets among the sorted positives."""
    y_score = np.ascontiguousarray(y_score)
    if y_score.dtype not in (np.float32, np.float64):
        y_score = y_score.astype(np.float64)
    pos_vals, pos_off = group_positives(y_true, y_score, multilabel=multilabel)
    n, n_classes = y_score.shape
    utype, mask, shift, base, n_keys = rk._key_params(y_score.dtype, 7)
    mask, shift = utype(mask), utype(shift)
    pos_bits = rk._bits(np.ascontiguousarray(pos_vals, dtype=y_score.dtype)) & mask
    table = rk._bucket_tables(pos_bits, pos_off, mask, shift, base, n_keys)
    y_single: np.ndarray
    y_multi: np.ndarray
    if multilabel:
        y_single, y_multi = np.zeros(1, dtype=np.int64), np.asarray(y_true, dtype=np.bool_)
    else:
        y_single, y_multi = np.asarray(y_true, dtype=np.int64), np.zeros((1, 1), dtype=np.bool_)
    score_bits = rk._bits(y_score) & mask
    # 16-bit keys where they fit: half the memory each class's pass reads
    small = 4 * int(np.diff(pos_off).max(initial=0)) + 4 <= np.iinfo(np.uint16).max
    keys = np.empty((n_classes, n), dtype=np.uint16 if small else np.int32)
    _keys(score_bits, y_single, y_multi, multilabel, pos_bits, pos_off, table, shift, base, keys)
    return keys, _run_ends(pos_bits, pos_off), pos_off


def replicate_auc_ap(
    idx: np.ndarray,
    y_true: np.ndarray,
    y_score: np.ndarray,
    n_pos: np.ndarray,
    *,
    multilabel: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ROC AUC and AP (B, C) of every replicate ``y_score[idx[b]]``; ``n_pos`` (B, C)
    holds each replicate's positives per class; -1 entries of ``idx`` (padding) are skipped.

    Each class's positives are sorted once, every sample gets a key per class (its place among
    them, equal scores sharing one), and each replicate is then a histogram of its drawn keys
    (``B m C`` increments) reduced in one walk over the positives: O(N C log N + B m C).

    >>> idx = np.array([[0, 1, 2], [0, 0, 1]])
    >>> y, s = np.array([0, 1, 1]), np.array([[.9, .1], [.3, .7], [.6, .4]])
    >>> auc, ap = replicate_auc_ap(idx, y, s, np.array([[1, 2], [2, 1]]))
    >>> auc.tolist(), ap.tolist()
    ([[1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]])
    """
    keys, run_end, pos_off = _class_keys(y_true, y_score, multilabel)
    # sorted draws: each replicate then reads a class's keys in address order
    idx = np.sort(np.asarray(idx, dtype=np.int64), axis=1)
    return _auc_ap(idx, keys, run_end, pos_off, np.ascontiguousarray(n_pos, dtype=np.int64))


@njit(cache=True)
def _walk_cells(h, run_end):
    """AUC and AP (B,) of one class from each replicate's histogram ``h`` (B, 4 p + 4) of drawn
    (key, positive) cells, the walk of :func:`_auc_ap`."""
    n_rep = h.shape[0]
    p = (h.shape[1] - 4) // 4
    auc = np.full(n_rep, np.nan)
    ap = np.full(n_rep, np.nan)
    for b in range(n_rep):
        m_b = 0
        p_all = 0
        for k in range(h.shape[1]):
            m_b += h[b, k]
            p_all += h[b, k] * (k & 1)
        if p_all == 0:
            continue
        less = 0
        pos_less = 0
        u_stat = 0.0
        ap_sum = 0.0
        j = 0
        while j < p:
            g0 = 4 * j
            less += h[b, g0] + h[b, g0 + 1]
            eq_all = h[b, g0 + 2] + h[b, g0 + 3]
            gp = h[b, g0 + 3]
            if gp > 0:
                u_stat += gp * ((less - pos_less) + 0.5 * (eq_all - gp))
                ap_sum += gp * ((p_all - pos_less) / (m_b - less))
            less += eq_all
            pos_less += gp
            j = run_end[j]
        ap[b] = ap_sum / p_all
        if m_b - p_all > 0:
            auc[b] = u_stat / (p_all * (m_b - p_all))
    return auc, ap


def class_cell_auc_ap(
    y_true: np.ndarray,
    y_score: np.ndarray,
    n: int = 200,
    *,
    seed: int = 0,
    m: int | None = None,
    multilabel: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ROC AUC and AP (n, C) of ``n`` bootstrap replicates of ``m`` rows (default N),
    drawn class by class: each class's replicate is exactly distributed as on ``m`` rows drawn
    with replacement, but the classes' replicates are drawn independently of one another.

    A class's AUC and AP depend on the drawn rows only through how many fall in each cell (key,
    positive) of its sorted positives, and those counts are multinomial(m, cell sizes / N): so a
    replicate costs the class's number of cells (about 2 P + 2), not N. Over all classes that is
    O(n (N + C)) instead of the O(n m C) of :func:`replicate_auc_ap`, for the price of the
    covariance between classes (what one row adds to its own class and takes from the classes it
    is confused with), which a macro average over many classes barely feels. Seeded by
    ``np.random.default_rng(seed)``.

    >>> y, s = np.array([0, 1, 1, 0]), np.array([[.9, .1], [.3, .7], [.6, .4], [.8, .2]])
    >>> auc, ap = class_cell_auc_ap(y, s, 3)
    >>> auc.shape, bool(np.all((auc >= 0) & (auc <= 1) | np.isnan(auc)))
    ((3, 2), True)
    """
    keys, run_end, pos_off = _class_keys(y_true, y_score, multilabel)
    n_classes, n_rows = keys.shape
    m = n_rows if m is None else int(m)
    rng = np.random.default_rng(seed)
    auc = np.full((n, n_classes), np.nan)
    ap = np.full((n, n_classes), np.nan)
    for c in range(n_classes):
        a, b = int(pos_off[c]), int(pos_off[c + 1])
        width = 4 * (b - a) + 4
        counts = np.bincount(keys[c], minlength=width)
        cells = np.flatnonzero(counts)
        draws = rng.multinomial(m, counts[cells] / n_rows, size=n)
        h = np.zeros((n, width), dtype=np.int64)
        h[:, cells] = draws
        auc[:, c], ap[:, c] = _walk_cells(h, np.ascontiguousarray(run_end[a:b]))
    return auc, ap


@njit(cache=True, parallel=True)
def _single_counts(idx, y, pred, cell_bin, terms, n_classes, n_bins):
    """Single-label, per replicate: TP, predicted and labeled per class; sums of the per-sample
    ``terms`` columns; calibration bin sums (count, confidence, correct) of the top-1
    confidence. ``pred`` is the prediction at the threshold (-1 below), ``cell_bin`` the top-1
    confidence's bin; ``terms`` ends with the top-1 confidence and argmax correctness."""
    n_rep, m = idx.shape
    n_terms = terms.shape[1]
    tp = np.zeros((n_rep, n_classes), dtype=np.int64)
    npred = np.zeros((n_rep, n_classes), dtype=np.int64)
    ntrue = np.zeros((n_rep, n_classes), dtype=np.int64)
    sums = np.zeros((n_rep, n_terms), dtype=np.float64)
    cnt = np.zeros((n_rep, n_bins), dtype=np.float64)
    csum = np.zeros((n_rep, n_bins), dtype=np.float64)
    asum = np.zeros((n_rep, n_bins), dtype=np.float64)
    for b in prange(n_rep):
        for j in range(m):
            i = idx[b, j]
            if i < 0:  # padding of a short (group-resampled) replicate
                continue
            for k in range(n_terms):
                sums[b, k] += terms[i, k]
            a = y[i]
            ntrue[b, a] += 1
            p = pred[i]
            if p >= 0:
                npred[b, p] += 1
                if p == a:
                    tp[b, p] += 1
            k = cell_bin[i]
            cnt[b, k] += 1.0
            csum[b, k] += terms[i, n_terms - 2]
            asum[b, k] += terms[i, n_terms - 1]
    return tp, npred, ntrue, sums, cnt, csum, asum


def weighted_sums(idx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(B, K) sums of the rows of ``x`` (N, K) drawn by each replicate: the replicates' draw
    counts (a few at a time, as a dense (b, N) matrix) times ``x``. Entries -1 (the padding of a
    short group-resampled replicate) count in a spare column that is dropped."""
    n_rep, m = idx.shape
    n = x.shape[0]
    out = np.empty((n_rep, x.shape[1]), dtype=np.float64)
    step = max(1, 20_000_000 // max(n + 1, 1))
    for b0 in range(0, n_rep, step):
        b1 = min(n_rep, b0 + step)
        rows = np.where(idx[b0:b1] < 0, n, idx[b0:b1])
        keys = (np.arange(b1 - b0, dtype=np.int64) * (n + 1))[:, None] + rows
        w = np.bincount(keys.ravel(), minlength=(b1 - b0) * (n + 1)).reshape(b1 - b0, n + 1)
        out[b0:b1] = w[:, :n].astype(np.float64) @ x
    return out


def _row_nanmean(a: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a)
    k = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, np.where(ok, a, 0.0).sum(axis=1) / k, np.nan)


def _ece(cnt: np.ndarray, csum: np.ndarray, asum: np.ndarray) -> np.ndarray:
    total = cnt.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.abs(asum - csum).sum(axis=1) / total, np.nan)


def _bin_of(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Calibration bin of each confidence: (b / B, (b + 1) / B], the first bin also holding 0."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)


def classification_replicates(
    idx: np.ndarray,
    y_true: np.ndarray,
    y_score: np.ndarray,
    threshold: float,
    *,
    multilabel: bool = False,
    bins: int = 15,
    ranking: bool = True,
    zero_division: float = 0.0,
) -> dict[str, np.ndarray]:
    """Every summary metric of every replicate ``(y_true[idx[b]], y_score[idx[b]])``: a dict of
    (B,) arrays keyed as the results' summary, NaN where undefined.

    Single-label: accuracy at ``threshold`` (argmax kept when its score >= threshold),
    top1_accuracy, macro / micro / weighted precision, recall, F1, roc_auc_macro,
    average_precision_macro, log_loss, brier, ece (top-1 confidence). Multi-label: accuracy
    (subset), hamming_loss, the averages, AUC / AP, log_loss (mean binary cross entropy), brier
    and ece over all cells. Scores are compared in their own dtype. ``ranking=False`` leaves out
    roc_auc_macro and average_precision_macro (threshold-free, and most of the cost), for a
    caller that keeps them from an earlier call. ``zero_division``: as
    :func:`assay.metrics.classification.averages`.

    >>> y, s = np.array([0, 1, 1]), np.array([[.9, .1], [.3, .7], [.6, .4]])
    >>> r = classification_replicates(np.array([[0, 1, 2], [1, 1, 2]]), y, s, 0.5)
    >>> r["accuracy"].tolist(), r["roc_auc_macro"].tolist()
    ([0.6666666666666666, 0.6666666666666666], [1.0, nan])
    """
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    y_score = np.ascontiguousarray(y_score)
    n_rep, m = idx.shape
    m_rows = np.maximum(replicate_sizes(idx), 1).astype(np.float64)  # -1 pads short replicates
    n_classes = y_score.shape[1]
    t = y_score.dtype.type(threshold)
    eps = np.finfo(y_score.dtype).eps
    out: dict[str, np.ndarray] = {}
    y: np.ndarray
    if multilabel:
        y = np.asarray(y_true, dtype=np.bool_)
        pred = y_score >= t
        p = np.clip(y_score.astype(np.float64), eps, 1 - eps)
        d = y_score.astype(np.float64) - y
        n = y.shape[0]
        cells = (np.arange(n, dtype=np.int64) * bins)[:, None] + _bin_of(
            y_score.astype(np.float64), bins
        )
        per_bin = [
            np.bincount(cells.ravel(), weights=w, minlength=n * bins).reshape(n, bins)
            for w in (None, y_score.astype(np.float64).ravel(), y.ravel().astype(np.float64))
        ]
        x = np.concatenate(
            [
                pred & y,
                pred,
                y,
                (pred == y).all(axis=1)[:, None],  # exactly right
                (pred != y).sum(axis=1)[:, None],  # wrong cells
                -np.where(y, np.log(p), np.log(1 - p)).mean(axis=1)[:, None],
                (d * d).mean(axis=1)[:, None],
                *per_bin,
            ],
            axis=1,
            dtype=np.float64,
        )
        sums = weighted_sums(idx, x)
        C = n_classes
        tp, npred, ntrue = (
            np.rint(sums[:, k * C : (k + 1) * C]).astype(np.int64) for k in range(3)
        )
        mean = sums[:, 3 * C : 3 * C + 4] / m_rows[:, None]
        cnt, csum, asum = (
            sums[:, 3 * C + 4 + k * bins : 3 * C + 4 + (k + 1) * bins] for k in range(3)
        )
        out["accuracy"] = mean[:, 0]
        out["hamming_loss"] = mean[:, 1] / n_classes
    else:
        y = np.asarray(y_true, dtype=np.int64)
        rs = row_statistics(y, y_score)
        pred_t = np.where(rs["top"] >= t, rs["pred"], -1).astype(np.int64)
        correct = rs["pred"] == y
        terms = np.stack(
            [
                pred_t == y,
                correct,
                -np.log(np.clip(rs["true_score"], eps, 1 - eps).astype(np.float64)),
                rs["brier"] * (0.5 if n_classes < 3 else 1.0),
                rs["top"],
                correct,
            ],
            axis=1,
        ).astype(np.float64)
        cell_bin = _bin_of(rs["top"].astype(np.float64), bins).astype(np.int16)
        tp, npred, ntrue, sums, cnt, csum, asum = _single_counts(
            idx, y, pred_t, cell_bin, terms, n_classes, bins
        )
        mean = sums / m_rows[:, None]
        out["accuracy"] = mean[:, 0]
        out["top1_accuracy"] = mean[:, 1]
    nll, brier, ece = mean[:, 2], mean[:, 3], _ece(cnt, csum, asum)
    out.update(averages_batch(tp, npred, ntrue, multilabel=multilabel, zero_division=zero_division))
    if ranking:  # the threshold-free ROC AUC and AP, the costly part (without: left out)
        auc, ap = replicate_auc_ap(idx, y, y_score, ntrue, multilabel=multilabel)
        out["roc_auc_macro"] = _row_nanmean(auc)
        out["average_precision_macro"] = _row_nanmean(ap)
    out["log_loss"] = nll
    out["brier"] = brier
    out["ece"] = ece
    return out


MIN_CLASS_ROWS = 100
"""m-out-of-n is used only where every class keeps at least this many rows (expected) per
replicate; below, the per-class metrics of a small replicate are too biased to rescale."""

RANKING_BUDGET = 300_000_000
"""Above ``n m C`` histogram increments the ranking metrics (ROC AUC, AP) are drawn class by
class (:func:`class_cell_auc_ap`) instead of on the shared rows (:func:`replicate_auc_ap`)."""


def replicate_rows(
    n_samples: int, counts: np.ndarray, cap: int, groups: np.ndarray | None = None
) -> int:
    """Rows each replicate draws: ``cap`` where ``n_samples > cap`` and every class with rows
    (``counts``: rows per class; positives for multi-label) keeps at least
    :data:`MIN_CLASS_ROWS` of them in a replicate of ``cap`` rows (m out of n, rescaled);
    otherwise ``n_samples`` (the plain bootstrap). With ``groups`` always ``n_samples`` (whole
    groups are drawn).

    >>> replicate_rows(1_000_000, np.full(100, 10_000), 20_000), replicate_rows(50_000, np.full(1000, 50), 20_000)
    (20000, 50000)
    """
    present = counts[counts > 0]
    if groups is not None or n_samples <= cap or not present.size:
        return int(n_samples)
    if present.min() * cap / n_samples >= MIN_CLASS_ROWS:
        return int(cap)
    return int(n_samples)


def interval_replicates(
    y_true: np.ndarray,
    y_score: np.ndarray,
    threshold: float,
    *,
    n: int = 200,
    seed: int = 0,
    cap: int = 50_000,
    groups: np.ndarray | None = None,
    multilabel: bool = False,
    zero_division: float = 0.0,
    ranking: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The bootstrap replicates of every summary metric (as :func:`classification_replicates`)
    for 95 % intervals, and per metric the scale its deviations from the estimate take
    (sqrt(m / N) for m rows a replicate, 1 for the plain bootstrap).

    Rows: ``m`` of :func:`replicate_rows` per replicate (N unless every class keeps
    :data:`MIN_CLASS_ROWS` rows at ``cap``), drawn from ``np.random.default_rng(seed)`` a chunk
    of replicates at a time so the indices take at most ~32 MB whatever N; with ``groups`` whole
    groups (:func:`assay.metrics.stats.bootstrap_indices`). ROC AUC and AP come from the same
    rows where ``n m C`` is within :data:`RANKING_BUDGET` (always with groups); beyond it, where
    m < N, from their own replicates (seed ``seed + 1``) of as few rows as the budget allows
    while every class keeps :data:`MIN_CLASS_ROWS`; else class by class
    (:func:`class_cell_auc_ap`, seed ``seed + 1``).

    >>> y, s = np.array([0, 1, 1, 0]), np.array([[.9, .1], [.3, .7], [.6, .4], [.8, .2]])
    >>> reps, scale = interval_replicates(y, s, 0.0, n=5)
    >>> reps["accuracy"].shape, scale["accuracy"]
    ((5,), 1.0)
    """
    y_score = np.asarray(y_score)
    n_samples, n_classes = y_score.shape
    if multilabel:
        counts = np.asarray(y_true, dtype=np.bool_).sum(axis=0)
    else:
        counts = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=n_classes)
    m = replicate_rows(n_samples, counts, cap, groups)
    ranked = ("roc_auc_macro", "average_precision_macro")
    # ROC AUC and AP: on the shared rows within the budget (always with groups); with m < N on
    # fewer shared rows, as few as the budget allows while every class keeps MIN_CLASS_ROWS;
    # else class by class
    m_rank = m
    shared = groups is not None or n * m * n_classes <= RANKING_BUDGET
    if not shared and m < n_samples:
        least = int(np.ceil(MIN_CLASS_ROWS * n_samples / counts[counts > 0].min()))
        m_rank = min(m, max(RANKING_BUDGET // (n * n_classes), least))
    scale = float(np.sqrt(m / n_samples)) if n_samples else 1.0
    reps = _replicates_in_chunks(
        y_true,
        y_score,
        threshold,
        n,
        seed,
        m,
        groups,
        multilabel,
        zero_division,
        ranking=ranking and shared,
    )
    scales = dict.fromkeys(reps, scale)
    if ranking and not shared and m_rank < n_samples:
        found = _replicates_in_chunks(
            y_true,
            y_score,
            threshold,
            n,
            seed + 1,
            m_rank,
            None,
            multilabel,
            zero_division,
            ranking=True,
        )
        for k in ranked:
            reps[k], scales[k] = found[k], float(np.sqrt(m_rank / n_samples))
    elif ranking and not shared:
        auc, ap = class_cell_auc_ap(y_true, y_score, n, seed=seed + 1, m=m, multilabel=multilabel)
        reps["roc_auc_macro"] = _row_nanmean(auc)
        reps["average_precision_macro"] = _row_nanmean(ap)
        scales.update(dict.fromkeys(ranked, scale))
    return reps, scales


def _replicates_in_chunks(
    y_true: np.ndarray,
    y_score: np.ndarray,
    threshold: float,
    n: int,
    seed: int,
    m: int,
    groups: np.ndarray | None,
    multilabel: bool,
    zero_division: float,
    *,
    ranking: bool,
) -> dict[str, np.ndarray]:
    """:func:`classification_replicates` of ``n`` replicates of ``m`` rows (whole groups with
    ``groups``) drawn from ``np.random.default_rng(seed)``, a chunk of replicates at a time so
    the indices take at most ~32 MB."""
    n_samples = y_score.shape[0]
    chunks: Iterable[np.ndarray]
    if groups is not None:
        chunks = [bootstrap_indices(n_samples, n, seed=seed, groups=groups)]
    else:
        rng = np.random.default_rng(seed)
        step = max(1, 4_000_000 // max(m, 1))
        chunks = (
            rng.integers(0, n_samples, size=(min(step, n - b0), m)) for b0 in range(0, n, step)
        )
    parts = [
        classification_replicates(
            idx,
            y_true,
            y_score,
            threshold,
            multilabel=multilabel,
            zero_division=zero_division,
            ranking=ranking,
        )
        for idx in chunks
    ]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
