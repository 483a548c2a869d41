"""Compare two classification evaluations of the same samples: is B better than A, by how much,
is the difference real, and which samples changed.

Every headline metric's difference ``B - A`` comes with a paired bootstrap interval (both models
scored on the same resampled rows, :func:`assay.metrics.bootstrap.classification_replicates`) and
a p-value: McNemar's exact test for accuracy (the samples one model gets right and the other
wrong), the paired bootstrap for the others. Per class, the recall difference (the share of the
class's samples each model gets right) with McNemar's test within the class, Holm-corrected across
classes, beside the F1 and AP differences. Metrics mean exactly what each evaluation's summary
says; samples are matched by id.

>>> out = compare_classification(results_a, results_b)          # doctest: +SKIP
>>> out["verdicts"][0]                                            # doctest: +SKIP
'B is better on accuracy: +1.8 points, 95% CI [0.9, 2.7], p = 0.003'

Detection evaluations are compared by :func:`compare` too (AP per class and per IoU, over
images; :mod:`assay.evaluation._compare_detection`), and multi-label ones
(:mod:`assay.evaluation._compare_multilabel`). Every answer carries ``task``.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.metric_names import REGISTRY
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.paired import bootstrap_delta, class_recall_replicates, holm, mcnemar_exact
from assay.metrics.stats import bootstrap_indices

# the headline rows: (summary key, words, higher is better), from the registry of metric names
METRICS = tuple((m.key, m.label, m.higher_is_better) for m in headline_metrics("classification"))
# guards the per-evaluation caches below (a server compares on several threads)
CACHE_LOCK = threading.Lock()
# the metrics whose differences verdicts give in percentage points
PERCENT = frozenset(m.key for m in REGISTRY if m.points)


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
) -> dict[str, Any]:
    """B against A, whatever the task (both must share it): :func:`compare_classification` or
    :func:`assay.evaluation._compare_detection.compare_detection`. ``n`` resamples (default 1000
    for classification, 200 for detection, where each resample re-accumulates AP);
    ``intervals=False``: no bootstrap (intervals and bootstrap p-values None)."""
    from assay.evaluation._compare_detection import compare_detection
    from assay.evaluation.detection import DetectionResults

    if isinstance(a, DetectionResults) or isinstance(b, DetectionResults):
        if not (isinstance(a, DetectionResults) and isinstance(b, DetectionResults)):
            raise InputError(
                f"evaluation A is {a.task} and B is {b.task}: compare evaluations of one task"
            )
        return compare_detection(
            a, b, at_a=at_a, at_b=at_b, n=n or 200, seed=seed, level=level, top=top,
            intervals=intervals,
        )  # fmt: skip
    if isinstance(a, ClassificationResults) and a.multilabel:
        from assay.evaluation._compare_multilabel import compare_multilabel

        return compare_multilabel(
            a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top,
            intervals=intervals,
        )  # fmt: skip
    return compare_classification(
        a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top,
        intervals=intervals,
    )  # fmt: skip


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
    with CACHE_LOCK:
        cache: OrderedDict[Any, Any] = b.__dict__.setdefault("_aligned_to", OrderedDict())
        hit = cache.get(id(a))
    if hit is None:
        aligned = ClassificationResults(
            a.y_true, b.y_score[rows][:, cols], classes=a.classes, threshold=b.threshold,
            sample_ids=a.sample_ids,
        )  # fmt: skip
        hit = (a, aligned)
        with CACHE_LOCK:
            cache[id(a)] = hit
            while len(cache) > 2:
                cache.popitem(last=False)
    return rows, cols, hit[1]


def _ranking_replicates(
    owner: ClassificationResults,
    base: ClassificationResults,
    score: np.ndarray,
    idx: np.ndarray,
    key: tuple[int, int, int],
) -> dict[str, np.ndarray]:
    """The threshold-free replicates (macro ROC AUC and AP) of ``score`` (``owner``'s scores in
    ``base``'s sample and class order) on the resamples ``idx``; kept on ``owner`` for the next
    comparison with ``base`` on the same resamples (another threshold costs only the counts).
    ``base`` itself is kept with them, so its id cannot be reused while they are."""
    full = (*key, id(base))
    with CACHE_LOCK:
        cache: OrderedDict[Any, Any] = owner.__dict__.setdefault("_ranking_reps", OrderedDict())
        hit = cache.get(full)
    if hit is not None:
        return dict(hit[1])
    from assay.metrics.bootstrap import replicate_auc_ap

    y = base.y_true
    n_pos = np.bincount(
        (np.arange(idx.shape[0])[:, None] * len(base.classes) + y[idx]).ravel(),
        minlength=idx.shape[0] * len(base.classes),
    ).reshape(idx.shape[0], len(base.classes))
    auc, ap = replicate_auc_ap(idx, y, score, n_pos)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {
            "roc_auc_macro": np.nanmean(auc, axis=1),
            "average_precision_macro": np.nanmean(ap, axis=1),
        }
    with CACHE_LOCK:
        cache[full] = (base, out)
        while len(cache) > 4:
            cache.popitem(last=False)
    return dict(out)


def _predictions(r: ClassificationResults | np.ndarray, t: float) -> np.ndarray:
    """The class each row predicts at threshold ``t`` (argmax kept when its score >= t), -1 none;
    from a single-label evaluation's precomputed top class and score, or from a score array."""
    if isinstance(r, ClassificationResults):
        top, best, dtype = r._pred, r._top, r.y_score.dtype
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


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict(row: dict[str, Any], level: float = 0.95) -> str:
    """One sentence for a metric row: B significantly better or worse than A (the difference is
    always B - A), or no significant difference."""
    words, key, d, p = row["label"], row["metric"], row["delta"], row["p_value"]
    if d is None or not math.isfinite(d):
        return f"{words}: not defined for both models"
    if p is None:
        return f"B − A on {words}: {_fmt_delta(key, d)} (not tested yet)"
    if p >= 1 - level:
        return f"No significant difference on {words} ({_fmt_delta(key, d)}, {_p_text(p)})"
    better = "better" if (d > 0) == row["higher_is_better"] else "worse"
    if row["low"] is None or row["high"] is None:
        return f"B is {better} on {words}: {_fmt_delta(key, d)}, {_p_text(p)}"
    ci = _fmt_ci(key, row["low"], row["high"])
    return (
        f"B is {better} on {words}: {_fmt_delta(key, d)}, {round(level * 100)}% CI {ci}, "
        f"{_p_text(p)}"
    )


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
) -> list[dict[str, Any]]:
    """The headline rows of a classification comparison: each metric of ``spec`` (key, words,
    higher is better) in both summaries, B - A with its paired bootstrap interval and p-value
    (McNemar's exact test on ``fixed`` / ``broken`` for accuracy); without the bootstrap, only
    the difference and McNemar's p."""
    rows = []
    for key, words, higher in spec:
        va, vb = sa.get(key), sb.get(key)
        row: dict[str, Any] = {"metric": key, "label": words, "higher_is_better": higher,
                               "a": va, "b": vb, "delta": None, "low": None, "high": None,
                               "p_value": None, "test": None, "significant": False}  # fmt: skip
        if va is not None and vb is not None:
            d = float(vb) - float(va)
            lo = hi = p = math.nan
            test: str | None = None
            if key in reps_a:
                lo, hi, p = bootstrap_delta(reps_b[key] - reps_a[key], d, scale=scale,
                                            level=level)  # fmt: skip
                test = "paired bootstrap" if math.isfinite(lo) else None
            if key == "accuracy":
                p, test = mcnemar_exact(int(broken.sum()), int(fixed.sum())), "McNemar exact"
            if math.isfinite(d) and (not bootstrapped or math.isfinite(lo)):
                row.update(delta=d, low=_finite(lo), high=_finite(hi), p_value=_finite(p),
                           test=test, significant=bool(p < 1 - level))  # fmt: skip
        rows.append(row)
    return rows


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
) -> dict[str, Any]:
    """A against B on the same samples (B aligned to A's samples and classes), each at its own
    operating point (default: its stored threshold). See the module docstring for the tests.
    ``intervals=False`` skips the bootstrap (a quick answer at a new threshold): intervals and
    bootstrap p-values are None, and ``n_resamples`` 0; McNemar's tests (accuracy, per class)
    and Holm's correction stay.

    Returns {metrics: rows with a, b, delta, low, high, p_value, significant, higher_is_better;
    verdicts; per_class: rows with recall / F1 / AP of both, the recall difference, its interval,
    McNemar p and Holm-adjusted p; disagreements: counts and the samples that changed most;
    confusion: both matrices and B - A; n_resamples, level, thresholds}."""
    rows, cols, aligned_b = _aligned_results(a, b)
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    score_b = aligned_b.y_score
    y = a.y_true
    ta, tb = a.point(at_a).threshold, b.point(at_b).threshold
    assert ta is not None and tb is not None
    sa = a.summary(OperatingPoint(threshold=ta))
    sb = aligned_b.summary(OperatingPoint(threshold=tb))

    cap = max(1_000, min(20_000, 2_000_000 // len(a.classes)))
    idx = bootstrap_indices(len(y), n, seed=seed, cap=cap) if intervals else None
    scale = math.sqrt(cap / len(y)) if len(y) > cap else 1.0
    reps_a: dict[str, np.ndarray] = {}
    reps_b: dict[str, np.ndarray] = {}
    if idx is not None:
        reps_a = classification_replicates(idx, y, a.y_score, ta, ranking=False)
        reps_b = classification_replicates(idx, y, score_b, tb, ranking=False)
        reps_a.update(_ranking_replicates(a, a, a.y_score, idx, (seed, n, cap)))
        reps_b.update(_ranking_replicates(b, a, score_b, idx, (seed, n, cap)))

    pred_a, pred_b = _predictions(a, ta), _predictions(aligned_b, tb)
    right_a, right_b = pred_a == y, pred_b == y
    fixed, broken = ~right_a & right_b, right_a & ~right_b

    metrics = metric_rows(METRICS, sa, sb, reps_a, reps_b, fixed, broken, scale=scale,
                          level=level, bootstrapped=idx is not None)  # fmt: skip

    per_class = _per_class(a, aligned_b, ta, tb, idx, y, right_a, right_b, scale, level)
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
        "n_resamples": int(n) if intervals else 0,
        "level": level,
        "metrics": metrics,
        "verdicts": [
            verdict(r, level)
            for r in metrics
            if r["metric"] in ("accuracy", "macro_f1", "roc_auc_macro")
        ],
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
) -> list[dict[str, Any]]:
    C = len(a.classes)
    diff = right_b.astype(np.float64) - right_a.astype(np.float64)
    reps = None if idx is None else class_recall_replicates(idx, y, diff, C)
    rows_a = {r["label"]: r for r in a.per_class(OperatingPoint(threshold=ta))["items"]}
    rows_b = {r["label"]: r for r in b.per_class(OperatingPoint(threshold=tb))["items"]}
    count = np.bincount(y, minlength=C)
    moved = np.bincount(y, weights=diff, minlength=C)
    lost = np.bincount(y[right_a & ~right_b], minlength=C)
    won = np.bincount(y[~right_a & right_b], minlength=C)
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
            lo = hi = math.nan
            if reps is not None:
                lo, hi, _ = bootstrap_delta(reps[:, k], d, scale=scale, level=level)
            p = mcnemar_exact(int(lost[k]), int(won[k]))
            row.update(recall_delta=d, low=_finite(lo), high=_finite(hi), p_value=p)
        pvals.append(p)
        out.append(row)
    holm_rows(out, pvals, level)
    return out
