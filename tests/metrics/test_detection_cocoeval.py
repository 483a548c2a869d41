"""COCO evaluation against pycocotools on randomized cases (stats, precision, recall, per class)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from test_detection_cases import pycoco, random_case

from assay.evaluation.detection import evaluate_detections
from assay.metrics.detection import STAT_NAMES, iou_matrix


def _stats(res) -> list[float]:
    """The summary's 12 COCO numbers in pycocotools' order, -1 where the summary says None."""
    s = res.summary()
    return [-1.0 if s[k] is None else s[k] for k in STAT_NAMES]


CASES = [
    dict(seed=s, **kw)
    for s, kw in [
        (0, {}),
        (1, {"crowd": 0.3}),
        (2, {"extra_dets": 130}),
        (3, {"tie_decimals": 0}),
        (4, {"tie_decimals": None}),
        (5, {"empty_results": True}),
        (6, {"n_classes": 1}),
        (7, {"max_gt": 1}),
        (8, {"n_images": 40, "max_gt": 15, "crowd": 0.15}),
        (9, {"extra_dets": 105, "tie_decimals": 0, "crowd": 0.2}),
        (30, {"n_classes": 1, "extra_dets": 260, "crowd": 0.2}),  # > 100 per (image, class)
    ]
] + [dict(seed=s) for s in range(10, 30)]


def _per_class_ref(p: np.ndarray, r: np.ndarray, k: int) -> dict[str, float | None]:
    def m(s: np.ndarray) -> float | None:
        v = s[s > -1]
        return None if v.size == 0 else float(np.mean(v))

    return {
        "AP": m(p[:, :, k, 0, 2]),
        "AP50": m(p[0, :, k, 0, 2]),
        "AP75": m(p[5, :, k, 0, 2]),
        "AR100": m(r[:, k, 0, 2]),
        "APs": m(p[:, :, k, 1, 2]),
        "APm": m(p[:, :, k, 2, 2]),
        "APl": m(p[:, :, k, 3, 2]),
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
def test_equals_pycocotools(case: dict) -> None:
    gt, results = random_case(**case)
    ref = pycoco(gt, results)
    res = evaluate_detections(gt, results)
    np.testing.assert_allclose(_stats(res), ref.stats, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.precision, ref.eval["precision"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.recall, ref.eval["recall"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.scores, ref.eval["scores"], rtol=0, atol=1e-12)
    items = res.per_class()["items"]
    names = [row["label"] for row in items]
    assert names == [c["name"] for c in sorted(gt["categories"], key=lambda c: c["id"])]
    for k, row in enumerate(items):
        name = row["label"]
        want = _per_class_ref(ref.eval["precision"], ref.eval["recall"], k)
        for key, v in want.items():
            got = row[key]
            assert (got is None) == (v is None), (name, key)
            if v is not None:
                assert abs(got - v) < 1e-9


def test_from_files(tmp_path) -> None:
    gt, results = random_case(42, crowd=0.2, extra_dets=110)
    (tmp_path / "gt.json").write_bytes(orjson.dumps(gt))
    (tmp_path / "dt.json").write_bytes(orjson.dumps(results))
    res = evaluate_detections(tmp_path / "gt.json", tmp_path / "dt.json")
    ref = pycoco(gt, results)
    np.testing.assert_allclose(_stats(res), ref.stats, rtol=0, atol=1e-9)


def test_empty_results_give_zero_ap() -> None:
    gt, _ = random_case(3)
    stats = evaluate_detections(gt, []).summary()
    assert stats["AP"] == 0.0 and stats["AR100"] == 0.0


def test_iou_equals_mask_utils() -> None:
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    dt = np.c_[rng.uniform(0, 50, (30, 2)), rng.uniform(0.1, 40, (30, 2))]
    gt = np.c_[rng.uniform(0, 50, (20, 2)), rng.uniform(0.1, 40, (20, 2))]
    crowd = rng.random(20) < 0.3
    ref = mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
    np.testing.assert_array_equal(iou_matrix(dt, gt, crowd), ref)
