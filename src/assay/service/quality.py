"""Data-quality analysis of stored evaluations: per-sample properties cached per dataset version,
metric importance, performance by property, the sample explorer, near-duplicates, leakage from a
training set and likely label errors. Built on :mod:`assay.evaluation.quality`.

Properties are computed once per *dataset version* and kept in
``datasets/<version>/properties.parquet`` (written to a temporary file and renamed; NaN stored as
null): image properties when the samples have media files, text properties when they have text,
box properties for detection, plus the perceptual hashes / MinHash signatures the duplicate search
needs. The cache is recomputed when the samples table is replaced (media attached later) or its
format changes. Numeric metadata columns of the samples table are properties too (kind
"metadata"); text columns with 2..50 distinct values count as categories.

Every answer is JSON-safe (floats finite or None). Shapes (``F`` = float | None):

``analyze_stored(ws, evaluation_id, *, train=None, progress=None, seed=0, processes=None)``
    {evaluation_id, task, n_samples, point: {threshold | iou, score}, n_correct,
    properties: [{name, kind ("image" | "text" | "box" | "metadata"), description, n_missing,
    categories (list of names for a categorical property, else None)}],
    importance: [{property, spearman F, spearman_p F, importance F, importance_std F, n}] ranked
    (most important first; see :func:`assay.evaluation.quality.importance`),
    duplicates: {kind ("image" | "text" | None), groups: [{indices, ids, distance}] (the 100
    largest), n_groups, leakage: [{index, id, train_index, train_id, distance}] | None (None
    without ``train``), train_id (the training dataset version or None)},
    label_issues: [{index, id, given, suggested, confidence, self_confidence}] (the 100 most
    likely; single-label classification only, else []), n_label_issues,
    notes: [str], timing_s (F, total seconds), stages_s: {properties, importance, duplicates,
    label_issues}}.
    Image distances are pHash bits (<= 4 is a near-copy); text distances 1 - Jaccard (<= 0.2).
    A metadata column that determines the label (each of its 2..50 values goes with one label,
    e.g. a fine class under the coarse one) stays among the properties but is left out of the
    ranking, with a note. ``progress(done, total)`` runs twice from 0: over the images while
    properties are computed (at once ``(n, n)`` from the cache), then over the ranking's steps.

``label_issues_stored(ws, evaluation_id)``
    [{index, given, suggested, confidence, self_confidence}] most likely first (see
    :func:`assay.evaluation.quality.label_issues`; [] unless single-label classification).

``property_bins(ws, evaluation_id, name, *, bins=10, label=None, train=None, processes=None)``
    {evaluation_id, task, property, kind, label, n_missing, bins: [{lower F, upper F, category
    (str | None), n, accuracy, tpr, precision}]}: each rate {value F, low F, high F (Wilson
    95 %), k, n} or None; ``tpr`` / ``precision`` only with ``label`` (classification: the
    class's samples / the samples predicted as it; detection: boxes of the class).

``explore(ws, evaluation_id, name, *, outcome=None, label=None, descending=True, offset=0,
limit=50, train=None, processes=None)``
    {evaluation_id, task, property, kind, total, offset, limit, items: [{index, id, value (F, or
    the category), actual, predicted, outcome, possible_label_error, tp, fp, fn}]}: samples
    ranked by the property (missing values last). ``outcome``: correct / incorrect (any task),
    below_threshold (classification), or tp / fp / fn (tn) relative to ``label`` (detection: images
    holding such a box; without a label any class). Item ``outcome`` is tp / fp / fn / tn with a
    label (classification), else correct / incorrect / below_threshold; actual / predicted are
    class names (lists for multi-label and detection); tp / fp / fn are box counts (detection;
    None otherwise).

>>> out = analyze_stored(ws, 3)                                    # doctest: +SKIP
>>> out["importance"][0]["property"]                               # doctest: +SKIP
'brightness'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from assay.caches import LRU
from assay.errors import InputError, ParameterError
from assay.evaluation.dispatch import is_classification, is_detection
from assay.evaluation.quality import (
    TEXT_PROPERTIES,
    Outcomes,
    box_properties,
    by_property,
    class_counts,
    determines_label,
    image_leakage,
    image_properties,
    importance,
    label_issues,
    near_duplicates_images,
    near_duplicates_texts,
    oov_share,
    sample_labels,
    sample_outcomes,
    text_leakage,
    text_properties,
    vocabulary_of,
)
from assay.evaluation.results import OperatingPoint, Results
from assay.store import json_safe
from assay.store.properties import DatasetProperties, read_properties, write_properties
from assay.store.workspace import Workspace

__all__ = [
    "analyze_stored",
    "dataset_properties",
    "explore",
    "label_issues_stored",
    "property_bins",
]

STRUCTURAL = {"id", "label", "labels", "text", "path", "fold", "file_name"}
MAX_CATEGORIES = 50
TOP = 100
Progress = Callable[[int, int], None]


def _column(table: pa.Table, name: str) -> list[Any] | None:
    return table.column(name).to_pylist() if name in table.column_names else None


def _compute(
    ws: Workspace,
    dataset_version_id: int,
    results: Results | None,
    progress: Progress | None,
    processes: bool | None = None,
) -> DatasetProperties:
    table = ws.samples_table(dataset_version_id)
    n = table.num_rows
    values: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    extra: dict[str, np.ndarray] = {}
    notes: list[str] = []
    paths = _column(table, "path")
    if paths is not None and any(paths):
        files = ws.media_paths(dataset_version_id)  # None where gone or outside the root
        t = image_properties(files, progress=progress, processes=processes)
        _merge(values, kinds, descriptions, t.values, t.descriptions, "image")
        extra["phash"], extra["hashed"] = t.extra["phash"], t.extra["hashed"]
        notes += t.notes
    texts = _column(table, "text")
    if texts is not None and any(t is not None for t in texts):
        t = text_properties(texts)
        _merge(values, kinds, descriptions, t.values, t.descriptions, "text")
        extra["minhash"], extra["has_text"] = t.extra["minhash"], t.extra["has_text"]
        notes += t.notes
    if results is not None and is_detection(results) and results.n_samples == n:
        g = results.gt
        t, _ = box_properties(g.boxes, g.image, g.widths, g.heights, iscrowd=g.iscrowd)
        _merge(values, kinds, descriptions, t.values, t.descriptions, "box")
    if progress is not None and paths is None:
        progress(n, n)
    return DatasetProperties(values, kinds, descriptions, extra=extra, notes=notes, computed=True)


def _merge(
    values: dict[str, np.ndarray],
    kinds: dict[str, str],
    descriptions: dict[str, str],
    new: dict[str, np.ndarray],
    words: dict[str, str],
    kind: str,
) -> None:
    for name, v in new.items():
        key = name if name not in values else f"{kind}_{name}"
        values[key], kinds[key], descriptions[key] = v, kind, words[name]


def _metadata(table: pa.Table, taken: dict[str, np.ndarray]) -> DatasetProperties:
    """Numeric metadata columns as properties (one holding the same numbers as a computed
    property of that name left out); text ones with 2..50 values as categories."""
    out = DatasetProperties({}, {}, {})
    for name in table.column_names:
        if name in STRUCTURAL:
            continue
        col = table.column(name)
        kind = col.type
        if pa.types.is_dictionary(kind):
            col = col.cast(kind.value_type)
            kind = col.type
        key = name if name not in taken else f"metadata_{name}"
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            v = col.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
            if name in taken and np.array_equal(v, taken[name], equal_nan=True):
                continue
            out.values[key] = np.where(np.isfinite(v), v, np.nan)
            out.descriptions[key] = f"the dataset's {name!r} column"
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            items = col.to_pylist()
            names = sorted({x for x in items if x is not None})
            if not 2 <= len(names) <= MAX_CATEGORIES or len(names) > len(items) // 2:
                continue
            code = {c: float(k) for k, c in enumerate(names)}
            out.values[key] = np.array([code.get(x, np.nan) for x in items], np.float64)
            out.categories[key] = names
            out.descriptions[key] = f"the dataset's {name!r} column ({len(names)} categories)"
        else:
            continue
        out.kinds[key] = "metadata"
    return out


def dataset_properties(
    ws: Workspace,
    dataset_version_id: int,
    *,
    results: Results | None = None,
    progress: Progress | None = None,
    processes: bool | None = None,
) -> DatasetProperties:
    """The properties of a dataset version: the computed ones from the cache (computed and
    cached on first use; ``results`` of an evaluation on it give detection its boxes) plus the
    metadata columns. ``progress(done, total)`` follows the image decoding; ``processes`` as in
    :func:`assay.evaluation.quality.image_properties` (None: forked processes from 1,000
    images; False: threads only)."""
    ws.get_dataset_version(dataset_version_id)
    cached = read_properties(ws, dataset_version_id)
    if cached is None or (
        results is not None
        and results.task == "detection"
        and not any(k == "box" for k in cached.kinds.values())
    ):
        cached = _compute(ws, dataset_version_id, results, progress, processes)
        write_properties(ws, dataset_version_id, cached)
    elif progress is not None:
        n = len(next(iter(cached.values.values()))) if cached.values else 0
        progress(n, n)
    meta = _metadata(ws.samples_table(dataset_version_id), cached.values)
    for name, v in meta.values.items():
        cached.values[name] = v
        cached.kinds[name] = "metadata"
        cached.descriptions[name] = meta.descriptions[name]
    cached.categories.update(meta.categories)
    return cached


# ------------------------------------------------------------------ analysis


def _point(ws: Workspace, evaluation_id: int, results: Results) -> OperatingPoint:
    from assay.service.comparisons import stored_point

    return stored_point(ws, evaluation_id)


def _point_json(task: str, p: OperatingPoint) -> dict[str, Any]:
    return {"iou": p.iou, "score": p.score} if task == "detection" else {"threshold": p.threshold}


def _ids(ws: Workspace, dataset_version_id: int, n: int) -> list[str]:
    ids = _column(ws.samples_table(dataset_version_id), "id")
    if ids is None or len(ids) != n:
        return [str(i) for i in range(n)]
    return [str(i) for i in ids]


_ISSUES: LRU[tuple[str, int], list[dict[str, Any]]] = LRU(8)  # the last 8 evaluations' issues


def label_issues_stored(
    ws: Workspace, evaluation_id: int, *, results: Results | None = None
) -> list[dict[str, Any]]:
    """The likely label errors of a stored single-label evaluation, most likely first: cleanlab's
    [{index, given, suggested, confidence, self_confidence}] (see
    :func:`assay.evaluation.quality.label_issues`); [] for other tasks. Kept for the last 8
    evaluations (stored evaluations never change); ``results`` saves loading them again.

    >>> label_issues_stored(ws, 3)[0]["suggested"]                     # doctest: +SKIP
    'cat'
    """
    if results is None:
        results = ws.load_results(evaluation_id)
    if not is_classification(results) or results.multilabel:
        return []
    key = (str(ws.home), evaluation_id)
    cached = _ISSUES.get(key)
    if cached is not None:
        return cached
    found = label_issues(results.y_true, results.y_score, results.classes)
    _ISSUES[key] = found
    return found


def _label_issues(ws: Workspace, evaluation_id: int, results: Results) -> list[dict[str, Any]]:
    """:func:`label_issues_stored` under its former private name (still imported elsewhere)."""
    return label_issues_stored(ws, evaluation_id, results=results)


def _label_keys(outcomes: Outcomes) -> np.ndarray | None:
    """One label key per sample (class index; a multi-label sample's row of labels), None for
    detection (an image holds boxes of several classes)."""
    if outcomes.task == "detection" or outcomes.y_true is None:
        return None
    return np.asarray(outcomes.y_true)


def _label_derived(props: DatasetProperties, outcomes: Outcomes) -> list[str]:
    """The metadata columns that determine the label (a finer version of it)."""
    keys = _label_keys(outcomes)
    if keys is None:
        return []
    return [
        name
        for name, v in props.values.items()
        if props.kinds.get(name) == "metadata"
        and determines_label(v, keys, max_values=MAX_CATEGORIES)
    ]


def analyze_stored(
    ws: Workspace,
    evaluation_id: int,
    *,
    train: int | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    processes: bool | None = None,
) -> dict[str, Any]:
    """The data-quality analysis of a stored evaluation at its stored operating point (see the
    module docstring for the shape). ``train`` names a training dataset version: its near-copies
    in the evaluated set are reported as leakage, and text OOV shares use its vocabulary.
    ``progress(done, total)`` follows the properties, then the ranking (each from 0).
    ``processes=False`` keeps image decoding on threads (a server may prefer not to fork; None
    forks only from the main thread)."""
    start = time.perf_counter()
    record = ws.get_evaluation(evaluation_id)
    dv = record.dataset_version.id
    if train is not None:
        ws.get_dataset_version(train)
        if train == dv:
            raise InputError(
                f"--train: dataset version {train} is the evaluated set itself; name the "
                "training set's version"
            )
    results = ws.load_results(evaluation_id)
    outcomes = sample_outcomes(results, _point(ws, evaluation_id, results))
    n = len(outcomes.correct)
    props = dataset_properties(ws, dv, results=results, progress=progress, processes=processes)
    _check_rows(props, n, dv)
    ids = _ids(ws, dv, n)
    notes = list(props.notes)
    train_props = None
    if train is not None:
        train_props = dataset_properties(ws, train, processes=processes)
        _train_vocabulary(ws, train, dv, props)
    stages = {"properties": time.perf_counter() - start}

    t0 = time.perf_counter()
    derived = set(_label_derived(props, outcomes))
    notes += [f"{name}: left out, it determines the label" for name in sorted(derived)]
    ranked = {name: v for name, v in props.values.items() if name not in derived}
    ranking = importance(ranked, outcomes.correct, seed=seed, progress=progress,
                         categorical=[c for c in props.categories if c in ranked])  # fmt: skip
    stages["importance"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    duplicates = _duplicates(ws, props, train_props, train, ids, notes)
    stages["duplicates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    issues = label_issues_stored(ws, evaluation_id, results=results)
    stages["label_issues"] = time.perf_counter() - t0
    return json_safe(
        {
            "evaluation_id": evaluation_id,
            "task": results.task,
            "n_samples": n,
            "point": _point_json(results.task, outcomes.point),
            "n_correct": int(outcomes.correct.sum()),
            "properties": [
                {
                    "name": name,
                    "kind": props.kinds[name],
                    "description": props.descriptions[name],
                    "n_missing": int((~np.isfinite(v)).sum()),
                    "categories": props.categories.get(name),
                }
                for name, v in props.values.items()
            ],
            "importance": ranking,
            "duplicates": duplicates,
            "label_issues": [
                {"index": r["index"], "id": ids[r["index"]], **r} for r in issues[:TOP]
            ],
            "n_label_issues": len(issues),
            "notes": notes,
            "timing_s": time.perf_counter() - start,
            "stages_s": stages,
        }
    )


def _check_rows(props: DatasetProperties, n: int, dv: int) -> None:
    for name, v in props.values.items():
        if len(v) != n:
            raise InputError(
                f"dataset version {dv} has {len(v)} rows of {name!r} but the evaluation has "
                f"{n} samples"
            )


def _train_vocabulary(ws: Workspace, train: int, dv: int, props: DatasetProperties) -> None:
    """The OOV share against the training texts' vocabulary (when both sets have texts)."""
    if props.kinds.get("oov_share") != "text":
        return
    train_texts = _column(ws.samples_table(train), "text")
    texts = _column(ws.samples_table(dv), "text")
    if not train_texts or texts is None:
        return
    vocab = vocabulary_of(train_texts)
    props.values["oov_share"] = oov_share(texts, vocab)
    props.descriptions["oov_share"] = TEXT_PROPERTIES["oov_share"].format(
        vocabulary=f"the training set's {len(vocab)} tokens (dataset version {train})"
    )


def _duplicates(
    ws: Workspace,
    props: DatasetProperties,
    train_props: DatasetProperties | None,
    train: int | None,
    ids: list[str],
    notes: list[str],
) -> dict[str, Any]:
    kind: str | None = None
    groups: list[dict[str, Any]] = []
    leakage: list[dict[str, Any]] | None = None if train is None else []
    train_ids = [] if train is None else _ids(ws, train, ws.samples_table(train).num_rows)
    if "phash" in props.extra:
        kind = "image"
        groups = near_duplicates_images(hashes=props.extra["phash"], hashed=props.extra["hashed"])
        if train_props is not None:
            if "phash" in train_props.extra:
                leakage = image_leakage(
                    train_hashes=(train_props.extra["phash"], train_props.extra["hashed"]),
                    test_hashes=(props.extra["phash"], props.extra["hashed"]),
                )
            else:
                notes.append(f"dataset version {train} has no image files: no leakage check")
    elif "minhash" in props.extra:
        kind = "text"
        groups = near_duplicates_texts(signatures=props.extra["minhash"])
        groups = [g for g in groups if all(props.extra["has_text"][i] for i in g["indices"])]
        if train_props is not None:
            if "minhash" in train_props.extra:
                has = train_props.extra["has_text"]
                sig = train_props.extra["minhash"]
                leakage = text_leakage(
                    train_signatures=sig[has],
                    test_signatures=props.extra["minhash"],
                )
                back = np.flatnonzero(has)
                leakage = [
                    {**r, "train_index": int(back[r["train_index"]])}
                    for r in leakage
                    if props.extra["has_text"][r["index"]]
                ]
            else:
                notes.append(f"dataset version {train} has no texts: no leakage check")
    return {
        "kind": kind,
        "groups": [{**g, "ids": [ids[i] for i in g["indices"]]} for g in groups[:TOP]],
        "n_groups": len(groups),
        "leakage": None
        if leakage is None
        else [
            {
                "index": r["index"],
                "id": ids[r["index"]],
                "train_index": r["train_index"],
                "train_id": train_ids[r["train_index"]],
                "distance": r["distance"],
            }
            for r in leakage
        ],
        "train_id": train,
    }


# ------------------------------------------------------------------ parameterised views


def _prepare(
    ws: Workspace, evaluation_id: int, name: str, train: int | None, processes: bool | None
) -> tuple[Results, Outcomes, DatasetProperties, np.ndarray]:
    record = ws.get_evaluation(evaluation_id)
    results = ws.load_results(evaluation_id)
    outcomes = sample_outcomes(results, _point(ws, evaluation_id, results))
    props = dataset_properties(ws, record.dataset_version.id, results=results, processes=processes)
    if train is not None:
        ws.get_dataset_version(train)
        _train_vocabulary(ws, train, record.dataset_version.id, props)
    if name not in props.values:
        known = ", ".join(props.values) or "none"
        raise ParameterError(f"property: unknown {name!r} (known: {known})")
    _check_rows(props, len(outcomes.correct), record.dataset_version.id)
    return results, outcomes, props, props.values[name]


def property_bins(
    ws: Workspace,
    evaluation_id: int,
    name: str,
    *,
    bins: int = 10,
    label: str | None = None,
    train: int | None = None,
    processes: bool | None = None,
) -> dict[str, Any]:
    """Accuracy (and TPR / precision of ``label``) per quantile bin of property ``name`` (see the
    module docstring for the shape); ``train`` as in :func:`analyze_stored` (the OOV share),
    ``processes`` too (used only when the properties are not cached yet)."""
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 100:
        raise ParameterError(f"bins: expected 1..100, got {bins!r}")
    results, outcomes, props, values = _prepare(ws, evaluation_id, name, train, processes)
    counts: dict[str, np.ndarray] = {}
    if label is not None:
        tp, fp, fn = class_counts(results, outcomes, label)
        counts = {"tp": tp, "fp": fp, "fn": fn}
    out = by_property(values, outcomes.correct, bins=bins, categories=props.categories.get(name),
                      **counts)  # fmt: skip
    return json_safe(
        {
            "evaluation_id": evaluation_id,
            "task": results.task,
            "property": name,
            "kind": props.kinds[name],
            "label": label,
            "n_missing": out["n_missing"],
            "bins": out["bins"],
        }
    )


EXPLORE_OUTCOMES = ("correct", "incorrect", "below_threshold", "tp", "fp", "fn", "tn")


def explore(
    ws: Workspace,
    evaluation_id: int,
    name: str,
    *,
    outcome: str | None = None,
    label: str | None = None,
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
    train: int | None = None,
    processes: bool | None = None,
) -> dict[str, Any]:
    """Samples ranked by property ``name``, filtered by outcome and class (see the module
    docstring for the shape); ``train`` and ``processes`` as in :func:`property_bins`."""
    if outcome is not None and outcome not in EXPLORE_OUTCOMES:
        raise ParameterError(f"outcome: unknown {outcome!r} (one of {', '.join(EXPLORE_OUTCOMES)})")
    if offset < 0 or limit < 0:
        raise ParameterError("offset and limit must be at least 0")
    results, outcomes, props, values = _prepare(ws, evaluation_id, name, train, processes)
    task = results.task
    n = len(values)
    counts = class_counts(results, outcomes, label) if label is not None else None
    if outcome in ("tp", "fp", "fn", "tn") and counts is None and task != "detection":
        raise ParameterError(f"outcome: {outcome} needs a label (the class it is relative to)")
    if outcome == "below_threshold" and task != "classification":
        raise ParameterError("outcome: below_threshold is for single-label classification")
    keep: np.ndarray = np.ones(n, bool)
    if outcome == "correct":
        keep = outcomes.correct.copy()
    elif outcome == "incorrect":
        keep = ~outcomes.correct
    elif outcome == "below_threshold":
        assert outcomes.y_pred is not None
        keep = outcomes.y_pred < 0
    elif outcome in ("tp", "fp", "fn", "tn"):
        if counts is not None:
            tp, fp, fn = counts
        else:
            tp, fp, fn = outcomes.tp, outcomes.fp, outcomes.fn  # type: ignore[assignment]
        keep = {"tp": tp > 0, "fp": fp > 0, "fn": fn > 0}.get(
            outcome, (tp == 0) & (fp == 0) & (fn == 0)
        )
    elif label is not None and counts is not None:  # a class alone: samples involving it
        keep = (counts[0] + counts[1] + counts[2]) > 0
    idx = np.flatnonzero(keep)
    v = values[idx]
    finite = np.isfinite(v)
    order = np.argsort(-v[finite] if descending else v[finite], kind="stable")
    idx = np.concatenate([idx[finite][order], idx[~finite]])
    page = idx[offset : offset + limit]
    issues = {r["index"] for r in label_issues_stored(ws, evaluation_id, results=results)}
    ids = _ids(ws, ws.get_evaluation(evaluation_id).dataset_version.id, n)
    cats = props.categories.get(name)
    items = []
    for i in page.tolist():
        actual, predicted = sample_labels(results, outcomes, i)
        value: Any = values[i]
        if cats is not None and np.isfinite(value):
            value = cats[int(value)]
        items.append(
            {
                "index": i,
                "id": ids[i],
                "value": value,
                "actual": actual,
                "predicted": predicted,
                "outcome": _item_outcome(outcomes, counts, i),
                "possible_label_error": i in issues,
                "tp": None if outcomes.tp is None else int(outcomes.tp[i]),
                "fp": None if outcomes.fp is None else int(outcomes.fp[i]),
                "fn": None if outcomes.fn is None else int(outcomes.fn[i]),
            }
        )
    return json_safe(
        {
            "evaluation_id": evaluation_id,
            "task": task,
            "property": name,
            "kind": props.kinds[name],
            "total": int(len(idx)),
            "offset": offset,
            "limit": limit,
            "items": items,
        }
    )


def _item_outcome(
    outcomes: Outcomes, counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None, i: int
) -> str:
    if counts is not None and outcomes.task != "detection":
        tp, fp, fn = (int(c[i]) for c in counts)
        return "tp" if tp else "fp" if fp else "fn" if fn else "tn"
    if outcomes.task == "classification" and outcomes.y_pred is not None and outcomes.y_pred[i] < 0:
        return "below_threshold"
    return "correct" if outcomes.correct[i] else "incorrect"
