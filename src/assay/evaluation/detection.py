"""Detection evaluation: ``evaluate_detections`` and the ``DetectionResults`` it returns.

The COCO numbers are computed once (identical to pycocotools). The class-agnostic matching behind
the confusion matrix, P/R/F1 and the image feed is one numba pass over precomputed overlapping
pairs per IoU, cached; any confidence is then a mask, so slider moves cost milliseconds.

>>> from assay.demo.shapes import make_shapes_dataset
>>> import tempfile, pathlib
>>> gt_path, dt_path = make_shapes_dataset(pathlib.Path(tempfile.mkdtemp()), n_images=8)
>>> res = evaluate_detections(gt_path, dt_path)
>>> sorted(res.coco_stats())[:3]
['AP', 'AP50', 'AP75']
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation._detection_feed import NOT_AN_OBJECT, NOT_DETECTED, _FeedMixin
from assay.evaluation._detection_outcomes import _At, _Sweep
from assay.formats.detection import (
    DetectionGroundTruth,
    DetectionPredictions,
    read_detection_gt,
    read_detection_predictions,
)
from assay.metrics.detection import (
    IOU_THRESHOLDS,
    RECALL_THRESHOLDS,
    STAT_NAMES,
    CocoMatches,
    coco_evaluate,
    coco_summarize,
    image_pairs,
)
from assay.metrics.detection.matching import f1_sweep, prf_from_confusion
from assay.metrics.detection.protocols import PROTOCOLS, bootstrap_ap, protocol_ap

__all__ = ["DetectionResults", "evaluate_detections"]

FORMAT_VERSION = 1
_MATCH_FIELDS = (
    "gt_order",
    "dt_order",
    "dt_rank",
    "dt_matched",
    "dt_ignored",
    "gt_ignored",
    "dt_gt",
    "acc_order",
    "class_ptr",
    "npig",
)


def _f(x: Any) -> float | None:
    """A float for JSON: nan / -1 sentinels become None."""
    v = float(x)
    return None if np.isnan(v) else v


def _mean_valid(s: np.ndarray) -> float | None:
    v = s[s > -1]
    return None if v.size == 0 else float(v.mean())


def evaluate_detections(
    gt: Any, dt: Any, *, images_root: str | Path | None = None
) -> DetectionResults:
    """Evaluate detections against ground truth (paths, loaded COCO dict/list, or columnar types).

    >>> gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 50}],
    ...       "categories": [{"id": 1, "name": "cat"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9],
    ...                        "area": 81, "iscrowd": 0}]}
    >>> res = evaluate_detections(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9],
    ...                                 "score": 0.8}])
    >>> round(res.coco_stats()["AP"], 6), res.prf()["overall"]["f1"]
    (1.0, 1.0)
    """
    g = read_detection_gt(gt, images_root=images_root)
    return DetectionResults(g, read_detection_predictions(dt, g))


class DetectionResults(_FeedMixin):
    """A detection evaluation: COCO numbers plus instant IoU / confidence queries.

    >>> # see evaluate_detections for how to build one
    """

    def __init__(
        self,
        gt: DetectionGroundTruth,
        dt: DetectionPredictions,
        *,
        _state: dict[str, Any] | None = None,
    ) -> None:
        self.gt = gt
        self.dt = dt
        self.classes = list(gt.classes)
        self._cache: OrderedDict[float, _Sweep] = OrderedDict()
        self._at_cache: OrderedDict[tuple[float, float], _At] = OrderedDict()
        self._by_image: tuple[np.ndarray, np.ndarray] | None = None
        k, n_img = len(gt.classes), gt.n_images
        if _state is not None:
            self.__dict__.update(_state)
            return
        self._image_rank = np.argsort(np.argsort(gt.image_ids, kind="stable"), kind="stable")
        ev = coco_evaluate(
            gt.boxes,
            gt.labels,
            gt.image,
            gt.area,
            gt.iscrowd,
            dt.boxes,
            dt.labels,
            dt.image,
            dt.scores,
            n_images=n_img,
            n_classes=k,
            image_rank=self._image_rank,
        )
        self.precision: np.ndarray = ev.precision
        self.recall: np.ndarray = ev.recall
        self.scores: np.ndarray = ev.scores
        self._m: CocoMatches = ev.matches
        self._gt_sort = np.argsort(gt.image, kind="stable")
        self._dt_sort = np.lexsort((-dt.scores, dt.image))
        dt_ptr, pair_gt, pair_iou = image_pairs(
            gt.boxes[self._gt_sort],
            gt.image[self._gt_sort],
            dt.boxes[self._dt_sort],
            dt.image[self._dt_sort],
            gt.iscrowd[self._gt_sort],
            n_img,
        )
        self._pairs = (dt_ptr, self._gt_sort[pair_gt].astype(np.int32), pair_iou)

    # ----------------------------------------------------------------- COCO numbers
    def coco_stats(self) -> dict[str, float]:
        """The 12 numbers of pycocotools' ``summarize()`` in its order (-1 where undefined)."""
        return dict(
            zip(STAT_NAMES, coco_summarize(self.precision, self.recall).tolist(), strict=True)
        )

    @staticmethod
    def _iou_index(iou: float) -> int:
        hit = np.flatnonzero(np.isclose(IOU_THRESHOLDS, float(iou)))
        if not len(hit):
            raise ParameterError("iou: must be one of 0.50, 0.55, ..., 0.95 for this curve")
        return int(hit[0])

    def per_class(self) -> dict[str, dict[str, float | None]]:
        """Per class AP (.50:.95), AP50, AP75, AR100, APs, APm, APl; None without ground truth."""
        p, r = self.precision, self.recall
        out = {}
        for k, name in enumerate(self.classes):
            out[name] = {
                "AP": _mean_valid(p[:, :, k, 0, 2]),
                "AP50": _mean_valid(p[0, :, k, 0, 2]),
                "AP75": _mean_valid(p[5, :, k, 0, 2]),
                "AR100": _mean_valid(r[:, k, 0, 2]),
                "APs": _mean_valid(p[:, :, k, 1, 2]),
                "APm": _mean_valid(p[:, :, k, 2, 2]),
                "APl": _mean_valid(p[:, :, k, 3, 2]),
            }
        return out

    def pr_curve(self, label: str, iou: float = 0.5) -> dict[str, Any]:
        """101-point interpolated PR curve of one class at one of the 10 COCO IoU thresholds."""
        k, t = self._label(label), self._iou_index(iou)
        prec = self.precision[t, :, k, 0, 2]
        return {
            "label": label,
            "iou": float(IOU_THRESHOLDS[t]),
            "recall": RECALL_THRESHOLDS.tolist(),
            "precision": [None if v < 0 else float(v) for v in prec],
            "scores": [None if v < 0 else float(v) for v in self.scores[t, :, k, 0, 2]],
            "ap": _mean_valid(prec),
        }

    # ----------------------------------------------------------------- matching queries
    def confusion_matrix(self, iou: float = 0.5, score: float = 0.0) -> dict[str, Any]:
        """Rows actual classes + "Not an object", columns predicted classes + "Not detected"."""
        cm = self._counts(iou, score)
        return {
            "rows": [*self.classes, NOT_AN_OBJECT],
            "columns": [*self.classes, NOT_DETECTED],
            "matrix": cm.tolist(),
            "iou": float(iou),
            "score": float(score),
        }

    def prf(self, iou: float = 0.5, score: float = 0.0) -> dict[str, Any]:
        """Precision, recall, F1, tp, fp, fn per class and overall (micro) from the matching."""
        at = self._at(iou, score)
        if at.prf is None:
            r = prf_from_confusion(at.counts())
            rows = [
                {
                    "tp": int(r["tp"][i]),
                    "fp": int(r["fp"][i]),
                    "fn": int(r["fn"][i]),
                    "precision": _f(r["precision"][i]),
                    "recall": _f(r["recall"][i]),
                    "f1": _f(r["f1"][i]),
                }
                for i in range(len(self.classes) + 1)
            ]
            at.prf = {
                "iou": float(iou),
                "score": float(score),
                "per_class": dict(zip(self.classes, rows[:-1], strict=True)),
                "overall": rows[-1],
            }
        p = at.prf
        return {
            **p,
            "per_class": {c: dict(row) for c, row in p["per_class"].items()},
            "overall": dict(p["overall"]),
        }

    def optimal_score(self, metric: str = "f1", iou: float = 0.5) -> dict[str, Any]:
        """The confidence maximising overall ``metric`` (f1, or precision / recall) at ``iou``."""
        if metric not in ("f1", "precision", "recall"):
            raise ParameterError(f"metric: unknown {metric!r}; expected f1, precision or recall")
        sw = f1_sweep(
            self._match(iou).m, self.gt.labels, self.gt.iscrowd, self.dt.labels, self.dt.scores
        )
        v = np.nan_to_num(sw[metric], nan=-1.0)
        if not len(v) or v.max() < 0:
            return {"metric": metric, "iou": float(iou), "score": 0.0, "value": None}
        i = int(np.argmax(v))
        return {
            "metric": metric,
            "iou": float(iou),
            "score": float(sw["score"][i]),
            "value": float(v[i]),
        }

    # ----------------------------------------------------------------- beyond the peers
    def protocols(self) -> dict[str, Any]:
        """mAP under COCO 101-point, VOC 11-point and all-point interpolation, side by side."""
        out: dict[str, Any] = {"iou": 0.5, "protocols": list(PROTOCOLS)}
        per: dict[str, dict[str, float | None]] = {c: {} for c in self.classes}
        for name in PROTOCOLS:
            ap = protocol_ap(
                self._m,
                self.gt.labels,
                self.gt.image,
                self.dt.image,
                self.gt.n_images,
                len(self.classes),
                name,
            )
            valid = ~np.isnan(ap[0])
            out[name] = {
                "AP50": float(ap[0, valid].mean()) if valid.any() else None,
                "AP75": float(ap[5, valid].mean()) if valid.any() else None,
                "AP": float(ap[:, valid].mean()) if valid.any() else None,
            }
            for k, c in enumerate(self.classes):
                per[c][name] = _f(ap[0, k])
        out["per_class_AP50"] = per
        return out

    def bootstrap(
        self, n: int = 100, seed: int = 0, level: float = 0.95
    ) -> dict[str, dict[str, float | None]]:
        """Percentile bootstrap CI over images of mAP (AP) and AP50; seeded."""
        return bootstrap_ap(
            self._m,
            self.gt.labels,
            self.gt.image,
            self.dt.image,
            self.gt.n_images,
            len(self.classes),
            n=n,
            seed=seed,
            level=level,
        )

    def to_json(self, iou: float = 0.5, score: float = 0.0) -> dict[str, Any]:
        """The JSON report: task, coco, per_class, confusion, iou, score, optimal, protocols."""
        coco = {k: (None if v == -1 else v) for k, v in self.coco_stats().items()}
        per = {
            c: {k: v[k] for k in ("AP", "AP50", "AP75", "AR100")}
            for c, v in self.per_class().items()
        }
        return {
            "task": "detection",
            "coco": coco,
            "per_class": per,
            "confusion": self.confusion_matrix(iou, score),
            "iou": float(iou),
            "score": float(score),
            "optimal": self.optimal_score("f1", iou),
            "protocols": self.protocols(),
        }

    def image_paths(self) -> list[Path | None]:
        """Each image's file when an images root is known and the file exists, else None."""
        g = self.gt
        if g.image_paths is not None:
            return list(g.image_paths)
        if g.images_root is None:
            return [None] * g.n_images
        root = Path(g.images_root)
        out: list[Path | None] = []
        for f in g.file_names:
            p = root / f if f else None
            out.append(p if p is not None and p.is_file() else None)
        return out

    # ----------------------------------------------------------------- persistence
    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(dict of numpy arrays, JSON-able meta) from which ``from_arrays`` rebuilds this."""
        g, d = self.gt, self.dt
        arr = {
            "gt_boxes": g.boxes,
            "gt_labels": g.labels,
            "gt_image": g.image,
            "gt_area": g.area,
            "gt_iscrowd": g.iscrowd,
            "gt_ann_ids": g.ann_ids,
            "category_ids": g.category_ids,
            "image_ids": g.image_ids,
            "widths": g.widths,
            "heights": g.heights,
            "dt_boxes": d.boxes,
            "dt_labels": d.labels,
            "dt_scores": d.scores,
            "dt_image": d.image,
            "precision": self.precision,
            "recall": self.recall,
            "scores": self.scores,
            "image_rank": self._image_rank,
            "gt_sort": self._gt_sort,
            "dt_sort": self._dt_sort,
            "pair_ptr": self._pairs[0],
            "pair_gt": self._pairs[1],
            "pair_iou": self._pairs[2],
        }
        for f in _MATCH_FIELDS:
            arr["m_" + f] = getattr(self._m, f)
        paths = g.image_paths
        meta = {
            "format_version": FORMAT_VERSION,
            "task": "detection",
            "classes": self.classes,
            "file_names": g.file_names,
            "images_root": None if g.images_root is None else str(g.images_root),
            "image_paths": None
            if paths is None
            else [None if p is None else str(p) for p in paths],
            "gt_source": g.source,
            "dt_source": d.source,
        }
        return arr, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> DetectionResults:
        """Rebuild from ``arrays()`` without recomputing anything."""
        v = meta.get("format_version")
        if v != FORMAT_VERSION:
            raise InputError(
                f"detection results format {v} cannot be read by format {FORMAT_VERSION}"
            )
        a = arrays
        paths = meta.get("image_paths")
        gt = DetectionGroundTruth(
            classes=list(meta["classes"]),
            category_ids=a["category_ids"],
            image_ids=a["image_ids"],
            file_names=list(meta["file_names"]),
            widths=a["widths"],
            heights=a["heights"],
            boxes=a["gt_boxes"],
            labels=a["gt_labels"],
            image=a["gt_image"],
            area=a["gt_area"],
            iscrowd=a["gt_iscrowd"],
            ann_ids=a["gt_ann_ids"],
            images_root=None if meta.get("images_root") is None else Path(meta["images_root"]),
            source=meta.get("gt_source"),
            image_paths=None if paths is None else [None if p is None else Path(p) for p in paths],
        )
        dt = DetectionPredictions(
            a["dt_boxes"], a["dt_labels"], a["dt_scores"], a["dt_image"], meta.get("dt_source")
        )
        m = CocoMatches(*(a["m_" + f] for f in _MATCH_FIELDS))
        state = {
            "precision": a["precision"],
            "recall": a["recall"],
            "scores": a["scores"],
            "_m": m,
            "_image_rank": a["image_rank"],
            "_gt_sort": a["gt_sort"],
            "_dt_sort": a["dt_sort"],
            "_pairs": (a["pair_ptr"], a["pair_gt"], a["pair_iou"]),
        }
        return cls(gt, dt, _state=state)
