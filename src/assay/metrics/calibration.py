"""Calibration: expected calibration error, reliability-diagram bins, score densities.

Bins are equal-width on [0, 1]; bin ``b`` holds confidences in ``(b / B, (b + 1) / B]`` and the
first bin also holds 0. ECE = sum over bins of ``count / N * |accuracy - mean confidence|``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ece_interval",
    "expected_calibration_error",
    "reliability_bins",
    "score_density",
]


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


_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


def _folded_excess(t: np.ndarray) -> np.ndarray:
    """E|t + Z| - |t| for Z ~ N(0, 1): how far the mean absolute value of a normal with mean t
    and SD 1 sits above |t| (0.798 at t = 0, vanishing as |t| grows)."""
    a = np.abs(t)
    cdf = 0.5 * (1.0 + _erf(a / math.sqrt(2.0)).astype(np.float64))
    return _SQRT_2_PI * np.exp(-0.5 * a * a) + a * (2.0 * cdf - 1.0) - a


def ece_interval(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    bins: int = 15,
    units: np.ndarray | None = None,
    level: float = 0.95,
    draws: int = 2000,
    seed: int = 0,
) -> dict[str, float] | None:
    """A ``level`` interval of the population ECE (``bins`` equal-width bins) whose centre is
    the debiased ECE: None without rows.

    The ECE is ``sum_b |x_b|`` with ``x_b`` the mean over rows of ``(correct - confidence)`` in
    bin ``b`` (zero elsewhere). Each ``|x_b|`` is biased upward, by ``s_b h(x_b / s_b)`` where
    ``x_b ~ N(mu_b, s_b^2)`` and ``h(t) = E|t + Z| - |t|``: most where a bin's gap is within a
    few standard errors of 0, so ~ bins / sqrt(N) in all (at 5 classes x 1,000 samples +0.8 of
    the estimate's SD; the bootstrap's own bias estimate, taken at the inflated ``|x_b|``,
    removes only part of it). The debiased ECE subtracts that bias, estimated at ``x_b``; its
    spread comes from draws of ``x* ~ N(x, S)`` (``S`` the covariance of the bin means over the
    independent units) put through the same debiased formula, so the width includes the noise of
    the correction. Interval: debiased ECE + the 2.5 / 97.5 % quantiles of the draws' deviations
    from their mean, floored at 0. Unlike the ECE it is centred on, it is not the plug-in ECE,
    which can lie above it (the estimate is biased; the interval is for the population value).

    ``units``: the independent unit of each row (a sample of a multi-label evaluation, whose
    cells are the rows; a group; default: each row its own), which the covariance is taken over.
    Draws from ``np.random.default_rng(seed)``.

    >>> rng = np.random.default_rng(0)
    >>> conf = rng.uniform(0.5, 1.0, 4000)
    >>> hit = rng.random(4000) < conf - 0.05  # overconfident by 0.05
    >>> iv = ece_interval(conf, hit)
    >>> bool(iv["low"] < 0.05 < iv["high"] < expected_calibration_error(conf, hit) + 0.02)
    True
    """
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    correct = np.asarray(correct, dtype=np.float64).reshape(-1)
    n = confidence.size
    if n == 0:
        return None
    b = _bin_index(confidence, bins)
    gap = correct - confidence
    if units is None:
        codes, n_units = np.arange(n), n
    else:
        codes = np.unique(np.asarray(units).reshape(-1), return_inverse=True)[1].reshape(-1)
        n_units = int(codes.max()) + 1
    # per unit and bin: its summed gap; the bin means are their sums over units / n rows
    a = np.bincount(codes * bins + b, weights=gap, minlength=n_units * bins).reshape(n_units, -1)
    x = a.sum(axis=0) / n
    if n_units > 1:
        centred = a - a.mean(axis=0)
        cov = centred.T @ centred / (n_units - 1) * n_units / (n * n)
    else:
        cov = np.zeros((bins, bins))
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    live = sd > 0

    def debiased(v: np.ndarray) -> np.ndarray:
        out = np.abs(v).sum(axis=-1)
        return out - (sd[live] * _folded_excess(v[..., live] / sd[live])).sum(axis=-1)

    w, vec = np.linalg.eigh(cov)
    root = vec * np.sqrt(np.clip(w, 0.0, None))
    z = np.random.default_rng(seed).standard_normal((draws, bins))
    spread = debiased(x + z @ root.T)
    lo, hi = np.quantile(spread - spread.mean(), [(1 - level) / 2, (1 + level) / 2])
    centre = float(debiased(x))
    return {"low": max(centre + float(lo), 0.0), "high": max(centre + float(hi), 0.0)}
