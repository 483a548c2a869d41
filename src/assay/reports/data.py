"""What a report shows, gathered into one JSON-safe dict (the only input of the renderers).

``evaluation_data(results, at)`` ->
    {kind: "evaluation", name, assay_version, report (the results' JSON report, as ``assay show
    --json`` writes it: summary, per_class, confusion, optimal, intervals ...), confusion_shown (the
    confusion matrix drawn: all classes up to ``MAX_MATRIX`` of them, else the ``MAX_MATRIX`` most
    confused), curves: [{kind, label, x, y, x_label, y_label, area_name, area}], conventions:
    [str], samples: [{index, id, caption, uri}] (worst samples, thumbnails as data URIs),
    error_types (detection: TIDE's error types, ``DetectionResults.error_types(per_class=True)``;
    else None)}.
``comparison_data(comparison, baseline=None)`` ->
    {kind: "comparison", name, assay_version, comparison (the JSON answer of ``assay compare``),
    baseline (an ``evaluation_data`` of A, or None), conventions}.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from assay.errors import ParameterError
from assay.evaluation.results import OperatingPoint, Results

# Curves keep at most this many points each (evenly spaced along the curve, both ends kept):
# enough for a 600-pixel-wide drawing, and a report for 100 classes stays small.
MAX_CURVE_POINTS = 150
# Per-class curves are drawn for at most this many classes (the most frequent ones).
MAX_CURVE_CLASSES = 8
# The confusion matrix drawn keeps at most this many classes (the most confused ones); the
# report JSON inside the file keeps the full matrix.
MAX_MATRIX = 30
# Thumbnails: the longer side in pixels and the most bytes one may take once encoded.
THUMB_SIDE = 160
THUMB_BYTES = 24_000
MAX_SAMPLES = 50

_SEMANTICS: dict[str, tuple[str, ...]] = {
    "classification": (
        "Single-label: a sample's prediction is its argmax class, and every number equals what "
        "scikit-learn computes by default on the argmax (accuracy_score, classification_report, "
        "confusion_matrix). An argmax tie goes to the class that comes first in the class order.",
        "A threshold t > 0 is selective prediction: a sample whose top score is below t gets no "
        "prediction (the 'Below threshold' column); coverage is the share kept.",
        "Per class c: TP = actual c and predicted c; FP = predicted c, actual not c; FN = actual "
        "c, predicted not c (no prediction included).",
    ),
    "multilabel": (
        "Multi-label: class c is predicted when its score is >= the threshold, independently per "
        "class; accuracy is subset accuracy (every class of a sample right).",
    ),
    "detection": (
        "Detection: AP and AR follow COCO exactly as pycocotools (per-class greedy matching by "
        "score, crowd regions, area ranges, maxDets 1/10/100, 101-point interpolated precision).",
        "The confusion matrix matches predictions with score >= the confidence to ground truth "
        "class-agnostically at IoU >= the IoU (greedy, highest score first); unmatched ground "
        "truth is 'Not detected', an unmatched prediction 'Not an object'. Crowd regions count "
        "neither way.",
        "Precision, recall, F1, TP, FP and FN come from that same matching: a pair of different "
        "classes is an FP of the predicted class and an FN of the actual one.",
    ),
}
_COMMON = (
    "Macro and weighted averages follow scikit-learn: over the labels present in the ground "
    "truth or the predictions, an undefined ratio (0/0) counting as 0.",
    "Threshold-free metrics (ROC AUC, average precision, log loss, top-k accuracy, calibration "
    "error) are one-vs-rest from the raw scores and do not change with the threshold.",
    "Confusion matrix rows are actual classes, columns predicted.",
    "Intervals are 95 % intervals from resampling the samples (the images for detection): "
    "ROC AUC and average precision bias-corrected on the logit scale, calibration error "
    "centred on its debiased value, detection AP and AP50 from bias-corrected half-samples, "
    "the others the bootstrap's.",
)
_RULES = {
    "argmax": "Operating point: the argmax (no threshold).",
    "threshold": "Operating point: the threshold shown.",
    "given": "Operating point: the confidence given (or stored with the evaluation).",
    "f1_optimal": "Operating point: the F1-optimal confidence at the IoU shown.",
}
_COMPARE = (
    "Comparison: B − A on the same samples; paired intervals and p-values (Tango's score "
    "interval and McNemar's test for accuracy, the paired bootstrap for the others), verdicts "
    "Holm-adjusted across the headline metrics, per-class rows Holm-adjusted across classes.",
    "Confusion difference: B's count minus A's count in each cell.",
)


def conventions(task: str, point_rule: str | None = None) -> list[str]:
    """The metric conventions a report of ``task`` states (DESIGN.md's semantics), with the rule
    that chose its operating point.

    >>> conventions("detection", "f1_optimal")[-1]
    'Operating point: the F1-optimal confidence at the IoU shown.'
    """
    if task not in _SEMANTICS:
        raise ParameterError(f"task: unknown task {task!r}")
    lines = [*_SEMANTICS[task], *_COMMON]
    if point_rule in _RULES:
        lines.append(_RULES[point_rule])
    return lines


def _thin(xs: list[Any], ys: list[Any]) -> tuple[list[float], list[float]]:
    """The defined points of a curve, at most ``MAX_CURVE_POINTS`` of them, rounded to 4 places."""
    pts = [
        (float(x), float(y))
        for x, y in zip(xs, ys, strict=False)
        if x is not None and y is not None
    ]
    if len(pts) > MAX_CURVE_POINTS:
        step = (len(pts) - 1) / (MAX_CURVE_POINTS - 1)
        pts = [pts[round(i * step)] for i in range(MAX_CURVE_POINTS)]
    return [round(x, 4) for x, _ in pts], [round(y, 4) for _, y in pts]


def _curves(results: Results, at: OperatingPoint) -> list[dict[str, Any]]:
    """The curves a report draws: ROC and precision-recall per class (the most frequent
    ``MAX_CURVE_CLASSES``), reliability (calibration) and risk-coverage where the task has them;
    for detection the COCO precision-recall curve per class at the operating point's IoU."""
    per_class = results.per_class(at)["items"]
    by_support = sorted(per_class, key=lambda row: -(row.get("total_labeled") or 0))
    labels = [row["label"] for row in by_support[:MAX_CURVE_CLASSES]]
    out: list[dict[str, Any]] = []
    if results.task == "detection":
        for label in labels:
            c = results.curve("pr", label, at)
            x, y = _thin(c["recall"], c["precision"])
            out.append({"kind": "pr", "label": label, "x": x, "y": y, "x_label": "recall",
                        "y_label": "precision", "area_name": "AP", "area": c.get("average_precision"),
                        "iou": c.get("iou")})  # fmt: skip
        return out
    for label in labels:
        c = results.curve("roc", label, at)
        x, y = _thin(c["fpr"], c["tpr"])
        out.append({"kind": "roc", "label": label, "x": x, "y": y, "x_label": "false positive rate",
                    "y_label": "true positive rate", "area_name": "AUC", "area": c.get("auc")})  # fmt: skip
    for label in labels:
        c = results.curve("pr", label, at)
        x, y = _thin(c["recall"], c["precision"])
        out.append({"kind": "pr", "label": label, "x": x, "y": y, "x_label": "recall",
                    "y_label": "precision", "area_name": "AP", "area": c.get("average_precision")})  # fmt: skip
    c = results.curve("calibration", None, at)
    bins = [b for b in c["bins"] if b.get("count")]
    x, y = _thin([b["confidence"] for b in bins], [b["accuracy"] for b in bins])
    out.append({"kind": "calibration", "label": None, "x": x, "y": y, "x_label": "confidence",
                "y_label": "accuracy", "area_name": "ECE", "area": c.get("ece")})  # fmt: skip
    if results.task == "classification":
        c = results.curve("risk_coverage", None, at)
        x, y = _thin(c["coverage"], c["risk"])
        out.append({"kind": "risk_coverage", "label": None, "x": x, "y": y, "x_label": "coverage",
                    "y_label": "risk (error rate)", "area_name": "AURC", "area": c.get("aurc")})  # fmt: skip
    return out


def thumbnail_uri(
    data: bytes, *, side: int = THUMB_SIDE, max_bytes: int = THUMB_BYTES
) -> str | None:
    """An image file's bytes as a JPEG data URI whose longer side is at most ``side`` pixels and
    whose encoded size is at most ``max_bytes`` (the quality is lowered until it fits); None when
    the bytes are not an image Pillow reads, or it cannot be made small enough."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((side, side))
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    for quality in (80, 60, 40, 25):
        buf = io.BytesIO()
        rgb.save(buf, format="JPEG", quality=quality)
        if buf.tell() <= max_bytes:
            return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return None


def worst_samples(results: Results, at: OperatingPoint, n: int) -> list[dict[str, Any]]:
    """The ``n`` worst samples at ``at``: classification's errors the model was most sure of
    (sort "confusion"), detection's images with the most errors; each {index, id, caption}."""
    if not 0 <= n <= MAX_SAMPLES:
        raise ParameterError(f"samples: {n} is outside [0, {MAX_SAMPLES}]")
    if n == 0:
        return []
    if results.task == "detection":
        items = results.samples(at, sort="errors", limit=n)["items"]
        return [{"index": it["index"], "id": str(it["id"]),
                 "caption": f"TP {it['tp']} · FP {it['fp']} · FN {it['fn']}"} for it in items]  # fmt: skip
    items = results.samples(at, errors_only=True, sort="confusion", limit=n)["items"]
    out = []
    for it in items:
        actual, predicted = it["actual"], it["predicted"]
        if isinstance(actual, list):
            actual, predicted = ", ".join(actual) or "—", ", ".join(predicted or []) or "—"
        conf = it.get("confidence")
        tail = f" ({conf:.2f})" if isinstance(conf, float) else ""
        out.append({"index": it["index"], "id": str(it["id"]),
                    "caption": f"actual {actual} · predicted {predicted or '—'}{tail}"})  # fmt: skip
    return out


def evaluation_data(
    results: Results,
    at: OperatingPoint | None = None,
    *,
    name: str = "Evaluation",
    intervals: dict[str, Any] | None = None,
    samples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the report of one evaluation shows (shape in the module docstring), at ``at`` (None:
    the results' own operating point). ``intervals``: the results' ``intervals(at=...)`` when
    asked for (None: the report has none). ``samples``: items of :func:`worst_samples` with a
    ``uri`` (a thumbnail data URI, or None) each."""
    from assay import __version__

    at = results.point(at)
    report = results.report(at)
    report["intervals"] = intervals
    shown = report["confusion"]
    if (shown.get("n_classes") or 0) > MAX_MATRIX:
        shown = results.confusion(at, top=MAX_MATRIX)
    return {
        "kind": "evaluation",
        "name": name,
        "assay_version": __version__,
        "report": report,
        "confusion_shown": {k: shown[k] for k in ("rows", "columns", "counts", "top", "n_classes")},
        "curves": _curves(results, at),
        "conventions": conventions(results.task, report["summary"].get("point_rule")),
        "samples": samples or [],
        "error_types": (
            results.error_types(per_class=True)  # type: ignore[attr-defined]
            if hasattr(results, "error_types")  # detection with its boxes (not a merged summary)
            else None
        ),
    }


def comparison_data(
    comparison: dict[str, Any], baseline: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the report of a comparison shows: ``comparison`` is the JSON answer of ``assay
    compare`` on annotations (with ``metrics``); ``baseline`` an :func:`evaluation_data` of A."""
    from assay import __version__

    if "metrics" not in comparison:
        raise ParameterError("a report compares two evaluations with annotations")
    a = comparison.get("a") or {}
    b = comparison.get("b") or {}
    name = f"{a.get('name', 'A')} vs {b.get('name', 'B')}"
    return {
        "kind": "comparison",
        "name": name,
        "assay_version": __version__,
        "comparison": comparison,
        "baseline": baseline,
        "conventions": [*conventions(comparison["task"]), *_COMPARE],
    }
