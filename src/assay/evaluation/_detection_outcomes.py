"""The outcomes behind ``DetectionResults``' sliders: the class-agnostic matching at one IoU as
score-sorted events (:class:`Sweep`), and the outcomes at one (IoU, confidence) as prefix lengths
into it (:class:`PointOutcomes`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.formats.detection_types import DetectionGroundTruth, DetectionPredictions
from assay.metrics.detection import bucket_sort
from assay.metrics.detection.matching import AgnosticMatch, match_sweep, sweep_events


@dataclass(eq=False)
class ScoreOrder:
    """The predictions by descending score (ties: input order), which no IoU changes: ``order``,
    each prediction's dense ``rank`` among the distinct scores (0: the highest; equal scores share
    one), and in that order minus the score, the class and the image."""

    order: np.ndarray
    rank: np.ndarray
    neg_score: np.ndarray
    labels: np.ndarray
    image: np.ndarray


# per predictions object (weakly held: gone with it): its scores array and their order
_ORDERS: weakref.WeakKeyDictionary[DetectionPredictions, tuple[np.ndarray, ScoreOrder]] = (
    weakref.WeakKeyDictionary()
)


def score_order(dt: DetectionPredictions) -> ScoreOrder:
    """The :class:`ScoreOrder` of ``dt``, computed once per predictions object, so every new IoU's
    :meth:`Sweep.build` and F1 sweep only filter it (no sort of the predictions)."""
    kept = _ORDERS.get(dt)
    if kept is not None and kept[0] is dt.scores:
        return kept[1]
    scores = np.asarray(dt.scores, np.float64)
    order = np.argsort(-scores, kind="stable")
    ss = scores[order]
    rank = np.empty(len(order), np.int64)
    if len(order):
        rank[order] = np.cumsum(np.r_[0, ss[1:] != ss[:-1]])
    so = ScoreOrder(
        order,
        rank,
        -ss,
        np.asarray(dt.labels, np.int32)[order],
        np.asarray(dt.image, np.int32)[order],
    )
    _ORDERS[dt] = (dt.scores, so)
    return so


@dataclass(eq=False)
class Sweep:
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
    # (score, tp, fp) after each run of equal scores, as f1_sweep counts them (None: not kept)
    f1_counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def match(
        cls,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
        dt_sort: np.ndarray,
        iou: float,
        gt: DetectionGroundTruth,
        dt: DetectionPredictions,
    ) -> Sweep:
        """The matching at ``iou`` of the pairs (over the predictions in ``dt_sort`` order) and
        its sweep, in one pass of :func:`~assay.metrics.detection.matching.match_sweep`."""
        so = score_order(dt)
        m, events, f1 = match_sweep(
            *pairs,
            gt.iscrowd,
            iou,
            dt_sort,
            so.order,
            so.neg_score,
            gt.labels,
            so.labels,
            so.image,
            len(gt.classes),
        )
        return cls.build(m, gt, dt, events=events, f1_counts=f1)

    @classmethod
    def build(
        cls,
        m: AgnosticMatch,
        gt: DetectionGroundTruth,
        dt: DetectionPredictions,
        *,
        events: tuple[np.ndarray, ...] | None = None,
        f1_counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> Sweep:
        """The sweep of matching ``m`` (``events``: its :func:`sweep_events`, when known)."""
        k, n_img = len(gt.classes), gt.n_images
        k1 = k + 1
        scores = np.asarray(dt.scores, np.float64)
        gt_labels = np.asarray(gt.labels, np.int64)
        so = score_order(dt)
        if events is None:
            events = sweep_events(m, so.order, so.neg_score, gt_labels, so.labels, so.image, k)
        d_key, row, col, d_img, d_code, tp = events
        crowd = np.asarray(gt.iscrowd, bool)
        partner = np.asarray(m.gt_dt, np.int64)
        has = np.flatnonzero(~crowd & (partner >= 0))
        # by the partner's descending score (its dense rank); ties: ground-truth order
        n_ranks = int(so.rank.max()) + 1 if len(so.rank) else 1
        rank = np.zeros(len(partner), np.int64)
        rank[has] = so.rank[partner[has]]
        g_order = bucket_sort(has.astype(np.int64), rank, n_ranks)[0]
        g_row = gt_labels[g_order]
        unpartnered = np.flatnonzero(~crowd & (partner < 0))
        u_row = gt_labels[unpartnered]
        gt_img = np.asarray(gt.image, np.int64)
        return cls(
            m=m,
            d_key=d_key,
            d_row=row,
            d_col=col,
            d_img=d_img,
            d_code=d_code,
            g_key=-scores[partner[g_order]],
            g_row=g_row.astype(np.int32),
            g_img=gt_img[g_order].astype(np.int32),
            g_code=(g_row * k1 + k).astype(np.int32),
            u_row=u_row.astype(np.int32),
            u_img=gt_img[unpartnered].astype(np.int32),
            u_counts=np.bincount(u_row * k1 + k, minlength=k1 * k1),
            t_key=d_key[tp],
            t_img=d_img[tp],
            gt_per_image=np.bincount(gt_img[~crowd], minlength=n_img),
            f1_counts=f1_counts,
        )


class PointOutcomes:
    """The outcomes at one (IoU, confidence): prefix lengths into a :class:`Sweep`, with the
    confusion counts, the per-image TP / FP / FN and the P / R / F1 table computed on first use."""

    def __init__(self, sweep: Sweep, score: float, n_classes: int, n_images: int) -> None:
        self.sweep, self.k, self.n_images = sweep, n_classes, n_images
        self.nd = int(np.searchsorted(sweep.d_key, -score, side="right"))
        self.ng = int(np.searchsorted(sweep.g_key, -score, side="right"))
        self.nt = int(np.searchsorted(sweep.t_key, -score, side="right"))
        self._counts: np.ndarray | None = None
        self._per_image: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.prf: list[dict[str, Any]] | None = None

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

    def _events(self) -> list[tuple[np.ndarray, np.ndarray | None, np.ndarray]]:
        """(rows, columns, images) of the events at this point; ground-truth events have no
        columns array (they are all in the "Not detected" column K)."""
        sw, nd, ng = self.sweep, self.nd, self.ng
        return [
            (sw.d_row[:nd], sw.d_col[:nd], sw.d_img[:nd]),
            (sw.g_row[ng:], None, sw.g_img[ng:]),
            (sw.u_row, None, sw.u_img),
        ]

    def _select(
        self,
        rows: np.ndarray,
        cols: np.ndarray | None,
        row: int | None,
        col: int | None,
        exclude_row: int | None,
        exclude_col: int | None,
    ) -> np.ndarray | bool:
        """Which of these events lie in (row, col), False when none can; True = all."""
        k = self.k
        if cols is None and ((col is not None and col != k) or exclude_col == k):
            return False  # ground-truth events are all in the "Not detected" column
        sel: np.ndarray | bool = True
        for values, want, equal in (
            (rows, row, True),
            (cols, col, True),
            (rows, exclude_row, False),
            (cols, exclude_col, False),
        ):
            if want is None or values is None:
                continue
            hit = values == want if equal else values != want
            sel = hit if sel is True else sel & hit
        return sel

    def cell_counts(self, row: int | None, col: int | None) -> np.ndarray:
        """Boxes per image in the confusion cell (row, col) (None = any row / column); summed
        over the images they equal that cell of :meth:`counts`."""
        out = np.zeros(self.n_images, np.int64)
        for rows, cols, img in self._events():
            sel = self._select(rows, cols, row, col, None, None)
            if sel is False:
                continue
            out += np.bincount(img if sel is True else img[sel], minlength=self.n_images)
        return out

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
        out = np.zeros(self.n_images, bool)
        for rows, cols, img in self._events():
            sel = self._select(rows, cols, row, col, exclude_row, exclude_col)
            if sel is False:
                continue
            out[img if sel is True else img[sel]] = True
        return out
