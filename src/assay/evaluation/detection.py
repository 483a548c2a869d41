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

import contextlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
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
from assay.metrics.detection.matching import (
    CROWD,
    MATCHED,
    UNMATCHED,
    AgnosticMatch,
    f1_sweep,
    greedy_match,
    prf_from_confusion,
)
from assay.metrics.detection.protocols import PROTOCOLS, bootstrap_ap, protocol_ap

__all__ = ["DetectionResults", "evaluate_detections"]

NOT_DETECTED = "Not detected"
NOT_AN_OBJECT = "Not an object"
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
_MATCH_CACHE = 16  # IoUs whose matching is kept (the 10 COCO IoUs and a few more)
_AT_CACHE = 32  # (IoU, confidence) points whose outcomes are kept
_SORTS = ("errors", "index", "tp", "fp", "fn")
_SORT_ALIASES = {"confusion": "errors", "confidence": "errors"}  # the classification feed's names


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


class DetectionResults:
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

    def _label(self, label: str) -> int:
        try:
            return self.classes.index(label)
        except ValueError:
            raise ParameterError(f"label: unknown class {label!r}") from None

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
    def _match(self, iou: float) -> _Sweep:
        """The class-agnostic matching at ``iou`` as score-sorted events (LRU of 16 IoUs)."""
        iou = float(iou)
        if not 0.0 <= iou <= 1.0:
            raise ParameterError("iou: must be between 0 and 1")
        sw = self._cache.get(iou)
        if sw is not None:
            with contextlib.suppress(KeyError):
                self._cache.move_to_end(iou)
            return sw
        dt_ptr, pair_gt, pair_iou = self._pairs
        s = greedy_match(dt_ptr, pair_gt, pair_iou, self.gt.iscrowd, iou)
        o = self._dt_sort
        dt_gt, dt_iou, state = (np.empty_like(a) for a in (s.dt_gt, s.dt_iou, s.dt_state))
        dt_gt[o], dt_iou[o], state[o] = s.dt_gt, s.dt_iou, s.dt_state
        gt_dt = np.where(s.gt_dt >= 0, o[np.maximum(s.gt_dt, 0)], -1) if len(o) else s.gt_dt
        sw = _Sweep.build(AgnosticMatch(dt_gt, dt_iou, state, gt_dt), self.gt, self.dt)
        self._cache[iou] = sw
        while len(self._cache) > _MATCH_CACHE:
            with contextlib.suppress(KeyError, StopIteration, RuntimeError):
                self._cache.popitem(last=False)
        return sw

    @staticmethod
    def _check_score(score: float) -> float:
        if not np.isfinite(float(score)):
            raise ParameterError("score: must be a finite number")
        return float(score)

    def _at(self, iou: float, score: float) -> _At:
        """The outcomes at (iou, score), shared by prf / confusion / images / image (LRU of 32)."""
        key = (float(iou), self._check_score(score))
        at = self._at_cache.get(key)
        if at is not None:
            with contextlib.suppress(KeyError):
                self._at_cache.move_to_end(key)
            return at
        at = _At(self._match(key[0]), key[1], len(self.classes), self.gt.n_images)
        self._at_cache[key] = at
        while len(self._at_cache) > _AT_CACHE:
            with contextlib.suppress(KeyError, StopIteration, RuntimeError):
                self._at_cache.popitem(last=False)
        return at

    def _counts(self, iou: float, score: float) -> np.ndarray:
        return self._at(iou, score).counts()

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

    def images(
        self,
        iou: float = 0.5,
        score: float = 0.0,
        actual: str | None = None,
        predicted: str | None = None,
        errors_only: bool = False,
        sort: str = "errors",
        descending: bool | None = None,
        offset: int = 0,
        limit: int = 50,
        label: str | None = None,
        outcome: str | None = None,
    ) -> dict[str, Any]:
        """The image feed: per image tp / fp / fn, filtered by a confusion cell, sorted, paged.

        ``sort``: errors (fp + fn; also "confusion" / "confidence"), tp, fp, fn (descending by
        default) or index (ascending).
        ``actual`` / ``predicted`` keep images holding a pair in that confusion cell;
        ``outcome`` (tp / fp / fn) with ``label`` keeps images holding a TP / FP / FN box of that
        class (a misclassified pair is an FP of the predicted and an FN of the actual class).
        """
        sort = _SORT_ALIASES.get(sort, sort)
        if sort not in _SORTS:
            raise ParameterError(f"sort: unknown {sort!r}; expected one of {_SORTS}")
        if (outcome is None) != (label is None):
            raise ParameterError("outcome: give both outcome (tp, fp or fn) and label, or neither")
        at = self._at(iou, score)
        tp, fp, fn = at.per_image()
        keep = np.ones(self.gt.n_images, bool)
        if errors_only:
            keep &= (fp + fn) > 0
        if actual is not None or predicted is not None:
            keep &= at.images_where(*self._cell(actual, predicted))
        if outcome is not None and label is not None:
            keep &= self._outcome_images(at, label, outcome)
        return self._page(keep, tp, fp, fn, sort, descending, offset, limit)

    def label_images(
        self, label: str, iou: float = 0.5, score: float = 0.0, limit: int = 12
    ) -> dict[str, dict[str, Any]]:
        """``images(label=label, outcome=o, sort=o)`` for o in tp, fp, fn, from one computation."""
        at = self._at(iou, score)
        tp, fp, fn = at.per_image()
        return {
            o: self._page(self._outcome_images(at, label, o), tp, fp, fn, o, None, 0, limit)
            for o in ("tp", "fp", "fn")
        }

    def _outcome_images(self, at: _At, label: str, outcome: str) -> np.ndarray:
        k = self._label(label)
        if outcome == "tp":
            return at.images_where(k, k)
        if outcome == "fp":
            return at.images_where(None, k, exclude_row=k)
        if outcome == "fn":
            return at.images_where(k, None, exclude_col=k)
        raise ParameterError(f"outcome: unknown {outcome!r}; expected tp, fp or fn")

    def _cell(self, actual: str | None, predicted: str | None) -> tuple[int | None, int | None]:
        k = len(self.classes)
        a = None if actual is None else (k if actual == NOT_AN_OBJECT else self._label(actual))
        p = (
            None
            if predicted is None
            else (k if predicted == NOT_DETECTED else self._label(predicted))
        )
        return a, p

    def _page(
        self,
        keep: np.ndarray,
        tp: np.ndarray,
        fp: np.ndarray,
        fn: np.ndarray,
        sort: str,
        descending: bool | None,
        offset: int,
        limit: int,
    ) -> dict[str, Any]:
        idx = np.flatnonzero(keep)
        desc = sort != "index" if descending is None else descending
        if sort != "index":
            key = {"errors": fp + fn, "tp": tp, "fp": fp, "fn": fn}[sort][idx]
            idx = idx[np.argsort(-key if desc else key, kind="stable")]
        elif desc:
            idx = idx[::-1]
        page = idx[max(offset, 0) : max(offset, 0) + max(limit, 0)]
        return {
            "total": int(len(idx)),
            "offset": int(offset),
            "limit": int(limit),
            "items": [self._image_row(int(i), int(tp[i]), int(fp[i]), int(fn[i])) for i in page],
        }

    def _image_row(self, i: int, tp: int, fp: int, fn: int) -> dict[str, Any]:
        g = self.gt
        return {
            "index": i,
            "id": int(g.image_ids[i]),
            "file_name": g.file_names[i],
            "width": int(g.widths[i]),
            "height": int(g.heights[i]),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }

    def _boxes_of(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(ground-truth, prediction) indices of one image; predictions by descending score."""
        if self._by_image is None:
            gi = self.gt.image[self._gt_sort]
            di = self.dt.image[self._dt_sort]
            n = np.arange(self.gt.n_images + 1)
            self._by_image = (np.searchsorted(gi, n), np.searchsorted(di, n))
        gp, dp = self._by_image
        gt_idx = np.sort(self._gt_sort[gp[index] : gp[index + 1]])
        return gt_idx, self._dt_sort[dp[index] : dp[index + 1]]

    def image(self, index: int, iou: float = 0.5, score: float = 0.0) -> dict[str, Any]:
        """One image with its boxes: gt first, then predictions >= score by descending score."""
        if not 0 <= index < self.gt.n_images:
            raise ParameterError(f"index: no image {index}")
        s = self._check_score(score)
        m = self._match(iou).m
        g, d = self.gt, self.dt
        gi, di = self._boxes_of(index)
        di = di[d.scores[di] >= s]
        gpos = {int(j): n for n, j in enumerate(gi)}
        dpos = {int(j): len(gi) + n for n, j in enumerate(di)}
        boxes = []
        n_tp = n_fp = n_fn = 0
        for j in gi.tolist():
            partner = int(m.gt_dt[j])
            has = partner >= 0 and bool(d.scores[partner] >= s)
            crowd = bool(g.iscrowd[j])
            tp = has and not crowd and int(d.labels[partner]) == int(g.labels[j])
            n_fn += not crowd and not tp
            status = "crowd" if crowd else "tp" if tp else "misclassified" if has else "fn"
            boxes.append(
                {
                    "kind": "gt",
                    "label": self.classes[g.labels[j]],
                    "bbox": g.boxes[j].tolist(),
                    "score": None,
                    "status": status,
                    "match": dpos.get(partner) if has else None,
                    "iou": float(m.dt_iou[partner]) if has else None,
                }
            )
        for j in di.tolist():
            st = int(m.dt_state[j])
            same = st == MATCHED and int(g.labels[m.dt_gt[j]]) == int(d.labels[j])
            n_tp += same
            n_fp += st != CROWD and not same
            status = (
                "tp"
                if same
                else "misclassified"
                if st == MATCHED
                else "crowd"
                if st == CROWD
                else "fp"
            )
            has = st != UNMATCHED
            boxes.append(
                {
                    "kind": "pred",
                    "label": self.classes[d.labels[j]],
                    "bbox": d.boxes[j].tolist(),
                    "score": float(d.scores[j]),
                    "status": status,
                    "match": gpos.get(int(m.dt_gt[j])) if has else None,
                    "iou": float(m.dt_iou[j]) if has else None,
                }
            )
        return {**self._image_row(index, n_tp, n_fp, n_fn), "boxes": boxes}

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


@dataclass(eq=False)
class _Sweep:
    """The matching at one IoU as events sorted by descending confidence, so that the events at a
    confidence ``s`` are a prefix (predictions) or a suffix (ground truth missed below ``s``).

    Event codes are ``row * (K + 1) + column`` of the confusion matrix (row / column K = none).
    """

    m: AgnosticMatch
    d_key: np.ndarray  # -score of the non-crowd-ignored predictions, ascending
    d_row: np.ndarray
    d_col: np.ndarray
    d_img: np.ndarray
    d_code: np.ndarray
    g_key: np.ndarray  # -score of the matched partner of each non-crowd ground truth, ascending
    g_row: np.ndarray
    g_img: np.ndarray
    g_code: np.ndarray  # its "Not detected" code (it is missed when the partner is below s)
    u_row: np.ndarray  # non-crowd ground truth without a partner: always missed
    u_img: np.ndarray
    u_counts: np.ndarray
    t_key: np.ndarray  # -score of the true positives, ascending
    t_img: np.ndarray
    gt_per_image: np.ndarray  # non-crowd ground truth per image

    @classmethod
    def build(cls, m: AgnosticMatch, gt: DetectionGroundTruth, dt: DetectionPredictions) -> _Sweep:
        k, n_img = len(gt.classes), gt.n_images
        k1 = k + 1
        scores = np.asarray(dt.scores, np.float64)
        gt_labels = np.asarray(gt.labels, np.int64)
        kept = np.flatnonzero(m.dt_state != CROWD)
        order = kept[np.argsort(-scores[kept], kind="stable")]
        matched = m.dt_state[order] == MATCHED
        row = np.full(len(order), k, np.int64)
        if len(gt_labels):
            row[matched] = gt_labels[m.dt_gt[order][matched]]
        col = np.asarray(dt.labels, np.int64)[order]
        d_key = -scores[order]
        d_img = np.asarray(dt.image, np.int64)[order]
        tp = matched & (row == col)
        crowd = np.asarray(gt.iscrowd, bool)
        partner = np.asarray(m.gt_dt, np.int64)
        has = np.flatnonzero(~crowd & (partner >= 0))
        g_order = has[np.argsort(-scores[partner[has]], kind="stable")]
        g_row = gt_labels[g_order]
        unpartnered = np.flatnonzero(~crowd & (partner < 0))
        u_row = gt_labels[unpartnered]
        gt_img = np.asarray(gt.image, np.int64)
        return cls(
            m=m,
            d_key=d_key,
            d_row=row.astype(np.int32),
            d_col=col.astype(np.int32),
            d_img=d_img.astype(np.int32),
            d_code=(row * k1 + col).astype(np.int32),
            g_key=-scores[partner[g_order]],
            g_row=g_row.astype(np.int32),
            g_img=gt_img[g_order].astype(np.int32),
            g_code=(g_row * k1 + k).astype(np.int32),
            u_row=u_row.astype(np.int32),
            u_img=gt_img[unpartnered].astype(np.int32),
            u_counts=np.bincount(u_row * k1 + k, minlength=k1 * k1),
            t_key=d_key[tp],
            t_img=d_img[tp].astype(np.int32),
            gt_per_image=np.bincount(gt_img[~crowd], minlength=n_img),
        )


class _At:
    """The outcomes at one (IoU, confidence): prefix lengths into a :class:`_Sweep`, with the
    confusion counts, the per-image TP / FP / FN and the P / R / F1 table computed on first use."""

    def __init__(self, sweep: _Sweep, score: float, n_classes: int, n_images: int) -> None:
        self.sweep, self.k, self.n_images = sweep, n_classes, n_images
        self.nd = int(np.searchsorted(sweep.d_key, -score, side="right"))
        self.ng = int(np.searchsorted(sweep.g_key, -score, side="right"))
        self.nt = int(np.searchsorted(sweep.t_key, -score, side="right"))
        self._counts: np.ndarray | None = None
        self._per_image: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.prf: dict[str, Any] | None = None

    def counts(self) -> np.ndarray:
        """(K + 1, K + 1) confusion counts (rows actual + none, columns predicted + none)."""
        if self._counts is None:
            sw, k1 = self.sweep, self.k + 1
            c = np.bincount(sw.d_code[: self.nd], minlength=k1 * k1)
            c += np.bincount(sw.g_code[self.ng :], minlength=k1 * k1)
            c += sw.u_counts
            self._counts = c.reshape(k1, k1)
        return self._counts

    def per_image(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TP, FP, FN per image."""
        if self._per_image is None:
            sw, n = self.sweep, self.n_images
            tp = np.bincount(sw.t_img[: self.nt], minlength=n)
            fp = np.bincount(sw.d_img[: self.nd], minlength=n) - tp
            self._per_image = (tp, fp, sw.gt_per_image - tp)
        return self._per_image

    def images_where(
        self,
        row: int | None,
        col: int | None,
        *,
        exclude_row: int | None = None,
        exclude_col: int | None = None,
    ) -> np.ndarray:
        """Boolean mask of the images holding an event in (row, col) (None = any), optionally
        with row != exclude_row / col != exclude_col."""
        sw, k = self.sweep, self.k
        out = np.zeros(self.n_images, bool)
        nd, ng = self.nd, self.ng
        pieces = [
            (sw.d_row[:nd], sw.d_col[:nd], sw.d_img[:nd]),
            (sw.g_row[ng:], None, sw.g_img[ng:]),
            (sw.u_row, None, sw.u_img),
        ]
        for rows, cols, img in pieces:
            if cols is None and ((col is not None and col != k) or exclude_col == k):
                continue  # ground-truth events are all in the "Not detected" column
            sel: np.ndarray | None = None
            for values, want, equal in (
                (rows, row, True),
                (cols, col, True),
                (rows, exclude_row, False),
                (cols, exclude_col, False),
            ):
                if want is None or values is None:
                    continue
                hit = values == want if equal else values != want
                sel = hit if sel is None else sel & hit
            out[img if sel is None else img[sel]] = True
        return out
