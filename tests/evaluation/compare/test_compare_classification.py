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


def test_no_changed_prediction_still_leaves_an_interval() -> None:
    """The FP32 / INT8 case with not one prediction changed: the count metrics' intervals are
    as wide as z^2 changed predictions leave open (accuracy's Tango interval at no discordant
    pair, +- z^2 / N), never [0, 0]; the ranking rows, whose scores moved, keep theirs."""
    a, _ = _pair(600, 1.2, 1.2, seed=5)
    jitter = np.random.default_rng(9).normal(0, 1e-4, a.y_score.shape)
    s = np.clip(a.y_score + jitter, 1e-9, None)
    b = ClassificationResults(a.y_true, s / s.sum(axis=1, keepdims=True), classes=CLASSES,
                              sample_ids=a.sample_ids)  # fmt: skip
    out = compare_classification(a, b)
    assert out["disagreements"]["prediction_changed"] == 0
    acc = _row(out, "accuracy")
    acc_half = (acc["high"] - acc["low"]) / 2
    assert acc_half == pytest.approx(1.96**2 / 600, rel=0.1)
    for metric in ("macro_f1", "macro_precision", "macro_recall"):
        row = _row(out, metric)
        assert row["delta"] == 0 and row["p_value"] == 1.0 and not row["significant"]
        half = (row["high"] - row["low"]) / 2
        # four balanced classes: one changed prediction moves a macro ratio about as much as
        # it moves accuracy
        assert 0.5 * acc_half < half < 2.0 * acc_half, (metric, half, acc_half)
        assert row["mde"] >= half


def test_equal_models_are_rarely_called_different() -> None:
    """Over many pairs of equally good models, the family of headline rows (Holm) gives a false
    "B is better / worse" verdict in at most about 5 % of comparisons, and each row's own test
    rejects about 5 % (the simulation with its Monte-Carlo errors is
    benchmarks/compare_statistics.py)."""
    false_verdicts = raw = tested = 0
    trials = 30
    for seed in range(trials):
        a, b = _pair(200, 1.0, 1.0, seed=1000 + 3 * seed)
        out = compare_classification(a, b, n=60)
        false_verdicts += any(not v.startswith("No significant") for v in out["verdicts"])
        for row in out["metrics"]:
            raw += row["p_value"] < 0.05
            tested += 1
    assert false_verdicts / trials <= 0.06, false_verdicts
    assert 0.01 <= raw / tested <= 0.10, (raw, tested)


def _agree(rows: list[dict], alpha: float = 0.05) -> int:
    """How many rows have an interval and a p; asserts each excludes 0 exactly when p < alpha."""
    n = 0
    for r in rows:
        p, lo, hi = r.get("p_value"), r.get("low"), r.get("high")
        if p is None or lo is None or abs(p - alpha) < 1e-9:
            continue
        assert (p < alpha) == (lo > 0 or hi < 0), r
        n += 1
    return n


def test_intervals_and_p_values_agree_for_every_row_kind() -> None:
    """Accuracy (Tango / McNemar), the analytic rows (normal interval / z-test) and per-class
    recall (Tango / McNemar): the interval excludes 0 exactly when p < 0.05, over random pairs
    from equal to clearly different, at 95 % and 90 %."""
    checked = 0
    rng = np.random.default_rng(11)
    for seed in range(10):
        a, b = _pair(int(rng.integers(80, 300)), 1.0, float(rng.uniform(0.8, 1.6)), seed=seed)
        out = compare_classification(a, b, n=60, seed=seed)
        checked += _agree(out["metrics"]) + _agree(out["per_class"])
        kinds = {r["test"] for r in out["metrics"]}
        assert kinds == {"Tango score (McNemar)", "delta method (normal)", "DeLong (normal)",
                         "delta method within classes (Student t)"}  # fmt: skip
    assert checked > 10 * 10
    a, b = _pair(300, 1.0, 1.3, seed=99)
    wide = compare_classification(a, b, n=100, level=0.9)
    assert _agree(wide["metrics"], alpha=0.1) == 8


def test_the_family_and_the_primary_metric() -> None:
    """Verdicts and 'significant' use Holm across the headline rows; the primary metric's own p
    is given too; the quick answer counts untested rows as p = 1 (the family keeps its size)."""
    a, b = _pair(600, 1.0, 1.25, seed=21)
    out = compare_classification(a, b, n=200)
    fam = out["family"]
    assert fam["primary"] == "accuracy" and fam["adjustment"] == "holm"
    assert len(fam["headline"]) == 8 and fam["untested"] == 0
    rows = out["metrics"]
    assert rows[0]["primary"] and not any(r["primary"] for r in rows[1:])
    assert fam["primary_p"] == rows[0]["p_value"]
    for r in rows:
        assert r["p_holm"] >= r["p_value"] and r["significant"] == (r["p_holm"] < 0.05)
    assert "Holm over 8 headline metrics" in out["verdicts"][0]
    quick = compare_classification(a, b, intervals=False)
    acc = quick["metrics"][0]
    # accuracy and top-1 accuracy (both paired proportions, Tango / McNemar) need no resampling
    assert quick["family"]["untested"] == 6
    assert quick["metrics"][1]["metric"] == "top1_accuracy" and quick["metrics"][1]["p_value"]
    assert acc["p_holm"] == pytest.approx(min(1.0, 8 * acc["p_value"]))


def test_margin_noninferiority_and_equivalence() -> None:
    """--margin semantics: B a little different from A on many samples is equivalent within a
    wide margin and non-inferior; B far worse is neither; the margin is in points for accuracy
    and in raw units for AUC; the MDE is the test's 80 %-power difference."""
    from assay.evaluation.compare import compare

    a, b = _pair(3000, 1.2, 1.2, seed=31)
    out = compare(a, b, n=100, margin=5.0, margin_metrics=("accuracy", "roc_auc_macro"))
    got = {m["metric"]: m for m in out["margin"]["metrics"]}
    acc, auc = got["accuracy"], got["roc_auc_macro"]
    assert acc["margin"] == pytest.approx(0.05) and auc["margin"] == 5.0
    assert acc["equivalent"] and acc["noninferior"] and acc["worst_drop"] < 0.05
    assert acc["tost_low"] > -0.05 and acc["tost_high"] < 0.05
    # Holm: AUC (the smaller p) is the first step, accuracy the last
    assert auc["worst_level"] == pytest.approx(1 - 0.05 / 2) and acc["worst_level"] == 0.95
    assert any(v.startswith("B is equivalent to A within ±5 points on accuracy")
               for v in out["margin"]["verdicts"])  # fmt: skip
    row = _row(out, "accuracy")
    half = max(row["high"] - row["delta"], row["delta"] - row["low"])
    assert row["mde"] == pytest.approx(
        (1.959964 + 0.841621) * max(row["se"], half / 1.959964), rel=1e-5
    )
    weak, strong = _pair(1500, 0.8, 1.8, seed=32)
    worse = compare(strong, weak, n=100, margin=1.0)
    (m,) = worse["margin"]["metrics"]
    assert not m["noninferior"] and not m["equivalent"] and m["worst_drop"] > 0.01
    assert worse["margin"]["verdicts"][1].startswith(
        "B is not shown non-inferior to A on accuracy at a margin of 1 points"
    )


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


def test_grouped_samples_resample_groups() -> None:
    """When both evaluations group their samples (patients, videos), the bootstrap resamples
    groups and accuracy uses it too (McNemar assumes independent samples): with whole groups
    right or wrong together the interval is wider than the sample-level one, and it still
    agrees with its p; groups that differ between A and B are refused."""
    rng = np.random.default_rng(41)
    n, size = 600, 20
    groups = np.repeat(np.arange(n // size), size)
    y = rng.integers(0, len(CLASSES), n)
    hard = rng.random(n // size)[groups]  # how hard each group is, shared by its samples

    def model(seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        logits = r.normal(size=(n, len(CLASSES)))
        logits[np.arange(n), y] += 3.0 * (r.random(n // size)[groups] > hard)
        return logits

    ids = np.array([f"s{i}" for i in range(n)])
    a = ClassificationResults(y, _softmax(model(1)), classes=CLASSES, sample_ids=ids, groups=groups)
    b = ClassificationResults(y, _softmax(model(2)), classes=CLASSES, sample_ids=ids, groups=groups)
    grouped = compare_classification(a, b, n=200)
    assert grouped["resampled"] == "groups"
    acc = _row(grouped, "accuracy")
    assert acc["test"] == "group bootstrap (normal)"
    plain_a = ClassificationResults(y, a.y_score, classes=CLASSES, sample_ids=ids)
    plain_b = ClassificationResults(y, b.y_score, classes=CLASSES, sample_ids=ids)
    plain = compare_classification(plain_a, plain_b, n=200)
    assert plain["resampled"] == "samples"
    assert acc["high"] - acc["low"] > 1.5 * (
        _row(plain, "accuracy")["high"] - _row(plain, "accuracy")["low"]
    )
    assert _agree(grouped["metrics"]) >= 7 and _agree(grouped["per_class"]) >= 1
    other = ClassificationResults(
        y, b.y_score, classes=CLASSES, sample_ids=ids, groups=groups[::-1]
    )
    with pytest.raises(InputError, match="group their samples differently"):
        compare_classification(a, other)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_new_threshold_reuses_the_ranking_variances(monkeypatch: pytest.MonkeyPatch) -> None:
    """What no threshold changes (the variances the AUC and AP sums count twice) is computed
    once per pair: a comparison at another threshold reuses it and gives the same AUC / AP
    rows."""
    from assay.evaluation.compare import classification as module
    from assay.evaluation.results import OperatingPoint

    calls = []
    real = module.ap_excess_variance

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "ap_excess_variance", counted)
    rng = np.random.default_rng(11)
    y = rng.integers(0, 3, 400)
    base = rng.normal(size=(400, 3)) + 1.5 * np.eye(3)[y]
    a = ClassificationResults(y, _softmax(base))
    b = ClassificationResults(y, _softmax(base + rng.normal(0, 0.05, base.shape)))
    first = compare_classification(a, b)
    again = compare_classification(a, b, at_a=OperatingPoint(threshold=0.6),
                                   at_b=OperatingPoint(threshold=0.6))  # fmt: skip
    assert len(calls) == 1
    rows = {r["metric"]: r for r in first["metrics"]}
    rows_again = {r["metric"]: r for r in again["metrics"]}
    for key in ("roc_auc_macro", "average_precision_macro"):
        assert rows_again[key]["se"] == rows[key]["se"]
