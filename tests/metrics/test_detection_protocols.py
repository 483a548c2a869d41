"""AP protocols (COCO 101, VOC 11-point, all-point) and the bootstrap over images."""

from __future__ import annotations

import numpy as np
import pytest
from test_detection_cases import pycoco, random_case

from assay.evaluation.detection import evaluate_detections


def _voc_ap(rec: np.ndarray, prec: np.ndarray, use_07: bool) -> float:
    """The VOC devkit's voc_ap, verbatim in spirit."""
    if use_07:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0.0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap += p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _ref_curves(ev, k: int, t: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Recall / precision of class k at IoU index t from pycocotools' evalImgs (area all)."""
    n_img = len(ev.params.imgIds)
    n_a = len(ev.params.areaRng)
    es = [ev.evalImgs[k * n_a * n_img + i] for i in range(n_img)]
    es = [e for e in es if e is not None]
    if not es:
        return None
    sc = np.concatenate([e["dtScores"] for e in es])
    order = np.argsort(-sc, kind="mergesort")
    dtm = np.concatenate([e["dtMatches"][t] for e in es])[order]
    dtig = np.concatenate([e["dtIgnore"][t] for e in es])[order].astype(bool)
    npig = sum(int(np.count_nonzero(e["gtIgnore"] == 0)) for e in es)
    if npig == 0:
        return None
    tp = np.cumsum((dtm > 0) & ~dtig)[~dtig]
    fp = np.cumsum((dtm == 0) & ~dtig)[~dtig]
    return tp / npig, tp / np.maximum(tp + fp, np.finfo(float).eps)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_protocols_match_voc_devkit_formulas(seed: int) -> None:
    gt, results = random_case(seed, crowd=0.15)
    ref = pycoco(gt, results)
    res = evaluate_detections(gt, results)
    pro = res.report()["extra"]
    assert pro["coco_101"]["AP"] == pytest.approx(res.summary()["AP"], abs=1e-12)
    assert pro["coco_101"]["AP50"] == pytest.approx(res.summary()["AP50"], abs=1e-12)
    for name, use07 in (("voc_11", True), ("all_point", False)):
        per_t = []
        for t in range(10):
            aps = []
            for k in range(len(res.classes)):
                c = _ref_curves(ref, k, t)
                if c is not None:
                    aps.append(_voc_ap(c[0], c[1], use07))
            per_t.append(np.mean(aps))
        assert pro[name]["AP50"] == pytest.approx(per_t[0], abs=1e-9)
        assert pro[name]["AP"] == pytest.approx(np.mean(per_t), abs=1e-9)


def test_bootstrap_is_seeded_and_brackets() -> None:
    gt, results = random_case(8, n_images=60, max_gt=6)
    res = evaluate_detections(gt, results)
    a = res.intervals(n=60, seed=1)
    assert a == res.intervals(n=60, seed=1)
    assert res.report()["intervals"] == a
    stats = res.summary()
    for key in ("AP", "AP50", "precision", "recall", "f1"):
        assert a[key]["low"] <= a[key]["high"]
        assert a[key]["low"] - 0.05 <= stats[key] <= a[key]["high"] + 0.05
