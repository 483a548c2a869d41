"""The image feed of ``DetectionResults``: the matching and outcome caches (LRU per IoU and per
(IoU, confidence)), the filtered, sorted, paged image list, and one image with its boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.caches import LRU
from assay.errors import ParameterError
from assay.evaluation._detection_outcomes import PointOutcomes, Sweep
from assay.evaluation.results import OperatingPoint, Results
from assay.evaluation.vocabulary import DETECTION_SORTS, NOT_AN_OBJECT, NOT_DETECTED, OUTCOMES
from assay.formats.detection import DetectionGroundTruth, DetectionPredictions
from assay.metrics.detection.matching import CROWD, MATCHED, UNMATCHED

MATCH_CACHE = 16  # IoUs whose matching is kept (the 10 COCO IoUs and a few more)
AT_CACHE = 32  # (IoU, confidence) points whose outcomes are kept


class FeedMixin(Results):
    """Matching and outcome caches, the image feed and one image's boxes."""

    gt: DetectionGroundTruth
    dt: DetectionPredictions
    classes: list[str]
    _cache: LRU[float, Sweep]
    _at_cache: LRU[tuple[float, float], PointOutcomes]
    _by_image: tuple[np.ndarray, np.ndarray] | None
    _gt_sort: np.ndarray
    _dt_sort: np.ndarray
    _pairs: tuple[np.ndarray, np.ndarray, np.ndarray]

    def _index(self, label: str, parameter: str = "label") -> int:
        """The class index of ``label``, or a ParameterError naming ``parameter``."""
        index: dict[str, int] | None = self.__dict__.get("_class_index")
        if index is None:
            index = {c: k for k, c in enumerate(self.classes)}
            self.__dict__["_class_index"] = index
        k = index.get(label)
        if k is None:
            raise ParameterError(f"{parameter}: unknown label {label!r}")
        return k

    def _match(self, iou: float) -> Sweep:
        """The class-agnostic matching at ``iou`` as score-sorted events (LRU of 16 IoUs)."""
        iou = float(iou)
        sw = self._cache.get(iou)
        if sw is not None:
            return sw
        sw = Sweep.match(self._pairs, self._dt_sort, iou, self.gt, self.dt)
        self._cache[iou] = sw
        return sw

    def _at(self, p: OperatingPoint) -> PointOutcomes:
        """The outcomes at a filled point, shared by every answer at it (LRU of 32)."""
        assert p.iou is not None and p.score is not None
        key = (p.iou, p.score)
        at = self._at_cache.get(key)
        if at is not None:
            return at
        at = PointOutcomes(self._match(p.iou), p.score, len(self.classes), self.gt.n_images)
        self._at_cache[key] = at
        return at

    def samples(
        self,
        at: OperatingPoint | None = None,
        *,
        actual: str | None = None,
        predicted: str | None = None,
        label: str | None = None,
        outcome: str | None = None,
        errors_only: bool = False,
        sort: str | None = None,
        descending: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        """The image feed: images with their TP / FP / FN and boxes at the point, filtered,
        sorted and paged.

        ``actual`` / ``predicted`` keep images holding a pair in that confusion cell (then
        ``n_boxes`` counts the pairs of the cell in the kept images); ``outcome`` (tp / fp / fn)
        with ``label`` keeps images holding a TP / FP / FN box of that class (a misclassified pair
        is an FP of the predicted and an FN of the actual class). ``sort``: errors (fp + fn,
        the default), tp, fp, fn (descending by default) or index (ascending by default).
        """
        p = self.point(at)
        sort = "errors" if sort is None else sort
        if sort not in DETECTION_SORTS:
            raise ParameterError(
                f"sort: unknown {sort!r}; expected one of {', '.join(DETECTION_SORTS)}"
            )
        if (outcome is None) != (label is None):
            raise ParameterError("outcome: give both outcome (tp, fp or fn) and label, or neither")
        if offset < 0:
            raise ParameterError(f"offset: must be at least 0, got {offset}")
        if limit < 0:
            raise ParameterError(f"limit: must be at least 0, got {limit}")
        o = self._at(p)
        tp, fp, fn = o.per_image()
        keep = np.ones(self.gt.n_images, bool)
        if errors_only:
            keep &= (fp + fn) > 0
        in_cell: np.ndarray | None = None
        if actual is not None or predicted is not None:
            in_cell = o.cell_counts(*self._cell(actual, predicted))
            keep &= in_cell > 0
        if outcome is not None and label is not None:
            keep &= self._outcome_images(o, label, outcome)
        idx = np.flatnonzero(keep)
        desc = sort != "index" if descending is None else bool(descending)
        if sort != "index":
            key = {"errors": fp + fn, "tp": tp, "fp": fp, "fn": fn}[sort][idx]
            idx = idx[np.argsort(-key if desc else key, kind="stable")]
        elif desc:
            idx = idx[::-1]
        page = idx[offset : offset + limit]
        return {
            "task": "detection",
            "iou": p.iou,
            "score": p.score,
            "total": int(len(idx)),
            "offset": int(offset),
            "limit": int(limit),
            "n_boxes": None if in_cell is None else int(in_cell[keep].sum()),
            "items": [self._image(int(i), p) for i in page],
        }

    def _outcome_images(self, at: PointOutcomes, label: str, outcome: str) -> np.ndarray:
        if outcome not in OUTCOMES:
            raise ParameterError(f"outcome: unknown {outcome!r}; expected tp, fp or fn")
        k = self._index(label)
        if outcome == "tp":
            return at.images_where(k, k)
        if outcome == "fp":
            return at.images_where(None, k, exclude_row=k)
        return at.images_where(k, None, exclude_col=k)

    def _cell(self, actual: str | None, predicted: str | None) -> tuple[int | None, int | None]:
        k = len(self.classes)
        a = (
            None
            if actual is None
            else k
            if actual == NOT_AN_OBJECT
            else self._index(actual, "actual")
        )
        p = (
            None
            if predicted is None
            else k
            if predicted == NOT_DETECTED
            else self._index(predicted, "predicted")
        )
        return a, p

    def sample(self, index: int, at: OperatingPoint | None = None) -> dict[str, Any]:
        """One image with its boxes at the point: ground truth first, then the predictions with a
        score at least the confidence, highest first."""
        p = self.point(at)
        if isinstance(index, bool) or not 0 <= int(index) < self.gt.n_images:
            raise ParameterError(f"index: no image {index}")
        return self._image(int(index), p)

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

    def _image(self, index: int, p: OperatingPoint) -> dict[str, Any]:
        """The feed item of one image: its row, its TP / FP / FN and its boxes at the point."""
        assert p.iou is not None and p.score is not None
        s = p.score
        m = self._match(p.iou).m
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
            if same:
                status = "tp"
            elif st == MATCHED:
                status = "misclassified"
            else:
                status = "crowd" if st == CROWD else "fp"
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
        return {
            "index": index,
            "id": str(g.image_ids[index]),
            "file_name": g.file_names[index],
            "width": int(g.widths[index]),
            "height": int(g.heights[index]),
            "tp": n_tp,
            "fp": n_fp,
            "fn": n_fn,
            "boxes": boxes,
        }
