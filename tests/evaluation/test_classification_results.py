"""ClassificationResults: threshold queries equal a from-scratch recomputation; API behaviour."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import (
    BELOW,
    NO_PREDICTION,
    ClassificationResults,
    evaluate_classification,
)

TOL = 1e-9


def data(seed=0, n=300, n_classes=4, decimals=2, dtype=np.float64, absent=False):
    rng = np.random.default_rng(seed)
    top = n_classes - 1 if absent else n_classes
    y = rng.integers(0, top, n)
    logits = rng.normal(size=(n, n_classes)) * 1.5
    logits[np.arange(n), y] += 1.5
    s = np.exp(logits)
    s /= s.sum(axis=1, keepdims=True)
    if decimals is not None:
        s = np.round(s, decimals)
    return y, s.astype(dtype)


def reference(y, s, t):
    """Everything at threshold t, from scratch."""
    C = s.shape[1]
    kept = s.max(axis=1) >= s.dtype.type(t)
    pred = np.where(kept, s.argmax(axis=1), -1)
    m = np.zeros((C, C + 1), dtype=int)
    for a, p in zip(y, pred, strict=True):
        m[a, p if p >= 0 else C] += 1
    return pred, m


@settings(max_examples=20, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(2, 7),
    st.sampled_from([None, 1, 2]),
    st.sampled_from([np.float32, np.float64]),
    st.booleans(),
    st.lists(st.sampled_from([0.0, 0.1, 0.35, 0.5, 0.7, 0.95, 1.0]), min_size=1, max_size=3),
)
def test_threshold_queries_equal_recomputation(seed, C, dec, dtype, absent, thresholds):
    y, s = data(seed, 150, C, dec, dtype, absent)
    r = ClassificationResults(y, s)
    for t in thresholds:
        pred, m = reference(y, s, t)
        cm = r.confusion_matrix(t)
        if t > 0:
            assert cm["columns"][-1] == BELOW
            assert np.array_equal(np.array(cm["matrix"]), m)
        else:
            assert np.array_equal(np.array(cm["matrix"]), m[:, :C])
        pc = r.per_class(t)
        for c in range(C):
            d = pc[str(c)]
            assert d["tp"] == np.sum((y == c) & (pred == c))
            assert d["fp"] == np.sum((y != c) & (pred == c))
            assert d["fn"] == np.sum((y == c) & (pred != c))
            assert d["total_labeled"] == np.sum(y == c)
        summ = r.summary(t)
        assert summ["accuracy"] == pytest.approx(np.mean(pred == y), abs=TOL)
        present = [c for c in range(C) if np.any(y == c) or np.any(pred == c)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, rec, f, _ = skm.precision_recall_fscore_support(
                y, pred, labels=present, average="macro", zero_division=0
            )
        assert summ["macro_f1"] == pytest.approx(f, abs=TOL)
        assert summ["macro_precision"] == pytest.approx(p, abs=TOL)
        assert summ["macro_recall"] == pytest.approx(rec, abs=TOL)
        # probability normalisation: mean column-class score in each cell
        prob = r.confusion_matrix(t, normalize="probability")["matrix"]
        for a in range(C):
            for q in range(C):
                sel = (y == a) & (pred == q)
                if sel.any():
                    assert prob[a][q] == pytest.approx(s[sel, q].mean(), abs=1e-6)
                else:
                    assert prob[a][q] is None


def test_summary_matches_sklearn_at_zero():
    y, s = data(1, 400, 7, None)
    r = ClassificationResults(y, s, threshold=0.0)
    summ = r.summary()
    rep = skm.classification_report(y, s.argmax(1), output_dict=True, zero_division=0)
    assert summ["accuracy"] == pytest.approx(rep["accuracy"], abs=TOL)
    assert summ["macro_f1"] == pytest.approx(rep["macro avg"]["f1-score"], abs=TOL)
    assert summ["weighted_recall"] == pytest.approx(rep["weighted avg"]["recall"], abs=TOL)
    assert summ["top5_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, s, k=5), abs=TOL)
    assert summ["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score(y, s, multi_class="ovr"), abs=TOL
    )
    onehot = np.eye(7)[y]
    assert summ["average_precision_macro"] == pytest.approx(
        skm.average_precision_score(onehot, s), abs=TOL
    )
    assert summ["log_loss"] == pytest.approx(skm.log_loss(y, s), abs=TOL)
    assert summ["brier"] == pytest.approx(skm.brier_score_loss(y, s), abs=TOL)
    assert set(summ) >= {"n_samples", "n_classes", "ece", "micro_f1"}


def test_names_classes_and_absent_class():
    y, s = data(2, 200, 4, 2, absent=True)
    names = ["cat", "dog", "emu", "fox"]
    r = ClassificationResults([names[i] for i in y], s, names)
    assert r.classes == names
    pc = r.per_class(0.0)
    assert pc["fox"]["total_labeled"] == 0
    assert pc["fox"]["roc_auc"] is None and pc["fox"]["average_precision"] is None
    auc = [skm.roc_auc_score(y == c, s[:, c]) for c in range(3)]
    assert r.summary()["roc_auc_macro"] == pytest.approx(np.mean(auc), abs=TOL)
    assert ClassificationResults(["b", "a", "b"], [[0.2, 0.8]] * 3).classes == ["a", "b"]
    assert ClassificationResults([0, 1], [[0.2, 0.8]] * 2).classes == ["0", "1"]


def test_curves_equal_sklearn():
    y, s = data(3, 300, 3, 2)
    r = ClassificationResults(y, s)
    roc = r.roc_curve("1")
    fpr, tpr, thr = skm.roc_curve(y == 1, s[:, 1], drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr, atol=TOL)
    np.testing.assert_allclose(roc["tpr"], tpr, atol=TOL)
    np.testing.assert_array_equal(roc["thresholds"], thr)
    assert roc["auc"] == pytest.approx(skm.roc_auc_score(y == 1, s[:, 1]), abs=TOL)
    pr = r.pr_curve(1)
    p, rec, t = skm.precision_recall_curve(y == 1, s[:, 1])
    np.testing.assert_allclose(pr["precision"], p, atol=TOL)
    np.testing.assert_allclose(pr["recall"], rec, atol=TOL)
    np.testing.assert_array_equal(pr["thresholds"], t)
    tc = r.threshold_curves(1)
    assert tc["tpr"][-1] == 1.0 and tc["fpr"][-1] == 1.0
    d = r.density(1, bins=10)
    assert sum(d["positives"]) == np.sum(y == 1) and sum(d["negatives"]) == np.sum(y != 1)
    cal = r.calibration()
    assert len(cal["bins"]) == 15 and cal["ece"] == pytest.approx(r.summary()["ece"], abs=TOL)
    with pytest.raises(ParameterError):
        r.roc_curve("nope")


def test_optimal_threshold_is_best_on_the_grid():
    y, s = data(4, 250, 4, 2)
    r = ClassificationResults(y, s)
    grid = np.unique(s.max(axis=1))
    for metric, key in (("f1", "macro_f1"), ("micro_f1", "micro_f1"), ("accuracy", "accuracy")):
        best = max(r.summary(float(t))[key] for t in grid)
        opt = r.optimal_threshold(metric)
        assert opt["value"] == pytest.approx(best, abs=1e-12)
        assert opt["threshold"] in grid
    for metric in ("precision", "recall"):
        key = f"macro_{metric}"
        best = max(r.summary(float(t))[key] for t in grid)
        assert r.optimal_threshold(metric)["value"] == pytest.approx(best, abs=1e-12)
    with pytest.raises(ParameterError):
        r.optimal_threshold("auc")


def test_samples_filters_sort_paging():
    y, s = data(5, 200, 3, 2)
    ids = np.array([f"s{i}" for i in range(200)])
    r = ClassificationResults(y, s, ["a", "b", "c"], threshold=0.5, sample_ids=ids)
    pred, _ = reference(y, s, 0.5)
    res = r.samples(actual="a", predicted="b", limit=1000)
    assert res["total"] == np.sum((y == 0) & (pred == 1))
    assert all(it["actual"] == "a" and it["predicted"] == "b" for it in res["items"])
    below = r.samples(predicted=BELOW, limit=1000)
    assert below["total"] == np.sum(pred == -1)
    assert all(it["predicted"] is None for it in below["items"])
    for outcome, ref in (
        ("tp", (y == 2) & (pred == 2)),
        ("fp", (y != 2) & (pred == 2)),
        ("fn", (y == 2) & (pred != 2)),
    ):
        got = r.samples(outcome=outcome, label="c", limit=1000)
        assert sorted(it["index"] for it in got["items"]) == np.flatnonzero(ref).tolist()
        assert all(it["outcome"] == outcome for it in got["items"])
    errs = r.samples(errors_only=True, sort="confusion", limit=1000)
    assert errs["total"] == np.sum(pred != y)
    margins = [it["confidence"] - it["actual_confidence"] for it in errs["items"]]
    assert margins == sorted(margins, reverse=True)
    conf = r.samples(sort="confidence", descending=False, limit=1000)["items"]
    assert [it["confidence"] for it in conf] == sorted(it["confidence"] for it in conf)
    page = r.samples(sort="index", descending=False, offset=10, limit=5)
    assert [it["index"] for it in page["items"]] == list(range(10, 15))
    assert page["items"][0]["id"] == "s10"
    one = r.sample(3)
    assert list(one["scores"].values()) == sorted(one["scores"].values(), reverse=True)
    assert one["actual_rank"] == 1 + np.sum(s[3] > s[3, y[3]]) + np.sum(s[3, : y[3]] == s[3, y[3]])
    with pytest.raises(ParameterError):
        r.samples(sort="bogus")


def test_round_trip_and_json():
    y, s = data(6, 300, 8, 2, dtype=np.float32)
    r = evaluate_classification(y, s, threshold=0.4, folds=np.arange(300) % 3)
    r.bootstrap(n=30)
    r2 = ClassificationResults.from_arrays(*r.arrays())
    assert r2.summary() == r.summary()
    assert r2.per_class(0.2) == r.per_class(0.2)
    assert r2.confusion_matrix(0.6) == r.confusion_matrix(0.6)
    report = r.to_json()
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["confusion"]["columns"][-1] == BELOW
    assert set(report) >= {"task", "classes", "threshold", "summary", "per_class", "confusion"}
    assert "intervals" in report and "per_fold" in report
    assert "top5_accuracy" in report["summary"]
    pf = r.per_fold()
    assert set(pf["folds"]) == {"0", "1", "2"}
    accs = [pf["folds"][k]["accuracy"] for k in "012"]
    assert pf["mean"]["accuracy"] == pytest.approx(np.mean(accs))
    assert pf["std"]["accuracy"] == pytest.approx(np.std(accs))


def test_bootstrap_is_seeded_and_brackets_estimate():
    y, s = data(7, 500, 4, None)
    r = ClassificationResults(y, s)
    a = r.bootstrap(n=50, seed=1)
    assert a == r.bootstrap(n=50, seed=1)
    summ = r.summary()
    for k, ci in a.items():
        assert ci["low"] <= summ[k] + 1e-12 and summ[k] - 1e-12 <= ci["high"]
    capped = r.bootstrap(n=50, seed=1, cap=100)
    assert capped["accuracy"]["low"] <= summ["accuracy"] <= capped["accuracy"]["high"]


def test_multilabel_results():
    rng = np.random.default_rng(8)
    n, C = 200, 4
    y = rng.random((n, C)) < 0.3
    s = np.round(np.clip(rng.random((n, C)) * 0.7 + 0.3 * y, 0, 1), 2)
    r = ClassificationResults(y, s, ["a", "b", "c", "d"], multilabel=True)
    for t in (0.0, 0.3, 0.5, 0.77):
        pred = s >= t
        summ = r.summary(t)
        assert summ["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
        assert summ["hamming_loss"] == pytest.approx(skm.hamming_loss(y, pred), abs=TOL)
        f = skm.f1_score(y, pred, average="micro", zero_division=0)
        assert summ["micro_f1"] == pytest.approx(f, abs=TOL)
        pc = r.per_class(t)
        for c, name in enumerate("abcd"):
            assert pc[name]["tp"] == np.sum(pred[:, c] & y[:, c])
            assert pc[name]["fp"] == np.sum(pred[:, c] & ~y[:, c])
        cm = r.confusion_matrix(t)
        assert cm["columns"][-1] == NO_PREDICTION and len(cm["rows"]) == C + 1
    summ = r.summary()
    assert summ["log_loss"] == pytest.approx(skm.log_loss(y.ravel(), s.ravel()), abs=TOL)
    assert summ["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    assert summ["average_precision_macro"] == pytest.approx(
        skm.average_precision_score(y, s), abs=TOL
    )
    names = [[n for n, v in zip("abcd", row, strict=True) if v] for row in y]
    r2 = ClassificationResults(names, s, ["a", "b", "c", "d"], multilabel=True)
    assert r2.summary() == r.summary()
    got = r.samples(outcome="fn", label="b", threshold=0.5, limit=1000)
    assert got["total"] == np.sum(y[:, 1] & (s[:, 1] < 0.5))
    assert isinstance(r.sample(0)["actual"], list)
    assert r.optimal_threshold()["value"] >= r.summary(0.5)["macro_f1"] - 1e-12
    r.bootstrap(n=5)
    json.dumps(r.to_json(), allow_nan=False)
    r3 = ClassificationResults.from_arrays(*r.arrays())
    assert r3.per_class(0.4) == r.per_class(0.4)


@pytest.mark.parametrize(
    "y, s, msg",
    [
        ([0, 1], [[0.5, 0.5]], "shape"),
        ([0, 1], [[0.5, np.nan], [0.2, 0.8]], "NaN"),
        ([0, 1], [[0.5, 1.5], [0.2, 0.8]], r"in \[0, 1\]"),
        ([0, 2], [[0.5, 0.5], [0.2, 0.8]], "out of range"),
        (["a", "zz"], [[0.5, 0.5], [0.2, 0.8]], "unknown label"),
        ([0, 1], [0.5, 0.5], "matrix"),
    ],
)
def test_input_validation(y, s, msg):
    classes = ["a", "b"] if isinstance(y[0], str) else None
    with pytest.raises(InputError, match=msg):
        ClassificationResults(y, s, classes)


def test_query_parameter_errors():
    r = ClassificationResults([0, 1], [[0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(ParameterError):
        r.summary(1.5)
    with pytest.raises(ParameterError):
        r.confusion_matrix(normalize="all")
    with pytest.raises(InputError):
        ClassificationResults([0, 1], [[0.6, 0.4], [0.3, 0.7]], threshold=2)


@pytest.mark.parametrize("sort", ["confidence", "confusion"])
@pytest.mark.parametrize("descending", [True, False])
def test_sample_order_equals_a_stable_sort_of_the_selection(sort, descending):
    y, s = data(11, 400, 5, 1)  # rounded scores: many ties
    r = ClassificationResults(y, s, threshold=0.3)
    top = s.max(axis=1)
    margin = top - s[np.arange(len(y)), y]
    key = top if sort == "confidence" else margin
    pred = np.where(top >= 0.3, s.argmax(axis=1), -1)
    for selection, kwargs in (
        (np.ones(len(y), bool), {}),
        (pred != y, {"errors_only": True}),
        (y == 1, {"actual": r.classes[1]}),
    ):
        idx = np.flatnonzero(selection)
        ref = idx[np.argsort(-key[idx] if descending else key[idx], kind="stable")]
        got = r.samples(sort=sort, descending=descending, limit=1000, **kwargs)
        assert [it["index"] for it in got["items"]] == ref.tolist()
