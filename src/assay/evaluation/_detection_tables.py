"""The tables behind ``DetectionResults``' answers that need no matching cache: the COCO numbers
as JSON-safe dicts, the shaped confusion matrix (normalised, kept to the most confused classes) and
the AP under several interpolation protocols.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation.vocabulary import NOT_AN_OBJECT, NOT_DETECTED
from assay.formats.detection import DetectionGroundTruth, DetectionPredictions
from assay.metrics.detection import IOU_THRESHOLDS, STAT_NAMES, CocoMatches, coco_summarize
from assay.metrics.detection.protocols import PROTOCOLS, protocol_ap

MOST_CONFUSED = 10  # cells listed in ``most_confused``


def json_float(x: Any) -> float | None:
    """A float for JSON: nan, inf and COCO's -1 sentinel become None."""
    v = float(x)
    return None if not np.isfinite(v) or v == -1 else v


def json_floats(a: np.ndarray) -> list[float | None]:
    """:func:`json_float` of every entry, in one pass (no Python call per value).

    >>> json_floats(np.array([0.5, np.nan, -1.0, np.inf]))
    [0.5, None, None, None]
    """
    v = np.asarray(a, np.float64)
    ok = (np.isfinite(v) & (v != -1)).tolist()
    return [x if k else None for x, k in zip(v.tolist(), ok, strict=True)]


def _mean_valid(s: np.ndarray) -> float | None:
    v = s[s > -1]
    return None if v.size == 0 else float(v.mean())


def coco_stats(precision: np.ndarray, recall: np.ndarray) -> dict[str, float | None]:
    """The 12 numbers of pycocotools' ``summarize()`` in its order, None where it says -1."""
    values = coco_summarize(precision, recall).tolist()
    return {name: json_float(v) for name, v in zip(STAT_NAMES, values, strict=True)}


def n_classes_with_gt(precision: np.ndarray) -> int:
    """Classes with ground truth that counts (COCO's AP is averaged over these)."""
    if precision.size == 0:
        return 0
    return int((precision[0, :, :, 0, 2] > -1).any(axis=0).sum())


def ap_columns(precision: np.ndarray, recall: np.ndarray, n_classes: int) -> list[dict[str, Any]]:
    """Per class AP (.50:.95), AP50, AP75, AR100, APs, APm, APl; None without ground truth."""
    p, r = precision, recall
    return [
        {
            "AP": _mean_valid(p[:, :, k, 0, 2]),
            "AP50": _mean_valid(p[0, :, k, 0, 2]),
            "AP75": _mean_valid(p[5, :, k, 0, 2]),
            "AR100": _mean_valid(r[:, k, 0, 2]),
            "APs": _mean_valid(p[:, :, k, 1, 2]),
            "APm": _mean_valid(p[:, :, k, 2, 2]),
            "APl": _mean_valid(p[:, :, k, 3, 2]),
        }
        for k in range(n_classes)
    ]


def _off_diagonal(counts: np.ndarray) -> np.ndarray:
    """The counts with the class diagonal zeroed (the special row / column keep theirs)."""
    off = counts.astype(np.float64)
    k = counts.shape[0] - 1
    off[np.arange(k), np.arange(k)] = 0.0
    return off


def most_confused(counts: np.ndarray, rows: list[str], columns: list[str]) -> list[dict[str, Any]]:
    """The largest off-diagonal cells (special labels included), largest first."""
    off = _off_diagonal(counts)
    out = []
    for cell in np.argsort(-off, axis=None, kind="stable")[:MOST_CONFUSED]:
        i, j = divmod(int(cell), off.shape[1])
        if off[i, j] <= 0:
            break
        out.append({"actual": rows[i], "predicted": columns[j], "count": int(off[i, j])})
    return out


def shape_confusion(
    counts: np.ndarray, classes: list[str], normalize: str | None, top: int | None
) -> dict[str, Any]:
    """Rows actual classes + "Not an object", columns predicted classes + "Not detected".

    ``normalize`` "true" gives row fractions (None for an empty row); ``top`` keeps the ``top``
    classes with the most off-diagonal boxes (as actual or as predicted), special labels kept.
    """
    if normalize not in (None, "true"):
        raise ParameterError(
            f"normalize: {normalize!r} is not available for detection (use 'true' or nothing)"
        )
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ParameterError(f"top: expected a whole number of at least 1, got {top!r}")
    k = len(classes)
    rows, columns = [*classes, NOT_AN_OBJECT], [*classes, NOT_DETECTED]
    pairs = most_confused(counts, rows, columns)
    keep: np.ndarray = np.arange(k + 1)
    if top is not None and top < k:
        off = _off_diagonal(counts)
        involvement = off.sum(axis=1)[:k] + off.sum(axis=0)[:k]
        chosen = np.sort(np.argsort(-involvement, kind="stable")[:top])
        keep = np.append(chosen, k)
    shown = counts[np.ix_(keep, keep)]
    if normalize is None:
        matrix: list[list[Any]] = shown.tolist()
    else:
        totals = counts[keep].sum(axis=1)
        matrix = [
            [float(v) / float(t) if t > 0 else None for v in row]
            for row, t in zip(shown.tolist(), totals.tolist(), strict=True)
        ]
    return {
        "unit": "boxes",
        "rows": [rows[i] for i in keep],
        "columns": [columns[j] for j in keep],
        "counts": shown.tolist(),
        "matrix": matrix,
        "normalize": normalize,
        "top": top,
        "n_classes": k,
        "most_confused": pairs,
    }


def protocols_table(
    m: CocoMatches, gt: DetectionGroundTruth, dt: DetectionPredictions
) -> dict[str, Any]:
    """mAP under COCO 101-point, VOC 11-point and all-point interpolation, side by side, and
    ``per_iou``: COCO's mAP at each of its ten IoU thresholds (their mean is AP .50:.95)."""
    classes = list(gt.classes)
    out: dict[str, Any] = {"iou": 0.5, "protocols": list(PROTOCOLS)}
    per: dict[str, dict[str, float | None]] = {c: {} for c in classes}
    for name in PROTOCOLS:
        ap = protocol_ap(m, gt.labels, gt.image, dt.image, gt.n_images, len(classes), name)
        valid = ~np.isnan(ap[0]) if ap.size else np.zeros(len(classes), bool)
        out[name] = {
            "AP50": float(ap[0, valid].mean()) if valid.any() else None,
            "AP75": float(ap[5, valid].mean()) if valid.any() else None,
            "AP": float(ap[:, valid].mean()) if valid.any() else None,
        }
        for k, c in enumerate(classes):
            per[c][name] = json_float(ap[0, k])
        if name == "coco_101":
            out["per_iou"] = [
                {
                    "iou": round(float(iou), 2),
                    "AP": float(ap[t, valid].mean()) if valid.any() else None,
                }
                for t, iou in enumerate(IOU_THRESHOLDS)
            ]
    out["per_class_AP50"] = per
    return out
