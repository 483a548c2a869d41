"""The two-sweep ranking influence equals paired.ranking_influence bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from assay.metrics.paired import ranking_influence
from assay.metrics.ranking_influence import single_label_ranking_influence


@pytest.mark.parametrize(
    ("n", "c", "dtype", "decimals"),
    [
        (40, 3, np.float64, None),
        (500, 7, np.float64, 2),  # many ties
        (3000, 5, np.float32, None),
        (8000, 30, np.float32, 3),
        (60000, 12, np.float64, None),  # more than one chunk of rows, finer buckets
        (60000, 12, np.float32, 1),
        (3000, 150, np.float32, 2),  # many classes, many ties
        (70000, 40, np.float32, None),  # more than one group of 16 classes, more than one chunk
    ],
)
def test_equals_the_reference(n: int, c: int, dtype: type, decimals: int | None) -> None:
    rng = np.random.default_rng(n + c)
    y = rng.integers(0, c, n)
    y[y == 1] = 0  # a class without positives
    s = rng.random((n, c))
    if decimals is not None:
        s = np.round(s, decimals)
    s = s.astype(dtype)
    s[:5] = 0.0  # zeros (below the smallest bucket) and ties with them
    got, want = single_label_ranking_influence(y, s, sweeps=True), ranking_influence(y, s)
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


def test_one_class_has_every_sample() -> None:
    rng = np.random.default_rng(1)
    y = np.zeros(50, dtype=np.int64)
    s = rng.random((50, 3))
    got, want = single_label_ranking_influence(y, s, sweeps=True), ranking_influence(y, s)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
    assert not got["roc_auc_macro"].any()  # no class has both positives and negatives


def test_softmax_scores_match() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 20, 20000)
    logits = rng.normal(size=(20000, 20)).astype(np.float32)
    logits[np.arange(20000), y] += 2.0
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    got, want = single_label_ranking_influence(y, p, sweeps=True), ranking_influence(y, p)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
