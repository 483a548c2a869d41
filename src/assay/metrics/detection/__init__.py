"""Detection kernels: COCO evaluation, class-agnostic matching, AP protocols, bootstrap.

>>> from assay.metrics.detection import IOU_THRESHOLDS
>>> len(IOU_THRESHOLDS)
10
"""

from assay.metrics.detection.cocoeval import (
    AREA_LABELS,
    AREA_RANGES,
    IOU_THRESHOLDS,
    MAX_DETS,
    RECALL_THRESHOLDS,
    STAT_NAMES,
    CocoEval,
    CocoMatches,
    bucket_sort,
    coco_accumulate,
    coco_evaluate,
    coco_match,
    coco_summarize,
)
from assay.metrics.detection.iou import box_iou, image_pairs, iou_matrix

__all__ = [
    "AREA_LABELS",
    "AREA_RANGES",
    "IOU_THRESHOLDS",
    "MAX_DETS",
    "RECALL_THRESHOLDS",
    "STAT_NAMES",
    "CocoEval",
    "CocoMatches",
    "box_iou",
    "bucket_sort",
    "coco_accumulate",
    "coco_evaluate",
    "coco_match",
    "coco_summarize",
    "image_pairs",
    "iou_matrix",
]
