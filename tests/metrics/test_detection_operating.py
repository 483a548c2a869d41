"""The F1-optimal confidence re-chosen per resample (assay.metrics.detection.operating)."""

from __future__ import annotations

import numpy as np
import pytest

from assay.errors import InputError
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint
from assay.metrics.detection.matching import f1_sweep
from assay.metrics.detection.operating import optimal_counts
from tests import _simulate as sim


@pytest.fixture(scope="module")
def res():
    rng = np.random.default_rng(3)
    truth = sim.detection_truth(80, rng)
    return evaluate_detections(
        sim.coco_truth(truth), sim.coco_detections(sim.detections(truth, rng))
    )


@pytest.mark.parametrize("iou", [0.5, 0.75])
def test_weights_of_one_give_the_evaluations_own_optimal_point(res, iou: float) -> None:
    p = res.point(OperatingPoint(iou=iou))
    tp, fp, fn = (int(x.sum()) for x in res.image_counts(p))
    got = optimal_counts(*res.ranked_detections(iou), np.ones((2, res.n_samples)))
    assert got.tolist() == [[tp, fp, fn]] * 2


def test_a_resample_chooses_its_own_confidence(res) -> None:
    """Each row equals the best F1 of a brute-force sweep on the data the weights describe
    (every box weighed by how often its image was drawn), and the resamples do not all keep the
    evaluation's confidence."""
    g, d = res.gt, res.dt
    sw = res._match(0.5)
    scores = f1_sweep(sw.m, g.labels, g.iscrowd, d.labels, d.scores)["score"]
    own = res.point(OperatingPoint(iou=0.5)).score
    rng = np.random.default_rng(0)
    chosen = []
    for _ in range(5):
        w = np.bincount(rng.integers(0, res.n_samples, res.n_samples), minlength=res.n_samples)
        got = optimal_counts(*res.ranked_detections(0.5), w[None].astype(float))[0]
        good = sw.d_row == sw.d_col
        tp = np.array([w[sw.d_img[(-sw.d_key >= c) & good]].sum() for c in scores])
        fp = np.array([w[sw.d_img[(-sw.d_key >= c) & ~good]].sum() for c in scores])
        n_gt = float((w * sw.gt_per_image).sum())
        best = int(np.argmax(2 * tp / (tp + fp + n_gt)))
        assert got.tolist() == [tp[best], fp[best], n_gt - tp[best]]
        chosen.append(scores[best])
    assert any(c != own for c in chosen)


def test_nothing_defined_and_bad_shapes() -> None:
    out = optimal_counts(
        np.zeros(0), np.zeros(0, bool), np.zeros(0, int), np.zeros(2), np.ones((1, 2))
    )
    assert np.isnan(out).all()
    with pytest.raises(InputError):
        optimal_counts(np.zeros(1), np.zeros(1, bool), np.zeros(1, int), np.zeros(2), np.ones(2))
