"""A leaderboard of evaluations on one dataset version: each model's metric with its bootstrap
interval, sorted, and whether its difference from the best is significant.

Every evaluation is scored on the same resamples (samples, or images for detection), so each
difference from the best is paired, as in :mod:`assay.evaluation.compare`: its interval is of
the difference, and its p-value is McNemar's exact test for accuracy, the paired bootstrap for
the rest. The p-values of the differences from the best are Holm-adjusted across the board.

>>> board = leaderboard([(1, "a", res_a, None), (2, "b", res_b, None)], "accuracy")  # doctest: +SKIP
>>> board["rows"][0]["best"]                                                          # doctest: +SKIP
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation._compare_detection import (
    ap_table,
    cached_replicate_ap,
    headline,
    image_counts,
    image_weights,
    replicates,
)
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare import _aligned, _predictions, holm_rows
from assay.evaluation.detection import DetectionResults
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.metric_names import resolve
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.paired import bootstrap_delta, mcnemar_exact
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
    if isinstance(r, DetectionResults):
        return "detection"
    if isinstance(r, ClassificationResults) and not r.multilabel:
        return "classification"
    raise InputError(
        f"a {getattr(r, 'task', type(r).__name__)} evaluation; the leaderboard ranks "
        "single-label classification and detection so far"
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
    them). Returns {task, metric (its key), label, higher_is_better, n_resamples, level, metrics
    (the choices), rows: [{key, name, value, low, high, rank, best, delta, delta_low, delta_high,
    p_value, p_holm, test, significant}] best first; an entry whose metric is undefined comes
    last with value None}."""
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
    correct: list[np.ndarray] | None
    if task == "detection":
        values, reps, correct, n = _detection(entries, metric, n or 200, seed)
        scale = 1.0
    else:
        values, reps, correct, n, scale = _classification(entries, metric, n or 1000, seed)

    higher = spec["higher_is_better"]
    order = sorted(
        range(len(entries)),
        key=lambda i: (not math.isfinite(values[i]), -values[i] if higher else values[i]),
    )
    best = order[0]
    rows: list[dict[str, Any]] = []
    alpha = (1 - level) / 2
    for rank, i in enumerate(order, start=1):
        key, name = entries[i][0], entries[i][1]
        v = values[i]
        row: dict[str, Any] = {"key": key, "name": name, "value": None, "low": None,
                               "high": None, "rank": rank, "best": i == best, "delta": None,
                               "delta_low": None, "delta_high": None, "p_value": None,
                               "p_holm": None, "test": None, "significant": False}  # fmt: skip
        if math.isfinite(v):
            r = reps[i][~np.isnan(reps[i])]
            if r.size:
                lo, hi = np.quantile(r, [alpha, 1 - alpha])
                row.update(value=v, low=float(v + (lo - v) * scale),
                           high=float(v + (hi - v) * scale))  # fmt: skip
            else:
                row["value"] = v
            if i != best and math.isfinite(values[best]):
                d = v - values[best]
                lo, hi, p = bootstrap_delta(reps[i] - reps[best], d, scale=scale, level=level)
                test = "paired bootstrap" + (" over images" if task == "detection" else "")
                if metric == "accuracy" and correct is not None:
                    ca, cb = correct[best], correct[i]
                    p = mcnemar_exact(int((ca & ~cb).sum()), int((~ca & cb).sum()))
                    test = "McNemar exact"
                if math.isfinite(lo):
                    row.update(delta=d, delta_low=lo, delta_high=hi, p_value=p, test=test)
        rows.append(row)
    others = [r for r in rows if not r["best"]]
    holm_rows(others, [math.nan if r["p_value"] is None else r["p_value"] for r in others], level)
    return {
        "task": task,
        "metric": metric,
        "label": spec["label"],
        "higher_is_better": higher,
        "n_resamples": int(n),
        "level": level,
        "metrics": choices,
        "rows": rows,
    }


def _classification(
    entries: Sequence[Entry], metric: str, n: int, seed: int
) -> tuple[list[float], list[np.ndarray], list[np.ndarray], int, float]:
    first = entries[0][2]
    assert isinstance(first, ClassificationResults)
    y = first.y_true
    m = len(y)
    idx = bootstrap_indices(
        m, n, seed=seed, cap=max(1_000, min(20_000, 2_000_000 // max(len(first.classes), 1)))
    )
    scale = math.sqrt(idx.shape[1] / m) if m else 1.0
    values, reps, correct = [], [], []
    for _key, _name, r, at in entries:
        rows, cols = _aligned(first, r)
        assert isinstance(r, ClassificationResults)
        same = np.array_equal(rows, np.arange(m)) and np.array_equal(cols, np.arange(len(cols)))
        score = r.y_score if same else r.y_score[rows][:, cols]
        t = r.point(at).threshold
        assert t is not None
        aligned = (
            r
            if same
            else ClassificationResults(
                y, score, classes=first.classes, threshold=t, sample_ids=first.sample_ids
            )  # fmt: skip
        )
        v = aligned.summary(OperatingPoint(threshold=t)).get(metric)
        values.append(math.nan if v is None else float(v))
        rep = classification_replicates(idx, y, score, t).get(metric)
        reps.append(np.full(n, np.nan) if rep is None else np.asarray(rep, np.float64))
        correct.append(_predictions(aligned, t) == y)
    return values, reps, correct, n, scale


def _detection(
    entries: Sequence[Entry], metric: str, n: int, seed: int
) -> tuple[list[float], list[np.ndarray], None, int]:
    first = entries[0][2]
    assert isinstance(first, DetectionResults)
    from assay.evaluation._compare_detection import _check_same_images

    weights = image_weights(first.n_samples, n, seed)
    values, reps = [], []
    for _key, _name, r, at in entries:
        assert isinstance(r, DetectionResults)
        _check_same_images(first, r)
        counts = image_counts(r, r.point(at))
        values.append(headline(ap_table(r), counts)[metric])
        rep = cached_replicate_ap(r, weights, (n, seed))
        reps.append(replicates(rep, counts, weights)[metric])
    return values, reps, None, n
