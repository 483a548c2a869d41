"""Paired statistics against statsmodels: McNemar's exact test and Holm's correction; the paired
bootstrap's interval and p-value; per-class recall replicates against a loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from assay.metrics.paired import bootstrap_delta, class_recall_replicates, holm, mcnemar_exact


@given(st.integers(0, 400), st.integers(0, 400))
@settings(max_examples=200, deadline=None)
def test_mcnemar_exact_equals_statsmodels(b: int, c: int) -> None:
    expected = mcnemar([[5, b], [c, 7]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@given(st.integers(0, 6_000), st.integers(0, 6_000))
@settings(max_examples=60, deadline=None)
def test_mcnemar_in_log_space_equals_statsmodels(b: int, c: int) -> None:
    expected = mcnemar([[0, b], [c, 0]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-7, abs=1e-300)


def test_mcnemar_large_counts_and_bad_input() -> None:
    expected = mcnemar([[0, 20_500], [21_000, 0]], exact=True).pvalue
    assert mcnemar_exact(20_500, 21_000) == pytest.approx(expected, rel=1e-6)
    assert mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


@given(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_holm_equals_statsmodels(p: list[float]) -> None:
    arr = np.array(p)
    ok = ~np.isnan(arr)
    got = holm(arr)
    assert np.isnan(got[~ok]).all()
    if ok.any():
        expected = multipletests(arr[ok], method="holm")[1]
        np.testing.assert_allclose(got[ok], expected, rtol=1e-12, atol=1e-15)


def test_bootstrap_delta_interval_and_p() -> None:
    rng = np.random.default_rng(0)
    shifted = rng.normal(0.05, 0.01, 4000)  # a clear difference
    lo, hi, p = bootstrap_delta(shifted, 0.05)
    assert lo < 0.05 < hi and lo > 0.02 and p < 0.01
    centred = rng.normal(0.0, 0.01, 4000)  # none
    lo, hi, p = bootstrap_delta(centred, 0.001)
    assert lo < 0 < hi and p > 0.5
    lo2, hi2, _ = bootstrap_delta(centred, 0.001, scale=0.5)
    assert hi2 - lo2 == pytest.approx((hi - lo) / 2)
    assert all(np.isnan(v) for v in bootstrap_delta(np.full(5, np.nan), 0.1))


def test_class_recall_replicates_equal_a_loop() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 200)
    y[y == 3] = 2  # class 3 has no sample: NaN
    correct = rng.random(200) < 0.6
    idx = rng.integers(0, 200, (30, 150))
    got = class_recall_replicates(idx, y, correct, 4)
    for r in range(30):
        for k in range(4):
            drawn = idx[r][y[idx[r]] == k]
            expected = correct[drawn].mean() if drawn.size else np.nan
            np.testing.assert_allclose(got[r, k], expected)
