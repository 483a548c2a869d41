"""COCO bbox evaluation, identical to pycocotools' ``COCOeval`` (evaluate, accumulate, summarize).

pycocotools loops over image x category x area range in Python. Here the detections and ground
truth are sorted once into (image, class) cells and two numba kernels do the work: one
greedy-matches every cell at every area range and IoU threshold, one accumulates the 101-point
precision per class. The tie orders are pycocotools' own: per cell the detections are ordered by a
stable (mergesort) sort of ``-score`` over the file order, and per class by a stable sort of
``-score`` over the concatenation of those per-image lists in image-id order.

>>> import numpy as np
>>> box = np.array([[0.0, 0, 10, 10]])
>>> ev = coco_evaluate(box, np.array([0]), np.array([0]), np.array([100.0]), np.array([False]),
...     np.array([[0.0, 0, 10, 10]]), np.array([0]), np.array([0]),
...     np.array([0.9]), n_images=1, n_classes=1)
>>> round(float(coco_summarize(ev.precision, ev.recall)[0]), 3)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from assay.metrics.detection.iou import box_iou

__all__ = [
    "AREA_LABELS",
    "AREA_RANGES",
    "CocoMatches",
    "IOU_THRESHOLDS",
    "MAX_DETS",
    "RECALL_THRESHOLDS",
    "STAT_NAMES",
    "bucket_sort",
    "coco_accumulate",
    "coco_evaluate",
    "coco_match",
    "coco_summarize",
]

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = np.array([1, 10, 100], dtype=np.int64)
AREA_RANGES = np.array([[0, 1e5**2], [0, 32**2], [32**2, 96**2], [96**2, 1e5**2]], np.float64)
AREA_LABELS = ("all", "small", "medium", "large")
STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


@dataclass(eq=False)
class CocoMatches:
    """Per-cell matching of a COCO evaluation, in the order of ``dt_order`` / ``gt_order``.

    ``dt_order[j]`` is the original index of the j-th detection in accumulation order (by class,
    then ``-score`` stably over the (image id, rank in cell) order; only the first 100 per cell
    are kept), ``dt_rank`` its rank in its (image, class) cell,
    ``dt_matched``/``dt_ignored`` are (nd, A, T), ``gt_ignored`` (A, ng) in ``gt_order``.
    ``dt_gt`` (nd, T) is the sorted index of the matched ground truth at area "all" (-1 if none).
    """

    gt_order: np.ndarray
    dt_order: np.ndarray
    dt_rank: np.ndarray
    dt_matched: np.ndarray
    dt_ignored: np.ndarray
    gt_ignored: np.ndarray
    dt_gt: np.ndarray
    acc_order: np.ndarray  # positions in accumulation order (identity since dt_order is)
    class_ptr: np.ndarray  # (K + 1,) bounds of each class in acc_order
    npig: np.ndarray  # (K, A) number of non-ignored ground truth


@dataclass(eq=False)
class CocoEval:
    """The arrays ``COCOeval.eval`` holds, plus the matches they came from."""

    precision: np.ndarray  # (T, R, K, A, M)
    recall: np.ndarray  # (T, K, A, M)
    scores: np.ndarray  # (T, R, K, A, M)
    matches: CocoMatches


@nb.njit(cache=True)
def _match_cells(gs_, ge_, ds_, de_, gtb, gta, gtc, dtb, dta, arng, thrs, pos):  # pragma: no cover
    ng_all = gtb.shape[0]
    nd_all = dtb.shape[0]
    n_a = arng.shape[0]
    n_t = thrs.shape[0]
    dt_m = np.zeros((nd_all, n_a, n_t), np.bool_)
    dt_ig = np.zeros((nd_all, n_a, n_t), np.bool_)
    gt_ig = np.zeros((n_a, ng_all), np.bool_)
    dt_gt = np.full((nd_all, n_t), -1, np.int64)
    max_ng = 1
    max_pairs = 1
    for c in range(gs_.shape[0]):
        ng = ge_[c] - gs_[c]
        max_ng = max(max_ng, ng)
        max_pairs = max(max_pairs, ng * (de_[c] - ds_[c]))
    ious = np.zeros(max_pairs)
    best = np.zeros(max(1, nd_all))  # each detection's highest IoU in its cell
    perm = np.zeros(max_ng, np.int64)
    gtm = np.zeros(max_ng, np.bool_)
    for c in range(gs_.shape[0]):
        gs = gs_[c]
        ds = ds_[c]
        ng = ge_[c] - gs
        nd = de_[c] - ds
        if ng == 0:  # detections alone: unmatched, ignored where their area is out of range
            for d in range(nd):
                q = pos[ds + d]
                for a in range(n_a):
                    out = dta[ds + d] < arng[a, 0] or dta[ds + d] > arng[a, 1]
                    for t in range(n_t):
                        dt_ig[q, a, t] = out
            continue
        for d in range(nd):
            top = 0.0
            for g in range(ng):
                v = box_iou(dtb[ds + d], gtb[gs + g], gtc[gs + g])
                ious[d * ng + g] = v
                top = max(top, v)
            best[d] = top
        for a in range(n_a):
            lo = arng[a, 0]
            hi = arng[a, 1]
            k = 0
            for g in range(ng):
                ig = gtc[gs + g] or gta[gs + g] < lo or gta[gs + g] > hi
                gt_ig[a, gs + g] = ig
                if not ig:
                    perm[k] = g
                    k += 1
            for g in range(ng):
                if gt_ig[a, gs + g]:
                    perm[k] = g
                    k += 1
            for t in range(n_t):
                gtm[:ng] = False
                for d in range(nd):
                    iou = min(thrs[t], 1 - 1e-10)
                    m = -1
                    if best[d] < iou:  # no ground truth reaches it: unmatched
                        q = pos[ds + d]
                        dt_ig[q, a, t] = dta[ds + d] < lo or dta[ds + d] > hi
                        continue
                    for j in range(ng):
                        g = perm[j]
                        if gtm[j] and not gtc[gs + g]:
                            continue
                        if m > -1 and not gt_ig[a, gs + perm[m]] and gt_ig[a, gs + g]:
                            break
                        v = ious[d * ng + g]
                        if v < iou:
                            continue
                        iou = v
                        m = j
                    q = pos[ds + d]
                    if m == -1:
                        dt_ig[q, a, t] = dta[ds + d] < lo or dta[ds + d] > hi
                        continue
                    dt_ig[q, a, t] = gt_ig[a, gs + perm[m]]
                    dt_m[q, a, t] = True
                    gtm[m] = True
                    if a == 0:
                        dt_gt[q, t] = gs + perm[m]
    return dt_m, dt_ig, gt_ig, dt_gt


@nb.njit(cache=True)
def _accumulate(acc, class_ptr, rank, dt_m, dt_ig, scores, npig, max_dets, rec_thrs):
    """pycocotools' accumulate with its arithmetic, visiting only the true positives.

    Per (class, area, maxDets, IoU) pycocotools takes over the detections by score the cumulative
    recall ``tp / npig`` and precision ``tp / (fp + tp + eps)``, makes precision non-increasing
    from the right, and reads both at the first detection with recall >= each recall threshold.
    Recall rises only at a true positive, and between two true positives precision only falls,
    so that first detection is a true positive (or the first detection, for a threshold of 0),
    and the running maximum from the right is the maximum over the later true positives of their
    precision: the same divisions, made only where a true positive lies, give the same floats.
    """  # noqa: D401
    _, n_a, n_t = dt_m.shape
    n_k = class_ptr.shape[0] - 1
    n_m = max_dets.shape[0]
    n_r = rec_thrs.shape[0]
    precision = -np.ones((n_t, n_r, n_k, n_a, n_m))
    recall = -np.ones((n_t, n_k, n_a, n_m))
    out_scores = -np.ones((n_t, n_r, n_k, n_a, n_m))
    n_max = 1
    for k in range(n_k):
        n_max = max(n_max, class_ptr[k + 1] - class_ptr[k])
    sel = np.zeros(n_max, np.int64)
    tp_at = np.zeros((n_t, n_max), np.int64)  # position (in sel) of each true positive
    fp_at = np.zeros((n_t, n_max))  # false positives before it
    sufmax = np.zeros(n_max)
    n_tp = np.zeros(n_t, np.int64)
    fp = np.zeros(n_t)
    eps = np.spacing(1.0)
    for k in range(n_k):
        for a in range(n_a):
            if npig[k, a] == 0:
                continue
            npg = npig[k, a]
            for mi in range(n_m):
                n = 0
                for i in range(class_ptr[k], class_ptr[k + 1]):
                    d = acc[i]
                    if rank[d] < max_dets[mi]:
                        sel[n] = d
                        n += 1
                n_tp[:] = 0
                fp[:] = 0.0
                for j in range(n):
                    d = sel[j]
                    for t in range(n_t):
                        if not dt_ig[d, a, t]:
                            if dt_m[d, a, t]:
                                c = n_tp[t]
                                tp_at[t, c] = j
                                fp_at[t, c] = fp[t]
                                n_tp[t] = c + 1
                            else:
                                fp[t] += 1.0
                for t in range(n_t):
                    m = n_tp[t]
                    recall[t, k, a, mi] = m / npg if n else 0.0
                    best = 0.0
                    for i in range(m - 1, -1, -1):
                        tp = float(i + 1)
                        p = tp / (fp_at[t, i] + tp + eps)
                        if p > best:
                            best = p
                        sufmax[i] = best
                    i = 0  # the next true positive
                    for ri in range(n_r):
                        thr = rec_thrs[ri]
                        if n and ((1.0 if m and tp_at[t, 0] == 0 else 0.0) / npg) >= thr:
                            j = 0  # the first detection already reaches it
                            pv = sufmax[0] if m else 0.0
                        else:
                            while i < m and (i + 1) / npg < thr:
                                i += 1
                            if i >= m:
                                for rj in range(ri, n_r):
                                    precision[t, rj, k, a, mi] = 0.0
                                    out_scores[t, rj, k, a, mi] = 0.0
                                break
                            j = tp_at[t, i]
                            pv = sufmax[i]
                        precision[t, ri, k, a, mi] = pv
                        out_scores[t, ri, k, a, mi] = scores[sel[j]]
    return precision, recall, out_scores


@nb.njit(cache=True)
def bucket_sort(seq, key, n_keys):  # pragma: no cover - compiled
    """Stable counting sort of the indices ``seq`` by ``key[seq]`` (ints in ``[0, n_keys)``):
    the sorted indices and the (n_keys + 1,) start of each key's run in them. Equal keys keep
    their order in ``seq``, so over a stable score order this is a lexsort by (key, -score)."""
    # one int32 array is the randomly accessed working set (millions of cells stay in cache)
    fill = np.zeros(n_keys + 1, np.int32)
    for i in range(seq.shape[0]):
        fill[key[seq[i]] + 1] += 1
    for k in range(n_keys):
        fill[k + 1] += fill[k]
    ptr = fill.astype(np.int64)
    out = np.empty(seq.shape[0], np.int64)
    for i in range(seq.shape[0]):
        k = key[seq[i]]
        out[fill[k]] = seq[i]
        fill[k] += 1
    return out, ptr


@nb.njit(cache=True)
def _cell_bounds(dptr, gptr, max_det):  # pragma: no cover - compiled
    """The non-empty cells' ground truth (gs, ge) and kept detections (ds, de) bounds, and the
    kept detections (their positions in the cell-sorted order, their rank in their cell)."""
    n_cells = dptr.shape[0] - 1
    n_nonempty = 0
    n_kept = 0
    for c in range(n_cells):
        nd = dptr[c + 1] - dptr[c]
        if nd or gptr[c + 1] - gptr[c]:
            n_nonempty += 1
            n_kept += min(nd, max_det)
    gs = np.empty(n_nonempty, np.int64)
    ge = np.empty(n_nonempty, np.int64)
    ds = np.empty(n_nonempty, np.int64)
    de = np.empty(n_nonempty, np.int64)
    kept = np.empty(n_kept, np.int64)
    rank = np.empty(n_kept, np.int64)
    m = 0
    j = 0
    for c in range(n_cells):
        nd = dptr[c + 1] - dptr[c]
        if nd == 0 and gptr[c + 1] - gptr[c] == 0:
            continue
        gs[m] = gptr[c]
        ge[m] = gptr[c + 1]
        ds[m] = j
        for r in range(min(nd, max_det)):
            kept[j] = dptr[c] + r
            rank[j] = r
            j += 1
        de[m] = j
        m += 1
    return gs, ge, ds, de, kept, rank


def _cells_sorted(
    gcell: np.ndarray, dcell: np.ndarray, by_score: np.ndarray, n_cells: int
) -> tuple[np.ndarray, ...]:
    """(gt_order, dt_order, rank, gs, ge, ds, de) by counting sorts over the cells."""
    dt_sorted, dptr = bucket_sort(by_score, dcell, n_cells)
    gt_order, gptr = bucket_sort(np.arange(len(gcell), dtype=np.int64), gcell, n_cells)
    gs, ge, ds, de, kept, rank = _cell_bounds(dptr, gptr, int(MAX_DETS[-1]))
    dt_order = dt_sorted if len(kept) == len(dt_sorted) else dt_sorted[kept]
    return gt_order, dt_order, rank, gs, ge, ds, de


def _cells_lexsorted(
    gcell: np.ndarray, dcell: np.ndarray, neg_score: np.ndarray
) -> tuple[np.ndarray, ...]:
    """:func:`_cells_sorted` by lexsorts, for cells too many to count (sparse shards)."""
    gt_order = np.argsort(gcell, kind="stable")
    dt_order = np.lexsort((neg_score, dcell))
    gcell, dcell = gcell[gt_order], dcell[dt_order]
    # keep the first maxDets[-1] detections of each cell
    dstart = np.searchsorted(dcell, dcell, side="left")
    rank = np.arange(len(dcell)) - dstart
    keep = rank < MAX_DETS[-1]
    if not keep.all():
        dt_order, dcell, rank = dt_order[keep], dcell[keep], rank[keep]
    both = np.sort(np.concatenate([gcell, dcell]))
    cells = both[np.r_[True, both[1:] != both[:-1]]] if len(both) else both
    gs = np.searchsorted(gcell, cells, "left")
    ge = np.searchsorted(gcell, cells, "right")
    ds = np.searchsorted(dcell, cells, "left")
    de = np.searchsorted(dcell, cells, "right")
    return gt_order, dt_order, rank, gs, ge, ds, de


def coco_match(
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    gt_area: np.ndarray,
    gt_crowd: np.ndarray,
    dt_boxes: np.ndarray,
    dt_labels: np.ndarray,
    dt_image: np.ndarray,
    dt_scores: np.ndarray,
    *,
    n_images: int,
    n_classes: int,
    image_rank: np.ndarray | None = None,
    by_score: np.ndarray | None = None,
) -> CocoMatches:
    """Greedy COCO matching of every (image, class) cell at every area range and IoU threshold.

    ``image_rank`` orders images as pycocotools does (by image id); default: image index order.
    ``by_score``: the detections by descending score, ties in input order (the stable argsort
    of ``-dt_scores``), when the caller has it.
    """
    img_key = np.asarray(gt_image, np.int64) if image_rank is None else image_rank[gt_image]
    dimg = np.asarray(dt_image, np.int64) if image_rank is None else image_rank[dt_image]
    neg_score = -np.asarray(dt_scores, np.float64)
    gcell = img_key * n_classes + np.asarray(gt_labels, np.int64)
    dcell = dimg * n_classes + np.asarray(dt_labels, np.int64)
    n_cells = max(int(n_images), 1) * max(int(n_classes), 1)
    if n_cells <= 4 * (len(gcell) + len(dcell)) + 2**20:  # counting sorts: O(n + cells)
        if by_score is None:
            by_score = np.argsort(neg_score, kind="stable")
        order = _cells_sorted(gcell, dcell, np.asarray(by_score, np.int64), n_cells)
    else:
        order = _cells_lexsorted(gcell, dcell, neg_score)
    gt_order, dt_order, rank, gs, ge, ds, de = order
    gtb = np.ascontiguousarray(gt_boxes[gt_order], np.float64).reshape(-1, 4)
    dtb = np.ascontiguousarray(dt_boxes[dt_order], np.float64).reshape(-1, 4)
    dt_area = dtb[:, 2] * dtb[:, 3]
    # accumulate's order: by class, then -score, stably over the (image, rank in cell) order
    sdt_lab = np.asarray(dt_labels, np.int64)[dt_order]
    acc, class_ptr = bucket_sort(
        np.argsort(neg_score[dt_order], kind="stable"), sdt_lab, max(int(n_classes), 1)
    )
    class_ptr = class_ptr[: n_classes + 1]
    pos = np.empty(len(acc), np.int64)
    pos[acc] = np.arange(len(acc))
    dt_m, dt_ig, gt_ig, dt_gt = _match_cells(
        gs,
        ge,
        ds,
        de,
        gtb,
        np.asarray(gt_area, np.float64)[gt_order],
        np.asarray(gt_crowd, bool)[gt_order],
        dtb,
        dt_area,
        AREA_RANGES,
        IOU_THRESHOLDS,
        pos,
    )
    dt_order, rank = dt_order[acc], rank[acc]
    acc = np.arange(len(acc))
    sgt_lab = np.asarray(gt_labels)[gt_order]
    npig = np.stack(
        [np.bincount(sgt_lab[~gt_ig[a]], minlength=n_classes) for a in range(len(AREA_RANGES))],
        axis=1,
    )
    return CocoMatches(gt_order, dt_order, rank, dt_m, dt_ig, gt_ig, dt_gt, acc, class_ptr, npig)


def coco_accumulate(m: CocoMatches, dt_scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """precision (T,R,K,A,M), recall (T,K,A,M) and scores like ``COCOeval.accumulate``."""
    s = np.asarray(dt_scores, np.float64)[m.dt_order]
    return _accumulate(
        m.acc_order,
        m.class_ptr,
        m.dt_rank,
        m.dt_matched,
        m.dt_ignored,
        s,
        m.npig,
        MAX_DETS,
        RECALL_THRESHOLDS,
    )


def coco_evaluate(
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    gt_area: np.ndarray,
    gt_crowd: np.ndarray,
    dt_boxes: np.ndarray,
    dt_labels: np.ndarray,
    dt_image: np.ndarray,
    dt_scores: np.ndarray,
    *,
    n_images: int,
    n_classes: int,
    image_rank: np.ndarray | None = None,
    by_score: np.ndarray | None = None,
) -> CocoEval:
    """Match and accumulate: the full ``COCOeval.evaluate(); accumulate()`` on columnar input."""
    m = coco_match(
        gt_boxes,
        gt_labels,
        gt_image,
        gt_area,
        gt_crowd,
        dt_boxes,
        dt_labels,
        dt_image,
        dt_scores,
        n_images=n_images,
        n_classes=n_classes,
        image_rank=image_rank,
        by_score=by_score,
    )
    precision, recall, scores = coco_accumulate(m, dt_scores)
    return CocoEval(precision, recall, scores, m)


def _mean_valid(s: np.ndarray) -> float:
    v = s[s > -1]
    return -1.0 if v.size == 0 else float(np.mean(v))


def coco_summarize(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """The 12 numbers of ``COCOeval.summarize()`` (see ``STAT_NAMES``), -1 where undefined.

    >>> p = -np.ones((10, 101, 1, 4, 3)); r = -np.ones((10, 1, 4, 3))
    >>> coco_summarize(p, r).tolist()[:2]
    [-1.0, -1.0]
    """

    def ap(t: int | None = None, a: int = 0) -> float:
        s = precision if t is None else precision[t : t + 1]
        return _mean_valid(s[:, :, :, a, 2])

    def ar(m: int, a: int = 0) -> float:
        return _mean_valid(recall[:, :, a, m])

    return np.array(
        [
            ap(),
            ap(0),
            ap(5),
            ap(None, 1),
            ap(None, 2),
            ap(None, 3),
            ar(0),
            ar(1),
            ar(2),
            ar(2, 1),
            ar(2, 2),
            ar(2, 3),
        ]
    )
