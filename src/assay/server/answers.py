"""Answers of the analysis endpoints: the results objects' own answers, passed through.

Every route names one :class:`~assay.evaluation.results.OperatingPoint` and calls the method of
the :class:`~assay.evaluation.results.Results` interface of the same name; whatever the task, the
call is the same. What this module adds is the server's: sample items decorated with what comes
from the dataset version (text, media URLs, metadata) and, for single-label samples, the mark of
a likely label error once a data-quality analysis is ready; curves down-sampled to at most 1,000
points, and the per-evaluation caches. Nothing here computes a metric or knows a task.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.caches import LRU
from assay.errors import NotFoundError
from assay.evaluation.results import OperatingPoint
from assay.evaluation.vocabulary import OUTCOMES, SORTS, SPECIAL_LABELS
from assay.server.deps import EvaluationContext
from assay.store import evaluation_public

MAX_CURVE_POINTS = 1000
MAX_CACHED_CURVES = 512
MAX_CACHED_CURVE_POINTS = 400_000  # per evaluation: about 13 MB of Python floats
MAX_CACHED_OPTIMA = 64
INTERVALS_N = 200


# ---------------------------------------------------------------- evaluations


def evaluation_detail(ctx: EvaluationContext) -> dict[str, Any]:
    """EvaluationPublic plus what the page opens on, all at the default operating point."""
    res = ctx.results
    point = res.point()
    report = ctx.cached("report", res.report)
    answer = evaluation_public(ctx.record)
    answer.update(
        classes=list(res.classes),
        point={"threshold": point.threshold, "iou": point.iou, "score": point.score},
        summary=report["summary"],
        intervals=ctx.cached("intervals", lambda: res.intervals(n=INTERVALS_N)),
        optimal=report["optimal"],
        folds=report["folds"],
        headline=res.headline(),
        media=ctx.samples.media,
        metadata_columns=list(ctx.samples.metadata_columns),
        extra=report["extra"],
    )
    return answer


def summary(ctx: EvaluationContext, at: OperatingPoint) -> dict[str, Any]:
    """The summary metrics at an operating point."""
    return ctx.results.summary(at)


def optimal(ctx: EvaluationContext, metric: str, at: OperatingPoint) -> dict[str, Any]:
    """The operating point maximising ``metric``, kept in a bounded LRU per evaluation (keyed by
    the metric and the point: detection's depends on the IoU, a request value)."""
    res = ctx.results
    point = res.point(at)
    key = (metric, point.iou)  # classification's does not move with the point; detection's: iou
    memo = ctx.cached("optima", lambda: LRU[tuple[Any, ...], dict[str, Any]](MAX_CACHED_OPTIMA))
    answer = memo.get(key)
    if answer is None:
        answer = res.optimal(metric, point)
        memo[key] = answer
    return dict(answer)


# ---------------------------------------------------------------- labels


def labels(ctx: EvaluationContext, at: OperatingPoint) -> dict[str, Any]:
    """The per-class table at an operating point."""
    return ctx.results.per_class(at)


def label_detail(
    ctx: EvaluationContext, label: str, at: OperatingPoint, *, limit: int
) -> dict[str, Any]:
    """One label's row of the per-class table with its first TP / FP / FN samples."""
    res = ctx.results
    res.check_label(label)
    table = res.per_class(at)
    row = next(item for item in table["items"] if item["label"] == label)
    sorts = SORTS[res.task]  # detection: the images with the most boxes of that outcome first
    examples = {
        outcome: ctx.decorate(
            [
                dict(item)
                for item in res.samples(
                    at,
                    label=label,
                    outcome=outcome,
                    sort=outcome if outcome in sorts else None,
                    limit=limit,
                )["items"]
            ]
        )
        for outcome in OUTCOMES
    }
    point = {k: v for k, v in table.items() if k not in ("task", "items")}
    return {"task": res.task, **point, "label": label, "metrics": row, "examples": examples}


# ---------------------------------------------------------------- confusion


def confusion(
    ctx: EvaluationContext, at: OperatingPoint, *, normalize: str | None, top: int | None
) -> dict[str, Any]:
    """The confusion matrix (rows actual, columns predicted) and the most confused pairs."""
    return ctx.results.confusion(at, normalize=normalize, top=top)


# ---------------------------------------------------------------- curves


def curve(
    ctx: EvaluationContext, kind: str, label: str | None, at: OperatingPoint, *, bins: int | None
) -> dict[str, Any]:
    """One curve, down-sampled to at most 1,000 points.

    Curves do not move with the threshold, so each answer is kept (an LRU per evaluation bounded
    in entries and in points, keyed by what the curve depends on: its kind, label, IoU and bins).
    """
    res = ctx.results
    res.check_label(label)
    point = res.point(at)
    key = (kind, label, point.iou, bins)
    memo: LRU[tuple[Any, ...], dict[str, Any]] = ctx.cached(
        "curves",
        lambda: LRU(MAX_CACHED_CURVES, weigh=curve_points, max_weight=MAX_CACHED_CURVE_POINTS),
    )
    answer = memo.get(key)
    if answer is None:
        answer = downsample(res.curve(kind, label, point, bins=bins))
        memo[key] = answer
    return answer


def curve_points(answer: dict[str, Any]) -> int:
    """The weight of a cached curve: the number of values in its series (at least 1)."""
    return max(1, sum(len(v) for v in answer.values() if isinstance(v, list | np.ndarray)))


def downsample(answer: dict[str, Any], max_points: int = MAX_CURVE_POINTS) -> dict[str, Any]:
    """Keep at most ``max_points`` evenly spaced points (first and last included) of every 1-D
    series of the curve. Series one or two shorter than the longest (thresholds next to a PR
    curve's points) keep the same indices, so the points stay paired; histograms are left alone.
    """
    lengths = [len(v) for v in answer.values() if _is_series(v)]
    if not lengths or max(lengths) <= max_points:
        return answer
    n = max(lengths)
    keep = _even_indices(n, max_points)
    out = {}
    for key, value in answer.items():
        if not _is_series(value) or len(value) <= max_points:
            out[key] = value
        elif len(value) >= n - 2:
            out[key] = _take(value, keep[keep < len(value)])
        else:
            out[key] = _take(value, _even_indices(len(value), max_points))
    return out


def _take(series: Any, indices: np.ndarray) -> list[Any]:
    """The points of a series at ``indices`` (None stays None: a threshold of +inf)."""
    return [series[i] for i in indices.tolist()]


def _even_indices(n: int, count: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, count).round().astype(np.int64))


def _is_series(value: Any) -> bool:
    return (
        isinstance(value, np.ndarray | list)
        and np.ndim(value) == 1
        and len(value) > 0
        and not (isinstance(value, list) and isinstance(value[0], dict))
    )


# ---------------------------------------------------------------- samples


def samples(ctx: EvaluationContext, at: OperatingPoint, **query: Any) -> dict[str, Any]:
    """A page of the sample feed (a confusion cell's too), its items decorated from the dataset
    version and marked when they are likely label errors."""
    res = ctx.results
    for parameter in ("actual", "predicted"):
        value = query.get(parameter)
        if value not in SPECIAL_LABELS:
            res.check_label(value, parameter)
    res.check_label(query.get("label"))
    page = dict(res.samples(at, **query))
    page["items"] = ctx.decorate([dict(item) for item in page["items"]])
    return page


def sample(ctx: EvaluationContext, index: int, at: OperatingPoint) -> dict[str, Any]:
    """One sample with every class score (detection: one image with its boxes)."""
    res = ctx.results
    if not 0 <= index < res.n_samples:
        raise NotFoundError(f"sample {index} of evaluation {ctx.record.id} not found")
    answer = {"task": res.task, **res.sample(index, at)}
    return ctx.decorate([answer])[0]
