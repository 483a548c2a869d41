"""The embedding map of a stored evaluation: the CLI (``assay analyze EVAL --embeddings``), the
server (``/api/evaluations/{id}/embeddings``) and Python share these.

- :func:`embedding` gives an evaluation's embedding (N, D): the model's embedding output when its
  spec names one (``embedding: <output>``) and the model can be run, computed once by running the
  model over the dataset version again (decoded and preprocessed as the predictions were), else
  the prediction vectors (:func:`~assay.evaluation.embeddings.prediction_vectors`); stored beside
  the evaluation (:mod:`assay.store.embeddings`) with ``source`` "model" or "scores".
- :func:`embedding_map` lays it out in 2-D (``pca`` or ``umap``), cached per evaluation + method
  + parameters.
- :func:`map_points` is the map with what each point says (outcome, classes, confidence, likely
  label error, a cached data-quality property); :func:`neighbours` the samples nearest to one by
  cosine distance in the embedding space.

    >>> out = embedding_map(ws, 3, "pca")                  # doctest: +SKIP
    >>> out.xy.shape, out.source                           # doctest: +SKIP
    ((1797, 2), 'model')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay.errors import AssayError, InputError, ParameterError
from assay.evaluation.embeddings import (
    layout,
    method_params,
    point_columns,
    prediction_vectors,
)
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.embedding import MAX_NEIGHBOURS, cosine_neighbours
from assay.store.embeddings import map_key, read_embedding, read_map, write_embedding, write_map
from assay.store.workspace import Workspace

Progress = Callable[[str, int, int], None]
SOURCES = {
    "model": "the model's embedding output",
    "scores": "the prediction scores (the model exposes no embedding)",
}


@dataclass
class EmbeddingMap:
    """A 2-D map: ``xy`` (N, 2) float32, the ``method`` and its ``params``, the embedding's
    ``source`` ("model" or "scores"), its ``output`` name and width ``dims``; ``computed``:
    whether this call laid it out (False: from the cache)."""

    xy: np.ndarray
    method: str
    params: dict[str, Any]
    source: str
    output: str | None
    dims: int
    computed: bool = False
    notes: list[str] = field(default_factory=list)


def _model_spec_embedding(ws: Workspace, evaluation_id: int) -> tuple[int, str] | None:
    record = ws.get_evaluation(evaluation_id)
    mv = record.model_version
    if mv is None or not mv.runnable:
        return None
    spec = (mv.info or {}).get("spec") or {}
    name = spec.get("embedding")
    return (mv.id, str(name)) if name else None


def _media_items(ws: Workspace, dataset_version_id: int, n: int) -> tuple[str, list[Any]]:
    table = ws.samples_table(dataset_version_id)
    if table.num_rows != n:
        raise InputError(
            f"the dataset version has {table.num_rows} samples, the evaluation {n}: "
            "the embedding cannot be matched to them"
        )
    if "path" in table.column_names:
        paths = []
        for i in range(n):
            path = ws.media_path(dataset_version_id, i)
            if path is None:
                raise InputError(f"sample {i} has no media file to run the model on")
            paths.append(str(path))
        return "images", paths
    if "text" in table.column_names:
        return "texts", [str(t) for t in table.column("text").to_pylist()]
    raise InputError("the dataset version has neither media files nor texts to embed")


def _run_model(
    ws: Workspace,
    evaluation_id: int,
    version_id: int,
    n: int,
    progress: Progress | None,
    sandbox: Any,
) -> np.ndarray:
    from assay.runners import run_images, run_texts
    from assay.runners.embedding import EmbeddingReader

    record = ws.get_evaluation(evaluation_id)
    kind, items = _media_items(ws, record.dataset_version.id, n)
    runner = ws.load_model_runner(version_id, sandbox=sandbox)
    reader = EmbeddingReader(runner)

    def told(done: int, total: int) -> None:
        if progress is not None:
            progress("embedding", done, total)

    try:
        if kind == "images":
            out = run_images(reader, items, progress=told)
        else:
            out = run_texts(reader, items, progress=told)
    finally:
        close = getattr(runner, "close", None)
        if close is not None:  # a sandboxed worker
            close()
    if out.scores is None or out.scores.shape[0] != n:
        raise InputError("the model's embedding output did not give one row per sample")
    return np.asarray(out.scores, np.float32)


def embedding(
    ws: Workspace,
    evaluation_id: int,
    *,
    progress: Progress | None = None,
    sandbox: Any = None,
    results: Results | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The evaluation's embedding (N, D) float32 and its meta ``{source, output, dims}``:
    stored, or computed now and stored (see the module docstring). ``sandbox``: the limits of
    a sandboxed model worker (the server's), None to load the model here."""
    stored = read_embedding(ws, evaluation_id)
    if stored is not None:
        return stored
    if results is None:
        results = ws.load_results(evaluation_id)
    found = _model_spec_embedding(ws, evaluation_id)
    notes: list[str] = []
    matrix: np.ndarray | None = None
    output: str | None = None
    if found is not None:
        version_id, output = found
        matrix = _run_model(ws, evaluation_id, version_id, results.n_samples, progress, sandbox)
    if matrix is None:
        matrix = prediction_vectors(results)
        output = None
    if not np.isfinite(matrix).all():
        raise InputError("the embedding holds NaN or infinite values; no map can be drawn")
    meta = {
        "source": "model" if output else "scores",
        "output": output,
        "dims": int(matrix.shape[1]),
        "notes": notes,
    }
    write_embedding(ws, evaluation_id, matrix, meta)
    return matrix, meta


def cached_map(
    ws: Workspace, evaluation_id: int, method: str = "pca", params: dict[str, Any] | None = None
) -> EmbeddingMap | None:
    """The map if it is cached already (nothing computed), else None."""
    checked = method_params(method, params)
    stored = read_embedding(ws, evaluation_id)
    if stored is None:
        return None
    meta = stored[1]
    found = read_map(ws, evaluation_id, map_key(method, checked, _source_key(meta)))
    if found is None:
        return None
    return EmbeddingMap(
        found[0], method, checked, meta["source"], meta.get("output"), int(meta["dims"])
    )


def _source_key(meta: dict[str, Any]) -> str:
    return f"{meta.get('source')}:{meta.get('output')}:{meta.get('dims')}"


def embedding_map(
    ws: Workspace,
    evaluation_id: int,
    method: str = "pca",
    params: dict[str, Any] | None = None,
    *,
    progress: Progress | None = None,
    sandbox: Any = None,
) -> EmbeddingMap:
    """The evaluation's 2-D map by ``method`` ("pca" or "umap") with ``params`` (``seed``; UMAP
    ``n_neighbors``, ``min_dist``): cached, or laid out now and cached. ``progress(stage, done,
    total)`` hears the stages: embedding (samples run through the model), then the layout's."""
    checked = method_params(method, params)
    matrix, meta = embedding(ws, evaluation_id, progress=progress, sandbox=sandbox)
    key = map_key(method, checked, _source_key(meta))
    found = read_map(ws, evaluation_id, key)
    if found is not None:
        xy, computed = found[0], False
    else:
        xy = layout(matrix, method, checked, progress)
        write_map(ws, evaluation_id, key, xy, {"method": method, "params": checked, **meta})
        computed = True
    return EmbeddingMap(
        xy, method, checked, meta["source"], meta.get("output"), int(meta["dims"]), computed
    )


def label_error_marks(ws: Workspace, evaluation_id: int, results: Results) -> list[bool] | None:
    """Per sample whether confident learning marks it a likely label error (the ranking of
    :func:`assay.service.quality.label_issues_stored`, cached there); None where that cannot be
    told (not single-label classification, or the analysis extra missing)."""
    from assay.service.quality import label_issues_stored

    if results.task != "classification" or getattr(results, "multilabel", True):
        return None
    try:
        issues = label_issues_stored(ws, evaluation_id, results=results)
    except (AssayError, ImportError):
        return None
    marks = np.zeros(results.n_samples, bool)
    for issue in issues:
        marks[int(issue["index"])] = True
    return [bool(v) for v in marks]


def _properties(ws: Workspace, evaluation_id: int, wanted: str | None) -> tuple[list[str], Any]:
    """The names of the dataset version's cached data-quality properties (never computed here),
    and the values of ``wanted`` (None for a missing value)."""
    from assay.store.properties import read_properties

    record = ws.get_evaluation(evaluation_id)
    props = read_properties(ws, record.dataset_version.id)
    names = sorted(props.values) if props is not None else []
    if wanted is None:
        return names, None
    if props is None or wanted not in props.values:
        raise ParameterError(
            f"property: {wanted!r} is not a computed property of this dataset version"
            + (f" (computed: {', '.join(names)})" if names else " (open Data quality first)")
        )
    values = props.values[wanted]
    return names, [None if not np.isfinite(v) else round(float(v), 6) for v in values]


def map_points(
    ws: Workspace,
    evaluation_id: int,
    found: EmbeddingMap,
    at: OperatingPoint | None = None,
    *,
    prop: str | None = None,
    label_errors: bool = False,
) -> dict[str, Any]:
    """The map as columns, one entry per sample: ``x``, ``y``, ``outcome`` (codes named by
    ``outcome_names``), ``actual`` / ``predicted`` (indices into ``classes``; -1 none),
    ``confidence``, ``label_error`` (with ``label_errors``: bools, or None when it cannot be
    told; None when not asked: the first ranking of an evaluation takes seconds),
    ``property_values`` (the values of ``prop``, when asked) and ``properties`` (the names that
    can be asked: the dataset version's computed data-quality properties)."""
    results = ws.load_results(evaluation_id)
    if found.xy.shape[0] != results.n_samples:
        raise InputError("the stored map does not match the evaluation's samples")
    cols = point_columns(results, at)
    names, values = _properties(ws, evaluation_id, prop)
    xy = np.asarray(found.xy, np.float64)
    return {
        "evaluation_id": evaluation_id,
        "task": results.task,
        "method": found.method,
        "params": found.params,
        "source": found.source,
        "source_text": SOURCES[found.source]
        + (f": output {found.output!r}" if found.output else ""),
        "dims": found.dims,
        "n": int(results.n_samples),
        "classes": [str(c) for c in results.classes],
        "outcome_names": cols["outcome_names"],
        "x": np.round(xy[:, 0], 5).tolist(),
        "y": np.round(xy[:, 1], 5).tolist(),
        "outcome": cols["outcome"].tolist(),
        "actual": cols["actual"].tolist(),
        "predicted": cols["predicted"].tolist(),
        "confidence": np.round(cols["confidence"], 5).tolist(),
        "label_error": label_error_marks(ws, evaluation_id, results) if label_errors else None,
        "properties": names,
        "property": prop,
        "property_values": values,
    }


def neighbours(ws: Workspace, evaluation_id: int, index: int, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` samples nearest to sample ``index`` by cosine distance in the embedding space
    (computed first when not stored), nearest first: [{index, distance}]."""
    if isinstance(k, bool) or not 1 <= k <= MAX_NEIGHBOURS:
        raise ParameterError(f"k: must be in 1..{MAX_NEIGHBOURS}, got {k!r}")
    matrix, _meta = embedding(ws, evaluation_id)
    idx, dist = cosine_neighbours(matrix, index, k)
    return [
        {"index": int(i), "distance": round(float(d), 6)}
        for i, d in zip(idx.tolist(), dist.tolist(), strict=True)
    ]


def write_map_csv(found: EmbeddingMap, points: dict[str, Any], path: Any) -> None:
    """The map as a CSV: index, x, y, outcome, actual, predicted, confidence."""
    import csv

    classes: Sequence[str] = points["classes"]
    names = points["outcome_names"]

    def name(i: int) -> str:
        return classes[i] if i >= 0 else ""

    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["index", "x", "y", "outcome", "actual", "predicted", "confidence"])
        for i in range(points["n"]):
            out.writerow([
                i,
                points["x"][i],
                points["y"][i],
                names[points["outcome"][i]],
                name(points["actual"][i]),
                name(points["predicted"][i]),
                points["confidence"][i],
            ])  # fmt: skip
