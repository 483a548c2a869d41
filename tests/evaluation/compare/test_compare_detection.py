"""Comparing two detection evaluations of the same images: identical predictions give zero
differences that are not significant, a planted loss (half of one class's boxes dropped) is
found in that class and not in the others, the per-IoU and per-image rows add up, and other data
is refused. The paired replicates at weight one are exactly COCO's AP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import InputError
from assay.evaluation.compare import compare
from assay.evaluation.detection import DetectionResults, evaluate_detections
from assay.evaluation.results import OperatingPoint
from assay.metrics.detection.protocols import protocol_ap, replicate_ap

AT = OperatingPoint(iou=0.5, score=0.3)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("detcompare")
    gt, dets = make_shapes_dataset(root, n_images=80, seed=3)
    data = json.loads(Path(dets).read_text())
    first = min(d["category_id"] for d in data)
    worse = [d for i, d in enumerate(data) if not (d["category_id"] == first and i % 2 == 0)]
    (root / "worse.json").write_text(json.dumps(worse))
    return Path(gt), Path(dets), root / "worse.json"


def _row(out: dict, key: str) -> dict:
    return next(r for r in out["metrics"] if r["metric"] == key)


def test_replicates_at_weight_one_are_cocos_ap(pair) -> None:
    r: DetectionResults = evaluate_detections(pair[0], pair[1])
    k = len(r.classes)
    w = np.ones((2, r.n_samples))
    rep = replicate_ap(r.matches, r.gt.labels, r.gt.image, r.dt.image, w, k)
    coco = protocol_ap(r.matches, r.gt.labels, r.gt.image, r.dt.image, r.n_samples, k, "coco_101")
    np.testing.assert_allclose(rep[0], coco, equal_nan=True)
    np.testing.assert_allclose(rep[1], coco, equal_nan=True)
    summary = r.summary(AT)
    assert np.nanmean(coco) == pytest.approx(summary["AP"])


def test_identical_predictions_show_no_difference(pair) -> None:
    a = evaluate_detections(pair[0], pair[1])
    b = evaluate_detections(pair[0], pair[1])
    out = compare(a, b, at_a=AT, at_b=AT, n=100)
    assert out["task"] == "detection"
    for row in out["metrics"]:
        assert row["delta"] == 0 and not row["significant"], row
    assert all(not r["significant"] for r in out["per_class"])
    assert out["images"]["same"] == a.n_samples and out["images"]["changed"] == []
    assert all(v == 0 for row in out["confusion"]["difference"] for v in row)
    assert all(v.startswith("No significant difference") for v in out["verdicts"])


def test_a_planted_loss_is_found_in_its_class(pair) -> None:
    a = evaluate_detections(pair[0], pair[1])
    b = evaluate_detections(pair[0], pair[2])
    out = compare(a, b, at_a=AT, at_b=AT, n=200)
    ap, recall = _row(out, "AP"), _row(out, "recall")
    assert ap["delta"] < 0 and ap["significant"] and ap["high"] < 0
    assert ap["a"] == pytest.approx(a.summary(AT)["AP"]) and ap["b"] == pytest.approx(
        b.summary(AT)["AP"]
    )
    assert recall["delta"] < 0 and recall["significant"]
    assert out["verdicts"][0].startswith("B is worse on mAP (.50:.95): -")
    rows = {r["label"]: r for r in out["per_class"]}
    hit = rows[a.classes[0]]
    assert hit["ap_delta"] < 0 and hit["significant"] and hit["p_holm"] >= hit["p_value"]
    for name in a.classes[1:]:
        assert rows[name]["ap_delta"] == 0 and not rows[name]["significant"]
    assert out["per_iou"][0]["iou"] == 0.5 and out["per_iou"][0]["delta"] == pytest.approx(
        _row(out, "AP50")["delta"]
    )
    assert len(out["per_iou"]) == 10
    im = out["images"]
    assert im["worse"] > 0 and im["worse_images"][0]["errors_delta"] > 0
    assert im["better"] + im["worse"] <= a.n_samples - im["same"]
    for r in im["changed"]:
        assert (r["tp_a"], r["fp_a"], r["fn_a"]) != (r["tp_b"], r["fp_b"], r["fn_b"])
        assert r["errors_delta"] == r["fp_b"] + r["fn_b"] - r["fp_a"] - r["fn_a"]
    diff = np.array(out["confusion"]["difference"])
    expected = np.array(b.confusion(AT)["counts"]) - np.array(a.confusion(AT)["counts"])
    assert (diff == expected).all() and diff[0, -1] > 0  # more missed boxes of the first class


def test_other_images_or_tasks_are_refused(pair, tmp_path: Path) -> None:
    a = evaluate_detections(pair[0], pair[1])
    gt2, dets2 = make_shapes_dataset(tmp_path, n_images=20, seed=5)
    other = evaluate_detections(gt2, dets2)
    with pytest.raises(InputError, match="not the same data"):
        compare(a, other)
    from assay.evaluation.classification import ClassificationResults

    y = np.array([0, 1])
    c = ClassificationResults(y, np.array([[0.9, 0.1], [0.2, 0.8]]), classes=["x", "y"])
    with pytest.raises(InputError, match="one task"):
        compare(a, c)


def test_the_quick_answer_and_another_point_reuse_the_replicates(pair) -> None:
    a = evaluate_detections(pair[0], pair[1])
    b = evaluate_detections(pair[0], pair[2])
    quick = compare(a, b, at_a=AT, at_b=AT, intervals=False)
    full = compare(a, b, at_a=AT, at_b=AT, n=100)
    assert quick["n_resamples"] == 0 and full["n_resamples"] == 100
    for q, f in zip(quick["metrics"], full["metrics"], strict=True):
        assert q["delta"] == f["delta"] and q["low"] is None and q["p_value"] is None
    assert quick["verdicts"][0].startswith("B − A on mAP (.50:.95): -")
    other = OperatingPoint(iou=0.5, score=0.6)
    moved = compare(a, b, at_a=other, at_b=other, n=100)
    assert [r["delta"] for r in moved["per_iou"]] == [r["delta"] for r in full["per_iou"]]
    assert _row(moved, "AP")["low"] == _row(full, "AP")["low"]  # AP does not move with the point
    assert _row(moved, "precision")["a"] != _row(full, "precision")["a"]


def _synthetic(seed: int, images: int, classes: int, p_a: float, p_b: float) -> tuple:
    """Two detectors of one synthetic ground truth: each finds a box with probability p_a /
    p_b (jittered, scored by how well it fits), plus a few false positives."""
    rng = np.random.default_rng(seed)
    imgs = [{"id": i + 1, "file_name": f"{i}.jpg", "width": 640, "height": 480}
            for i in range(images)]  # fmt: skip
    anns = []
    for i in range(images):
        for k in range(classes):
            if rng.random() < 0.5:
                x, y, w, h = (float(v) for v in rng.uniform((0, 0, 30, 30), (500, 350, 130, 120)))
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": k + 1,
                             "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})  # fmt: skip
    gt = {"images": imgs, "annotations": anns,
          "categories": [{"id": k + 1, "name": f"k{k}"} for k in range(classes)]}  # fmt: skip

    def detector(p: float) -> list[dict]:
        out = []
        for a in anns:
            if rng.random() < p:
                x, y, w, h = a["bbox"]
                j = rng.normal(0, 0.05, 4)
                out.append({"image_id": a["image_id"], "category_id": a["category_id"],
                            "bbox": [float(x + j[0] * w), float(y + j[1] * h), float(w), float(h)],
                            "score": float(np.clip(0.9 - np.abs(j).sum(), 0.05, 1))})  # fmt: skip
        for i in range(images):
            out.append({"image_id": i + 1, "category_id": int(rng.integers(1, classes + 1)),
                        "bbox": [float(v) for v in rng.uniform((0, 0, 30, 30), (500, 350, 130, 120))],
                        "score": float(rng.uniform(0.05, 0.6))})  # fmt: skip
        return out

    return evaluate_detections(gt, detector(p_a)), evaluate_detections(gt, detector(p_b))


def test_twelve_classes_each_clearly_better_are_all_significant_after_holm() -> None:
    """With the default 200 resamples a bootstrap p could not go below 1/201, so Holm over 12
    classes never marked one; the z-test's p can: every class is significant, and every row's
    interval excludes 0 exactly when its p < 0.05 (headline, per class, per IoU)."""
    a, b = _synthetic(1, 120, 12, 0.55, 0.9)
    out = compare(a, b, at_a=AT, at_b=AT)
    assert out["n_resamples"] == 200 and len(out["per_class"]) == 12
    for r in out["per_class"]:
        assert r["ap_delta"] > 0.2 and r["significant"], r
        assert r["p_value"] < 0.05 / 12 and r["p_mc"] is not None
    for rows in (out["metrics"], out["per_class"], out["per_iou"]):
        for r in rows:
            if r["p_value"] is not None and r["low"] is not None:
                assert (r["p_value"] < 0.05) == (r["low"] > 0 or r["high"] < 0), r
    assert out["family"]["primary"] == "AP" and _row(out, "AP")["primary"]


def test_a_borderline_verdict_moves_with_the_seed_only_within_its_stated_error() -> None:
    """A pair whose mAP difference is near p = 0.05: across seeds the p-values spread about as
    the stated Monte-Carlo error says, and a seed that gives the other verdict is one whose p is
    within a few of those errors of 0.05."""
    a, b = _synthetic(22, 60, 3, 0.7, 0.8)  # p = 0.055 at seed 0
    ps, mcs = [], []
    for seed in range(12):
        row = _row(compare(a, b, at_a=AT, at_b=AT, seed=seed), "AP")
        ps.append(row["p_value"])
        mcs.append(row["p_mc"])
    p, mc = np.array(ps), float(np.mean(mcs))
    assert p.min() > 0.02 and p.max() < 0.1  # borderline indeed
    assert np.std(p, ddof=1) < 2.5 * mc
    majority = np.median(p) < 0.05
    for x in p[(p < 0.05) != majority]:
        assert abs(x - 0.05) < 4 * mc, (p, mc)
