"""The image feed of ``DetectionResults``: the matching and outcome caches (LRU per IoU and per
(IoU, confidence)), the filtered, sorted, paged image list, and one image with its boxes.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation._detection_outcomes import _At, _Sweep
from assay.formats.detection import DetectionGroundTruth, DetectionPredictions
from assay.metrics.detection.matching import CROWD, MATCHED, UNMATCHED, AgnosticMatch, greedy_match

NOT_DETECTED = "Not detected"
NOT_AN_OBJECT = "Not an object"
_MATCH_CACHE = 16  # IoUs whose matching is kept (the 10 COCO IoUs and a few more)
_AT_CACHE = 32  # (IoU, confidence) points whose outcomes are kept
_SORTS = ("errors", "index", "tp", "fp", "fn")
_SORT_ALIASES = {"confusion": "errors", "confidence": "errors"}  # the classification feed's names


class _FeedMixin:
    """Matching and outcome caches, the image feed and one image's boxes."""

    gt: DetectionGroundTruth
    dt: DetectionPredictions
    classes: list[str]
    _cache: OrderedDict[float, _Sweep]
    _at_cache: OrderedDict[tuple[float, float], _At]
    _by_image: tuple[np.ndarray, np.ndarray] | None
    _gt_sort: np.ndarray
    _dt_sort: np.ndarray
    _pairs: tuple[np.ndarray, np.ndarray, np.ndarray]

    def _label(self, label: str) -> int:
        try:
            return self.classes.index(label)
        except ValueError:
            raise ParameterError(f"label: unknown class {label!r}") from None

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
