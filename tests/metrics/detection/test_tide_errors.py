"""TIDE error types against the tidecv reference on seeded sets with every type present."""

from __future__ import annotations

import os
import sys
import types

import numpy as np
import pytest

from assay.metrics.detection.errors import ERROR_TYPES, TideErrors, tide_errors

try:  # tidecv imports OpenCV only to draw; without its system libraries (libGL) a stand-in does
    import cv2  # noqa: F401
except ImportError:
    sys.modules["cv2"] = types.SimpleNamespace(FONT_HERSHEY_SIMPLEX=0, LINE_AA=16)  # type: ignore[assignment]
if os.environ.get("CI"):
    import tidecv  # noqa: F401  # CI installs the dev extra: the oracle must run there
tidecv = pytest.importorskip("tidecv")


def make_set(seed: int, n_images: int = 30, n_classes: int = 4) -> dict[str, np.ndarray]:
    """Ground truth and detections with every error type planted: matches, jittered boxes,
    wrong classes, duplicates, loose wrong-class boxes, background boxes, missed boxes, crowd
    regions, an image without ground truth and ties among the scores."""
    rng = np.random.default_rng(seed)
    gtb, gtl, gti, gtc = [], [], [], []
    dtb, dtl, dts, dti = [], [], [], []
    for im in range(n_images):
        n = 0 if im == 3 else int(rng.integers(1, 6))
        for _ in range(n):
            box = np.r_[rng.uniform(0, 200, 2), rng.uniform(10, 60, 2)]
            c = int(rng.integers(0, n_classes - 1))  # the last class has no ground truth
            crowd = rng.random() < 0.08
            gtb.append(box)
            gtl.append(c)
            gti.append(im)
            gtc.append(crowd)
            r = rng.random()
            w, h = box[2], box[3]
            if r < 0.35:  # a match, sometimes with a duplicate
                dtb.append(box + rng.normal(0, 1, 4) * [1, 1, 0.5, 0.5])
                dtl.append(c)
                if rng.random() < 0.3:
                    dtb.append(box + [w * 0.1, 0, 0, 0])
                    dtl.append(c)
            elif r < 0.5:  # localisation
                dtb.append(box + [w * 0.45, h * 0.3, 0, 0])
                dtl.append(c)
            elif r < 0.65:  # classification
                dtb.append(box + [w * 0.05, 0, 0, 0])
                dtl.append((c + 1 + int(rng.integers(0, n_classes - 1))) % n_classes)
            elif r < 0.75:  # both
                dtb.append(box + [w * 0.5, h * 0.3, 0, 0])
                dtl.append((c + 1) % n_classes)
            # else: missed
        for _ in range(int(rng.integers(0, 3))):  # background
            dtb.append(np.r_[rng.uniform(300, 500, 2), rng.uniform(5, 30, 2)])
            dtl.append(int(rng.integers(0, n_classes)))
        while len(dti) < len(dtb):
            dti.append(im)
    nd = len(dtb)
    dts = np.round(rng.uniform(0.05, 1, nd), 2)  # rounded: ties occur, as in COCO results
    perm = rng.permutation(nd)
    return {
        "gt_boxes": np.array(gtb).reshape(-1, 4),
        "gt_labels": np.array(gtl, np.int64),
        "gt_image": np.array(gti, np.int64),
        "gt_crowd": np.array(gtc, bool),
        "dt_boxes": np.array(dtb).reshape(-1, 4)[perm],
        "dt_labels": np.array(dtl, np.int64)[perm],
        "dt_scores": dts,
        "dt_image": np.array(dti, np.int64)[perm],
        "n_images": np.int64(n_images),
        "n_classes": np.int64(n_classes),
    }


def ours(s: dict[str, np.ndarray]) -> TideErrors:
    return tide_errors(
        s["gt_boxes"],
        s["gt_labels"],
        s["gt_image"],
        s["gt_crowd"],
        s["dt_boxes"],
        s["dt_labels"],
        s["dt_scores"],
        s["dt_image"],
        n_images=int(s["n_images"]),
        n_classes=int(s["n_classes"]),
    )


def reference(s: dict[str, np.ndarray]) -> dict[str, object]:
    """tidecv on the same set: counts, dAP, the special dAP and each class's AP before and after."""
    from tidecv import TIDE, Data
    from tidecv.errors.qualifiers import Qualifier

    gt = Data("gt")
    for im in range(int(s["n_images"])):
        gt.add_image(im, f"{im}.jpg")
    for c in range(int(s["n_classes"])):
        gt.add_class(c, str(c))
    for b, c, im, cr in zip(
        s["gt_boxes"], s["gt_labels"], s["gt_image"], s["gt_crowd"], strict=True
    ):
        if cr:
            gt.add_ignore_region(int(im), int(c), list(map(float, b)))
        else:
            gt.add_ground_truth(int(im), int(c), list(map(float, b)))
    dt = Data("dt")
    for b, c, sc, im in zip(
        s["dt_boxes"], s["dt_labels"], s["dt_scores"], s["dt_image"], strict=True
    ):
        dt.add_detection(int(im), int(c), float(sc), list(map(float, b)))
    run = TIDE().evaluate(gt, dt, mode=TIDE.BOX)
    counts = run.count_errors()
    main = run.fix_main_errors()
    special = run.fix_special_errors()
    types = TIDE._error_types
    class_ap = {c: o.get_ap() for c, o in run.ap_data.objs.items()}
    fixed = {}
    for t in types:
        d = run.fix_errors(Qualifier("", None)._make_error_func(t))
        fixed[t.short_name] = {c: o.get_ap() for c, o in d.objs.items() if not o.is_empty()}
    return {
        "counts": [counts[t] for t in types],
        "dap": [main[t] for t in types],
        "special": [special[t] for t in TIDE._special_error_types],
        "ap": run.ap,
        "class_ap": class_ap,
        "fixed": fixed,
        "names": [t.short_name for t in types],
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_counts_and_dap_equal_tidecv(seed: int) -> None:
    s = make_set(seed)
    r, ref = ours(s), reference(s)
    assert r.counts.tolist() == ref["counts"]
    assert (r.counts > 0).all(), "every type is planted"
    assert r.ap == pytest.approx(ref["ap"], abs=1e-9)
    np.testing.assert_allclose(r.dap, ref["dap"], atol=1e-9)
    np.testing.assert_allclose(r.special, ref["special"], atol=1e-9)
    for c, ap in ref["class_ap"].items():  # type: ignore[attr-defined]
        assert r.class_ap[c] == pytest.approx(ap, abs=1e-9)
    for i, name in enumerate(ref["names"]):  # type: ignore[arg-type]
        for c in range(int(s["n_classes"])):
            after = ref["fixed"][name].get(c, 0.0)  # type: ignore[index]
            want = max(after - ref["class_ap"].get(c, 0.0), 0.0)  # type: ignore[attr-defined]
            assert r.class_dap[c, i] == pytest.approx(want, abs=1e-9), (name, c)
    assert r.class_counts.sum(axis=0).tolist() == r.counts.tolist()


def test_no_predictions_everything_missed() -> None:
    s = make_set(5)
    for k in ("dt_boxes", "dt_labels", "dt_scores", "dt_image"):
        s[k] = s[k][:0]
    r = ours(s)
    ref = reference_counts_only(s)
    assert r.counts.tolist() == ref
    assert r.counts[ERROR_TYPES.index("miss")] == int((~s["gt_crowd"]).sum())
    assert r.ap == 0.0
    # fixing every miss leaves no class to score: tidecv divides by zero there, we give back 0
    assert r.dap.tolist() == [0.0] * 6


def reference_counts_only(s: dict[str, np.ndarray]) -> list[int]:
    from tidecv import TIDE, Data

    gt = Data("gt")
    for im in range(int(s["n_images"])):
        gt.add_image(im, f"{im}.jpg")
    for b, c, im, cr in zip(
        s["gt_boxes"], s["gt_labels"], s["gt_image"], s["gt_crowd"], strict=True
    ):
        if cr:
            gt.add_ignore_region(int(im), int(c), list(map(float, b)))
        else:
            gt.add_ground_truth(int(im), int(c), list(map(float, b)))
    dt = Data("dt")
    for b, c, sc, im in zip(
        s["dt_boxes"], s["dt_labels"], s["dt_scores"], s["dt_image"], strict=True
    ):
        dt.add_detection(int(im), int(c), float(sc), list(map(float, b)))
    run = TIDE().evaluate(gt, dt, mode=TIDE.BOX)
    counts = run.count_errors()
    return [counts[t] for t in TIDE._error_types]


def test_a_class_without_predictions_and_an_image_without_ground_truth() -> None:
    s = make_set(6)
    drop = s["dt_labels"] != 1
    for k in ("dt_boxes", "dt_labels", "dt_scores", "dt_image"):
        s[k] = s[k][drop]
    assert 3 not in s["gt_image"].tolist() and 3 in s["dt_image"].tolist()
    r, ref = ours(s), reference(s)
    assert r.counts.tolist() == ref["counts"]
    np.testing.assert_allclose(r.dap, ref["dap"], atol=1e-9)
    np.testing.assert_allclose(r.special, ref["special"], atol=1e-9)
    assert r.class_ap[1] == 0.0 and r.class_counts[1, ERROR_TYPES.index("miss")] > 0


def test_max_dets_limits_each_image() -> None:
    gt = np.array([[0.0, 0, 10, 10]])
    dt = np.tile([0.0, 0, 10, 10], (5, 1))
    r = tide_errors(
        gt,
        [0],
        [0],
        [False],
        dt,
        [0] * 5,
        [0.9, 0.8, 0.7, 0.6, 0.5],
        [0] * 5,
        n_images=1,
        n_classes=1,
        max_dets=3,
    )
    assert r.dt_kind.tolist() == [0, 4, 4, -1, -1]
    assert r.counts.tolist() == [0, 0, 0, 2, 0, 0]
    assert r.ap == pytest.approx(100.0)
