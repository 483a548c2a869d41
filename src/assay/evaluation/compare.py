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
images; :mod:`assay.evaluation._compare_detection`); multi-label ones are refused with a message
saying so. Every answer carries ``task``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.results import OperatingPoint, Results
from assay.metrics.bootstrap import classification_replicates
from assay.metrics.paired import bootstrap_delta, class_recall_replicates, holm, mcnemar_exact
from assay.metrics.stats import bootstrap_indices

# the headline rows: (summary key, words, higher is better)
METRICS = (
    ("accuracy", "accuracy", True),
    ("top1_accuracy", "top-1 accuracy", True),
    ("macro_f1", "macro F1", True),
    ("macro_precision", "macro precision", True),
    ("macro_recall", "macro recall", True),
    ("roc_auc_macro", "ROC AUC", True),
    ("average_precision_macro", "average precision", True),
    ("log_loss", "log loss", False),
)
PERCENT = {"accuracy", "top1_accuracy", "macro_f1", "macro_precision", "macro_recall"}


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
) -> dict[str, Any]:
    """B against A, whatever the task (both must share it): :func:`compare_classification` or
    :func:`assay.evaluation._compare_detection.compare_detection`. ``n`` resamples (default 1000
    for classification, 200 for detection, where each resample re-accumulates AP)."""
    from assay.evaluation._compare_detection import compare_detection
    from assay.evaluation.detection import DetectionResults

    if isinstance(a, DetectionResults) or isinstance(b, DetectionResults):
        if not (isinstance(a, DetectionResults) and isinstance(b, DetectionResults)):
            raise InputError(
                f"evaluation A is {a.task} and B is {b.task}: compare evaluations of one task"
            )
        return compare_detection(
            a, b, at_a=at_a, at_b=at_b, n=n or 200, seed=seed, level=level, top=top
        )
    return compare_classification(
        a, b, at_a=at_a, at_b=at_b, n=n or 1000, seed=seed, level=level, top=top
    )


def _aligned(a: Results, b: Results) -> tuple[np.ndarray, np.ndarray]:
    """(B's rows in A's sample order, B's columns in A's class order); refuses other data."""
    for r, name in ((a, "A"), (b, "B")):
        if not isinstance(r, ClassificationResults) or r.multilabel:
            task = getattr(r, "task", type(r).__name__)
            raise InputError(
                f"evaluation {name} is a {task} evaluation; comparing is for single-label "
                "classification and detection so far"
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
    y_b = cols.argsort()[b.y_true[rows]]  # B's labels in A's class numbering
    if not np.array_equal(y_b, a.y_true):
        first = int(np.flatnonzero(y_b != a.y_true)[0])
        raise InputError(
            f"the labels differ (first at sample {first}): the evaluations are not of the same "
            "dataset version"
        )
    return rows, cols


def _predictions(y_score: np.ndarray, t: float) -> np.ndarray:
    """The class each row predicts at threshold ``t`` (argmax kept when its score >= t), -1 none."""
    top = y_score.argmax(axis=1)
    best = y_score[np.arange(len(top)), top]
    return np.where(best >= y_score.dtype.type(t), top, -1)


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
    if d is None or p is None or not math.isfinite(d):
        return f"{words}: not defined for both models"
    if p >= 1 - level:
        return f"No significant difference on {words} ({_fmt_delta(key, d)}, {_p_text(p)})"
    better = "better" if (d > 0) == row["higher_is_better"] else "worse"
    ci = _fmt_ci(key, row["low"], row["high"])
    return (
        f"B is {better} on {words}: {_fmt_delta(key, d)}, {round(level * 100)}% CI {ci}, "
        f"{_p_text(p)}"
    )


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
) -> dict[str, Any]:
    """A against B on the same samples (B aligned to A's samples and classes), each at its own
    operating point (default: its stored threshold). See the module docstring for the tests.

    Returns {metrics: rows with a, b, delta, low, high, p_value, significant, higher_is_better;
    verdicts; per_class: rows with recall / F1 / AP of both, the recall difference, its interval,
    McNemar p and Holm-adjusted p; disagreements: counts and the samples that changed most;
    confusion: both matrices and B - A; n_resamples, level, thresholds}."""
    rows, cols = _aligned(a, b)
    assert isinstance(a, ClassificationResults) and isinstance(b, ClassificationResults)
    identity = np.array_equal(rows, np.arange(len(rows)))
    score_b = (
        b.y_score
        if identity and np.array_equal(cols, np.arange(len(cols)))
        else (b.y_score[rows][:, cols])
    )
    y = a.y_true
    ta, tb = a.point(at_a).threshold, b.point(at_b).threshold
    assert ta is not None and tb is not None
    sa = a.summary(OperatingPoint(threshold=ta))
    same_order = np.array_equal(rows, np.arange(len(rows))) and np.array_equal(
        cols, np.arange(len(cols))
    )
    aligned_b = (
        b
        if same_order
        else ClassificationResults(
            y, score_b, classes=a.classes, threshold=tb, sample_ids=a.sample_ids
        )
    )
    sb = aligned_b.summary(OperatingPoint(threshold=tb))

    idx = bootstrap_indices(
        len(y), n, seed=seed, cap=max(1_000, min(20_000, 2_000_000 // len(a.classes)))
    )
    scale = math.sqrt(idx.shape[1] / len(y))
    reps_a = classification_replicates(idx, y, a.y_score, ta)
    reps_b = classification_replicates(idx, y, score_b, tb)

    pred_a, pred_b = _predictions(a.y_score, ta), _predictions(score_b, tb)
    right_a, right_b = pred_a == y, pred_b == y
    fixed, broken = ~right_a & right_b, right_a & ~right_b

    metrics = []
    for key, words, higher in METRICS:
        va, vb = sa.get(key), sb.get(key)
        row: dict[str, Any] = {"metric": key, "label": words, "higher_is_better": higher,
                               "a": va, "b": vb, "delta": None, "low": None, "high": None,
                               "p_value": None, "test": None, "significant": False}  # fmt: skip
        if va is not None and vb is not None and key in reps_a:
            d = float(vb) - float(va)
            lo, hi, p = bootstrap_delta(reps_b[key] - reps_a[key], d, scale=scale, level=level)
            test = "paired bootstrap"
            if key == "accuracy":
                p, test = mcnemar_exact(int(broken.sum()), int(fixed.sum())), "McNemar exact"
            if math.isfinite(lo):
                row.update(delta=d, low=lo, high=hi, p_value=p, test=test,
                           significant=bool(p < 1 - level))  # fmt: skip
        metrics.append(row)

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

    def most(mask: np.ndarray) -> list[dict[str, Any]]:
        where = np.flatnonzero(mask)
        order = where[np.argsort(-np.abs(move[where]), kind="stable")][:top]
        return [sample(int(i)) for i in order]

    conf_a = a.confusion(OperatingPoint(threshold=ta))
    conf_b = aligned_b.confusion(OperatingPoint(threshold=tb))
    return {
        "task": "classification",
        "n_samples": int(len(y)),
        "classes": list(a.classes),
        "thresholds": {"a": ta, "b": tb},
        "n_resamples": int(n),
        "level": level,
        "metrics": metrics,
        "verdicts": [
            verdict(r, level)
            for r in metrics
            if r["metric"] in ("accuracy", "macro_f1", "roc_auc_macro")
        ],
        "per_class": per_class,
        "disagreements": {
            "fixed": int(fixed.sum()),
            "broken": int(broken.sum()),
            "both_right": int((right_a & right_b).sum()),
            "both_wrong": int((~right_a & ~right_b).sum()),
            "prediction_changed": int(changed.sum()),
            "mean_abs_confidence_change": float(np.abs(move).mean()),
            "largest_confidence_changes": most(np.ones(len(y), bool)),
            "fixed_samples": most(fixed),
            "broken_samples": most(broken),
        },
        "confusion": {
            "columns": conf_a["columns"],
            "rows": conf_a["rows"],
            "a": conf_a["counts"],
            "b": conf_b["counts"],
            "difference": (np.asarray(conf_b["counts"]) - np.asarray(conf_a["counts"])).tolist(),
        },
    }


def _per_class(
    a: ClassificationResults,
    b: ClassificationResults,
    ta: float,
    tb: float,
    idx: np.ndarray,
    y: np.ndarray,
    right_a: np.ndarray,
    right_b: np.ndarray,
    scale: float,
    level: float,
) -> list[dict[str, Any]]:
    C = len(a.classes)
    diff = right_b.astype(np.float64) - right_a.astype(np.float64)
    reps = class_recall_replicates(idx, y, diff, C)
    rows_a = {r["label"]: r for r in a.per_class(OperatingPoint(threshold=ta))["items"]}
    rows_b = {r["label"]: r for r in b.per_class(OperatingPoint(threshold=tb))["items"]}
    out, pvals = [], []
    for k, name in enumerate(a.classes):
        mine = y == k
        ra, rb = rows_a[name], rows_b[name]
        row: dict[str, Any] = {"label": name, "n": int(mine.sum()),
                               "recall_a": ra.get("recall"), "recall_b": rb.get("recall"),
                               "f1_a": ra.get("f1"), "f1_b": rb.get("f1"),
                               "ap_a": ra.get("average_precision"),
                               "ap_b": rb.get("average_precision"),
                               "recall_delta": None, "low": None, "high": None,
                               "p_value": None, "p_holm": None, "significant": False}  # fmt: skip
        p = math.nan
        if mine.any():
            d = float(diff[mine].mean())
            lo, hi, _ = bootstrap_delta(reps[:, k], d, scale=scale, level=level)
            p = mcnemar_exact(int((right_a & ~right_b & mine).sum()),
                              int((~right_a & right_b & mine).sum()))  # fmt: skip
            row.update(recall_delta=d, low=None if math.isnan(lo) else lo,
                       high=None if math.isnan(hi) else hi, p_value=p)  # fmt: skip
        pvals.append(p)
        out.append(row)
    for row, adjusted in zip(out, holm(pvals), strict=True):
        if math.isfinite(adjusted):
            row["p_holm"] = float(adjusted)
            row["significant"] = bool(adjusted < 1 - level)
    return out
