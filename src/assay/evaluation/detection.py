"""Detection evaluation: ``evaluate_detections`` and the ``DetectionResults`` it returns.

``DetectionResults`` answers the :class:`~assay.evaluation.results.Results` interface at an
operating point (an IoU and a confidence). The COCO numbers are computed once (identical to
pycocotools). The class-agnostic matching behind the confusion matrix, P/R/F1 and the image feed
is one numba pass over precomputed overlapping pairs per IoU, cached; any confidence is then a
prefix, so slider moves cost milliseconds.

>>> from assay.demo.shapes import make_shapes_dataset
>>> import tempfile, pathlib
>>> gt_path, dt_path = make_shapes_dataset(pathlib.Path(tempfile.mkdtemp()), n_images=8)
>>> res = evaluate_detections(gt_path, dt_path)
>>> res.headline()["metric"], res.summary(OperatingPoint(iou=0.75))["iou"]
('AP', 0.75)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assay.caches import LRU
from assay.errors import InputError, ParameterError
from assay.evaluation._detection_errors import ErrorTypesMixin
from assay.evaluation._detection_feed import AT_CACHE, MATCH_CACHE, FeedMixin
from assay.evaluation._detection_outcomes import PointOutcomes, Sweep, score_order
from assay.evaluation._detection_tables import (
    ap_columns,
    coco_stats,
    json_float,
    json_floats,
    n_classes_with_gt,
    protocols_table,
    shape_confusion,
)
from assay.evaluation.results import OperatingPoint
from assay.evaluation.vocabulary import DETECTION_CURVES, DETECTION_OPTIMA
from assay.formats.detection import (
    DetectionGroundTruth,
    DetectionPredictions,
    read_detection_gt,
    read_detection_predictions,
)
from assay.metrics.detection import (
    IOU_THRESHOLDS,
    RECALL_THRESHOLDS,
    CocoMatches,
    bucket_sort,
    coco_evaluate,
    image_pairs,
)
from assay.metrics.detection.matching import f1_sweep, f1_table, prf_from_confusion
from assay.metrics.detection.protocols import bootstrap_ap, replicate_ap

__all__ = ["DetectionResults", "evaluate_detections"]

MAX_KEPT_OPTIMA = 64

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
_PRF = ("precision", "recall", "f1", "tp", "fp", "fn")


def evaluate_detections(
    gt: Any,
    dt: Any,
    *,
    images_root: str | Path | None = None,
    iou: float | None = None,
    score: float | None = None,
) -> DetectionResults:
    """Evaluate detections against ground truth (paths, loaded COCO dict/list, or columnar types).

    >>> gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 50}],
    ...       "categories": [{"id": 1, "name": "cat"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9],
    ...                        "area": 81, "iscrowd": 0}]}
    >>> res = evaluate_detections(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9],
    ...                                 "score": 0.8}])
    >>> s = res.summary()
    >>> round(s["AP"], 6), s["f1"], s["APl"], s["score"], s["point_rule"]
    (1.0, 1.0, None, 0.8, 'f1_optimal')

    ``iou`` / ``score``: the default operating point (IoU 0.5; the F1-optimal confidence at the
    IoU when ``score`` is None).
    """
    g = read_detection_gt(gt, images_root=images_root)
    return DetectionResults(g, read_detection_predictions(dt, g), iou=iou, score=score)


class DetectionResults(FeedMixin, ErrorTypesMixin):
    """A detection evaluation: COCO numbers plus instant IoU / confidence queries.

    The operating point is an IoU (default ``iou``, else 0.5) and a confidence (default ``score``;
    when None, the F1-optimal confidence at the point's IoU); see
    :mod:`assay.evaluation.results` for the shape of every answer. COCO AP is threshold-free.

    >>> # see evaluate_detections for how to build one
    """

    task = "detection"

    def __init__(
        self,
        gt: DetectionGroundTruth,
        dt: DetectionPredictions,
        *,
        iou: float | None = None,
        score: float | None = None,
        _state: dict[str, Any] | None = None,
    ) -> None:
        given = OperatingPoint(iou=iou, score=score)  # checked
        self.default_iou = self.default_iou if given.iou is None else given.iou
        self.default_score: float | None = given.score
        self.gt = gt
        self.dt = dt
        self.classes = list(gt.classes)
        self.n_samples = gt.n_images
        self.n_classes = len(self.classes)
        self._cache: LRU[float, Sweep] = LRU(MATCH_CACHE)
        self._at_cache: LRU[tuple[float, float], PointOutcomes] = LRU(AT_CACHE)
        self._by_image: tuple[np.ndarray, np.ndarray] | None = None
        # optimal points per (metric, IoU): the IoU is a request value, so the last 64 are kept
        self._optimal: LRU[tuple[str, float], dict[str, Any]] = LRU(MAX_KEPT_OPTIMA)
        self._intervals: dict[str, dict[str, float] | None] | None = None
        self._tables: dict[str, Any] = {}
        k, n_img = len(gt.classes), gt.n_images
        if _state is not None:
            self.__dict__.update(_state)
            return
        self._image_rank = np.argsort(np.argsort(gt.image_ids, kind="stable"), kind="stable")
        by_score = score_order(dt).order  # one stable sort by -score serves every order below
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
            by_score=by_score,
        )
        self.precision: np.ndarray = ev.precision
        self.recall: np.ndarray = ev.recall
        self.scores: np.ndarray = ev.scores
        self._m: CocoMatches = ev.matches
        # by image (stable: ground truth in file order, predictions by -score, ties in order)
        gi, di = np.asarray(gt.image, np.int64), np.asarray(dt.image, np.int64)
        self._gt_sort = bucket_sort(np.arange(len(gi), dtype=np.int64), gi, n_img)[0]
        self._dt_sort = bucket_sort(by_score, di, n_img)[0]
        dt_ptr, pair_gt, pair_iou = image_pairs(
            gt.boxes[self._gt_sort],
            gt.image[self._gt_sort],
            dt.boxes[self._dt_sort],
            dt.image[self._dt_sort],
            gt.iscrowd[self._gt_sort],
            n_img,
        )
        self._pairs = (dt_ptr, self._gt_sort[pair_gt].astype(np.int32), pair_iou)

    # ----------------------------------------------------------------- the operating point
    def _iou(self, at: OperatingPoint | None) -> float:
        if at is None:
            return self.default_iou
        if not isinstance(at, OperatingPoint):
            raise ParameterError(f"at: expected an OperatingPoint, got {type(at).__name__}")
        return self.default_iou if at.iou is None else at.iou

    def point(self, at: OperatingPoint | None = None) -> OperatingPoint:
        """``at`` with iou (default: the evaluation's, else 0.5) and score filled; threshold
        dropped. A score left out is the evaluation's, or where it has none the F1-optimal
        confidence at that IoU."""
        iou = self._iou(at)
        score = None if at is None else at.score
        if score is None:
            score = self.default_score
        if score is None:
            score = self.optimal("f1", OperatingPoint(iou=iou, score=0.0))["score"]
        return OperatingPoint(iou=iou, score=score)

    def default_point(self) -> dict[str, float | None]:
        """{"iou", "score"}: the evaluation's own IoU and confidence (None: F1-optimal)."""
        return {"iou": self.default_iou, "score": self.default_score}

    def set_default_point(self, at: OperatingPoint) -> None:
        """Make the IoU and confidence ``at`` gives the evaluation's own."""
        if at.iou is not None:
            self.default_iou = at.iou
        if at.score is not None:
            self.default_score = at.score

    def point_rule(self, at: OperatingPoint | None = None) -> str:
        """How the confidence of ``point(at)`` reads: "f1_optimal" where it is the F1-optimal
        confidence at the IoU (the default when none is given or stored), else "given"."""
        p = self.point(at)
        best = self.optimal("f1", OperatingPoint(iou=p.iou))
        return "f1_optimal" if best["value"] is not None and p.score == best["score"] else "given"

    def _table(self, name: str) -> Any:
        """The threshold-free tables, computed once."""
        if name not in self._tables:
            if name == "coco":
                value: Any = coco_stats(self.precision, self.recall)
            elif name == "ap":
                value = ap_columns(self.precision, self.recall, len(self.classes))
            elif name == "protocols":
                value = protocols_table(self._m, self.gt, self.dt)
            else:  # "labeled": non-crowd ground truth per class
                g = self.gt
                value = np.bincount(g.labels[~g.iscrowd], minlength=len(self.classes))
            self._tables[name] = value
        return self._tables[name]

    def _prf(self, p: OperatingPoint) -> list[dict[str, Any]]:
        """TP, FP, FN, precision, recall, F1 per class and, last, overall (micro) at ``p``."""
        at = self._at(p)
        if at.prf is None:
            r = prf_from_confusion(at.counts())
            tp, fp, fn = (r[k].tolist() for k in ("tp", "fp", "fn"))
            pr, rc, f1 = (json_floats(r[k]) for k in ("precision", "recall", "f1"))
            at.prf = [
                {
                    "tp": tp[i],
                    "fp": fp[i],
                    "fn": fn[i],
                    "precision": pr[i],
                    "recall": rc[i],
                    "f1": f1[i],
                }
                for i in range(len(self.classes) + 1)
            ]
        rows: list[dict[str, Any]] = at.prf
        return rows

    # ----------------------------------------------------------------- answers
    def summary(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        """COCO's 12 numbers (threshold-free) and the overall P / R / F1, TP / FP / FN at the point.

        >>> # see evaluate_detections
        """
        p = self.point(at)
        overall = self._prf(p)[-1]
        return {
            "task": "detection",
            "iou": p.iou,
            "score": p.score,
            "point_rule": self.point_rule(at),
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            **self._table("coco"),
            **{key: overall[key] for key in _PRF},
            "macro_over": {"AP": n_classes_with_gt(self.precision)},
        }

    def per_class(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        """Per class: the COCO AP columns joined with TP / FP / FN and P / R / F1 at the point."""
        p = self.point(at)
        assert p.score is not None
        rows = self._prf(p)
        d = self.dt
        predicted = np.bincount(d.labels[d.scores >= p.score], minlength=len(self.classes))
        labeled = self._table("labeled")
        items = [
            {
                "label": c,
                **self._table("ap")[k],
                "total_labeled": int(labeled[k]),
                "total_predicted": int(predicted[k]),
                **{key: rows[k][key] for key in ("tp", "fp", "fn", "precision", "recall", "f1")},
            }
            for k, c in enumerate(self.classes)
        ]
        return {"task": "detection", "iou": p.iou, "score": p.score, "items": items}

    def confusion(
        self,
        at: OperatingPoint | None = None,
        *,
        normalize: str | None = None,
        top: int | None = None,
    ) -> dict[str, Any]:
        """Boxes matched class-agnostically at the point: rows actual + "Not an object", columns
        predicted + "Not detected"; ``normalize`` None or "true"; ``top`` most confused classes."""
        p = self.point(at)
        shaped = shape_confusion(self._at(p).counts(), self.classes, normalize, top)
        return {"task": "detection", "iou": p.iou, "score": p.score, **shaped}

    @staticmethod
    def _iou_index(iou: float) -> int:
        hit = np.flatnonzero(np.isclose(IOU_THRESHOLDS, float(iou)))
        if not len(hit):
            raise ParameterError(f"iou: {iou!r} is not one of 0.50, 0.55, ..., 0.95 (COCO's)")
        return int(hit[0])

    def curve(
        self,
        kind: str,
        label: str | None = None,
        at: OperatingPoint | None = None,
        *,
        bins: int | None = None,
    ) -> dict[str, Any]:
        """The 101-point interpolated PR curve of one class (default the first) at the point's IoU,
        one of COCO's ten; ``bins`` does not apply."""
        if kind not in DETECTION_CURVES:
            raise ParameterError(f"kind: {kind!r} curves are not available for detection (pr)")
        label = self.check_label(label)
        if label is None:
            if not self.classes:
                raise ParameterError("label: this evaluation has no classes")
            label = self.classes[0]
        p = self.point(at)
        assert p.iou is not None
        k, t = self._index(label), self._iou_index(p.iou)
        prec = self.precision[t, :, k, 0, 2]
        valid = prec[prec > -1]
        return {
            "kind": kind,
            "label": label,
            "iou": float(IOU_THRESHOLDS[t]),
            "recall": RECALL_THRESHOLDS.tolist(),
            "precision": [json_float(v) for v in prec],
            "scores": [json_float(v) for v in self.scores[t, :, k, 0, 2]],
            "average_precision": float(valid.mean()) if valid.size else None,
        }

    def optimal(self, metric: str = "f1", at: OperatingPoint | None = None) -> dict[str, Any]:
        """The confidence maximising the overall ``metric`` (f1, precision or recall) at the
        point's IoU; score 0.0 and value None when no confidence defines it."""
        if metric not in DETECTION_OPTIMA:
            raise ParameterError(
                f"metric: unknown {metric!r}; expected one of {', '.join(DETECTION_OPTIMA)}"
            )
        iou = self._iou(at)
        key = (metric, iou)
        kept = self._optimal.get(key)
        if kept is None:
            g, d = self.gt, self.dt
            counts = self._match(iou).f1_counts
            if counts is not None:  # counted in the matching pass
                sw = f1_table(*counts, int((~np.asarray(g.iscrowd, bool)).sum()))
            else:
                order = score_order(d).order
                sw = f1_sweep(self._match(iou).m, g.labels, g.iscrowd, d.labels, d.scores, order)
            v = np.nan_to_num(sw[metric], nan=-1.0)
            best = int(np.argmax(v)) if len(v) else -1
            found = best >= 0 and v[best] >= 0
            kept = {
                "task": "detection",
                "metric": metric,
                "value": float(v[best]) if found else None,
                "iou": iou,
                "score": float(sw["score"][best]) if found else 0.0,
            }
            self._optimal[key] = kept
        return dict(kept)

    def headline(self) -> dict[str, Any]:
        """COCO mAP (.50:.95)."""
        return {"metric": "AP", "label": "mAP", "value": self._table("coco")["AP"]}

    # ----------------------------------------------------------------- per-image surface
    @property
    def matches(self) -> CocoMatches:
        """COCO's matching of every detection at the ten IoU thresholds: what the AP tables,
        their resamples (:mod:`assay.metrics.detection.protocols`) and paired replicates read."""
        return self._m

    def image_counts(
        self, at: OperatingPoint | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TP, FP and FN of each image at the point (boxes of every class)."""
        return self._at(self.point(at)).per_image()

    def class_image_counts(
        self, label: str, at: OperatingPoint | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TP, FP and FN of each image for class ``label`` at the point: a box matched under
        another class is an FP of the predicted class and an FN of the actual one."""
        self.check_label(label)
        k = self.classes.index(label)
        point = self._at(self.point(at))
        tp = point.cell_counts(k, k)
        return tp, point.cell_counts(None, k) - tp, point.cell_counts(k, None) - tp

    def outcomes(self, at: OperatingPoint | None = None) -> np.ndarray:
        """Whether each image is right at the point: no false positive and no missed box."""
        _, fp, fn = self.image_counts(at)
        return (np.asarray(fp) == 0) & (np.asarray(fn) == 0)

    def replicate_ap(self, weights: np.ndarray, key: Any = None) -> np.ndarray:
        """COCO AP (B, T, K) on the resamples ``weights`` (B, n_images: how often each image is
        drawn; :func:`assay.metrics.detection.protocols.replicate_ap`); with a ``key`` naming
        the resamples, kept (the last two): AP does not depend on the operating point, so a
        comparison at another IoU or confidence re-uses it."""
        g = self.gt
        if key is None:
            return replicate_ap(
                self._m, g.labels, g.image, self.dt.image, weights, len(self.classes)
            )
        return np.asarray(
            self.memo("replicate_ap", 2).get_or_make(key, lambda: self.replicate_ap(weights))
        )

    def ranked_detections(
        self, iou: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The class-agnostic matching at ``iou`` as the confidence sweep reads it: each
        detection's sort key (most confident first), whether it is a true positive, its image,
        and the ground-truth boxes of each image (what an F1-optimal confidence is chosen from,
        e.g. again in each resample: :func:`assay.metrics.detection.operating.optimal_counts`)."""
        sw = self._match(iou)
        return sw.d_key, sw.d_row == sw.d_col, sw.d_img, sw.gt_per_image

    def intervals(
        self, n: int = 200, seed: int = 0, at: OperatingPoint | None = None
    ) -> dict[str, dict[str, float] | None]:
        """95 % intervals over images (``n`` resamples, seeded) of AP, AP50 and the overall
        precision, recall and F1 at the point; kept for :meth:`report`. AP and AP50 from
        half-samples, bias-corrected (AP on a few hundred images is biased upward, and a
        resample with replacement sees only part of that bias); precision, recall and F1 the
        basic bootstrap (:func:`assay.metrics.detection.protocols.bootstrap_ap`, which gives the
        coverage of each reading). Where the point's confidence is the F1-optimal one
        (``point_rule``), each resample chooses its own again for precision, recall and F1:
        the choice was made on these images and is not taken as given. Coverage measured by
        ``benchmarks/detection_coverage.py`` and ``benchmarks/statistics.py --only det150``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ParameterError(f"n: expected a whole number of at least 1, got {n!r}")
        p = self.point(at)
        g = self.gt
        optimal = None
        if self.point_rule(p) == "f1_optimal":
            assert p.iou is not None
            sw = self._match(p.iou)
            optimal = (sw.d_key, sw.d_row == sw.d_col, sw.d_img, sw.gt_per_image)
        self._intervals = bootstrap_ap(
            self._m,
            g.labels,
            g.image,
            self.dt.image,
            g.n_images,
            len(self.classes),
            n=n,
            seed=seed,
            counts=None if optimal is not None else self._at(p).per_image(),
            optimal=optimal,
        )
        return dict(self._intervals)

    def folds(self, at: OperatingPoint | None = None) -> dict[str, Any] | None:
        """Detection evaluations have no folds."""
        return None

    def report(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        """The JSON report: summary, per-class table, confusion and optimal at the point, the last
        intervals asked for, and in ``extra`` the AP under the COCO / VOC protocols."""
        p = self.point(at)
        return {
            "task": "detection",
            "classes": list(self.classes),
            "iou": p.iou,
            "score": p.score,
            "summary": self.summary(p),
            "per_class": self.per_class(p),
            "confusion": self.confusion(p),
            "optimal": self.optimal("f1", p),
            "intervals": None if self._intervals is None else dict(self._intervals),
            "folds": None,
            "extra": self._table("protocols"),
        }

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
            "point": {"iou": self.default_iou, "score": self.default_score},
        }
        return arr, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> DetectionResults:
        """Rebuild from ``arrays()`` without recomputing anything; ``meta["point"]`` ({iou,
        score}, either None) is the default operating point."""
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
        point = meta.get("point") or {}
        return cls(gt, dt, iou=point.get("iou"), score=point.get("score"), _state=state)
