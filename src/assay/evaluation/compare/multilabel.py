"""Compare two multi-label evaluations of the same samples.

As for single-label (:mod:`assay.evaluation.compare`), each headline difference has one
procedure for its interval and p-value (the normal interval with the analytic, delta-method SE
of the paired difference, DeLong's for ROC AUC, and its z-test; nothing is resampled, so the
cost is linear in the samples at any number of labels); subset accuracy (a sample is right when its whole label set is), the primary
metric, uses Tango's score interval and McNemar's score test on the samples one model gets
exactly right and the other not. The headline rows are one family (Holm). Per label, the recall
difference (the share of the label's positives each model predicts at its threshold) with
Tango's interval and McNemar's score test on those positives, Holm-adjusted across labels.
"Fixed" and "broken" samples are judged on the exact label set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import ndtr

from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare.classification import metric_rows
from assay.evaluation.compare.common import (
    align_evaluations,
    confusion_pair,
    disagreements,
    finish_rows,
    finite,
    holm_rows,
    verdicts,
)
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.paired import (
    ap_excess_variance,
    auc_pair_variance,
    mean_influence,
    multilabel_count_influence,
    multilabel_swap_effect,
    ranking_influence,
    tango_interval,
)

# the headline rows: (key, words, higher is better), from the registry of metric names
MULTILABEL_METRICS = tuple(
    (m.key, m.label, m.higher_is_better) for m in headline_metrics("multilabel")
)


def _influence(r: ClassificationResults, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) of a multi-label evaluation's headline metrics other than
    subset accuracy, at predictions ``pred`` (:mod:`assay.metrics.paired`); the threshold-free
    part kept on ``r`` for the next comparison."""
    cache = r.memo("influence", 1)
    ranking = cache.get("ranking")
    if ranking is None:
        y, s = r.y_true, r.y_score
        ranking = ranking_influence(y, s, multilabel=True)
        eps = np.finfo(s.dtype).eps
        c = np.clip(s, eps, 1 - eps).astype(np.float64)
        ranking["log_loss"] = mean_influence(-np.where(y, np.log(c), np.log1p(-c)).mean(axis=1))
        cache["ranking"] = ranking
    out = multilabel_count_influence(r.y_true, pred, zero_division=r.zero_division)
    out.update(ranking)
    return out


def compare_multilabel(
    a: Results,
    b: Results,
    *,
    at_a: OperatingPoint | None = None,
    at_b: OperatingPoint | None = None,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    top: int = 20,
    intervals: bool = True,
    margins: dict[str, float] | None = None,
) -> dict[str, Any]:
    """B against A (multi-label), each at its own threshold; the answer has the shape of
    :func:`assay.evaluation.compare.compare_classification`'s with ``task`` "multilabel", label
    sets (lists) for ``actual`` / ``predicted_a`` / ``predicted_b`` of the samples, and per-label
    rows whose ``n`` is the label's positives."""
    rows, cols = align_evaluations(a, b, multilabel=True)
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    same = np.array_equal(rows, np.arange(len(rows))) and np.array_equal(cols, np.arange(len(cols)))
    y = a.y_true
    score_b = b.y_score if same else b.y_score[rows][:, cols]
    ta, tb = a.point(at_a).threshold, b.point(at_b).threshold
    assert ta is not None and tb is not None
    aligned_b = (
        b
        if same
        else ClassificationResults(
            y, score_b, classes=a.classes, multilabel=True, threshold=tb, sample_ids=a.sample_ids
        )  # fmt: skip
    )
    sa = a.summary(OperatingPoint(threshold=ta))
    sb = aligned_b.summary(OperatingPoint(threshold=tb))
    pred_a = a.y_score >= a.y_score.dtype.type(ta)
    pred_b = score_b >= score_b.dtype.type(tb)
    right_a, right_b = (pred_a == y).all(axis=1), (pred_b == y).all(axis=1)
    fixed, broken = ~right_a & right_b, right_a & ~right_b
    # no resampling: each difference's analytic standard error from every sample (seconds at
    # any number of labels); ``n`` and ``seed`` are kept for the other tasks' bootstrap
    infl: dict[str, np.ndarray] = {}
    least: dict[str, float] = {}
    less: dict[str, float] = {}
    if intervals and len(y):
        ia, ib = _influence(a, pred_a), _influence(aligned_b, pred_b)
        infl = {k: ib[k] - ia[k] for k in ia}
        ea = multilabel_swap_effect(y, pred_a, zero_division=a.zero_division)
        eb = multilabel_swap_effect(y, pred_b, zero_division=aligned_b.zero_division)
        least = {key: (ea[key] + eb[key]) / 2 for key in ea}
        less = {"roc_auc_macro": auc_pair_variance(y, a.y_score, score_b, multilabel=True)}
        if "average_precision_macro" in infl:
            less["average_precision_macro"] = ap_excess_variance(
                y, a.y_score, score_b, infl["average_precision_macro"], multilabel=True
            )

    bounds: dict[str, Callable[[float], tuple[float, float]]] = {}
    metrics = metric_rows(MULTILABEL_METRICS, sa, sb, {}, {}, fixed, broken, scale=1.0,
                          level=level, bootstrapped=bool(infl), margins=margins, bounds=bounds,
                          influence=infl, least=least, less=less)  # fmt: skip
    family, margin = finish_rows(metrics, "multilabel", level, margins, bounds)

    # per label: recall over its positives; McNemar on the positives one model finds and the
    # other misses
    hit_a, hit_b = pred_a & y, pred_b & y
    diff = hit_b.astype(np.float64) - hit_a.astype(np.float64)  # zero off the positives
    n_pos = y.sum(axis=0)
    lost = (hit_a & ~hit_b).sum(axis=0)
    won = (~hit_a & hit_b).sum(axis=0)
    low, high = tango_interval(won, lost, n_pos, level=level)
    z0 = np.where(won + lost > 0, (won - lost) / np.sqrt(np.maximum(won + lost, 1)), 0.0)
    p_score = np.minimum(1.0, 2 * ndtr(-np.abs(z0)))
    rows_a = {r["label"]: r for r in a.per_class(OperatingPoint(threshold=ta))["items"]}
    rows_b = {r["label"]: r for r in aligned_b.per_class(OperatingPoint(threshold=tb))["items"]}
    per_class, pvals = [], []
    for k, name in enumerate(a.classes):
        ra, rb = rows_a[name], rows_b[name]
        row = {"label": name, "n": int(n_pos[k]), "recall_a": ra.get("recall"),
               "recall_b": rb.get("recall"), "f1_a": ra.get("f1"), "f1_b": rb.get("f1"),
               "ap_a": ra.get("average_precision"), "ap_b": rb.get("average_precision"),
               "recall_delta": None, "low": None, "high": None, "p_value": None,
               "p_holm": None, "significant": False}  # fmt: skip
        p = math.nan
        if n_pos[k]:
            d = float(diff[:, k].sum() / n_pos[k])
            p = float(p_score[k])
            row.update(recall_delta=d, low=finite(float(low[k])), high=finite(float(high[k])),
                       p_value=p)  # fmt: skip
        pvals.append(p)
        per_class.append(row)
    holm_rows(per_class, pvals, level)

    # confidence: the mean score of the annotated labels (how sure each model is of the truth)
    with np.errstate(invalid="ignore"):
        n_true = y.sum(axis=1)
        true_a = np.where(n_true > 0, (a.y_score * y).sum(axis=1) / np.maximum(n_true, 1), 0.0)
        true_b = np.where(n_true > 0, (score_b * y).sum(axis=1) / np.maximum(n_true, 1), 0.0)
    move = true_b - true_a
    changed = (pred_a != pred_b).any(axis=1)
    ids = a.sample_ids if a.sample_ids is not None else np.arange(len(y)).astype(str)
    names = np.array(a.classes, dtype=object)

    def sample(i: int) -> dict[str, Any]:
        return {"index": int(i), "index_b": int(rows[i]), "id": str(ids[i]),
                "actual": names[y[i]].tolist(), "predicted_a": names[pred_a[i]].tolist(),
                "predicted_b": names[pred_b[i]].tolist(),
                "confidence_a": float(true_a[i]), "confidence_b": float(true_b[i]),
                "change": "fixed" if fixed[i] else "broken" if broken[i] else
                ("changed" if changed[i] else "same")}  # fmt: skip

    conf_a = a.confusion(OperatingPoint(threshold=ta))
    conf_b = aligned_b.confusion(OperatingPoint(threshold=tb))
    return {
        "task": "multilabel",
        "n_samples": int(len(y)),
        "classes": list(a.classes),
        "thresholds": {"a": ta, "b": tb},
        "n_resamples": 0,
        "level": level,
        "resampled": "samples",
        "metrics": metrics,
        "family": family,
        "margin": margin,
        "verdicts": verdicts(metrics, level, ("accuracy", "macro_f1", "roc_auc_macro")),
        "per_class": per_class,
        "disagreements": disagreements(right_a, right_b, changed, move, sample, top),
        "confusion": confusion_pair(conf_a, conf_b),
    }
