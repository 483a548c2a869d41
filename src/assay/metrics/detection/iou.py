"""Box IoU exactly as pycocotools' ``maskUtils.iou`` computes it for boxes (``bbIou`` in C).

For a crowd ground-truth region the union is the detection's own area (intersection / detection
area), so a detection inside a crowd region overlaps it fully.

>>> import numpy as np
>>> float(box_iou(np.array([0.0, 0, 10, 10]), np.array([5.0, 0, 10, 10]), False))
0.3333333333333333
>>> pairs = image_pairs(np.array([[0.0, 0, 10, 10]]), np.array([0]),
...     np.array([[0.0, 0, 10, 10], [50.0, 50, 5, 5]]), np.array([0, 0]), np.array([False]), 1)
>>> pairs[1].tolist(), pairs[2].tolist()
([0], [1.0])
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["box_iou", "image_pairs", "iou_matrix"]


@nb.njit(cache=True, inline="always")
def box_iou(d, g, crowd):  # pragma: no cover - compiled
    """IoU of detection box ``d`` and ground-truth box ``g`` (xywh), pycocotools' arithmetic."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    da = d[2] * d[3]
    u = da if crowd else da + g[2] * g[3] - i
    return i / u


@nb.njit(cache=True)
def iou_matrix(dt, gt, crowd):  # pragma: no cover - compiled
    """(n_dt, n_gt) IoU matrix, like ``maskUtils.iou(dt, gt, iscrowd)``."""
    out = np.zeros((dt.shape[0], gt.shape[0]))
    for i in range(dt.shape[0]):
        for j in range(gt.shape[0]):
            out[i, j] = box_iou(dt[i], gt[j], crowd[j])
    return out


@nb.njit(cache=True)
def _pairs(gt_ptr, dt_ptr, gtb, dtb, crowd, count_only, out_gt, out_iou, dt_npairs):
    n = 0
    for im in range(gt_ptr.shape[0] - 1):
        for d in range(dt_ptr[im], dt_ptr[im + 1]):
            c = 0
            for g in range(gt_ptr[im], gt_ptr[im + 1]):
                v = box_iou(dtb[d], gtb[g], crowd[g])
                if v > 0:
                    if not count_only:
                        out_gt[n] = g
                        out_iou[n] = v
                    n += 1
                    c += 1
            dt_npairs[d] = c
    return n


def image_pairs(
    gt_boxes: np.ndarray,
    gt_image: np.ndarray,
    dt_boxes: np.ndarray,
    dt_image: np.ndarray,
    gt_crowd: np.ndarray,
    n_images: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All overlapping (detection, ground truth) pairs of the same image, class-agnostic.

    Inputs must be sorted by image. Returns ``(dt_ptr, pair_gt, pair_iou)``: the pairs of detection
    ``d`` are ``pair_gt[dt_ptr[d]:dt_ptr[d + 1]]`` (ground-truth indices in input order) with their
    IoU (crowd IoU for crowd regions). Pairs with IoU 0 are left out.
    """
    gt_ptr = np.searchsorted(gt_image, np.arange(n_images + 1), "left")
    dt_ptr_img = np.searchsorted(dt_image, np.arange(n_images + 1), "left")
    gtb = np.ascontiguousarray(gt_boxes, np.float64).reshape(-1, 4)
    dtb = np.ascontiguousarray(dt_boxes, np.float64).reshape(-1, 4)
    crowd = np.asarray(gt_crowd, np.bool_)
    npairs = np.zeros(len(dtb), np.int64)
    dummy_g = np.zeros(0, np.int32)
    dummy_v = np.zeros(0)
    n = _pairs(gt_ptr, dt_ptr_img, gtb, dtb, crowd, True, dummy_g, dummy_v, npairs)
    pair_gt = np.zeros(n, np.int32)
    pair_iou = np.zeros(n)
    _pairs(gt_ptr, dt_ptr_img, gtb, dtb, crowd, False, pair_gt, pair_iou, npairs)
    dt_ptr = np.zeros(len(dtb) + 1, np.int64)
    np.cumsum(npairs, out=dt_ptr[1:])
    return dt_ptr, pair_gt, pair_iou
