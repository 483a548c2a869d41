"""Compare two classification evaluations of the same samples: is B better than A, by how much,
is the difference real, and which samples changed.

Every headline metric's difference ``B - A`` has one procedure whose interval and p-value agree
(the interval excludes 0 exactly when p < 1 - level; :mod:`assay.metrics.paired`):

- accuracy (multi-label: subset accuracy): Tango's score interval, and the p of the same score
  test at 0, which is McNemar's (asymptotic) on the samples one model gets right and the other
  wrong;
- top-1 accuracy (the argmax, whatever the threshold) the same way;
- the others: the normal interval with the analytic standard error of the paired difference and
  its z-test: the delta method on each sample's influence on both models' metric
  (:func:`assay.metrics.paired.count_influence`, :func:`~assay.metrics.paired.ranking_influence`;
  for ROC AUC that is DeLong's), from every sample at any number of classes, so nothing is
  resampled or capped (``n_resamples`` 0, ``p_mc`` 0; seconds at 1,000 classes x 50,000
  samples). With groups (both evaluations have the same ``groups``), the group bootstrap's
  standard error instead (every sample of each drawn group), its p with its Monte-Carlo error.

A declared family: the primary metric (accuracy; subset accuracy for multi-label; mAP for
detection) is reported alone (``family.primary``: its own p) and in the family of the headline
rows, whose "B is better / worse" verdicts are Holm-adjusted across every headline row
(``p_holm``; ``significant``), so equal models get a false verdict in at most 1 - level of
comparisons. Per class, the recall difference (Tango's interval, McNemar's score p within the
class), Holm-adjusted across classes, beside the F1 and AP differences. With ``margin``, the
margin metrics (default the primary) get a non-inferiority test and an equivalence test (TOST),
Holm-adjusted across those metrics (``margin``). Metrics mean exactly what each evaluation's
summary says; samples are matched by id.

>>> out = compare_classification(results_a, results_b)          # doctest: +SKIP
>>> out["verdicts"][0]                                            # doctest: +SKIP
'B is better on accuracy: +1.8 points, 95% CI [0.9, 2.7], p = 0.003 (Holm over 8: p = 0.024)'

Detection evaluations are compared by :func:`compare` too (AP per class and per IoU, over
images; :mod:`assay.evaluation.compare.detection`), and multi-label ones
(:mod:`assay.evaluation.compare.multilabel`). Every answer carries ``task``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from assay.caches import LRU
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare.common import (
    confusion_pair,
    disagreements,
    fill_row,
    finish_rows,
    finite,
    holm_rows,
    normal_bounds,
    predictions_at,
    resample_indices,
    shared_groups,
    tango_bounds,
    verdicts,
)
from assay.evaluation.compare.pairing import aligned, pair_of
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.paired import (
    ap_excess_variance,
    auc_pair_variance,
    class_recall_replicates,
    count_influence,
    count_swap_effect,
    influence_delta,
    mean_influence,
    normal_delta,
    paired_proportion,
    tango_interval,
)
from assay.metrics.ranking_influence import single_label_ranking_influence

# the headline rows: (summary key, words, higher is better), from the registry of metric names
METRICS = tuple((m.key, m.label, m.higher_is_better) for m in headline_metrics("classification"))


def _aligned_results(
    a: Results, b: Results
) -> tuple[np.ndarray, np.ndarray, ClassificationResults]:
    """(rows, cols, B in A's sample and class order): B itself when already in that order, else
    a re-built evaluation; kept on A for the next comparison of the pair
    (:func:`~assay.evaluation.compare.pairing.aligned`)."""
    return aligned(a, b)


def _ranking_replicates(
    owner: ClassificationResults,
    base: ClassificationResults,
    score: np.ndarray,
    idx: np.ndarray,
    key: tuple[int, int, int, bool],
) -> dict[str, np.ndarray]:
    """The threshold-free replicates (macro ROC AUC and AP) of ``score`` (``owner``'s scores in
    ``base``'s sample and class order) on the resamples ``idx``; kept on ``owner`` for the next
    comparison with ``base`` on the same resamples (another threshold costs only the counts).
    ``base`` itself is kept with them, so its id cannot be reused while they are."""
    full = (*key, id(base))
    cache = owner.memo("ranking_replicates", 4)
    hit = cache.get(full)
    if hit is not None:
        return dict(hit[1])
    from assay.metrics.bootstrap import replicate_auc_ap

    y = base.y_true
    drawn = idx >= 0  # group resamples are padded with -1
    keys = np.arange(idx.shape[0])[:, None] * len(base.classes) + y[np.where(drawn, idx, 0)]
    n_pos = np.bincount(keys[drawn], minlength=idx.shape[0] * len(base.classes)).reshape(
        idx.shape[0], len(base.classes)
    )
    auc, ap = replicate_auc_ap(idx, y, score, n_pos)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {
            "roc_auc_macro": np.nanmean(auc, axis=1),
            "average_precision_macro": np.nanmean(ap, axis=1),
        }
    cache[full] = (base, out)
    return dict(out)


# the test named on a row whose standard error is analytic (no resampling)
INFLUENCE_TEST = {
    "roc_auc_macro": "DeLong (normal)",
    "average_precision_macro": "delta method (normal)",
    "macro_recall": "delta method within classes (Student t)",
}
# the rows whose samples fall in strata of fixed size: a macro recall's true classes
# (:func:`assay.metrics.paired.stratified_variance`)
STRATIFIED = ("macro_recall",)


def ranking_influence_of(r: ClassificationResults) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) of a single-label evaluation on its macro ROC AUC
    (``roc_auc_macro``, DeLong's), macro AP (``average_precision_macro``) and log loss
    (``log_loss``): what no threshold changes, and the costly part of a comparison's standard
    errors. A property of ``r`` alone, kept on it (:func:`kept_ranking_influence`,
    :func:`keep_ranking_influence`: the store keeps it beside a stored evaluation)."""
    cache = r.memo("influence", 1)
    ranking = cache.get("ranking")
    if ranking is None:
        ranking = single_label_ranking_influence(r.y_true, r.y_score)
        true = r.y_score[np.arange(r.n_samples), r.y_true]
        eps = np.finfo(true.dtype).eps
        ranking["log_loss"] = mean_influence(-np.log(np.clip(true, eps, 1 - eps)))
        cache["ranking"] = ranking
    return dict(ranking)


def kept_ranking_influence(r: Results) -> dict[str, np.ndarray] | None:
    """:func:`ranking_influence_of` ``r`` if it is already computed (or given), else None."""
    got = r.memo("influence", 1).get("ranking")
    return None if got is None else dict(got)


def keep_ranking_influence(r: Results, ranking: dict[str, np.ndarray]) -> None:
    """Give ``r`` its :func:`ranking_influence_of` computed earlier (by another process, kept in
    the store): each of its keys (N,) float64, the same numbers it would compute."""
    if not isinstance(r, ClassificationResults) or r.multilabel:
        raise ValueError("ranking influences are kept for single-label classification only")
    want = ("roc_auc_macro", "average_precision_macro", "log_loss")
    if set(ranking) != set(want) or any(np.shape(ranking[k]) != (r.n_samples,) for k in want):
        raise ValueError(f"ranking influences must be {want}, each ({r.n_samples},)")
    r.memo("influence", 1)["ranking"] = {k: np.asarray(ranking[k], np.float64) for k in want}


def influence(r: ClassificationResults, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) of a single-label evaluation's headline metrics (other than
    accuracy) at predictions ``pred`` (:mod:`assay.metrics.paired`): macro P / R / F1, macro ROC
    AUC and AP, log loss. The ranking part, the costly one, is kept on ``r`` for any threshold
    (:func:`ranking_influence_of`)."""
    out = count_influence(r.y_true, pred, len(r.classes), zero_division=r.zero_division)
    out.update(ranking_influence_of(r))
    return out


def _ranking_less(
    a: ClassificationResults, b: ClassificationResults, ap_influence: np.ndarray
) -> dict[str, float]:
    """The variances the per-sample sums of macro ROC AUC and AP count twice
    (:func:`~assay.metrics.paired.auc_pair_variance`,
    :func:`~assay.metrics.paired.ap_excess_variance`) between A and ``b`` (B in A's sample and
    class order, with AP's influence ``ap_influence`` of B - A): no threshold changes them, so
    they are kept on A (with ``b``) for the next comparison of the pair."""
    cache = a.memo("ranking_less", 2)
    hit = cache.get(id(b))
    if hit is not None:
        return dict(hit[1])
    out = {
        "roc_auc_macro": auc_pair_variance(a.y_true, a.y_score, b.y_score),
        "average_precision_macro": ap_excess_variance(a.y_true, a.y_score, b.y_score, ap_influence),
    }
    cache[id(b)] = (b, out)
    return dict(out)


# the last paired proportions' answers, by (fixed, broken, n, level, margin): top-1 accuracy's
# is the same at every threshold, and a threshold asked again (quick, then with intervals) is
# answered without Tango's bisection
_PROPORTIONS: LRU[tuple[int, int, int, float, float | None], dict[str, float]] = LRU(64)


def _paired_proportion(
    fixed: int, broken: int, n: int, level: float, margin: float | None
) -> dict[str, float]:
    """:func:`~assay.metrics.paired.paired_proportion`, kept for the next same question."""
    key = (int(fixed), int(broken), int(n), float(level), margin)
    hit = _PROPORTIONS.get(key)
    if hit is None:
        hit = paired_proportion(fixed, broken, n, level=level, margin=margin)
        _PROPORTIONS[key] = hit
    return dict(hit)


def metric_rows(
    spec: tuple[tuple[str, str, bool], ...],
    sa: dict[str, Any],
    sb: dict[str, Any],
    reps_a: dict[str, np.ndarray],
    reps_b: dict[str, np.ndarray],
    fixed: np.ndarray,
    broken: np.ndarray,
    *,
    scale: float,
    level: float,
    bootstrapped: bool,
    grouped: bool = False,
    margins: dict[str, float] | None = None,
    bounds: dict[str, Callable[[float], tuple[float, float]]] | None = None,
    influence: dict[str, np.ndarray] | None = None,
    paired: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    least: dict[str, float] | None = None,
    less: dict[str, float] | None = None,
    strata: dict[str, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """The headline rows of a classification comparison: each metric of ``spec`` (key, words,
    higher is better) in both summaries, B - A with its interval and p-value from one
    procedure: Tango's score interval and McNemar's score p on ``fixed`` / ``broken`` for
    accuracy (unless ``grouped``: samples in groups, then the group bootstrap), the normal
    interval with the bootstrap SE and its z-test for the others; without the bootstrap, only
    accuracy's. ``p_holm`` / ``significant`` are set by :func:`headline_family`. A metric of
    ``margins`` also gets its one-sided p-values at the margin (kept in ``_margin`` for
    :func:`margin_family`, which removes it) and its interval at any level in ``bounds``.
    ``least``: each count metric's effect of one changed prediction, the floor of its
    standard error (:func:`~assay.metrics.paired.influence_delta`); ``less``: the variance
    per-sample sum counts twice for ROC AUC (:func:`~assay.metrics.paired.auc_pair_variance`)
    and AP (:func:`~assay.metrics.paired.ap_excess_variance`)."""
    rows = []
    n = len(fixed)
    n_fixed, n_broken = int(fixed.sum()), int(broken.sum())
    for key, words, higher in spec:
        va, vb = sa.get(key), sb.get(key)
        row: dict[str, Any] = {"metric": key, "label": words, "higher_is_better": higher,
                               "a": va, "b": vb, "delta": None, "low": None, "high": None,
                               "p_value": None, "p_holm": None, "p_mc": None, "se": None,
                               "mde": None, "test": None, "significant": False,
                               "primary": False}  # fmt: skip
        margin = None if margins is None else margins.get(key)
        if va is not None and vb is not None and math.isfinite(float(vb) - float(va)):
            d = float(vb) - float(va)
            if (key == "accuracy" and not grouped) or (paired and key in paired):
                f, b = (n_fixed, n_broken)
                if key != "accuracy" and paired:
                    f, b = int(paired[key][0].sum()), int(paired[key][1].sum())
                r = _paired_proportion(f, b, n, level, margin)
                fill_row(row, d, r, "Tango score (McNemar)")
                if bounds is not None:
                    bounds[key] = tango_bounds(f, b, n)
            elif influence and key in influence:
                r = influence_delta(influence[key], d, level=level, margin=margin,
                                    least=(least or {}).get(key, 0.0),
                                    less=(less or {}).get(key, 0.0),
                                    strata=(strata or {}).get(key))  # fmt: skip
                if not math.isfinite(r["low"]):
                    rows.append(row)
                    continue
                stratified = math.isfinite(r["df"])
                test = INFLUENCE_TEST.get(key, "delta method (normal)")
                fill_row(row, d, r, test if stratified or key not in STRATIFIED else
                         "delta method (normal)")  # fmt: skip
                if bounds is not None:
                    bounds[key] = normal_bounds(d, r["se"], r["df"])
            elif key in reps_a:
                r = normal_delta(reps_b[key] - reps_a[key], d, scale=scale, level=level,
                                 margin=margin)  # fmt: skip
                if not math.isfinite(r["low"]):
                    rows.append(row)
                    continue
                test = "group bootstrap (normal)" if grouped else "paired bootstrap (normal)"
                fill_row(row, d, r, test)
                if bounds is not None:
                    bounds[key] = normal_bounds(d, r["se"])
            elif bootstrapped:
                rows.append(row)
                continue
            else:
                row["delta"] = d
                r = {}
            if margin is not None and "p_lower" in r:
                row["_margin"] = {"p_lower": r["p_lower"], "p_upper": r["p_upper"]}
        rows.append(row)
    return rows


def compare_classification(
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
    """A against B on the same samples (B aligned to A's samples and classes), each at its own
    operating point (default: its stored threshold). See the module docstring for the tests.
    ``intervals=False`` skips the standard errors of the rows other than accuracy and top-1
    accuracy (a quick answer at a new threshold): their intervals and p-values are None; the
    score tests (accuracy, top-1 accuracy, per class, with their intervals) and Holm's
    corrections stay. ``n_resamples`` is the bootstrap's (grouped samples only; else 0). When both evaluations have
    ``groups`` (patients, videos: the same for both), the bootstrap resamples groups and
    accuracy and per-class recall use it too (McNemar assumes independent samples).
    ``margins``: {metric key: margin in its units} (:func:`margins_of`).

    Returns {metrics: rows with a, b, delta, low, high, p_value, p_holm, p_mc, se, mde,
    significant, primary, higher_is_better; family; margin; verdicts; per_class: rows with
    recall / F1 / AP of both, the recall difference, its interval, p and Holm-adjusted p;
    disagreements: counts and the samples that changed most; confusion: both matrices and B - A;
    n_resamples, level, thresholds}."""
    rows, cols, aligned_b = _aligned_results(a, b)
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    pair = pair_of(a, b, top)  # what no threshold changes, once per pair
    score_b = aligned_b.y_score
    y = a.y_true
    ta, tb = a.point(at_a).threshold, b.point(at_b).threshold
    assert ta is not None and tb is not None
    sa = a.summary(OperatingPoint(threshold=ta))
    sb = aligned_b.summary(OperatingPoint(threshold=tb))

    groups = shared_groups(a, b, rows)
    # grouped samples: the group bootstrap (every sample of each drawn group, no cap); else no
    # resampling: the analytic standard errors of the differences (:func:`influence`)
    idx = resample_indices(len(y), n, seed, 0, groups) if intervals and groups is not None else None
    scale = 1.0
    reps_a: dict[str, np.ndarray] = {}
    reps_b: dict[str, np.ndarray] = {}
    if idx is not None:
        reps_a = classification_replicates(idx, y, a.y_score, ta, ranking=False)
        reps_b = classification_replicates(idx, y, score_b, tb, ranking=False)
        key = (seed, n, 0, True)
        reps_a.update(_ranking_replicates(a, a, a.y_score, idx, key))
        reps_b.update(_ranking_replicates(b, a, score_b, idx, key))

    pred_a, pred_b = predictions_at(a, ta), predictions_at(aligned_b, tb)
    right_a, right_b = pred_a == y, pred_b == y
    fixed, broken = ~right_a & right_b, right_a & ~right_b
    paired: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    infl: dict[str, np.ndarray] = {}
    least: dict[str, float] = {}
    less: dict[str, float] = {}
    if groups is None:
        # top-1 accuracy (the argmax, whatever the threshold) is a paired proportion too
        paired["top1_accuracy"] = (pair.top_fixed, pair.top_broken)
        if intervals:
            ia, ib = influence(a, pred_a), influence(aligned_b, pred_b)
            infl = {k: ib[k] - ia[k] for k in ia}
            n_cls = len(a.classes)
            ea = count_swap_effect(y, pred_a, n_cls, zero_division=a.zero_division)
            eb = count_swap_effect(y, pred_b, n_cls, zero_division=aligned_b.zero_division)
            least = {key: (ea[key] + eb[key]) / 2 for key in ea}
            less = _ranking_less(a, aligned_b, infl["average_precision_macro"])

    bounds: dict[str, Callable[[float], tuple[float, float]]] = {}
    metrics = metric_rows(METRICS, sa, sb, reps_a, reps_b, fixed, broken, scale=scale,
                          level=level, bootstrapped=intervals, grouped=groups is not None,
                          margins=margins, bounds=bounds, influence=infl,
                          paired=paired, least=least, less=less,
                          strata=dict.fromkeys(STRATIFIED, y))  # fmt: skip
    family, margin = finish_rows(metrics, "classification", level, margins, bounds)

    per_class = _per_class(a, aligned_b, ta, tb, idx, y, right_a, right_b, scale, level,
                           grouped=groups is not None)  # fmt: skip
    changed = pred_a != pred_b
    true_a, true_b, move = pair.true_a, pair.true_b, pair.move
    ids = a.sample_ids if a.sample_ids is not None else np.arange(len(y)).astype(str)

    def sample(i: int) -> dict[str, Any]:
        name = lambda k: None if k < 0 else a.classes[k]  # noqa: E731
        return {"index": int(i), "index_b": int(rows[i]), "id": str(ids[i]),
                "actual": a.classes[y[i]],
                "predicted_a": name(int(pred_a[i])), "predicted_b": name(int(pred_b[i])),
                "confidence_a": float(true_a[i]), "confidence_b": float(true_b[i]),
                "change": "fixed" if fixed[i] else "broken" if broken[i] else
                ("changed" if changed[i] else "same")}  # fmt: skip

    conf_a = a.confusion(OperatingPoint(threshold=ta))
    conf_b = aligned_b.confusion(OperatingPoint(threshold=tb))
    return {
        "task": "classification",
        "n_samples": int(len(y)),
        "classes": list(a.classes),
        "thresholds": {"a": ta, "b": tb},
        "n_resamples": int(n) if idx is not None else 0,
        "level": level,
        "resampled": "groups" if groups is not None else "samples",
        "metrics": metrics,
        "family": family,
        "margin": margin,
        "verdicts": verdicts(metrics, level, ("accuracy", "macro_f1", "roc_auc_macro")),
        "per_class": per_class,
        "disagreements": disagreements(
            right_a, right_b, changed, move, sample, top, (pair.largest, pair.mean_abs_move)
        ),
        "confusion": confusion_pair(conf_a, conf_b),
    }


def _per_class(
    a: ClassificationResults,
    b: ClassificationResults,
    ta: float,
    tb: float,
    idx: np.ndarray | None,
    y: np.ndarray,
    right_a: np.ndarray,
    right_b: np.ndarray,
    scale: float,
    level: float,
    *,
    grouped: bool = False,
) -> list[dict[str, Any]]:
    """Per class: the recall difference with Tango's interval and McNemar's score p within the
    class (grouped samples: the group bootstrap's normal interval and z-test), Holm across the
    classes."""
    C = len(a.classes)
    reps = None
    if idx is not None and grouped:
        diff = right_b.astype(np.float64) - right_a.astype(np.float64)
        reps = class_recall_replicates(idx, y, diff, C)
    rows_a = {r["label"]: r for r in a.per_class(OperatingPoint(threshold=ta))["items"]}
    rows_b = {r["label"]: r for r in b.per_class(OperatingPoint(threshold=tb))["items"]}
    count = np.bincount(y, minlength=C)
    lost = np.bincount(y[right_a & ~right_b], minlength=C)
    won = np.bincount(y[~right_a & right_b], minlength=C)
    moved = (won - lost).astype(np.float64)  # the sum of right_b - right_a per class
    low, high = tango_interval(won, lost, count, level=level)
    z0 = np.where(won + lost > 0, (won - lost) / np.sqrt(np.maximum(won + lost, 1)), 0.0)
    from scipy.special import ndtr

    p_score = np.minimum(1.0, 2 * ndtr(-np.abs(z0)))
    out, pvals = [], []
    for k, name in enumerate(a.classes):
        ra, rb = rows_a[name], rows_b[name]
        row: dict[str, Any] = {"label": name, "n": int(count[k]),
                               "recall_a": ra.get("recall"), "recall_b": rb.get("recall"),
                               "f1_a": ra.get("f1"), "f1_b": rb.get("f1"),
                               "ap_a": ra.get("average_precision"),
                               "ap_b": rb.get("average_precision"),
                               "recall_delta": None, "low": None, "high": None,
                               "p_value": None, "p_holm": None, "significant": False}  # fmt: skip
        p = math.nan
        if count[k]:
            d = float(moved[k] / count[k])
            lo, hi, p = float(low[k]), float(high[k]), float(p_score[k])
            if grouped:
                lo = hi = p = math.nan
                if reps is not None:
                    r = normal_delta(reps[:, k], d, scale=scale, level=level)
                    lo, hi, p = r["low"], r["high"], r["p"]
            row.update(recall_delta=d, low=finite(lo), high=finite(hi), p_value=finite(p))
        pvals.append(p)
        out.append(row)
    holm_rows(out, pvals, level)
    return out
