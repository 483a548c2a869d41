"""Agreement of two stored runs, labels ignored: kappa against scikit-learn, the flip matrix
against a count by hand, the per-sample table (rank, filters, sort, paging), both models'
scores of one sample, and detection's boxes per image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import cohen_kappa_score

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.detection import evaluate_detections
from assay.service.agreement import (
    agreement_image,
    agreement_sample,
    agreement_samples,
    agreement_stored,
)
from assay.store import Workspace

N = 300
CLASSES = ["cat", "dog", "fox", "owl"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A parent and a child that differs on ~20 % of 300 samples; B's rows stored in another
    order and its columns in another class order (matched by id and name)."""
    tmp = tmp_path_factory.mktemp("agreement")
    rng = np.random.default_rng(7)
    ids = [f"s{i}" for i in range(N)]
    sa = rng.dirichlet(np.ones(4) * 0.6, N)
    sb = np.clip(sa + rng.normal(0, 0.15, sa.shape), 1e-3, None)
    sb /= sb.sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, N)  # labels exist but agreement ignores them
    ws = Workspace(tmp / "home")
    dv = ws.add_dataset_version("pics", task="classification", samples=pa.table({"id": ids}))
    ra = ClassificationResults(y, sa, CLASSES, sample_ids=ids)
    perm = rng.permutation(N)
    cols = [2, 0, 3, 1]
    rb = ClassificationResults(
        y[perm], sb[perm][:, cols], [CLASSES[c] for c in cols], sample_ids=[ids[i] for i in perm]
    )
    a = ws.save_evaluation(ra, name="fp32", dataset_version_id=dv.id)
    b = ws.save_evaluation(rb, name="int8", dataset_version_id=dv.id)
    other = ws.add_dataset_version(
        "other", task="classification", samples=pa.table({"id": ids[:10]})
    )
    c = ws.save_evaluation(
        ClassificationResults(y[:10], sa[:10], CLASSES, sample_ids=ids[:10]),
        name="elsewhere",
        dataset_version_id=other.id,
    )
    return {"ws": ws, "a": a.id, "b": b.id, "c": c.id, "sa": sa, "sb": sb}


def test_agreement_kappa_and_flips_match_sklearn_and_a_hand_count(runs: dict[str, Any]) -> None:
    ws, sa, sb = runs["ws"], runs["sa"], runs["sb"]
    out = agreement_stored(ws, runs["a"], runs["b"])
    pa_, pb_ = sa.argmax(axis=1), sb.argmax(axis=1)
    assert out["n_samples"] == N and out["classes"] == CLASSES
    assert out["agreement"] == pytest.approx(float((pa_ == pb_).mean()))
    assert 0.5 < out["agreement"] < 0.95  # the fixture makes real flips
    assert out["low"] < out["agreement"] < out["high"]
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(pa_, pb_), abs=1e-12)
    flips = np.zeros((4, 4), int)
    np.add.at(flips, (pa_, pb_), 1)
    assert out["flip"]["counts"] == flips.tolist()
    at = np.arange(N)
    assert out["mean_confidence_change"] == pytest.approx(float((sb[at, pa_] - sa[at, pa_]).mean()))
    assert out["mean_abs_confidence_change"] == pytest.approx(
        float(np.abs(sb[at, pa_] - sa[at, pa_]).mean())
    )
    assert out["a"]["name"] == "fp32" and out["b"]["name"] == "int8"


def test_the_per_sample_table_filters_sorts_and_ranks(runs: dict[str, Any]) -> None:
    ws, sa, sb = runs["ws"], runs["sa"], runs["sb"]
    pa_, pb_ = sa.argmax(axis=1), sb.argmax(axis=1)
    cell = agreement_samples(
        ws, runs["a"], runs["b"], predicted_a="cat", predicted_b="dog", limit=500
    )
    assert cell["total"] == int(((pa_ == 0) & (pb_ == 1)).sum()) > 0
    assert {(r["predicted_a"], r["predicted_b"]) for r in cell["items"]} == {("cat", "dog")}
    changed = agreement_samples(ws, runs["a"], runs["b"], changed=True, limit=500)
    assert changed["total"] == int((pa_ != pb_).sum())
    assert all(r["rank"] > 1 for r in changed["items"])
    same = agreement_samples(ws, runs["a"], runs["b"], changed=False, limit=500)
    assert same["total"] + changed["total"] == N and all(r["rank"] == 1 for r in same["items"])
    for row in changed["items"][:20]:
        i = row["index"]
        ranks = 1 + int((sb[i] > sb[i, pa_[i]]).sum())
        assert row["rank"] == ranks and row["id"] == f"s{i}"
        assert row["confidence_a"] == pytest.approx(sa[i].max())
        assert row["confidence_b"] == pytest.approx(sb[i].max())
        assert row["change"] == pytest.approx(sb[i, pa_[i]] - sa[i, pa_[i]])
    by_distance = agreement_samples(ws, runs["a"], runs["b"], limit=50)
    d = [r["distance"] for r in by_distance["items"]]
    assert d == sorted(d, reverse=True)
    up = agreement_samples(ws, runs["a"], runs["b"], sort="confidence_b", descending=False)
    c = [r["confidence_b"] for r in up["items"]]
    assert c == sorted(c)
    page2 = agreement_samples(ws, runs["a"], runs["b"], sort="index", descending=False, offset=50)
    assert [r["index"] for r in page2["items"]] == list(range(50, 100))
    found = agreement_samples(ws, runs["a"], runs["b"], search="s29")
    assert {r["id"] for r in found["items"]} == {"s29", *(f"s29{k}" for k in range(10))}


def test_one_sample_opens_both_models_scores(runs: dict[str, Any]) -> None:
    ws, sa, sb = runs["ws"], runs["sa"], runs["sb"]
    one = agreement_sample(ws, runs["a"], runs["b"], 17)
    by = {s["label"]: (s["a"], s["b"]) for s in one["scores"]}
    assert by == {c: pytest.approx((sa[17, k], sb[17, k])) for k, c in enumerate(CLASSES)}
    assert one["scores"][0]["a"] == pytest.approx(sa[17].max())


def test_one_line_refusals(runs: dict[str, Any]) -> None:
    ws = runs["ws"]
    with pytest.raises(InputError, match="same data"):
        agreement_stored(ws, runs["a"], runs["c"])
    with pytest.raises(InputError, match="same evaluation"):
        agreement_stored(ws, runs["a"], runs["a"])
    with pytest.raises(ParameterError, match="sort"):
        agreement_samples(ws, runs["a"], runs["b"], sort="nope")
    with pytest.raises(ParameterError, match="no class"):
        agreement_samples(ws, runs["a"], runs["b"], predicted_a="zebra")
    with pytest.raises(ParameterError, match="index"):
        agreement_sample(ws, runs["a"], runs["b"], N)
    with pytest.raises(InputError, match="detection"):
        agreement_image(ws, runs["a"], runs["b"], 0)


def _coco(tmp: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    images = [{"id": i + 1, "file_name": f"{i}.png", "width": 100, "height": 80} for i in range(3)]
    cats = [{"id": 1, "name": "car"}, {"id": 2, "name": "bus"}]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400,
         "iscrowd": 0},
    ]  # fmt: skip
    gt = {"images": images, "categories": cats, "annotations": anns}

    def det(image: int, cat: int, box: list[float], score: float) -> dict[str, Any]:
        return {"image_id": image, "category_id": cat, "bbox": box, "score": score}

    a = [det(1, 1, [10, 10, 20, 20], 0.9), det(1, 2, [50, 40, 20, 20], 0.8),
         det(2, 1, [0, 0, 30, 30], 0.7), det(3, 2, [5, 5, 10, 10], 0.6)]  # fmt: skip
    b = [det(1, 1, [11, 10, 20, 20], 0.85), det(1, 1, [50, 41, 20, 20], 0.75),
         det(2, 2, [60, 50, 10, 10], 0.5)]  # fmt: skip
    return gt, a, b


def test_detection_agreement_and_each_images_boxes(tmp_path: Path) -> None:
    gt, a, b = _coco(tmp_path)
    ws = Workspace(tmp_path / "home")
    dv = ws.add_dataset_version(
        "boxes", task="detection", samples=pa.table({"id": ["1", "2", "3"]})
    )
    ea = ws.save_evaluation(evaluate_detections(gt, a), name="a", dataset_version_id=dv.id)
    eb = ws.save_evaluation(evaluate_detections(gt, b), name="b", dataset_version_id=dv.id)
    out = agreement_stored(ws, ea.id, eb.id, iou=0.5)
    assert (out["boxes_a"], out["boxes_b"], out["matched"]) == (4, 3, 2)
    assert (out["agreed"], out["class_flips"], out["only_a"], out["only_b"]) == (1, 1, 2, 1)
    assert out["agreement"] == pytest.approx(1 / 5)
    one = agreement_image(ws, ea.id, eb.id, 0, iou=0.5)
    assert [x["status"] for x in one["boxes_a"]] == ["agreed", "flip"]
    assert [x["status"] for x in one["boxes_b"]] == ["agreed", "flip"]
    assert one["boxes_b"][1]["partner"] == 1 and one["boxes_b"][1]["iou"] > 0.8
    assert one["counts"] == {"agreed": 1, "flip": 1, "only_a": 0, "only_b": 0}
    two = agreement_image(ws, ea.id, eb.id, 1)
    assert [x["status"] for x in two["boxes_a"] + two["boxes_b"]] == ["only_a", "only_b"]
    with pytest.raises(InputError, match="single-label"):
        agreement_samples(ws, ea.id, eb.id)
