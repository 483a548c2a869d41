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

__all__ = ["bootstrap_intervals", "mean_std"]


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
    """Percentile bootstrap intervals of every metric ``statistic(indices)`` returns.

    ``statistic`` receives the row indices of one replicate. Metrics undefined in the estimate, or
    in every replicate, get None.

    >>> x = np.arange(100.0)
    >>> ci = bootstrap_intervals(lambda i: {"mean": x[i].mean()}, 100, {"mean": 49.5}, n=50)
    >>> ci["mean"]["low"] < 49.5 < ci["mean"]["high"]
    True
    """
    rng = np.random.default_rng(seed)
    m = min(n_samples, cap)
    scale = np.sqrt(m / n_samples) if n_samples else 1.0
    reps: dict[str, list[float]] = {k: [] for k in estimate}
    for _ in range(n):
        idx = rng.integers(0, n_samples, size=m)
        values = statistic(idx)
        for k in reps:
            v = values.get(k)
            if v is not None and np.isfinite(v):
                reps[k].append(float(v))
    alpha = (1.0 - level) / 2
    out: dict[str, dict[str, float] | None] = {}
    for k, vals in reps.items():
        est = estimate[k]
        if est is None or not np.isfinite(est) or not vals:
            out[k] = None
            continue
        d = (np.asarray(vals) - est) * scale
        lo, hi = np.quantile(d, [alpha, 1 - alpha])
        out[k] = {"low": float(est + lo), "high": float(est + hi)}
    return out


def mean_std(rows: list[Mapping[str, float | None]]) -> tuple[dict, dict]:
    """Mean and (population) standard deviation of each numeric key over rows, ignoring None.

    >>> mean_std([{"a": 1.0}, {"a": 3.0}])
    ({'a': 2.0}, {'a': 1.0})
    """
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float))] if rows else []
    mean: dict[str, float | None] = {}
    std: dict[str, float | None] = {}
    for k in keys:
        vals = [float(v) for r in rows if (v := r.get(k)) is not None]
        mean[k] = float(np.mean(vals)) if vals else None
        std[k] = float(np.std(vals)) if vals else None
    return mean, std
