"""Comparing two multi-label evaluations: subset accuracy by McNemar on exact label sets, per-label
recall over the label's positives (McNemar, Holm), a planted difference found, an identical pair
not, label sets in the sample rows, and single-label refused."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from assay.errors import InputError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare import compare

TAGS = ["indoor", "person", "animal", "vehicle"]


def _model(y: np.ndarray, noise: float, seed: int, ids: np.ndarray) -> ClassificationResults:
    rng = np.random.default_rng(seed)
    s = np.clip(np.where(y, 0.7, 0.3) + rng.normal(scale=noise, size=y.shape), 0, 1)
    return ClassificationResults(y, s, classes=TAGS, multilabel=True, sample_ids=ids)


@pytest.fixture(scope="module")
def pair() -> tuple[ClassificationResults, ClassificationResults]:
    rng = np.random.default_rng(0)
    y = rng.random((1200, 4)) < 0.35
    ids = np.array([f"p{i}" for i in range(1200)])
    return _model(y, 0.3, 1, ids), _model(y, 0.15, 2, ids)


def test_a_planted_difference_is_found(pair) -> None:
    a, b = pair
    out = compare(a, b, n=300)
    assert out["task"] == "multilabel"
    rows = {r["metric"]: r for r in out["metrics"]}
    acc = rows["accuracy"]
    assert acc["label"] == "subset accuracy" and acc["test"] == "Tango score (McNemar)"
    assert out["family"]["primary"] == "accuracy" and acc["primary"]
    assert acc["delta"] > 0 and acc["significant"] and acc["low"] > 0
    right_a = ((a.y_score >= 0.5) == a.y_true).all(axis=1)
    right_b = ((b.y_score >= 0.5) == b.y_true).all(axis=1)
    fixed, broken = int((~right_a & right_b).sum()), int((right_a & ~right_b).sum())
    # McNemar's score test (chi-square, no continuity correction): the test Tango's CI inverts
    expected = mcnemar([[0, fixed], [broken, 0]], exact=False, correction=False).pvalue
    assert acc["p_value"] == pytest.approx(expected, rel=1e-9)
    assert acc["delta"] == pytest.approx(right_b.mean() - right_a.mean())
    assert rows["hamming_loss"]["delta"] < 0 and not rows["hamming_loss"]["higher_is_better"]
    assert out["verdicts"][0].startswith("B is better on subset accuracy")
    for k, r in enumerate(out["per_class"]):
        pos = a.y_true[:, k]
        expected = ((b.y_score[:, k] >= 0.5) & pos).sum() - ((a.y_score[:, k] >= 0.5) & pos).sum()
        assert r["n"] == int(pos.sum())
        assert r["recall_delta"] == pytest.approx(expected / pos.sum())
        assert r["p_holm"] >= r["p_value"]
    d = out["disagreements"]
    assert d["fixed"] == int((~right_a & right_b).sum()) and d["broken"] == int(
        (right_a & ~right_b).sum()
    )
    s = d["fixed_samples"][0]
    assert isinstance(s["actual"], list) and set(s["predicted_b"]) == set(s["actual"])


def test_an_identical_pair_shows_no_difference(pair) -> None:
    a, _ = pair
    perm = np.random.default_rng(5).permutation(a.n_samples)
    shuffled = ClassificationResults(
        a.y_true[perm][:, ::-1], a.y_score[perm][:, ::-1], classes=TAGS[::-1], multilabel=True,
        sample_ids=a.sample_ids[perm],
    )  # fmt: skip
    out = compare(a, shuffled, n=100)
    for r in out["metrics"]:
        assert r["delta"] == pytest.approx(0, abs=1e-12) and not r["significant"], r
    assert out["disagreements"]["prediction_changed"] == 0


def test_single_and_multi_label_are_refused(pair) -> None:
    a, _ = pair
    single = ClassificationResults(a.y_true.argmax(1), a.y_score, classes=TAGS)
    with pytest.raises(InputError, match="one task"):
        compare(a, single)
