"""Paired statistics for comparing two models on the same samples: McNemar's exact test, Holm's
step-down correction, and paired bootstrap intervals and p-values of metric differences (both
models scored on the same resampled rows).

Each difference has one procedure whose interval and p-value agree (the interval excludes 0
exactly when p < 1 - level):

- a difference of paired proportions (accuracy, a class's recall): Tango's score interval
  (:func:`tango_interval`), the set of differences its score test does not reject; at 0 that test
  is McNemar's (asymptotic, without continuity correction), whose p :func:`paired_proportion`
  gives;
- any other metric: the normal interval with the paired bootstrap's standard error and its z-test
  (:func:`normal_delta`); its p is not floored at 1 / (B + 1), so it can pass a Holm threshold
  of many tests, and comes with its Monte-Carlo error (how much another seed could move it).

>>> mcnemar_exact(3, 12)                 # A right and B wrong 3 times, the reverse 12 times
0.03515625
>>> holm([0.01, 0.04, 0.03]).tolist()
[0.03, 0.06, 0.06]
>>> r = paired_proportion(12, 3, 200)    # B fixed 12 samples and broke 3, of 200
>>> round(r["delta"], 3), round(r["low"], 4), round(r["high"], 4), round(r["p"], 4)
(0.045, 0.0081, 0.0892, 0.0201)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "bootstrap_delta",
    "class_recall_replicates",
    "column_replicate_sums",
    "holm",
    "mcnemar_exact",
    "normal_delta",
    "paired_proportion",
    "tango_interval",
    "tango_z",
    "z_of",
]

# the power at which a row's minimum detectable effect is given
POWER = 0.8


def z_of(tail: float) -> float:
    """The standard normal quantile leaving ``tail`` above it (``z_of(0.025)`` is 1.96)."""
    return float(ndtri(1.0 - tail))


def _sf(z: np.ndarray | float) -> np.ndarray:
    """P(Z > z) of the standard normal, elementwise (accurate in the far tail)."""
    return np.asarray(ndtr(-np.asarray(z, dtype=np.float64)))


def tango_z(
    delta: np.ndarray | float,
    fixed: np.ndarray | float,
    broken: np.ndarray | float,
    n: np.ndarray | float,
) -> np.ndarray:
    """Tango's score statistic of "B - A = ``delta``" for paired proportions: ``fixed`` pairs A
    wrong and B right, ``broken`` the reverse, of ``n`` (arrays broadcast). It decreases in
    ``delta``; at 0 it is McNemar's ``(fixed - broken) / sqrt(fixed + broken)``. The variance is
    that of the multinomial at the restricted maximum-likelihood cells (Tango 1998)."""
    d = np.asarray(delta, dtype=np.float64)
    f = np.asarray(fixed, dtype=np.float64)
    b = np.asarray(broken, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    rest = n - f - b
    lin = f * (1 - d) + b * (1 - 3 * d) - 2 * rest * d
    with np.errstate(invalid="ignore", divide="ignore"):
        q = (lin + np.sqrt(np.maximum(lin**2 + 8 * n * b * d * (1 - d), 0.0))) / (4 * n)
        var = n * (2 * q + d * (1 - d))
        num = f - b - n * d
        z = num / np.sqrt(var)
        return np.where(var > 0, z, np.where(num == 0, 0.0, np.copysign(np.inf, num)))


def tango_interval(
    fixed: np.ndarray | float,
    broken: np.ndarray | float,
    n: np.ndarray | float,
    *,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): Tango's score interval of the difference of paired proportions B - A, the
    differences whose two-sided score test at ``1 - level`` does not reject (by bisection,
    elementwise, to 1e-10). Both NaN where ``n`` is 0."""
    f, b, n = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (fixed, broken, n)))
    zc = z_of((1.0 - level) / 2.0)
    est = np.where(n > 0, (f - b) / np.maximum(n, 1), 0.0)
    bounds = []
    for target, side in ((zc, -1.0), (-zc, 1.0)):
        # the root of z(delta) = target between the estimate and -1 (low) or +1 (high)
        inner, outer = est.copy(), np.full_like(est, side)
        for _ in range(40):
            mid = (inner + outer) / 2
            z = tango_z(mid, f, b, n)
            past = z >= target if side < 0 else z <= target
            outer = np.where(past, mid, outer)
            inner = np.where(past, inner, mid)
        bounds.append(np.where(n > 0, (inner + outer) / 2, np.nan))
    return bounds[0], bounds[1]


def paired_proportion(
    fixed: int, broken: int, n: int, *, level: float = 0.95, margin: float | None = None
) -> dict[str, float]:
    """The difference of two paired proportions B - A (``fixed`` - ``broken``) / ``n`` with
    Tango's score interval and the p-value of the same score test at 0 (McNemar's, asymptotic):
    {delta, low, high, p, se, mde} where ``se`` is the standard error under no difference
    (sqrt(fixed + broken) / n) and ``mde`` the smallest difference the test detects with 80 %
    power at ``1 - level``; with ``margin``: ``p_lower`` (of "B - A <= -margin") and
    ``p_upper`` (of "B - A >= margin"), the one-sided score tests at the margins."""
    if n <= 0:
        nan = math.nan
        return {"delta": nan, "low": nan, "high": nan, "p": nan, "se": nan, "mde": nan}
    lo, hi = tango_interval(fixed, broken, n, level=level)
    z0 = float(tango_z(0.0, fixed, broken, n))
    se = math.sqrt(fixed + broken) / n
    out = {
        "delta": (fixed - broken) / n,
        "low": float(lo),
        "high": float(hi),
        "p": float(min(1.0, 2 * float(_sf(abs(z0))))),
        "se": se,
        "mde": (z_of((1 - level) / 2) + z_of(1 - POWER)) * max(se, 1.0 / n),
    }
    if margin is not None:
        out["p_lower"] = float(_sf(tango_z(-margin, fixed, broken, n)))
        out["p_upper"] = float(1.0 - _sf(tango_z(margin, fixed, broken, n)))
    return out


def normal_delta(
    replicates: np.ndarray,
    estimate: float,
    *,
    scale: float = 1.0,
    level: float = 0.95,
    margin: float | None = None,
) -> dict[str, float]:
    """A difference ``estimate`` with the standard error of its paired bootstrap ``replicates``
    (times ``scale``, the m-out-of-n correction sqrt(m / n)): the normal interval
    ``estimate +- z * se`` and the two-sided p of its z-test, which agree (the interval excludes
    0 exactly when p < 1 - level). Returns {low, high, p, se, p_mc, mde}: ``p_mc`` is the
    Monte-Carlo standard error of p (from that of the bootstrap SE, sd(se) / se ~
    sqrt((kurtosis - 1) / 4B), the kurtosis at least 3), ``mde`` the smallest difference detected with 80 % power; with
    ``margin``, ``p_lower`` / ``p_upper`` the one-sided p-values of "B - A <= -margin" and
    "B - A >= margin". NaN replicates are left out; fewer than 2 left, or no estimate: NaNs."""
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    nan = math.nan
    out = {"low": nan, "high": nan, "p": nan, "se": nan, "p_mc": nan, "mde": nan}
    if margin is not None:
        out.update(p_lower=nan, p_upper=nan)
    if r.size < 2 or not math.isfinite(estimate):
        return out
    centred = r - r.mean()
    m2 = float(np.mean(centred**2))
    se = math.sqrt(m2 * r.size / (r.size - 1)) * scale
    zc = z_of((1.0 - level) / 2.0)
    if se > 0:
        z = abs(estimate) / se
        p = float(2 * _sf(z))
        kurt = float(np.mean(centred**4)) / m2**2
        # sd(se) / se: from the replicates' kurtosis, never below the normal's (kurtosis 3), whose
        # estimate from B replicates is itself noisy
        rel = math.sqrt(max(kurt - 1.0, 2.0) / (4 * r.size))
        p_mc = 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * z * rel
    else:  # every replicate the same difference: no sampling variation
        p, p_mc = (1.0 if estimate == 0 else 0.0), 0.0
    out.update(low=estimate - zc * se, high=estimate + zc * se, p=min(1.0, p), se=se,
               p_mc=p_mc, mde=(zc + z_of(1 - POWER)) * se)  # fmt: skip
    if margin is not None:
        if se > 0:
            out["p_lower"] = float(_sf((estimate + margin) / se))
            out["p_upper"] = float(1.0 - _sf((estimate - margin) / se))
        else:
            out["p_lower"] = 0.0 if estimate > -margin else 1.0
            out["p_upper"] = 0.0 if estimate < margin else 1.0
    return out


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
    ``correct``, a number in [-1, 1] for a difference of two); NaN where a replicate drew none of
    the class. Entries -1 of ``idx`` (group resamples padded to one length) are skipped."""
    idx = np.asarray(idx, dtype=np.int64)
    b, m = idx.shape
    drawn = idx >= 0
    safe = np.where(drawn, idx, 0)
    keys = (np.arange(b, dtype=np.int64)[:, None] * n_classes + y_true[safe])[drawn]
    weights = np.asarray(correct, dtype=np.float64)[safe][drawn]
    total = np.bincount(keys, minlength=b * n_classes).reshape(b, n_classes)
    hits = np.bincount(keys, weights=weights, minlength=b * n_classes).reshape(b, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / np.maximum(total, 1), np.nan)


def column_replicate_sums(idx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(B, K): per replicate, the column sums of the rows of ``x`` (N, K) it draws (each row as
    often as drawn)."""
    from assay.metrics.bootstrap import _weighted_sums

    return _weighted_sums(np.asarray(idx, dtype=np.int64), np.asarray(x, dtype=np.float64))
