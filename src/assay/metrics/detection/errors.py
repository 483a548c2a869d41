"""Detection error types and the AP each would give back: TIDE (Bolya et al., ECCV 2020).

The numbers follow TIDE's definitions (the ``tidecv`` package is the reference; tests check the
counts and dAP against it). Matching is TIDE's, at a foreground IoU ``pos`` (0.5) and a
background IoU ``bg`` (0.1): within each image the detections, most confident first (at most
``max_dets``), take the unmatched ground truth of their class with the highest IoU when it is at
least ``pos``. Each detection left unmatched gets exactly one type, tested in this order:

- background (``bkg``): the image has no ground truth, or the detection overlaps every ground
  truth box by at most ``bg`` -- it fired on nothing.
- localisation (``loc``): its best IoU with a box of its own class is between ``bg`` and ``pos``
  -- right class, box not tight enough.
- classification (``cls``): it overlaps a box of another class by at least ``pos`` -- right box,
  wrong class.
- duplicate (``dupe``): it overlaps a box of its class by at least ``pos`` that a more confident
  detection already took -- a second detection of one object.
- both (``both``): it overlaps something by more than ``bg`` but is none of the above -- wrong
  class and a loose box.

(The background test first applies only to images without ground truth; otherwise it comes
after duplicate, exactly as TIDE orders them.) A ground-truth box left unmatched that no
localisation or classification error points at is missed (``miss``): nothing came near it.
Crowd regions are TIDE's ignore regions: a detection of their class inside one (crowd IoU >
``pos``) leaves the AP but still gets its error type.

dAP is TIDE's oracle: the mAP (mean over classes of AP at IoU ``pos``, 101-point interpolated,
in percent, over the classes with a detection or a ground-truth box) after fixing every error of
one type, minus the mAP as it is, floored at 0. Fixing a cls / loc error turns the most confident
such detection of each unmatched box into a true positive (of the box's class) and drops the
rest; fixing dupe / bkg / both drops those detections; fixing a miss removes the box from the
ground truth. The special oracles: ``fp`` scores every false positive below every true positive
(perfect precision at the same recall), ``fn`` removes every unmatched ground-truth box (perfect
recall at the same precision); they are not floored.

>>> import numpy as np
>>> gt = np.array([[0.0, 0, 10, 10], [50, 50, 10, 10]])
>>> dt = np.array([[0.0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 10, 10], [90, 90, 5, 5]])
>>> r = tide_errors(gt, np.array([0, 1]), np.array([0, 0]), np.array([False, False]),
...                 dt, np.array([0, 0, 0, 0]), np.array([0.9, 0.8, 0.7, 0.6]),
...                 np.array([0, 0, 0, 0]), n_images=1, n_classes=2)
>>> dict(zip(ERROR_TYPES, r.counts.tolist()))
{'cls': 1, 'loc': 0, 'both': 0, 'dupe': 1, 'bkg': 1, 'miss': 0}
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from assay.metrics.detection.iou import box_iou

__all__ = [
    "ERROR_TYPES",
    "SPECIAL_TYPES",
    "TideErrors",
    "tide_errors",
]

#: TIDE's six error types, in its order: classification, localisation, both, duplicate,
#: background, missed.
ERROR_TYPES = ("cls", "loc", "both", "dupe", "bkg", "miss")
#: TIDE's special oracles: every false positive / every false negative fixed.
SPECIAL_TYPES = ("fp", "fn")

# detection kinds: -1 not evaluated (beyond max_dets), 0 true positive, 1.. the error types
TP, CLS, LOC, BOTH, DUPE, BKG = 0, 1, 2, 3, 4, 5
_RECALLS = np.arange(101) / 100.0  # TIDE's x_range (i / 100, not linspace)


@dataclass(frozen=True)
class TideErrors:
    """TIDE's breakdown of one detection set at IoU ``pos``.

    ``dt_kind`` per detection: -1 not evaluated (beyond ``max_dets`` in its image), 0 a true
    positive, 1..5 cls, loc, both, dupe, bkg (``ERROR_TYPES[kind - 1]``); ``dt_ignored``: inside a
    crowd region of its class (left out of the AP); ``dt_gt``: the matched box (TP) or the box a
    cls / loc error points at, else -1. ``gt_missed``: a missed box. ``counts`` (6,) per type;
    ``class_counts`` (K, 6) per class (a cls / loc error or a miss counts for the ground-truth
    box's class, the others for the detection's class). ``ap`` the mAP (percent); ``class_ap``
    (K,) each class's AP (NaN where the class has neither detections nor boxes); ``dap`` (6,) and
    ``special`` (2,: fp, fn) the mAP gained by each oracle; ``class_dap`` (K, 6) and
    ``class_special`` (K, 2) each class's own AP gained (floored at 0 like ``dap``)."""

    dt_kind: np.ndarray
    dt_ignored: np.ndarray
    dt_gt: np.ndarray
    gt_missed: np.ndarray
    counts: np.ndarray
    class_counts: np.ndarray
    ap: float
    class_ap: np.ndarray
    dap: np.ndarray
    class_dap: np.ndarray
    special: np.ndarray
    class_special: np.ndarray


@nb.njit(cache=True)
def _classify(
    gt_ptr, gt_order, gtb, gtl, gtc, dt_ptr, dt_order, dtb, dtl, dts, pos, bg, max_dets
):  # pragma: no cover - compiled
    n_gt, n_dt = gtl.shape[0], dtl.shape[0]
    kind = np.full(n_dt, -1, np.int8)
    ignored = np.zeros(n_dt, np.bool_)
    target = np.full(n_dt, -1, np.int64)
    seq = np.full(n_dt, -1, np.int64)
    gt_used = np.zeros(n_gt, np.bool_)
    gt_usable = np.zeros(n_gt, np.bool_)
    gt_best = np.full(n_gt, -1, np.int64)
    gt_best_score = np.full(n_gt, -1.0)
    s = 0
    for im in range(gt_ptr.shape[0] - 1):
        # this image's non-crowd boxes (TIDE's gt) and crowd regions (ignore regions), in order
        ng = 0
        nc = 0
        for a in range(gt_ptr[im], gt_ptr[im + 1]):
            if gtc[gt_order[a]]:
                nc += 1
            else:
                ng += 1
        g = np.empty(ng, np.int64)
        cr = np.empty(nc, np.int64)
        ng = 0
        nc = 0
        for a in range(gt_ptr[im], gt_ptr[im + 1]):
            j = gt_order[a]
            if gtc[j]:
                cr[nc] = j
                nc += 1
            else:
                g[ng] = j
                ng += 1
        nd = min(dt_ptr[im + 1] - dt_ptr[im], max_dets)
        if nd == 0:
            continue
        d = dt_order[dt_ptr[im] : dt_ptr[im] + nd]
        for i in range(nd):
            seq[d[i]] = s
            s += 1
        iou = np.zeros((nd, ng))
        same = np.zeros((nd, ng), np.bool_)
        for i in range(nd):
            for k in range(ng):
                iou[i, k] = box_iou(dtb[d[i]], gtb[g[k]], False)
                same[i, k] = dtl[d[i]] == gtl[g[k]]
        used = np.zeros(ng, np.bool_)
        matched = np.zeros(nd, np.bool_)
        for i in range(nd):
            best = 0.0
            bk = 0
            for k in range(ng):
                v = iou[i, k] if (same[i, k] and not used[k]) else 0.0
                if v > best:
                    best = v
                    bk = k
            if ng > 0 and best >= pos:
                used[bk] = True
                matched[i] = True
                kind[d[i]] = TP
                target[d[i]] = g[bk]
        for c in range(nc):
            for i in range(nd):
                if (
                    not matched[i]
                    and not ignored[d[i]]
                    and dtl[d[i]] == gtl[cr[c]]
                    and box_iou(dtb[d[i]], gtb[cr[c]], True) > pos
                ):
                    ignored[d[i]] = True
        for k in range(ng):
            gt_used[g[k]] = used[k]
        for i in range(nd):
            if matched[i]:
                continue
            j = d[i]
            if ng == 0:
                kind[j] = BKG
                continue
            # loc: best same-class IoU (used boxes included) within [bg, pos]
            best = 0.0
            bk = 0
            for k in range(ng):
                v = iou[i, k] if same[i, k] else 0.0
                if v > best:
                    best = v
                    bk = k
            if bg <= best <= pos:
                kind[j] = LOC
            else:
                best = 0.0
                bk = 0
                for k in range(ng):
                    v = 0.0 if same[i, k] else iou[i, k]
                    if v > best:
                        best = v
                        bk = k
                if best >= pos:
                    kind[j] = CLS
                else:
                    best = 0.0
                    for k in range(ng):
                        v = iou[i, k] if (same[i, k] and used[k]) else 0.0
                        if v > best:
                            best = v
                    if best >= pos:
                        kind[j] = DUPE
                        continue
                    best = 0.0
                    for k in range(ng):
                        if iou[i, k] > best:
                            best = iou[i, k]
                    kind[j] = BKG if best <= bg else BOTH
                    continue
            # a cls / loc error points at box bk; an unmatched box remembers its best such detection
            target[j] = g[bk]
            if not used[bk]:
                gt_usable[g[bk]] = True
                if gt_best_score[g[bk]] < dts[j]:
                    gt_best_score[g[bk]] = dts[j]
                    gt_best[g[bk]] = j
    return kind, ignored, target, seq, gt_used, gt_usable, gt_best


@nb.njit(cache=True)
def _class_ap(ptr, tp, npos, recalls):  # pragma: no cover - compiled
    """TIDE's AP (percent) of each class from its points sorted most confident first."""
    k = ptr.shape[0] - 1
    out = np.zeros(k)
    for c in range(k):
        a, b = ptr[c], ptr[c + 1]
        n = b - a
        if npos[c] == 0:
            continue
        prec = np.empty(n)
        rec = np.empty(n)
        nt = 0
        for i in range(n):
            if tp[a + i]:
                nt += 1
            prec[i] = nt / (i + 1)
            rec[i] = nt / npos[c]
        for i in range(n - 1, 0, -1):
            if prec[i] > prec[i - 1]:
                prec[i - 1] = prec[i]
        total = 0.0
        idx = 0
        for r in range(recalls.shape[0]):
            while idx < n and rec[idx] < recalls[r]:
                idx += 1
            if idx < n:
                total += prec[idx]
        out[c] = total / recalls.shape[0] * 100
    return out


def _aps(
    cls: np.ndarray,
    rank: np.ndarray,
    tp: np.ndarray,
    order: np.ndarray,
    npos: np.ndarray,
) -> np.ndarray:
    """Each class's AP (K,) from its points (class, score rank: 0 the most confident, is-TP,
    unique tie order), NaN for a class with neither points nor positives."""
    k = len(npos)
    o: np.ndarray
    if len(cls):
        r1, t1 = int(rank.max()) + 1, int(order.max()) + 1
        if k * r1 * t1 < 2**62:  # one integer key: a single sort instead of three
            o = np.argsort((cls * r1 + rank) * t1 + order)
        else:
            o = np.lexsort((order, rank, cls))
    else:
        o = np.zeros(0, np.int64)
    ptr = np.zeros(k + 1, np.int64)
    np.cumsum(np.bincount(cls, minlength=k), out=ptr[1:])
    ap: np.ndarray = _class_ap(ptr, tp[o], npos.astype(np.int64), _RECALLS)
    ap[(np.diff(ptr) == 0) & (npos == 0)] = np.nan
    return ap


def _mean(ap: np.ndarray) -> float:
    kept = ap[~np.isnan(ap)]
    return float(kept.mean()) if len(kept) else 0.0


def tide_errors(
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    gt_crowd: np.ndarray,
    dt_boxes: np.ndarray,
    dt_labels: np.ndarray,
    dt_scores: np.ndarray,
    dt_image: np.ndarray,
    *,
    n_images: int,
    n_classes: int,
    pos: float = 0.5,
    bg: float = 0.1,
    max_dets: int = 100,
) -> TideErrors:
    """TIDE's error types, their counts and dAP (see the module docstring for each definition).

    Boxes are xywh; labels class indices in [0, n_classes); images indices in [0, n_images),
    walked in index order (TIDE walks the images in the order the annotation file lists them,
    which decides the order of tied scores). Inputs are trusted (validated by the formats layer).
    """
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    dt_boxes = np.asarray(dt_boxes, np.float64).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, np.int64)
    dt_labels = np.asarray(dt_labels, np.int64)
    gt_image = np.asarray(gt_image, np.int64)
    dt_image = np.asarray(dt_image, np.int64)
    gt_crowd = np.asarray(gt_crowd, bool)
    dt_scores = np.asarray(dt_scores, np.float64)
    n_gt, n_dt = len(gt_labels), len(dt_labels)
    gt_order = np.argsort(gt_image, kind="stable")
    dt_order = np.lexsort((np.arange(n_dt), -dt_scores, dt_image))
    gt_ptr = np.zeros(n_images + 1, np.int64)
    dt_ptr = np.zeros(n_images + 1, np.int64)
    np.cumsum(np.bincount(gt_image, minlength=n_images), out=gt_ptr[1:])
    np.cumsum(np.bincount(dt_image, minlength=n_images), out=dt_ptr[1:])
    kind, ignored, target, seq, gt_used, gt_usable, gt_best = _classify(
        gt_ptr,
        gt_order,
        gt_boxes,
        gt_labels,
        gt_crowd,
        dt_ptr,
        dt_order,
        dt_boxes,
        dt_labels,
        dt_scores,
        float(pos),
        float(bg),
        int(max_dets),
    )
    real = ~gt_crowd
    unmatched = real & ~gt_used
    missed = unmatched & ~gt_usable
    npos = np.bincount(gt_labels[real], minlength=n_classes)

    # counts, overall and per class (cls / loc / miss under the box's class)
    k6 = np.zeros((n_classes, 6), np.int64)
    err = kind > 0
    owner = np.where(
        (kind == CLS) | (kind == LOC), gt_labels[np.maximum(target, 0)] if n_gt else 0, dt_labels
    )
    np.add.at(k6, (owner[err], kind[err].astype(np.int64) - 1), 1)
    k6[:, 5] = np.bincount(gt_labels[missed], minlength=n_classes)

    # the AP points: the base run, in insertion order (image, then rank)
    scored = kind >= 0
    base_keep = scored & ~ignored
    rank = np.unique(-dt_scores, return_inverse=True)[1].reshape(-1).astype(np.int64)
    base = _aps(dt_labels[base_keep], rank[base_keep], kind[base_keep] == TP, seq[base_keep], npos)
    # a fixed run lists the error points first, then the true positives (TIDE's fix_errors)
    is_err = err
    is_tp = kind == TP
    group = np.where(is_tp, 1, 0)
    tie = group * (n_dt + 1) + seq
    best_of = np.zeros(n_dt, bool)
    if n_gt:
        ok = (target >= 0) & err
        best_of[ok] = gt_best[target[ok]] == np.flatnonzero(ok)

    def fixed(code: int) -> np.ndarray:
        keep = scored & ((is_tp & ~ignored) | (is_err & ~ignored & (kind != code)))
        cls = dt_labels.copy()
        tp = is_tp.copy()
        p = npos
        if code in (CLS, LOC):
            fix = (kind == code) & best_of
            keep = keep | fix
            tp = tp | fix
            if code == CLS:
                cls[fix] = gt_labels[target[fix]]
        elif code == 6:  # missed
            p = npos - np.bincount(gt_labels[missed], minlength=n_classes)
            keep = scored & ~ignored
        return _aps(cls[keep], rank[keep], tp[keep], tie[keep], p)

    fixed_aps = [fixed(code) for code in (CLS, LOC, BOTH, DUPE, BKG, 6)]
    keep = scored & ~ignored
    fp_rank = np.where(is_tp, 0, 1).astype(np.int64)  # every true positive above every false one
    fp_fixed = _aps(dt_labels[keep], fp_rank[keep], is_tp[keep], tie[keep], npos)
    fn_fixed = _aps(
        dt_labels[keep],
        rank[keep],
        is_tp[keep],
        tie[keep],
        npos - np.bincount(gt_labels[unmatched], minlength=n_classes),
    )
    m0 = _mean(base)
    b0 = np.nan_to_num(base)
    dap = np.array([max(_mean(a) - m0, 0.0) for a in fixed_aps])
    class_dap = np.stack([np.maximum(np.nan_to_num(a) - b0, 0.0) for a in fixed_aps], axis=1)
    special = np.array([_mean(fp_fixed) - m0, _mean(fn_fixed) - m0])
    class_special = np.stack([np.nan_to_num(fp_fixed) - b0, np.nan_to_num(fn_fixed) - b0], axis=1)
    return TideErrors(
        dt_kind=kind,
        dt_ignored=ignored,
        dt_gt=target,
        gt_missed=missed,
        counts=k6.sum(axis=0),
        class_counts=k6,
        ap=m0,
        class_ap=base,
        dap=dap,
        class_dap=class_dap,
        special=special,
        class_special=class_special,
    )
