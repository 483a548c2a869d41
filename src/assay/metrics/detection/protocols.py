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

import math
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
    "corrected_halves",
    "half_sample_interval",
    "half_sample_weights",
    "nested_quarter_weights",
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
    corrected: np.ndarray | None = None,
) -> dict[str, float] | None:
    """The interval of a statistic from its half-sample ``replicates``
    (:func:`half_sample_weights`): ``estimate - bias ± z se``; None without an estimate or two
    finite replicates.

    A half-sample is a real sample of ``m = n_images // 2`` images of the population (no image
    twice), so its spread estimates that of the estimate on ``n`` images (a mean's variance
    without replacement, (1 - m/n) s^2 / m, is s^2 / n at m = n/2) and its mean is the
    statistic's expectation at m images. With the bias falling as ``n^-rate``,
    ``mean - estimate = bias_n ((n/m)^rate - 1)`` gives ``bias_n``. COCO AP's bias falls like
    1 / sqrt(n) (``rate`` 0.5: the precision envelope takes a maximum over points whose noise
    is O(1/sqrt(n)); measured at 75 to 600 images, tests/_simulate.py's detector); a ratio's
    like 1/n (``rate`` 1).

    Without ``corrected``, se is the halves' spread, which leaves out that the bias is itself
    estimated. ``corrected``: each half's own bias-corrected value (its bias read the same
    way from the two quarters it splits into, :func:`nested_quarter_weights`), whose spread
    carries that noise too, measured at half the size. The correction is a bias estimate, of
    size 1 / sqrt(m) and relative noise 1 / sqrt(m), so its variance falls like 1 / m^2: the
    corrected halves' spread exceeds the halves' by 2^2 - 1 = 3 times its variance at n, and
    se^2 = var(halves) + (var(corrected) - var(halves)) / 3.

    >>> r = half_sample_interval(np.array([0.5, 0.7, 0.5, 0.7]), 0.58, 100, level=0.5)
    >>> round(r["low"], 3), round(r["high"], 3)
    (0.454, 0.61)
    """
    r = np.asarray(replicates, np.float64)
    keep = np.isfinite(r)
    m = n_images // 2
    if keep.sum() < 2 or not np.isfinite(estimate) or m < 1:
        return None
    factor = (n_images / m) ** rate - 1.0
    bias = (float(r[keep].mean()) - estimate) / factor
    var = float(r[keep].var(ddof=1))
    if corrected is not None:
        c = np.asarray(corrected, np.float64)
        c = c[np.isfinite(c)]
        if c.size >= 2:
            var += max(float(c.var(ddof=1)) - var, 0.0) / 3.0
    half = NormalDist().inv_cdf((1.0 + level) / 2.0) * math.sqrt(var)
    return {"low": estimate - bias - half, "high": estimate - bias + half}


def nested_quarter_weights(halves: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two (n, n_images) 0 / 1 weights that split each half-sample of ``halves``
    (:func:`half_sample_weights`) into two quarters at random (``np.random.default_rng(seed)``).

    >>> q1, q2 = nested_quarter_weights(half_sample_weights(8, 2, 0), 1)
    >>> (q1 + q2).sum(axis=1).tolist(), (q1 * q2).sum().item()
    ([4.0, 4.0], 0.0)
    """
    rng = np.random.default_rng(seed)
    first = np.zeros_like(halves)
    for b, row in enumerate(halves):
        drawn = np.flatnonzero(row)
        first[b, rng.permutation(drawn)[: len(drawn) // 2]] = 1.0
    return first, halves - first


def corrected_halves(
    halves: np.ndarray, first: np.ndarray, second: np.ndarray, *, rate: float = 0.5
) -> np.ndarray:
    """Each half-sample's bias-corrected value: ``half - (mean of its two quarters - half) /
    (2^rate - 1)`` (:func:`half_sample_interval`'s correction one level down)."""
    quarters = (np.asarray(first, np.float64) + np.asarray(second, np.float64)) / 2.0
    h = np.asarray(halves, np.float64)
    return h - (quarters - h) / (2.0**rate - 1.0)


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
    method: str = "corrected",
) -> dict[str, dict[str, float] | None]:
    """Intervals over images of mAP (.50:.95) and AP50 (101-point, area all), and with
    ``counts`` (TP, FP, FN per image at one operating point) or ``optimal`` (that point
    re-chosen per resample, :func:`bootstrap_ap_replicates`) of the overall precision, recall
    and F1. None for a metric no resample defines.

    AP on a few hundred images is biased upward: the precision envelope takes a maximum over
    noisy points, so the bias falls like 1 / sqrt(n). A resample with replacement repeats
    images, whose boxes then move together, and sees only part of that bias (40 % of it at
    150 images), so neither the percentile interval (the bias twice) nor the basic one (once
    less the part seen) covers. ``method``:

    - "corrected" (default): AP and AP50 from ``n`` half-samples without replacement
      (:func:`half_sample_weights`), each split into two quarters
      (:func:`nested_quarter_weights`): the estimate less the bias the halves show at rate
      1 / sqrt(n), with a standard error that counts the noise of that correction
      (:func:`half_sample_interval` with :func:`corrected_halves`); precision, recall and F1
      (ratios of counts, bias O(1/n)) the basic interval of ``n`` ordinary resamples. Costs
      three AP computations per resample.
    - "half": the same without the correction's noise in the standard error.
    - "basic" / "percentile": every metric from ``n`` ordinary resamples
      (:func:`assay.metrics.stats.percentile_intervals`).

    Coverage of mAP / AP50 (``benchmarks/detection_coverage.py``; tests/_simulate.py's
    3-class detector, population = mean of 4 x 80,000 images; 400 / 300 / 100 datasets at
    150 / 500 / 1,500 images): corrected 97.0 / 95.8 %, 93.3 / 91.3, 93.0 / 93.0; basic
    92.8 / 90.5, 92.0 / 89.3, 92.0 / 90.0; half 95.5 / 92.5, 91.7 / 89.3, 93.0 / 92.0.

    >>> # see tests/metrics/test_detection_protocols.py for a worked case
    """
    if method not in ("corrected", "half", "basic", "percentile"):
        raise ValueError(
            f"unknown method {method!r}; expected 'corrected', 'half', 'basic' or 'percentile'"
        )
    halving = method in ("corrected", "half")
    names, est, stats = bootstrap_ap_replicates(
        m, gt_labels, gt_image, dt_image, n_images, n_classes, n=n, seed=seed, counts=counts,
        optimal=optimal, ap=not halving,
    )  # fmt: skip
    reps = {k: stats[:, j] for j, k in enumerate(names)}
    estimate = {k: float(est[j]) if np.isfinite(est[j]) else None for j, k in enumerate(names)}
    out = percentile_intervals(
        reps, estimate, level=level, method="percentile" if method == "percentile" else "basic"
    )
    if halving:
        args = (m, gt_labels, gt_image, dt_image, n_images, n_classes)
        weights = half_sample_weights(n_images, n, seed)
        _, _, halves = bootstrap_ap_replicates(*args, weights=weights)
        corrected: list[np.ndarray | None] = [None] * len(AP_KEYS)
        if method == "corrected":
            first, second = nested_quarter_weights(weights, seed + 1)
            _, _, q1 = bootstrap_ap_replicates(*args, weights=first)
            _, _, q2 = bootstrap_ap_replicates(*args, weights=second)
            corrected = [corrected_halves(halves[:, j], q1[:, j], q2[:, j]) for j in range(2)]
        for j, k in enumerate(AP_KEYS):
            out[k] = half_sample_interval(
                halves[:, j], float(est[j]), n_images, level=level, corrected=corrected[j]
            )
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
