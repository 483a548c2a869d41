"""Read detection ground truth and predictions in any supported format.

The readers (:mod:`~assay.formats.coco`, :mod:`~assay.formats.yolo`, :mod:`~assay.formats.voc`)
import only the types of :mod:`assay.formats.detection_types`; this module picks the reader, and
re-exports the types so callers need one import.

>>> read_detection_gt({"images": [], "categories": [], "annotations": []}).n_images
0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.formats import coco, voc, yolo
from assay.formats.detection_types import (
    DetectionGroundTruth,
    DetectionPredictions,
    ImageFiles,
    check_boxes,
    locate_images,
)
from assay.formats.files import check_input

__all__ = [
    "DetectionGroundTruth",
    "DetectionPredictions",
    "ImageFiles",
    "check_boxes",
    "locate_images",
    "read_detection_gt",
    "read_detection_predictions",
]


def read_detection_gt(
    gt: Any, *, images_root: str | Path | None = None, allow_outside: bool = False
) -> DetectionGroundTruth:
    """Ground truth from a COCO json / dict, a YOLO folder (or data.yaml) or a VOC folder.

    A folder holding ``Annotations/`` is Pascal VOC, any other folder (or a .yaml) is YOLO.
    ``allow_outside`` lets YOLO images be links to outside the images folder (COCO and VOC
    ``file_name`` are checked where they are looked for: :func:`locate_images`).

    >>> read_detection_gt({"images": [{"id": 1}], "categories": [], "annotations": []}).n_images
    1
    """
    if isinstance(gt, DetectionGroundTruth):
        return gt
    if isinstance(gt, dict):
        return coco.load_detection_gt(gt, images_root=images_root)
    p = check_input(gt, folder_ok=True)
    if p.is_dir() and (p / "Annotations").is_dir():
        return voc.load_detection_gt(p, images_root=images_root)
    if p.is_dir() or p.suffix in (".yaml", ".yml"):
        return yolo.load_detection_gt(p, images_root=images_root, allow_outside=allow_outside)
    return coco.load_detection_gt(p, images_root=images_root)


def read_detection_predictions(dt: Any, gt: DetectionGroundTruth) -> DetectionPredictions:
    """Predictions from a COCO results json / list or a YOLO txt folder (6th column = score).

    >>> gt = read_detection_gt({"images": [], "categories": [], "annotations": []})
    >>> read_detection_predictions([], gt).n_boxes
    0
    """
    if isinstance(dt, DetectionPredictions):
        return dt
    if isinstance(dt, list):
        return coco.load_detection_results(dt, gt)
    p = check_input(dt, folder_ok=True)
    if p.is_dir():
        return yolo.load_detection_results(p, gt)
    return coco.load_detection_results(p, gt)
