"""What every comparison shares: matching two evaluations' samples and classes, the words of a
difference, one procedure per row (Tango / McNemar or a normal interval) with its verdict, the
family (Holm across the headline rows), margins (non-inferiority, TOST, the smallest detectable
difference), the samples that changed and the confusion difference."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.metric_names import REGISTRY, find
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.results import Results
from assay.metrics.paired import (
    holm,
    t_of,
    tango_interval,
)
from assay.metrics.stats import bootstrap_indices

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


def align_evaluations(
    a: Results, b: Results, multilabel: bool = False
) -> tuple[np.ndarray, np.ndarray]:
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


def finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def predictions_at(r: ClassificationResults | np.ndarray, t: float) -> np.ndarray:
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
    row.update(delta=d, low=finite(r["low"]), high=finite(r["high"]), p_value=finite(r["p"]),
               p_mc=finite(r.get("p_mc", math.nan)), se=finite(r["se"]),
               mde=finite(r["mde"]), test=test)  # fmt: skip


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
            "worst_drop": finite(worst), "worst_level": 1 - 2 * tail, "noninferior": ni,
            "p_tost": float(p_tost[i]), "p_tost_holm": float(holm_tost[i]),
            "tost_low": finite(e_lo), "tost_high": finite(e_hi), "equivalent": eq,
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


def tango_bounds(fixed: int, broken: int, n: int) -> Callable[[float], tuple[float, float]]:
    def at(tail: float) -> tuple[float, float]:
        lo, hi = tango_interval(fixed, broken, n, level=1 - 2 * tail)
        return float(lo), float(hi)

    return at


def normal_bounds(
    d: float, se: float, df: float = math.inf
) -> Callable[[float], tuple[float, float]]:
    """The two-sided interval of ``d`` leaving ``tail`` on each side: normal, or Student's t
    with ``df`` degrees of freedom when finite (the row's own procedure)."""

    def at(tail: float) -> tuple[float, float]:
        z = t_of(tail, df)
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
    largest: tuple[np.ndarray, float] | None = None,
) -> dict[str, Any]:
    """Counts of the samples each model gets right, and the ``top`` samples that changed most
    (by ``move``, the change of the confidence in the truth), B fixed and B broke. ``largest``:
    (the ``top`` samples of largest ``|move|``, the mean ``|move|``) when already known."""
    fixed, broken = ~right_a & right_b, right_a & ~right_b

    def most(mask: np.ndarray) -> list[dict[str, Any]]:
        return [sample(int(i)) for i in top_changes(move, mask, top)]

    if largest is None:
        every = top_changes(move, np.ones(len(move), bool), top)
        largest = every, float(np.abs(move).mean()) if len(move) else 0.0
    return {
        "fixed": int(fixed.sum()),
        "broken": int(broken.sum()),
        "both_right": int((right_a & right_b).sum()),
        "both_wrong": int((~right_a & ~right_b).sum()),
        "prediction_changed": int(changed.sum()),
        "mean_abs_confidence_change": largest[1],
        "largest_confidence_changes": [sample(int(i)) for i in largest[0]],
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
