"""Comparing predictions without annotations: agreement, Cohen's kappa and the flip matrix
against scikit-learn; rows matched by id and columns by class name; box agreement on known
changes; other data and bad values refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from assay.errors import InputError
from assay.evaluation.compare.agreement import classification_agreement, detection_agreement

CLASSES = ["ant", "bee", "cat", "dog"]


def _probs(n: int, seed: int) -> np.ndarray:
    e = np.exp(np.random.default_rng(seed).normal(size=(n, len(CLASSES))) * 2)
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agreement_kappa_and_flips_match_sklearn(seed: int) -> None:
    n = 500
    a = _probs(n, seed)
    b = a + np.random.default_rng(seed + 10).normal(scale=0.15, size=a.shape)
    ids = [f"s{i}" for i in range(n)]
    out = classification_agreement(ids, CLASSES, a, ids, CLASSES, b)
    pa, pb = a.argmax(1), b.argmax(1)
    assert out["agreement"] == pytest.approx((pa == pb).mean())
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(pa, pb))
    assert out["flip"]["counts"] == confusion_matrix(pa, pb, labels=range(4)).tolist()
    assert out["low"] <= out["agreement"] <= out["high"]
    assert out["changed"] == int((pa != pb).sum())
    assert out["mean_abs_confidence_change"] == pytest.approx(
        np.abs(b[np.arange(n), pa] - a[np.arange(n), pa]).mean()
    )
    first = out["most_changed"][0]
    assert first["predicted_a"] != first["predicted_b"]  # flips come first
    assert sum(r["predicted_a"] for r in out["per_class"]) == n


def test_rows_and_columns_are_matched_by_id_and_name() -> None:
    a = _probs(50, 3)
    ids = [f"s{i}" for i in range(50)]
    perm = np.random.default_rng(4).permutation(50)
    cols = [2, 0, 3, 1]
    shuffled = a[perm][:, cols]
    out = classification_agreement(
        ids, CLASSES, a, [ids[i] for i in perm], [CLASSES[c] for c in cols], shuffled
    )
    assert out["agreement"] == 1.0 and out["changed"] == 0
    assert out["mean_abs_confidence_change"] == 0.0


def test_other_data_and_bad_values_are_refused() -> None:
    a = _probs(5, 0)
    ids = list("abcde")
    with pytest.raises(InputError, match="other samples"):
        classification_agreement(ids, CLASSES, a, list("abcdf"), CLASSES, a)
    with pytest.raises(InputError, match="different classes"):
        classification_agreement(ids, CLASSES, a, ids, [*CLASSES[:3], "emu"], a)
    bad = a.copy()
    bad[1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        classification_agreement(ids, CLASSES, a, ids, CLASSES, bad)


def _write(path: Path, boxes: list[tuple[int, int, list[float], float]]) -> Path:
    path.write_text(json.dumps([
        {"image_id": i, "category_id": c, "bbox": b, "score": s} for i, c, b, s in boxes
    ]))  # fmt: skip
    return path


def test_box_agreement_counts_matches_flips_and_misses(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", [
        (1, 1, [0, 0, 10, 10], 0.9), (1, 2, [20, 20, 10, 10], 0.8),
        (2, 1, [0, 0, 10, 10], 0.7), (3, 1, [5, 5, 5, 5], 0.2),
    ])  # fmt: skip
    b = _write(tmp_path / "b.json", [
        (1, 1, [1, 0, 10, 10], 0.9),  # same box, moved a little: agrees
        (1, 1, [20, 20, 10, 10], 0.8),  # same place, other class: a flip
        (2, 1, [50, 50, 10, 10], 0.7),  # elsewhere: A's box is only A's, this only B's
    ])  # fmt: skip
    out = detection_agreement(a, b, iou=0.5)
    assert (out["boxes_a"], out["boxes_b"], out["matched"]) == (4, 3, 2)
    assert (out["agreed"], out["class_flips"], out["only_a"], out["only_b"]) == (1, 1, 2, 1)
    assert out["agreement"] == pytest.approx(1 / (4 + 3 - 2))
    assert out["n_images"] == 3
    kept = detection_agreement(a, b, iou=0.5, score=0.5)
    assert kept["boxes_a"] == 3 and kept["only_a"] == 1
    same = detection_agreement(a, a)
    assert same["agreement"] == 1.0 and same["most_changed"] == []
    (tmp_path / "bad.json").write_text(
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 2], "score": 1}]'
    )
    with pytest.raises(InputError, match="bad.json"):
        detection_agreement(a, tmp_path / "bad.json")
    with pytest.raises(InputError, match="iou"):
        detection_agreement(a, b, iou=0.0)


def test_the_interval_is_wilsons_and_open_when_every_sample_agrees() -> None:
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(3)
    a = rng.dirichlet(np.ones(4), 500)
    ids = [str(i) for i in range(500)]
    same = classification_agreement(ids, CLASSES, a, ids, CLASSES, a * 0.9 + 0.025)
    assert same["agreement"] == 1.0 and same["high"] == 1.0
    assert same["low"] == pytest.approx(proportion_confint(500, 500, method="wilson")[0])
    assert same["low"] < 0.995
    b = np.where(rng.random((500, 1)) < 0.8, a, rng.dirichlet(np.ones(4), 500))
    out = classification_agreement(ids, CLASSES, a, ids, CLASSES, b, level=0.9)
    k = round(out["agreement"] * 500)
    lo, hi = proportion_confint(k, 500, alpha=0.1, method="wilson")
    assert (out["low"], out["high"]) == (pytest.approx(lo), pytest.approx(hi))
