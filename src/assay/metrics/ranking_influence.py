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
adds each sample's influence from a per-class table indexed by its place. The placement is
:mod:`assay.metrics.ranking`'s: 16 columns of a run of rows are copied in 64-row tiles into a
class-major buffer so that each class reads contiguous memory, each class's positives end with a
sentinel, and a sample whose bucket holds at most one positive is placed from the bucket's entry
alone (at 1M x 100 float32 the two sweeps took 2.4-2.6 CPU-s, against 12-14 for a binary search
per cell); chunks of rows run in parallel. Each sample's sum adds the classes
in ascending order, so the numbers are :func:`assay.metrics.paired.ranking_influence`'s bit for
bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from assay.metrics import ranking as rk

__all__ = ["single_label_ranking_influence"]


@njit(cache=True, inline="always")
def _place(v, posx, a, ec, shift, base):  # pragma: no cover - compiled
    """(r, e): the first entry of the class (from ``posx[a]`` on) not below ``v``, and 1 if it
    equals ``v`` (``ec``: the class's :func:`assay.metrics.ranking._bucket_entries` row)."""
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
    return r, e


# classes copied into the class-major buffer at a time, and the most rows it holds
GROUP, ROWS = 16, 1 << 18


@njit(cache=True, parallel=True)
def _add_places(
    bits, y, own, posx, offx, entries, mask, shift, base, add, n_chunks
):  # pragma: no cover - compiled
    """Each sample's influence summed over the classes (ascending): its own class's ``own``
    (columns AUC, AP), every other class's from the table ``add`` (columns AUC, AP) at row
    ``2 r + e``, its place there as :func:`assay.metrics.ranking._place_samples` finds it."""
    n, n_classes = bits.shape
    auc = np.zeros(n)
    ap = np.zeros(n)
    chunk = (n + n_chunks - 1) // n_chunks
    for t in prange(n_chunks):
        r0 = t * chunk
        r1 = min(n, r0 + chunk)
        rows = max(1, min(ROWS, r1 - r0))
        buf = np.empty((GROUP, rows), dtype=bits.dtype)
        for b0 in range(r0, r1, rows):
            m = min(rows, r1 - b0)
            acc_auc = auc[b0 : b0 + m]  # each row's sum, the classes added in ascending order
            acc_ap = ap[b0 : b0 + m]
            yb = y[b0 : b0 + m]
            for c0 in range(0, n_classes, GROUP):
                g = min(GROUP, n_classes - c0)
                for i0 in range(0, m, 64):
                    i1 = min(m, i0 + 64)
                    for q in range(g):
                        bq = buf[q]
                        for i in range(i0, i1):
                            bq[i] = bits[b0 + i, c0 + q] & mask
                for q in range(g):
                    c = c0 + q
                    a = offx[c]
                    if offx[c + 1] - a == 1:  # no positive: nothing from this class
                        continue
                    ec = entries[c]
                    bq = buf[q]
                    for i in range(m):
                        if yb[i] == c:
                            acc_auc[i] += own[b0 + i, 0]
                            acc_ap[i] += own[b0 + i, 1]
                            continue
                        r, e = _place(bq[i], posx, a, ec, shift, base)
                        acc_auc[i] += add[2 * r + e, 0]
                        acc_ap[i] += add[2 * r + e, 1]
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
    utype, mask, shift, base, n_keys = rk._key_params(s.dtype, mbits)
    mask, shift = utype(mask), utype(shift)
    bits = rk._bits(s)
    pos_bits = pos_values.view(bits.dtype) & mask
    entries = rk._bucket_entries(pos_bits, offsets, mask, shift, base, n_keys)
    # each class's positives then one sentinel above every score (bits of a value <= 1)
    posx = np.insert(pos_bits, offsets[1:], np.iinfo(utype).max)
    offx = offsets + np.arange(n_classes + 1)
    n_chunks = 1 if n < 4096 else max(1, numba.get_num_threads())
    cnt = rk._place_samples(bits, posx, offx, entries, mask, shift, base, n_chunks).sum(axis=0)
    below, equal = cnt[0::2], cnt[1::2]  # per entry of posx (width n + C)
    # each sorted positive j of class c is entry j + c; a sample equal to it is at or below
    # every positive of its run of equal scores (run_end: where the run ends, within the class)
    cls = np.repeat(np.arange(n_classes), np.diff(offsets))
    entry = np.arange(n) + cls
    n_lt = below + equal  # samples whose lt (positives strictly below) is the entry's place
    n_le = below + np.bincount(
        offsets[cls] + cls + run_end, weights=equal[entry], minlength=n + n_classes
    ).astype(np.int64)  # samples whose le (positives at or below) is that place

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
    # by place 2 r + e: a gap (e = 0) or a tie with the positive there (e = 1)
    add = np.zeros((2 * total, 2))
    add[0::2, 0], add[0::2, 1] = gap_auc, gap_ap
    add[2 * entry + 1, 0], add[2 * entry + 1, 1] = eq_auc, eq_ap
    own_rows = np.empty((n, 2))  # each sample's own class's term, by row
    own_rows[order, 0], own_rows[order, 1] = own_auc, own_ap
    auc_sum, ap_sum = _add_places(
        bits, y, own_rows, posx, offx, entries, mask, shift, base, add, n_chunks
    )
    return {
        "roc_auc_macro": auc_sum / max(n_auc, 1),
        "average_precision_macro": ap_sum / max(n_ap, 1),
    }
