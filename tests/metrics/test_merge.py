"""assay.metrics.merge: per-shard states merge to the whole-array numbers, ties included
(oracles: scikit-learn's roc_auc_score / average_precision_score, numpy.quantile, the in-memory
sweep of assay.metrics.cells)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from assay.metrics import merge as mg
from assay.metrics.calibration import expected_calibration_error
from assay.metrics.cells import sweep


def _split(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``k`` row sets covering range(n) in a random order (some may be empty)."""
    cuts = np.sort(rng.integers(0, n + 1, k - 1))
    return np.split(rng.permutation(n), cuts)


@pytest.mark.parametrize("k", [1, 2, 7])
@pytest.mark.parametrize("decimals", [1, 2, None])  # heavy ties, some ties, none
def test_auc_ap_from_runs_equal_scikit_learn(k: int, decimals: int | None) -> None:
    rng = np.random.default_rng(k * 10 + (decimals or 0))
    n, C = 400, 5
    s = rng.random((n, C))
    if decimals is not None:
        s = np.round(s, decimals)
    y = rng.integers(0, C - 1, n)  # the last class has no positives
    parts = _split(n, k, rng)
    runs = [mg.class_runs(y[p], s[p]) for p in parts]
    for c in range(C):
        auc, ap = mg.auc_ap_from_runs(
            [r[0][r[1][c] : r[1][c + 1]] for r in runs],
            [r[2][r[3][c] : r[3][c + 1]] for r in runs],
        )
        if c == C - 1:
            assert np.isnan(auc) and np.isnan(ap)
            continue
        assert auc == pytest.approx(roc_auc_score(y == c, s[:, c]), abs=1e-12)
        assert ap == pytest.approx(average_precision_score(y == c, s[:, c]), abs=1e-12)


def test_auc_from_runs_all_positive_is_undefined_ap_is_one() -> None:
    auc, ap = mg.auc_ap_from_runs([np.array([0.2, 0.5])], [np.array([])])
    assert np.isnan(auc) and ap == 1.0


def test_class_runs_multilabel_split_each_column() -> None:
    y = np.array([[1, 0], [1, 1], [0, 0]], dtype=bool)
    s = np.array([[0.3, 0.1], [0.2, 0.9], [0.5, 0.4]])
    pos, pos_off, neg, neg_off = mg.class_runs(y, s, multilabel=True)
    assert pos.tolist() == [0.2, 0.3, 0.9] and pos_off.tolist() == [0, 2, 3]
    assert neg.tolist() == [0.5, 0.1, 0.4] and neg_off.tolist() == [0, 1, 3]


@pytest.mark.parametrize("decimals", [2, None])
def test_quantiles_from_runs_equal_numpy(decimals: int | None) -> None:
    rng = np.random.default_rng(5)
    x = rng.random(1001) ** 3
    if decimals is not None:
        x = np.round(x, decimals)
    q = np.linspace(0, 1, 201)
    runs = [np.sort(p) for p in np.array_split(rng.permutation(x), 6)]
    assert (mg.quantiles_from_runs(runs, q) == np.quantile(x, q)).all()
    # one value, and values including 0 and 1
    assert (mg.quantiles_from_runs([np.array([0.25])], q) == 0.25).all()
    y = np.array([0.0, 1.0, 1.0, 0.5])
    assert (mg.quantiles_from_runs([np.sort(y)], q) == np.quantile(y, q)).all()


def test_order_statistics_find_each_rank() -> None:
    rng = np.random.default_rng(2)
    x = np.round(rng.random(300), 2)
    runs = [np.sort(p) for p in np.array_split(x, 4)]
    ranks = np.arange(300)
    assert (mg.order_statistics(runs, ranks) == np.sort(x)).all()


@pytest.mark.parametrize("block", [1, 3, 1 << 18])
def test_merge_descending_keeps_ties_whole(block: int) -> None:
    rng = np.random.default_rng(block)
    x = np.round(rng.random(200), 1)
    tags = np.arange(200)
    runs, payloads = [], []
    for p in np.array_split(rng.permutation(200), 5):
        order = np.argsort(x[p], kind="stable")
        runs.append(x[p][order])
        payloads.append([tags[p][order]])
    seen: list[float] = []
    got_tags: list[int] = []
    for values, (t,) in mg.merge_descending(runs, payloads, block=block):
        assert (np.diff(values) <= 0).all()
        assert not seen or values[0] < seen[-1]  # a tie never straddles two batches
        assert (x[t] == values).all()
        seen.extend(values.tolist())
        got_tags.extend(t.tolist())
    assert sorted(got_tags) == list(range(200))


@pytest.mark.parametrize("metric", range(5))
@pytest.mark.parametrize("by_definition", [False, True])
def test_sweep_batches_equal_the_whole_sweep(metric: int, by_definition: bool) -> None:
    rng = np.random.default_rng(metric)
    n, C = 500, 6
    top = np.round(rng.random(n), 2)
    actual = rng.integers(0, C - 1, n)
    pred = np.where(rng.random(n) < 0.5, actual, rng.integers(0, C, n))
    n_true = np.bincount(actual, minlength=C)
    order = np.argsort(top, kind="stable")[::-1].copy()
    want = sweep(order, actual, pred, top, n_true, C, metric, by_definition)
    runs, payloads = [], []
    for p in np.array_split(rng.permutation(n), 7):
        o = np.argsort(top[p], kind="stable")
        runs.append(top[p][o])
        payloads.append([actual[p][o], pred[p][o]])
    state = mg.sweep_state(n_true)
    for values, (a, q) in mg.merge_descending(runs, payloads, block=16):
        mg.sweep_batch(state, values, a, q, n_true, n, metric, by_definition)
    assert state["floats"][4] == want[0]
    assert state["floats"][3] == pytest.approx(want[1], abs=1e-12)


def test_calibration_bins_add_up_to_the_ece() -> None:
    rng = np.random.default_rng(3)
    conf = rng.random(1000)
    correct = rng.random(1000) < conf
    bins = sum(mg.calibration_bins(conf[p], correct[p]) for p in np.array_split(np.arange(1000), 3))
    ece = np.abs(bins[2] - bins[1]).sum() / bins[0].sum()
    assert ece == pytest.approx(expected_calibration_error(conf, correct), abs=1e-12)


def test_cells_at_counts_at_or_above() -> None:
    top = np.array([0.1, 0.5, 0.5, 0.9])
    m = mg.cells_at(top, np.array([0, 1, 0, 1]), np.array([0, 1, 1, 0]), 0.5, 2)
    assert m.tolist() == [[0, 1], [1, 1]]
    assert mg.cells_at(top, np.zeros(4, int), np.zeros(4, int), 0.95, 2).sum() == 0


def test_as_run_values_count_like_float64() -> None:
    rng = np.random.default_rng(9)
    run = np.sort(np.round(rng.random(500), 2).astype(np.float32))
    values = np.r_[np.round(rng.random(200), 2), run[:50].astype(np.float64), 0.0, 1.0]
    wide = run.astype(np.float64)
    for side in ("left", "right"):
        got = np.searchsorted(run, mg.as_run_values(values, run.dtype, side), side=side)
        assert (got == np.searchsorted(wide, values, side=side)).all()
    x = rng.random(300).astype(np.float32)
    q = np.linspace(0, 1, 201)
    assert (mg.quantiles_from_runs([np.sort(x)], q) == np.quantile(x.astype(np.float64), q)).all()
