"""Slice discovery (assay.evaluation.quality._slices): a planted weak slice is found first, a set
without one yields no significant slice after Holm, the p-values match statsmodels / scipy, the
intervals, the redundancy pruning and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as stats
import statsmodels.stats.multitest as multi
import statsmodels.stats.proportion as sm

from assay.errors import InputError, ParameterError
from assay.evaluation.quality._slices import default_min_size, find_slices, holm, image_f1


def _data(seed: int, n: int = 4000, drop: float = 0.2, extra: int = 8):
    rng = np.random.default_rng(seed)
    source = rng.integers(0, 3, n).astype(float)  # a, b, c
    brightness = rng.random(n)
    cols = {"source": source, "brightness": brightness}
    for k in range(extra):
        cols[f"noise{k}"] = rng.random(n)
    cols["colour"] = rng.integers(0, 5, n).astype(float)
    weak = (source == 1) & (brightness < np.quantile(brightness, 0.25))
    right = rng.random(n) < np.where(weak, 0.85 - drop, 0.85)
    return cols, right, weak


CATS = {"source": ["a", "b", "c"], "colour": list("vwxyz")}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_slice_is_found_first(seed):
    cols, right, weak = _data(seed)
    out = find_slices(cols, right, categories=CATS)
    first = out["slices"][0]
    texts = sorted(c["text"].split(" ")[0] for c in first["conditions"])
    assert texts == ["brightness", "source"]
    source = next(c for c in first["conditions"] if c["column"] == "source")
    assert source["value"] == "b"
    bright = next(c for c in first["conditions"] if c["column"] == "brightness")
    assert bright["low"] is None and bright["high"] == pytest.approx(
        np.quantile(cols["brightness"], 0.25)
    )
    assert first["n"] == int(weak.sum())
    assert first["metric"] == pytest.approx(right[weak].mean())
    assert first["rest"] == pytest.approx(right[~weak].mean())
    assert first["difference"] < -0.1 and first["significant"]
    assert first["low"] < first["metric"] < first["high"]
    assert out["n_tried"] > 100 and out["n_family"] >= out["n_tried"]


def test_no_planted_slice_no_significant_slice_in_most_seeds():
    hits = 0
    for seed in range(10):
        cols, right, _ = _data(100 + seed, drop=0.0)
        out = find_slices(cols, right, categories=CATS)
        hits += out["n_significant"] > 0
        assert all(s["p_holm"] >= s["p_value"] for s in out["slices"])
    assert hits <= 2


def _mask(cols, conditions):
    mask = np.ones(len(next(iter(cols.values()))), bool)
    for c in conditions:
        v = cols[c["column"]]
        if c["op"] == "==":
            names = CATS.get(c["column"])
            mask &= v == (names.index(c["value"]) if names else c["value"])
        else:
            if c["low"] is not None:
                mask &= v >= c["low"]
            if c["high"] is not None:
                mask &= v < c["high"]
    return mask


def test_p_values_match_statsmodels_and_scipy():
    # slices and rests of more than 1,000 samples: the pooled two-proportion z-test
    cols, right, _ = _data(3, n=6000)
    out = find_slices(cols, right, categories=CATS, max_conditions=1, top=10)
    assert out["slices"]
    for s in out["slices"]:
        mask = _mask(cols, s["conditions"])
        assert mask.sum() == s["n"] > 1000
        k1, n1 = right[mask].sum(), mask.sum()
        k2, n2 = right[~mask].sum(), (~mask).sum()
        _, p = sm.proportions_ztest([k1, k2], [n1, n2])
        assert s["p_value"] == pytest.approx(p, rel=1e-9)
        table = [[k1, n1 - k1], [k2, n2 - k2]]
        chi = stats.chi2_contingency(table, correction=False)
        assert s["p_value"] == pytest.approx(chi.pvalue, rel=1e-9)
        lo, hi = sm.proportion_confint(k1, n1, method="wilson")
        assert (s["low"], s["high"]) == pytest.approx((lo, hi), rel=1e-9)


def test_small_slices_use_the_exact_binomial_test():
    cols, right, _ = _data(3, n=1500)
    out = find_slices(cols, right, categories=CATS, max_conditions=2, top=10)
    pooled = right.mean()
    assert out["slices"]
    for s in out["slices"]:
        mask = _mask(cols, s["conditions"])
        k, n = int(right[mask].sum()), int(mask.sum())
        assert n == s["n"] <= 1000
        tails = stats.binom.cdf(k, n, pooled), stats.binom.sf(k - 1, n, pooled)
        assert s["p_value"] == pytest.approx(min(1.0, 2 * min(tails)), rel=1e-9)
    # far in the tail the z-test's normal is far too thin: 48 samples, 30 right, 85 % elsewhere
    g = np.zeros(4000)
    g[:48] = 1
    right = np.ones(4000, bool)
    right[18:48] = True
    right[:18] = False
    right[48 : 48 + 580] = False
    out = find_slices({"g": g}, right, categories={"g": ["rest", "few"]}, min_size=40)
    few = next(s for s in out["slices"] if s["description"] == "g == few")
    pooled = right.mean()
    assert few["p_value"] == pytest.approx(2 * stats.binom.cdf(30, 48, pooled), rel=1e-9)
    assert few["p_value"] > 10 * 2 * stats.norm.sf(few["z"])


def test_holm_matches_statsmodels():
    p = np.random.default_rng(0).random(50) ** 3
    assert holm(p) == pytest.approx(multi.multipletests(p, method="holm")[1])
    # a larger family: the untested hypotheses count as p = 1
    padded = np.concatenate([p, np.ones(30)])
    assert holm(p, 80) == pytest.approx(multi.multipletests(padded, method="holm")[1][:50])


def test_detection_f1_welch_and_bootstrap():
    rng = np.random.default_rng(5)
    n = 3000
    night = rng.random(n) < 0.3
    tp = rng.poisson(3, n)
    fn = rng.poisson(np.where(night, 2.0, 0.4))
    fp = rng.poisson(0.5, n)
    f1 = image_f1(tp, fp, fn)
    cols = {"night": night.astype(float), "size": rng.random(n)}
    out = find_slices(cols, f1, metric="f1", categories={"night": ["day", "night"]}, top=5)
    first = out["slices"][0]
    assert first["description"] == "night == night"
    a, b = f1[night], f1[~night]
    welch = stats.ttest_ind(a, b, equal_var=False)
    # Welch's statistic, read against the normal distribution (thousands of images per side)
    assert first["z"] == pytest.approx(-welch.statistic, rel=1e-9)
    assert first["p_value"] == pytest.approx(2 * stats.norm.sf(abs(welch.statistic)), rel=1e-6)
    assert first["metric"] == pytest.approx(a.mean())
    assert first["low"] < first["metric"] < first["high"]
    assert first["high"] - first["low"] == pytest.approx(
        2 * 1.96 * a.std() / np.sqrt(len(a)), rel=0.2
    )


def test_image_f1():
    assert image_f1([2, 0, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1]).tolist() == [1.0, 1.0, 0.0, 0.5]


def test_redundant_child_is_pruned():
    # the weak slice is "source == b"; splitting it by an unrelated column adds nothing
    rng = np.random.default_rng(7)
    n = 6000
    source = rng.integers(0, 2, n).astype(float)
    right = rng.random(n) < np.where(source == 1, 0.6, 0.9)
    cols = {"source": source, "noise": rng.random(n), "other": rng.random(n)}
    out = find_slices(cols, right, categories={"source": ["a", "b"]}, top=50)
    assert out["slices"][0]["description"] == "source == b"
    assert all(len(s["conditions"]) == 1 for s in out["slices"] if s["significant"])


def test_min_size_and_max_conditions():
    cols, right, _ = _data(0)
    out = find_slices(cols, right, categories=CATS, min_size=600, max_conditions=1)
    assert out["min_size"] == 600
    assert all(s["n"] >= 600 and len(s["conditions"]) == 1 for s in out["slices"])
    assert default_min_size(1000) == 30 and default_min_size(100_000) == 1000
    assert default_min_size(24) == 6 and default_min_size(1) == 1


def test_missing_values_are_in_no_condition():
    cols, right, _ = _data(0, n=2000)
    cols["brightness"] = cols["brightness"].copy()
    cols["brightness"][:500] = np.nan
    out = find_slices(cols, right, categories=CATS)
    for s in out["slices"]:
        assert s["n"] <= 2000


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"min_size": -1}, ParameterError),
        ({"min_size": 10**9}, ParameterError),
        ({"max_conditions": 4}, ParameterError),
        ({"metric": "auc"}, ParameterError),
        ({"beam": 0}, ParameterError),
        ({"bins": 1}, ParameterError),
    ],
)
def test_bad_parameters(kwargs, error):
    cols, right, _ = _data(0, n=200)
    with pytest.raises(error):
        find_slices(cols, right, **kwargs)


def test_bad_input():
    cols, right, _ = _data(0, n=200)
    with pytest.raises(InputError, match="values, expected"):
        find_slices({"x": np.zeros(3)}, right)
    with pytest.raises(InputError, match="finite"):
        find_slices(cols, np.full(200, np.nan))
    with pytest.raises(InputError, match="0 / 1"):
        find_slices(cols, np.full(200, 0.5))
    with pytest.raises(InputError, match="no column"):
        find_slices(cols, right, categories={"nope": ["a"]})
    with pytest.raises(InputError, match="no name"):
        find_slices({"c": np.arange(200) % 2 * 7.0}, right, categories={"c": ["a"]})


def test_constant_columns_offer_nothing():
    right = np.random.default_rng(0).random(100) < 0.5
    out = find_slices({"k": np.ones(100)}, right)
    assert out["slices"] == [] and out["n_tried"] == 0 and out["notes"]


def test_family_counts_no_level_that_cannot_hold_a_slice():
    # 60 rows, min_size 15: no pair of quartile bins holds 15 rows, so nothing deeper is tried
    rng = np.random.default_rng(0)
    cols = {f"x{k}": rng.random(60) for k in range(6)}
    out = find_slices(cols, rng.random(60) < 0.8, min_size=15)
    assert all(len(s["conditions"]) == 1 for s in out["slices"])
    assert out["n_family"] == out["n_tried"] == 24
    # a beam narrower than the single conditions: the pairs' level counts all its conjunctions
    wide = find_slices(cols, rng.random(60) < 0.8, min_size=3, beam=2, max_conditions=2)
    assert wide["n_family"] == 24 + 15 * 16
