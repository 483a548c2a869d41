"""The weakest slices of stored evaluations (assay.service.slices): a planted slice of a table's
metadata found first, a slice's samples, detection by per-image F1, the refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from assay.errors import NotFoundError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.detection import evaluate_detections
from assay.service.slices import slice_samples, slices_stored
from assay.store import Workspace

N = 3000
CLASSES = ["a", "b", "c"]


def planted_workspace(home: Path, n: int = N, seed: int = 0) -> tuple[Workspace, int, np.ndarray]:
    """A table of n samples with metadata: source (a / b / c), brightness, 6 noise columns; the
    model is right 85 % of the time, 60 % where source == b and brightness < its 25th
    percentile. Returns the workspace, the evaluation id and the weak rows."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["a", "b", "c"], n)
    brightness = rng.random(n)
    weak = (source == "b") & (brightness < np.quantile(brightness, 0.25))
    right = rng.random(n) < np.where(weak, 0.6, 0.85)
    y = rng.integers(0, 3, n)
    pred = np.where(right, y, (y + 1) % 3)
    scores = np.full((n, 3), 0.1)
    scores[np.arange(n), pred] = 0.8
    columns: dict[str, Any] = {"id": [f"r{i}" for i in range(n)], "source": source.tolist(),
                               "brightness": brightness}  # fmt: skip
    for k in range(6):
        columns[f"noise{k}"] = rng.random(n)
    ws = Workspace(home)
    dv = ws.add_dataset_version("table", task="classification", samples=pa.table(columns))
    res = ClassificationResults(y, scores, CLASSES, sample_ids=columns["id"])
    rec = ws.save_evaluation(res, name="m", dataset_version_id=dv.id)
    return ws, rec.id, weak


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, int, np.ndarray]:
    return planted_workspace(tmp_path_factory.mktemp("slices") / "home")


def test_planted_slice_first(planted: tuple[Workspace, int, np.ndarray]) -> None:
    ws, eid, weak = planted
    out = slices_stored(ws, eid)
    json.dumps(out, allow_nan=False)
    assert out["metric"] == "accuracy" and out["n_samples"] == N and out["min_size"] == 30
    assert out["point"] == {"threshold": 0.0}
    first = out["slices"][0]
    assert {c["column"] for c in first["conditions"]} == {"source", "brightness"}
    assert first["n"] == int(weak.sum()) and first["significant"] and first["index"] == 0
    assert first["n_wrong"] == round(first["n"] * (1 - first["metric"]))
    assert "source == b" in first["description"]
    assert out["n_family"] >= out["n_tried"] > 0
    assert set(out["columns"]) >= {"source", "brightness", "noise0"}
    again = slices_stored(ws, eid)
    assert again is out  # kept


def test_slice_samples_are_the_slice(planted: tuple[Workspace, int, np.ndarray]) -> None:
    ws, eid, weak = planted
    page = slice_samples(ws, eid, 0, limit=500)
    assert page["total"] == int(weak.sum())
    assert {it["index"] for it in page["items"]} <= set(np.flatnonzero(weak).tolist())
    outcomes = [it["outcome"] for it in page["items"]]
    wrong = outcomes.count("incorrect")
    assert wrong == page["slice"]["n_wrong"]
    assert outcomes[:wrong] == ["incorrect"] * wrong  # the wrong ones first
    assert page["items"][0]["id"].startswith("r")
    assert slice_samples(ws, eid, 0, offset=10, limit=5)["items"] == page["items"][10:15]


def test_refusals(planted: tuple[Workspace, int, np.ndarray]) -> None:
    ws, eid, _ = planted
    for kwargs in ({"min_size": -1}, {"min_size": 10**9}, {"max_conditions": 0}, {"top": 0}):
        with pytest.raises(ParameterError):
            slices_stored(ws, eid, **kwargs)
    with pytest.raises(ParameterError, match="no slice"):
        slice_samples(ws, eid, 10_000)
    with pytest.raises(NotFoundError):
        slices_stored(ws, 999)


def test_detection_slices_by_image_f1(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 600
    rain = rng.random(n) < 0.3
    images, anns, dets = [], [], []
    for i in range(n):
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": 100, "height": 100})
        for k in range(2):
            box = [5.0 + 40 * k, 5.0, 30.0, 30.0]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "bbox": box,
                         "area": 900.0, "iscrowd": 0})  # fmt: skip
            if not (rain[i] and k == 1 and rng.random() < 0.8):  # rain hides the second box
                dets.append({"image_id": i + 1, "category_id": 1, "bbox": box, "score": 0.9})
    gt = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "car"}]}
    res = evaluate_detections(gt, dets)
    samples = pa.table({"id": [str(i + 1) for i in range(n)],
                        "file_name": [f"{i}.png" for i in range(n)],
                        "weather": np.where(rain, "rain", "sun").tolist()})  # fmt: skip
    ws = Workspace(tmp_path / "home")
    dv = ws.add_dataset_version("cars", task="detection", samples=samples)
    rec = ws.save_evaluation(res, name="det", dataset_version_id=dv.id)
    out = slices_stored(ws, rec.id)
    json.dumps(out, allow_nan=False)
    assert out["metric"] == "f1" and set(out["point"]) == {"iou", "score"}
    first = out["slices"][0]
    assert first["description"] == "weather == rain" and first["significant"]
    assert first["n_wrong"] is None and first["low"] < first["metric"] < first["high"] < 1
    assert first["rest"] == pytest.approx(1.0)
    page = slice_samples(ws, rec.id, 0, limit=3)
    assert page["total"] == int(rain.sum())
    assert all(it["fn"] == 1 and it["outcome"] == "incorrect" for it in page["items"])
