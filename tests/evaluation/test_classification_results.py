"""ClassificationResults: the Results interface; threshold queries equal a from-scratch
recomputation; every metric against scikit-learn on randomized inputs (ties, absent classes,
binary, multi-label)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults, evaluate_classification
from assay.evaluation.dispatch import results_from_arrays
from assay.evaluation.results import OperatingPoint, Results
from assay.evaluation.vocabulary import (
    BELOW_THRESHOLD,
    CLASSIFICATION_OPTIMA,
    CLASSIFICATION_SORTS,
    CURVES,
    NO_LABEL,
)
from tests.sklearn_oracle import n_labels
from tests.sklearn_oracle import sk_default_averages as oracle

TOL = 1e-9


def at(t):
    return OperatingPoint(threshold=t)


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


def multi(seed=8, n=200, n_classes=4, decimals=2):
    rng = np.random.default_rng(seed)
    y = rng.random((n, n_classes)) < 0.3
    s = np.round(np.clip(rng.random((n, n_classes)) * 0.7 + 0.3 * y, 0, 1), decimals)
    return y, s


def reference(y, s, t):
    """Predictions and the confusion matrix at threshold t, from scratch."""
    C = s.shape[1]
    kept = s.max(axis=1) >= s.dtype.type(t)
    pred = np.where(kept, s.argmax(axis=1), -1)
    m = np.zeros((C, C + 1), dtype=int)
    for a, p in zip(y, pred, strict=True):
        m[a, p if p >= 0 else C] += 1
    return pred, m


def sk_averages(y, pred, n_classes):
    """scikit-learn's averages with ``zero_division=np.nan`` over all classes (None where
    undefined), and the number of classes where each metric is defined (the macro's span). A
    prediction of -1 ("Below threshold") is no class: an FN of the annotated class only."""
    labels = list(range(n_classes))
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero_division=nan never warns
        for avg in ("macro", "micro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(
                y, pred, labels=labels, average=avg, zero_division=np.nan
            )
            out.update({f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f})
        per = skm.precision_recall_fscore_support(
            y, pred, labels=labels, average=None, zero_division=np.nan
        )[:3]
    over = {
        k: int(np.isfinite(v).sum())
        for k, v in zip(("precision", "recall", "f1"), per, strict=True)
    }
    return {k: None if np.isnan(v) else float(v) for k, v in out.items()}, over


def sk_default_averages(y, pred, multilabel=False):
    """scikit-learn's default averages and how many labels each runs over."""
    n = n_labels(y, pred, multilabel)
    return oracle(y, pred, multilabel), {"precision": n, "recall": n, "f1": n}


def assert_summary_matches_sklearn(summ, y, pred, n_classes, *, default=False, ml=False):
    """``default``: scikit-learn's default averages; else ``zero_division=np.nan``'s."""
    ref, over = sk_default_averages(y, pred, ml) if default else sk_averages(y, pred, n_classes)
    for key, value in ref.items():
        if value is None:
            assert summ[key] is None, key
        else:
            assert summ[key] == pytest.approx(value, abs=TOL), key
    assert {k: summ["macro_over"][k] for k in over} == over
    return ref, over


def json_safe(answer):
    return json.loads(json.dumps(answer, allow_nan=False))


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
    r = ClassificationResults(y, s, zero_division=np.nan)
    r_default = ClassificationResults(y, s)
    for t in thresholds:
        pred, m = reference(y, s, t)
        cm = r.confusion(at(t))
        assert cm["threshold"] == t and cm["unit"] == "samples" and cm["task"] == "classification"
        if t > 0:
            assert cm["columns"][-1] == BELOW_THRESHOLD
            assert np.array_equal(np.array(cm["counts"]), m)
        else:
            assert np.array_equal(np.array(cm["counts"]), m[:, :C])
        assert cm["matrix"] == cm["counts"]
        items = r.per_class(at(t))["items"]
        for c in range(C):
            d = items[c]
            assert d["label"] == str(c)
            assert d["tp"] == np.sum((y == c) & (pred == c))
            assert d["fp"] == np.sum((y != c) & (pred == c))
            assert d["fn"] == np.sum((y == c) & (pred != c))
            assert d["total_labeled"] == np.sum(y == c)
        summ = r.summary(at(t))
        assert summ["accuracy"] == pytest.approx(np.mean(pred == y), abs=TOL)
        assert_summary_matches_sklearn(summ, y, pred, C)
        assert_summary_matches_sklearn(r_default.summary(at(t)), y, pred, C, default=True)
        # top-1 (argmax) accuracy never moves with the threshold: scikit-learn's accuracy_score
        assert summ["top1_accuracy"] == pytest.approx(skm.accuracy_score(y, s.argmax(1)), abs=TOL)
        prob = r.confusion(at(t), normalize="probability")["matrix"]
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
    rep = skm.classification_report(y, s.argmax(1), output_dict=True, zero_division=np.nan)
    assert summ["task"] == "classification" and summ["threshold"] == 0.0
    assert summ["accuracy"] == pytest.approx(rep["accuracy"], abs=TOL)
    assert summ["top1_accuracy"] == pytest.approx(rep["accuracy"], abs=TOL)
    assert summ["macro_f1"] == pytest.approx(rep["macro avg"]["f1-score"], abs=TOL)
    for avg in ("macro", "weighted"):
        for key in ("precision", "recall"):
            assert summ[f"{avg}_{key}"] == pytest.approx(rep[f"{avg} avg"][key], abs=TOL)
    assert summ["weighted_f1"] == pytest.approx(rep["weighted avg"]["f1-score"], abs=TOL)
    assert [x["k"] for x in summ["top_k"]] == [1, 3, 5]
    for x in summ["top_k"]:
        assert x["value"] == pytest.approx(skm.top_k_accuracy_score(y, s, k=x["k"]), abs=TOL)
    assert summ["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score(y, s, multi_class="ovr"), abs=TOL
    )
    onehot = np.eye(7)[y]
    assert summ["average_precision_macro"] == pytest.approx(
        skm.average_precision_score(onehot, s), abs=TOL
    )
    assert summ["log_loss"] == pytest.approx(skm.log_loss(y, s), abs=TOL)
    assert summ["brier"] == pytest.approx(skm.brier_score_loss(y, s), abs=TOL)
    assert summ["hamming_loss"] is None
    assert summ["macro_over"] == {
        "precision": 7,
        "recall": 7,
        "f1": 7,
        "roc_auc": 7,
        "average_precision": 7,
    }
    assert set(summ) >= {"n_samples", "n_classes", "ece", "micro_f1"}


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(3, 8),  # scikit-learn's binary top-k reads one score column (see test_binary)
    st.sampled_from([None, 1]),
    st.lists(st.integers(1, 10), min_size=1, max_size=4),
)
def test_top_k_any_k_matches_sklearn_including_ties(seed, C, dec, ks):
    y, s = data(seed, 120, C, dec)
    r = ClassificationResults(y, s, top_k=ks)
    got = {x["k"]: x["value"] for x in r.summary()["top_k"]}
    assert sorted(got) == sorted(set(ks))
    labels = np.arange(C)
    for k, value in got.items():
        if k >= C:
            assert value == 1.0  # every class is within the top k
            continue
        # scikit-learn ranks tied classes last-first; on reversed columns its rule is ours
        # (first class ahead), so this equality holds with ties.
        ref = skm.top_k_accuracy_score(C - 1 - y, s[:, ::-1], k=k, labels=labels)
        assert value == pytest.approx(ref, abs=TOL)
        if dec is None:  # no ties: the two rules agree
            assert value == pytest.approx(
                skm.top_k_accuracy_score(y, s, k=k, labels=labels), abs=TOL
            )
    assert got.get(1, r.summary()["top1_accuracy"]) == r.summary()["top1_accuracy"]


@pytest.mark.parametrize("bad", [[0], [1, -2], [1.5], ["3"], "1,3", [True], 3])
def test_top_k_validation(bad):
    with pytest.raises(ParameterError, match="top_k"):
        ClassificationResults([0, 1], [[0.6, 0.4], [0.3, 0.7]], top_k=bad)


def test_default_top_k_below_the_number_of_classes():
    assert ClassificationResults([0, 1], [[0.6, 0.4], [0.3, 0.7]]).top_k == [1]
    y, s = data(2, 50, 4)
    assert ClassificationResults(y, s).top_k == [1, 3]
    y, s = data(2, 50, 9)
    assert ClassificationResults(y, s).top_k == [1, 3, 5]


def test_names_classes_and_absent_class():
    y, s = data(2, 200, 4, 2, absent=True)
    names = ["cat", "dog", "emu", "fox"]
    r = ClassificationResults([names[i] for i in y], s, names)
    assert r.classes == names
    fox = r.per_class(at(0.0))["items"][3]
    assert fox["label"] == "fox" and fox["total_labeled"] == 0
    assert fox["roc_auc"] is None and fox["average_precision"] is None
    auc = [skm.roc_auc_score(y == c, s[:, c]) for c in range(3)]
    summ = r.summary()
    assert summ["roc_auc_macro"] == pytest.approx(np.mean(auc), abs=TOL)
    assert summ["macro_over"]["roc_auc"] == 3 and summ["macro_over"]["average_precision"] == 3
    assert ClassificationResults(["b", "a", "b"], [[0.2, 0.8]] * 3).classes == ["a", "b"]
    assert ClassificationResults([0, 1], [[0.2, 0.8]] * 2).classes == ["0", "1"]


def test_binary():
    y, s = data(12, 300, 2, 2)
    r = ClassificationResults(y, s, threshold=0.0)
    summ = r.summary()
    assert summ["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(y, s[:, 1]), abs=TOL)
    assert summ["brier"] == pytest.approx(skm.brier_score_loss(y, s[:, 1]), abs=TOL)
    f = skm.f1_score(y, s.argmax(1), average="macro")
    assert summ["macro_f1"] == pytest.approx(f, abs=TOL)
    assert summ["top_k"] == [{"k": 1, "value": summ["top1_accuracy"]}]


def test_curves_equal_sklearn():
    y, s = data(3, 300, 3, 2)
    r = ClassificationResults(y, s)
    roc = r.curve("roc", "1")
    assert roc["kind"] == "roc" and roc["label"] == "1"
    fpr, tpr, thr = skm.roc_curve(y == 1, s[:, 1], drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr, atol=TOL)
    np.testing.assert_allclose(roc["tpr"], tpr, atol=TOL)
    assert roc["thresholds"][0] is None  # sklearn's inf: above every score
    np.testing.assert_array_equal(roc["thresholds"][1:], thr[1:])
    assert roc["auc"] == pytest.approx(skm.roc_auc_score(y == 1, s[:, 1]), abs=TOL)
    assert roc["auc"] == r.per_class()["items"][1]["roc_auc"]
    pr = r.curve("pr", "1")
    p, rec, t = skm.precision_recall_curve(y == 1, s[:, 1])
    np.testing.assert_allclose(pr["precision"], p, atol=TOL)
    np.testing.assert_allclose(pr["recall"], rec, atol=TOL)
    np.testing.assert_array_equal(pr["thresholds"], t)
    assert pr["average_precision"] == pytest.approx(
        skm.average_precision_score(y == 1, s[:, 1]), abs=TOL
    )
    tc = r.curve("threshold", "1")
    assert tc["tpr"][-1] == 1.0 and tc["fpr"][-1] == 1.0 and tc["recall"] == tc["tpr"]
    d = r.curve("density", "1", bins=10)
    assert len(d["edges"]) == 11
    assert sum(d["positives"]) == np.sum(y == 1) and sum(d["negatives"]) == np.sum(y != 1)
    cal = r.curve("calibration")
    assert cal["label"] is None
    assert len(cal["bins"]) == 15 and cal["ece"] == pytest.approx(r.summary()["ece"], abs=TOL)
    assert len(r.curve("calibration", bins=4)["bins"]) == 4
    assert r.curve("roc")["label"] == "0"
    with pytest.raises(ParameterError, match="label"):
        r.curve("roc", "nope")
    with pytest.raises(ParameterError, match="kind"):
        r.curve("lift")
    with pytest.raises(ParameterError, match="bins"):
        r.curve("density", "1", bins=0)


def test_optimal_is_best_on_the_grid():
    y, s = data(4, 250, 4, 2)
    r = ClassificationResults(y, s)
    grid = np.unique(s.max(axis=1))
    keys = {"f1": "macro_f1", "precision": "macro_precision", "recall": "macro_recall"}
    for metric in CLASSIFICATION_OPTIMA:
        key = keys.get(metric, metric)
        best = max(r.summary(at(float(t)))[key] for t in grid)
        opt = r.optimal(metric)
        assert opt["task"] == "classification" and opt["metric"] == metric
        assert opt["value"] == pytest.approx(best, abs=1e-12)
        assert opt["threshold"] in grid
    with pytest.raises(ParameterError, match="metric"):
        r.optimal("auc")


def test_confusion_top_keeps_the_most_confused_and_the_special_column():
    y, s = data(13, 600, 8, 2)
    r = ClassificationResults(y, s, [f"c{i}" for i in range(8)], threshold=0.4)
    full = r.confusion()
    m = np.array(full["counts"])
    off = m.copy()
    off[np.arange(8), np.arange(8)] = 0
    involved = off[:, :8].sum(axis=0) + off.sum(axis=1)
    keep = sorted(np.lexsort((np.arange(8), -involved))[:3].tolist())
    top = r.confusion(top=3, normalize="true")
    assert top["top"] == 3 and top["n_classes"] == 8
    assert top["rows"] == [f"c{i}" for i in keep]
    assert top["columns"] == [*[f"c{i}" for i in keep], BELOW_THRESHOLD]
    assert np.array_equal(top["counts"], m[np.ix_(keep, [*keep, 8])])
    rows = m / m.sum(axis=1, keepdims=True)  # fractions of the full row
    np.testing.assert_allclose(top["matrix"], rows[np.ix_(keep, [*keep, 8])], atol=TOL)
    assert full["most_confused"] == top["most_confused"]
    mc = full["most_confused"]
    assert len(mc) == 10 and [x["count"] for x in mc] == sorted([x["count"] for x in mc])[::-1]
    a, p = int(mc[0]["actual"][1:]), int(mc[0]["predicted"][1:])
    assert mc[0]["count"] == off[:, :8].max() == m[a, p]
    assert r.confusion(top=20)["rows"] == full["rows"]
    with pytest.raises(ParameterError, match="top"):
        r.confusion(top=0)
    with pytest.raises(ParameterError, match="normalize"):
        r.confusion(normalize="all")


def test_samples_filters_sort_paging():
    y, s = data(5, 200, 3, 2)
    ids = np.array([f"s{i}" for i in range(200)])
    r = ClassificationResults(y, s, ["a", "b", "c"], threshold=0.5, sample_ids=ids)
    pred, _ = reference(y, s, 0.5)
    res = r.samples(actual="a", predicted="b", limit=1000)
    assert res["task"] == "classification" and res["threshold"] == 0.5 and res["n_boxes"] is None
    assert res["total"] == np.sum((y == 0) & (pred == 1))
    assert all(it["actual"] == "a" and it["predicted"] == "b" for it in res["items"])
    below = r.samples(predicted=BELOW_THRESHOLD, limit=1000)
    assert below["total"] == np.sum(pred == -1)
    assert all(it["predicted"] is None for it in below["items"])
    assert all(it["outcome"] == "below_threshold" for it in below["items"])
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
    scores = [x["score"] for x in one["scores"]]
    assert scores == sorted(scores, reverse=True)
    assert {x["label"] for x in one["scores"]} == {"a", "b", "c"}
    assert one["actual_rank"] == 1 + np.sum(s[3] > s[3, y[3]]) + np.sum(s[3, : y[3]] == s[3, y[3]])
    assert ClassificationResults([0, 1], [[0.6, 0.4]] * 2).sample(1)["id"] == "1"
    with pytest.raises(ParameterError, match="sort"):
        r.samples(sort="bogus")
    with pytest.raises(ParameterError, match="actual"):
        r.samples(actual="zebra")
    with pytest.raises(ParameterError, match="index"):
        r.sample(200)


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


def test_multilabel_results():
    y, s = multi()
    C = 4
    r = ClassificationResults(y, s, ["a", "b", "c", "d"], multilabel=True)
    assert r.task == "multilabel"
    for t in (0.0, 0.3, 0.5, 0.77):
        pred = s >= t
        summ = r.summary(at(t))
        assert summ["task"] == "multilabel"
        assert summ["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
        assert summ["hamming_loss"] == pytest.approx(skm.hamming_loss(y, pred), abs=TOL)
        assert summ["top1_accuracy"] is None and summ["top_k"] == []
        f = skm.f1_score(y, pred, average="micro", zero_division=np.nan)
        assert summ["micro_f1"] == pytest.approx(f, abs=TOL)
        mf = skm.f1_score(y, pred, average="macro", zero_division=np.nan)
        assert summ["macro_f1"] == pytest.approx(mf, abs=TOL)
        assert_summary_matches_sklearn(summ, y, pred, C)
        items = r.per_class(at(t))["items"]
        for c, name in enumerate("abcd"):
            assert items[c]["label"] == name
            assert items[c]["tp"] == np.sum(pred[:, c] & y[:, c])
            assert items[c]["fp"] == np.sum(pred[:, c] & ~y[:, c])
        cm = r.confusion(at(t))
        assert cm["columns"][-1] == BELOW_THRESHOLD and cm["rows"][-1] == NO_LABEL
        assert len(cm["rows"]) == C + 1 and cm["task"] == "multilabel"
        counts = np.array(cm["counts"])
        assert np.array_equal(np.diag(counts)[:C], (pred & y).sum(axis=0))
        wrong, missed = (pred & ~y).any(axis=1), (y & ~pred).any(axis=1)
        assert counts[:C, C].sum() == (y & ~pred & ~wrong[:, None]).sum()
        assert counts[C, :C].sum() == (pred & ~y & ~missed[:, None]).sum()
        for i, actual in enumerate(cm["rows"]):
            for j, predicted in enumerate(cm["columns"]):
                got = r.samples(at(t), actual=actual, predicted=predicted, limit=1000)
                assert got["total"] == counts[i, j]  # a cell opens exactly its samples
        got = r.samples(at(t), actual=NO_LABEL, limit=1000)
        assert got["total"] == np.sum(wrong & ~missed)
        got = r.samples(at(t), predicted=BELOW_THRESHOLD, limit=1000)
        assert got["total"] == np.sum(missed & ~wrong)
    summ = r.summary()
    p = np.clip(s.ravel(), np.finfo(float).eps, 1 - np.finfo(float).eps)
    assert summ["log_loss"] == pytest.approx(skm.log_loss(y.ravel(), p), abs=TOL)
    assert summ["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    assert summ["average_precision_macro"] == pytest.approx(
        skm.average_precision_score(y, s), abs=TOL
    )
    names = [[n for n, v in zip("abcd", row, strict=True) if v] for row in y]
    r2 = ClassificationResults(names, s, ["a", "b", "c", "d"], multilabel=True)
    assert r2.summary() == r.summary()
    got = r.samples(at(0.5), outcome="fn", label="b", limit=1000)
    assert got["total"] == np.sum(y[:, 1] & (s[:, 1] < 0.5))
    assert isinstance(r.sample(0)["actual"], list)
    assert r.optimal()["value"] >= r.summary(at(0.5))["macro_f1"] - 1e-12
    r3 = ClassificationResults.from_arrays(*r.arrays())
    assert r3.task == "multilabel" and r3.per_class(at(0.4)) == r.per_class(at(0.4))


def every_answer(r):
    p = at(0.4)
    label = r.classes[1]
    out = {
        "point": r.point(p).threshold,
        "summary": r.summary(p),
        "per_class": r.per_class(p),
        "confusion": r.confusion(p),
        "confusion_true": r.confusion(p, normalize="true", top=2),
        "confusion_probability": r.confusion(p, normalize="probability"),
        "samples": r.samples(p, label=label, outcome="fp"),
        "sample": r.sample(0, p),
        "headline": r.headline(),
        "intervals": r.intervals(n=20, at=p),
        "folds": r.folds(p),
        "report": r.report(p),
    }
    for metric in CLASSIFICATION_OPTIMA:
        out[f"optimal_{metric}"] = r.optimal(metric, p)
    for kind in CURVES[r.task]:
        out[f"curve_{kind}"] = r.curve(kind, None if kind == "calibration" else label, p)
    for sort in CLASSIFICATION_SORTS:
        out[f"samples_{sort}"] = r.samples(p, sort=sort, errors_only=True)
    return out


@pytest.mark.parametrize("task", ["classification", "multilabel"])
def test_is_a_results_and_every_answer_is_json_safe(task):
    if task == "multilabel":
        y, s = multi(9, 120, 5)
        y[:, -1] = False  # a class without positives: undefined AUC / AP / recall
        r = ClassificationResults(y, s, multilabel=True, folds=np.arange(120) % 2)
    else:
        y, s = data(9, 120, 5, 2, absent=True)
        r = ClassificationResults(y, s, folds=np.arange(120) % 2, sample_ids=np.arange(120))
    assert isinstance(r, Results) and r.task == task
    answers = every_answer(r)
    assert json_safe(answers) == answers
    for name in ("summary", "per_class", "confusion", "samples"):
        assert answers[name]["threshold"] == 0.4
    for name in ("summary", "per_class", "confusion", "samples", "optimal_f1"):
        assert answers[name]["task"] == task
    assert all(isinstance(it["id"], str) for it in answers["samples"]["items"])
    report = answers["report"]
    assert set(report) == {
        "task",
        "classes",
        "threshold",
        "summary",
        "per_class",
        "confusion",
        "optimal",
        "intervals",
        "folds",
        "extra",
    }
    assert report["intervals"] == answers["intervals"]
    summary_keys = set(answers["summary"])
    assert set(answers["intervals"]) <= summary_keys
    assert "macro_precision" in answers["intervals"] and "precision_macro" not in summary_keys
    folds = answers["folds"]
    assert [f["fold"] for f in folds["folds"]] == ["0", "1"]
    assert sum(f["n_samples"] for f in folds["folds"]) == 120
    accs = [f["metrics"]["accuracy"] for f in folds["folds"]]
    assert folds["mean"]["accuracy"] == pytest.approx(np.mean(accs))
    assert folds["std"]["accuracy"] == pytest.approx(np.std(accs))
    arrays, meta = r.arrays()
    assert meta["task"] == task and json_safe(meta) == meta
    again = results_from_arrays(arrays, meta)
    assert isinstance(again, ClassificationResults)
    assert again.summary(at(0.4)) == answers["summary"]
    assert again.confusion(at(0.4)) == answers["confusion"]


def test_round_trip_keeps_top_k_and_threshold():
    y, s = data(6, 300, 8, 2, dtype=np.float32)
    r = evaluate_classification(y, s, threshold=0.4, folds=np.arange(300) % 3, top_k=[2, 9])
    r2 = ClassificationResults.from_arrays(*r.arrays())
    assert r2.summary() == r.summary()
    assert [x["k"] for x in r2.summary()["top_k"]] == [2, 9]
    assert r2.per_class(at(0.2)) == r.per_class(at(0.2))
    assert r2.confusion(at(0.6)) == r.confusion(at(0.6))
    assert r.report()["intervals"] is None


def test_point_fills_and_checks_the_threshold():
    r = ClassificationResults([0, 1], [[0.6, 0.4], [0.3, 0.7]], threshold=0.3)
    assert r.point() == OperatingPoint(threshold=0.3)
    assert r.point(OperatingPoint(iou=0.5)) == OperatingPoint(threshold=0.3)
    assert r.point(at(0.8)).threshold == 0.8
    with pytest.raises(ParameterError):
        r.summary(0.5)  # a bare number is not an operating point
    with pytest.raises(ParameterError):
        r.summary(at(1.5))
    with pytest.raises(InputError):
        ClassificationResults([0, 1], [[0.6, 0.4], [0.3, 0.7]], threshold=2)


def test_headline_falls_back_to_accuracy():
    r = ClassificationResults([0, 0], [[0.6, 0.4], [0.3, 0.7]])
    assert r.headline() == {"metric": "accuracy", "label": "Accuracy", "value": 0.5}


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


def random_case(seed, n, C, dec, multilabel):
    """Scores with ties (rounded), a class never labeled, a class never predicted (its scores
    tiny), as hypothesis draws them."""
    rng = np.random.default_rng(seed)
    if multilabel:
        y = rng.random((n, C)) < 0.35
        s = np.clip(rng.random((n, C)) * 0.7 + 0.3 * y, 0, 1)
        y[:, rng.integers(C)] = False if rng.random() < 0.5 else y[:, 0]
        s[:, rng.integers(C)] *= 0.05 if rng.random() < 0.5 else 1.0
    else:
        labels = np.arange(C)
        if C > 2 and rng.random() < 0.5:
            labels = np.delete(labels, rng.integers(C))  # a class never labeled
        y = rng.choice(labels, n)
        logits = rng.normal(size=(n, C)) * 1.5
        logits[np.arange(n), y] += rng.uniform(0, 2.5)
        s = np.exp(logits)
        s /= s.sum(axis=1, keepdims=True)
        if rng.random() < 0.5:
            s[:, rng.integers(C)] *= 0.01  # a class (almost surely) never predicted
    if dec is not None:
        s = np.round(s, dec)
    return y, s


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(1, 80),
    st.integers(2, 6),
    st.sampled_from([None, 1, 2]),
    st.booleans(),
    st.lists(st.sampled_from([0.0, 0.2, 0.45, 0.5, 0.8, 1.0]), min_size=1, max_size=3),
)
def test_averages_and_macro_over_match_sklearn_nan_convention(seed, n, C, dec, ml, thresholds):
    """Every average at any threshold equals scikit-learn's with ``zero_division=np.nan``, and
    ``macro_over`` counts exactly the classes where scikit-learn's per-class value is defined
    (single-label: a sample below the threshold is an FN, never a prediction)."""
    y, s = random_case(seed, n, C, dec, ml)
    r = ClassificationResults(y, s, multilabel=ml, zero_division=np.nan)
    r_default = ClassificationResults(y, s, multilabel=ml)
    for t in thresholds:
        pred = s >= t if ml else reference(y, s, t)[0]
        summ = r.summary(at(t))
        _, over = assert_summary_matches_sklearn(summ, y, pred, C)
        items = r.per_class(at(t))["items"]
        for key in ("precision", "recall", "f1"):
            assert over[key] == sum(it[key] is not None for it in items)
        # scikit-learn's defaults: the labels present, undefined = 0, per class as its report
        summ = r_default.summary(at(t))
        _, over = assert_summary_matches_sklearn(summ, y, pred, C, default=True, ml=ml)
        items = r_default.per_class(at(t))["items"]
        for key in ("precision", "recall", "f1"):
            assert over[key] == sum(it[key] is not None for it in items)


def test_never_predicted_class_counts_zero_precision():
    """A class never predicted has precision 0 in scikit-learn's default report, so the macro
    precision counts it (0.68 beside recall 0.7, not 0.85) and the summary says how many."""
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    s = np.eye(5)[[0, 0, 1, 0, 2, 2, 3, 3, 0, 0]] * 0.8 + 0.04
    summ = ClassificationResults(y, s).summary()
    rep = skm.classification_report(y, s.argmax(1), output_dict=True, zero_division=0)
    assert summ["macro_precision"] == pytest.approx(rep["macro avg"]["precision"]) == 0.68
    assert summ["never_predicted"] == 1 and summ["macro_over"]["precision"] == 5
    assert summ["zero_division"] == 0.0 and summ["point_rule"] == "argmax"
    item = ClassificationResults(y, s).per_class()["items"][4]
    assert item["precision"] == 0.0 and item["recall"] == 0.0


def test_never_predicted_class_leaves_macro_precision():
    """With ``zero_division=nan`` (the documented option): a class never predicted has no
    precision, so macro precision is over the other classes and says so; recall and F1 still
    count it (as 0)."""
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    s = np.eye(5)[[0, 0, 1, 0, 2, 2, 3, 3, 0, 0]] * 0.8 + 0.04
    summ = ClassificationResults(y, s, threshold=0.0, zero_division=np.nan).summary()
    assert summ["macro_over"]["precision"] == 4
    assert summ["macro_over"]["recall"] == 5 and summ["macro_over"]["f1"] == 5
    p = skm.precision_score(y, s.argmax(1), average="macro", zero_division=np.nan)
    assert summ["macro_precision"] == pytest.approx(p) == (0.4 + 1 + 1 + 1) / 4


def brute_optimum(r, metric, thresholds):
    """The highest threshold with the best summary value (None never best)."""
    key = {"f1": "macro_f1", "precision": "macro_precision", "recall": "macro_recall"}.get(
        metric, metric
    )
    values = [(r.summary(at(float(t)))[key], float(t)) for t in thresholds]
    if all(v is None for v, _ in values):
        return None, None
    best = max(v for v, _ in values if v is not None)
    return best, max(t for v, t in values if v is not None and v >= best - 1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(1, 60),
    st.integers(2, 5),
    st.sampled_from([None, 1, 2]),
)
def test_optimal_single_label_equals_brute_force(seed, n, C, dec):
    """The sweep maximises the summary's own macro definitions: equal to trying every distinct
    top score through summary() (ties to the highest threshold)."""
    y, s = random_case(seed, n, C, dec, False)
    r = ClassificationResults(y, s)
    grid = np.unique(s.max(axis=1))
    for metric in CLASSIFICATION_OPTIMA:
        best, t = brute_optimum(r, metric, grid)
        opt = r.optimal(metric)
        assert opt["value"] == pytest.approx(best, abs=1e-12), metric
        assert opt["threshold"] == pytest.approx(t, abs=0), metric


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 40), st.integers(2, 5))
def test_optimal_multilabel_equals_brute_force(seed, n, C):
    """Multi-label scores on the 0.01 grid, so the optimum's candidates hold every distinct
    score: equal to trying them all (and 1.0) through summary()."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 1, 101)
    y, s = random_case(seed, n, C, None, True)
    k = int(rng.choice([100, 20, 5]))  # coarser grids: more ties
    s = grid[np.rint(s * k).astype(int) * (100 // k)]
    r = ClassificationResults(y, s, multilabel=True)
    candidates = np.unique(np.r_[s.ravel(), 1.0])
    for metric in CLASSIFICATION_OPTIMA:
        best, t = brute_optimum(r, metric, candidates)
        opt = r.optimal(metric)
        if best is None:  # e.g. recall with nothing labeled
            assert opt["value"] is None
            continue
        assert opt["value"] == pytest.approx(best, abs=1e-12), metric
        assert opt["threshold"] == t, metric


def test_default_is_the_argmax_and_equals_sklearn_report():
    """No threshold given: every sample gets its top class, even at a top score of 0.4996, and
    the numbers are scikit-learn's defaults on the argmax."""
    y, s = data(4, 300, 6, None)
    s[0] = [0.4996, 0.1004, 0.1, 0.1, 0.1, 0.1]
    y[0] = 0
    r = ClassificationResults(y, s)
    assert r.point().threshold == 0.0
    summ = r.summary()
    pred = s.argmax(1)
    rep = skm.classification_report(y, pred, output_dict=True, zero_division=0)
    assert summ["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
    for avg in ("macro", "weighted"):
        for key, ours in (("precision", "precision"), ("recall", "recall"), ("f1-score", "f1")):
            assert summ[f"{avg}_{ours}"] == pytest.approx(rep[f"{avg} avg"][key], abs=TOL)
    assert r.confusion()["counts"] == skm.confusion_matrix(y, pred).tolist()
    assert summ["coverage"] == 1.0 and summ["selective_accuracy"] == summ["accuracy"]
    assert r.samples(limit=300)["items"][0]["outcome"] == "correct"
    assert r.arrays()[1]["threshold"] == 0.0
    # multi-label keeps its per-class threshold, 0.5 by default
    ym, sm = multi()
    assert ClassificationResults(ym, sm, multilabel=True).point().threshold == 0.5


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 80), st.sampled_from([None, 1, 2]))
def test_selective_prediction_and_risk_coverage(seed, n, dec):
    """At a threshold t > 0: coverage is the share of samples whose top score >= t, selective
    accuracy the accuracy among them; the risk-coverage curve has one point per distinct top
    score and each point equals the summary at that threshold; AURC is the step integral."""
    y, s = random_case(seed, n, 4, dec, False)
    r = ClassificationResults(y, s)
    top, pred = s.max(1), s.argmax(1)
    curve = r.curve("risk_coverage")
    assert curve["thresholds"] == sorted(set(top.tolist()), reverse=True)
    for t, cov, risk in zip(curve["thresholds"], curve["coverage"], curve["risk"], strict=True):
        kept = top >= t
        assert cov == pytest.approx(kept.mean(), abs=TOL)
        assert risk == pytest.approx(1 - np.mean(pred[kept] == y[kept]), abs=TOL)
        summ = r.summary(at(float(t)))
        assert summ["coverage"] == pytest.approx(cov, abs=TOL)
        assert summ["selective_risk"] == pytest.approx(risk, abs=TOL)
        assert summ["point_rule"] == ("argmax" if t == 0 else "threshold")
    order = np.argsort(-top, kind="stable")
    if len(set(top.tolist())) == n:  # no ties: the mean risk over the i most confident
        errors = np.cumsum(pred[order] != y[order]) / np.arange(1, n + 1)
        assert curve["aurc"] == pytest.approx(errors.mean(), abs=TOL)
    with pytest.raises(ParameterError):
        ClassificationResults(*multi(), multilabel=True).curve("risk_coverage")


def test_a_default_point_set_is_kept_and_read_back():
    y, s = data(2, 50, 3, 2)
    r = ClassificationResults(y, s)
    r.set_default_point(OperatingPoint(threshold=0.6))
    assert r.point().threshold == 0.6 and r.default_point() == {"threshold": 0.6}
    back = results_from_arrays(*r.arrays())
    assert back.point().threshold == 0.6
    arrays, meta = r.arrays()
    assert (
        results_from_arrays(arrays, {**meta, "point": {"threshold": 0.3}}).point().threshold == 0.3
    )
    nan = ClassificationResults(y, s, zero_division=np.nan)
    assert np.isnan(results_from_arrays(*nan.arrays()).zero_division)
    with pytest.raises(ParameterError, match="zero_division"):
        ClassificationResults(y, s, zero_division=0.5)


def test_outcomes_and_predictions_at_a_point() -> None:
    """outcomes(at): a single-label sample is right when its argmax is its label and clears
    the threshold; a multi-label sample when every label is right; predictions(at) is -1 below
    the threshold."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 200)
    s = rng.dirichlet(np.ones(3), 200)
    r = ClassificationResults(y, s, classes=["a", "b", "c"])
    at = OperatingPoint(threshold=0.5)
    top = s.argmax(axis=1)
    want = np.where(s.max(axis=1) >= 0.5, top, -1)
    assert np.array_equal(r.predictions(at), want)
    assert np.array_equal(r.outcomes(at), want == y)
    assert np.array_equal(r.outcomes(), top == y)  # the argmax by default
    ym = (rng.random((200, 3)) < 0.4).astype(int)
    m = ClassificationResults(ym, rng.random((200, 3)), classes=["a", "b", "c"], multilabel=True)
    assert np.array_equal(m.outcomes(at), ((m.y_score >= 0.5) == ym.astype(bool)).all(axis=1))
