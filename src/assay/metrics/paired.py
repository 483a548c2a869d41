"""Paired statistics for comparing two models on the same samples: McNemar's exact test, Holm's
step-down correction, and paired bootstrap intervals and p-values of metric differences (both
models scored on the same resampled rows).

>>> mcnemar_exact(3, 12)                 # A right and B wrong 3 times, the reverse 12 times
0.03515625
>>> holm([0.01, 0.04, 0.03]).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "bootstrap_delta",
    "class_recall_replicates",
    "column_replicate_sums",
    "holm",
    "mcnemar_exact",
]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value of ``b`` and ``c`` discordant pairs (a binomial test of
    min(b, c) out of b + c at 1/2); 1.0 when there is no discordant pair."""
    if b < 0 or c < 0:
        raise ValueError(f"counts must be >= 0, got {b}, {c}")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    if n <= 1_000:  # exact: P(X <= k) for X ~ Binomial(n, 1/2) in integers
        return float(min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n))
    # log C(n, i) by a running sum, the tail summed in log space (no overflow, O(k) in numpy)
    i = np.arange(1, k + 1, dtype=np.float64)
    logs = np.concatenate(([0.0], np.cumsum(np.log(n - i + 1) - np.log(i)))) - n * math.log(2)
    top = float(logs.max())
    return float(min(1.0, 2.0 * math.exp(top) * float(np.exp(logs - top).sum())))


def holm(p: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), NaN kept as NaN and not counted."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def bootstrap_delta(
    replicates: np.ndarray, estimate: float, *, scale: float = 1.0, level: float = 0.95
) -> tuple[float, float, float]:
    """(low, high, p) of a difference from its paired bootstrap replicates: the percentile
    interval, widened around the estimate by ``scale`` (the m-out-of-n correction
    ``sqrt(m / n)``), and the two-sided p-value of "no difference" from the replicates shifted
    to the null: the share of ``|d* - d|`` at least ``|d|``. NaN replicates are left out; all
    NaN gives NaNs."""
    r = np.asarray(replicates, dtype=np.float64)
    r = r[~np.isnan(r)]
    if r.size == 0 or not np.isfinite(estimate):
        return (math.nan, math.nan, math.nan)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(r, [alpha, 1.0 - alpha])
    lo = estimate + (lo - estimate) * scale
    hi = estimate + (hi - estimate) * scale
    spread = np.abs(r - estimate) * scale
    p = (np.count_nonzero(spread >= abs(estimate) - 1e-12) + 1) / (r.size + 1)
    return (float(lo), float(hi), float(min(1.0, p)))


def class_recall_replicates(
    idx: np.ndarray, y_true: np.ndarray, correct: np.ndarray, n_classes: int
) -> np.ndarray:
    """(B, C): per replicate, the recall of each class (the share of its drawn samples that are
    ``correct``); NaN where a replicate drew none of the class."""
    idx = np.asarray(idx, dtype=np.int64)
    b, m = idx.shape
    keys = (np.arange(b, dtype=np.int64)[:, None] * n_classes + y_true[idx]).ravel()
    total = np.bincount(keys, minlength=b * n_classes).reshape(b, n_classes)
    hits = np.bincount(
        keys, weights=correct[idx].ravel().astype(np.float64), minlength=b * n_classes
    ).reshape(b, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / np.maximum(total, 1), np.nan)


def column_replicate_sums(idx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(B, K): per replicate, the column sums of the rows of ``x`` (N, K) it draws (each row as
    often as drawn)."""
    from assay.metrics.bootstrap import _weighted_sums

    return _weighted_sums(np.asarray(idx, dtype=np.int64), np.asarray(x, dtype=np.float64))
