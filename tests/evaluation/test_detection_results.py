"""DetectionResults: the Results interface, JSON-safe answers, persistence round trip, the image
feed's box counts, and evaluate_files on image folders."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import InputError, ParameterError
from assay.evaluation.detection import DetectionResults, evaluate_detections
from assay.evaluation.dispatch import results_from_arrays
from assay.evaluation.results import OperatingPoint as At
from assay.evaluation.results import Results
from assay.evaluation.run import evaluate_files
from assay.evaluation.vocabulary import DETECTION_SORTS, NOT_AN_OBJECT, NOT_DETECTED

COCO = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
AT = At(iou=0.5, score=0.3)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> tuple[Path, Path]:
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_images=30, seed=3)


@pytest.fixture(scope="module")
def res(shapes) -> DetectionResults:
    return evaluate_detections(*shapes)


def _json_safe(x: Any) -> None:
    """Plain JSON types only, no NaN / inf."""
    if isinstance(x, dict):
        assert all(isinstance(k, str) for k in x)
        for v in x.values():
            _json_safe(v)
    elif isinstance(x, list):
        for v in x:
            _json_safe(v)
    elif isinstance(x, float):
        assert math.isfinite(x)
    else:
        assert x is None or type(x) in (str, int, bool), type(x)


def test_shapes_is_deterministic(tmp_path: Path, shapes) -> None:
    g, d = make_shapes_dataset(tmp_path, n_images=30, seed=3)
    assert g.read_bytes() == shapes[0].read_bytes() and d.read_bytes() == shapes[1].read_bytes()
    gt = orjson.loads(g.read_bytes())
    assert any(a["iscrowd"] for a in gt["annotations"])
    assert {"file_name", "width", "height"} <= set(gt["images"][0])


def test_is_a_results_and_every_answer_is_json_safe(res: DetectionResults) -> None:
    assert isinstance(res, Results) and res.task == "detection"
    assert res.n_samples == 30 and res.n_classes == 3 == len(res.classes)
    # no confidence given: the F1-optimal one at the IoU, and the summary says so
    best = res.optimal("f1", At(iou=0.5))
    assert res.point() == At(iou=0.5, score=best["score"]) and best["score"] > 0
    assert res.summary()["f1"] == best["value"] and res.summary()["point_rule"] == "f1_optimal"
    at75 = res.point(At(iou=0.75))
    assert at75.score == res.optimal("f1", At(iou=0.75))["score"]
    assert res.point(At(threshold=0.9, score=0.2)) == At(iou=0.5, score=0.2)
    assert res.summary(At(score=0.2))["point_rule"] == "given"
    res.intervals(n=20)
    answers = [
        res.summary(AT),
        res.per_class(AT),
        res.confusion(AT),
        res.confusion(AT, normalize="true", top=2),
        res.samples(AT, actual="circle", predicted=NOT_DETECTED),
        res.samples(AT, label="square", outcome="fp", errors_only=True, sort="fp"),
        res.sample(3, AT),
        res.optimal("recall", AT),
        res.curve("pr", "square", At(iou=0.75)),
        res.headline(),
        res.intervals(n=20, at=AT),
        res.report(AT),
    ]
    for answer in answers:
        _json_safe(answer)
        json.dumps(answer, allow_nan=False)
    assert res.folds(AT) is None


def test_summary_and_per_class(res: DetectionResults) -> None:
    s = res.summary(AT)
    assert [k for k in s if k in COCO] == COCO
    assert s["task"] == "detection" and (s["iou"], s["score"]) == (0.5, 0.3)
    assert 0.2 < s["AP50"] <= 1.0 and s["APl"] is None  # no large box: pycocotools says -1
    assert s["macro_over"] == {"AP": 3} and s["n_samples"] == 30
    assert s["precision"] == pytest.approx(s["tp"] / (s["tp"] + s["fp"]))
    assert res.summary(At(iou=0.5, score=0.9))["tp"] < s["tp"]
    assert res.summary(At(iou=0.7, score=0.3))["AP"] == s["AP"]  # threshold-free
    table = res.per_class(AT)
    rows = table["items"]
    assert [r["label"] for r in rows] == res.classes
    assert list(rows[0]) == [
        "label", "AP", "AP50", "AP75", "AR100", "APs", "APm", "APl",
        "total_labeled", "total_predicted", "tp", "fp", "fn", "precision", "recall", "f1",
    ]  # fmt: skip
    assert sum(r["tp"] for r in rows) == s["tp"] and sum(r["fn"] for r in rows) == s["fn"]
    gt = orjson.loads(Path(res.gt.source).read_bytes())
    dt = orjson.loads(Path(res.dt.source).read_bytes())
    names = {c["id"]: c["name"] for c in gt["categories"]}
    for r in rows:
        labeled = [
            a
            for a in gt["annotations"]
            if names[a["category_id"]] == r["label"] and not a["iscrowd"]
        ]
        predicted = [d for d in dt if names[d["category_id"]] == r["label"] and d["score"] >= 0.3]
        assert r["total_labeled"] == len(labeled) == r["tp"] + r["fn"]
        assert r["total_predicted"] == len(predicted) >= r["tp"] + r["fp"]


def test_confusion(res: DetectionResults) -> None:
    cm = res.confusion(AT)
    assert cm["unit"] == "boxes" and cm["normalize"] is None and cm["n_classes"] == 3
    assert cm["rows"] == [*res.classes, NOT_AN_OBJECT]
    assert cm["columns"] == [*res.classes, NOT_DETECTED]
    assert cm["matrix"] == cm["counts"]
    pairs = cm["most_confused"]
    assert pairs and all(p["actual"] != p["predicted"] for p in pairs)
    assert [p["count"] for p in pairs] == sorted((p["count"] for p in pairs), reverse=True)
    counts = np.array(cm["counts"])
    assert pairs[0]["count"] == max(
        counts[i, j] for i in range(4) for j in range(4) if i != j or i == 3
    )
    rows = res.confusion(AT, normalize="true")["matrix"]
    for row, c in zip(rows, counts, strict=True):
        assert row == ([None] * 4 if c.sum() == 0 else pytest.approx((c / c.sum()).tolist()))
    top = res.confusion(AT, top=1)
    assert len(top["rows"]) == 2 and top["rows"][-1] == NOT_AN_OBJECT and top["top"] == 1
    assert top["columns"][-1] == NOT_DETECTED
    with pytest.raises(ParameterError, match="^normalize"):
        res.confusion(AT, normalize="probability")
    with pytest.raises(ParameterError, match="^top"):
        res.confusion(AT, top=0)


def test_n_boxes_equals_the_confusion_cell(res: DetectionResults) -> None:
    for at in (AT, At(iou=0.3, score=0.0), At(iou=0.75, score=0.6)):
        cm = res.confusion(at)
        counts = cm["counts"]
        seen_more_boxes_than_images = False
        for i, actual in enumerate(cm["rows"]):
            for j, predicted in enumerate(cm["columns"]):
                feed = res.samples(at, actual=actual, predicted=predicted, limit=500)
                assert feed["n_boxes"] == counts[i][j]
                assert feed["total"] <= feed["n_boxes"]
                assert (feed["total"] > 0) == (counts[i][j] > 0)
                seen_more_boxes_than_images |= feed["n_boxes"] > feed["total"]
        assert res.samples(at, actual=res.classes[0])["n_boxes"] == sum(counts[0])
    assert seen_more_boxes_than_images  # the case of "18 boxes in 17 images"
    assert res.samples(AT)["n_boxes"] is None


def test_samples_carry_boxes_at_the_point(res: DetectionResults) -> None:
    feed = res.samples(AT, actual="circle", predicted=NOT_DETECTED, limit=5)
    assert feed["total"] >= len(feed["items"]) and len(feed["items"]) <= 5
    item = feed["items"][0]
    assert isinstance(item["id"], str) and item == res.sample(item["index"], AT)
    assert any(b["status"] == "fn" and b["label"] == "circle" for b in item["boxes"])
    for b in item["boxes"]:
        if b["match"] is not None:
            assert item["boxes"][b["match"]]["kind"] != b["kind"]
        if b["kind"] == "pred":
            assert b["score"] >= 0.3
    for it in res.samples(AT, limit=500)["items"]:
        status = [b["status"] for b in it["boxes"] if b["kind"] == "pred"]
        assert it["tp"] == status.count("tp")
    with pytest.raises(ParameterError, match="^index"):
        res.sample(30)


def test_samples_sorting_paging_and_filters(res: DetectionResults) -> None:
    full = res.samples(limit=1000)
    assert full["total"] == 30 and full["task"] == "detection"
    assert res.samples(offset=5, limit=5)["items"] == full["items"][5:10]
    by_index = res.samples(sort="index", limit=1000)["items"]
    assert [x["index"] for x in by_index] == list(range(30))
    for key in DETECTION_SORTS[1:4]:
        values = [x[key] for x in res.samples(AT, sort=key, limit=1000)["items"]]
        assert values == sorted(values, reverse=True)
    with pytest.raises(ParameterError, match="^sort"):
        res.samples(sort="confusion")
    with pytest.raises(ParameterError, match="^outcome"):
        res.samples(outcome="tp")
    with pytest.raises(ParameterError, match="^actual"):
        res.samples(actual="hexagon")
    with pytest.raises(ParameterError, match="^predicted"):
        res.samples(predicted=NOT_AN_OBJECT)
    fp = res.samples(AT, label="square", outcome="fp", limit=1000)["items"]
    assert fp and all(
        any(b["label"] == "square" and b["status"] in ("fp", "misclassified") for b in x["boxes"])
        for x in fp
    )


def test_optimal_curve_headline_intervals(res: DetectionResults) -> None:
    opt = res.optimal()
    assert opt["metric"] == "f1" and 0 < opt["value"] <= 1 and opt["iou"] == 0.5
    assert res.summary(At(iou=0.5, score=opt["score"]))["f1"] == pytest.approx(opt["value"])
    with pytest.raises(ParameterError, match="^metric"):
        res.optimal("accuracy")
    curve = res.curve("pr", "circle", At(iou=0.75))
    assert curve["kind"] == "pr" and curve["iou"] == 0.75 and "ap" not in curve
    assert len(curve["recall"]) == len(curve["precision"]) == 101
    assert res.curve("pr")["label"] == res.classes[0]
    rows = {r["label"]: r for r in res.per_class()["items"]}
    assert res.curve("pr", "circle")["average_precision"] == pytest.approx(rows["circle"]["AP50"])
    with pytest.raises(ParameterError, match="^iou"):
        res.curve("pr", "circle", At(iou=0.52))
    with pytest.raises(ParameterError, match="^label"):
        res.curve("pr", "hexagon")
    with pytest.raises(ParameterError, match="^kind"):
        res.curve("roc", "circle")
    assert res.headline() == {"metric": "AP", "label": "mAP", "value": res.summary()["AP"]}
    iv = res.intervals(n=50, seed=2, at=AT)
    s = res.summary(AT)
    assert set(iv) == {"AP", "AP50", "precision", "recall", "f1"} <= set(s)
    for key, v in iv.items():
        assert v is not None and v["low"] <= s[key] + 0.05 and s[key] - 0.05 <= v["high"]
    assert res.report(AT)["intervals"] == iv


def test_report(res: DetectionResults) -> None:
    rep = res.report(AT)
    assert set(rep) == {
        "task", "classes", "iou", "score", "summary", "per_class", "confusion", "optimal",
        "intervals", "folds", "extra",
    }  # fmt: skip
    assert rep["summary"] == res.summary(AT) and rep["confusion"] == res.confusion(AT)
    assert rep["extra"]["voc_11"]["AP50"] is not None
    assert rep["extra"]["coco_101"]["AP"] == pytest.approx(rep["summary"]["AP"])


def test_from_arrays_round_trip(res: DetectionResults, tmp_path: Path) -> None:
    arrays, meta = res.arrays()
    assert meta["task"] == "detection"
    np.savez(tmp_path / "a.npz", **arrays)
    meta = orjson.loads(orjson.dumps(meta))
    with np.load(tmp_path / "a.npz") as f:
        back = results_from_arrays(dict(f), meta)
    assert isinstance(back, DetectionResults)
    at = At(iou=0.6, score=0.2)
    assert {**back.report(at), "intervals": None} == {**res.report(at), "intervals": None}
    assert back.samples(AT, errors_only=True) == res.samples(AT, errors_only=True)
    assert back.sample(3, At(iou=0.5, score=0.4)) == res.sample(3, At(iou=0.5, score=0.4))
    assert back.intervals(n=20) == res.intervals(n=20)
    a2, m2 = back.arrays()
    assert m2 == meta and all(np.array_equal(a2[k], arrays[k]) for k in arrays)


# ---------------------------------------------------------------- evaluate_files and --images


def _coco_with_subfolder(tmp_path: Path) -> tuple[Path, Path]:
    """The shapes set rewritten as COCO's layout: annotations/instances.json whose file_names
    hold ``val2017/``, and the images under images/val2017/."""
    g, d = make_shapes_dataset(tmp_path / "src", n_images=6, seed=1)
    gt = orjson.loads(g.read_bytes())
    (tmp_path / "images" / "val2017").mkdir(parents=True)
    for im in gt["images"]:
        name = Path(im["file_name"]).name
        (g.parent / im["file_name"]).rename(tmp_path / "images" / "val2017" / name)
        im["file_name"] = f"val2017/{name}"
    (tmp_path / "annotations").mkdir()
    gt_path = tmp_path / "annotations" / "instances.json"
    gt_path.write_bytes(orjson.dumps(gt))
    return gt_path, d


@pytest.mark.parametrize("folder", ["images/val2017", "images"])
def test_images_found_when_file_name_has_a_subfolder(tmp_path: Path, folder: str) -> None:
    gt_path, dt_path = _coco_with_subfolder(tmp_path)
    run = evaluate_files(gt_path, dt_path, images_root=tmp_path / folder)
    assert run.notes == [f"found 6 of 6 image files under {tmp_path / folder}"]
    paths = run.samples.column("path").to_pylist()
    assert paths == [
        str(tmp_path / "images" / "val2017" / Path(n).name)
        for n in run.samples.column("file_name").to_pylist()
    ]
    assert all(Path(p).is_file() for p in paths)
    assert run.results.summary()["n_samples"] == 6


def test_no_image_under_the_named_folder_is_an_error(tmp_path: Path) -> None:
    gt_path, dt_path = _coco_with_subfolder(tmp_path)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(InputError) as err:
        evaluate_files(gt_path, dt_path, images_root=empty)
    message = str(err.value)
    assert str(empty) in message and "\n" not in message and "6 images" in message
    with pytest.raises(InputError, match="no such folder"):
        evaluate_files(gt_path, dt_path, images_root=tmp_path / "missing")
    run = evaluate_files(gt_path, dt_path)  # no --images: a note, not an error
    assert run.notes == [f"found 0 of 6 image files under {tmp_path / 'annotations'}"]
    assert run.samples.column("path").to_pylist() == [None] * 6


def test_optimal_points_kept_per_iou_are_bounded(shapes) -> None:
    from assay.evaluation.detection import MAX_KEPT_OPTIMA

    det = evaluate_detections(*shapes)
    first = det.optimal("f1", At(iou=0.3))
    for i in range(1, MAX_KEPT_OPTIMA + 40):
        det.optimal("f1", At(iou=0.3 + i / 1000))
    assert len(det._optimal) == MAX_KEPT_OPTIMA
    # an evicted point is computed again, to the same answer
    assert det.optimal("f1", At(iou=0.3)) == first


def test_a_stored_point_is_the_default_and_survives_arrays(res: DetectionResults) -> None:
    """A detection evaluated at --iou 0.6 --score 0.3 answers there by default, and so does its
    copy rebuilt from the stored arrays; with no score the F1-optimal one at 0.6."""
    from assay.evaluation.dispatch import results_from_arrays

    arrays, meta = res.arrays()
    copy = results_from_arrays(arrays, {**meta, "point": {"iou": 0.6, "score": 0.3}})
    assert copy.point() == At(iou=0.6, score=0.3) and copy.default_point() == {
        "iou": 0.6,
        "score": 0.3,
    }
    assert copy.summary()["point_rule"] == "given" and copy.summary()["iou"] == 0.6
    free = results_from_arrays(arrays, {**meta, "point": {"iou": 0.6}})
    assert free.point().score == free.optimal("f1", At(iou=0.6))["score"]
    free.set_default_point(At(score=0.25))
    assert free.point() == At(iou=0.6, score=0.25)


def test_intervals_are_corrected_half_samples_and_basic_intervals(res: DetectionResults) -> None:
    """AP and AP50: the half-sample interval with its nested-quarter correction; precision,
    recall and F1: the basic interval of the ordinary resamples."""
    from assay.metrics.detection.protocols import (
        bootstrap_ap_replicates,
        corrected_halves,
        half_sample_interval,
        half_sample_weights,
        nested_quarter_weights,
    )
    from assay.metrics.stats import percentile_intervals

    g = res.gt
    args = (res.matches, g.labels, g.image, res.dt.image, g.n_images, len(res.classes))
    names, est, reps = bootstrap_ap_replicates(
        *args, n=40, seed=3, counts=res.image_counts(res.point(AT))
    )
    s = res.summary(AT)
    for j, key in enumerate(names):  # the estimate (every image once) is the summary's
        assert est[j] == pytest.approx(s[key], abs=1e-12), key
    expected = percentile_intervals(
        {k: reps[:, j] for j, k in enumerate(names)},
        {k: float(est[j]) for j, k in enumerate(names)},
        method="basic",
    )
    w = half_sample_weights(g.n_images, 40, 3)
    q1, q2 = nested_quarter_weights(w, 4)
    halves, r1, r2 = (bootstrap_ap_replicates(*args, weights=x)[2] for x in (w, q1, q2))
    for j, key in enumerate(("AP", "AP50")):
        c = corrected_halves(halves[:, j], r1[:, j], r2[:, j])
        expected[key] = half_sample_interval(halves[:, j], float(est[j]), g.n_images, corrected=c)
        plain = half_sample_interval(halves[:, j], float(est[j]), g.n_images)
        assert expected[key]["high"] - expected[key]["low"] >= plain["high"] - plain["low"]
    assert res.intervals(n=40, seed=3, at=AT) == expected


def test_the_half_sample_reading_is_its_own_method(res: DetectionResults) -> None:
    from assay.metrics.detection.protocols import (
        bootstrap_ap,
        bootstrap_ap_replicates,
        half_sample_interval,
        half_sample_weights,
    )

    g = res.gt
    args = (res.matches, g.labels, g.image, res.dt.image, g.n_images, len(res.classes))
    counts = res.image_counts(res.point(AT))
    half = bootstrap_ap(*args, n=40, seed=3, counts=counts, method="half")
    basic = bootstrap_ap(*args, n=40, seed=3, counts=counts, method="basic")
    _, est, halves = bootstrap_ap_replicates(*args, weights=half_sample_weights(g.n_images, 40, 3))
    for j, key in enumerate(("AP", "AP50")):
        assert half[key] == half_sample_interval(halves[:, j], float(est[j]), g.n_images)
    for key in ("precision", "recall", "f1"):  # these stay the ordinary resamples' basic ones
        assert half[key] == basic[key]
    with pytest.raises(ValueError, match="unknown method"):
        bootstrap_ap(*args, n=5, method="bca")


def test_intervals_rechoose_the_f1_optimal_confidence_in_each_resample(
    res: DetectionResults,
) -> None:
    """At the F1-optimal point (the default), P / R / F1 come from resamples that each choose
    their own confidence: wider for F1 than with the confidence held fixed, which treats a
    choice made on these images as given."""
    from assay.metrics.detection.protocols import bootstrap_ap

    p = res.point()
    assert res.point_rule() == "f1_optimal"
    free = res.intervals(n=100, seed=1)
    g = res.gt
    fixed = bootstrap_ap(res.matches, g.labels, g.image, res.dt.image, g.n_images, len(res.classes),
                         n=100, seed=1, counts=res.image_counts(p))  # fmt: skip
    assert fixed["AP"] == free["AP"]
    s = res.summary()
    for key in ("precision", "recall", "f1"):
        assert free[key]["low"] <= s[key] <= free[key]["high"]
    # the point moves, and precision with it (equal detectors compared at their own optimal
    # confidences held fixed were called different on precision in 11.5 % of pairs)
    wide = {k: v["precision"]["high"] - v["precision"]["low"] for k, v in (("free", free),
                                                                           ("fixed", fixed))}  # fmt: skip
    assert wide["free"] > 1.2 * wide["fixed"]


def test_default_intervals_cover_the_population_map_where_others_do_not() -> None:
    """Seeded simulation (tests/_simulate.py's detector, 150 images, 60 datasets): AP is biased
    upward at this size by ~0.6 SD; the percentile interval carries the bias twice, the basic
    one removes about half of it, the corrected half-sample interval (the default) all of it:
    its centre's mean over the datasets sits near the population value, and it covers."""
    from assay.metrics.detection.protocols import bootstrap_ap
    from tests import _simulate as sim

    pops = []
    for s in (4242, 4243):
        rng = np.random.default_rng(s)
        big = sim.detection_truth(10_000, rng)
        pops.append(
            evaluate_detections(
                sim.coco_truth(big), sim.coco_detections(sim.detections(big, rng))
            ).summary()["AP"]
        )
    pop = float(np.mean(pops))
    hits = {"default": 0, "basic": 0, "percentile": 0}
    centre = {"default": [], "basic": [], "estimate": []}
    runs = 60
    for d in range(runs):
        rng = np.random.default_rng([7, d])
        truth = sim.detection_truth(150, rng)
        r = evaluate_detections(
            sim.coco_truth(truth), sim.coco_detections(sim.detections(truth, rng))
        )
        default = r.intervals(n=100, seed=d)["AP"]
        hits["default"] += default["low"] <= pop <= default["high"]
        g = r.gt
        basic = bootstrap_ap(r.matches, g.labels, g.image, r.dt.image, g.n_images,
                             len(r.classes), n=100, seed=d, method="basic")["AP"]  # fmt: skip
        hits["basic"] += basic["low"] <= pop <= basic["high"]
        _, est, reps = bootstrap_ap_replicates_for(r, d)
        lo, hi = np.quantile(reps, [0.025, 0.975])
        hits["percentile"] += lo <= pop <= hi
        assert basic["low"] <= est <= basic["high"]
        centre["default"].append((default["low"] + default["high"]) / 2)
        centre["basic"].append((basic["low"] + basic["high"]) / 2)
        centre["estimate"].append(est)
    assert hits["default"] / runs >= 0.92
    assert hits["percentile"] < hits["basic"] - 3
    bias = {k: float(np.mean(v)) - pop for k, v in centre.items()}
    assert bias["estimate"] > 0.006  # the estimate's own upward bias
    assert abs(bias["default"]) < 0.004 < bias["basic"]


def bootstrap_ap_replicates_for(r: DetectionResults, seed: int):
    from assay.metrics.detection.protocols import bootstrap_ap_replicates

    g = r.gt
    names, est, reps = bootstrap_ap_replicates(
        r.matches, g.labels, g.image, r.dt.image, g.n_images, len(r.classes), n=100, seed=seed
    )
    return names, float(est[0]), reps[:, 0]


def test_outcomes_and_replicates_on_given_resamples(res: DetectionResults) -> None:
    """outcomes(at): an image is right with no false positive and no missed box; replicate_ap
    on weights of one gives the evaluation's own AP table, and with a key the same resamples
    are computed once."""
    at = res.point(At(iou=0.5, score=0.3))
    _, fp, fn = res.image_counts(at)
    assert np.array_equal(res.outcomes(at), (np.asarray(fp) == 0) & (np.asarray(fn) == 0))
    ones = np.ones((2, res.n_samples))
    table = res.replicate_ap(ones)
    ap = np.nanmean(table[0])
    assert ap == pytest.approx(res.summary()["AP"])
    w = np.random.default_rng(0).integers(0, 3, (3, res.n_samples)).astype(float)
    first = res.replicate_ap(w, ("test", 3))
    assert res.replicate_ap(w * 0, ("test", 3)) is first or np.array_equal(
        res.replicate_ap(w * 0, ("test", 3)), first
    )  # the key names the resamples: the kept table comes back
    assert np.array_equal(first, res.replicate_ap(w), equal_nan=True)
