"""Paired statistics against statsmodels: McNemar's exact test and Holm's correction; the paired
bootstrap's interval and p-value; Tango's score interval inverting McNemar's score test, the
normal bootstrap interval agreeing with its z-test (and its Monte-Carlo error), the one-sided
tests at a margin; per-class recall replicates against a loop."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from assay.metrics.paired import (
    bootstrap_delta,
    class_recall_replicates,
    holm,
    mcnemar_exact,
    normal_delta,
    paired_proportion,
    tango_interval,
    tango_z,
)


@given(st.integers(0, 400), st.integers(0, 400))
@settings(max_examples=200, deadline=None)
def test_mcnemar_exact_equals_statsmodels(b: int, c: int) -> None:
    expected = mcnemar([[5, b], [c, 7]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@given(st.integers(0, 6_000), st.integers(0, 6_000))
@settings(max_examples=60, deadline=None)
def test_mcnemar_in_log_space_equals_statsmodels(b: int, c: int) -> None:
    expected = mcnemar([[0, b], [c, 0]], exact=True).pvalue
    # statsmodels underflows to 0 where the log-space answer is still ~1e-300 (b = 0, c ~ 1,000)
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-7, abs=1e-290)


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
        # statsmodels' Holm branch runs a full gc.collect() per call: seconds each in a test process
        # that has run hundreds of tests (minutes over the 200 examples); the answer is the same.
        with mock.patch("gc.collect", return_value=0):
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


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 400))
@settings(max_examples=150, deadline=None)
def test_tango_interval_inverts_mcnemars_score_test(fixed: int, broken: int, rest: int) -> None:
    """Tango's interval holds 0 exactly when McNemar's score test (statsmodels' chi-square
    without continuity correction) does not reject; its bounds are where the score test is at
    the critical value."""
    n = fixed + broken + rest
    if n == 0:
        return
    r = paired_proportion(fixed, broken, n)
    if fixed + broken:
        expected = mcnemar([[0, fixed], [broken, 0]], exact=False, correction=False).pvalue
        assert r["p"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    else:
        assert r["p"] == 1.0
    assert r["low"] <= r["delta"] <= r["high"]
    if abs(r["p"] - 0.05) > 1e-6:
        assert (r["p"] < 0.05) == (r["low"] > 0 or r["high"] < 0)
    for bound, target in ((r["low"], 1.959964), (r["high"], -1.959964)):
        if -1 + 1e-6 < bound < 1 - 1e-6:
            assert float(tango_z(bound, fixed, broken, n)) == pytest.approx(target, abs=1e-4)


def test_tango_z_uses_the_restricted_maximum_likelihood() -> None:
    """The score statistic's variance is the multinomial's at the cells that maximise the
    likelihood under B - A = delta (checked by a numerical maximisation)."""
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(10, 300))
        f = int(rng.integers(0, n // 2))
        b = int(rng.integers(0, n - f))
        d = float(rng.uniform(-0.8, 0.8))
        lo, hi = max(0.0, -d) + 1e-12, (1 - d) / 2 - 1e-12
        if hi <= lo:
            continue

        def nll(x: float, f: int = f, b: int = b, n: int = n, d: float = d) -> float:
            rest = max(1 - 2 * x - d, 1e-300)
            return -(
                f * np.log(x + d + 1e-300) + b * np.log(x + 1e-300) + (n - f - b) * np.log(rest)
            )

        x = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
        z = (f - b - n * d) / np.sqrt(n * (2 * x + d * (1 - d)))
        assert float(tango_z(d, f, b, n)) == pytest.approx(z, rel=1e-4, abs=1e-6)


def test_normal_delta_agrees_with_its_interval_and_is_not_floored() -> None:
    rng = np.random.default_rng(2)
    for _ in range(300):
        reps = rng.normal(rng.normal(0, 0.02), 0.01, 200)
        est = float(reps.mean())
        r = normal_delta(reps, est)
        if abs(r["p"] - 0.05) > 1e-9:
            assert (r["p"] < 0.05) == (r["low"] > 0 or r["high"] < 0)
    clear = normal_delta(rng.normal(0.05, 0.01, 200), 0.05)
    assert clear["p"] < 1 / 201 / 12  # reaches a Holm threshold of 12 tests with 200 resamples
    assert clear["low"] == pytest.approx(0.05 - 1.959964 * clear["se"], rel=1e-6)
    lo2 = normal_delta(rng.normal(0, 0.01, 4000), 0.001, scale=0.5)
    assert lo2["se"] == pytest.approx(0.005, rel=0.05)
    assert all(np.isnan(v) for v in normal_delta(np.full(5, np.nan), 0.1).values())


def test_the_stated_monte_carlo_error_of_p_is_its_spread_over_seeds() -> None:
    """p_mc, from the bootstrap SE's own error, is the standard deviation of p over seeds (each
    seed a new set of 500 replicates of the same difference) to within a third."""
    rng = np.random.default_rng(3)
    ps, mcs = [], []
    for _ in range(400):
        r = normal_delta(rng.normal(0, 0.01, 500), 0.0196)
        ps.append(r["p"])
        mcs.append(r["p_mc"])
    assert np.std(ps, ddof=1) == pytest.approx(np.mean(mcs), rel=0.33)


def test_margin_p_values_of_both_procedures() -> None:
    """One-sided p at the margins: small on the side the data are far from, and TOST equivalent
    exactly when the 90 % interval is inside ±margin."""
    r = paired_proportion(40, 38, 5000, margin=0.02, level=0.95)
    assert r["p_lower"] < 0.05 and r["p_upper"] < 0.05
    lo, hi = tango_interval(40, 38, 5000, level=0.90)
    assert lo > -0.02 and hi < 0.02
    far = paired_proportion(10, 60, 500, margin=0.01)
    assert far["p_lower"] > 0.5  # B clearly worse by more than a point
    rng = np.random.default_rng(4)
    for _ in range(200):
        reps = rng.normal(0, 0.01, 300)
        est = float(rng.normal(0, 0.01))
        m = float(rng.uniform(0.005, 0.04))
        n = normal_delta(reps, est, margin=m, level=0.90)
        tost = max(n["p_lower"], n["p_upper"]) < 0.05
        if abs(max(n["p_lower"], n["p_upper"]) - 0.05) > 1e-9:
            assert tost == (n["low"] > -m and n["high"] < m)


def test_class_recall_replicates_skip_padding() -> None:
    """Group resamples pad rows with -1: those entries are not samples."""
    y = np.array([0, 0, 1, 1])
    correct = np.array([1.0, 0.0, 1.0, 1.0])
    idx = np.array([[0, 0, 2, -1, -1], [1, 3, -1, -1, -1]])
    got = class_recall_replicates(idx, y, correct, 2)
    np.testing.assert_allclose(got, [[1.0, 1.0], [0.0, 1.0]])
