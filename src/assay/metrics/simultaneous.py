"""Simultaneous inference on K models scored on the same bootstrap resamples: a max-T bootstrap
over every pair of models, the intervals and ranks it implies, and simultaneous intervals of the
K values themselves.

Every model is scored on the same resamples, so the difference of two models' replicates is a
paired replicate of their difference. Studentize each pairwise difference by its bootstrap
standard error, take per resample the largest ``|T*|`` over all K(K-1)/2 pairs, and its
``level`` quantile ``c`` is a critical value that holds for every pair at once (single-step
max-T, Romano & Wolf 2005): with probability ``level`` every true difference lies in
``d_ij ± c · se_ij``. From that one event every statement below follows, so they hold together,
whichever model the data crowned (Mogstad, Romano, Shaikh & Wolf 2024, "Inference for ranks"):

- model i is surely worse than model j when the upper end of ``d_ij`` is below 0;
- ``θ_i - max_{j≠i} θ_j`` lies in ``[min_j low_ij, min_j high_ij]``, so i is significantly
  worse than the best exactly when some model is surely better than it;
- i's rank (1 = best) lies in ``[1 + #surely better, K - #surely worse]``.

Hsu's MCB is sharper for "is i the best" but its upper end is clipped at 0: it counts a claim
that a model tied with the best is "not the best" as correct, which is a false "worse" when the
top models are equal, so the all-pairs family is used.

>>> rng = np.random.default_rng(0)
>>> reps = np.array([0.9, 0.8, 0.6])[:, None] + rng.normal(0, 0.02, (3, 500))
>>> bands = pairwise_max_t(np.array([0.9, 0.8, 0.6]), reps)
>>> rank_intervals(bands).tolist()
[[1, 1], [2, 2], [3, 3]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PairwiseBands",
    "ValueBands",
    "critical_index",
    "pairwise_max_t",
    "rank_intervals",
    "simultaneous_values",
    "worse_than_best",
]


@dataclass(frozen=True)
class PairwiseBands:
    """The max-T family of a board of K models (values oriented so that higher is better).

    diff[i, j] = value_i - value_j; low / high: its simultaneous interval (NaN where the pair
    has fewer than two common finite replicates); p[i, j]: the single-step max-T adjusted p of
    "no difference" (the share of resamples whose largest ``|T*|`` over all pairs reaches this
    pair's ``|t|``), so ``p < 1 - level`` exactly when the interval excludes 0; NaN on the
    diagonal. critical: ``c``, in standard errors; n_resamples: the resamples that scored at
    least one pair."""

    diff: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray
    critical: float
    n_resamples: int
    level: float


@dataclass(frozen=True)
class ValueBands:
    """Simultaneous intervals of the K values (max-T over the models): with probability
    ``level`` every model's true value lies in its interval at once, so the interval of the
    model that came first holds whichever came first. critical: in standard errors."""

    low: np.ndarray
    high: np.ndarray
    critical: float


def critical_index(n: int, level: float) -> int:
    """The 0-based index, from the largest, of the max-T critical value among ``n`` resample
    maxima: ``c`` is the (k+1)-th largest with ``k = ceil((1 - level)(n + 1)) - 2``, so that
    ``|t| > c`` exactly when the p-value ``(1 + #{M* >= |t|}) / (n + 1)`` is below
    ``1 - level``. Negative when ``n`` is too small for that level (no pair can be significant).

    >>> critical_index(1000, 0.95), critical_index(999, 0.95)
    (49, 48)
    """
    return math.ceil((1.0 - level) * (n + 1) - 1e-9) - 2


def _studentized(d_rep: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(se, |T*|) of rows of replicates ``d_rep`` (P, B) around estimates ``d`` (P,): se the
    bootstrap standard deviation over the finite replicates (NaN with fewer than two); |T*| NaN
    where a replicate or se is undefined, 0 where se is 0 (the replicates never move)."""
    ok = np.isfinite(d_rep)
    count = ok.sum(axis=1)
    filled = np.where(ok, d_rep, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / count
        var = np.where(ok, (filled - mean[:, None]) ** 2, 0.0).sum(axis=1) / (count - 1)
    se = np.where(count >= 2, np.sqrt(np.maximum(var, 0.0)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(d_rep - d[:, None]) / se[:, None]
    t = np.where((se == 0)[:, None] & ok, 0.0, t)
    t[~ok | ~np.isfinite(se)[:, None]] = np.nan
    return se, t


def _critical(maxima: np.ndarray, level: float) -> tuple[float, np.ndarray]:
    """(c, the finite maxima sorted descending)."""
    m = np.sort(maxima[np.isfinite(maxima)])[::-1]
    k = critical_index(m.size, level)
    return (float(m[k]) if 0 <= k < m.size else math.inf), m


def pairwise_max_t(
    values: np.ndarray,
    replicates: np.ndarray,
    *,
    scale: float = 1.0,
    level: float = 0.95,
    least_se: np.ndarray | None = None,
) -> PairwiseBands:
    """The simultaneous intervals and adjusted p-values of every pairwise difference of K
    models. ``values`` (K,): the estimates, oriented so that higher is better; ``replicates``
    (K, B): each model's metric on the same B resamples (NaN where undefined); ``scale``: the
    m-out-of-n correction ``sqrt(m / n)`` applied to the standard errors. ``least_se`` (K, K):
    a second standard error of each difference (e.g. the grouped jackknife's, where the
    bootstrap's is known to be small), used where larger: the critical value stays the
    bootstrap's, the intervals and p-values are read with the larger error (they still agree).

    >>> v = np.array([1.0, 0.0])
    >>> b = pairwise_max_t(v, v[:, None] + np.random.default_rng(3).normal(0, 0.1, (2, 200)))
    >>> round(b.critical, 2), b.n_resamples, round(float(b.p[1, 0]), 4)
    (1.99, 200, 0.005)
    """
    v = np.asarray(values, dtype=np.float64)
    reps = np.asarray(replicates, dtype=np.float64)
    k_models, n_rep = reps.shape
    diff = v[:, None] - v[None, :]
    se = np.full((k_models, k_models), np.nan)
    maxima = np.full(n_rep, -np.inf)
    for i in range(k_models - 1):  # one row of pairs at a time: memory O(K B)
        s, t = _studentized(reps[i] - reps[i + 1 :], diff[i, i + 1 :])
        se[i, i + 1 :] = se[i + 1 :, i] = s
        maxima = np.fmax(maxima, np.where(np.isnan(t), -np.inf, t).max(axis=0))
    c, sorted_max = _critical(np.where(maxima == -np.inf, np.nan, maxima), level)
    half = se * scale
    if least_se is not None:
        floor = np.asarray(least_se, dtype=np.float64)
        half = np.where(np.isfinite(floor) & (floor > half), floor, half)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_obs = np.abs(diff) / half
    t_obs = np.where((half == 0) & (diff == 0), 0.0, t_obs)
    # p = (1 + #{M* >= |t|}) / (n + 1), by a search in the ascending maxima
    ascending = sorted_max[::-1]
    reach = ascending.size - np.searchsorted(ascending, np.nan_to_num(t_obs, nan=0.0), "left")
    p = np.where(np.isfinite(half), (1 + reach) / (ascending.size + 1), np.nan)
    with np.errstate(invalid="ignore"):
        width = np.where(half == 0, 0.0, c * half)
    np.fill_diagonal(p, np.nan)
    low, high = diff - width, diff + width
    return PairwiseBands(diff, low, high, p, c, int(ascending.size), level)


def worse_than_best(bands: PairwiseBands) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per model, the simultaneous interval (low, high) of ``θ_i - max_{j≠i} θ_j`` (the min of
    its pairwise intervals), and its adjusted p of "no model is better than it" (the smallest
    family-wise level at which some model is surely better: the least p over the models that
    scored higher, 1 when none did). ``high < 0`` exactly when ``p < 1 - level``; NaN for a
    board of one.

    >>> v = np.array([1.0, 0.0])
    >>> b = pairwise_max_t(v, v[:, None] + np.random.default_rng(3).normal(0, 0.1, (2, 200)))
    >>> [x.round(2).tolist() for x in worse_than_best(b)]
    [[0.72, -1.28], [1.28, -0.72], [1.0, 0.0]]
    """
    k_models = bands.diff.shape[0]
    off = ~np.eye(k_models, dtype=bool)
    low = np.where(off, bands.low, np.inf)
    high = np.where(off, bands.high, np.inf)
    with np.errstate(invalid="ignore"):
        low_min = np.where(np.isnan(low), np.inf, low).min(axis=1)
        high_min = np.where(np.isnan(high), np.inf, high).min(axis=1)
    behind = off & (bands.diff < 0) & np.isfinite(bands.p)
    p = np.where(behind, bands.p, np.inf).min(axis=1)
    p = np.where(np.isinf(p), 1.0, p)
    none = np.isinf(low_min)
    return (np.where(none, np.nan, low_min), np.where(none, np.nan, high_min),
            np.where(none, np.nan, p))  # fmt: skip


def rank_intervals(bands: PairwiseBands) -> np.ndarray:
    """(K, 2): each model's simultaneous rank interval, 1 the best: ``[1 + #models surely
    better, K - #models surely worse]`` (surely: the pair's simultaneous interval excludes 0).
    All K hold at once with probability ``level``; a pair without an interval never counts.

    >>> v = np.array([1.0, 0.0])
    >>> b = pairwise_max_t(v, v[:, None] + np.random.default_rng(3).normal(0, 0.1, (2, 200)))
    >>> rank_intervals(b).tolist()
    [[1, 1], [2, 2]]
    """
    k_models = bands.diff.shape[0]
    with np.errstate(invalid="ignore"):
        better = (bands.high < 0).sum(axis=1)  # models surely better than i
        worse = (bands.low > 0).sum(axis=1)  # models i is surely better than
    return np.stack([1 + better, k_models - worse], axis=1).astype(np.int64)


def simultaneous_values(
    values: np.ndarray, replicates: np.ndarray, *, scale: float = 1.0, level: float = 0.95
) -> ValueBands:
    """Intervals of the K values that hold at once: ``value_i ± c · se_i`` with ``c`` the
    ``level`` quantile of the largest studentized deviation ``|value*_i - value_i| / se_i``
    over the models, per resample. NaN where a model has fewer than two finite replicates.

    >>> rng = np.random.default_rng(1)
    >>> bands = simultaneous_values(np.zeros(4), rng.normal(0, 1, (4, 2000)))
    >>> 2.3 < bands.critical < 2.8  # four independent models: near Bonferroni's 2.50, not 1.96
    True
    """
    v = np.asarray(values, dtype=np.float64)
    reps = np.asarray(replicates, dtype=np.float64)
    se, t = _studentized(reps, v)
    maxima = np.where(np.isnan(t), -np.inf, t).max(axis=0)
    c, _ = _critical(np.where(maxima == -np.inf, np.nan, maxima), level)
    half = se * scale
    with np.errstate(invalid="ignore"):
        width = np.where(half == 0, 0.0, c * half)
    return ValueBands(v - width, v + width, c)
