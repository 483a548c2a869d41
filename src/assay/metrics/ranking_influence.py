"""Per-sample influence on the macro one-vs-rest ROC AUC and average precision of single-label
scores, in two sweeps over the score matrix: the numbers of
:func:`assay.metrics.paired.ranking_influence` (DeLong's influence for AUC, the delta method's
for AP; the same formulas, summed over the classes in the same order), without sorting or
searching a whole column per class.

Per class ``c`` only the positives (the samples labelled ``c``) are sorted. Every score of the
column is placed among them by a binary search narrowed by a bucket table keyed on the float's
top bits (as :mod:`assay.metrics.ranking` does for the AUC itself): where it falls (``lt``: the
positives below it, ``le``: at or below it) is all that a negative's influence depends on. The
first sweep counts the samples at each place (what the positives' influence needs), the second
adds each sample's influence from a per-class table indexed by its place. Rows are taken a
block at a time into a class-major buffer so that each class reads contiguous memory; blocks
of rows run in parallel.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

__all__ = ["single_label_ranking_influence"]


def _key_params(dtype: np.dtype, mbits: int) -> tuple[type, int, int, int, int]:
    """(unsigned type, sign mask, shift, base, number of keys) of the bucket keys of ``dtype``
    scores: the exponent and ``mbits`` mantissa bits, floored at 2**-30."""
    utype: type
    if dtype == np.float32:
        utype, mask, frac, bias = np.uint32, 0x7FFFFFFF, 23, 127
    else:
        utype, mask, frac, bias = np.uint64, 0x7FFFFFFFFFFFFFFF, 52, 1023
    shift = frac - mbits
    base = (bias - 30) << mbits
    return utype, mask, shift, base, (30 << mbits) + 1


@njit(cache=True, parallel=True)
def _tables(pos_bits, offsets, mask, shift, base, n_keys):  # pragma: no cover - compiled
    """table[c, k]: the first positive of class c (index within the class) whose key is >= k."""
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


@njit(cache=True, inline="always")
def _place(v, pos_bits, a, end, table, c, shift, base):  # pragma: no cover - compiled
    """(lt, equal): the positives of the class (``pos_bits[a : a + end]``) below ``v``, and
    whether the next one equals it."""
    key = np.int64(v >> shift) - base
    if key < 0:
        key = 0
    lo = table[c, key]
    hi = table[c, key + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if pos_bits[a + mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo, lo < end and pos_bits[a + lo] == v


@njit(cache=True, parallel=True)
def _count_places(
    bits, pos_bits, offsets, run_end, table, mask, shift, base, n_chunks
):  # pragma: no cover - compiled
    """Per class (rows of ``offsets[c] + c`` on): how many samples have each ``le`` (positives
    at or below their score) and each ``lt`` (strictly below), each 0..P; one row per chunk."""
    n, n_classes = bits.shape
    width = offsets[-1] + n_classes
    n_le = np.zeros((n_chunks, width), dtype=np.int32)
    n_lt = np.zeros((n_chunks, width), dtype=np.int32)
    chunk = (n + n_chunks - 1) // n_chunks
    block = max(16, 32768 // n_classes)
    for t in prange(n_chunks):
        r0 = t * chunk
        r1 = min(n, r0 + chunk)
        buf = np.empty((n_classes, block), dtype=bits.dtype)
        for b0 in range(r0, r1, block):
            m = min(block, r1 - b0)
            for i in range(m):
                for c in range(n_classes):
                    buf[c, i] = bits[b0 + i, c] & mask
            for c in range(n_classes):
                a = offsets[c]
                end = offsets[c + 1] - a
                if end == 0:
                    continue
                for i in range(m):
                    lo, same = _place(buf[c, i], pos_bits, a, end, table, c, shift, base)
                    n_lt[t, a + c + lo] += 1
                    n_le[t, a + c + (run_end[a + lo] if same else lo)] += 1
    return n_le, n_lt


@njit(cache=True, parallel=True)
def _add_places(
    bits, y, slot, pos_bits, offsets, table, mask, shift, base,
    gap_auc, eq_auc, gap_ap, eq_ap, own_auc, own_ap, n_chunks,
):  # fmt: skip  # pragma: no cover - compiled
    """Each sample's influence summed over the classes (ascending): its own class's from
    ``own_*`` (by its ``slot`` among the class's positives), every other class's from the
    table of its place there (``eq_*`` when it ties a positive, else ``gap_*``)."""
    n, n_classes = bits.shape
    auc = np.zeros(n)
    ap = np.zeros(n)
    chunk = (n + n_chunks - 1) // n_chunks
    block = max(16, 32768 // n_classes)
    for t in prange(n_chunks):
        r0 = t * chunk
        r1 = min(n, r0 + chunk)
        buf = np.empty((n_classes, block), dtype=bits.dtype)
        for b0 in range(r0, r1, block):
            m = min(block, r1 - b0)
            for i in range(m):
                for c in range(n_classes):
                    buf[c, i] = bits[b0 + i, c] & mask
            for c in range(n_classes):
                a = offsets[c]
                end = offsets[c + 1] - a
                if end == 0:
                    continue
                for i in range(m):
                    row = b0 + i
                    if y[row] == c:
                        auc[row] += own_auc[a + slot[row]]
                        ap[row] += own_ap[a + slot[row]]
                        continue
                    lo, same = _place(buf[c, i], pos_bits, a, end, table, c, shift, base)
                    if same:
                        auc[row] += eq_auc[a + lo]
                        ap[row] += eq_ap[a + lo]
                    else:
                        auc[row] += gap_auc[a + c + lo]
                        ap[row] += gap_ap[a + c + lo]
    return auc, ap


# below this many scores the per-class sort and search of paired.ranking_influence is as fast
SWEEP_MIN_SCORES = 2_000_000


def single_label_ranking_influence(
    y_true: np.ndarray, y_score: np.ndarray, *, sweeps: bool | None = None
) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) on the macro one-vs-rest ROC AUC (over the classes with
    positives and negatives; per class DeLong's) and the macro average precision (over the
    classes with positives) of single-label scores ``y_score`` (N, C) in [0, 1] against class
    indices ``y_true`` (N,): keys ``roc_auc_macro`` and ``average_precision_macro``, the numbers
    of :func:`assay.metrics.paired.ranking_influence` (ties count half in AUC and as one
    threshold in AP). Two parallel sweeps over the matrix, O(N C log(N / C)) at worst;
    ``sweeps=None``: only from ``SWEEP_MIN_SCORES`` scores (the same numbers either way).

    >>> from assay.metrics.paired import ranking_influence
    >>> y, s = np.array([0, 1, 1, 0]), np.array([[.9, .1], [.3, .7], [.6, .4], [.5, .5]])
    >>> out = single_label_ranking_influence(y, s, sweeps=True)
    >>> ref = ranking_influence(y, s)
    >>> all(np.array_equal(out[k], ref[k]) for k in ref)
    True
    """
    s = np.ascontiguousarray(y_score)
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    if not (s.size >= SWEEP_MIN_SCORES if sweeps is None else sweeps):
        from assay.metrics.paired import ranking_influence

        return ranking_influence(y_true, s)
    y = np.asarray(y_true).astype(np.int64, copy=False)
    n, n_classes = s.shape
    order = np.argsort(y, kind="stable")
    offsets = np.searchsorted(y[order], np.arange(n_classes + 1)).astype(np.int64)
    slot = np.empty(n, dtype=np.int64)  # each sample's place among its class's positives
    slot[order] = np.arange(n) - np.repeat(offsets[:-1], np.diff(offsets))
    col_pos = s[order, y[order]]  # each class's positives' scores, in row order
    pos_values = np.empty_like(col_pos)
    run_end = np.empty(n, dtype=np.int64)  # a sorted positive's run of equal scores ends here
    p_lt = np.empty(n, dtype=np.int64)
    p_le = np.empty(n, dtype=np.int64)
    for c in range(n_classes):
        a, b = offsets[c], offsets[c + 1]
        ps = np.sort(col_pos[a:b])
        pos_values[a:b] = ps
        run_end[a:b] = np.searchsorted(ps, ps, side="right")
        p_lt[a:b] = np.searchsorted(ps, col_pos[a:b], side="left")
        p_le[a:b] = np.searchsorted(ps, col_pos[a:b], side="right")

    mbits = 10 if n_classes <= 128 else 7 if n_classes <= 1024 else 5
    if n < 50_000:
        mbits = min(mbits, 5)
    utype, mask, shift, base, n_keys = _key_params(s.dtype, mbits)
    mask, shift = utype(mask), utype(shift)
    bits = s.view(np.uint32 if s.dtype == np.float32 else np.uint64)
    pos_bits = pos_values.view(bits.dtype) & mask
    table = _tables(pos_bits, offsets, mask, shift, base, n_keys)
    n_chunks = 1 if n < 4096 else max(1, numba.get_num_threads())
    n_le, n_lt = _count_places(bits, pos_bits, offsets, run_end, table, mask, shift, base, n_chunks)
    n_le, n_lt = n_le.sum(axis=0), n_lt.sum(axis=0)

    total = n + n_classes
    gap_auc, gap_ap = np.zeros(total), np.zeros(total)
    eq_auc, eq_ap = np.zeros(n), np.zeros(n)
    own_auc, own_ap = np.zeros(n), np.zeros(n)
    n_auc = n_ap = 0
    for c in range(n_classes):
        a, b = int(offsets[c]), int(offsets[c + 1])
        n_pos = b - a
        if n_pos == 0:
            continue
        n_neg = n - n_pos
        # samples below / at or below the k-th positive (as paired.ranking_influence)
        all_lt = np.cumsum(n_le[a + c : b + c + 1])[:n_pos]
        all_le = np.cumsum(n_lt[a + c : b + c + 1])[:n_pos]
        lt, le = p_lt[a:b], p_le[a:b]
        s_lt = all_lt[lt].astype(np.float64)
        s_le = all_le[le - 1].astype(np.float64)
        places = np.arange(n_pos + 1)  # a sample strictly between positives: lt = le = place
        ends = run_end[a:b]  # a sample tying the positive at place j: lt = j, le = its run's end
        if n_neg > 0:
            neg_lt, neg_le = s_lt - lt, s_le - le
            v10 = (neg_lt + 0.5 * (neg_le - neg_lt)) / n_neg
            auc = float(v10.mean())
            gap_v01 = (n_pos - 0.5 * (places + places)) / n_pos
            eq_v01 = (n_pos - 0.5 * (ends + places[:-1])) / n_pos
            shrink = math.sqrt(n_neg / max(n_neg - 1, 1))
            gap_auc[a + c : b + c + 1] = (gap_v01 - auc) / n_neg * shrink
            eq_auc[a:b] = (eq_v01 - auc) / n_neg * shrink
            own_auc[a:b] = (v10 - auc) / n_pos * math.sqrt(n_pos / max(n_pos - 1, 1))
        k = n - s_lt
        t = n_pos - lt.astype(np.float64)
        prec = t / k
        ap = float(prec.mean())
        srt = np.argsort(col_pos[a:b], kind="stable")
        c1 = np.concatenate(([0.0], np.cumsum((1.0 / k)[srt])))
        c2 = np.concatenate(([0.0], np.cumsum((t / k**2)[srt])))
        gap_ap[a + c : b + c + 1] = -c2[places] / n_pos
        eq_ap[a:b] = -c2[ends] / n_pos
        own = -c2[le]
        own += prec - ap + c1[le]
        own_ap[a:b] = own / n_pos
        n_ap += 1
        n_auc += int(n_pos < n)
    auc_sum, ap_sum = _add_places(
        bits, y, slot, pos_bits, offsets, table, mask, shift, base,
        gap_auc, eq_auc, gap_ap, eq_ap, own_auc, own_ap, n_chunks,
    )  # fmt: skip
    return {
        "roc_auc_macro": auc_sum / max(n_auc, 1),
        "average_precision_macro": ap_sum / max(n_ap, 1),
    }
