"""Paired statistics for comparing two models on the same samples: McNemar's exact test, Holm's
step-down correction, and paired bootstrap intervals and p-values of metric differences (both
models scored on the same resampled rows).

Each difference has one procedure whose interval and p-value agree (the interval excludes 0
exactly when p < 1 - level):

- a difference of paired proportions (accuracy, a class's recall): Tango's score interval
  (:func:`tango_interval`), the set of differences its score test does not reject; at 0 that test
  is McNemar's (asymptotic, without continuity correction), whose p :func:`paired_proportion`
  gives;
- any other metric: the normal interval ``d +- z se`` and its z-test, with the analytic
  (delta-method) standard error of the paired difference (:func:`influence_delta` on the
  per-sample influences of :func:`count_influence`, :func:`multilabel_count_influence`,
  :func:`ranking_influence` (DeLong's for ROC AUC), :func:`mean_influence`): no resampling, cost
  linear in the samples at any number of classes; or, for grouped samples, with the paired
  bootstrap's standard error (:func:`normal_delta`), whose p is not floored at 1 / (B + 1) and
  comes with its Monte-Carlo error (how much another seed could move it).

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

import numba as nb
import numpy as np
from scipy.special import ndtr, ndtri, stdtr, stdtrit

__all__ = [
    "bootstrap_delta",
    "class_recall_replicates",
    "column_replicate_sums",
    "count_influence",
    "count_swap_effect",
    "holm",
    "influence_delta",
    "auc_pair_variance",
    "ap_excess_variance",
    "jackknife_groups",
    "jackknife_se",
    "mcnemar_exact",
    "mean_influence",
    "multilabel_count_influence",
    "multilabel_swap_effect",
    "normal_delta",
    "paired_proportion",
    "ranking_influence",
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


def t_of(tail: float, df: float) -> float:
    """Student's t quantile with ``df`` degrees of freedom leaving ``tail`` above it; the
    normal's (:func:`z_of`) for an infinite ``df``.

    >>> round(t_of(0.025, 60), 4), round(t_of(0.025, math.inf), 4)
    (2.0003, 1.96)
    """
    return z_of(tail) if not math.isfinite(df) else float(stdtrit(df, 1.0 - tail))


def t_sf(x: float, df: float) -> float:
    """P(T > x) of Student's t with ``df`` degrees of freedom (the normal's when infinite)."""
    return float(_sf(x)) if not math.isfinite(df) else float(stdtr(df, -x))


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
    # the roots of z(delta) = zc between the estimate and -1 (low) and of z(delta) = -zc between
    # it and +1 (high), both bisected at once (row 0 low, row 1 high)
    inner, outer = np.stack([est, est]), np.stack([np.full_like(est, -1.0), np.full_like(est, 1.0)])
    low_side = np.arange(2).reshape((2,) + (1,) * est.ndim) == 0
    for _ in range(40):
        mid = (inner + outer) / 2
        z = tango_z(mid, f, b, n)
        past = np.where(low_side, z >= zc, z <= -zc)
        outer = np.where(past, mid, outer)
        inner = np.where(past, inner, mid)
    bounds = np.where(n > 0, (inner + outer) / 2, np.nan)
    return bounds[0, ...], bounds[1, ...]


def paired_proportion(
    fixed: int, broken: int, n: int, *, level: float = 0.95, margin: float | None = None
) -> dict[str, float]:
    """The difference of two paired proportions B - A (``fixed`` - ``broken``) / ``n`` with
    Tango's score interval and the p-value of the same score test at 0 (McNemar's, asymptotic):
    {delta, low, high, p, se, mde} where ``se`` is the standard error under no difference
    (sqrt(fixed + broken) / n) and ``mde`` the smallest difference the test detects with 80 %
    power at ``1 - level``, (z(1 - alpha / 2) + z(0.8)) x the larger of ``se`` and the
    interval's wider half-width / z(1 - alpha / 2), so never below what the interval resolves
    (with no discordant pair ``se`` is 0 but the interval is not); with ``margin``: ``p_lower`` (of "B - A <= -margin") and
    ``p_upper`` (of "B - A >= margin"), the one-sided score tests at the margins."""
    if n <= 0:
        nan = math.nan
        return {"delta": nan, "low": nan, "high": nan, "p": nan, "se": nan, "mde": nan}
    lo, hi = tango_interval(fixed, broken, n, level=level)
    z0 = float(tango_z(0.0, fixed, broken, n))
    se = math.sqrt(fixed + broken) / n
    delta = (fixed - broken) / n
    zc = z_of((1 - level) / 2)
    # the MDE is never below what the interval resolves: the SE under no difference, or, when
    # that is smaller (few or no discordant pairs), the interval's wider half over z
    half = max(float(hi) - delta, delta - float(lo))
    out = {
        "delta": delta,
        "low": float(lo),
        "high": float(hi),
        "p": float(min(1.0, 2 * float(_sf(abs(z0))))),
        "se": se,
        "mde": (zc + z_of(1 - POWER)) * max(se, half / zc),
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
    least_se: float = 0.0,
) -> dict[str, float]:
    """A difference ``estimate`` with the standard error of its paired bootstrap ``replicates``
    (times ``scale``, the m-out-of-n correction sqrt(m / n)): the normal interval
    ``estimate +- z * se`` and the two-sided p of its z-test, which agree (the interval excludes
    0 exactly when p < 1 - level). Returns {low, high, p, se, p_mc, mde}: ``p_mc`` is the
    Monte-Carlo standard error of p (from that of the bootstrap SE, sd(se) / se ~
    sqrt((kurtosis - 1) / 4B), the kurtosis at least 3), ``mde`` the smallest difference detected with 80 % power; with
    ``margin``, ``p_lower`` / ``p_upper`` the one-sided p-values of "B - A <= -margin" and
    "B - A >= margin". NaN replicates are left out; fewer than 2 left, or no estimate: NaNs.
    ``least_se``: a second standard error (:func:`jackknife_se`), used where larger (then
    ``p_mc`` is 0: that one is not the bootstrap's)."""
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
    floored = math.isfinite(least_se) and least_se > se
    if floored:
        se = float(least_se)
    if se > 0:
        z = abs(estimate) / se
        p = float(2 * _sf(z))
        kurt = float(np.mean(centred**4)) / m2**2 if m2 > 0 else 3.0
        # sd(se) / se: from the replicates' kurtosis, never below the normal's (kurtosis 3), whose
        # estimate from B replicates is itself noisy
        rel = math.sqrt(max(kurt - 1.0, 2.0) / (4 * r.size))
        p_mc = 0.0 if floored else 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * z * rel
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


def jackknife_groups(n: int, groups: int, seed: int) -> np.ndarray:
    """(G, n) 0 / 1 weights of a delete-a-group jackknife: the n units dealt at random
    (``np.random.default_rng(seed)``) into G = min(``groups``, n) groups, each row all units but
    one group's.

    >>> jackknife_groups(5, 5, 0).sum(axis=1).tolist()
    [4.0, 4.0, 4.0, 4.0, 4.0]
    """
    g = max(1, min(int(groups), int(n)))
    deal = np.random.default_rng(seed).permutation(n) % g
    return (deal[None, :] != np.arange(g)[:, None]).astype(np.float64)


def jackknife_se(replicates: np.ndarray) -> float:
    """The delete-a-group jackknife's standard error from the statistic on each of the G rows of
    :func:`jackknife_groups`: sqrt((G - 1) / G sum (t_g - mean)^2). Biased upward where the
    bootstrap's is biased downward (a statistic that is not smooth, e.g. COCO AP on a few
    hundred images: the precision envelope is a maximum). NaN rows left out; NaN with fewer
    than two."""
    t = np.asarray(replicates, dtype=np.float64)
    t = t[np.isfinite(t)]
    if t.size < 2:
        return math.nan
    g = t.size
    return math.sqrt((g - 1) / g * float(np.sum((t - t.mean()) ** 2)))


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
    from assay.metrics.bootstrap import weighted_sums

    return weighted_sums(np.asarray(idx, dtype=np.int64), np.asarray(x, dtype=np.float64))


# ------------------------------------------------------------------------------ influence
# The analytic (delta-method) standard error of a difference of two models' metrics on the same
# samples. A metric M of weighted samples has, at equal weights, the derivative
# ``l_i = dM / dw_i`` (its influence: how much giving sample i twice the weight moves M; they
# sum to 0 because a metric does not change when every weight is scaled). The variance of M
# over datasets is about sum_i l_i^2 (the infinitesimal jackknife; for a mean it is the usual
# s^2 / n, for ROC AUC DeLong's), and that of B - A on the same samples sum_i (l_i^B - l_i^A)^2,
# which keeps the pairing. The cost is one pass over the counts, or one sort of each class's
# scores: linear in the samples at any number of classes, no resampling and no Monte-Carlo
# error.


def count_influence(
    y_true: np.ndarray, pred: np.ndarray, n_classes: int, *, zero_division: float = 0.0
) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) on the macro precision, recall and F1 of single-label
    predictions ``pred`` (-1: no prediction) against ``y_true``: keys ``macro_precision``,
    ``macro_recall``, ``macro_f1``. The averages run over the classes the summary averages:
    labeled or predicted (``zero_division`` a number, whose undefined ratios are that constant
    and so do not move), or, with ``zero_division`` NaN, the classes where the ratio is defined.
    A sample moves at most two classes' ratios: its true class's and its predicted class's."""
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(pred, dtype=np.int64)
    kept = p >= 0
    pk = np.where(kept, p, 0)
    right = kept & (p == y)
    n_true = np.bincount(y, minlength=n_classes).astype(np.float64)
    n_pred = np.bincount(p[kept], minlength=n_classes).astype(np.float64)
    tp = np.bincount(y[right], minlength=n_classes).astype(np.float64)
    by_rule = math.isnan(zero_division)
    present = (n_true > 0) | (n_pred > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(n_pred > 0, tp / n_pred, 0.0)
        rec = np.where(n_true > 0, tp / n_true, 0.0)
        f1 = np.where(n_pred + n_true > 0, 2 * tp / (n_pred + n_true), 0.0)
        inv_pred = np.where(n_pred > 0, 1.0 / n_pred, 0.0)
        inv_true = np.where(n_true > 0, 1.0 / n_true, 0.0)
        inv_both = np.where(n_pred + n_true > 0, 1.0 / (n_pred + n_true), 0.0)
    sets = {
        "macro_precision": (n_pred > 0) if by_rule else present,
        "macro_recall": (n_true > 0) if by_rule else present,
        "macro_f1": present,
    }
    w = {k: v.astype(np.float64) / max(int(v.sum()), 1) for k, v in sets.items()}
    out = {}
    # precision of the predicted class: (tp_i - P_c pred_i) / n_pred_c
    out["macro_precision"] = np.where(
        kept, w["macro_precision"][pk] * (right - prec[pk]) * inv_pred[pk], 0.0
    )
    # recall of the true class: (tp_i - R_c true_i) / n_true_c
    out["macro_recall"] = w["macro_recall"][y] * (right - rec[y]) * inv_true[y]
    # F1 = 2 tp / (n_pred + n_true): the true class's term, and the predicted class's when other
    wf = w["macro_f1"]
    own = wf[y] * (2.0 * right - f1[y] * (1.0 + right)) * inv_both[y]
    other = np.where(kept & ~right, -wf[pk] * f1[pk] * inv_both[pk], 0.0)
    out["macro_f1"] = own + other
    return out


def _macro_weights(
    n_true: np.ndarray, n_pred: np.ndarray, by_rule: bool, every: np.ndarray
) -> dict[str, np.ndarray]:
    sets = {
        "macro_precision": (n_pred > 0) if by_rule else every,
        "macro_recall": (n_true > 0) if by_rule else every,
        "macro_f1": (n_pred + n_true > 0) if by_rule else every,
    }
    return {k: v.astype(np.float64) / max(int(v.sum()), 1) for k, v in sets.items()}


def _swap_means(
    n_true: np.ndarray, n_pred: np.ndarray, w: dict[str, np.ndarray], per: float
) -> dict[str, float]:
    # one class's ratio moved by one true positive, weighted by how often the class is labeled
    share = n_true / max(float(n_true.sum()), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_pred = np.where(n_pred > 0, 1.0 / n_pred, np.where(n_true > 0, 1.0 / n_true, 0.0))
        by_true = np.where(n_true > 0, 1.0 / n_true, 0.0)
        by_both = np.where(n_pred + n_true > 0, 2.0 / (n_pred + n_true), 0.0)
    return {
        "macro_precision": float(share @ (w["macro_precision"] * by_pred)),
        "macro_recall": float(share @ (w["macro_recall"] * by_true)),
        "macro_f1": float(share @ (w["macro_f1"] * by_both)),
        "accuracy": per,
    }


def count_swap_effect(
    y_true: np.ndarray, pred: np.ndarray, n_classes: int, *, zero_division: float = 0.0
) -> dict[str, float]:
    """How much one sample whose prediction changes moves each of :func:`count_influence`'s
    metrics, on average over the samples (a true positive more or fewer in its true class:
    1 / N for accuracy, w_c / n_c for a macro recall). :func:`influence_delta` takes it as
    ``least``: the smallest standard error a difference of these metrics is given, so two
    models that disagree on no sample (or on one or two) still get the interval such
    disagreements leave open, as Tango's does for accuracy, never [0, 0]."""
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(pred, dtype=np.int64)
    n_true = np.bincount(y, minlength=n_classes).astype(np.float64)
    n_pred = np.bincount(p[p >= 0], minlength=n_classes).astype(np.float64)
    present = (n_true > 0) | (n_pred > 0)
    w = _macro_weights(n_true, n_pred, math.isnan(zero_division), present)
    w["macro_f1"] = present.astype(np.float64) / max(int(present.sum()), 1)
    return _swap_means(n_true, n_pred, w, 1.0 / max(len(y), 1))


def multilabel_swap_effect(
    y_true: np.ndarray, pred: np.ndarray, *, zero_division: float = 0.0
) -> dict[str, float]:
    """:func:`count_swap_effect` for multi-label predictions (N, C): one (sample, label) cell
    that changes, on average over the labeled cells; ``micro_f1`` 2 / (predicted + labeled
    cells) and ``hamming_loss`` 1 / (N C)."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    n_true, n_pred = y.sum(axis=0).astype(np.float64), p.sum(axis=0).astype(np.float64)
    every = np.ones(len(n_true), dtype=bool)
    w = _macro_weights(n_true, n_pred, math.isnan(zero_division), every)
    out = _swap_means(n_true, n_pred, w, 1.0 / max(len(y), 1))
    total = float(n_pred.sum() + n_true.sum())
    out["micro_f1"] = 2.0 / total if total else 0.0
    out["hamming_loss"] = 1.0 / max(y.size, 1)
    return out


def multilabel_count_influence(
    y_true: np.ndarray, pred: np.ndarray, *, zero_division: float = 0.0
) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) on the counts metrics of multi-label predictions ``pred``
    (N, C) bool against ``y_true`` (N, C) bool: ``macro_precision``, ``macro_recall``,
    ``macro_f1`` (per label, averaged over every label, or with ``zero_division`` NaN over the
    labels where each is defined), ``micro_f1`` and ``hamming_loss``."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    tp_cell = (y & p).astype(np.float64)
    p_cell, y_cell = p.astype(np.float64), y.astype(np.float64)
    tp, n_pred, n_true = tp_cell.sum(axis=0), p_cell.sum(axis=0), y_cell.sum(axis=0)
    by_rule = math.isnan(zero_division)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(n_pred > 0, tp / n_pred, 0.0)
        rec = np.where(n_true > 0, tp / n_true, 0.0)
        f1 = np.where(n_pred + n_true > 0, 2 * tp / (n_pred + n_true), 0.0)
        inv_pred = np.where(n_pred > 0, 1.0 / n_pred, 0.0)
        inv_true = np.where(n_true > 0, 1.0 / n_true, 0.0)
        inv_both = np.where(n_pred + n_true > 0, 1.0 / (n_pred + n_true), 0.0)
    w = _macro_weights(n_true, n_pred, by_rule, np.ones(len(tp), dtype=bool))
    out = {
        "macro_precision": (tp_cell - prec * p_cell) @ (w["macro_precision"] * inv_pred),
        "macro_recall": (tp_cell - rec * y_cell) @ (w["macro_recall"] * inv_true),
        "macro_f1": (2 * tp_cell - f1 * (p_cell + y_cell)) @ (w["macro_f1"] * inv_both),
    }
    total = float(n_pred.sum() + n_true.sum())
    micro = 2 * float(tp.sum()) / total if total else 0.0
    row = 2 * tp_cell.sum(axis=1) - micro * (p_cell.sum(axis=1) + y_cell.sum(axis=1))
    out["micro_f1"] = row / total if total else np.zeros(len(y))
    out["hamming_loss"] = mean_influence((y != p).mean(axis=1))
    return out


def mean_influence(values: np.ndarray) -> np.ndarray:
    """Per-sample influence (N,) on the mean of ``values`` (log loss, Brier): (v_i - mean) / N."""
    v = np.asarray(values, dtype=np.float64)
    return (v - v.mean()) / max(len(v), 1)


def _class_ranking(col: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """One class's (AUC influence, AP influence), each (N,) in the rows' order, of the scores
    ``col`` (N,) with positives at the rows ``pos``; None without positives (the AUC influence
    is 0 without negatives). Only the positives are sorted: every count comes from where each
    score falls among them (O(N log P)). Ties count half in AUC and as one threshold in AP (as
    scikit-learn)."""
    n, n_pos = len(col), len(pos)
    if n_pos == 0:
        return None
    n_neg = n - n_pos
    ps = np.sort(col[pos])
    lt = np.searchsorted(ps, col, side="left")  # positives scored below each sample
    le = np.searchsorted(ps, col, side="right")  # ... at or below
    # samples scored below / at or below the k-th positive: those with le <= k / lt <= k
    all_lt = np.cumsum(np.bincount(le, minlength=n_pos + 1))[:n_pos]
    all_le = np.cumsum(np.bincount(lt, minlength=n_pos + 1))[:n_pos]
    p_lt, p_le = lt[pos], le[pos]
    s_lt = all_lt[p_lt].astype(np.float64)  # for each positive, samples below it
    s_le = all_le[p_le - 1].astype(np.float64)
    is_pos = np.zeros(n, dtype=bool)
    is_pos[pos] = True
    l_auc: np.ndarray = np.zeros(n)
    if n_neg > 0:
        # DeLong: a positive's share of the negatives below it (ties half), a negative's of the
        # positives above it; the within-sample variances divide by P - 1 and N - 1
        neg_lt, neg_le = s_lt - p_lt, s_le - p_le
        v10 = (neg_lt + 0.5 * (neg_le - neg_lt)) / n_neg
        auc = float(v10.mean())
        v01 = (n_pos - 0.5 * (le + lt)) / n_pos
        l_auc = (v01 - auc) / n_neg * math.sqrt(n_neg / max(n_neg - 1, 1))
        l_auc[pos] = (v10 - auc) / n_pos * math.sqrt(n_pos / max(n_pos - 1, 1))
    # AP = mean over positives of T / K (positives and samples scored at or above it); a sample
    # moves the K of every positive at or below it and, a positive, their T too
    k = n - s_lt
    t = n_pos - p_lt.astype(np.float64)
    prec = t / k
    ap = float(prec.mean())
    srt = np.argsort(col[pos], kind="stable")
    c1 = np.concatenate(([0.0], np.cumsum((1.0 / k)[srt])))
    c2 = np.concatenate(([0.0], np.cumsum((t / k**2)[srt])))
    l_ap = -c2[le]
    l_ap[pos] += prec - ap + c1[p_le]
    return l_auc, l_ap / n_pos


def ranking_influence(
    y_true: np.ndarray, y_score: np.ndarray, *, multilabel: bool = False
) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) on the macro one-vs-rest ROC AUC (over the classes with
    positives and negatives; per class DeLong's) and the macro average precision (over the
    classes with positives): keys ``roc_auc_macro`` and ``average_precision_macro``. ``y_true``
    is (N,) class indices, or (N, C) bool with ``multilabel``. One class at a time, each
    O(N log P): seconds at 1,000 classes x 50,000 samples."""
    s = np.asarray(y_score)
    n, c = s.shape
    y = np.asarray(y_true)
    auc = np.zeros(n)
    ap = np.zeros(n)
    n_auc = n_ap = 0
    cols = np.ascontiguousarray(s.T)
    if multilabel:
        members = [np.flatnonzero(row) for row in np.ascontiguousarray(y.astype(bool).T)]
    else:
        order = np.argsort(y, kind="stable")
        bounds = np.searchsorted(y[order], np.arange(c + 1))
        members = [order[bounds[k] : bounds[k + 1]] for k in range(c)]
    for k in range(c):
        got = _class_ranking(cols[k], members[k])
        if got is None:
            continue
        auc += got[0]
        ap += got[1]
        n_ap += 1
        n_auc += int(len(members[k]) < n)
    return {
        "roc_auc_macro": auc / max(n_auc, 1),
        "average_precision_macro": ap / max(n_ap, 1),
    }


@nb.njit(cache=True)
def _dense_ranks(x: np.ndarray, order: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """0-based dense ranks of ``x`` given its ascending ``order``."""
    r = np.empty(x.size, np.int64)
    k = -1
    for q in range(x.size):
        if q == 0 or x[order[q]] != x[order[q - 1]]:
            k += 1
        r[order[q]] = k
    return r


@nb.njit(cache=True, nogil=True)
def _pair_column(
    sa: np.ndarray, sb: np.ndarray, pos: np.ndarray
) -> float:  # pragma: no cover - compiled
    """One class's sigma_11^2 / (m n) (see :func:`auc_pair_variance`), from the scores of A and B
    and the positives: over the (positive i, negative j) pairs, with h(i, j) = 1 if i scores
    above j, 1/2 on a tie, 0 below, psi = h_B - h_A and sum psi^2 = sum h_A^2 + sum h_B^2 -
    2 sum h_A h_B. One sweep in A's order (ties in B's) with a Fenwick tree of the negatives'
    B ranks; 0 without positives or negatives."""
    n = sa.size
    m = 0
    for i in range(n):
        m += pos[i]
    if m == 0 or m == n:
        return 0.0
    order_b = np.argsort(sb, kind="mergesort")
    rb = _dense_ranks(sb, order_b)
    # A's order, ties broken by B's rank: a stable sort of A's scores taken in B's order
    order = order_b[np.argsort(sa[order_b], kind="mergesort")]
    size = rb[order_b[n - 1]] + 1
    tree = np.zeros(size + 1, np.int64)
    scratch = np.empty(n, np.int64)
    h2a = 0.0  # sum h_A^2 = #(A above) + #(A tied) / 4
    ha = 0.0  # sum h_A = #(A above) + #(A tied) / 2
    hab = 0.0
    below = 0
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and sa[order[stop]] == sa[order[start]]:
            stop += 1
        g = 0  # the group's negatives' B ranks, ascending (the group is in B's order)
        for q in range(start, stop):
            if not pos[order[q]]:
                scratch[g] = rb[order[q]]
                g += 1
        lo = 0
        for q in range(start, stop):
            i = order[q]
            if not pos[i]:
                continue
            r = rb[i]
            less = 0
            k = r
            while k > 0:
                less += tree[k]
                k -= k & -k
            upto = 0
            k = r + 1
            while k > 0:
                upto += tree[k]
                k -= k & -k
            while lo < g and scratch[lo] < r:
                lo += 1
            hi = lo
            while hi < g and scratch[hi] == r:
                hi += 1
            h2a += below + 0.25 * g
            ha += below + 0.5 * g
            hab += less + 0.5 * (upto - less) + 0.5 * lo + 0.25 * (hi - lo)
        for q in range(g):
            k = scratch[q] + 1
            while k <= size:
                tree[k] += 1
                k += k & -k
        below += g
        start = stop
    # B's own sums, in B's order
    h2b = 0.0
    hb = 0.0
    below = 0
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and sb[order_b[stop]] == sb[order_b[start]]:
            stop += 1
        g = 0
        p = 0
        for q in range(start, stop):
            if pos[order_b[q]]:
                p += 1
            else:
                g += 1
        h2b += p * (below + 0.25 * g)
        hb += p * (below + 0.5 * g)
        below += g
        start = stop
    pairs = m * (n - m)
    d = (hb - ha) / pairs
    psi2 = (h2a + h2b - 2.0 * hab) / pairs
    return max(psi2 - d * d, 0.0) / pairs


@nb.njit(cache=True, parallel=True)
def _pair_columns(
    y: np.ndarray, sa: np.ndarray, sb: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    out = np.zeros(sa.shape[1])
    for c in nb.prange(sa.shape[1]):
        out[c] = _pair_column(sa[:, c], sb[:, c], y == c)
    return out


@nb.njit(cache=True, parallel=True)
def _pair_columns_multilabel(
    y: np.ndarray, sa: np.ndarray, sb: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    out = np.zeros(sa.shape[1])
    for c in nb.prange(sa.shape[1]):
        out[c] = _pair_column(sa[:, c], sb[:, c], y[:, c])
    return out


# the most scores (samples x classes) auc_pair_variance takes on
PAIR_VARIANCE_CELLS = 20_000_000


def auc_pair_variance(
    y_true: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    *,
    multilabel: bool = False,
) -> float:
    """The part of the variance of B - A's macro ROC AUC (as :func:`ranking_influence` averages
    it) that DeLong's per-sample variance counts twice: per class, sigma_11^2 / (m n), where
    sigma_11^2 is the variance over the m x n (positive, negative) pairs of psi = h_B - h_A
    (h: the pair ordered right, 1/2 on a tie). DeLong's estimate of a two-sample U-statistic's
    variance exceeds it by that term on average; :func:`influence_delta` subtracts it
    (``less``). It is what matters when the two models differ only by swapping neighbours, as
    an INT8 model and its FP32 parent do: there DeLong's SE was ~1.1 x too large (type I
    1-4 %, not 5 %). Cost: two sorts per class (classes in parallel); above
    :data:`PAIR_VARIANCE_CELLS` scores (100 classes x 200,000 samples) it is not computed (0:
    the SE keeps the term, erring wide), as it would cost more than the comparison itself."""
    sa = np.asarray(score_a)
    sb = np.asarray(score_b)
    if sa.size > PAIR_VARIANCE_CELLS:
        return 0.0
    dtype = np.float32 if sa.dtype == np.float32 and sb.dtype == np.float32 else np.float64
    sa = np.ascontiguousarray(sa, dtype=dtype)
    sb = np.ascontiguousarray(sb, dtype=dtype)
    if multilabel:
        y = np.ascontiguousarray(np.asarray(y_true, dtype=np.bool_))
        n_pos = y.sum(axis=0)
        each = _pair_columns_multilabel
    else:
        y = np.asarray(y_true, dtype=np.int64)
        n_pos = np.bincount(y, minlength=sa.shape[1])
        each = _pair_columns
    classes = int(((n_pos > 0) & (n_pos < sa.shape[0])).sum())
    if not classes:
        return 0.0
    return float(each(y, sa, sb).sum()) / classes**2


def _influence_variance(infl: np.ndarray) -> float:
    """The variance of a sum from its per-sample influences: n / (n - 1) sum (l_i - mean)^2."""
    centred = infl - infl.mean()
    return float(np.dot(centred, centred)) * infl.size / (infl.size - 1)


def stratified_variance(infl: np.ndarray, strata: np.ndarray) -> tuple[float, float]:
    """(variance, degrees of freedom) of a sum from per-sample influences drawn within strata
    of fixed size (a macro recall's classes: each class's recall is a mean over its own
    samples): sum over strata of n_s / (n_s - 1) sum_(i in s) (l_i - mean_s)^2, each stratum's
    unbiased variance of its part, with Welch-Satterthwaite's degrees of freedom
    (sum v_s)^2 / sum v_s^2 / (n_s - 1). A stratum of one sample adds its l_i^2 and no degrees
    of freedom; infinite degrees of freedom when no stratum varies. Against the pooled
    n / (n - 1) sum l_i^2, this takes each stratum's own small-sample factor (a rare class
    of 20 samples: 5 %), and the t quantile counts that the variance is read from a few
    rare classes' samples: on equal models at 5 classes x 1,000 samples the pooled z-test of
    macro recall rejected 6.3 % of 1,600 pairs, this one 5.5 %.

    >>> v, df = stratified_variance(np.array([1.0, -1.0, 0.5, -0.5]), np.array([0, 0, 1, 1]))
    >>> v, df
    (5.0, 1.4705882352941178)
    """
    x = np.asarray(infl, dtype=np.float64)
    inverse = np.unique(np.asarray(strata), return_inverse=True)[1].ravel()
    size = np.bincount(inverse).astype(np.float64)
    mean = np.bincount(inverse, weights=x) / size
    centred = x - mean[inverse]
    within = np.bincount(inverse, weights=centred * centred)
    many = size > 1
    single = np.bincount(inverse, weights=x * x)
    parts = np.where(many, within * size / np.maximum(size - 1.0, 1.0), single)
    var = float(parts.sum())
    spread = float((parts[many] ** 2 / (size[many] - 1.0)).sum())
    df = var * var / spread if spread > 0 else math.inf
    return var, df


# the most scores (samples x classes) ap_excess_variance takes on: at 100 classes x 10,000
# samples its 32 half-sample influences took 6 s on 2 cores shared at load 13 (0.8 s for the
# two models' whole influence)
HALF_EXCESS_CELLS = 1_000_000
HALF_SPLITS = 8


def ap_excess_variance(
    y_true: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    influence: np.ndarray,
    *,
    multilabel: bool = False,
    splits: int = HALF_SPLITS,
    seed: int = 0,
) -> float:
    """The part of the variance of B - A's macro average precision (as :func:`ranking_influence`
    gives its per-sample ``influence``) that the per-sample sum counts twice, estimated from
    half-samples. AP is not a U-statistic, so there is no closed form like
    :func:`auc_pair_variance`'s, but the same thing happens: the sum's expectation is
    A / n + 2 S / n^2 (the second-order terms counted twice) where the difference's variance
    is A / n + S / n^2. On half of the samples the sum is 2 A / n + 8 S / n^2, so
    S / n^2 = (v_half - 2 v) / 4. Each of ``splits`` random splits into two halves (stratified
    by class; seeded, so the answer is the same each time) gives one estimate; the answer is
    their mean less its standard error (never below 0), so a noisy estimate (a few hundred
    samples, rare classes) takes off less: taking off the plain mean over-corrected there
    (type I 8 % at 300 samples). It matters when two models differ only by swapping
    neighbours (an INT8 model and its FP32 parent): there the sum was ~1.4 x the variance
    (type I ~1-2 %, not 5 %); between models that differ otherwise it is negligible. 0 (the SE
    keeps the term, erring wide) below 8 samples or above :data:`HALF_EXCESS_CELLS` scores,
    where it would cost more than the comparison."""
    sa = np.asarray(score_a)
    sb = np.asarray(score_b)
    y = np.asarray(y_true)
    n = sa.shape[0]
    if n < 8 or splits < 2 or sa.size > HALF_EXCESS_CELLS:
        return 0.0
    rng = np.random.default_rng(seed)
    members: list[np.ndarray]
    if multilabel:
        members = [np.arange(n)]
    else:
        order = np.argsort(y, kind="stable")
        cuts = np.flatnonzero(np.diff(y[order])) + 1
        members = np.split(order, cuts)
    key = "average_precision_macro"

    whole = 2.0 * _influence_variance(np.asarray(influence, np.float64))
    each = np.empty(splits)
    for k in range(splits):
        # shuffled within each class, then alternate rows: two halves stratified by class
        dealt = np.concatenate([rng.permutation(m) for m in members])
        halves = []
        for half in (np.sort(dealt[0::2]), np.sort(dealt[1::2])):
            yh = y[half]
            got_b = ranking_influence(yh, sb[half], multilabel=multilabel)[key]
            got_a = ranking_influence(yh, sa[half], multilabel=multilabel)[key]
            halves.append(_influence_variance(got_b - got_a))
        each[k] = (0.5 * (halves[0] + halves[1]) - whole) / 4.0
    excess = float(each.mean() - each.std(ddof=1) / math.sqrt(splits))
    return max(excess, 0.0) if math.isfinite(excess) else 0.0


def influence_delta(
    influence: np.ndarray,
    estimate: float,
    *,
    level: float = 0.95,
    margin: float | None = None,
    groups: np.ndarray | None = None,
    least: float = 0.0,
    less: float = 0.0,
    strata: np.ndarray | None = None,
) -> dict[str, float]:
    """A difference ``estimate`` (B - A) with the analytic standard error of ``influence`` (N,),
    the per-sample influence of B's metric minus A's: se = sqrt(n / (n - 1) sum_i l_i^2), with
    ``groups`` the sums over each group's samples in place of the samples (clustered). The
    normal interval ``estimate +- z se`` and its z-test's two-sided p, which agree; the same
    answer as :func:`normal_delta` (``p_mc`` 0: nothing is resampled).

    ``least``: the effect of one changed prediction (:func:`count_swap_effect`); se is never
    below z x ``least``, the standard error of z^2 such changes, so the interval is never
    narrower than +- z^2 ``least``: Tango's interval for accuracy when no pair is discordant
    (+- z^2 / N). Without it, two models that change no prediction would get [0, 0].
    ``less``: a variance the per-sample sum counts that the difference does not have
    (:func:`auc_pair_variance`, :func:`ap_excess_variance`), taken off (the variance never below a quarter of the sum).
    ``strata`` (N,), without ``groups``: the samples fall in strata of fixed size (a macro
    recall's true classes): the variance is :func:`stratified_variance`'s, and the interval,
    p (and ``p_lower`` / ``p_upper``, ``mde``) Student's t with its degrees of freedom in
    place of the normal's (they still agree); ``df`` in the answer (infinite otherwise)."""
    infl = np.asarray(influence, dtype=np.float64)
    if groups is not None:
        inverse = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
        infl = np.bincount(inverse, weights=infl).astype(np.float64)
    k = infl.size
    nan = math.nan
    out = {"low": nan, "high": nan, "p": nan, "se": nan, "p_mc": nan, "mde": nan}
    if margin is not None:
        out.update(p_lower=nan, p_upper=nan)
    out["df"] = math.inf
    if k < 2 or not math.isfinite(estimate) or not np.isfinite(infl).all():
        return out
    df = math.inf
    if strata is not None and groups is None:
        var, df = stratified_variance(infl, strata)
    else:
        var = _influence_variance(infl)
    if less > 0 and math.isfinite(less):
        var = max(var - less, var / 4.0)
    se = math.sqrt(var)
    zc = t_of((1.0 - level) / 2.0, df)
    se = max(se, zc * max(float(least), 0.0))
    # every sample moves B - A alike (or none does): no sampling variation
    p = 2 * t_sf(abs(estimate) / se, df) if se > 0 else (1.0 if estimate == 0 else 0.0)
    out.update(low=estimate - zc * se, high=estimate + zc * se, p=min(1.0, p), se=se, p_mc=0.0,
               mde=(zc + t_of(1 - POWER, df)) * se, df=df)  # fmt: skip
    if margin is not None:
        if se > 0:
            out["p_lower"] = t_sf((estimate + margin) / se, df)
            out["p_upper"] = 1.0 - t_sf((estimate - margin) / se, df)
        else:
            out["p_lower"] = 0.0 if estimate > -margin else 1.0
            out["p_upper"] = 0.0 if estimate < margin else 1.0
    return out
