"""Calibration: expected calibration error, reliability-diagram bins, score densities.

Bins are equal-width on [0, 1]; bin ``b`` holds confidences in ``(b / B, (b + 1) / B]`` and the
first bin also holds 0. ECE = sum over bins of ``count / N * |accuracy - mean confidence|``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reliability_bins", "expected_calibration_error", "score_density"]


def _bin_index(confidence: np.ndarray, bins: int) -> np.ndarray:
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, *, bins: int = 15
) -> dict[str, object]:
    """Reliability-diagram bins and the ECE of ``confidence`` against 0/1 ``correct``.

    Empty bins have count 0 and confidence / accuracy None.

    >>> r = reliability_bins(np.array([0.9, 0.9, 0.2]), np.array([1, 0, 0]), bins=2)
    >>> round(r["ece"], 6), [b["count"] for b in r["bins"]]
    (0.333333, [1, 2])
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    idx = _bin_index(confidence, bins)
    count = np.bincount(idx, minlength=bins)
    conf_sum = np.bincount(idx, weights=confidence, minlength=bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=bins)
    n = confidence.size
    ece = float(np.abs(acc_sum - conf_sum).sum() / n) if n else float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for b in range(bins):
        k = int(count[b])
        out.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": k,
                "confidence": float(conf_sum[b] / k) if k else None,
                "accuracy": float(acc_sum[b] / k) if k else None,
            }
        )
    return {"ece": ece, "bins": out}


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, *, bins: int = 15
) -> float:
    """ECE with ``bins`` equal-width bins (15 by default) on the given confidence.

    >>> round(expected_calibration_error(np.array([0.9, 0.9, 0.2]), np.array([1, 0, 0]), bins=2), 6)
    0.333333
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.size == 0:
        return float("nan")
    idx = _bin_index(confidence, bins)
    conf_sum = np.bincount(idx, weights=confidence, minlength=bins)
    acc_sum = np.bincount(idx, weights=np.asarray(correct, dtype=np.float64), minlength=bins)
    return float(np.abs(acc_sum - conf_sum).sum() / confidence.size)


def score_density(
    score: np.ndarray, positive: np.ndarray, *, bins: int = 50
) -> dict[str, np.ndarray]:
    """Histograms of one class's scores on [0, 1] for its positives and its negatives.

    >>> d = score_density(np.array([0.1, 0.9, 0.8]), np.array([0, 1, 1], bool), bins=2)
    >>> d["positives"].tolist(), d["negatives"].tolist()
    ([0, 2], [1, 0])
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    positive = np.asarray(positive, dtype=bool)
    pos, _ = np.histogram(score[positive], bins=edges)
    neg, _ = np.histogram(score[~positive], bins=edges)
    return {"edges": edges, "positives": pos, "negatives": neg}
