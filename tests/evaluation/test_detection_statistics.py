"""Detection comparisons at an F1-optimal confidence: each side's confidence is re-chosen in every
resample (a choice made on the same images, not taken as given), so precision's interval is
wider than with the confidence held; AP's rows do not move."""

from __future__ import annotations

import numpy as np
import pytest

from assay.evaluation.compare import compare
from assay.evaluation.compare.detection import image_counts, image_weights, replicate_counts
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint
from tests import _simulate as sim


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(11)
    truth = sim.detection_truth(150, rng)
    gt = sim.coco_truth(truth)
    return (
        evaluate_detections(gt, sim.coco_detections(sim.detections(truth, rng))),
        evaluate_detections(gt, sim.coco_detections(sim.detections(truth, rng))),
    )


def _row(out: dict, key: str) -> dict:
    return next(r for r in out["metrics"] if r["metric"] == key)


def test_replicate_counts_rechoose_the_optimal_point_and_keep_a_given_one(pair) -> None:
    a, _ = pair
    w = image_weights(a.n_samples, 30, 0)
    p = a.point()
    assert a.point_rule(p) == "f1_optimal"
    ones = replicate_counts(a, p, np.ones((1, a.n_samples)))
    assert ones[0].tolist() == image_counts(a, p).sum(axis=1).tolist()
    free = replicate_counts(a, p, w)
    fixed = w @ image_counts(a, p).T
    assert not np.array_equal(free, fixed)
    # an F1 chosen per resample is at least the F1 at the fixed confidence in the same resample
    f1 = {k: 2 * c[:, 0] / (2 * c[:, 0] + c[:, 1] + c[:, 2]) for k, c in (("free", free),
                                                                        ("fixed", fixed))}  # fmt: skip
    assert (f1["free"] >= f1["fixed"] - 1e-12).all() and (f1["free"] > f1["fixed"]).any()
    given = OperatingPoint(iou=0.5, score=0.5)
    assert a.point_rule(given) == "given"
    np.testing.assert_array_equal(replicate_counts(a, given, w), w @ image_counts(a, given).T)


def test_compare_states_the_rechoice_and_widens_precision(pair) -> None:
    a, b = pair
    free = compare(a, b, n=200)
    pa, pb = a.point(), b.point()
    held = compare(a, b, n=200, at_a=OperatingPoint(iou=0.5, score=pa.score + 1e-9),
                   at_b=OperatingPoint(iou=0.5, score=pb.score + 1e-9))  # fmt: skip
    row, fixed = _row(free, "precision"), _row(held, "precision")
    assert "re-chosen" in row["test"] and "re-chosen" not in fixed["test"]
    assert "re-chosen" not in _row(free, "AP")["test"]
    assert row["se"] > 1.2 * fixed["se"]
    assert _row(free, "AP")["se"] == pytest.approx(_row(held, "AP")["se"])


def test_the_leaderboard_rechooses_the_point_for_precision_not_for_map(pair) -> None:
    from assay.evaluation.compare.leaderboard import _detection

    a, b = pair
    entries = [(1, "a", a, None), (2, "b", b, None)]
    w = image_weights(a.n_samples, 50, 4)
    _, reps, _, _, _ = _detection(entries, "precision", 50, 4)
    held = (w @ image_counts(a, a.point()).T)[:, :2]
    chosen = replicate_counts(a, a.point(), w)[:, :2]
    np.testing.assert_allclose(reps[0], chosen[:, 0] / chosen.sum(axis=1))
    assert not np.allclose(reps[0], held[:, 0] / held.sum(axis=1))
    _, maps, _, _, floor = _detection(entries, "AP", 50, 4)
    assert np.isfinite(maps[0]).all()
    # mAP's pairwise SE floor: the grouped jackknife's, symmetric, none on the diagonal
    assert floor is not None and floor.shape == (2, 2) and floor[0, 1] == floor[1, 0] > 0
    assert np.isnan(np.diag(floor)).all()
