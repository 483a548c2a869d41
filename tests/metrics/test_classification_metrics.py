"""Classification kernels against scikit-learn (the oracle) on randomized inputs, ties included."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from assay.metrics import calibration as cal
from assay.metrics import classification as clf
from assay.metrics import ranking as rk
from tests.sklearn_oracle import sk_default_averages

TOL = 1e-9
FAST = settings(max_examples=25, deadline=None)


def make_single(seed: int, n: int, n_classes: int, decimals: int | None, absent: bool):
    rng = np.random.default_rng(seed)
    classes = np.arange(n_classes)
    if absent and n_classes > 2:
        classes = classes[: n_classes - 1 - int(rng.integers(0, n_classes // 2))]
    y = rng.choice(classes, size=n)
    logits = rng.normal(size=(n, n_classes)) * 2
    logits[np.arange(n), y] += rng.uniform(0, 3)
    s = np.exp(logits - logits.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    if decimals is not None:
        s = np.round(s, decimals)
    return y.astype(np.int64), s


def make_multi(seed: int, n: int, n_classes: int, decimals: int | None):
    rng = np.random.default_rng(seed)
    y = rng.random((n, n_classes)) < rng.uniform(0.05, 0.5, size=n_classes)
    s = np.clip(rng.random((n, n_classes)) * 0.7 + 0.3 * y, 0, 1)
    if decimals is not None:
        s = np.round(s, decimals)
    if n_classes > 1:
        y[:, -1] = False  # a class without positives
    return y, s


single_cases = st.tuples(
    st.integers(0, 2**31),
    st.integers(5, 300),
    st.integers(2, 9),
    st.sampled_from([None, 1, 2]),
    st.booleans(),
)


def brute_pred(s: np.ndarray, t: float) -> np.ndarray:
    return np.where(s.max(axis=1) >= t, s.argmax(axis=1), -1)


def sk_averages(y, pred, n_classes):
    """scikit-learn's averages with ``zero_division=np.nan`` over all classes (NaN where
    undefined), and per metric the number of classes where it is defined (the macro's span).
    A prediction of -1 ("below threshold") is no class: an FN of the annotated class only."""
    labels = list(range(n_classes))
    out, over = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero_division=nan never warns
        for avg in ("macro", "micro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(
                y, pred, labels=labels, average=avg, zero_division=np.nan
            )
            out.update({f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f})
        p, r, f, _ = skm.precision_recall_fscore_support(
            y, pred, labels=labels, average=None, zero_division=np.nan
        )
    for name, arr in (("precision", p), ("recall", r), ("f1", f)):
        over[name] = int(np.isfinite(arr).sum())
    return out, over


def assert_averages(got, ref):
    assert list(got) == list(ref)
    for key, value in ref.items():
        g = got[key]
        if np.isnan(value):
            assert g is None or np.isnan(g), key
        else:
            assert g is not None and g == pytest.approx(value, abs=TOL), key


@FAST
@given(single_cases, st.sampled_from([0.0, 0.3, 0.5, 0.71]))
def test_counts_and_averages_match_sklearn(case, t):
    y, s = make_single(*case)
    n_classes = s.shape[1]
    rs = clf.row_statistics(y, s)
    assert np.array_equal(rs["pred"], s.argmax(axis=1))
    tp, n_pred, n_true = clf.counts_at_threshold(y, rs["pred"], rs["top"], n_classes, t)
    pred = brute_pred(s, t)
    for c in range(n_classes):
        assert tp[c] == np.sum((y == c) & (pred == c))
        assert n_pred[c] == np.sum(pred == c)
        assert n_true[c] == np.sum(y == c)
    av = clf.averages(tp, n_pred, n_true, zero_division=np.nan)
    assert_averages(av, sk_averages(y, pred, n_classes)[0])
    assert_averages(clf.averages(tp, n_pred, n_true), sk_default_averages(y, pred))
    if t == 0.0:
        rep = skm.classification_report(y, s.argmax(axis=1), output_dict=True, zero_division=0)
        default = clf.averages(tp, n_pred, n_true)
        assert default["micro_f1"] == pytest.approx(rep["accuracy"], abs=TOL)
        for avg in ("macro", "weighted"):
            d = rep[f"{avg} avg"]
            ref = [d["precision"], d["recall"], d["f1-score"]]
            got = [default[f"{avg}_{k}"] for k in ("precision", "recall", "f1")]
            np.testing.assert_allclose(np.array(got, dtype=float), ref, atol=TOL)
        rep = skm.classification_report(y, s.argmax(axis=1), output_dict=True, zero_division=np.nan)
        prec, rec, f1 = clf.prf_from_counts(tp, n_pred, n_true)
        for c in range(n_classes):
            if str(c) not in rep:  # neither labeled nor predicted: every value undefined
                assert np.isnan(prec[c]) and np.isnan(rec[c]) and np.isnan(f1[c])
                continue
            d = rep[str(c)]
            np.testing.assert_allclose(
                [prec[c], rec[c], f1[c]], [d["precision"], d["recall"], d["f1-score"]], atol=TOL
            )
        for avg in ("macro", "weighted"):
            d = rep[f"{avg} avg"]
            ref = [d["precision"], d["recall"], d["f1-score"]]
            got = [av[f"{avg}_{k}"] for k in ("precision", "recall", "f1")]
            np.testing.assert_allclose(np.array(got, dtype=float), ref, atol=TOL)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(1, 60),
    st.integers(1, 6),
    st.booleans(),
)
def test_averages_match_sklearn_nan_convention(seed, n, n_classes, multilabel):
    """Random predictions over random subsets of the classes: classes never predicted, never
    labeled, neither, samples with no prediction; the averages and the span of each macro
    average equal scikit-learn's with ``zero_division=np.nan``."""
    rng = np.random.default_rng(seed)
    if multilabel:  # scikit-learn reads a single indicator column as a 1-d binary target
        n_classes = max(n_classes, 2)
    labeled = rng.random(n_classes) < 0.7
    predicted = rng.random(n_classes) < 0.7
    if multilabel:
        y = (rng.random((n, n_classes)) < 0.4) & labeled
        pred = (rng.random((n, n_classes)) < 0.4) & predicted
        tp, n_pred, n_true = (pred & y).sum(0), pred.sum(0), y.sum(0)
    else:
        labeled[rng.integers(n_classes)] = True
        y = rng.choice(np.flatnonzero(labeled), n)
        pred = rng.choice(np.r_[-1, np.flatnonzero(predicted)], n)
        pred = np.where(rng.random(n) < 0.4, y, pred)  # some hits
        tp = np.bincount(y[pred == y], minlength=n_classes)
        n_pred = np.bincount(pred[pred >= 0], minlength=n_classes)
        n_true = np.bincount(y, minlength=n_classes)
    ref, over = sk_averages(y, pred, n_classes)
    assert_averages(clf.averages(tp, n_pred, n_true, zero_division=np.nan), ref)
    assert_averages(
        clf.averages(tp, n_pred, n_true, multilabel=multilabel),
        sk_default_averages(y, pred, multilabel),
    )
    p, r, f = clf.prf_from_counts(tp, n_pred, n_true)
    assert over == {
        "precision": int((n_pred > 0).sum()),
        "recall": int((n_true > 0).sum()),
        "f1": int(((n_pred + n_true) > 0).sum()),
    }
    assert over == {k: int(np.isfinite(v).sum()) for k, v in zip(over, (p, r, f), strict=True)}
    batch = clf.averages_batch(tp[None], n_pred[None], n_true[None], zero_division=np.nan)
    assert_averages({k: v[0] for k, v in batch.items()}, ref)


def test_undefined_values_count_zero_by_default():
    """scikit-learn's default: the labels present (labeled or predicted), 0 where undefined."""
    av = clf.averages(np.array([0, 2, 0]), np.array([0, 2, 0]), np.array([1, 2, 0]))
    # class 2 is neither labeled nor predicted: left out; class 0 never predicted: precision 0
    assert av["macro_precision"] == 0.5 and av["macro_recall"] == 0.5
    assert av["macro_f1"] == 0.5 and av["weighted_precision"] == pytest.approx(2 / 3)
    av = clf.averages(np.array([0, 0]), np.array([0, 0]), np.array([1, 2]))
    assert av["macro_precision"] == 0.0 and av["micro_precision"] == 0.0
    # multi-label: every column counts, even one neither labeled nor predicted
    av = clf.averages(np.array([1, 0]), np.array([1, 0]), np.array([1, 0]), multilabel=True)
    assert av["macro_f1"] == 0.5 and av["micro_f1"] == 1.0
    with pytest.raises(ValueError, match="zero_division"):
        clf.averages(np.array([1]), np.array([1]), np.array([1]), zero_division=1.0)


def test_undefined_values_drop_out_of_the_averages():
    p, r, f = clf.prf_from_counts(np.array([0, 2, 0]), np.array([0, 2, 0]), np.array([1, 2, 0]))
    assert np.isnan(p[0]) and r[0] == 0 and f[0] == 0
    assert np.isnan(p[2]) and np.isnan(r[2]) and np.isnan(f[2])
    nan = {"zero_division": np.nan}
    av = clf.averages(np.array([0, 2, 0]), np.array([0, 2, 0]), np.array([1, 2, 0]), **nan)
    # precision over class 1 only (0 never predicted, 2 neither), recall and F1 over 0 and 1
    assert av["macro_precision"] == 1.0 and av["macro_recall"] == 0.5 and av["macro_f1"] == 0.5
    assert av["weighted_precision"] == 1.0 and av["weighted_recall"] == pytest.approx(2 / 3)
    # nothing predicted: every precision undefined, recall 0
    av = clf.averages(np.array([0, 0]), np.array([0, 0]), np.array([1, 2]), **nan)
    assert av["macro_precision"] is None and av["micro_precision"] is None
    assert av["weighted_precision"] is None and av["macro_recall"] == 0.0
    assert av["micro_recall"] == 0.0 and av["macro_f1"] == 0.0
    # every predicted class unlabeled: scikit-learn's nan-aware average falls back to the plain
    # mean of the defined values (0) when their weights are all 0
    av = clf.averages(np.array([0, 0]), np.array([0, 2]), np.array([2, 0]), **nan)
    ref, _ = sk_averages(np.array([0, 0]), np.array([1, 1]), 2)
    assert_averages(av, ref)
    assert av["weighted_precision"] == 0.0 and av["macro_precision"] == 0.0


@FAST
@given(single_cases, st.sampled_from([0.0, 0.4, 0.8]))
def test_confusion_matrix_matches_sklearn(case, t):
    y, s = make_single(*case)
    n_classes = s.shape[1]
    rs = clf.row_statistics(y, s)
    m = clf.confusion_matrix(y, rs["pred"], rs["top"], n_classes, t)
    pred = brute_pred(s, t)
    ref = skm.confusion_matrix(y, pred, labels=[*range(n_classes), -1])[:n_classes]
    assert np.array_equal(m[:, :n_classes], ref[:, :n_classes])
    assert np.array_equal(m[:, n_classes], ref[:, n_classes])


@FAST
@given(single_cases)
def test_auc_ap_match_sklearn(case):
    y, s = make_single(*case)
    auc, ap = rk.ovr_auc_ap(y, s)
    for c in range(s.shape[1]):
        pos = y == c
        if 0 < pos.sum() < len(y):
            assert auc[c] == pytest.approx(skm.roc_auc_score(pos, s[:, c]), abs=TOL)
        else:
            assert np.isnan(auc[c])
        if pos.any():
            assert ap[c] == pytest.approx(skm.average_precision_score(pos, s[:, c]), abs=TOL)
        else:
            assert np.isnan(ap[c])
    if len(np.unique(y)) == s.shape[1] and s.shape[1] > 2:
        onehot = np.eye(s.shape[1], dtype=int)[y]
        assert np.nanmean(ap) == pytest.approx(
            skm.average_precision_score(onehot, s, average="macro"), abs=TOL
        )
        assert np.nanmean(auc) == pytest.approx(
            skm.roc_auc_score(onehot, s, average="macro"), abs=TOL
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auc_ap_large_input_tiny_scores(dtype):
    rng = np.random.default_rng(3)
    n, n_classes = 120_000, 4
    y = rng.integers(0, n_classes, n)
    s = rng.random((n, n_classes))
    s[np.arange(n), y] += 0.3
    s /= s.sum(axis=1, keepdims=True)
    s[:10, 0] = 0.0
    s[10:20, 1] = -0.0  # negative zero is zero
    s[20:2000, 2] = rng.choice([1e-12, 3e-15, 2e-9, 1e-30], size=1980)  # below the bucket floor
    s = s.astype(dtype)
    auc, ap = rk.ovr_auc_ap(y, s)
    for c in range(n_classes):
        assert auc[c] == pytest.approx(skm.roc_auc_score(y == c, s[:, c]), abs=1e-9)
        assert ap[c] == pytest.approx(skm.average_precision_score(y == c, s[:, c]), abs=1e-9)


def test_auc_ap_across_row_blocks_and_class_groups():
    """540k rows (two 2**18-row blocks or more per chunk), 17 classes (a group of 16 and a partial
    one), heavy ties and an empty class: the same per-class values as one sort per class, and the
    same from the annotated-class scores (``true_score``) as from the score matrix."""
    rng = np.random.default_rng(11)
    n, n_classes = 540_000, 17
    y = rng.integers(0, n_classes, n)
    y[y == 5] = 4  # class 5: no positive
    z = rng.standard_normal((n, n_classes)).astype(np.float32)
    z[np.arange(n), y] += 1.5
    s = np.exp(z)
    s /= s.sum(axis=1, keepdims=True)
    s[: n // 3] = np.round(s[: n // 3], 3)  # ties within buckets and with the positives
    auc, ap = rk.ovr_auc_ap(y, s)
    true_score = clf.row_statistics(y, s)["true_score"]
    positives = rk.group_positives(y, s, true_score=true_score)
    auc2, ap2 = rk.ovr_auc_ap(y, s, positives=positives)
    assert np.array_equal(auc, auc2, equal_nan=True) and np.array_equal(ap, ap2, equal_nan=True)
    assert np.isnan(auc[5]) and np.isnan(ap[5])
    for c in (0, 9, 15, 16):  # the first group, the last of a full group, the partial group
        counts = rk.binary_clf_curve(y == c, s[:, c])
        assert auc[c] == pytest.approx(rk.roc_from_counts(*counts)["auc"], abs=1e-9)
        assert ap[c] == pytest.approx(rk.pr_from_counts(*counts)["average_precision"], abs=1e-9)


@FAST
@given(st.integers(0, 2**31), st.integers(2, 200), st.sampled_from([None, 1, 2]))
def test_curves_match_sklearn(seed, n, decimals):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    y[0], y[1] = True, False
    s = rng.random(n)
    if decimals is not None:
        s = np.round(s, decimals)
    roc = rk.roc_curve(y, s)
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr, atol=TOL)
    np.testing.assert_allclose(roc["tpr"], tpr, atol=TOL)
    np.testing.assert_array_equal(roc["thresholds"], thr)
    assert roc["auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    pr = rk.precision_recall_curve(y, s)
    p, r, t = skm.precision_recall_curve(y, s)
    np.testing.assert_allclose(pr["precision"], p, atol=TOL)
    np.testing.assert_allclose(pr["recall"], r, atol=TOL)
    np.testing.assert_array_equal(pr["thresholds"], t)
    assert pr["average_precision"] == pytest.approx(skm.average_precision_score(y, s), abs=TOL)
    tc = rk.threshold_curves(y, s)
    for k, thr_k in enumerate(tc["thresholds"]):
        hit = s >= thr_k
        assert tc["precision"][k] == pytest.approx(np.mean(y[hit]), abs=TOL)
        assert tc["recall"][k] == pytest.approx(np.sum(hit & y) / y.sum(), abs=TOL)
        assert tc["fpr"][k] == pytest.approx(np.sum(hit & ~y) / (~y).sum(), abs=TOL)


@FAST
@given(single_cases)
def test_losses_and_topk_match_sklearn(case):
    y, s = make_single(*case)
    n_classes = s.shape[1]
    labels = list(range(n_classes))
    rs = clf.row_statistics(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_ll = skm.log_loss(y, s, labels=labels)
        ref_brier = skm.brier_score_loss(y, s, labels=labels)
    assert clf.log_loss(rs["true_score"]) == pytest.approx(ref_ll, abs=TOL)
    assert clf.brier_score_loss(rs["brier"], n_classes=n_classes) == pytest.approx(
        ref_brier, abs=TOL
    )
    # top-k: ties rank as argmax breaks them (first class first)
    order = np.argsort(-s, axis=1, kind="stable")
    ranks = np.argmax(order == y[:, None], axis=1) + 1
    assert np.array_equal(rs["rank"], ranks)
    for k in (1, 2, 3):
        ref = np.mean(ranks <= k)
        assert clf.top_k_accuracy_score(rs["rank"], k) == pytest.approx(ref, abs=TOL)
    assert clf.top_k_accuracy_score(rs["rank"], 1) == pytest.approx(
        skm.accuracy_score(y, s.argmax(axis=1)), abs=TOL
    )


@FAST
@given(st.integers(0, 2**31), st.integers(10, 300), st.integers(3, 8))
def test_topk_matches_sklearn_without_ties(seed, n, n_classes):
    y, s = make_single(seed, n, n_classes, None, False)
    rs = clf.row_statistics(y, s)
    for k in (1, 2, 3):
        ref = skm.top_k_accuracy_score(y, s, k=k, labels=list(range(n_classes)))
        assert clf.top_k_accuracy_score(rs["rank"], k) == pytest.approx(ref, abs=TOL)


def test_brier_binary_is_halved_as_sklearn():
    y = np.array([0, 1, 1, 0])
    s = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    rs = clf.row_statistics(y, s)
    assert clf.brier_score_loss(rs["brier"], n_classes=2) == pytest.approx(
        skm.brier_score_loss(y, s[:, 1]), abs=TOL
    )


@FAST
@given(single_cases, st.sampled_from([5, 10, 15]))
def test_calibration_matches_brute_force(case, bins):
    y, s = make_single(*case)
    conf = s.max(axis=1)
    correct = s.argmax(axis=1) == y
    r = cal.reliability_bins(conf, correct, bins=bins)
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        assert r["bins"][b]["count"] == sel.sum()
        if sel.any():
            assert r["bins"][b]["accuracy"] == pytest.approx(correct[sel].mean(), abs=TOL)
            assert r["bins"][b]["confidence"] == pytest.approx(conf[sel].mean(), abs=TOL)
            ece += sel.sum() / len(conf) * abs(correct[sel].mean() - conf[sel].mean())
    assert r["ece"] == pytest.approx(ece, abs=TOL)
    assert cal.expected_calibration_error(conf, correct, bins=bins) == pytest.approx(ece, abs=TOL)


def test_score_density():
    s = np.array([0.0, 0.1, 0.55, 1.0, 0.99])
    pos = np.array([True, False, True, True, False])
    d = cal.score_density(s, pos, bins=2)
    assert d["positives"].tolist() == [1, 2] and d["negatives"].tolist() == [1, 1]


@FAST
@given(
    st.integers(0, 2**31),
    st.integers(5, 200),
    st.integers(2, 6),
    st.sampled_from([None, 1, 2]),
    st.sampled_from([0.0, 0.5, 0.75]),
)
def test_multilabel_matches_sklearn(seed, n, n_classes, decimals, t):
    y, s = make_multi(seed, n, n_classes, decimals)
    tp, n_pred, n_true = clf.multilabel_counts(y, s, t)
    pred = s >= t
    assert np.array_equal(tp, (pred & y).sum(axis=0))
    assert np.array_equal(n_pred, pred.sum(axis=0))
    assert np.array_equal(n_true, y.sum(axis=0))
    nan_rule = clf.averages(tp, n_pred, n_true, zero_division=np.nan)
    assert_averages(nan_rule, sk_averages(y, pred, n_classes)[0])
    default = clf.averages(tp, n_pred, n_true, multilabel=True)
    assert_averages(default, sk_default_averages(y, pred, multilabel=True))
    auc, ap = rk.ovr_auc_ap(y, s, multilabel=True)
    for c in range(n_classes):
        if 0 < y[:, c].sum() < n:
            assert auc[c] == pytest.approx(skm.roc_auc_score(y[:, c], s[:, c]), abs=TOL)
            assert ap[c] == pytest.approx(skm.average_precision_score(y[:, c], s[:, c]), abs=TOL)
        else:
            assert np.isnan(auc[c])
    ll = clf.log_loss(y_true=y, y_score=s, multilabel=True)
    assert ll == pytest.approx(skm.log_loss(y.ravel(), s.ravel(), labels=[0, 1]), abs=TOL)
    assert clf.brier_score_loss(y_true=y, y_score=s, multilabel=True) == pytest.approx(
        np.mean((s - y) ** 2), abs=TOL
    )
    assert clf.accuracy_score(y, pred) == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)


def test_multilabel_confusion_definition():
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=bool)
    s = np.array([[0.9, 0.8, 0.1], [0.2, 0.1, 0.7], [0.6, 0.1, 0.1], [0.1, 0.1, 0.1]])
    m, psum = clf.multilabel_confusion_matrix(y, s, 0.5)
    ref = np.zeros((4, 4), dtype=int)
    ref[0, 0] = 1  # sample 0: class 0 right
    ref[3, 1] = 1  # sample 0: class 1 extra, no label missed -> "No label" row
    ref[0, 2] += 1  # sample 1: 0 and 1 missed, 2 wrongly predicted
    ref[1, 2] += 1
    ref[3, 0] = 1  # sample 2: 0 predicted without labels
    ref[0, 3] = 1  # sample 3: 0 missed, nothing predicted
    assert m.tolist() == ref.tolist()
    assert psum[0, 2] == pytest.approx(0.7)


def test_most_confused_orders_by_count_then_index():
    m = np.array([[9, 3, 1], [3, 9, 0], [5, 0, 9]])
    assert clf.most_confused(m, 3) == [(2, 0, 5), (0, 1, 3), (1, 0, 3)]


@FAST
@given(single_cases)
def test_topk_with_ties_is_sklearn_on_reversed_columns(case):
    # our tie rule puts the first class ahead; scikit-learn's the last: reversing the columns
    # turns one into the other, ties included
    y, s = make_single(*case)
    n_classes = s.shape[1]
    if n_classes < 3:
        return
    rs = clf.row_statistics(y, s)
    for k in range(1, n_classes):
        ref = skm.top_k_accuracy_score(
            n_classes - 1 - y, s[:, ::-1], k=k, labels=list(range(n_classes))
        )
        assert clf.top_k_accuracy_score(rs["rank"], k) == pytest.approx(ref, abs=TOL)


def test_row_statistics_of_float32_scores_are_computed_in_float64():
    y, s = make_single(3, 200, 4, None, False)
    s32 = s.astype(np.float32)
    rs = clf.row_statistics(y, s32)
    ref = ((s32.astype(np.float64) - np.eye(4)[y]) ** 2).sum(axis=1)
    np.testing.assert_allclose(rs["brier"], ref, rtol=0, atol=1e-12)
    ym, sm = make_multi(3, 100, 4, None)
    sm32 = sm.astype(np.float32)
    p = np.clip(sm32.astype(np.float64), np.finfo(np.float32).eps, 1 - np.finfo(np.float32).eps)
    ref_ll = -np.mean(np.where(ym, np.log(p), np.log(1 - p)))
    got = clf.log_loss(y_true=ym, y_score=sm32, multilabel=True)
    assert got == pytest.approx(ref_ll, abs=1e-12)


@FAST
@given(st.integers(0, 2**31), st.integers(1, 6), st.integers(1, 6))
def test_averages_batch_rows_equal_averages(seed, n_rows, n_classes):
    rng = np.random.default_rng(seed)
    n_true = rng.integers(0, 4, (n_rows, n_classes))
    n_pred = rng.integers(0, 4, (n_rows, n_classes))
    tp = np.minimum(n_true, n_pred) * rng.integers(0, 2, (n_rows, n_classes))
    n_true[0] = n_pred[0] = tp[0] = 0  # a row with nothing labeled or predicted
    batch = clf.averages_batch(tp, n_pred, n_true)
    for b in range(n_rows):
        one = clf.averages(tp[b], n_pred[b], n_true[b])
        assert list(one) == list(batch)
        for key, value in one.items():
            if value is None:
                assert np.isnan(batch[key][b])
            else:
                assert batch[key][b] == pytest.approx(value, abs=TOL)


def test_curves_from_counts_without_positives_or_negatives():
    fps, tps, thr = rk.binary_clf_curve(np.zeros(3, bool), np.array([0.2, 0.5, 0.5]))
    roc = rk.roc_from_counts(fps, tps, thr)
    assert np.isnan(roc["tpr"]).all() and np.isnan(roc["auc"])
    assert roc["fpr"].tolist() == [0.0, 2 / 3, 1.0]
    pr = rk.pr_from_counts(fps, tps, thr)
    assert np.isnan(pr["average_precision"]) and pr["precision"].tolist() == [0.0, 0.0, 1.0]
    th = rk.threshold_from_counts(fps, tps, thr)
    assert np.isnan(th["tpr"]).all() and th["fpr"].tolist() == [2 / 3, 1.0]
    fps, tps, thr = rk.binary_clf_curve(np.ones(2, bool), np.array([0.2, 0.5]))
    assert np.isnan(rk.roc_from_counts(fps, tps, thr)["fpr"]).all()
    assert rk.pr_from_counts(fps, tps, thr)["average_precision"] == 1.0
