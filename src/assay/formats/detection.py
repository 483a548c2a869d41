"""Columnar domain types for object detection: ground truth and predictions.

Every detection format (COCO JSON, YOLO txt folders, Pascal VOC XML) is read into these two types.
Boxes are ``[x, y, w, h]`` in pixels (float64), one row per box; no per-box Python object exists on
the hot path. Class indices point into ``classes``; image indices point into the image table.

>>> import numpy as np
>>> gt = DetectionGroundTruth.from_arrays(
...     classes=["cat"], image_ids=[1], file_names=["a.jpg"], widths=[64], heights=[48],
...     boxes=[[1.0, 2.0, 10.0, 20.0]], labels=[0], image=[0])
>>> gt.n_boxes, float(gt.area[0])
(1, 200.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError

__all__ = [
    "DetectionGroundTruth",
    "DetectionPredictions",
    "check_boxes",
    "read_detection_gt",
    "read_detection_predictions",
]


@dataclass(eq=False)
class DetectionGroundTruth:
    """Ground-truth boxes of a detection set plus its image table.

    ``category_ids`` keeps the ids the source used (COCO ``category_id``); ``classes[k]`` is the
    name of ``category_ids[k]``. Classes are ordered by category id, as pycocotools orders them.
    ``iscrowd`` marks COCO crowd regions (and Pascal VOC ``difficult`` objects): they are
    never missed and a prediction on them is neither right nor wrong.
    """

    classes: list[str]
    category_ids: np.ndarray  # (K,) int64
    image_ids: np.ndarray  # (I,) int64
    file_names: list[str]
    widths: np.ndarray  # (I,) int64, 0 when unknown
    heights: np.ndarray  # (I,) int64, 0 when unknown
    boxes: np.ndarray  # (N, 4) float64 xywh
    labels: np.ndarray  # (N,) int32 class index
    image: np.ndarray  # (N,) int32 image index
    area: np.ndarray  # (N,) float64
    iscrowd: np.ndarray  # (N,) bool
    ann_ids: np.ndarray  # (N,) int64
    images_root: Path | None = None
    source: str | None = None
    image_paths: list[Path | None] | None = field(default=None)

    @classmethod
    def from_arrays(
        cls,
        *,
        classes: Sequence[str],
        image_ids: Sequence[int] | np.ndarray,
        file_names: Sequence[str],
        widths: Sequence[int] | np.ndarray,
        heights: Sequence[int] | np.ndarray,
        boxes: Sequence[Sequence[float]] | np.ndarray,
        labels: Sequence[int] | np.ndarray,
        image: Sequence[int] | np.ndarray,
        area: Sequence[float] | np.ndarray | None = None,
        iscrowd: Sequence[bool] | np.ndarray | None = None,
        category_ids: Sequence[int] | np.ndarray | None = None,
        ann_ids: Sequence[int] | np.ndarray | None = None,
        images_root: Path | None = None,
        source: str | None = None,
    ) -> DetectionGroundTruth:
        """Build from plain sequences; ``area`` defaults to ``w * h``, ``iscrowd`` to False."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        n = len(b)
        return cls(
            classes=list(classes),
            category_ids=np.arange(len(classes), dtype=np.int64)
            if category_ids is None
            else np.asarray(category_ids, dtype=np.int64),
            image_ids=np.asarray(image_ids, dtype=np.int64),
            file_names=list(file_names),
            widths=np.asarray(widths, dtype=np.int64),
            heights=np.asarray(heights, dtype=np.int64),
            boxes=b,
            labels=np.asarray(labels, dtype=np.int32).reshape(n),
            image=np.asarray(image, dtype=np.int32).reshape(n),
            area=b[:, 2] * b[:, 3] if area is None else np.asarray(area, dtype=np.float64),
            iscrowd=np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool),
            ann_ids=np.arange(1, n + 1, dtype=np.int64)
            if ann_ids is None
            else np.asarray(ann_ids, dtype=np.int64),
            images_root=images_root,
            source=source,
        )

    @property
    def n_images(self) -> int:
        """Number of images in the image table."""
        return len(self.image_ids)

    @property
    def n_boxes(self) -> int:
        """Number of ground-truth boxes (crowd regions included)."""
        return len(self.boxes)

    def image_index(self) -> dict[int, int]:
        """Map image id -> image index."""
        return {int(v): i for i, v in enumerate(self.image_ids.tolist())}

    def category_index(self) -> dict[int, int]:
        """Map category id -> class index."""
        return {int(v): i for i, v in enumerate(self.category_ids.tolist())}


@dataclass(eq=False)
class DetectionPredictions:
    """Predicted boxes, aligned to a :class:`DetectionGroundTruth` (image and class indices)."""

    boxes: np.ndarray  # (M, 4) float64 xywh
    labels: np.ndarray  # (M,) int32
    scores: np.ndarray  # (M,) float64
    image: np.ndarray  # (M,) int32
    source: str | None = None

    @property
    def n_boxes(self) -> int:
        """Number of predicted boxes."""
        return len(self.boxes)

    @classmethod
    def empty(cls, source: str | None = None) -> DetectionPredictions:
        """No predictions at all (valid: every AP is 0)."""
        return cls(
            np.zeros((0, 4)), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int32), source
        )


def check_boxes(boxes: np.ndarray, *, file: str | None, where: str) -> None:
    """Raise :class:`InputError` naming the first box that is not finite or has ``w, h <= 0``.

    ``where`` is a format string with ``{i}`` for the entry index, e.g. ``"annotations[{i}]"``.

    >>> check_boxes(np.array([[0.0, 0.0, 2.0, 2.0]]), file="a.json", where="entry {i}")
    """
    if len(boxes) == 0:
        return
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("bbox is not finite", file=file, where=where.format(i=i))
    bad = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"bbox has non-positive size {boxes[i].tolist()}", file=file, where=where.format(i=i)
        )


def read_detection_gt(gt: Any, *, images_root: str | Path | None = None) -> DetectionGroundTruth:
    """Ground truth from a COCO json / dict, a YOLO folder (or data.yaml) or a VOC folder.

    A folder holding ``Annotations/`` is Pascal VOC, any other folder (or a .yaml) is YOLO.

    >>> read_detection_gt({"images": [], "categories": [], "annotations": []}).n_images
    0
    """
    if isinstance(gt, DetectionGroundTruth):
        return gt
    from assay.formats import coco

    if isinstance(gt, dict):
        return coco.load_detection_gt(gt, images_root=images_root)
    p = Path(gt)
    if p.is_dir() and (p / "Annotations").is_dir():
        from assay.formats import voc

        return voc.load_detection_gt(p, images_root=images_root)
    if p.is_dir() or p.suffix in (".yaml", ".yml"):
        from assay.formats import yolo

        return yolo.load_detection_gt(p, images_root=images_root)
    if not p.exists():
        raise InputError("no such file or folder", file=str(p))
    return coco.load_detection_gt(p, images_root=images_root)


def read_detection_predictions(dt: Any, gt: DetectionGroundTruth) -> DetectionPredictions:
    """Predictions from a COCO results json / list or a YOLO txt folder (6th column = score).

    >>> gt = read_detection_gt({"images": [], "categories": [], "annotations": []})
    >>> read_detection_predictions([], gt).n_boxes
    0
    """
    if isinstance(dt, DetectionPredictions):
        return dt
    from assay.formats import coco

    if isinstance(dt, list):
        return coco.load_detection_results(dt, gt)
    p = Path(dt)
    if p.is_dir():
        from assay.formats import yolo

        return yolo.load_detection_results(p, gt)
    if not p.exists():
        raise InputError("no such file or folder", file=str(p))
    return coco.load_detection_results(p, gt)
