"""Answers of the analysis endpoints, built from the results objects' own methods.

The results objects precompute what makes threshold / IoU queries cheap; this module only picks,
trims (top-N confusion, curves down-sampled to at most 1,000 points) and decorates (media URLs,
text) their answers. Nothing here recomputes a metric.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from assay.errors import NotFoundError, ParameterError
from assay.server.deps import EvaluationContext
from assay.store import evaluation_public

MAX_CURVE_POINTS = 1000
MAX_CACHED_CURVES = 512
NOT_DETECTED = "Not detected"
NOT_AN_OBJECT = "Not an object"
SPECIAL_LABELS = frozenset(
    {"Below threshold", NOT_DETECTED, NOT_AN_OBJECT, "No prediction", "No label"}
)
CURVE_KINDS = ("roc", "pr", "threshold", "calibration", "density")


# ---------------------------------------------------------------- evaluations


def evaluation_detail(
    ctx: EvaluationContext, intervals: tuple[str, dict[str, Any]]
) -> dict[str, Any]:
    """EvaluationPublic plus classes, summary, intervals, optimal operating point and media."""
    res = ctx.results
    answer = evaluation_public(ctx.record)
    answer.update(
        classes=ctx.classes,
        intervals_status=intervals[0],
        intervals=intervals[1],
        media=ctx.samples.media,
    )
    if ctx.is_detection:
        coco = {k: (None if v == -1 else v) for k, v in res.coco_stats().items()}
        answer.update(
            summary=ctx.record.summary,
            coco=coco,
            protocols=ctx.cached("protocols", res.protocols),
            optimal=ctx.cached("optimal", lambda: res.optimal_score(metric="f1", iou=0.5)),
            threshold=None,
            per_fold=None,
        )
    else:
        answer.update(
            summary=ctx.cached("summary", res.summary),
            optimal=ctx.cached("optimal", lambda: res.optimal_threshold(metric="f1")),
            threshold=float(res.threshold),
            per_fold=ctx.cached("per_fold", res.per_fold),
        )
    return answer


def summary(
    ctx: EvaluationContext, *, threshold: float | None, iou: float, score: float
) -> dict[str, Any]:
    """The headline metrics at a threshold (classification) or at (IoU, score) (detection)."""
    res = ctx.results
    if ctx.is_detection:
        return {"iou": iou, "score": score, "summary": res.prf(iou=iou, score=score)["overall"]}
    return {"threshold": _threshold(ctx, threshold), "summary": res.summary(threshold=threshold)}


CLASSIFICATION_OPTIMA = ("f1", "accuracy", "precision", "recall", "micro_f1")
DETECTION_OPTIMA = ("f1", "precision", "recall")


def optimal(ctx: EvaluationContext, *, metric: str, iou: float) -> dict[str, Any]:
    """The threshold (classification) or confidence at ``iou`` (detection) maximising ``metric``,
    computed once per (evaluation, metric[, iou])."""
    res = ctx.results
    if ctx.is_detection:
        if metric not in DETECTION_OPTIMA:
            raise ParameterError(
                f"metric: {metric!r} is not available for detection "
                f"(choose one of {', '.join(DETECTION_OPTIMA)})"
            )
        return dict(
            ctx.cached(
                f"optimal:{metric}:{float(iou)!r}",
                lambda: res.optimal_score(metric=metric, iou=iou),
            )
        )
    if metric not in CLASSIFICATION_OPTIMA:
        raise ParameterError(
            f"metric: unknown {metric!r} (choose one of {', '.join(CLASSIFICATION_OPTIMA)})"
        )
    return dict(ctx.cached(f"optimal:{metric}", lambda: res.optimal_threshold(metric=metric)))


# ---------------------------------------------------------------- labels


def labels(
    ctx: EvaluationContext, *, threshold: float | None, iou: float, score: float
) -> dict[str, Any]:
    """The per-class table at a threshold (classification) or at (IoU, score) (detection)."""
    if ctx.is_detection:
        table = _detection_per_class(ctx, iou, score)
        items = [{"label": name, **row} for name, row in table.items()]
        return {"iou": iou, "score": score, "items": items}
    table = ctx.results.per_class(threshold=threshold)
    items = [{"label": name, **row} for name, row in table.items()]
    return {"threshold": _threshold(ctx, threshold), "items": items}


def label_detail(
    ctx: EvaluationContext,
    label: str,
    *,
    threshold: float | None,
    iou: float,
    score: float,
    limit: int,
) -> dict[str, Any]:
    """One label's metrics and a few TP / FP / FN examples."""
    ctx.check_label(label)
    res = ctx.results
    if ctx.is_detection:
        metrics = _detection_per_class(ctx, iou, score)[label]
        pages = res.label_images(label, iou=iou, score=score, limit=limit)
        examples = {outcome: ctx.samples.decorate(page["items"]) for outcome, page in pages.items()}
    else:
        metrics = res.per_class(threshold=threshold)[label]
        examples = {
            outcome: ctx.samples.decorate(
                res.samples(label=label, outcome=outcome, threshold=threshold, limit=limit)["items"]
            )
            for outcome in ("tp", "fp", "fn")
        }
    return {"label": label, "metrics": metrics, "examples": examples}


# ---------------------------------------------------------------- confusion


def confusion(
    ctx: EvaluationContext,
    *,
    threshold: float | None,
    iou: float,
    score: float,
    normalize: str | None,
    top: int | None,
) -> dict[str, Any]:
    """The confusion matrix, optionally normalised, optionally kept to the ``top`` most confused."""
    res = ctx.results
    if ctx.is_detection:
        counts = res.confusion_matrix(iou=iou, score=score)
        shown = counts if normalize is None else _normalise_rows(counts, normalize)
        pairs = _most_confused_pairs(counts, 10)
        where: dict[str, Any] = {"iou": iou, "score": score}
    else:
        counts = res.confusion_matrix(threshold=threshold)
        shown = counts if normalize is None else res.confusion_matrix(threshold, normalize)
        pairs = res.most_confused(top=10, threshold=threshold)
        where = {"threshold": _threshold(ctx, threshold)}
    n_classes = len(ctx.classes)
    rows, columns, matrix = shown["rows"], shown["columns"], np.asarray(shown["matrix"])
    if top is not None and n_classes > top:
        keep = _most_confused_classes(counts, top)
        row_idx = [i for i, name in enumerate(rows) if name in keep or name in SPECIAL_LABELS]
        col_idx = [j for j, name in enumerate(columns) if name in keep or name in SPECIAL_LABELS]
        rows = [rows[i] for i in row_idx]
        columns = [columns[j] for j in col_idx]
        matrix = matrix[np.ix_(row_idx, col_idx)]
    return {
        "rows": list(rows),
        "columns": list(columns),
        "matrix": matrix,
        "normalize": normalize,
        "top": top,
        "n_classes": n_classes,
        **where,
        "most_confused": pairs,
    }


def _detection_per_class(ctx: EvaluationContext, iou: float, score: float) -> dict[str, Any]:
    """COCO AP columns (fixed) joined with TP / FP / FN, P / R / F1 at (iou, score)."""
    res = ctx.results
    ap = ctx.cached("per_class", res.per_class)
    counts = res.prf(iou=iou, score=score)["per_class"]
    return {name: {**ap[name], **counts[name]} for name in res.classes}


def _most_confused_pairs(counts: dict[str, Any], top: int) -> list[dict[str, Any]]:
    """The largest off-diagonal cells of a counts matrix, largest first."""
    rows, columns = list(counts["rows"]), list(counts["columns"])
    matrix = np.asarray(counts["matrix"], dtype=float).copy()
    for i, name in enumerate(rows):
        if name in columns:
            matrix[i, columns.index(name)] = 0.0
    flat = np.argsort(-matrix, axis=None, kind="stable")[:top]
    pairs = []
    for cell in flat:
        i, j = divmod(int(cell), matrix.shape[1])
        if matrix[i, j] <= 0:
            break
        pairs.append({"actual": rows[i], "predicted": columns[j], "count": int(matrix[i, j])})
    return pairs


def _normalise_rows(counts: dict[str, Any], normalize: str) -> dict[str, Any]:
    if normalize != "true":
        raise ParameterError(f"normalize: {normalize!r} is not available for detection")
    matrix = np.asarray(counts["matrix"], dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.where(totals > 0, matrix / totals, np.nan)
    return {**counts, "matrix": fractions}


def _most_confused_classes(counts: dict[str, Any], top: int) -> set[str]:
    """The ``top`` classes with the most off-diagonal counts (as actual or as predicted)."""
    rows, columns = list(counts["rows"]), list(counts["columns"])
    matrix = np.asarray(counts["matrix"], dtype=float)
    column_of = {name: j for j, name in enumerate(columns)}
    involvement: dict[str, float] = {}
    for i, name in enumerate(rows):
        off = matrix[i].sum() - (matrix[i, column_of[name]] if name in column_of else 0.0)
        involvement[name] = involvement.get(name, 0.0) + off
    row_of = {name: i for i, name in enumerate(rows)}
    for j, name in enumerate(columns):
        off = matrix[:, j].sum() - (matrix[row_of[name], j] if name in row_of else 0.0)
        involvement[name] = involvement.get(name, 0.0) + off
    ranked = sorted(
        (name for name in involvement if name not in SPECIAL_LABELS),
        key=lambda name: -involvement[name],
    )
    return set(ranked[:top])


# ---------------------------------------------------------------- curves


def curve(
    ctx: EvaluationContext, kind: str, *, label: str | None, iou: float, bins: int | None
) -> dict[str, Any]:
    """One curve, down-sampled to at most 1,000 points.

    Curves do not depend on the threshold, so each answer is kept (a bounded LRU per evaluation):
    a label's ROC is computed from the results object once, then served from memory.
    """
    if kind not in CURVE_KINDS:
        raise ParameterError(
            f"kind: unknown curve {kind!r} (choose one of {', '.join(CURVE_KINDS)})"
        )
    label = ctx.check_label(label) or ctx.classes[0]
    key = (kind, None if kind == "calibration" else label, iou if ctx.is_detection else None, bins)
    memo: OrderedDict[tuple[Any, ...], dict[str, Any]] = ctx.memo.setdefault(
        "curves", OrderedDict()
    )
    answer = memo.get(key)
    if answer is None:
        answer = _curve(ctx, kind, label=label, iou=iou, bins=bins)
        memo[key] = answer
        while len(memo) > MAX_CACHED_CURVES:
            memo.popitem(last=False)
    else:
        memo.move_to_end(key)
    return answer


def _curve(
    ctx: EvaluationContext, kind: str, *, label: str, iou: float, bins: int | None
) -> dict[str, Any]:
    res = ctx.results
    if ctx.is_detection:
        if kind != "pr":
            raise ParameterError(f"kind: {kind!r} curves are not available for detection")
        answer = res.pr_curve(label, iou=iou)
    elif kind == "roc":
        answer = {"label": label, **res.roc_curve(label)}
    elif kind == "pr":
        answer = {"label": label, **res.pr_curve(label)}
    elif kind == "threshold":
        answer = {"label": label, **res.threshold_curves(label)}
    elif kind == "calibration":
        answer = res.calibration(bins=bins or 15)
    else:
        answer = {"label": label, **res.density(label, bins=bins or 50)}
    return {"kind": kind, **downsample(answer)}


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
            out[key] = np.asarray(value)[keep[keep < len(value)]]
        else:
            out[key] = np.asarray(value)[_even_indices(len(value), max_points)]
    return out


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


def samples(ctx: EvaluationContext, **query: Any) -> dict[str, Any]:
    """A page of the sample feed (classification samples or detection images)."""
    for parameter in ("actual", "predicted", "label"):
        value = query.get(parameter)
        if value is not None and value not in SPECIAL_LABELS:
            ctx.check_label(value, parameter)
    query = {k: v for k, v in query.items() if v is not None}
    if ctx.is_detection:
        if ("outcome" in query) != ("label" in query):
            raise ParameterError("outcome: give both outcome (tp, fp or fn) and label, or neither")
        query.pop("threshold", None)
        page = ctx.results.images(**query)
    else:
        query.pop("iou", None)
        query.pop("score", None)
        page = ctx.results.samples(**query)
    return {
        "total": int(page["total"]),
        "offset": int(query.get("offset", 0)),
        "limit": int(query.get("limit", 50)),
        "items": ctx.samples.decorate(list(page["items"])),
    }


def sample(
    ctx: EvaluationContext, index: int, *, threshold: float | None, iou: float, score: float
) -> dict[str, Any]:
    """One sample with all its class scores (classification) or one image with its boxes."""
    res = ctx.results
    if not 0 <= index < ctx.record.n_samples or (
        ctx.samples.n_rows and index >= ctx.samples.n_rows
    ):
        raise NotFoundError(f"sample {index} of evaluation {ctx.record.id} not found")
    if ctx.is_detection:
        answer = dict(res.image(index, iou=iou, score=score))
    else:
        answer = dict(res.sample(index, threshold=threshold))
        scores = answer.get("scores")
        if isinstance(scores, dict):
            answer["scores"] = sorted(
                ({"label": k, "score": v} for k, v in scores.items()), key=lambda s: -s["score"]
            )
    return ctx.samples.decorate([answer])[0]


def _threshold(ctx: EvaluationContext, threshold: float | None) -> float:
    return float(ctx.results.threshold if threshold is None else threshold)
