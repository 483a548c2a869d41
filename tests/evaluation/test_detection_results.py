"""DetectionResults: API shapes, persistence round trip, the shapes demo set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import ParameterError
from assay.evaluation.detection import DetectionResults, evaluate_detections


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> tuple[Path, Path]:
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_images=30, seed=3)


def test_shapes_is_deterministic(tmp_path: Path, shapes) -> None:
    g, d = make_shapes_dataset(tmp_path, n_images=30, seed=3)
    assert g.read_bytes() == shapes[0].read_bytes() and d.read_bytes() == shapes[1].read_bytes()
    gt = orjson.loads(g.read_bytes())
    assert any(a["iscrowd"] for a in gt["annotations"])
    assert {"file_name", "width", "height"} <= set(gt["images"][0])


def test_api_shapes(shapes) -> None:
    res = evaluate_detections(*shapes)
    stats = res.coco_stats()
    assert list(stats) == [
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR1",
        "AR10",
        "AR100",
        "ARs",
        "ARm",
        "ARl",
    ]
    assert 0.2 < stats["AP50"] <= 1.0
    assert res.precision.shape == (10, 101, 3, 4, 3) and res.recall.shape == (10, 3, 4, 3)
    cm = res.confusion_matrix(iou=0.5, score=0.3)
    assert cm["rows"][-1] == "Not an object" and cm["columns"][-1] == "Not detected"
    assert np.array(cm["matrix"]).shape == (4, 4)
    curve = res.pr_curve("circle", iou=0.75)
    assert len(curve["recall"]) == len(curve["precision"]) == 101 and curve["iou"] == 0.75
    with pytest.raises(ParameterError):
        res.pr_curve("circle", iou=0.52)
    with pytest.raises(ParameterError):
        res.pr_curve("hexagon")
    opt = res.optimal_score()
    assert opt["metric"] == "f1" and 0 < opt["value"] <= 1
    paths = res.image_paths()
    assert all(p is not None and p.is_file() for p in paths)
    feed = res.images(actual="circle", predicted="Not detected", limit=5)
    assert feed["total"] >= len(feed["items"]) and len(feed["items"]) <= 5
    img = res.image(feed["items"][0]["index"])
    assert any(b["status"] == "fn" and b["label"] == "circle" for b in img["boxes"])
    for b in img["boxes"]:
        if b["match"] is not None:
            assert img["boxes"][b["match"]]["kind"] != b["kind"]
    rep = res.to_json(iou=0.5, score=0.3)
    assert rep["task"] == "detection" and set(rep["per_class"]["circle"]) == {
        "AP",
        "AP50",
        "AP75",
        "AR100",
    }
    orjson.dumps(rep)  # JSON-able: no NaN, no numpy scalars
    assert rep["protocols"]["voc_11"]["AP50"] is not None


def test_from_arrays_round_trip(shapes, tmp_path: Path) -> None:
    res = evaluate_detections(*shapes)
    arrays, meta = res.arrays()
    np.savez(tmp_path / "a.npz", **arrays)
    meta = orjson.loads(orjson.dumps(meta))
    with np.load(tmp_path / "a.npz") as f:
        back = DetectionResults.from_arrays(dict(f), meta)
    assert back.to_json(0.6, 0.2) == res.to_json(0.6, 0.2)
    assert back.images(0.5, 0.1, errors_only=True) == res.images(0.5, 0.1, errors_only=True)
    assert back.image(3, 0.5, 0.4) == res.image(3, 0.5, 0.4)
    assert back.bootstrap(n=20) == res.bootstrap(n=20)
    assert back.image_paths() == res.image_paths()
    a2, m2 = back.arrays()
    assert m2 == meta and all(np.array_equal(a2[k], arrays[k]) for k in arrays)


def test_images_sorting_and_paging(shapes) -> None:
    res = evaluate_detections(*shapes)
    full = res.images(limit=1000)
    assert full["total"] == 30
    page = res.images(offset=5, limit=5)
    assert page["items"] == full["items"][5:10]
    by_index = res.images(sort="index", limit=1000)["items"]
    assert [x["index"] for x in by_index] == list(range(30))
    assert res.images(sort="confusion") == res.images(sort="errors")
    with pytest.raises(ParameterError):
        res.images(sort="bogus")
