"""Statistics: bootstrap confidence intervals and fold aggregation.

The bootstrap resamples samples with replacement. With ``N`` rows above a cap ``m`` each replicate
draws ``m`` rows (the "m out of n" bootstrap) and the deviations ``d = replicate - estimate`` are
rescaled by ``sqrt(m / N)`` before taking the 2.5 % / 97.5 % quantiles: the interval is
``[estimate + q_lo(d), estimate + q_hi(d)]``. With ``m = N`` it is the plain percentile interval;
above the cap it costs a fixed amount however large ``N`` grows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["bootstrap_indices", "bootstrap_intervals", "mean_std", "percentile_intervals"]


def bootstrap_indices(
    n_samples: int, n: int = 200, *, seed: int = 0, cap: int = 20_000
) -> np.ndarray:
    """The row indices of ``n`` replicates, (n, m) with ``m = min(n_samples, cap)``, drawn with
    replacement from ``np.random.default_rng(seed)``.

    >>> bootstrap_indices(1000, 3, cap=10).shape
    (3, 10)
    """
    m = min(n_samples, cap)
    return np.random.default_rng(seed).integers(0, n_samples, size=(n, m))


def percentile_intervals(
    replicates: Mapping[str, np.ndarray],
    estimate: Mapping[str, float | None],
    *,
    scale: float = 1.0,
    level: float = 0.95,
) -> dict[str, dict[str, float] | None]:
    """``[estimate + q_lo(d), estimate + q_hi(d)]`` with ``d = (replicate - estimate) * scale``,
    for every key of ``estimate``; None where the estimate, or every replicate, is undefined.

    >>> percentile_intervals({"a": np.array([1.0, 2.0, 3.0])}, {"a": 2.0}, level=0.5)
    {'a': {'low': 1.5, 'high': 2.5}}
    """
    alpha = (1.0 - level) / 2
    out: dict[str, dict[str, float] | None] = {}
    for k, est in estimate.items():
        vals = np.asarray(replicates.get(k, ()), dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        if est is None or not np.isfinite(est) or not vals.size:
            out[k] = None
            continue
        d = (vals - est) * scale
        lo, hi = np.quantile(d, [alpha, 1 - alpha])
        out[k] = {"low": float(est + lo), "high": float(est + hi)}
    return out


def bootstrap_intervals(
    statistic: Callable[[np.ndarray], Mapping[str, float | None]],
    n_samples: int,
    estimate: Mapping[str, float | None],
    *,
    n: int = 200,
    seed: int = 0,
    cap: int = 20_000,
    level: float = 0.95,
) -> dict[str, dict[str, float] | None]:
    """Percentile bootstrap intervals of every metric ``statistic(indices)`` returns, one
    replicate at a time (see :mod:`assay.metrics.bootstrap` for the vectorised classification
    metrics).

    ``statistic`` receives the row indices of one replicate. Metrics undefined in the estimate, or
    in every replicate, get None.

    >>> x = np.arange(100.0)
    >>> ci = bootstrap_intervals(lambda i: {"mean": x[i].mean()}, 100, {"mean": 49.5}, n=50)
    >>> ci["mean"]["low"] < 49.5 < ci["mean"]["high"]
    True
    """
    idx = bootstrap_indices(n_samples, n, seed=seed, cap=cap)
    m = idx.shape[1]
    scale = float(np.sqrt(m / n_samples)) if n_samples else 1.0
    rows = [statistic(i) for i in idx]
    reps = {
        k: np.array([np.nan if (v := r.get(k)) is None else float(v) for r in rows])
        for k in estimate
    }
    return percentile_intervals(reps, estimate, scale=scale, level=level)


def mean_std(rows: list[Mapping[str, float | None]]) -> tuple[dict, dict]:
    """Mean and (population) standard deviation of each numeric key over rows, ignoring None.

    >>> mean_std([{"a": 1.0, "b": None}, {"a": 3.0, "b": 2.0}])
    ({'a': 2.0, 'b': 2.0}, {'a': 1.0, 'b': 0.0})
    """
    keys: list[str] = []
    for r in rows:  # every numeric key, even one undefined (None) in the first row
        keys += [
            k
            for k, v in r.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k not in keys
        ]
    mean: dict[str, float | None] = {}
    std: dict[str, float | None] = {}
    for k in keys:
        vals = [float(v) for r in rows if (v := r.get(k)) is not None]
        mean[k] = float(np.mean(vals)) if vals else None
        std[k] = float(np.std(vals)) if vals else None
    return mean, std
