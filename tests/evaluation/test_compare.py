"""Comparing two classification evaluations: a planted difference is found, an identical pair and
equal models are not (the verdict's false positive rate stays near 5 %), samples are matched by id,
other data is refused, and the disagreement counts add up."""

from __future__ import annotations

import numpy as np
import pytest

from assay.errors import InputError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare import compare_classification

CLASSES = ["ant", "bee", "cat", "dog"]


def _scores(y: np.ndarray, strength: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), len(CLASSES)))
    logits[np.arange(len(y)), y] += strength
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def _pair(n: int, sa: float, sb: float, seed: int) -> tuple[ClassificationResults, ...]:
    y = np.random.default_rng(seed).integers(0, len(CLASSES), n)
    ids = np.array([f"s{i}" for i in range(n)])
    a = ClassificationResults(y, _scores(y, sa, seed + 1), classes=CLASSES, sample_ids=ids)
    b = ClassificationResults(y, _scores(y, sb, seed + 2), classes=CLASSES, sample_ids=ids)
    return a, b


def _row(out: dict, metric: str) -> dict:
    return next(r for r in out["metrics"] if r["metric"] == metric)


def test_a_planted_difference_is_found() -> None:
    a, b = _pair(1500, 1.0, 1.6, seed=0)
    out = compare_classification(a, b, n=400)
    for metric in ("accuracy", "macro_f1", "roc_auc_macro"):
        row = _row(out, metric)
        assert row["significant"] and row["delta"] > 0 and row["low"] > 0, row
    assert out["verdicts"][0].startswith("B is better on accuracy: +")
    assert "95% CI [" in out["verdicts"][0]
    worse = compare_classification(b, a, n=400)
    assert worse["verdicts"][0].startswith("B is worse on accuracy")
    log_loss = _row(out, "log_loss")
    assert log_loss["delta"] < 0 and not log_loss["higher_is_better"]
    assert sum(r["significant"] for r in out["per_class"]) >= 2


def test_an_identical_pair_shows_no_difference() -> None:
    a, _ = _pair(800, 1.2, 1.2, seed=3)
    out = compare_classification(a, a, n=200)
    for row in out["metrics"]:
        if row["delta"] is not None:
            assert row["delta"] == 0 and not row["significant"]
    assert all(v.startswith("No significant difference") for v in out["verdicts"])
    d = out["disagreements"]
    assert d["fixed"] == d["broken"] == d["prediction_changed"] == 0
    assert np.all(np.asarray(out["confusion"]["difference"]) == 0)


def test_equal_models_are_rarely_called_different() -> None:
    """Over many pairs of equally good models the accuracy verdict is significant about 5 % of
    the time (McNemar's exact test is conservative: at most that)."""
    hits = 0
    trials = 150
    for seed in range(trials):
        a, b = _pair(300, 1.0, 1.0, seed=1000 + 3 * seed)
        hits += _row(compare_classification(a, b, n=50), "accuracy")["significant"]
    assert hits / trials <= 0.09, hits


def test_samples_are_matched_by_id_and_classes_by_name() -> None:
    a, b = _pair(400, 1.0, 1.4, seed=5)
    order = np.random.default_rng(0).permutation(400)
    cols = [2, 0, 3, 1]
    shuffled = ClassificationResults(
        np.array(cols).argsort()[b.y_true[order]],
        b.y_score[order][:, cols],
        classes=[CLASSES[c] for c in cols],
        sample_ids=b.sample_ids[order],
    )
    same = compare_classification(a, b, n=100)
    moved = compare_classification(a, shuffled, n=100)
    assert _row(same, "accuracy") == _row(moved, "accuracy")

    def without_b_rows(d: dict) -> dict:
        return {k: [{**s, "index_b": None} for s in v] if isinstance(v, list) else v
                for k, v in d.items()}  # fmt: skip

    assert without_b_rows(same["disagreements"]) == without_b_rows(moved["disagreements"])
    first = moved["disagreements"]["fixed_samples"][0]
    assert shuffled.sample_ids[first["index_b"]] == first["id"]  # B's own row of the sample


def test_disagreements_add_up() -> None:
    a, b = _pair(600, 1.0, 1.3, seed=7)
    d = compare_classification(a, b, n=50)["disagreements"]
    assert d["fixed"] + d["broken"] + d["both_right"] + d["both_wrong"] == 600
    assert all(s["change"] == "fixed" for s in d["fixed_samples"])
    assert all(s["predicted_b"] == s["actual"] for s in d["fixed_samples"])
    moves = [abs(s["confidence_b"] - s["confidence_a"]) for s in d["largest_confidence_changes"]]
    assert moves == sorted(moves, reverse=True)


def test_other_data_is_refused() -> None:
    a, b = _pair(200, 1.0, 1.0, seed=9)
    y = a.y_true.copy()
    y[0] = (y[0] + 1) % len(CLASSES)
    relabeled = ClassificationResults(y, b.y_score, classes=CLASSES, sample_ids=b.sample_ids)
    with pytest.raises(InputError, match="labels differ"):
        compare_classification(a, relabeled)
    other = ClassificationResults(b.y_true, b.y_score, classes=["a", "b", "c", "d"])
    with pytest.raises(InputError, match="different classes"):
        compare_classification(a, other)
    fewer = ClassificationResults(b.y_true[:100], b.y_score[:100], classes=CLASSES)
    with pytest.raises(InputError, match="200 and 100 samples"):
        compare_classification(a, fewer)
    multi = ClassificationResults(
        np.eye(len(CLASSES), dtype=bool)[a.y_true], a.y_score, classes=CLASSES, multilabel=True
    )
    with pytest.raises(InputError, match="compare evaluations of one task"):
        compare_classification(a, multi)


def test_one_side_at_the_argmax_the_other_at_a_threshold():
    """The argmax has no "Below threshold" column, a threshold has one: the confusion pair is
    shown on the union of both, zeros where a side has no such cell (it was a 500)."""
    from assay.evaluation.compare import compare
    from assay.evaluation.results import OperatingPoint

    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    ra = ClassificationResults(y, rng.dirichlet(np.ones(4), 200))
    rb = ClassificationResults(y, rng.dirichlet(np.ones(4), 200))
    out = compare(ra, rb, at_b=OperatingPoint(threshold=0.5), intervals=False)
    pair = out["confusion"]
    assert pair["columns"][-1] == "Below threshold"
    a, b = np.array(pair["a"]), np.array(pair["b"])
    assert a.shape == b.shape == (4, 5) and a[:, 4].sum() == 0 and b[:, 4].sum() > 0
    assert a.sum() == b.sum() == 200
    assert np.array_equal(np.array(pair["difference"]), b - a)
