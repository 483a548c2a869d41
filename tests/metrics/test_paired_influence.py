"""The analytic standard errors of paired differences (assay.metrics.paired): each sample's
influence is the derivative of the metric in that sample's weight (checked against giving the
sample twice the weight, through the evaluation's own summary), ROC AUC's is DeLong's, the
interval and p of :func:`influence_delta` agree, and a paired proportion's MDE is never below
what its interval resolves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assay.evaluation.classification import ClassificationResults
from assay.metrics.paired import (
    count_influence,
    count_swap_effect,
    influence_delta,
    mean_influence,
    multilabel_count_influence,
    multilabel_swap_effect,
    paired_proportion,
    ranking_influence,
    stratified_variance,
)


def _doubled(make, y: np.ndarray, s: np.ndarray, k: int) -> dict:
    idx = np.r_[np.arange(len(y)), k]
    return make(y[idx], s[idx]).summary()


def test_single_label_influence_is_the_weight_derivative() -> None:
    rng = np.random.default_rng(3)
    n, c = 400, 5
    y = rng.integers(0, c, n)
    logits = np.round(rng.normal(size=(n, c)) + 1.2 * np.eye(c)[y], 1)  # ties on purpose
    s = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    base = ClassificationResults(y, s).summary()
    infl = count_influence(y, s.argmax(axis=1), c) | ranking_influence(y, s)
    eps = np.finfo(s.dtype).eps
    infl["log_loss"] = mean_influence(-np.log(np.clip(s[np.arange(n), y], eps, 1 - eps)))
    for key, v in infl.items():
        assert abs(v.sum()) < 1e-12, key  # scaling every weight moves no metric
        for k in (0, 7, 123, 399):
            moved = _doubled(ClassificationResults, y, s, k)[key] - base[key]
            # the derivative, to O(1/n^2) (AUC: DeLong's (P - 1) / P factor, a few per cent)
            assert v[k] == pytest.approx(moved, rel=0.06, abs=2e-5), (key, k)


def test_multilabel_influence_is_the_weight_derivative() -> None:
    rng = np.random.default_rng(4)
    n, c = 300, 4
    y = rng.random((n, c)) < 0.3
    s = np.round(1 / (1 + np.exp(-(rng.normal(size=(n, c)) + 1.5 * y - 0.5))), 2)

    def make(yy: np.ndarray, ss: np.ndarray) -> ClassificationResults:
        return ClassificationResults(yy, ss, multilabel=True)

    base = make(y, s).summary()
    infl = multilabel_count_influence(y, s >= 0.5) | ranking_influence(y, s, multilabel=True)
    for key, v in infl.items():
        for k in (0, 5, 100, 250):
            moved = _doubled(make, y, s, k)[key] - base[key]
            assert v[k] == pytest.approx(moved, rel=0.06, abs=2e-5), (key, k)


def test_auc_influence_gives_delongs_variance() -> None:
    """One class against the rest: sum of squared influences = DeLong's variance, computed here
    from the pairwise comparisons directly (O(P N))."""
    rng = np.random.default_rng(5)
    n = 250
    y = (rng.random(n) < 0.3).astype(np.int64)
    score = np.round(rng.normal(size=n) + y, 1)
    p1 = 1 / (1 + np.exp(-score))  # monotone: the same order and ties
    s = np.column_stack([1 - p1, p1])
    infl = ranking_influence(y, s)["roc_auc_macro"]
    pos, neg = score[y == 1], score[y == 0]
    h = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = h.mean()
    v10, v01 = h.mean(axis=1), h.mean(axis=0)
    delong = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    # both classes have the same AUC and influence (one's positives are the other's negatives)
    assert float(np.sum(infl**2)) == pytest.approx(delong, rel=1e-9)
    assert auc == pytest.approx(ClassificationResults(y, s).summary()["roc_auc_macro"])


def test_influence_delta_interval_agrees_with_its_p_and_groups_add_up() -> None:
    rng = np.random.default_rng(6)
    for _ in range(50):
        infl = rng.normal(0, 0.01, 200) / 200
        est = float(rng.normal(0, 0.0015))
        r = influence_delta(infl, est, level=0.95, margin=0.001)
        assert (r["p"] < 0.05) == (r["low"] > 0 or r["high"] < 0)
        centred = infl - infl.mean()
        se = math.sqrt(float(np.sum(centred**2)) * 200 / 199)
        assert r["se"] == pytest.approx(se) and r["p_mc"] == 0.0
        assert r["mde"] == pytest.approx((1.959964 + 0.841621) * se, rel=1e-5)
    groups = np.repeat(np.arange(20), 10)
    g = influence_delta(infl, est, groups=groups)
    sums = np.bincount(groups, weights=infl)
    assert g["se"] == pytest.approx(math.sqrt(np.sum((sums - sums.mean()) ** 2) * 20 / 19))
    assert math.isnan(influence_delta(np.array([0.1]), 0.0)["se"])


@pytest.mark.parametrize("n", [100, 596, 1797])
def test_the_mde_never_claims_less_than_the_interval_resolves(n: int) -> None:
    """FP32 / INT8 with no discordant pair: the SE under no difference is 0, the interval is not
    (596 samples: +-0.64 points); the MDE is at least the interval's half-width (it was 0.47)."""
    for fixed, broken in ((0, 0), (1, 0), (2, 1), (30, 20)):
        r = paired_proportion(fixed, broken, n)
        half = max(r["high"] - r["delta"], r["delta"] - r["low"])
        assert r["mde"] >= half
        assert r["mde"] >= (1.959964 + 0.841621) * r["se"] * (1 - 1e-9)


def test_swap_effect_is_what_one_changed_prediction_moves() -> None:
    """Recall's is exact (one more or one fewer true positive in a class moves its recall by
    1 / n_c), accuracy's 1 / N; precision's and F1's are the mean of what turning each right
    sample to its runner-up class moves, within a factor; multi-label alike per cell."""
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(4)
    n, c = 500, 6
    y = rng.choice(c, n, p=[0.4, 0.25, 0.15, 0.1, 0.07, 0.03])
    s = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
    pred = s.argmax(axis=1)
    effect = count_swap_effect(y, pred, c)
    assert effect["accuracy"] == pytest.approx(1 / n)

    def macro(p: np.ndarray) -> np.ndarray:
        kw = {"labels": np.arange(c), "average": "macro", "zero_division": 0}
        return np.array(precision_recall_fscore_support(y, p, **kw)[:3])

    base = macro(pred)
    runner_up = np.argsort(s, axis=1)[:, -2]
    moved = []
    for i in np.flatnonzero(pred == y)[:150]:
        p = pred.copy()
        p[i] = runner_up[i]
        moved.append(np.abs(macro(p) - base))
    moved_mean = np.mean(moved, axis=0)
    n_c = np.bincount(y, minlength=c)
    assert effect["macro_recall"] == pytest.approx(np.sum(n_c / n * (1 / c) / n_c))
    for j, key in enumerate(("macro_precision", "macro_recall", "macro_f1")):
        assert 0.4 * moved_mean[j] < effect[key] < 2.5 * moved_mean[j], key

    ym = rng.random((200, 4)) < 0.3
    pm = ym ^ (rng.random((200, 4)) < 0.1)
    ml = multilabel_swap_effect(ym, pm)
    assert ml["hamming_loss"] == pytest.approx(1 / 800)
    assert ml["macro_recall"] == pytest.approx(float((ym.sum(0) / ym.sum()) @ (0.25 / ym.sum(0))))


def test_the_least_effect_floors_the_interval() -> None:
    out = influence_delta(np.zeros(100), 0.0, least=0.01)
    assert out["se"] == pytest.approx(1.959964 * 0.01, rel=1e-5)
    assert out["low"] == pytest.approx(-(1.959964**2) * 0.01, rel=1e-5)
    assert out["p"] == 1.0
    wide = influence_delta(np.r_[np.full(50, 0.05), np.full(50, -0.05)], 0.0, least=0.001)
    assert wide["se"] == influence_delta(np.r_[np.full(50, 0.05), np.full(50, -0.05)], 0.0)["se"]


def test_the_delete_one_jackknife_of_a_mean_is_its_standard_error() -> None:
    from assay.metrics.paired import jackknife_groups, jackknife_se, normal_delta

    x = np.random.default_rng(2).normal(size=40)
    w = jackknife_groups(40, 50, 0)  # 40 groups of one: delete-one
    assert w.shape == (40, 40) and np.all(w.sum(axis=1) == 39)
    means = (w @ x) / w.sum(axis=1)
    assert jackknife_se(means) == pytest.approx(x.std(ddof=1) / np.sqrt(40), rel=1e-12)
    grouped = jackknife_groups(1000, 50, 3)
    assert grouped.shape == (50, 1000) and set(grouped.sum(axis=1)) == {980.0}
    # a larger second SE is used, and the interval and p still agree
    reps = np.random.default_rng(1).normal(0.1, 0.02, 200)
    plain = normal_delta(reps, 0.05)
    wide = normal_delta(reps, 0.05, least_se=3 * plain["se"])
    assert wide["se"] == pytest.approx(3 * plain["se"]) and wide["p_mc"] == 0.0
    assert (wide["low"] > 0) == (wide["p"] < 0.05) and wide["p"] > plain["p"]


def test_auc_pair_variance_is_the_pair_kernels_variance_over_pairs() -> None:
    """Per class, sigma_11^2 / (m n) of psi = h_B - h_A over the (positive, negative) pairs,
    ties counted half, averaged as the macro AUC is (brute force on a small case with ties)."""
    from assay.metrics.paired import auc_pair_variance

    rng = np.random.default_rng(6)
    n, c = 60, 3
    y = rng.integers(0, c, n)
    sa = np.round(rng.random((n, c)), 1)  # ties on purpose
    sb = np.clip(sa + rng.choice([-0.1, 0.0, 0.0, 0.1], (n, c)), 0, 1)

    def h(s: np.ndarray, i: int, j: int) -> float:
        return 1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0

    want = 0.0
    for k in range(c):
        pos, neg = np.flatnonzero(y == k), np.flatnonzero(y != k)
        psi = np.array([h(sb[:, k], i, j) - h(sa[:, k], i, j) for i in pos for j in neg])
        want += max(float(np.mean(psi**2) - np.mean(psi) ** 2), 0.0) / psi.size
    assert auc_pair_variance(y, sa, sb) == pytest.approx(want / c**2, rel=1e-12)
    onehot = np.eye(c, dtype=bool)[y]
    assert auc_pair_variance(onehot, sa, sb, multilabel=True) == pytest.approx(want / c**2)
    assert auc_pair_variance(y, sa, sa) == 0.0


def test_ap_excess_variance_takes_off_what_the_sum_counts_twice() -> None:
    """Between an INT8-like pair (B = A's logits with its own tiny jitter), the per-sample sum
    of AP's influence overstates the difference's variance, and taking
    :func:`ap_excess_variance` off (as :func:`influence_delta` does) brings it back: over
    seeded datasets, the spread of B - A in units of its SE is below 0.9 without it (the
    test rejects ~1 % of these equal pairs) and within 0.9-1.1 with it."""
    from assay.metrics.paired import ap_excess_variance
    from tests import _simulate as sim

    pop, n = sim.make_population(5), 300
    key = "average_precision_macro"
    z_plain, z_fixed = [], []
    for i in range(200):
        rng = np.random.default_rng([41, i])
        y = sim.draw_labels(pop, n, rng)
        base = sim.logit_noise(pop, n, None, rng)
        sa = sim.scores(pop, y, None, rng, base=base, jitter=0.02)
        sb = sim.scores(pop, y, None, rng, base=base, jitter=0.02)
        infl = ranking_influence(y, sb)[key] - ranking_influence(y, sa)[key]
        d = ClassificationResults(y, sb).summary()[key]
        d -= ClassificationResults(y, sa).summary()[key]
        z_plain.append(d / influence_delta(infl, d)["se"])
        less = ap_excess_variance(y, sa, sb, infl)
        z_fixed.append(d / influence_delta(infl, d, less=less)["se"])
    assert np.std(z_plain, ddof=1) < 0.9
    assert 0.9 < np.std(z_fixed, ddof=1) < 1.1


def test_ap_excess_variance_edges() -> None:
    """The same answer each time (seeded halves), 0 for two identical models, below 8
    samples and above the cap, and a number for multi-label scores."""
    from assay.metrics import paired
    from assay.metrics.paired import ap_excess_variance

    rng = np.random.default_rng(9)
    n, c = 200, 4
    y = rng.integers(0, c, n)
    sa = rng.random((n, c))
    sb = np.clip(sa + rng.normal(0, 0.05, (n, c)), 0, 1)
    key = "average_precision_macro"
    infl = ranking_influence(y, sb)[key] - ranking_influence(y, sa)[key]
    first = ap_excess_variance(y, sa, sb, infl)
    assert first >= 0.0 and ap_excess_variance(y, sa, sb, infl) == first
    assert ap_excess_variance(y, sa, sa, np.zeros(n)) == 0.0
    assert ap_excess_variance(y[:7], sa[:7], sb[:7], infl[:7]) == 0.0
    onehot = np.eye(c, dtype=bool)[y]
    ml = ranking_influence(onehot, sb, multilabel=True)[key]
    ml = ml - ranking_influence(onehot, sa, multilabel=True)[key]
    assert math.isfinite(ap_excess_variance(onehot, sa, sb, ml, multilabel=True))
    cap = paired.HALF_EXCESS_CELLS
    try:
        paired.HALF_EXCESS_CELLS = n * c - 1
        assert ap_excess_variance(y, sa, sb, infl) == 0.0
    finally:
        paired.HALF_EXCESS_CELLS = cap


def test_stratified_variance_is_the_sum_of_each_strata_unbiased_variance() -> None:
    rng = np.random.default_rng(12)
    strata = np.repeat([0, 1, 2, 3], [40, 7, 2, 1])
    rng.shuffle(strata)
    infl = rng.normal(size=strata.size) + strata
    var, df = stratified_variance(infl, strata)
    parts = []
    for s in range(4):
        x = infl[strata == s]
        parts.append(x.size * x.var(ddof=1) if x.size > 1 else float(x[0] ** 2))
    assert var == pytest.approx(sum(parts), rel=1e-12)
    sizes = np.array([40, 7, 2])
    assert df == pytest.approx(sum(parts) ** 2 / sum(np.array(parts[:3]) ** 2 / (sizes - 1)))
    # a stratum-constant influence has no within-stratum variance: nothing left, no df
    assert stratified_variance(np.array([1.0, 1.0, -2.0, -2.0]), np.array([0, 0, 1, 1])) == (
        0.0,
        math.inf,
    )


def test_influence_delta_with_strata_reads_student_t_and_still_agrees() -> None:
    from scipy.stats import t as student

    rng = np.random.default_rng(5)
    strata = rng.integers(0, 5, 300)
    infl = rng.normal(scale=0.01, size=300) * (1 + 3 * (strata == 4))
    for d in (0.0, 0.004, 0.02, -0.05):
        r = influence_delta(infl, d, strata=strata, margin=0.01)
        var, df = stratified_variance(infl, strata)
        q = student.ppf(0.975, df)
        assert r["df"] == df and r["se"] == pytest.approx(math.sqrt(var))
        assert r["low"] == pytest.approx(d - q * r["se"]) and r["high"] == pytest.approx(
            d + q * r["se"]
        )
        assert r["p"] == pytest.approx(2 * student.sf(abs(d) / r["se"], df))
        assert (r["p"] < 0.05) == (r["low"] > 0 or r["high"] < 0)
        assert r["p_lower"] == pytest.approx(student.sf((d + 0.01) / r["se"], df))
    plain = influence_delta(infl, 0.004)
    assert plain["df"] == math.inf and plain["low"] == pytest.approx(0.004 - 1.959964 * plain["se"])
