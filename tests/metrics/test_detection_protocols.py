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


def test_half_samples_are_complementary_halves() -> None:
    from assay.metrics.detection.protocols import half_sample_weights

    w = half_sample_weights(11, 5, seed=2)
    assert w.shape == (5, 11) and set(np.unique(w)) == {0.0, 1.0}
    assert (w[0::2][:2].sum(axis=1) == 5).all()  # n // 2 images, then the other 6
    np.testing.assert_array_equal(w[0] + w[1], np.ones(11))
    np.testing.assert_array_equal(w[2] + w[3], np.ones(11))
    assert not np.array_equal(w[0], w[2])
    np.testing.assert_array_equal(w, half_sample_weights(11, 5, seed=2))


def test_half_sample_interval_removes_a_bias_of_order_one_over_root_n() -> None:
    """|mean| of n standard normals estimates |0| = 0 with bias sqrt(2 / (pi n)), a 1/sqrt(n)
    bias like AP's: the half-sample centre is unbiased, the ordinary bootstrap's basic centre
    (estimate - bootstrap bias) keeps most of it."""
    from assay.metrics.detection.protocols import half_sample_interval, half_sample_weights

    rng = np.random.default_rng(0)
    n, runs = 100, 300
    w = half_sample_weights(n, 200, seed=1)
    centre, basic, est = [], [], []
    for _ in range(runs):
        x = rng.normal(size=n)
        e = abs(x.mean())
        halves = np.abs(w @ x / w.sum(axis=1))
        iv = half_sample_interval(halves, e, n)
        assert iv is not None
        centre.append((iv["low"] + iv["high"]) / 2)
        boot = np.abs(x[rng.integers(0, n, (200, n))].mean(axis=1))
        basic.append(2 * e - boot.mean())
        est.append(e)
    assert np.mean(est) == pytest.approx(np.sqrt(2 / (np.pi * n)), rel=0.1)
    assert abs(np.mean(centre)) < 0.01 < np.mean(basic)
