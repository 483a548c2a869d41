"""The store with the real results classes: what is loaded answers exactly as what was saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from assay.errors import InputError
from assay.evaluation.classification import ClassificationResults, evaluate_classification
from assay.evaluation.detection import DetectionResults, evaluate_detections
from assay.evaluation.results import OperatingPoint
from assay.store import Workspace


def _dataset(ws: Workspace, n: int, task: str = "classification") -> int:
    ids = [f"s{i}" for i in range(n)]
    return ws.add_dataset_version(f"d-{task}-{n}", task=task, samples=pa.table({"id": ids})).id


def test_classification_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 300
    ids = np.array([f"s{i}" for i in range(n)], dtype=object)  # as the readers give them
    res = evaluate_classification(
        rng.integers(0, 4, n), rng.dirichlet(np.ones(4), n), classes=list("abcd"),
        threshold=0.4, sample_ids=ids, folds=rng.integers(0, 3, n),
    )  # fmt: skip
    ws = Workspace(tmp_path)
    record = ws.save_evaluation(
        res, task="classification", name="clf", dataset_version_id=_dataset(ws, n), params={}
    )
    assert record.headline_metric == "roc_auc_macro"
    assert record.headline_value == res.summary()["roc_auc_macro"]
    assert (record.n_samples, record.n_classes) == (n, 4)
    loaded = Workspace(tmp_path).load_results(record.id)
    assert isinstance(loaded, ClassificationResults)
    assert loaded.summary() == res.summary()
    assert record.summary == res.summary() and record.task == loaded.task == "classification"
    for t in (0.0, 0.3, 0.9):
        at = OperatingPoint(threshold=t)
        assert loaded.per_class(at) == res.per_class(at)
        assert loaded.confusion(at) == res.confusion(at)
    assert loaded.samples(limit=5) == res.samples(limit=5)
    assert loaded.sample(7)["id"] == "s7"
    assert loaded.folds() == res.folds()


def test_multilabel_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 80
    res = evaluate_classification(
        rng.random((n, 3)) < 0.3, rng.random((n, 3)), classes=["x", "y", "z"], multilabel=True
    )
    ws = Workspace(tmp_path)
    record = ws.save_evaluation(
        res, task="classification", name="ml", dataset_version_id=_dataset(ws, n), params={}
    )
    assert record.task == "multilabel"
    loaded = Workspace(tmp_path).load_results(record.id)
    assert loaded.task == "multilabel" and loaded.summary() == res.summary()
    assert loaded.confusion(OperatingPoint(threshold=0.5)) == res.confusion(
        OperatingPoint(threshold=0.5)
    )


def test_detection_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    images = [{"id": i + 1, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in range(6)]
    annotations, detections = [], []
    for i in range(6):
        for _ in range(4):
            x, y, w, h = (float(v) for v in rng.uniform([0, 0, 5, 5], [60, 60, 30, 30]))
            c = int(rng.integers(1, 3))
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i + 1, "category_id": c,
                 "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0}
            )  # fmt: skip
            detections.append(
                {"image_id": i + 1, "category_id": c if rng.random() < 0.8 else 3 - c,
                 "bbox": [x + 1, y, w, h], "score": float(rng.random())}
            )  # fmt: skip
    gt = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }
    res = evaluate_detections(gt, detections)
    ws = Workspace(tmp_path)
    record = ws.save_evaluation(
        res, task="detection", name="det", dataset_version_id=_dataset(ws, 6, "detection"),
        params={},
    )  # fmt: skip
    assert record.headline_metric == "AP"
    assert record.headline_value == res.summary()["AP"] == res.headline()["value"]
    assert record.summary == res.summary()
    assert (record.n_samples, record.n_classes) == (6, 2)
    loaded = Workspace(tmp_path).load_results(record.id)
    assert isinstance(loaded, DetectionResults)
    assert loaded.summary() == res.summary()
    for iou, score in ((0.5, 0.0), (0.75, 0.5)):
        at = OperatingPoint(iou=iou, score=score)
        assert loaded.confusion(at) == res.confusion(at)
        assert loaded.summary(at) == res.summary(at)
    at = OperatingPoint(iou=0.5, score=0.1)
    assert loaded.sample(2, at) == res.sample(2, at)


def test_a_task_that_disagrees_with_the_results_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    res = evaluate_classification(rng.integers(0, 2, 10), rng.random((10, 2)), classes=["a", "b"])
    ws = Workspace(tmp_path)
    with pytest.raises(InputError, match="does not match"):
        ws.save_evaluation(res, task="detection", name="x", dataset_version_id=_dataset(ws, 10))
    record = ws.save_evaluation(res, name="x", dataset_version_id=_dataset(ws, 10))
    assert record.task == "classification"
