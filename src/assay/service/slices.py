"""The weakest slices of a stored evaluation: :func:`assay.evaluation.quality.find_slices` over its
dataset version's properties and metadata (:func:`assay.service.quality.dataset_properties`) at
the evaluation's stored operating point, and the samples of one slice.

Classification slices are ranked by accuracy (a sample is right at the point); detection slices by
the mean per-image F1 at (IoU, confidence). Metadata columns that determine the label (a finer
version of it) are left out, as in the analysis.

``slices_stored(ws, evaluation_id, *, min_size=None, max_conditions=3, top=20, processes=None)``
    {evaluation_id, task, point: {threshold | iou, score}, metric ("accuracy" | "f1"), n_samples,
    overall, min_size, max_conditions, n_tried, n_family, n_significant, alpha, columns (the
    columns searched), slices: [{index (its number, for :func:`slice_samples`), conditions:
    [{column, op ("==" | "range"), value | low / high, text}], description, n, n_wrong, metric,
    low, high (95 %: Wilson, or percentile bootstrap over images), rest, difference, z,
    p_value, p_holm, significant}], notes, timing_s}.

``slice_samples(ws, evaluation_id, index, *, min_size=None, max_conditions=3, offset=0,
limit=50, processes=None)``
    {evaluation_id, task, slice (as above), total, offset, limit, items: [{index, id, value
    (None), actual, predicted, outcome, possible_label_error, tp, fp, fn}]}: the slice's samples,
    the wrong ones first (detection: the lowest F1 first), then by index.

>>> slices_stored(ws, 3)["slices"][0]["description"]               # doctest: +SKIP
'source == b and brightness < 0.31'
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from assay.caches import LRU
from assay.errors import InputError, ParameterError
from assay.evaluation.quality import (
    Outcomes,
    determines_label,
    find_slices,
    image_f1,
    sample_labels,
    sample_outcomes,
)
from assay.evaluation.results import Results
from assay.service.comparisons import stored_point
from assay.service.quality import MAX_CATEGORIES, dataset_properties, label_issues_stored
from assay.store import json_safe
from assay.store.properties import DatasetProperties
from assay.store.workspace import Workspace

__all__ = ["MAX_TOP", "slice_samples", "slices_stored"]

MAX_TOP = 100
_CACHE: LRU[tuple[Any, ...], dict[str, Any]] = LRU(16)  # the last answers (deterministic, seeded)


def _point_json(task: str, outcomes: Outcomes) -> dict[str, float | None]:
    p = outcomes.point
    return {"iou": p.iou, "score": p.score} if task == "detection" else {"threshold": p.threshold}


def _ids(ws: Workspace, dataset_version_id: int, n: int) -> list[str]:
    table = ws.samples_table(dataset_version_id)
    if "id" not in table.column_names or table.num_rows != n:
        return [str(i) for i in range(n)]
    return [str(i) for i in table.column("id").to_pylist()]


def _label_derived(props: DatasetProperties, outcomes: Outcomes) -> list[str]:
    """The metadata columns that determine the label (a finer version of it), as the analysis
    leaves them out; none for detection (an image holds boxes of several classes)."""
    if outcomes.task == "detection" or outcomes.y_true is None:
        return []
    keys = np.asarray(outcomes.y_true)
    return [
        name
        for name, v in props.values.items()
        if props.kinds.get(name) == "metadata"
        and determines_label(v, keys, max_values=MAX_CATEGORIES)
    ]


def _scores(outcomes: Outcomes) -> tuple[str, np.ndarray]:
    if outcomes.task == "detection":
        assert outcomes.tp is not None and outcomes.fp is not None and outcomes.fn is not None
        return "f1", image_f1(outcomes.tp, outcomes.fp, outcomes.fn)
    return "accuracy", outcomes.correct.astype(np.float64)


def _load(
    ws: Workspace, evaluation_id: int, processes: bool | None
) -> tuple[Results, Outcomes, DatasetProperties, int]:
    record = ws.get_evaluation(evaluation_id)
    dv = record.dataset_version.id
    results = ws.load_results(evaluation_id)
    outcomes = sample_outcomes(results, stored_point(ws, evaluation_id))
    props = dataset_properties(ws, dv, results=results, processes=processes)
    n = len(outcomes.correct)
    for name, v in props.values.items():
        if len(v) != n:
            raise InputError(
                f"dataset version {dv} has {len(v)} rows of {name!r} but the evaluation has "
                f"{n} samples"
            )
    return results, outcomes, props, dv


def slices_stored(
    ws: Workspace,
    evaluation_id: int,
    *,
    min_size: int | None = None,
    max_conditions: int = 3,
    top: int = 20,
    processes: bool | None = None,
) -> dict[str, Any]:
    """The ``top`` weakest slices of a stored evaluation at its stored point (see the module
    docstring for the shape). ``min_size`` defaults to max(30, 1 % of the samples), at most a
    quarter of them; the answer is kept for the last 16 requests (keyed by the point too, so
    moving it recomputes)."""
    if isinstance(top, bool) or not 1 <= top <= MAX_TOP:
        raise ParameterError(f"top: expected 1..{MAX_TOP}, got {top!r}")
    start = time.perf_counter()
    results, outcomes, props, dv = _load(ws, evaluation_id, processes)
    point = _point_json(results.task, outcomes)
    key = (str(ws.home), evaluation_id, tuple(point.items()), min_size, max_conditions, top,
           tuple(props.values))  # fmt: skip
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    metric, score = _scores(outcomes)
    derived = set(_label_derived(props, outcomes))
    columns = {name: v for name, v in props.values.items() if name not in derived}
    cats = {name: c for name, c in props.categories.items() if name in columns}
    found = find_slices(columns, score, categories=cats, metric=metric, min_size=min_size,
                        max_conditions=max_conditions, top=top)  # fmt: skip
    notes = [f"{name}: left out, it determines the label" for name in sorted(derived)]
    for k, s in enumerate(found["slices"]):
        s["index"] = k
        s["n_wrong"] = int(round(s["n"] * (1 - s["metric"]))) if metric == "accuracy" else None
    answer = json_safe(
        {
            "evaluation_id": evaluation_id,
            "task": results.task,
            "point": point,
            **found,
            "columns": list(columns),
            "notes": notes + found["notes"],
            "timing_s": time.perf_counter() - start,
        }
    )
    _CACHE[key] = answer
    return answer


def _mask(props: DatasetProperties, conditions: list[dict[str, Any]], n: int) -> np.ndarray:
    """The samples meeting every condition (as :func:`find_slices` cut them)."""
    mask = np.ones(n, bool)
    for c in conditions:
        v = props.values[c["column"]]
        if c["op"] == "==":
            names = props.categories.get(c["column"])
            code = names.index(c["value"]) if names is not None else float(c["value"])
            mask &= v == code
        else:
            if c["low"] is not None:
                mask &= v >= c["low"]
            if c["high"] is not None:
                mask &= v < c["high"]
            mask &= np.isfinite(v)
    return mask


def slice_samples(
    ws: Workspace,
    evaluation_id: int,
    index: int,
    *,
    min_size: int | None = None,
    max_conditions: int = 3,
    top: int = 20,
    offset: int = 0,
    limit: int = 50,
    processes: bool | None = None,
) -> dict[str, Any]:
    """The samples of slice ``index`` of :func:`slices_stored` with the same parameters (see the
    module docstring for the shape)."""
    if offset < 0 or limit < 1:
        raise ParameterError("offset must be at least 0 and limit at least 1")
    found = slices_stored(ws, evaluation_id, min_size=min_size, max_conditions=max_conditions,
                          top=top, processes=processes)  # fmt: skip
    if not 0 <= index < len(found["slices"]):
        raise ParameterError(f"slice: no slice {index} (there are {len(found['slices'])})")
    chosen = found["slices"][index]
    results, outcomes, props, dv = _load(ws, evaluation_id, processes)
    n = len(outcomes.correct)
    idx = np.flatnonzero(_mask(props, chosen["conditions"], n))
    _, score = _scores(outcomes)
    idx = idx[np.argsort(score[idx], kind="stable")]  # wrong (lowest F1) first, then by index
    issues = {r["index"] for r in label_issues_stored(ws, evaluation_id, results=results)}
    ids = _ids(ws, dv, n)
    items = []
    for i in idx[offset : offset + limit].tolist():
        actual, predicted = sample_labels(results, outcomes, i)
        below = outcomes.task == "classification" and outcomes.y_pred is not None
        outcome = (
            "below_threshold"
            if below and outcomes.y_pred is not None and outcomes.y_pred[i] < 0
            else "correct"
            if outcomes.correct[i]
            else "incorrect"
        )
        items.append(
            {
                "index": i,
                "id": ids[i],
                "value": None,
                "actual": actual,
                "predicted": predicted,
                "outcome": outcome,
                "possible_label_error": i in issues,
                "tp": None if outcomes.tp is None else int(outcomes.tp[i]),
                "fp": None if outcomes.fp is None else int(outcomes.fp[i]),
                "fn": None if outcomes.fn is None else int(outcomes.fn[i]),
            }
        )
    return json_safe(
        {
            "evaluation_id": evaluation_id,
            "task": results.task,
            "slice": chosen,
            "total": int(len(idx)),
            "offset": offset,
            "limit": limit,
            "items": items,
        }
    )
