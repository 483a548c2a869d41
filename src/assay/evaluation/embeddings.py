"""The 2-D embedding map of an evaluation: what each sample's point is made from, how it is laid
out, and what each point says about its sample.

- :func:`prediction_vectors`: the stand-in embedding when the model exposes none: the score
  vector of each sample (classification), or per image the highest score of each class among its
  detections (detection; 0 for a class not detected).
- :func:`layout`: the map: ``pca`` (the first two principal components, numpy only, seconds for
  100k samples) or ``umap`` (umap-learn, the ``embed`` extra; the embedding first reduced to its
  first ``UMAP_PCA_DIMS`` principal components), deterministic for a seed.
- :func:`point_columns`: per sample, the outcome at an operating point, the actual and predicted
  class and the confidence, as the map colours them.

    >>> import numpy as np
    >>> layout(np.eye(4), "pca").shape
    (4, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from assay.errors import ParameterError
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.embedding import check_embedding, pca
from assay.runners.base import MissingExtraError

METHODS = ("pca", "umap")
UMAP_PCA_DIMS = 50
SPECTRAL_MAX = 20_000  # UMAP's spectral initialisation up to this many samples, else PCA's
# what each parameter of a method may be: (default, low, high)
UMAP_PARAMS: dict[str, tuple[float, float, float]] = {
    "n_neighbors": (15, 2, 200),
    "min_dist": (0.1, 0.0, 1.0),
}
MAX_SEED = 2**31 - 1
# outcome codes of a point
CORRECT, WRONG, BELOW = 0, 1, 2
OUTCOME_NAMES = {
    "classification": ["correct", "wrong", "below threshold"],
    "detection": ["no errors", "has errors"],
}
Progress = Callable[[str, int, int], None]


def method_params(method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A method's parameters with their defaults filled in, checked (``ParameterError``)."""
    if method not in METHODS:
        raise ParameterError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    given = dict(params or {})
    seed = given.pop("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"seed: must be an integer in 0..{MAX_SEED}, got {seed!r}")
    out: dict[str, Any] = {"seed": seed}
    allowed = UMAP_PARAMS if method == "umap" else {}
    for name in given:
        if name not in allowed:
            raise ParameterError(f"{name}: not a parameter of {method}")
    for name, (default, low, high) in allowed.items():
        value = given.get(name, default)
        is_int = isinstance(default, int)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{name}: must be a number in {low}..{high}, got {value!r}")
        if is_int and int(value) != value:
            raise ParameterError(f"{name}: must be an integer, got {value!r}")
        if not (np.isfinite(value) and low <= value <= high):
            raise ParameterError(f"{name}: must be in {low}..{high}, got {value!r}")
        out[name] = int(value) if is_int else float(value)
    return out


def prediction_vectors(results: Results) -> np.ndarray:
    """(N, C) float32: each sample's scores (classification) or, per image, each class's highest
    detection score (detection)."""
    if results.task == "detection":
        dt = results.dt  # type: ignore[attr-defined]
        out = np.zeros((results.n_samples, len(results.classes)), np.float32)
        np.maximum.at(
            out,
            (np.asarray(dt.image, np.int64), np.asarray(dt.labels, np.int64)),
            np.asarray(dt.scores, np.float32),
        )
        return out
    return np.asarray(results.y_score, np.float32)  # type: ignore[attr-defined]


def _umap(x: np.ndarray, params: dict[str, Any], progress: Progress | None) -> np.ndarray:
    try:
        import umap
    except ImportError:
        raise MissingExtraError(
            "the UMAP map needs the 'embed' extra: pip install 'assay[embed]'"
        ) from None
    n = x.shape[0]
    if x.shape[1] > UMAP_PCA_DIMS:
        if progress is not None:
            progress("reducing", 0, 1)
        x = pca(x, UMAP_PCA_DIMS, seed=params["seed"])
    if n <= 3:  # too few for a neighbour graph: the principal components are the map
        return pca(x, 2)
    if progress is not None:
        progress("laying out", 0, 1)
    reducer = umap.UMAP(
        n_components=2,
        # spectral initialisation (UMAP's default) solves an eigenproblem of the whole graph:
        # minutes for 100k samples, worse when the graph falls apart in clusters; the principal
        # components start the layout as well there, at once
        init="spectral" if n <= SPECTRAL_MAX else "pca",
        n_neighbors=min(params["n_neighbors"], n - 1),
        min_dist=params["min_dist"],
        metric="euclidean",
        random_state=params["seed"],
        n_jobs=1,
        low_memory=True,
    )
    out = reducer.fit_transform(np.ascontiguousarray(x, np.float32))
    return np.asarray(out, np.float32)


def layout(
    x: object,
    method: str = "pca",
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """The 2-D map of an embedding (N, D): (N, 2) float32, deterministic for ``params["seed"]``.
    ``progress(stage, done, total)`` is told each stage."""
    checked = method_params(method, params)
    arr = check_embedding(x)
    if method == "pca":
        if progress is not None:
            progress("projecting", 0, 1)
        return pca(arr, 2, seed=checked["seed"])
    return _umap(np.asarray(arr, np.float32), checked, progress)


def point_columns(results: Results, at: OperatingPoint | None = None) -> dict[str, Any]:
    """Per sample, at the operating point: ``outcome`` codes (classification 0 correct, 1 wrong,
    2 below threshold; detection 0 no errors, 1 has errors (a false positive or a missed box)),
    ``actual`` / ``predicted`` class indices (-1: none, below threshold; multi-label: the first
    annotated / predicted class; detection: the most frequent class among the image's boxes),
    ``confidence`` (the top score; detection: the image's highest detection score, 0 without),
    and ``outcome_names`` for the codes."""
    n = results.n_samples
    res: Any = results  # each task's results class has ``outcomes``
    if results.task == "detection":
        ok = np.asarray(res.outcomes(at), np.bool_)
        gt, dt = results.gt, results.dt  # type: ignore[attr-defined]
        k = len(results.classes)
        actual = _most_frequent(np.asarray(gt.image), np.asarray(gt.labels), n, k)
        point = results.point(at)
        keep = np.asarray(dt.scores) >= (point.score or 0.0)
        predicted = _most_frequent(np.asarray(dt.image)[keep], np.asarray(dt.labels)[keep], n, k)
        confidence = np.zeros(n, np.float64)
        np.maximum.at(confidence, np.asarray(dt.image, np.int64), np.asarray(dt.scores))
        outcome = np.where(ok, CORRECT, WRONG).astype(np.int8)
        names = OUTCOME_NAMES["detection"]
    else:
        ok = np.asarray(res.outcomes(at), np.bool_)
        pred = np.asarray(results.predictions(at))  # type: ignore[attr-defined]
        y = np.asarray(results.y_true)  # type: ignore[attr-defined]
        scores = np.asarray(results.y_score)  # type: ignore[attr-defined]
        if pred.ndim == 2:  # multi-label
            actual = np.where(y.any(axis=1), np.argmax(y, axis=1), -1)
            predicted = np.where(pred.any(axis=1), np.argmax(pred, axis=1), -1)
            below = ~pred.any(axis=1) & ~ok
        else:
            actual, predicted = y.astype(np.int64), pred.astype(np.int64)
            below = predicted < 0
        confidence = scores.max(axis=1) if scores.shape[1] else np.zeros(n)
        outcome = np.where(ok, CORRECT, np.where(below, BELOW, WRONG)).astype(np.int8)
        names = OUTCOME_NAMES["classification"]
    return {
        "outcome": outcome,
        "actual": np.asarray(actual, np.int64),
        "predicted": np.asarray(predicted, np.int64),
        "confidence": np.asarray(confidence, np.float64),
        "outcome_names": names,
    }


def _most_frequent(image: np.ndarray, labels: np.ndarray, n: int, k: int) -> np.ndarray:
    """Per image, its most frequent class among ``labels`` (ties to the first), -1 for none."""
    if k == 0 or image.size == 0:
        return np.full(n, -1, np.int64)
    counts = np.zeros((n, k), np.int64)
    np.add.at(counts, (image.astype(np.int64), labels.astype(np.int64)), 1)
    return np.where(counts.any(axis=1), np.argmax(counts, axis=1), -1)
