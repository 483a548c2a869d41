"""Statistics: bootstrap confidence intervals and fold aggregation.

The bootstrap resamples rows with replacement (:func:`bootstrap_indices`), or with ``groups``
whole groups of rows (patients, videos, source images: the cluster bootstrap, whose replicates
differ in length and are padded with -1). An interval is read from the deviations
``d = (replicate - estimate) * scale`` (:func:`percentile_intervals`): the percentile interval
``[estimate + q_lo(d), estimate + q_hi(d)]``, the basic one ``[estimate - q_hi(d),
estimate - q_lo(d)]``, or the centred one (the percentile interval moved by ``-2 mean(d)``).

Why the evaluation intervals come from the full bootstrap (m = N) and are bias-corrected for the
per-class ratios (``ClassificationResults.intervals``: centred for P / R / F1, a bias-corrected
logit interval for ROC AUC / AP, percentile for the means of per-sample terms, and for ECE the
debiased interval of :func:`assay.metrics.calibration.ece_interval`; detection's: basic):

- A macro metric over many classes averages per-class ratios (F1, precision, AP) each estimated
  from few rows. Each is biased by O(1 / rows of the class); the average keeps that bias while its
  standard error shrinks like 1 / sqrt(N). At 1,000 classes x 50 rows the bias of macro F1 is
  about one standard error, of macro AP more. The replicates carry the same bias again, so the
  percentile interval is off by twice the bias; the basic and the centred intervals remove it
  (measured: ``benchmarks/interval_coverage.py``, ``benchmarks/detection_coverage.py``).
- The "m out of n" bootstrap (m rows a replicate, deviations rescaled by ``scale = sqrt(m / N)``)
  costs a fixed amount however large N grows, but a replicate of m rows holds m / C rows a class:
  the per-class bias of a replicate is then N / m times the estimate's and the rescaling does not
  undo it (at ImageNet's size the interval excluded its own estimate in every run). It is used only
  where every class keeps many rows in a replicate (:data:`assay.metrics.bootstrap.MIN_CLASS_ROWS`);
  otherwise m = N, replicates drawn a chunk at a time so memory stays bounded. The count metrics
  cost O(B N) at m = N; ROC AUC and AP, O(B N C) on shared rows, are drawn class by class where
  that is too costly (:func:`assay.metrics.bootstrap.class_cell_auc_ap`, O(B (N + C))).
- Analytic variances (delta method, DeLong) give no bias correction and the influence function of
  AP is awkward; the bootstrap gives both from one procedure for every metric. (Measured at 5
  classes x 1,000 samples over 600 datasets: DeLong's standard error of the macro ROC AUC
  averaged 0.00588, the bootstrap's 0.00590, the estimates' SD 0.00596; a normal interval on
  either covered 92 %, on the logit scale 93 %: the shortfall is the shape, not the variance.)
- ECE is not a smooth function near a calibrated bin (|gap| at a gap near 0), so no bootstrap
  interval of the plug-in ECE covers there; its interval is built from the bins' gaps directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from statistics import NormalDist

import numpy as np

from assay.errors import ParameterError

__all__ = [
    "bootstrap_indices",
    "bootstrap_intervals",
    "mean_std",
    "percentile_intervals",
    "replicate_sizes",
    "student_quantile",
]


def bootstrap_indices(
    n_samples: int,
    n: int = 200,
    *,
    seed: int = 0,
    cap: int = 20_000,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """The row indices of ``n`` replicates drawn with replacement from
    ``np.random.default_rng(seed)``.

    Without ``groups``: (n, m) with ``m = min(n_samples, cap)`` rows per replicate. With
    ``groups`` (an (N,) array of group keys, one per row: patient, video, source image) each
    replicate draws G groups with replacement (G = the number of distinct keys) and takes all of
    their rows (the cluster bootstrap; ``cap`` does not apply). Replicates then differ in length:
    the result is (n, M) int64 with M the longest replicate, each row padded at its end with -1
    (every kernel that takes ``idx`` skips -1 and divides by its replicate's own row count).

    >>> bootstrap_indices(1000, 3, cap=10).shape
    (3, 10)
    >>> idx = bootstrap_indices(4, 2, groups=np.array(["a", "a", "a", "b"]))
    >>> [sorted(r[r >= 0].tolist()) for r in idx]
    [[3, 3], [0, 1, 2, 3]]
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        m = min(n_samples, cap)
        return rng.integers(0, n_samples, size=(n, m))
    keys = np.asarray(groups)
    if keys.shape != (n_samples,):
        raise ParameterError(f"groups: expected {n_samples} group keys, got shape {keys.shape}")
    codes = np.unique(keys, return_inverse=True)[1].reshape(-1)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    order = np.argsort(codes, kind="stable")  # the rows of each group, together
    sizes = np.bincount(codes, minlength=n_groups)
    starts = np.cumsum(sizes) - sizes
    draws = rng.integers(0, n_groups, size=(n, n_groups))
    lens = sizes[draws].sum(axis=1)
    out = np.full((n, int(lens.max(initial=0))), -1, dtype=np.int64)
    for b in range(n):
        d = draws[b]
        k = sizes[d]
        # position j of the replicate: group d[g]'s row (j - first j of g), through ``order``
        first = np.cumsum(k) - k
        pos = np.repeat(starts[d] - first, k) + np.arange(lens[b])
        out[b, : lens[b]] = order[pos]
    return out


def replicate_sizes(idx: np.ndarray) -> np.ndarray:
    """(B,) the number of rows each replicate holds (its entries >= 0; -1 pads a short one).

    >>> replicate_sizes(np.array([[0, 1, -1], [2, 2, 2]])).tolist()
    [2, 3]
    """
    return (np.asarray(idx) >= 0).sum(axis=1)


def percentile_intervals(
    replicates: Mapping[str, np.ndarray],
    estimate: Mapping[str, float | None],
    *,
    scale: float | Mapping[str, float] = 1.0,
    level: float = 0.95,
    method: str | Mapping[str, str] = "percentile",
    df: Mapping[str, float] | None = None,
    contain_estimate: bool = False,
) -> dict[str, dict[str, float] | None]:
    """Bootstrap intervals from the deviations ``d = (replicate - estimate) * scale``, for every
    key of ``estimate``; None where the estimate, or every replicate, is undefined. ``scale``:
    one for all keys, or one per key (1 where missing).

    ``method="percentile"``: ``[estimate + q_lo(d), estimate + q_hi(d)]``.
    ``method="basic"``: ``[estimate - q_hi(d), estimate - q_lo(d)]``, the deviations reflected:
    where the replicates sit above the estimate as the estimate sits above the truth (the O(1/n)
    bias of a ratio, an F1 or an AP on few rows per class), the percentile interval doubles the
    bias and the basic one removes it. Where the estimate is unbiased but its distribution skewed
    (ROC AUC near 1, a mean of bounded terms), the percentile interval follows the skew and the
    basic one mirrors it. ``method="centred"``: the percentile interval moved by twice the
    bootstrap bias ``mean(d)``, so centred on ``estimate - mean(d)`` like the basic one but keeping
    the percentile interval's shape. ``method="logit"`` (a metric in (0, 1): ROC AUC, AP): a
    normal interval on the logit scale, ``logit(estimate) - mean(e) +- t sd(e)`` with ``e`` the
    replicates' deviations on that scale (times ``scale``) and ``t`` the Student quantile for
    ``df[key]`` degrees of freedom (normal where ``df`` has no finite entry), mapped back: it
    keeps inside (0, 1), widens on the side away from 1 as the estimate's spread does, and uses
    the replicates' spread rather than their tails (the percentile interval of a macro AUC or AP
    over a few classes, one of them rare, covered 91 % at 5 classes x 1,000 samples). ``method``
    may name one per key (percentile where missing). ``contain_estimate``: an interval that
    excludes its estimate (a bias correction larger than the spread) is widened to reach it, so
    a number is never shown beside an interval that leaves it out; coverage can only rise.

    >>> percentile_intervals({"a": np.array([1.0, 2.0, 3.0])}, {"a": 2.0}, level=0.5)
    {'a': {'low': 1.5, 'high': 2.5}}
    >>> percentile_intervals({"a": np.array([2.0, 3.0, 4.0])}, {"a": 2.0}, level=0.5, method="basic")
    {'a': {'low': 0.5, 'high': 1.5}}
    >>> percentile_intervals({"a": np.array([2.0, 2.0, 5.0])}, {"a": 2.0}, level=0.5, method="centred")
    {'a': {'low': 0.0, 'high': 1.5}}
    >>> iv = percentile_intervals({"a": np.array([.8, .9, .95])}, {"a": .9}, method="logit")
    >>> 0.5 < iv["a"]["low"] < 0.9 < iv["a"]["high"] < 1.0
    True
    """
    methods = set(method.values()) if isinstance(method, Mapping) else {method}
    if not methods <= {"percentile", "basic", "centred", "logit"}:
        raise ParameterError(
            f"method: expected 'percentile', 'basic', 'centred' or 'logit', got {method!r}"
        )
    alpha = (1.0 - level) / 2
    out: dict[str, dict[str, float] | None] = {}
    for k, est in estimate.items():
        vals = np.asarray(replicates.get(k, ()), dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        if est is None or not np.isfinite(est) or not vals.size:
            out[k] = None
            continue
        factor = scale.get(k, 1.0) if isinstance(scale, Mapping) else scale
        how = method.get(k, "percentile") if isinstance(method, Mapping) else method
        if how == "logit" and 0.0 < est < 1.0:
            low, high = _logit_interval(vals, float(est), factor, level, (df or {}).get(k))
        else:
            d = (vals - est) * factor
            lo, hi = np.quantile(d, [alpha, 1 - alpha])
            if how == "basic":
                lo, hi = -hi, -lo
            elif how == "centred":  # the percentile interval moved to est - bias
                shift = 2.0 * float(np.mean(d))
                lo, hi = lo - shift, hi - shift
            low, high = float(est + lo), float(est + hi)
        if contain_estimate:
            low, high = min(low, float(est)), max(high, float(est))
        out[k] = {"low": low, "high": high}
    return out


def student_quantile(p: float, df: float | None) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (the normal's where
    ``df`` is None, infinite or above 1e6), by the Cornish-Fisher expansion in 1 / df (within
    0.2 % of the exact value for df >= 5 at p = 0.975).

    >>> round(student_quantile(0.975, None), 3), round(student_quantile(0.975, 30), 3)
    (1.96, 2.042)
    """
    z = NormalDist().inv_cdf(p)
    if df is None or not np.isfinite(df) or df > 1e6:
        return z
    v = max(float(df), 1.0)
    return float(
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


def _logit_interval(
    vals: np.ndarray, est: float, factor: float, level: float, df: float | None
) -> tuple[float, float]:
    """``logit(est) - mean(e) +- t sd(e)`` mapped back, ``e`` the replicates' logit deviations
    times ``factor`` (replicates at 0 or 1 clipped to 1e-9 from them)."""
    clipped = np.clip(vals, 1e-9, 1 - 1e-9)
    centre = float(np.log(est / (1 - est)))
    e = (np.log(clipped / (1 - clipped)) - centre) * factor
    spread = float(np.std(e, ddof=1)) if e.size > 1 else 0.0
    half = student_quantile(0.5 + level / 2, df) * spread
    mid = centre - float(np.mean(e))
    return float(1 / (1 + np.exp(-(mid - half)))), float(1 / (1 + np.exp(-(mid + half))))


def bootstrap_intervals(
    statistic: Callable[[np.ndarray], Mapping[str, float | None]],
    n_samples: int,
    estimate: Mapping[str, float | None],
    *,
    n: int = 200,
    seed: int = 0,
    cap: int = 20_000,
    level: float = 0.95,
    groups: np.ndarray | None = None,
) -> dict[str, dict[str, float] | None]:
    """Percentile bootstrap intervals of every metric ``statistic(indices)`` returns, one
    replicate at a time (see :mod:`assay.metrics.bootstrap` for the vectorised classification
    metrics).

    ``statistic`` receives the row indices of one replicate (whole groups with ``groups``, see
    :func:`bootstrap_indices`). Metrics undefined in the estimate, or in every replicate, get
    None.

    >>> x = np.arange(100.0)
    >>> ci = bootstrap_intervals(lambda i: {"mean": x[i].mean()}, 100, {"mean": 49.5}, n=50)
    >>> ci["mean"]["low"] < 49.5 < ci["mean"]["high"]
    True
    """
    idx = bootstrap_indices(n_samples, n, seed=seed, cap=cap, groups=groups)
    m = idx.shape[1]
    scale = float(np.sqrt(m / n_samples)) if n_samples and groups is None else 1.0
    rows = [statistic(i[i >= 0]) for i in idx]
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
