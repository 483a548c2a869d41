"""Likely label errors by confident learning (cleanlab): samples whose given label the model
finds unlikely while it is confident in another class."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.quality._common import fnum, need

__all__ = ["label_issues"]


def label_issues(
    y_true: Any, probs: Any, classes: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The samples cleanlab's ``find_label_issues`` flags, most likely first (lowest
    self-confidence, the probability of the given label): [{index, given, suggested (the argmax
    class), confidence (its probability), self_confidence}]. ``probs`` is (N, C) with rows of
    class probabilities (rows not summing to 1 are normalised); ``y_true`` the class indices.

    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 50); p = np.eye(2)[y] * 0.9 + 0.05; y[3] = 1
    >>> [r["index"] for r in label_issues(y, p, ["cat", "dog"])]
    [3]
    """
    flt = need("cleanlab.filter")
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    if p.ndim != 2 or p.shape[1] < 2:
        raise InputError(f"probs: expected an (N, C >= 2) array, got shape {p.shape}")
    if y.shape != (p.shape[0],):
        raise InputError(f"y_true has {y.size} entries, expected {p.shape[0]}")
    if not np.issubdtype(y.dtype, np.integer) or (
        len(y) and (y.min() < 0 or y.max() >= p.shape[1])
    ):
        raise InputError("y_true: expected class indices within the columns of probs")
    if not np.isfinite(p).all() or (p < 0).any():
        raise InputError("probs: expected finite, non-negative probabilities")
    names = list(classes) if classes is not None else [str(k) for k in range(p.shape[1])]
    if len(names) != p.shape[1]:
        raise InputError(f"{len(names)} class names for {p.shape[1]} columns")
    if len(y) < 2:
        return []
    sums = p.sum(axis=1, keepdims=True)
    p = np.where(sums > 0, p / np.where(sums > 0, sums, 1.0), 1.0 / p.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranked = flt.find_label_issues(
            labels=y.astype(np.int64),
            pred_probs=p,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
    top = p.argmax(axis=1)
    return [
        {
            "index": int(i),
            "given": names[int(y[i])],
            "suggested": names[int(top[i])],
            "confidence": fnum(p[i, top[i]]),
            "self_confidence": fnum(p[i, y[i]]),
        }
        for i in np.asarray(ranked, dtype=np.int64).tolist()
    ]
