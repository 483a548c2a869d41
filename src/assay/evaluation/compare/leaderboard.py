"""A leaderboard of evaluations on one dataset version: each model's metric with its bootstrap
interval, sorted, its plausible ranks, and whether it is significantly worse than the best.

Every evaluation is scored on the same resamples (samples, or images for detection), so every
difference between two models is paired. The board is one family: a max-T bootstrap over all
pairs of models (:mod:`assay.metrics.simultaneous`) gives simultaneous intervals of every
difference, and from them, holding together with probability ``level`` whichever model the
data put first:

- ``delta_low`` / ``delta_high``: the interval of (this model - the best of the others);
  ``significant`` ("significantly worse than the best") exactly when it excludes 0, i.e. some
  model is surely better, and ``p_holm`` (the max-T adjusted p) is below ``1 - level``. On a
  board of equal models this fires on about ``1 - level`` of boards (family-wise; measured
  4.9-5.7 % at 95 %, benchmarks/leaderboard_simulation.py), unlike comparing each
  model with the observed winner, which ignores that the winner was picked from the same data.
  On boards of equal synthetic detectors at 150 images (mAP, 200 resamples) it measured
  5.7 % (K = 5, 1,000 boards) and 6.8 % (K = 10, 800 boards): above ``1 - level`` at K = 10,
  cause not found (``benchmarks/leaderboard_simulation.py --detection``);
- ``rank_low`` / ``rank_high``: ``[1 + #surely better, K - #surely worse]``;
- ``simultaneous_low`` / ``simultaneous_high``: the model's value, from a max-T over the K
  values: the winner's interval that accounts for its selection. ``low`` / ``high`` are each
  model's own percentile interval, right for a model looked at alone but not for the one picked
  as best (winner's curse).

``p_value`` is the unadjusted p of the difference from the best alone (McNemar's exact test
for accuracy, the paired bootstrap otherwise), for reference; the verdict does not use it.

>>> board = leaderboard([(1, "a", res_a, None), (2, "b", res_b, None)], "accuracy")  # doctest: +SKIP
>>> board["rows"][0]["best"], board["rows"][0]["rank_low"]                            # doctest: +SKIP
(True, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare.common import align_evaluations
from assay.evaluation.compare.detection import (
    ap_table,
    headline,
    image_counts,
    image_weights,
    replicate_counts,
    replicates,
)
from assay.evaluation.detection import DetectionResults
from assay.evaluation.dispatch import is_classification, is_detection
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.metric_names import resolve
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.paired import bootstrap_delta, jackknife_se, mcnemar_exact
from assay.metrics.simultaneous import (
    critical_index,
    pairwise_max_t,
    rank_intervals,
    simultaneous_values,
    worse_than_best,
)
from assay.metrics.stats import bootstrap_indices

__all__ = ["leaderboard", "leaderboard_metrics"]

Entry = tuple[Any, str, Results, OperatingPoint | None]


def leaderboard_metrics(task: str) -> list[dict[str, Any]]:
    """The metrics a leaderboard of ``task`` can sort by (the headline metrics of the registry,
    :mod:`assay.evaluation.metric_names`): [{metric, label, higher_is_better}].

    >>> leaderboard_metrics("detection")[0]
    {'metric': 'AP', 'label': 'mAP (.50:.95)', 'higher_is_better': True}
    """
    return [
        {"metric": m.key, "label": m.label, "higher_is_better": m.higher_is_better}
        for m in headline_metrics(task)
    ]


def _task(r: Results) -> str:
    if is_detection(r):
        return "detection"
    if is_classification(r):
        return "multilabel" if r.multilabel else "classification"
    raise InputError(
        f"a {getattr(r, 'task', type(r).__name__)} evaluation; the leaderboard ranks "
        "classification (single- and multi-label) and detection"
    )


def leaderboard(
    entries: Sequence[Entry],
    metric: str | None = None,
    *,
    n: int | None = None,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Rank ``entries`` ((key, name, results, point) of one dataset version and one task) by
    ``metric`` (default: accuracy, or mAP for detection; a name of the registry of metric
    names, any case or alias: "mAP", "f1", "Accuracy"; another is a ParameterError listing
    them). Returns {task, metric (its key), label, higher_is_better, n_resamples, level,
    procedure (the verdict's, in words), critical_value (its max-T critical value, in standard
    errors; None for fewer than two ranked models), metrics (the choices), rows: [{key, name,
    value, low, high, simultaneous_low, simultaneous_high, rank, rank_low, rank_high, best,
    delta, delta_low, delta_high, p_value, p_holm, test, significant}] best first} (the fields
    as the module says; an entry whose metric is undefined comes last with value None and no
    rank interval). ParameterError when ``n`` is too few resamples for ``level``."""
    if not entries:
        raise InputError("no evaluations to rank")
    tasks = {_task(e[2]) for e in entries}
    if len(tasks) > 1:
        raise InputError("the evaluations are of different tasks: rank one task at a time")
    task = tasks.pop()
    choices = leaderboard_metrics(task)
    metric = resolve(
        metric or ("AP" if task == "detection" else "accuracy"),
        task,
        among=[c["metric"] for c in choices],
    ).key
    spec = next(c for c in choices if c["metric"] == metric)
    n = n or (200 if task == "detection" else 1000)
    if critical_index(n, level) < 0:
        raise ParameterError(
            f"{n} resamples are too few for {level:.0%} simultaneous intervals: use at least "
            f"{math.floor(1 / (1 - level) + 1e-9)}"
        )
    correct: list[np.ndarray] | None
    floor = None
    if task == "detection":
        values, reps, correct, n, floor = _detection(entries, metric, n, seed)
        scale = 1.0
    else:
        values, reps, correct, n, scale = _classification(
            entries, metric, n, seed, multilabel=task == "multilabel"
        )

    higher = spec["higher_is_better"]
    order = sorted(
        range(len(entries)),
        key=lambda i: (not math.isfinite(values[i]), -values[i] if higher else values[i]),
    )
    best = order[0]
    alpha = (1 - level) / 2
    sim, critical = _simultaneous(values, reps, higher, scale, level, floor)
    rows: list[dict[str, Any]] = []
    for rank, i in enumerate(order, start=1):
        key, name = entries[i][0], entries[i][1]
        v = values[i]
        row: dict[str, Any] = {"key": key, "name": name, "value": None, "low": None,
                               "high": None, "simultaneous_low": None,
                               "simultaneous_high": None, "rank": rank, "rank_low": None,
                               "rank_high": None, "best": i == best, "delta": None,
                               "delta_low": None, "delta_high": None, "p_value": None,
                               "p_holm": None, "test": None, "significant": False}  # fmt: skip
        if math.isfinite(v):
            row["value"] = v
            r = reps[i][~np.isnan(reps[i])]
            if r.size:
                lo, hi = np.quantile(r, [alpha, 1 - alpha])
                row.update(low=float(v + (lo - v) * scale), high=float(v + (hi - v) * scale))
            row.update(sim.get(i, {}))
            if i != best and math.isfinite(values[best]):
                d = v - values[best]
                p = bootstrap_delta(reps[i] - reps[best], d, scale=scale, level=level)[2]
                test = "paired bootstrap" + (" over images" if task == "detection" else "")
                if metric == "accuracy" and correct is not None:
                    ca, cb = correct[best], correct[i]
                    p = mcnemar_exact(int((ca & ~cb).sum()), int((~ca & cb).sum()))
                    test = "McNemar exact"
                row.update(delta=d, test=test, p_value=None if math.isnan(p) else p)
            else:  # the best: its own gap to the others is not a row's difference from it
                row.update(delta_low=None, delta_high=None, p_holm=None, significant=False)
        rows.append(row)
    return {
        "task": task,
        "metric": metric,
        "label": spec["label"],
        "higher_is_better": higher,
        "n_resamples": int(n),
        "level": level,
        "procedure": PROCEDURE.format(level=f"{level:.0%}".replace("%", " %")),
        "critical_value": critical,
        "metrics": choices,
        "rows": rows,
    }


PROCEDURE = "max-T bootstrap over all pairs (simultaneous, {level})"


def _simultaneous(
    values: list[float],
    reps: list[np.ndarray],
    higher: bool,
    scale: float,
    level: float,
    floor: np.ndarray | None = None,
) -> tuple[dict[int, dict[str, Any]], float | None]:
    """Per entry with a value, its simultaneous fields (rank_low, rank_high, the interval of its
    value, the interval of its difference from the best of the others as delta_low /
    delta_high in the metric's own direction, that difference's adjusted p as p_holm, and
    significant), from one max-T bootstrap over every pair of the ranked models; and the
    critical value (None with fewer than two ranked models)."""
    ranked = [i for i, v in enumerate(values) if math.isfinite(v)]
    if not ranked:
        return {}, None
    sign = 1.0 if higher else -1.0
    v = sign * np.array([values[i] for i in ranked])
    r = sign * np.stack([np.asarray(reps[i], np.float64) for i in ranked])
    least = None if floor is None else floor[np.ix_(ranked, ranked)]
    bands = pairwise_max_t(v, r, scale=scale, level=level, least_se=least)
    low, high, p = worse_than_best(bands)
    ranks = rank_intervals(bands)
    own = simultaneous_values(v, r, scale=scale, level=level)
    out: dict[int, dict[str, Any]] = {}
    for k, i in enumerate(ranked):
        # back to the metric's direction: for lower-is-better, θ_i - min_j θ_j = -(oriented)
        lo, hi = (low[k], high[k]) if higher else (-high[k], -low[k])
        vlo, vhi = sorted((sign * own.low[k], sign * own.high[k]))
        out[i] = {
            "rank_low": int(ranks[k, 0]),
            "rank_high": int(ranks[k, 1]),
            "simultaneous_low": _num(vlo),
            "simultaneous_high": _num(vhi),
            "delta_low": _num(lo),
            "delta_high": _num(hi),
            "p_holm": _num(p[k]),
            "significant": bool(p[k] < 1 - level),
        }
    critical = bands.critical if len(ranked) > 1 and math.isfinite(bands.critical) else None
    return out, critical


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# the threshold-free metrics classification_replicates computes only when asked (most of its cost)
_RANKING = ("roc_auc_macro", "average_precision_macro")


def _classification(
    entries: Sequence[Entry], metric: str, n: int, seed: int, *, multilabel: bool = False
) -> tuple[list[float], list[np.ndarray], list[np.ndarray], int, float]:
    """Values, bootstrap replicates and per-sample correctness (multi-label: every label of the
    sample right) of each entry, on the first entry's samples and classes."""
    first = entries[0][2]
    assert is_classification(first)
    y = first.y_true
    m = len(y)
    idx = bootstrap_indices(
        m, n, seed=seed, cap=max(1_000, min(20_000, 2_000_000 // max(len(first.classes), 1)))
    )
    scale = math.sqrt(idx.shape[1] / m) if m else 1.0
    values, reps, correct = [], [], []
    for _key, _name, r, at in entries:
        rows, cols = align_evaluations(first, r, multilabel=multilabel)
        assert is_classification(r)
        same = np.array_equal(rows, np.arange(m)) and np.array_equal(cols, np.arange(len(cols)))
        score = r.y_score if same else r.y_score[rows][:, cols]
        t = r.point(at).threshold
        assert t is not None
        aligned = (
            r
            if same
            else ClassificationResults(
                y,
                score,
                classes=first.classes,
                threshold=t,
                sample_ids=first.sample_ids,
                multilabel=multilabel,
                zero_division=first.zero_division,
            )  # fmt: skip
        )
        v = aligned.summary(OperatingPoint(threshold=t)).get(metric)
        values.append(math.nan if v is None else float(v))
        rep = classification_replicates(
            idx, y, score, t, multilabel=multilabel, ranking=metric in _RANKING,
            zero_division=aligned.zero_division,
        ).get(metric)  # fmt: skip
        reps.append(np.full(n, np.nan) if rep is None else np.asarray(rep, np.float64))
        correct.append(aligned.outcomes(OperatingPoint(threshold=t)))
    return values, reps, correct, n, scale


def _detection(
    entries: Sequence[Entry], metric: str, n: int, seed: int
) -> tuple[list[float], list[np.ndarray], None, int, np.ndarray | None]:
    """Each entry's value and replicates of ``metric``, and for an AP metric the grouped
    jackknife's SE of every pairwise difference (K, K), which floors the bootstrap's (see
    :mod:`assay.evaluation.compare.detection`)."""
    first = entries[0][2]
    assert isinstance(first, DetectionResults)
    from assay.evaluation.compare.detection import AP_ROWS, check_same_images, jackknife_ap

    weights = image_weights(first.n_samples, n, seed)
    jack: list[np.ndarray] = []
    values, reps = [], []
    for _key, _name, r, at in entries:
        assert isinstance(r, DetectionResults)
        check_same_images(first, r)
        p = r.point(at)
        counts = image_counts(r, p)
        values.append(headline(ap_table(r), counts)[metric])
        rep = r.replicate_ap(weights, (n, seed))
        # precision / recall / F1 at an F1-optimal confidence: re-chosen in each resample
        summed = (
            replicate_counts(r, p, weights) if metric in ("precision", "recall", "f1") else None
        )
        reps.append(replicates(rep, counts, weights, summed)[metric])
        if metric in AP_ROWS and first.n_samples >= 2:
            jack.append(jackknife_ap(r)[1][metric])
    floor = None
    if jack:
        k = len(jack)
        floor = np.full((k, k), np.nan)
        for i in range(k):
            for m in range(i + 1, k):
                floor[i, m] = floor[m, i] = jackknife_se(jack[i] - jack[m])
    return values, reps, None, n, floor
