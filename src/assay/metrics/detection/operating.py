"""The F1-optimal confidence re-chosen in every bootstrap resample.

Detection's precision, recall and F1 are read at a confidence; by default the F1-optimal one,
chosen on the same images. A bootstrap that keeps that confidence fixed treats the choice as
given, so the spread of F1 (a maximum over confidences) and of the precision and recall read
there is too small: equal detectors compared at their own F1-optimal points were called
different on precision in 11.5 % of pairs instead of 5 %. :func:`optimal_counts` repeats the
choice in each resample: the class-agnostic matching does not depend on the weights (greedy by
score, one image at a time), so a resample's F1 sweep is the same score-sorted predictions with
each one weighed by how often its image was drawn.

>>> import numpy as np
>>> key = -np.array([0.9, 0.8, 0.7])  # three predictions, descending score
>>> tp, img = np.array([True, False, True]), np.array([0, 1, 1])
>>> optimal_counts(key, tp, img, np.array([1, 1]), np.ones((1, 2))).tolist()
[[2.0, 1.0, 0.0]]
>>> optimal_counts(key, tp, img, np.array([1, 1]), np.array([[1.0, 0.0]])).tolist()
[[1.0, 0.0, 0.0]]
"""

from __future__ import annotations

import numba as nb
import numpy as np

from assay.errors import InputError

__all__ = ["optimal_counts"]


@nb.njit(cache=True)
def _optimal(key, tp, img, gt_per_image, weights):  # pragma: no cover - compiled
    n_rep = weights.shape[0]
    n = key.shape[0]
    out = np.full((n_rep, 3), np.nan)
    for b in range(n_rep):
        w = weights[b]
        n_gt = 0.0
        for i in range(gt_per_image.shape[0]):
            n_gt += w[i] * gt_per_image[i]
        t = 0.0
        f = 0.0
        best = -1.0
        bt = bf = 0.0
        found = False
        for i in range(n):
            wt = w[img[i]]
            if tp[i]:
                t += wt
            else:
                f += wt
            if i + 1 < n and key[i + 1] == key[i]:
                continue  # a confidence is the whole run of equal scores
            den = t + f + n_gt  # 2 TP + FP + FN
            if den > 0:
                f1 = 2.0 * t / den
                if f1 > best:  # the first (highest) confidence among equal F1, as f1_sweep
                    best, bt, bf, found = f1, t, f, True
        if found:
            out[b, 0] = bt
            out[b, 1] = bf
            out[b, 2] = n_gt - bt
    return out


def optimal_counts(
    key: np.ndarray,
    tp: np.ndarray,
    img: np.ndarray,
    gt_per_image: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """(B, 3): TP, FP and FN at the F1-optimal confidence of each resample.

    ``key``: minus the score of every counted prediction (crowd-ignored ones left out),
    ascending; ``tp``: whether it is a true positive at the IoU; ``img``: its image;
    ``gt_per_image``: the non-crowd ground truth of each image; ``weights`` (B, n_images): how
    often each image is drawn. The choice is :func:`assay.metrics.detection.matching.f1_sweep`'s
    (the highest confidence among equal F1) on the weighted counts, so ones reproduce the
    evaluation's own F1-optimal point. NaN rows where no confidence defines F1.
    """
    key = np.asarray(key, np.float64)
    tp = np.asarray(tp, np.bool_)
    img = np.asarray(img, np.int64)
    gt = np.asarray(gt_per_image, np.float64)
    w = np.asarray(weights, np.float64)
    if w.ndim != 2 or w.shape[1] != len(gt):
        raise InputError(f"weights: expected (B, {len(gt)}) image weights, got {w.shape}")
    if not (len(key) == len(tp) == len(img)):
        raise InputError("key, tp and img: one entry per prediction each")
    return _optimal(key, tp, img, gt, w)
