"""Intervals of one evaluation: coverage of the population value by seeded simulation (few
classes, and 1,000 classes with few rows each), and the cluster bootstrap of a ``group`` column."""

from __future__ import annotations

import numpy as np
import pytest

from assay.errors import InputError
from assay.evaluation.classification import ClassificationResults
from assay.metrics.bootstrap import interval_replicates
from assay.metrics.stats import percentile_intervals


def hard_data(rng: np.random.Generator, n: int, n_classes: int, q: float):
    """Classes equally likely; the model names the true class with probability ``q``, else one
    of the others at random (score 0.9 on the named class, the rest shared). Symmetric in the
    classes: every class's precision, recall and F1 is ``q`` in the population, so are the
    accuracy and each macro average."""
    y = rng.integers(0, n_classes, n)
    wrong = rng.random(n) >= q
    pred = np.where(wrong, (y + rng.integers(1, n_classes, n)) % n_classes, y)
    s = np.full((n, n_classes), 0.1 / (n_classes - 1), dtype=np.float32)
    s[np.arange(n), pred] = 0.9
    return y, pred, s


def estimates(y: np.ndarray, pred: np.ndarray, n_classes: int) -> dict[str, float]:
    """Accuracy and macro precision / recall / F1 (every class has rows and predictions)."""
    tp = np.bincount(y[pred == y], minlength=n_classes).astype(float)
    npred = np.bincount(pred, minlength=n_classes)
    ntrue = np.bincount(y, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(npred > 0, tp / npred, 0.0)
        r = np.where(ntrue > 0, tp / ntrue, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    present = ntrue > 0
    return {
        "accuracy": float(np.mean(pred == y)),
        "macro_precision": float(p[present].mean()),
        "macro_recall": float(r[present].mean()),
        "macro_f1": float(f[present].mean()),
    }


def coverage(n_classes, n, q, datasets, *, seed=0, replicates=200):
    """Per method (centred, as ``intervals()`` reads P / R / F1; percentile) and metric: the
    share of ``datasets`` simulated evaluations whose interval holds the population value ``q``;
    and per metric the share whose centred interval holds its own estimate."""
    rng = np.random.default_rng(seed)
    hits: dict[str, dict[str, int]] = {"centred": {}, "percentile": {}}
    holds: dict[str, int] = {}
    for d in range(datasets):
        y, pred, s = hard_data(rng, n, n_classes, q)
        est = estimates(y, pred, n_classes)
        reps, scale = interval_replicates(y, s, 0.0, n=replicates, seed=d, ranking=False)
        for method, h in hits.items():
            for k, c in percentile_intervals(reps, est, scale=scale, method=method).items():
                assert c is not None
                h[k] = h.get(k, 0) + (c["low"] <= q <= c["high"])
                if method == "centred":
                    holds[k] = holds.get(k, 0) + (c["low"] <= est[k] <= c["high"])
    share = {m: {k: v / datasets for k, v in h.items()} for m, h in hits.items()}
    return share, {k: v / datasets for k, v in holds.items()}


def test_coverage_near_95_percent_at_five_classes():
    cov, holds = coverage(5, 500, 0.7, 200)
    assert min(holds.values()) == 1.0
    for key, c in cov["centred"].items():  # 200 datasets: a standard error of 1.5 points
        assert 0.91 <= c <= 0.985, (key, c)


def test_coverage_near_95_percent_at_a_thousand_classes():
    # 1,000 classes x 30 rows: each class's F1 is biased by O(1 / 30), a bias the macro average
    # keeps while its spread shrinks; the percentile interval, centred on the replicates,
    # doubles it and misses the population value in most runs, the centred one removes it
    cov, holds = coverage(1000, 30_000, 0.8, 30, seed=1, replicates=100)
    assert min(holds.values()) == 1.0
    for key, c in cov["centred"].items():  # 30 datasets: a standard error of 4 points
        assert 0.86 <= c <= 1.0, (key, c)
    assert cov["percentile"]["macro_f1"] <= 0.5


def clustered(rng: np.random.Generator, n_groups: int, size: int):
    """Two-class data where each group (a patient) shares one chance of being right: rows
    within a group are strongly correlated. The population accuracy is 0.75."""
    p_right = rng.choice([0.5, 1.0], n_groups)  # each group: a coin or always right
    groups = np.repeat(np.arange(n_groups), size)
    y = rng.integers(0, 2, n_groups * size)
    right = rng.random(n_groups * size) < p_right[groups]
    pred = np.where(right, y, 1 - y)
    s = np.where(pred[:, None] == np.arange(2), 0.8, 0.2)
    return y, s, groups


def test_group_resampling_is_wider_and_covers_where_row_resampling_does_not():
    rng = np.random.default_rng(5)
    hits = {"rows": 0, "groups": 0}
    ratio = []
    runs = 80
    for d in range(runs):
        y, s, groups = clustered(rng, 40, 25)
        est = {"accuracy": float(np.mean(s.argmax(axis=1) == y))}
        ci = {}
        for how, g in (("rows", None), ("groups", groups)):
            reps, scale = interval_replicates(y, s, 0.0, n=200, seed=d, groups=g, ranking=False)
            ci[how] = percentile_intervals(reps, est, scale=scale, method="percentile")["accuracy"]
            hits[how] += ci[how]["low"] <= 0.75 <= ci[how]["high"]
        width = {k: c["high"] - c["low"] for k, c in ci.items()}
        ratio.append(width["groups"] / width["rows"])
    assert np.median(ratio) > 1.8  # the design effect: 1 + (25 - 1) * ICC, about 4 here
    assert hits["groups"] / runs >= 0.88
    assert hits["rows"] / runs <= 0.75


def test_groups_are_kept_and_persisted():
    y, s, groups = clustered(np.random.default_rng(0), 10, 4)
    keys = np.array([f"patient-{g}" for g in groups], dtype=object)
    r = ClassificationResults(y, s, groups=keys)
    assert r.groups is not None and r.groups.tolist() == keys.tolist()
    arrays, meta = r.arrays()
    back = ClassificationResults.from_arrays(arrays, meta)
    assert back.groups is not None and back.groups.tolist() == keys.tolist()
    assert back.intervals(n=50) == r.intervals(n=50)  # the same whole-group resamples
    assert ClassificationResults(y, s).groups is None
    with pytest.raises(InputError, match="groups has 3 entries, expected 40"):
        ClassificationResults(y, s, groups=["a", "b", "c"])


def test_a_group_column_reaches_the_evaluation(tmp_path):
    from assay.evaluation.run import evaluate_files

    gt = tmp_path / "gt.csv"
    pred = tmp_path / "pred.csv"
    gt.write_text("id,label,group\n" + "".join(f"{i},{'ab'[i % 2]},p{i // 4}\n" for i in range(40)))
    pred.write_text("id,a,b\n" + "".join(f"{i},0.7,0.3\n" for i in range(40)))
    run = evaluate_files(gt, pred)
    r = run.results
    assert isinstance(r, ClassificationResults) and r.groups is not None
    assert r.groups.tolist() == [f"p{i // 4}" for i in range(40)]
    back = ClassificationResults.from_arrays(*r.arrays())
    assert back.groups is not None and back.groups.tolist() == r.groups.tolist()
