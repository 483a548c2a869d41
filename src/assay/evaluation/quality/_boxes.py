"""Properties of ground-truth detection boxes, per box and per image.

Relative measures divide by the image's size; an image of unknown size (width or height 0) gets
NaN for them. Crowd regions are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.quality._common import PropertyTable
from assay.metrics.detection.iou import iou_matrix

__all__ = ["BOX_PROPERTIES", "box_properties"]

BOX_PROPERTIES: dict[str, str] = {
    "boxes": "ground-truth boxes in the image (crowd regions left out)",
    "box_area": "mean box area relative to the image's area",
    "min_box_area": "smallest box area relative to the image's area",
    "box_aspect": "mean box aspect ratio (width / height)",
    "border_distance": "smallest distance of a box to the image border, relative to the image "
    "side (0: a box touches the border)",
    "occlusion": "largest IoU between two ground-truth boxes of the image",
}


def box_properties(
    boxes: Any,
    image: Any,
    widths: Sequence[float] | np.ndarray,
    heights: Sequence[float] | np.ndarray,
    *,
    iscrowd: Any = None,
) -> tuple[PropertyTable, dict[str, np.ndarray]]:
    """(per-image properties of :data:`BOX_PROPERTIES`, per-box arrays ``area``, ``aspect``,
    ``border_distance`` and ``occlusion`` (NaN for crowd boxes)). ``boxes`` are (N, 4) xywh in
    pixels, ``image`` the image index of each box, ``widths`` / ``heights`` one per image. An
    image without boxes has ``boxes`` 0 and NaN elsewhere.

    >>> per_image, per_box = box_properties([[0, 0, 10, 10], [5, 0, 10, 10]], [0, 0], [100], [50])
    >>> per_image.values["boxes"].tolist(), round(float(per_image.values["occlusion"][0]), 4)
    ([2.0], 0.3333)
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    img = np.asarray(image, dtype=np.int64).reshape(-1)
    w_img = np.asarray(widths, dtype=np.float64).reshape(-1)
    h_img = np.asarray(heights, dtype=np.float64).reshape(-1)
    n_img = len(w_img)
    if len(h_img) != n_img:
        raise InputError(f"box_properties: {n_img} widths but {len(h_img)} heights")
    if len(img) != len(b):
        raise InputError(f"box_properties: {len(b)} boxes but {len(img)} image indices")
    if len(img) and (img.min() < 0 or img.max() >= n_img):
        raise InputError("box_properties: an image index is outside the image table")
    if not np.isfinite(b).all():
        raise InputError("box_properties: a box coordinate is not a finite number")
    crowd = np.zeros(len(b), bool) if iscrowd is None else np.asarray(iscrowd, bool).reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(w_img[img] > 0, w_img[img], np.nan)
        H = np.where(h_img[img] > 0, h_img[img], np.nan)
        area = b[:, 2] * b[:, 3] / (W * H)
        aspect = np.where(b[:, 3] > 0, b[:, 2] / b[:, 3], np.nan)
        border = np.minimum.reduce(
            [b[:, 0] / W, b[:, 1] / H, (W - b[:, 0] - b[:, 2]) / W, (H - b[:, 1] - b[:, 3]) / H]
        )
    border = np.maximum(border, 0.0)
    occlusion = np.full(len(b), np.nan)
    keep = np.flatnonzero(~crowd)
    order = keep[np.argsort(img[keep], kind="stable")]
    starts = np.searchsorted(img[order], np.arange(n_img + 1))
    per: dict[str, np.ndarray] = {k: np.full(n_img, np.nan) for k in BOX_PROPERTIES}
    per["boxes"] = np.diff(starts).astype(np.float64)
    for i in np.flatnonzero(per["boxes"] > 0).tolist():
        idx = order[starts[i] : starts[i + 1]]
        if len(idx) > 1:
            m = iou_matrix(b[idx], b[idx], np.zeros(len(idx), dtype=np.bool_))
            np.fill_diagonal(m, 0.0)
            occlusion[idx] = m.max(axis=1)
        else:
            occlusion[idx] = 0.0
        per["box_area"][i] = np.mean(area[idx])
        per["min_box_area"][i] = np.min(area[idx])
        a = aspect[idx]
        per["box_aspect"][i] = np.mean(a[np.isfinite(a)]) if np.isfinite(a).any() else np.nan
        per["border_distance"][i] = np.min(border[idx])
        per["occlusion"][i] = np.max(occlusion[idx])
    nan_crowd = np.where(crowd, np.nan, 1.0)
    per_box = {
        "area": area * nan_crowd,
        "aspect": aspect * nan_crowd,
        "border_distance": border * nan_crowd,
        "occlusion": occlusion,
    }
    return PropertyTable(values=per, descriptions=dict(BOX_PROPERTIES)), per_box
