"""TIDE's detection error types on ``DetectionResults``: ``error_types()``, cached per evaluation.

The numbers follow TIDE's definitions (Bolya et al., ECCV 2020; the ``tidecv`` package is the
reference the tests check against): the kernel is
:func:`assay.metrics.detection.errors.tide_errors`, whose docstring defines each type. AP and dAP
here are on Assay's AP scale (0-1); TIDE prints them x100 ("AP points").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation.results import Results
from assay.formats.detection import DetectionGroundTruth, DetectionPredictions
from assay.metrics.detection.errors import ERROR_TYPES, SPECIAL_TYPES, TideErrors, tide_errors

__all__ = ["ERROR_TYPE_INFO", "ErrorTypesMixin", "SPECIAL_TYPE_INFO"]

#: (name, one sentence) of each error type, in TIDE's order.
ERROR_TYPE_INFO: dict[str, tuple[str, str]] = {
    "cls": (
        "Classification",
        "Right box, wrong class: the detection overlaps a box of another class by at least "
        "the foreground IoU.",
    ),
    "loc": (
        "Localisation",
        "Right class, loose box: its best overlap with a box of its class lies between the "
        "background and the foreground IoU.",
    ),
    "both": (
        "Both",
        "Wrong class and a loose box: it overlaps something by more than the background IoU "
        "but fits none of the other types.",
    ),
    "dupe": (
        "Duplicate",
        "A second detection of one object: it overlaps a box of its class that a more "
        "confident detection already took.",
    ),
    "bkg": (
        "Background",
        "Fired on nothing: it overlaps every ground-truth box by at most the background IoU.",
    ),
    "miss": (
        "Missed",
        "A ground-truth box that no detection found and that no classification or "
        "localisation error points at.",
    ),
}
SPECIAL_TYPE_INFO: dict[str, tuple[str, str]] = {
    "fp": (
        "False positives",
        "Every false positive scored below every true positive: perfect precision at the same "
        "recall.",
    ),
    "fn": (
        "False negatives",
        "Every unmatched ground-truth box removed: perfect recall at the same precision.",
    ),
}
MAX_DETS = 100  # TIDE's (and COCO's) detections per image
ERRORS_CACHE = 4  # (IoU, background IoU) pairs whose breakdown is kept per evaluation


def _ap(x: float) -> float | None:
    """Percent (TIDE's scale) to Assay's 0-1 AP; None for an undefined value."""
    return None if math.isnan(x) else x / 100.0


class ErrorTypesMixin(Results):
    """``error_types()``: TIDE's breakdown of a detection evaluation."""

    gt: DetectionGroundTruth
    dt: DetectionPredictions
    classes: list[str]

    def _tide(self, iou: float, background_iou: float) -> TideErrors:
        def make() -> TideErrors:
            g, d = self.gt, self.dt
            return tide_errors(
                g.boxes,
                g.labels,
                g.image,
                g.iscrowd,
                d.boxes,
                d.labels,
                d.scores,
                d.image,
                n_images=g.n_images,
                n_classes=len(self.classes),
                pos=iou,
                bg=background_iou,
                max_dets=MAX_DETS,
            )

        kept: TideErrors = self.memo("error_types", ERRORS_CACHE).get_or_make(
            (iou, background_iou), make
        )
        return kept

    def error_types(
        self,
        label: str | None = None,
        *,
        per_class: bool = False,
        iou: float = 0.5,
        background_iou: float = 0.1,
    ) -> dict[str, Any]:
        """TIDE's six error types with their counts and the AP each would give back (dAP).

        ``types``: per type its count and dAP (the AP50 gained, on the 0-1 scale, by fixing
        every error of that type, TIDE's oracle, floored at 0); ``special``: the dAP of fixing
        every false positive / every false negative. ``ap``: the AP at ``iou`` by TIDE's
        definition (its mean over classes). With ``per_class`` (or one ``label``), ``classes``
        lists each class's AP, counts (cls, loc and miss under the ground-truth box's class, the
        others under the detection's) and its own AP gained by each fix. ``iou`` is TIDE's
        foreground IoU (0.5) in [0.1, 0.95], ``background_iou`` (0.1) in (0, iou).

        >>> # see tests/evaluation/test_detection_error_types.py
        """
        label = self.check_label(label)
        iou, background_iou = _checked(iou, background_iou)
        r = self._tide(iou, background_iou)
        out: dict[str, Any] = {
            "task": "detection",
            "definition": "TIDE (Bolya et al., ECCV 2020)",
            "iou": iou,
            "background_iou": background_iou,
            "max_dets": MAX_DETS,
            "ap": _ap(r.ap),
            "types": [
                {
                    "type": t,
                    "name": ERROR_TYPE_INFO[t][0],
                    "description": ERROR_TYPE_INFO[t][1],
                    "count": int(r.counts[i]),
                    "dap": _ap(float(r.dap[i])),
                }
                for i, t in enumerate(ERROR_TYPES)
            ],
            "special": [
                {
                    "type": t,
                    "name": SPECIAL_TYPE_INFO[t][0],
                    "description": SPECIAL_TYPE_INFO[t][1],
                    "dap": _ap(float(r.special[i])),
                }
                for i, t in enumerate(SPECIAL_TYPES)
            ],
            "classes": None,
        }
        if per_class or label is not None:
            keep = range(len(self.classes)) if label is None else [self.classes.index(label)]
            out["classes"] = [
                {
                    "label": self.classes[k],
                    "ap": _ap(float(r.class_ap[k])),
                    "counts": {t: int(r.class_counts[k, i]) for i, t in enumerate(ERROR_TYPES)},
                    "dap": {t: _ap(float(r.class_dap[k, i])) for i, t in enumerate(ERROR_TYPES)},
                    "special": {
                        t: _ap(float(r.class_special[k, i])) for i, t in enumerate(SPECIAL_TYPES)
                    },
                }
                for k in keep
            ]
        return out

    def error_images(
        self,
        error_type: str,
        label: str | None = None,
        *,
        iou: float = 0.5,
        background_iou: float = 0.1,
        offset: int = 0,
        limit: int = 20,
    ) -> dict[str, Any]:
        """The images holding errors of ``error_type`` (one of cls, loc, both, dupe, bkg, miss;
        of class ``label`` when given, attributed as in :meth:`error_types`), the most such
        errors first (then by index): ``total`` images, a page of ``{index, file_name, count}``.
        """
        if error_type not in ERROR_TYPES:
            raise ParameterError(
                f"error_type: unknown {error_type!r}; expected one of {', '.join(ERROR_TYPES)}"
            )
        label = self.check_label(label)
        iou, background_iou = _checked(iou, background_iou)
        for name, v in (("offset", offset), ("limit", limit)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ParameterError(f"{name}: expected a whole number of at least 0, got {v!r}")
        r = self._tide(iou, background_iou)
        g, d = self.gt, self.dt
        k = None if label is None else self.classes.index(label)
        if error_type == "miss":
            keep = r.gt_missed if k is None else r.gt_missed & (g.labels == k)
            images = g.image[keep]
        else:
            sel = np.flatnonzero(r.dt_kind == ERROR_TYPES.index(error_type) + 1)
            if k is not None:  # cls / loc count for the box they point at, the rest for their own
                owner = g.labels[r.dt_gt[sel]] if error_type in ("cls", "loc") else d.labels[sel]
                sel = sel[owner == k]
            images = d.image[sel]
        counts = np.bincount(images, minlength=g.n_images)
        idx = np.flatnonzero(counts)
        idx = idx[np.argsort(-counts[idx], kind="stable")]
        page = idx[offset : offset + limit]
        return {
            "type": error_type,
            "label": label,
            "iou": iou,
            "background_iou": background_iou,
            "total": int(len(idx)),
            "offset": int(offset),
            "limit": int(limit),
            "items": [
                {"index": int(i), "file_name": str(g.file_names[i]), "count": int(counts[i])}
                for i in page
            ],
        }


def _checked(iou: Any, background_iou: Any) -> tuple[float, float]:
    """The two IoUs as floats, or a ParameterError naming the one out of range."""
    for name, v in (("iou", iou), ("background_iou", background_iou)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ParameterError(f"{name}: expected a number, got {v!r}")
    if not 0.1 <= iou <= 0.95:
        raise ParameterError(f"iou: must be in [0.1, 0.95], got {iou}")
    if not 0 < background_iou < iou:
        raise ParameterError(
            f"background_iou: must be above 0 and below iou ({iou}), got {background_iou}"
        )
    return float(iou), float(background_iou)
