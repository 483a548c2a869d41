"""Interval constructions of assay.metrics.stats and assay.metrics.calibration: the logit interval
of ROC AUC / AP, the Student quantile it uses, intervals that contain their estimate, and the
debiased ECE interval (whose coverage is checked by a seeded simulation with a known ECE)."""

from __future__ import annotations

import numpy as np
import pytest

from assay.errors import ParameterError
from assay.metrics.calibration import ece_interval, expected_calibration_error
from assay.metrics.stats import percentile_intervals, student_quantile


@pytest.mark.parametrize(("df", "want"), [(None, 1.959964), (30, 2.042272), (10, 2.228139)])
def test_student_quantile_matches_the_t_table(df: float | None, want: float) -> None:
    assert student_quantile(0.975, df) == pytest.approx(want, abs=2e-4)


def test_logit_interval_stays_in_0_1_and_widens_with_fewer_degrees_of_freedom() -> None:
    rng = np.random.default_rng(0)
    reps = {"auc": np.clip(0.97 + 0.02 * rng.standard_normal(400), 0, 1)}
    wide = percentile_intervals(reps, {"auc": 0.97}, method="logit", df={"auc": 5})["auc"]
    narrow = percentile_intervals(reps, {"auc": 0.97}, method="logit")["auc"]
    assert wide is not None and narrow is not None
    assert 0 < wide["low"] < narrow["low"] < 0.97 < narrow["high"] < wide["high"] < 1
    # skewed away from 1: more room below the estimate than above
    assert 0.97 - narrow["low"] > narrow["high"] - 0.97


def test_contain_estimate_widens_an_interval_only_to_reach_its_estimate() -> None:
    reps = {"a": np.array([2.0, 2.1, 2.2, 2.3])}  # bootstrap bias +0.15: centred moves below
    out = percentile_intervals(reps, {"a": 2.0}, method="centred", level=0.5)["a"]
    held = percentile_intervals(
        reps, {"a": 2.0}, method="centred", level=0.5, contain_estimate=True
    )["a"]
    assert out is not None and held is not None
    assert out["high"] < 2.0
    assert held == {"low": out["low"], "high": 2.0}


def test_an_unknown_interval_method_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="logit"):
        percentile_intervals({"a": np.ones(3)}, {"a": 1.0}, method="bca")


# confidence ~ U(0.4, 1), correct with probability min(confidence + 0.03, 1): every bin is
# under-confident, so the population ECE is E[min(c + 0.03, 1) - c] = 0.03 - 0.0009 / 2 / 0.6
TRUE_ECE = 0.03 - 0.00045 / 0.6


def _calibration_data(i: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([95, i])
    conf = rng.uniform(0.4, 1.0, n)
    return conf, rng.random(n) < np.minimum(conf + 0.03, 1.0)


def test_ece_interval_covers_the_population_ece() -> None:
    """500 rows, 9 bins with data, each gap ~0.5 of its standard error: the plug-in ECE is
    biased up by ~0.8 of its SD. The centred bootstrap interval (the earlier construction)
    covered 272 of these 300 datasets (measured once), the debiased one must cover 95 %:
    285 expected, Monte-Carlo SE 3.8."""
    covered = 0
    for i in range(300):
        conf, hit = _calibration_data(i)
        iv = ece_interval(conf, hit, seed=i)
        assert iv is not None
        covered += int(iv["low"] <= TRUE_ECE <= iv["high"])
    assert 276 <= covered <= 294, f"the ECE interval covered {covered} of 300"


def test_ece_interval_is_taken_over_units() -> None:
    """Each row repeated 4 times: as rows the interval narrows by ~2; with the repeats as one
    unit it stays as wide as the original's."""
    conf, hit = _calibration_data(0, n=400)
    base = ece_interval(conf, hit)
    rows = ece_interval(np.repeat(conf, 4), np.repeat(hit, 4))
    units = ece_interval(np.repeat(conf, 4), np.repeat(hit, 4), units=np.repeat(np.arange(400), 4))
    assert base is not None and rows is not None and units is not None
    width = {k: v["high"] - v["low"] for k, v in (("b", base), ("r", rows), ("u", units))}
    assert width["r"] < 0.7 * width["b"]
    assert width["u"] == pytest.approx(width["b"], rel=0.1)
    assert ece_interval(np.array([]), np.array([])) is None


def test_ece_interval_sits_below_the_plugin_ece_when_the_model_is_calibrated() -> None:
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.5, 1.0, 2000)
    hit = rng.random(2000) < conf  # calibrated: population ECE 0
    iv = ece_interval(conf, hit)
    assert iv is not None
    assert iv["low"] == 0.0
    assert iv["high"] < expected_calibration_error(conf, hit) + 0.02
