"""Per-sample outcomes of an evaluation at an operating point, as the data-quality views need
them: whether each sample is right, and per-sample TP / FP / FN counts for one class.

Classification: a sample is correct when its prediction at the threshold (argmax kept when its
score is at least the threshold) is its label. Multi-label: when the predicted set equals the
label set. Detection: an image is correct when it has no FP and no FN at (IoU, confidence), the
matching of the confusion matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation.dispatch import is_classification, is_detection
from assay.evaluation.results import OperatingPoint, Results

__all__ = ["Outcomes", "class_counts", "sample_labels", "sample_outcomes"]


@dataclass
class Outcomes:
    """``correct`` (N,) bool; ``point`` the filled operating point; single-label ``y_true`` /
    ``y_pred`` (N,) class indices (-1: below the threshold); multi-label both (N, C) bool;
    detection ``tp`` / ``fp`` / ``fn`` boxes per image."""

    task: str
    point: OperatingPoint
    correct: np.ndarray
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    tp: np.ndarray | None = None
    fp: np.ndarray | None = None
    fn: np.ndarray | None = None


def sample_outcomes(results: Results, at: OperatingPoint | None = None) -> Outcomes:
    """The outcomes of every sample of ``results`` at ``at`` (default: the evaluation's point)."""
    p = results.point(at)
    if is_detection(results):
        tp, fp, fn = (np.asarray(a) for a in results.image_counts(p))
        return Outcomes("detection", p, (fp == 0) & (fn == 0), tp=tp, fp=fp, fn=fn)
    assert is_classification(results)
    y_true, y_pred = np.asarray(results.y_true), np.asarray(results.predictions(p))
    return Outcomes(results.task, p, results.outcomes(p), y_true=y_true, y_pred=y_pred)


def class_counts(
    results: Results, outcomes: Outcomes, label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tp, fp, fn) per sample for class ``label``: 0 / 1 for classification (TP: labeled and
    predicted ``label``; FP: predicted, labeled otherwise; FN: labeled, predicted otherwise or
    nothing); boxes per image for detection (a misclassified pair is an FP of the predicted and
    an FN of the actual class)."""
    results.check_label(label)
    k = results.classes.index(label)
    if is_detection(results):
        return results.class_image_counts(label, outcomes.point)
    assert outcomes.y_true is not None and outcomes.y_pred is not None
    if outcomes.task == "multilabel":
        actual = outcomes.y_true[:, k].astype(bool)
        predicted = outcomes.y_pred[:, k]
    else:
        actual = outcomes.y_true == k
        predicted = outcomes.y_pred == k
    as_int = np.int64
    return (
        (actual & predicted).astype(as_int),
        (~actual & predicted).astype(as_int),
        (actual & ~predicted).astype(as_int),
    )


def sample_labels(results: Results, outcomes: Outcomes, index: int) -> tuple[Any, Any]:
    """(actual, predicted) of one sample in words: single-label a class name (predicted None
    below the threshold); multi-label and detection sorted lists of class names (detection: the
    classes of the image's ground-truth boxes, and of its predictions at the confidence)."""
    names = results.classes
    if not 0 <= index < len(outcomes.correct):
        raise ParameterError(f"index: no sample {index}")
    if is_detection(results):
        gt, dt = results.gt, results.dt
        score = outcomes.point.score
        g = gt.labels[(gt.image == index) & ~gt.iscrowd]
        d = dt.labels[(dt.image == index) & (dt.scores >= score)]
        return sorted({names[int(c)] for c in g}), sorted({names[int(c)] for c in d})
    assert outcomes.y_true is not None and outcomes.y_pred is not None
    if outcomes.task == "multilabel":
        return (
            [names[c] for c in np.flatnonzero(outcomes.y_true[index])],
            [names[c] for c in np.flatnonzero(outcomes.y_pred[index])],
        )
    pred = int(outcomes.y_pred[index])
    return names[int(outcomes.y_true[index])], (names[pred] if pred >= 0 else None)
