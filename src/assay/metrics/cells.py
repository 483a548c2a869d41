"""Numba kernels behind ``ClassificationResults`` (arrays in, arrays out): input validation in one
pass, confusion cells sorted by top score, counts at a threshold per cell, the optimal-threshold
sweep, multi-label row statistics.
"""

import numpy as np
from numba import prange

from assay.metrics.jit import small_first


@small_first(cache=True, parallel=True)
def first_bad_row(s):
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


@small_first(cache=True, parallel=True)
def cells(y_true, pred, top, n_classes):
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


@small_first(cache=True)
def cell_counts(vals, starts, csum, t):
    n_cells = starts.shape[0] - 1
    cnt = np.empty(n_cells, dtype=np.int64)
    ssum = np.empty(n_cells, dtype=np.float64)
    for k in range(n_cells):
        a, b = starts[k], starts[k + 1]
        j = a + np.searchsorted(vals[a:b], t)
        cnt[k] = b - j
        ssum[k] = csum[b] - csum[j]
    return cnt, ssum


@small_first(cache=True)
def sweep(order, y_true, pred, top, n_true, n_classes, metric, by_definition):
    """Metric after predicting the samples in ``order`` (top descending), at each distinct top.

    Macro averages run as the summary's: over the classes labeled or predicted, an undefined ratio
    counting 0 (scikit-learn's default); with ``by_definition`` (``zero_division=nan``) over the
    classes where the metric is defined: F1 labeled or predicted, precision predicted, recall
    labeled."""
    n = order.shape[0]
    tp = np.zeros(n_classes, dtype=np.int64)
    npred = np.zeros(n_classes, dtype=np.int64)
    present = 0  # classes labeled or predicted
    labeled = 0
    predicted = 0
    for c in range(n_classes):
        if n_true[c] > 0:
            present += 1
            labeled += 1
    sum_f1 = 0.0
    sum_p = 0.0  # over the classes predicted
    sum_r = 0.0  # over the classes labeled
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
        if metric == 0:
            v = sum_f1 / present
        elif metric == 1:
            v = tot_tp / n
        elif metric == 2:
            v = sum_p / (predicted if by_definition else present)
        elif metric == 3:
            v = sum_r / (labeled if by_definition else present)
        else:
            v = 2.0 * tot_tp / (n + j)
        if v > best + 1e-12:
            best = v
            best_t = top[order[i]]
        i = j
    return best_t, best


@small_first(cache=True, parallel=True)
def ml_row_stats(y_score, y_true):
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
