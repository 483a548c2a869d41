"""Detector outputs -> per-image detections in original-image pixels (xyxy).

Two layouts (``DetectionSpec.format``): "boxes" (boxes + scores + labels tensors, already decided by
the model) and "yolo" (one raw (N, 4 + C) or (N, 5 + C) tensor per image, decoded here with a
vectorised NMS).

    >>> boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    >>> nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
    [0, 2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assay.errors import InputError
from assay.runners.preprocess import Geometry
from assay.runners.spec import DetectionSpec

_DENSE_MAX = 2048  # above it, NMS goes row by row instead of one n x n IoU matrix


@dataclass(frozen=True)
class Detections:
    """The detections of one image: boxes (N, 4) xyxy in original pixels, scores (N,), labels (N,)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))


def to_xyxy(boxes: np.ndarray, box_format: str) -> np.ndarray:
    """(N, 4) boxes in "xyxy", "xywh" (top-left + size) or "cxcywh" (centre + size) -> xyxy."""
    b = np.asarray(boxes, dtype=np.float64)
    if box_format == "xyxy":
        return b.copy()
    if box_format == "xywh":
        return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:4]], axis=1)
    half = b[:, 2:4] / 2
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of xyxy boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, *, max_keep: int | None = None
) -> np.ndarray:
    """Greedy non-maximum suppression: indices kept, highest score first.

    A box is dropped when its IoU with a kept, higher-scored box is above ``iou_threshold``
    (ties in score keep the earlier box, as a stable sort does).
    """
    n = len(scores)
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    b = np.asarray(boxes, dtype=np.float64)[order]
    if n <= _DENSE_MAX:
        iou = box_iou(b, b)
        suppressed = np.zeros(n, bool)
        keep = []
        for i in range(n):
            if suppressed[i]:
                continue
            keep.append(i)
            if max_keep is not None and len(keep) >= max_keep:
                break
            suppressed |= iou[i] > iou_threshold
        return order[np.asarray(keep, np.int64)]
    keep_list: list[int] = []
    alive = np.arange(n)
    while alive.size and (max_keep is None or len(keep_list) < max_keep):
        i = alive[0]
        keep_list.append(int(i))
        rest = alive[1:]
        alive = rest[box_iou(b[i : i + 1], b[rest])[0] <= iou_threshold]
    return order[np.asarray(keep_list, np.int64)]


def batched_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    iou_threshold: float,
    *,
    max_keep: int | None = None,
) -> np.ndarray:
    """NMS per class (boxes of different labels never suppress each other), by the offset trick."""
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    b = np.asarray(boxes, dtype=np.float64)
    span = float(np.max(b) - min(np.min(b), 0.0)) + 1.0
    shifted = b + (np.asarray(labels, np.float64) * span)[:, None]
    return nms(shifted, scores, iou_threshold, max_keep=max_keep)


def _finish(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    spec: DetectionSpec,
    geometry: Geometry,
    input_wh: tuple[int, int],
) -> Detections:
    boxes = to_xyxy(boxes, spec.box_format)
    if spec.normalized:
        boxes[:, [0, 2]] *= input_wh[0]
        boxes[:, [1, 3]] *= input_wh[1]
    labels = labels.astype(np.int64) - spec.label_offset
    return Detections(geometry.to_original(boxes), scores.astype(np.float64), labels)


def decode_yolo(
    raw: np.ndarray,
    spec: DetectionSpec,
    geometry: Geometry,
    input_wh: tuple[int, int],
    *,
    n_classes: int | None = None,
) -> Detections:
    """One image's raw YOLO output (N, 4 + C) / (N, 5 + C) (or transposed, (4 + C, N)) -> detections.

    Score = class probability (times objectness when ``spec.objectness``); boxes under
    ``score_threshold`` are dropped, then NMS (per class unless ``class_agnostic``), then the
    ``max_detections`` best.
    """
    raw = np.asarray(raw, dtype=np.float64)
    extra = 5 if spec.objectness else 4
    if raw.ndim != 2:
        raise ValueError(f"expected a 2-D raw output per image, got shape {raw.shape}")
    if n_classes is not None:
        if raw.shape[1] != extra + n_classes and raw.shape[0] == extra + n_classes:
            raw = raw.T
    elif raw.shape[0] < raw.shape[1] and raw.shape[0] > extra:
        raw = raw.T  # (4 + C, N) as YOLOv8 exports it: anchors are the long axis
    if raw.shape[1] <= extra:
        raise ValueError(f"raw output has {raw.shape[1]} columns, need more than {extra}")
    cls = raw[:, extra:]
    if spec.objectness:
        cls = cls * raw[:, 4:5]
    labels = np.argmax(cls, axis=1)
    scores = cls[np.arange(len(cls)), labels]
    ok = scores >= spec.score_threshold
    boxes, scores, labels = raw[ok, :4], scores[ok], labels[ok]
    xyxy = to_xyxy(boxes, spec.box_format)
    if spec.class_agnostic:
        keep = nms(xyxy, scores, spec.iou_threshold, max_keep=spec.max_detections)
    else:
        keep = batched_nms(xyxy, scores, labels, spec.iou_threshold, max_keep=spec.max_detections)
    return _finish(boxes[keep], scores[keep], labels[keep], spec, geometry, input_wh)


def _pick(outputs: Mapping[str, np.ndarray], name: str | None, index: int) -> np.ndarray:
    if name is not None:
        if name not in outputs:
            raise KeyError(f"no output named {name!r} (outputs: {', '.join(outputs)})")
        return outputs[name]
    values = list(outputs.values())
    if index >= len(values):
        raise KeyError(f"expected boxes, scores and labels outputs, the model has {len(values)}")
    return values[index]


def decode_detections(
    outputs: Mapping[str, np.ndarray],
    spec: DetectionSpec,
    geometries: Sequence[Geometry],
    input_wh: tuple[int, int],
    *,
    n_classes: int | None = None,
    source: str = "model",
) -> list[Detections]:
    """A batch of raw outputs (named, in the model's order) -> one ``Detections`` per image.

    "boxes" layout: boxes (B, N, 4), scores (B, N), labels (B, N) — or (N, 4) / (N,) for a batch of
    one; detections under ``score_threshold`` are dropped and the ``max_detections`` best kept.
    """
    n = len(geometries)
    try:
        if spec.format == "yolo":
            raw = _pick(outputs, spec.boxes, 0)
            if raw.ndim == 2 and n == 1:
                raw = raw[None]
            if raw.shape[0] != n:
                raise ValueError(f"raw output of shape {raw.shape} for a batch of {n}")
            return [
                decode_yolo(raw[i], spec, geometries[i], input_wh, n_classes=n_classes)
                for i in range(n)
            ]
        boxes = np.asarray(_pick(outputs, spec.boxes, 0))
        scores = np.asarray(_pick(outputs, spec.scores, 1))
        labels = np.asarray(_pick(outputs, spec.labels, 2))
        if boxes.ndim == 2 and n == 1:
            boxes, scores, labels = boxes[None], scores.reshape(1, -1), labels.reshape(1, -1)
        if boxes.ndim != 3 or boxes.shape[-1] != 4 or boxes.shape[0] != n:
            raise ValueError(
                f"boxes of shape {boxes.shape} for a batch of {n}, expected ({n}, N, 4)"
            )
        if scores.shape != boxes.shape[:2] or labels.shape != boxes.shape[:2]:
            raise ValueError(
                f"scores {scores.shape} and labels {labels.shape} do not match boxes {boxes.shape}"
            )
        result = []
        for i in range(n):
            s = scores[i].astype(np.float64)
            ok = np.flatnonzero(s >= spec.score_threshold)
            ok = ok[np.argsort(-s[ok], kind="stable")][: spec.max_detections]
            result.append(
                _finish(boxes[i][ok], s[ok], labels[i][ok], spec, geometries[i], input_wh)
            )
        return result
    except (ValueError, KeyError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise InputError(f"cannot decode the detection outputs: {message}", file=source) from None
