"""What each point of the embedding map says (outcome, classes, confidence) for every task, the
stand-in embedding without a model output (the prediction vectors), and the map's parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.embeddings import (
    BELOW,
    CORRECT,
    WRONG,
    layout,
    method_params,
    point_columns,
    prediction_vectors,
)
from assay.evaluation.results import OperatingPoint


def test_single_label_points() -> None:
    scores = np.array([[0.9, 0.1], [0.4, 0.6], [0.55, 0.45], [0.2, 0.8]])
    res = ClassificationResults([0, 0, 0, 1], scores, ["a", "b"])
    cols = point_columns(res, OperatingPoint(threshold=0.58))
    assert cols["outcome"].tolist() == [CORRECT, WRONG, BELOW, CORRECT]
    assert cols["actual"].tolist() == [0, 0, 0, 1]
    assert cols["predicted"].tolist() == [0, 1, -1, 1]
    np.testing.assert_allclose(cols["confidence"], [0.9, 0.6, 0.55, 0.8])
    assert cols["outcome_names"] == ["correct", "wrong", "below threshold"]
    np.testing.assert_array_equal(prediction_vectors(res), scores.astype(np.float32))


def test_multilabel_points() -> None:
    y = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]], bool)
    s = np.array([[0.9, 0.1, 0.8], [0.7, 0.2, 0.1], [0.1, 0.2, 0.3]])
    res = ClassificationResults(y, s, ["a", "b", "c"], multilabel=True)
    cols = point_columns(res, OperatingPoint(threshold=0.5))
    assert cols["outcome"].tolist() == [CORRECT, WRONG, BELOW]
    assert cols["actual"].tolist() == [0, 1, 2]
    assert cols["predicted"].tolist() == [0, 0, -1]


def test_detection_points_per_image(tmp_path: Path) -> None:
    gt, dt = make_shapes_dataset(tmp_path, n_images=12, seed=3)
    res = evaluate_detections(gt, dt)
    at = OperatingPoint(iou=0.5, score=0.3)
    cols = point_columns(res, at)
    n = res.n_samples
    assert len(cols["outcome"]) == n == 12
    _, fp, fn = res.image_counts(at)
    assert cols["outcome"].tolist() == [
        WRONG if f or m else CORRECT for f, m in zip(fp, fn, strict=True)
    ]
    vectors = prediction_vectors(res)
    assert vectors.shape == (n, len(res.classes))
    # the highest box score of each image is its confidence and the max of its vector
    np.testing.assert_allclose(vectors.max(axis=1), cols["confidence"], atol=1e-6)
    assert cols["outcome_names"] == ["no errors", "has errors"]


def test_layout_and_parameters() -> None:
    x = np.random.default_rng(0).standard_normal((50, 7))
    xy = layout(x, "pca")
    assert xy.shape == (50, 2) and xy.dtype == np.float32
    np.testing.assert_array_equal(xy, layout(x, "pca", {"seed": 0}))
    assert method_params("umap") == {"seed": 0, "n_neighbors": 15, "min_dist": 0.1}
    assert method_params("umap", {"min_dist": 0, "seed": 4})["min_dist"] == 0.0
    for bad in ({"n_neighbors": 1}, {"n_neighbors": 2.5}, {"min_dist": float("nan")},
                {"seed": -1}, {"seed": True}, {"perplexity": 30}):  # fmt: skip
        with pytest.raises(ParameterError):
            method_params("umap", bad)
    with pytest.raises(ParameterError, match="method"):
        layout(x, "tsne")
    with pytest.raises(InputError, match="NaN"):
        layout(np.array([[0.0, np.inf], [1.0, 2.0]]), "pca")
