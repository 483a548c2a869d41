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
images; :mod:`assay.evaluation._compare_detection`), and multi-label ones
(:mod:`assay.evaluation._compare_multilabel`). Every answer carries ``task``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.metric_names import REGISTRY, find
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.paired import (
    class_recall_replicates,
    count_influence,
    holm,
    influence_delta,
    mean_influence,
    normal_delta,
    paired_proportion,
    ranking_influence,
    tango_interval,
    z_of,
)
from assay.metrics.stats import bootstrap_indices

# the headline rows: (summary key, words, higher is better), from the registry of metric names
METRICS = tuple((m.key, m.label, m.higher_is_better) for m in headline_metrics("classification"))
# guards the per-evaluation caches below (a server compares on several threads)
# the metrics whose differences verdicts give in percentage points
PERCENT = frozenset(m.key for m in REGISTRY if m.points)
# the primary metric of each task: reported alone and first in the family of headline rows
PRIMARY = {"classification": "accuracy", "multilabel": "accuracy", "detection": "AP"}
# what a row's ``mde`` is
MDE_MEANS = (
    "the smallest difference the row's test detects with 80 % power at its unadjusted level: "
    "(z(1 - alpha / 2) + z(0.8)) x its standard error (for accuracy and top-1 accuracy, the SE "
    "under no difference or, when larger, the interval's wider half-width / z(1 - alpha / 2): "
    "never below what the interval resolves)"
)


def compare(
    a: Results,
    b: Results,
    *,
    at_a: OperatingPoint | None = None,
    at_b: OperatingPoint | None = None,
    n: int | None = None,
    seed: int = 0,
    level: float = 0.95,
    top: int = 20,
    intervals: bool = True,
    margin: float | None = None,
    margin_metrics: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """B against A, whatever the task (both must share it): :func:`compare_classification` or
    :func:`assay.evaluation._compare_detection.compare_detection`. ``n`` resamples (default 1000
    for classification, 200 for detection, where each resample re-accumulates AP);
    ``intervals=False``: no bootstrap (bootstrap intervals and p-values None). ``margin``: the
    non-inferiority / equivalence margin, in percentage points for metrics shown in points
    (accuracy, F1, ...), in the metric's own units otherwise (mAP, AUC, log loss), applied to
    ``margin_metrics`` (names of the registry; default the task's primary metric)."""
    from assay.evaluation._compare_detection import compare_detection
    from assay.evaluation.detection import DetectionResults

    if isinstance(a, DetectionResults) or isinstance(b, DetectionResults):
        if not (isinstance(a, DetectionResults) and isinstance(b, DetectionResults)):
            raise InputError(
                f"evaluation A is {a.task} and B is {b.task}: compare evaluations of one task"
            )
        margins = margins_of("detection", margin, margin_metrics)
        return compare_detection(
            a, b, at_a=at_a, at_b=at_b, n=n or 200, seed=seed, level=level, top=top,
            intervals=intervals, margins=margins,
        )  # fmt: skip
    if isinstance(a, ClassificationResults) and a.multilabel:
        from assay.evaluation._compare_multilabel import compare_multilabel

        margins = margins_of("multilabel", margin, margin_metrics)
        return compare_multilabel(
            a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top,
            intervals=intervals, margins=margins,
        )  # fmt: skip
    margins = margins_of("classification", margin, margin_metrics)
    return compare_classification(
        a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top,
        intervals=intervals, margins=margins,
    )  # fmt: skip


def margins_of(
    task: str, margin: float | None, names: tuple[str, ...] | None
) -> dict[str, float] | None:
    """{metric key: margin in the metric's units} of ``margin`` (points for metrics shown in
    points, divided by 100 here) for the metrics ``names`` (default the task's primary); a name
    the task's headline rows lack, or a margin that is not a finite number >= 0, is a
    ParameterError."""
    if margin is None:
        return None
    if not math.isfinite(margin) or margin < 0:
        raise ParameterError(f"margin: {margin} is not a number >= 0")
    keys = [m.key for m in headline_metrics(task)]
    out: dict[str, float] = {}
    for name in names or (PRIMARY[task],):
        found = find(name, task)
        if found is None or found.key not in keys:
            raise ParameterError(
                f"margin metric {name!r} is not a headline metric of a {task} comparison"
            )
        out[found.key] = margin / 100 if found.key in PERCENT else margin
    return out


def _aligned(a: Results, b: Results, multilabel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(B's rows in A's sample order, B's columns in A's class order); refuses other data."""
    for r, name in ((a, "A"), (b, "B")):
        if not isinstance(r, ClassificationResults) or r.multilabel != multilabel:
            task = getattr(r, "task", type(r).__name__)
            if isinstance(r, ClassificationResults) and r.multilabel:
                task = "multilabel"
            want = "multi-label" if multilabel else "single-label"
            raise InputError(
                f"evaluation {name} is a {task} evaluation, the other {want}: compare "
                "evaluations of one task"
            )
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    if set(a.classes) != set(b.classes):
        only = sorted(set(a.classes) ^ set(b.classes))[:3]
        raise InputError(
            f"the evaluations have different classes (e.g. {', '.join(only)}): not the same data"
        )
    cols = np.array([b.class_index[c] for c in a.classes])
    if a.n_samples != b.n_samples:
        raise InputError(
            f"the evaluations have {a.n_samples} and {b.n_samples} samples: not the same data"
        )
    if (
        a.sample_ids is not None
        and b.sample_ids is not None
        and not np.array_equal(a.sample_ids, b.sample_ids)
    ):
        where = {str(s): i for i, s in enumerate(b.sample_ids.tolist())}
        try:
            rows = np.array([where[str(s)] for s in a.sample_ids.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise InputError(
                f"sample {exc.args[0]!r} of A is not in B: not the same data"
            ) from None
    else:
        rows = np.arange(a.n_samples)
    if multilabel:
        y_b = b.y_true[rows][:, cols]
        differ = (y_b != a.y_true).any(axis=1)
    else:
        y_b = cols.argsort()[b.y_true[rows]]  # B's labels in A's class numbering
        differ = y_b != a.y_true
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        raise InputError(
            f"the labels differ (first at sample {first}): the evaluations are not of the same "
            "dataset version"
        )
    return rows, cols


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _aligned_results(
    a: Results, b: Results
) -> tuple[np.ndarray, np.ndarray, ClassificationResults]:
    """(rows, cols, B in A's sample and class order): B itself when already in that order, else
    a re-built evaluation kept on B for the next comparison with A (with A, so A's id cannot be
    reused while it is kept)."""
    rows, cols = _aligned(a, b)
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    if np.array_equal(rows, np.arange(len(rows))) and np.array_equal(cols, np.arange(len(cols))):
        return rows, cols, b
    cache = b.memo("aligned_to", 2)
    hit = cache.get(id(a))
    if hit is None:
        aligned = ClassificationResults(
            a.y_true, b.y_score[rows][:, cols], classes=a.classes, threshold=b.threshold,
            sample_ids=a.sample_ids,
        )  # fmt: skip
        hit = (a, aligned)
        cache[id(a)] = hit
    return rows, cols, hit[1]


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
}


def influence(r: ClassificationResults, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample influence (N,) of a single-label evaluation's headline metrics (other than
    accuracy) at predictions ``pred`` (:mod:`assay.metrics.paired`): macro P / R / F1, macro ROC
    AUC and AP, log loss. Kept on ``r`` for the next comparison at the same threshold (the
    ranking part, the costly one, for any)."""
    cache = r.memo("influence", 1)
    ranking = cache.get("ranking")
    if ranking is None:
        ranking = ranking_influence(r.y_true, r.y_score)
        true = r.y_score[np.arange(r.n_samples), r.y_true]
        eps = np.finfo(true.dtype).eps
        ranking["log_loss"] = mean_influence(-np.log(np.clip(true, eps, 1 - eps)))
        cache["ranking"] = ranking
    out = count_influence(r.y_true, pred, len(r.classes), zero_division=r.zero_division)
    out.update(ranking)
    return out


def _predictions(r: ClassificationResults | np.ndarray, t: float) -> np.ndarray:
    """The class each row predicts at threshold ``t`` (argmax kept when its score >= t), -1 none;
    from a single-label evaluation's precomputed top class and score, or from a score array."""
    if isinstance(r, ClassificationResults):
        top, best, dtype = r.top_classes, r.top_scores, r.y_score.dtype
    else:
        top = r.argmax(axis=1)
        best, dtype = r[np.arange(len(top)), top], r.dtype
    return np.where(best >= dtype.type(t), top, -1)


def _fmt_delta(key: str, d: float) -> str:
    if key in PERCENT:
        return f"{d * 100:+.1f} points"
    return f"{d:+.4f}"


def _fmt_ci(key: str, lo: float, hi: float) -> str:
    if key in PERCENT:
        return f"[{lo * 100:.1f}, {hi * 100:.1f}]"
    return f"[{lo:.4f}, {hi:.4f}]"


def p_text(p: float, mc: float | None = None) -> str:
    """A p-value as verdicts write it: "p = 0.012", "p < 0.001", or "p = 0.012 ± 0.003" with
    ``mc``, the Monte-Carlo error of a bootstrap p, when it shows at three decimals."""
    if p < 0.001:
        return "p < 0.001"
    if mc is not None and mc >= 0.0005:  # the Monte-Carlo error of a bootstrap p, when visible
        return f"p = {p:.3f} ± {mc:.3f}"
    return f"p = {p:.3f}"


def size_text(key: str, d: float) -> str:
    """A size (a margin, a drop) in the units verdicts use: points, or the metric's own."""
    return f"{d * 100:.3g} points" if key in PERCENT else f"{d:.3g}"


def verdict(row: dict[str, Any], level: float = 0.95, family: int | None = None) -> str:
    """One sentence for a metric row: B significantly better or worse than A (the difference is
    always B - A), or no significant difference. With ``p_holm`` (the row is in a family of
    ``family`` tests) the verdict is the Holm-adjusted one, and the sentence says so."""
    words, key, d, p = row["label"], row["metric"], row["delta"], row["p_value"]
    if d is None or not math.isfinite(d):
        return f"{words}: not defined for both models"
    if p is None:
        return f"B − A on {words}: {_fmt_delta(key, d)} (not tested yet)"
    mc = row.get("p_mc")
    p_holm = row.get("p_holm")
    decide = p if p_holm is None else p_holm
    holm_text = ""
    if p_holm is not None:
        holm_text = (
            f"Holm over {family} headline metrics: {p_text(p_holm)}"
            if family
            else (f"Holm-adjusted {p_text(p_holm)}")
        )
    ci = ""
    if row["low"] is not None and row["high"] is not None:
        ci = f", {round(level * 100)}% CI {_fmt_ci(key, row['low'], row['high'])}"
    if decide >= 1 - level:
        tail = f"; {holm_text}" if holm_text else ""
        return (
            f"No significant difference on {words} ({_fmt_delta(key, d)}{ci}, "
            f"{p_text(p, mc)}{tail})"
        )
    better = "better" if (d > 0) == row["higher_is_better"] else "worse"
    tail = f" ({holm_text})" if holm_text else ""
    return f"B is {better} on {words}: {_fmt_delta(key, d)}{ci}, {p_text(p, mc)}{tail}"


def fill_row(row: dict[str, Any], d: float, r: dict[str, float], test: str | None) -> None:
    """Put a test's answer (:func:`paired_proportion` or :func:`normal_delta`) on a row."""
    row.update(delta=d, low=_finite(r["low"]), high=_finite(r["high"]), p_value=_finite(r["p"]),
               p_mc=_finite(r.get("p_mc", math.nan)), se=_finite(r["se"]),
               mde=_finite(r["mde"]), test=test)  # fmt: skip


def headline_family(rows: list[dict[str, Any]], level: float, primary: str) -> dict[str, Any]:
    """Holm's correction across the headline rows (the family of "any difference" verdicts):
    each row with a difference gets ``p_holm`` and ``significant`` (the adjusted p < 1 - level);
    a row whose test is not run yet (the quick answer) counts as p = 1, so the family keeps its
    size. Returns the answer's ``family``: the primary metric with its own p (alone) and the
    rule."""
    members = [r for r in rows if r["delta"] is not None]
    pvals = [1.0 if r["p_value"] is None else r["p_value"] for r in members]
    for r, adjusted in zip(members, holm(pvals), strict=True):
        r["p_holm"] = float(adjusted) if r["p_value"] is not None else None
        r["significant"] = bool(r["p_value"] is not None and adjusted < 1 - level)
    for r in rows:
        r["primary"] = r["metric"] == primary
    first = next((r for r in rows if r["metric"] == primary), None)
    alone = None if first is None else first["p_value"]
    return {
        "primary": primary,
        "primary_p": alone,
        "primary_significant_alone": bool(alone is not None and alone < 1 - level),
        "headline": [r["metric"] for r in members],
        "untested": sum(r["p_value"] is None for r in members),
        "adjustment": "holm",
        "rule": (
            f"The primary metric ({primary}) is given alone (p_value) and in the family of the "
            f"{len(members)} headline rows; verdicts and 'significant' use Holm's adjustment "
            "across that family (p_holm), so equal models get a false verdict in at most "
            f"{round((1 - level) * 100)} % of comparisons. Per-class rows are a family of their "
            "own (Holm across classes)."
        ),
        "mde": MDE_MEANS,
    }


def margin_family(
    rows: list[dict[str, Any]],
    margins: dict[str, float] | None,
    bounds: dict[str, Callable[[float], tuple[float, float]]],
    level: float,
) -> dict[str, Any] | None:
    """Non-inferiority and equivalence of the margin metrics, a family of their own (Holm across
    them). Per metric: ``p_noninferior``, the one-sided p of "B is worse by at least the margin",
    Holm-adjusted; ``worst``, the bad-side bound of the interval at the metric's Holm level
    (one-sided (1 - level) / 2 / (k - rank + 1)): B is non-inferior when that bound is within the
    margin; equivalence by TOST (both one-sided tests at 1 - level, Holm-adjusted), shown with
    the 1 - 2 (1 - level) interval. ``bounds[key](tail)``: the two-sided interval leaving
    ``tail`` on each side."""
    if margins is None:
        return None
    alpha = 1 - level
    items = [r for r in rows if r["metric"] in margins]
    tested = [r for r in items if r.get("_margin") is not None]
    if not tested:
        return {"metrics": [], "verdicts": [f"{r['label']}: not tested" for r in items]}
    p_ni = [r["_margin"]["p_lower" if r["higher_is_better"] else "p_upper"] for r in tested]
    p_tost = [max(r["_margin"]["p_lower"], r["_margin"]["p_upper"]) for r in tested]
    holm_ni, holm_tost = holm(p_ni), holm(p_tost)
    k = len(tested)
    order = np.argsort(p_ni, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    out, texts = [], []
    for i, r in enumerate(tested):
        key, m = r["metric"], margins[r["metric"]]
        tail = alpha / 2 / (k - int(rank[i]))  # Holm's level of this step, one-sided
        lo, hi = bounds[key](tail)
        worst = -lo if r["higher_is_better"] else hi  # the largest plausible loss (> 0: a loss)
        e_lo, e_hi = bounds[key](alpha)  # the TOST interval (90 % at level 0.95)
        ni = bool(holm_ni[i] < alpha / 2)
        eq = bool(holm_tost[i] < alpha)
        unit = size_text(key, m)
        item = {
            "metric": key, "label": r["label"], "margin": m,
            "units": "points" if key in PERCENT else "metric",
            "p_noninferior": float(p_ni[i]), "p_noninferior_holm": float(holm_ni[i]),
            "worst_drop": _finite(worst), "worst_level": 1 - 2 * tail, "noninferior": ni,
            "p_tost": float(p_tost[i]), "p_tost_holm": float(holm_tost[i]),
            "tost_low": _finite(e_lo), "tost_high": _finite(e_hi), "equivalent": eq,
            "mde": r.get("mde"),
        }  # fmt: skip
        out.append(item)
        drop = (
            size_text(key, worst)
            if worst > 0
            else f"none (at worst a gain of {size_text(key, -worst)})"
        )
        texts.append(
            f"B is {'equivalent' if eq else 'not shown equivalent'} to A within ±{unit} on "
            f"{r['label']} (TOST {p_text(float(holm_tost[i]))}, "
            f"{round((1 - 2 * alpha) * 100)}% CI {_fmt_ci(key, e_lo, e_hi)})"
        )
        texts.append(
            f"B is {'non-inferior' if ni else 'not shown non-inferior'} to A on {r['label']} at "
            f"a margin of {unit}: worst plausible drop {drop} (one-sided "
            f"{(1 - tail) * 100:.4g}% bound)"
        )
        if r.get("mde") is not None:
            texts.append(
                f"Smallest difference detectable on {r['label']} (80% power): "
                f"{size_text(key, r['mde'])}"
            )
    return {
        "metrics": out,
        "verdicts": texts,
        "rule": (
            "Non-inferiority: the one-sided test of 'B is worse by at least the margin', Holm "
            f"across the {k} margin metric(s) at {alpha / 2:g}: B passes when the bad-side bound "
            "at the metric's Holm level is within the margin. Equivalence: TOST (both one-sided "
            f"tests at {alpha:g}), Holm across the margin metrics."
        ),
    }


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
) -> list[dict[str, Any]]:
    """The headline rows of a classification comparison: each metric of ``spec`` (key, words,
    higher is better) in both summaries, B - A with its interval and p-value from one
    procedure: Tango's score interval and McNemar's score p on ``fixed`` / ``broken`` for
    accuracy (unless ``grouped``: samples in groups, then the group bootstrap), the normal
    interval with the bootstrap SE and its z-test for the others; without the bootstrap, only
    accuracy's. ``p_holm`` / ``significant`` are set by :func:`headline_family`. A metric of
    ``margins`` also gets its one-sided p-values at the margin (kept in ``_margin`` for
    :func:`margin_family`, which removes it) and its interval at any level in ``bounds``."""
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
                r = paired_proportion(f, b, n, level=level, margin=margin)
                fill_row(row, d, r, "Tango score (McNemar)")
                if bounds is not None:
                    bounds[key] = _tango_bounds(f, b, n)
            elif influence and key in influence:
                r = influence_delta(influence[key], d, level=level, margin=margin)
                if not math.isfinite(r["low"]):
                    rows.append(row)
                    continue
                fill_row(row, d, r, INFLUENCE_TEST.get(key, "delta method (normal)"))
                if bounds is not None:
                    bounds[key] = _normal_bounds(d, r["se"])
            elif key in reps_a:
                r = normal_delta(reps_b[key] - reps_a[key], d, scale=scale, level=level,
                                 margin=margin)  # fmt: skip
                if not math.isfinite(r["low"]):
                    rows.append(row)
                    continue
                test = "group bootstrap (normal)" if grouped else "paired bootstrap (normal)"
                fill_row(row, d, r, test)
                if bounds is not None:
                    bounds[key] = _normal_bounds(d, r["se"])
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


def _tango_bounds(fixed: int, broken: int, n: int) -> Callable[[float], tuple[float, float]]:
    def at(tail: float) -> tuple[float, float]:
        lo, hi = tango_interval(fixed, broken, n, level=1 - 2 * tail)
        return float(lo), float(hi)

    return at


def _normal_bounds(d: float, se: float) -> Callable[[float], tuple[float, float]]:
    def at(tail: float) -> tuple[float, float]:
        z = z_of(tail)
        return d - z * se, d + z * se

    return at


def finish_rows(
    rows: list[dict[str, Any]],
    task: str,
    level: float,
    margins: dict[str, float] | None,
    bounds: dict[str, Callable[[float], tuple[float, float]]],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(family, margin): the headline family's Holm adjustment and the margin metrics' tests;
    the rows' private ``_margin`` removed."""
    family = headline_family(rows, level, PRIMARY[task])
    margin = margin_family(rows, margins, bounds, level)
    for r in rows:
        r.pop("_margin", None)
    return family, margin


def holm_rows(rows: list[dict[str, Any]], pvals: list[float], level: float) -> None:
    """Set each per-class row's Holm-adjusted ``p_holm`` and ``significant`` from ``pvals``
    (NaN: not tested, left None)."""
    for row, adjusted in zip(rows, holm(pvals), strict=True):
        if math.isfinite(adjusted):
            row["p_holm"] = float(adjusted)
            row["significant"] = bool(adjusted < 1 - level)


def top_changes(move: np.ndarray, mask: np.ndarray, top: int) -> np.ndarray:
    """The rows of ``mask`` with the largest ``|move|``, at most ``top``, largest first (ties:
    the first rows)."""
    where = np.flatnonzero(mask)
    size = np.abs(move[where])
    if len(where) > top:  # the top few by size, then in order
        cut = np.partition(size, len(size) - top)[len(size) - top]
        keep = size >= cut
        where, size = where[keep], size[keep]
    return where[np.argsort(-size, kind="stable")][:top]


def disagreements(
    right_a: np.ndarray,
    right_b: np.ndarray,
    changed: np.ndarray,
    move: np.ndarray,
    sample: Callable[[int], dict[str, Any]],
    top: int,
) -> dict[str, Any]:
    """Counts of the samples each model gets right, and the ``top`` samples that changed most
    (by ``move``, the change of the confidence in the truth), B fixed and B broke."""
    fixed, broken = ~right_a & right_b, right_a & ~right_b

    def most(mask: np.ndarray) -> list[dict[str, Any]]:
        return [sample(int(i)) for i in top_changes(move, mask, top)]

    return {
        "fixed": int(fixed.sum()),
        "broken": int(broken.sum()),
        "both_right": int((right_a & right_b).sum()),
        "both_wrong": int((~right_a & ~right_b).sum()),
        "prediction_changed": int(changed.sum()),
        "mean_abs_confidence_change": float(np.abs(move).mean()) if len(move) else 0.0,
        "largest_confidence_changes": most(np.ones(len(move), bool)),
        "fixed_samples": most(fixed),
        "broken_samples": most(broken),
    }


def confusion_pair(conf_a: dict[str, Any], conf_b: dict[str, Any]) -> dict[str, Any]:
    """Both confusion answers' counts and their difference B - A on the same rows and columns.
    Where one side has a column or row the other lacks (single-label at the argmax has no
    "Below threshold" column; the other side, at a threshold, has one), the other side's counts
    there are 0.

    >>> a = {"rows": ["x", "y"], "columns": ["x", "y"], "counts": [[2, 1], [0, 3]]}
    >>> b = {"rows": ["x", "y"], "columns": ["x", "y", "Below threshold"],
    ...      "counts": [[1, 1, 1], [0, 2, 1]]}
    >>> confusion_pair(a, b)["difference"]
    [[-1, 0, 1], [0, -1, 1]]
    """
    rows = list(dict.fromkeys([*conf_a["rows"], *conf_b["rows"]]))
    columns = list(dict.fromkeys([*conf_a["columns"], *conf_b["columns"]]))

    def widened(conf: dict[str, Any]) -> np.ndarray:
        out = np.zeros((len(rows), len(columns)), dtype=np.int64)
        r = [rows.index(x) for x in conf["rows"]]
        c = [columns.index(x) for x in conf["columns"]]
        out[np.ix_(r, c)] = np.asarray(conf["counts"], dtype=np.int64).reshape(len(r), len(c))
        return out

    a, b = widened(conf_a), widened(conf_b)
    return {
        "columns": columns,
        "rows": rows,
        "a": a.tolist(),
        "b": b.tolist(),
        "difference": (b - a).tolist(),
    }


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

    pred_a, pred_b = _predictions(a, ta), _predictions(aligned_b, tb)
    right_a, right_b = pred_a == y, pred_b == y
    fixed, broken = ~right_a & right_b, right_a & ~right_b
    paired: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    infl: dict[str, np.ndarray] = {}
    if groups is None:
        # top-1 accuracy (the argmax, whatever the threshold) is a paired proportion too
        top_a, top_b = a.top_classes == y, aligned_b.top_classes == y
        paired["top1_accuracy"] = (~top_a & top_b, top_a & ~top_b)
        if intervals:
            ia, ib = influence(a, pred_a), influence(aligned_b, pred_b)
            infl = {k: ib[k] - ia[k] for k in ia}

    bounds: dict[str, Callable[[float], tuple[float, float]]] = {}
    metrics = metric_rows(METRICS, sa, sb, reps_a, reps_b, fixed, broken, scale=scale,
                          level=level, bootstrapped=intervals, grouped=groups is not None,
                          margins=margins, bounds=bounds, influence=infl,
                          paired=paired)  # fmt: skip
    family, margin = finish_rows(metrics, "classification", level, margins, bounds)

    per_class = _per_class(a, aligned_b, ta, tb, idx, y, right_a, right_b, scale, level,
                           grouped=groups is not None)  # fmt: skip
    changed = pred_a != pred_b
    true_a = a.y_score[np.arange(len(y)), y]
    true_b = score_b[np.arange(len(y)), y]
    move = true_b - true_a
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
        "disagreements": disagreements(right_a, right_b, changed, move, sample, top),
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
    diff = right_b.astype(np.float64) - right_a.astype(np.float64)
    reps = None if idx is None or not grouped else class_recall_replicates(idx, y, diff, C)
    rows_a = {r["label"]: r for r in a.per_class(OperatingPoint(threshold=ta))["items"]}
    rows_b = {r["label"]: r for r in b.per_class(OperatingPoint(threshold=tb))["items"]}
    count = np.bincount(y, minlength=C)
    moved = np.bincount(y, weights=diff, minlength=C)
    lost = np.bincount(y[right_a & ~right_b], minlength=C)
    won = np.bincount(y[~right_a & right_b], minlength=C)
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
            row.update(recall_delta=d, low=_finite(lo), high=_finite(hi), p_value=_finite(p))
        pvals.append(p)
        out.append(row)
    holm_rows(out, pvals, level)
    return out


def verdicts(rows: list[dict[str, Any]], level: float, keys: tuple[str, ...]) -> list[str]:
    """The verdicts of the rows ``keys`` (Holm-adjusted across the headline family)."""
    size = sum(r["delta"] is not None for r in rows)
    return [verdict(r, level, size) for r in rows if r["metric"] in keys]


def shared_groups(a: Results, b: Results, rows: np.ndarray) -> np.ndarray | None:
    """The samples' groups (A's sample order) when both evaluations have them, else None; groups
    that differ between A and B (in A's order) are an InputError."""
    ga, gb = getattr(a, "groups", None), getattr(b, "groups", None)
    if ga is None or gb is None:
        return None
    ga, gb = np.asarray(ga), np.asarray(gb)[rows]
    if ga.shape != gb.shape or not np.array_equal(ga, gb):
        raise InputError("the evaluations group their samples differently: not the same data")
    return ga


def resample_indices(
    n_samples: int, n: int, seed: int, cap: int, groups: np.ndarray | None
) -> np.ndarray:
    """The bootstrap's rows, (n, m): samples (at most ``cap`` per replicate), or whole groups
    (every sample of each drawn group; rows padded with -1 to one length)."""
    if groups is None:
        return bootstrap_indices(n_samples, n, seed=seed, cap=cap)
    return bootstrap_indices(n_samples, n, seed=seed, groups=groups)  # type: ignore[call-arg]
