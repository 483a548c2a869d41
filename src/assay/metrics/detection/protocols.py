"""AP under several interpolation protocols, and a bootstrap over images, from COCO matches.

All protocols use the same COCO matching (area "all", at most 100 detections per image and class,
crowd regions ignored); only the way the precision/recall curve is turned into one number differs:

- ``coco_101``: mean of the interpolated precision at recall 0, 0.01, ..., 1 (pycocotools);
- ``voc_11``: mean of the interpolated precision at recall 0, 0.1, ..., 1 (VOC2007 devkit);
- ``all_point``: area under the interpolated curve at every recall step (VOC2010+ devkit).

>>> import numpy as np
>>> rc, pr = np.array([0.5, 1.0]), np.array([1.0, 0.5])
>>> round(float(_voc11(rc, pr, 2)), 4), round(float(_allpoint(rc, pr, 2)), 4)
(0.7727, 0.75)
"""

from __future__ import annotations

from statistics import NormalDist

import numba as nb
import numpy as np

from assay.metrics.detection.cocoeval import IOU_THRESHOLDS, RECALL_THRESHOLDS, CocoMatches
from assay.metrics.detection.operating import optimal_counts
from assay.metrics.stats import percentile_intervals

__all__ = [
    "PROTOCOLS",
    "bootstrap_ap",
    "bootstrap_ap_replicates",
    "half_sample_interval",
    "half_sample_weights",
    "protocol_ap",
    "replicate_ap",
]

PROTOCOLS = ("coco_101", "voc_11", "all_point")


# the VOC devkit's recall points, float quirks included (0.30000000000000004, ...)
VOC11_RECALLS = np.arange(0.0, 1.1, 0.1)


@nb.njit(cache=True)
def _voc11(rc, pr, n):  # pragma: no cover - compiled
    ap = 0.0
    for i in range(11):
        r = VOC11_RECALLS[i]
        p = 0.0
        for j in range(n):
            if rc[j] >= r and pr[j] > p:
                p = pr[j]
        ap += p / 11.0
    return ap


@nb.njit(cache=True)
def _allpoint(rc, pr, n):  # pragma: no cover - compiled
    mpre = np.zeros(n + 2)
    mrec = np.zeros(n + 2)
    mrec[n + 1] = 1.0
    for j in range(n):
        mrec[j + 1] = rc[j]
        mpre[j + 1] = pr[j]
    for j in range(n, -1, -1):
        if mpre[j + 1] > mpre[j]:
            mpre[j] = mpre[j + 1]
    ap = 0.0
    for j in range(n + 1):
        if mrec[j + 1] != mrec[j]:
            ap += (mrec[j + 1] - mrec[j]) * mpre[j + 1]
    return ap


@nb.njit(cache=True)
def _coco101(rc, pr, n, rec_thrs):  # pragma: no cover - compiled
    for j in range(n - 1, 0, -1):
        if pr[j] > pr[j - 1]:
            pr[j - 1] = pr[j]
    s = 0.0
    j = 0
    for ri in range(rec_thrs.shape[0]):
        while j < n and rc[j] < rec_thrs[ri]:
            j += 1
        if j >= n:
            break
        s += pr[j]
    return s / rec_thrs.shape[0]


@nb.njit(cache=True)
def _class_curves(acc, class_ptr, dt_img, dt_m, dt_ig, w, npig, rec_thrs, mode):
    """AP (T, K) for area "all"; ``w`` weighs images (bootstrap); mode 0 coco, 1 voc11, 2 all.

    One pass over a class's detections in score order updates every IoU threshold at once (the
    thresholds are contiguous in ``dt_m``), then each threshold's curve is reduced to its AP.
    """
    n_t = dt_m.shape[2]
    n_k = class_ptr.shape[0] - 1
    out = np.full((n_t, n_k), np.nan)
    n_max = 1
    for k in range(n_k):
        n_max = max(n_max, class_ptr[k + 1] - class_ptr[k])
    rc = np.zeros((n_t, n_max))
    pr = np.zeros((n_t, n_max))
    tp = np.zeros(n_t)
    fp = np.zeros(n_t)
    cnt = np.zeros(n_t, np.int64)
    for k in range(n_k):
        if npig[k] <= 0:
            continue
        tp[:] = 0.0
        fp[:] = 0.0
        cnt[:] = 0
        for i in range(class_ptr[k], class_ptr[k + 1]):
            d = acc[i]
            wt = w[dt_img[d]]
            if wt == 0:
                continue
            for t in range(n_t):
                if dt_ig[d, 0, t]:
                    continue
                if dt_m[d, 0, t]:
                    tp[t] += wt
                else:
                    fp[t] += wt
                n = cnt[t]
                rc[t, n] = tp[t] / npig[k]
                pr[t, n] = tp[t] / (tp[t] + fp[t])
                cnt[t] = n + 1
        for t in range(n_t):
            if mode == 0:
                out[t, k] = _coco101(rc[t], pr[t], cnt[t], rec_thrs)
            elif mode == 1:
                out[t, k] = _voc11(rc[t], pr[t], cnt[t])
            else:
                out[t, k] = _allpoint(rc[t], pr[t], cnt[t])
    return out


def _npig(
    m: CocoMatches, gt_labels: np.ndarray, gt_image: np.ndarray, w: np.ndarray, n_classes: int
) -> np.ndarray:
    lab = np.asarray(gt_labels)[m.gt_order]
    img = np.asarray(gt_image)[m.gt_order]
    keep = ~m.gt_ignored[0]
    return np.bincount(lab[keep], weights=w[img[keep]], minlength=n_classes).astype(np.float64)


def protocol_ap(
    m: CocoMatches,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    dt_image: np.ndarray,
    n_images: int,
    n_classes: int,
    protocol: str,
) -> np.ndarray:
    """AP (T, K) at the 10 COCO IoU thresholds under ``protocol``; nan for classes without gt."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    w = np.ones(n_images)
    img = np.asarray(dt_image, np.int64)[m.dt_order]
    return _weighted_ap(m, img, w, gt_labels, gt_image, n_classes, PROTOCOLS.index(protocol))


def _weighted_ap(
    m: CocoMatches,
    img: np.ndarray,
    w: np.ndarray,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    n_classes: int,
    mode: int = 0,
) -> np.ndarray:
    """AP (T, K) with each image weighed by ``w`` (how often a resample drew it; ones for the
    data itself), detections' images ``img`` in accumulation order, under protocol ``mode``
    (an index of PROTOCOLS; 0 is COCO's 101-point)."""
    return _class_curves(
        m.acc_order,
        m.class_ptr,
        img,
        m.dt_matched,
        m.dt_ignored,
        w,
        _npig(m, gt_labels, gt_image, w, n_classes),
        RECALL_THRESHOLDS,
        mode,
    )


def bootstrap_ap_replicates(
    m: CocoMatches,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    dt_image: np.ndarray,
    n_images: int,
    n_classes: int,
    *,
    n: int = 100,
    seed: int = 0,
    counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    weights: np.ndarray | None = None,
    optimal: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ap: bool = True,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, estimate (K,), replicates (n, K)) of mAP (.50:.95) and AP50 (101-point, area
    all), and with ``counts`` (TP, FP, FN per image at one operating point) the overall
    precision, recall and F1, over ``n`` resamples of the images drawn from
    ``np.random.default_rng(seed)`` (or the given ``weights`` (n, n_images): how often each
    image is drawn). NaN where a resample defines no value.

    A resample weighs each image by how often it was drawn; the matching per image is reused.
    ``optimal`` (the arguments of :func:`assay.metrics.detection.operating.optimal_counts` but
    the weights: the score-sorted predictions at one IoU) reads precision, recall and F1 at each
    resample's own F1-optimal confidence instead of at ``counts``' fixed one: the confidence was
    chosen on these images, and the choice is repeated rather than taken as given.
    ``ap=False`` leaves AP and AP50 out of the replicates (NaN; the estimate keeps them): most
    of the cost, for a caller that reads them from other resamples.

    >>> # see tests/metrics/test_detection_protocols.py for a worked case
    """
    img = np.asarray(dt_image, np.int64)[m.dt_order]
    t50 = int(np.flatnonzero(np.isclose(IOU_THRESHOLDS, 0.5))[0])
    prf = counts is not None or optimal is not None
    names = ["AP", "AP50"] + (["precision", "recall", "f1"] if prf else [])
    c = None if counts is None else np.stack([np.asarray(x, np.float64) for x in counts])

    def stats_of(w: np.ndarray, with_ap: bool = True) -> np.ndarray:
        row = np.full(len(names), np.nan)
        if with_ap:
            table = _weighted_ap(m, img, w, gt_labels, gt_image, n_classes)
            valid = ~np.isnan(table[0])
            if valid.any():
                row[:2] = [table[:, valid].mean(), table[t50, valid].mean()]
        if prf:
            tp, fp, fn = (
                optimal_counts(*optimal, w[None])[0] if optimal is not None else c @ w  # type: ignore[operator]
            )
            if tp + fp > 0:
                row[2] = tp / (tp + fp)
            if tp + fn > 0:
                row[3] = tp / (tp + fn)
            if tp + fp + fn > 0:
                row[4] = 2 * tp / (2 * tp + fp + fn)
        return row

    if weights is None:
        rng = np.random.default_rng(seed)
        draw = (
            np.bincount(rng.integers(0, n_images, n_images), minlength=n_images).astype(float)
            for _ in range(n if n_images > 0 else 0)
        )
    else:
        draw = (np.asarray(w, dtype=np.float64) for w in weights)
    stats = np.full((n if weights is None else len(weights), len(names)), np.nan)
    for b, w in enumerate(draw):
        stats[b] = stats_of(w, ap)
    return names, stats_of(np.ones(n_images)), stats


def half_sample_weights(n_images: int, n: int, seed: int) -> np.ndarray:
    """(n, n_images) weights 0 / 1 of ``n`` half-samples of the images drawn without replacement
    from ``np.random.default_rng(seed)``: ``n // 2`` random halves (``n_images // 2`` images
    each) and their complements (the rest), one more half when ``n`` is odd. A complement
    cancels its half's linear part, so the mean over the halves moves only with the statistic's
    non-linear part (the bias), with a small Monte-Carlo error.

    >>> half_sample_weights(4, 2, 0).sum(axis=0).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    rng = np.random.default_rng(seed)
    w = np.zeros((n, n_images))
    for b in range(0, n, 2):
        w[b, rng.permutation(n_images)[: n_images // 2]] = 1.0
        if b + 1 < n:
            w[b + 1] = 1.0 - w[b]
    return w


def half_sample_interval(
    replicates: np.ndarray,
    estimate: float,
    n_images: int,
    *,
    level: float = 0.95,
    rate: float = 0.5,
) -> dict[str, float] | None:
    """The interval of a statistic from its half-sample ``replicates``
    (:func:`half_sample_weights`): ``estimate - bias ± z sd(replicates)``; None without an
    estimate or two finite replicates.

    A half-sample is a real sample of ``m = n_images // 2`` images of the population (no image
    twice), so its spread estimates that of the estimate on ``n`` images (a mean's variance
    without replacement, (1 - m/n) s^2 / m, is s^2 / n at m = n/2) and its mean is the
    statistic's expectation at m images. With the bias falling as ``n^-rate``,
    ``mean - estimate = bias_n ((n/m)^rate - 1)`` gives ``bias_n``. COCO AP's bias falls like
    1 / sqrt(n) (``rate`` 0.5: the precision envelope takes a maximum over points whose noise
    is O(1/sqrt(n)); measured at 75 to 600 images, tests/_simulate.py's detector); a ratio's
    like 1/n (``rate`` 1).

    >>> r = half_sample_interval(np.array([0.5, 0.7, 0.5, 0.7]), 0.58, 100, level=0.5)
    >>> round(r["low"], 3), round(r["high"], 3)
    (0.454, 0.61)
    """
    r = np.asarray(replicates, np.float64)
    r = r[np.isfinite(r)]
    m = n_images // 2
    if r.size < 2 or not np.isfinite(estimate) or m < 1:
        return None
    bias = (float(r.mean()) - estimate) / ((n_images / m) ** rate - 1.0)
    half = NormalDist().inv_cdf((1.0 + level) / 2.0) * float(r.std(ddof=1))
    return {"low": estimate - bias - half, "high": estimate - bias + half}


AP_KEYS = ("AP", "AP50")


def bootstrap_ap(
    m: CocoMatches,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    dt_image: np.ndarray,
    n_images: int,
    n_classes: int,
    *,
    n: int = 100,
    seed: int = 0,
    level: float = 0.95,
    counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    optimal: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    method: str = "basic",
) -> dict[str, dict[str, float] | None]:
    """Intervals over images of mAP (.50:.95) and AP50 (101-point, area all), and with
    ``counts`` (TP, FP, FN per image at one operating point) or ``optimal`` (that point
    re-chosen per resample, :func:`bootstrap_ap_replicates`) of the overall precision, recall
    and F1. None for a metric no resample defines.

    ``method``: "basic" (default): every metric the basic interval of ``n`` ordinary resamples
    (:func:`assay.metrics.stats.percentile_intervals`): AP on a few hundred images is biased
    upward (the precision envelope takes a maximum over noisy points), the replicates are
    biased up again by part of that, and the percentile interval ("percentile") would carry
    the bias twice instead of removing it. "half": AP and AP50 from ``n`` half-samples without
    replacement (:func:`half_sample_weights`, :func:`half_sample_interval`: the bias
    extrapolated at rate 1/sqrt(n)), precision, recall and F1 as "basic".

    Measured (tests/_simulate.py's 3-class detector, population = mean of 4 x 80,000 images,
    ``benchmarks/detection_coverage.py``): at 150 images "half" covers mAP 93-96 % against
    basic's 92-94 % (AP50 92-93 against 90-92); at 500 images 91 % against 92 % (AP50 89
    against 91). On a COCO-val-sized synthetic set (``benchmarks/detection.py``'s, 5,000
    images, 80 classes; 6 draws) the estimate sat 0.006 (about 3 SD) above the AP of 40,000
    images, the half-sample centre 0.003 below it and the basic centre 0.002 above it, and every
    half-sample interval excluded its own estimate; which is nearer the truth depends on the
    bias left at 40,000 images. The bias fell like 1/sqrt(n) only while a class had few boxes
    (75 to 300 images of the 3-class detector), nearer 1/n beyond, so one rate can over-correct a
    mix of class sizes. Hence not the default.

    >>> # see tests/metrics/test_detection_protocols.py for a worked case
    """
    if method not in ("half", "basic", "percentile"):
        raise ValueError(f"unknown method {method!r}; expected 'half', 'basic' or 'percentile'")
    names, est, stats = bootstrap_ap_replicates(
        m, gt_labels, gt_image, dt_image, n_images, n_classes, n=n, seed=seed, counts=counts,
        optimal=optimal, ap=method != "half",
    )  # fmt: skip
    reps = {k: stats[:, j] for j, k in enumerate(names)}
    estimate = {k: float(est[j]) if np.isfinite(est[j]) else None for j, k in enumerate(names)}
    out = percentile_intervals(
        reps, estimate, level=level, method="percentile" if method == "percentile" else "basic"
    )
    if method == "half":
        _, _, halves = bootstrap_ap_replicates(
            m, gt_labels, gt_image, dt_image, n_images, n_classes,
            weights=half_sample_weights(n_images, n, seed),
        )  # fmt: skip
        for j, k in enumerate(AP_KEYS):
            out[k] = half_sample_interval(halves[:, j], float(est[j]), n_images, level=level)
    return out


def replicate_ap(
    m: CocoMatches,
    gt_labels: np.ndarray,
    gt_image: np.ndarray,
    dt_image: np.ndarray,
    weights: np.ndarray,
    n_classes: int,
) -> np.ndarray:
    """COCO AP (101-point, area all) per replicate, IoU threshold and class: (B, T, K), NaN for a
    class no drawn image holds. ``weights`` is (B, n_images): how often each image was drawn in
    each replicate; two models scored with the same weights give paired replicates.

    >>> # see tests/metrics/test_paired.py for a worked case
    """
    weights = np.asarray(weights, dtype=np.float64)
    img = np.asarray(dt_image, np.int64)[m.dt_order]
    out = np.full((len(weights), len(IOU_THRESHOLDS), n_classes), np.nan)
    for b, w in enumerate(weights):
        out[b] = _weighted_ap(m, img, w, gt_labels, gt_image, n_classes)
    return out
