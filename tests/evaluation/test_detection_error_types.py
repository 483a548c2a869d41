"""``DetectionResults.error_types()``: TIDE's breakdown of a stored evaluation, against tidecv."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import ParameterError
from assay.evaluation.detection import DetectionResults, evaluate_detections

try:  # tidecv imports OpenCV only to draw; without its system libraries (libGL) a stand-in does
    import cv2  # noqa: F401
except ImportError:
    sys.modules["cv2"] = types.SimpleNamespace(FONT_HERSHEY_SIMPLEX=0, LINE_AA=16)  # type: ignore[assignment]
if os.environ.get("CI"):
    import tidecv  # noqa: F401  # CI installs the dev extra: the oracle must run there
tidecv = pytest.importorskip("tidecv")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_images=40, seed=3)


def tidecv_run(gt_path: Path, dt_path: Path) -> dict[str, object]:
    """tidecv on the COCO files as they are (its own loader wants segmentations, so the same
    walk by hand: images in file order, crowd boxes as ignore regions)."""
    from tidecv import TIDE, Data

    g = json.loads(gt_path.read_text())
    gt = Data("gt")
    for im in g["images"]:
        gt.add_image(im["id"], im["file_name"])
    for c in g["categories"]:
        gt.add_class(c["id"], c["name"])
    for a in g["annotations"]:
        if a.get("iscrowd"):
            gt.add_ignore_region(a["image_id"], a["category_id"], a["bbox"])
        else:
            gt.add_ground_truth(a["image_id"], a["category_id"], a["bbox"])
    dt = Data("dt")
    for d in json.loads(dt_path.read_text()):
        dt.add_detection(d["image_id"], d["category_id"], d["score"], d["bbox"])
    run = TIDE().evaluate(gt, dt, mode=TIDE.BOX)
    counts, main, special = run.count_errors(), run.fix_main_errors(), run.fix_special_errors()
    names = {c["id"]: c["name"] for c in g["categories"]}
    return {
        "ap": run.ap,
        "counts": {t.short_name: counts[t] for t in TIDE._error_types},
        "dap": {t.short_name: main[t] for t in TIDE._error_types},
        "special": {t.short_name: special[t] for t in TIDE._special_error_types},
        "class_ap": {names[c]: o.get_ap() for c, o in run.ap_data.objs.items()},
    }


SHORT = {"cls": "Cls", "loc": "Loc", "both": "Both", "dupe": "Dupe", "bkg": "Bkg", "miss": "Miss"}


def test_equals_tidecv_on_the_demo_detector(shapes: tuple[Path, Path]) -> None:
    res = evaluate_detections(*shapes)
    out = res.error_types(per_class=True)
    ref = tidecv_run(*shapes)
    assert out["ap"] == pytest.approx(ref["ap"] / 100, abs=1e-12)  # type: ignore[operator]
    assert out["ap"] == pytest.approx(res.summary()["AP50"], abs=1e-12)
    for row in out["types"]:
        assert row["count"] == ref["counts"][SHORT[row["type"]]]  # type: ignore[index]
        want = ref["dap"][SHORT[row["type"]]] / 100  # type: ignore[index]
        assert row["dap"] == pytest.approx(want, abs=1e-12)
    assert sum(r["count"] > 0 for r in out["types"]) >= 5
    fp, fn = out["special"]
    assert fp["dap"] == pytest.approx(ref["special"]["FalsePos"] / 100, abs=1e-12)  # type: ignore[index]
    assert fn["dap"] == pytest.approx(ref["special"]["FalseNeg"] / 100, abs=1e-12)  # type: ignore[index]
    for row in out["classes"]:
        assert row["ap"] == pytest.approx(ref["class_ap"][row["label"]] / 100, abs=1e-12)  # type: ignore[index]
    totals = {t: sum(c["counts"][t] for c in out["classes"]) for t in SHORT}
    assert totals == {r["type"]: r["count"] for r in out["types"]}


def test_one_class_cached_and_reloaded(shapes: tuple[Path, Path]) -> None:
    res = evaluate_detections(*shapes)
    one = res.error_types("square")
    assert [c["label"] for c in one["classes"]] == ["square"]
    assert res.error_types()["classes"] is None
    assert res._tide(0.5, 0.1) is res._tide(0.5, 0.1)  # computed once per evaluation
    arrays, meta = res.arrays()
    again = DetectionResults.from_arrays(arrays, meta).error_types("square")
    assert again == one
    stricter = res.error_types(iou=0.75)
    assert stricter["iou"] == 0.75
    loc = next(r for r in stricter["types"] if r["type"] == "loc")["count"]
    assert loc >= next(r for r in one["types"] if r["type"] == "loc")["count"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label": "unicorn"}, "unknown label"),
        ({"iou": 1.5}, "iou"),
        ({"iou": float("nan")}, "iou"),
        ({"background_iou": 0.6}, "background_iou"),
        ({"background_iou": 0.0}, "background_iou"),
    ],
)
def test_bad_parameters_are_one_line_errors(
    shapes: tuple[Path, Path], kwargs: dict[str, object], match: str
) -> None:
    res = evaluate_detections(*shapes)
    with pytest.raises(ParameterError, match=match):
        res.error_types(**kwargs)  # type: ignore[arg-type]


def test_no_detections_everything_missed(shapes: tuple[Path, Path]) -> None:
    res = evaluate_detections(shapes[0], [])
    out = res.error_types(per_class=True)
    counts = {r["type"]: r["count"] for r in out["types"]}
    n_boxes = int((~np.asarray(res.gt.iscrowd)).sum())
    assert counts == {"cls": 0, "loc": 0, "both": 0, "dupe": 0, "bkg": 0, "miss": n_boxes}
    assert out["ap"] == 0.0


def test_error_images_add_up_to_the_counts(shapes: tuple[Path, Path]) -> None:
    res = evaluate_detections(*shapes)
    out = res.error_types(per_class=True)
    for row in out["types"]:
        page = res.error_images(row["type"], limit=1000)
        assert sum(i["count"] for i in page["items"]) == row["count"]
        assert page["total"] == len(page["items"])
        counts = [i["count"] for i in page["items"]]
        assert counts == sorted(counts, reverse=True)
        for c in out["classes"]:
            one = res.error_images(row["type"], c["label"], limit=1000)
            assert sum(i["count"] for i in one["items"]) == c["counts"][row["type"]]
    first = res.error_images("bkg", limit=2, offset=1)
    assert len(first["items"]) <= 2 and first["offset"] == 1
    assert first["items"][0]["file_name"] == res.gt.file_names[first["items"][0]["index"]]
    for bad in ({"error_type": "oops"}, {"error_type": "miss", "limit": -1}):
        with pytest.raises(ParameterError):
            res.error_images(**bad)  # type: ignore[arg-type]
