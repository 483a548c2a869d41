"""scikit-learn as the oracle of Assay's default averages, shared by the metric, results and
bootstrap tests."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import metrics as skm

AVERAGE_KEYS = tuple(
    f"{k}_{m}" for k in ("macro", "micro", "weighted") for m in ("precision", "recall", "f1")
)


def sk_default_averages(y: np.ndarray, pred: np.ndarray, multilabel: bool = False) -> dict:
    """scikit-learn's macro / micro / weighted precision, recall and F1 with its defaults (an
    undefined ratio warns and counts 0) over its default labels: those present in ``y`` or
    ``pred`` (single-label; a prediction of -1, no class, is our abstention and no label) or every
    indicator column (multi-label)."""
    labels = None if multilabel else sorted(set(y.tolist()) | set(pred[pred >= 0].tolist()))
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for avg in ("macro", "micro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=labels, average=avg)
            out.update({f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f})
    return {k: float(out[k]) for k in AVERAGE_KEYS}


def n_labels(y: np.ndarray, pred: np.ndarray, multilabel: bool = False) -> int:
    """How many labels scikit-learn's default averages run over."""
    if multilabel:
        return int(y.shape[1])
    return len(set(y.tolist()) | set(pred[pred >= 0].tolist()))
