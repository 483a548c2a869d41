"""Compare two detection evaluations of the same images: AP differences per class and per IoU
with paired bootstrap intervals over images, and the images whose TP / FP / FN changed most.

Both models are scored on the same resampled images (each replicate weighs every image by how
often it was drawn, for A and B alike; :func:`assay.metrics.detection.protocols.replicate_ap`),
so an interval is that of the difference, not of two separate numbers. Each difference has the
normal interval with the bootstrap's standard error and the p of its z-test (they agree; the p
is not floored at 1 / (B + 1), so with many classes Holm can still mark one, and comes with its
Monte-Carlo error). AP is COCO's (101-point, area all, 100 detections); precision, recall and
F1 are each model's at its own operating point (IoU, confidence); where that confidence is the
F1-optimal one (chosen on these images) each resample chooses its own again
(:func:`assay.metrics.detection.operating.optimal_counts`), so the choice's own variation is in
the interval (kept fixed, equal detectors differed on precision in 11.5 % of pairs, not 5 %:
benchmarks/compare_statistics.py detection). The headline rows are one
family (Holm; mAP the primary metric); per class, the AP (.50:.95) difference's p is
Holm-adjusted across the classes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.detection import DetectionResults
from assay.evaluation.metric_names import headline as headline_metrics
from assay.evaluation.results import OperatingPoint
from assay.metrics.detection.cocoeval import IOU_THRESHOLDS
from assay.metrics.detection.operating import optimal_counts
from assay.metrics.detection.protocols import protocol_ap
from assay.metrics.paired import jackknife_groups, jackknife_se, normal_delta

T50 = int(np.flatnonzero(np.isclose(IOU_THRESHOLDS, 0.5))[0])
T75 = int(np.flatnonzero(np.isclose(IOU_THRESHOLDS, 0.75))[0])
# groups of the delete-a-group jackknife whose SE floors the bootstrap's for AP rows
JACKKNIFE_GROUPS = 50
AP_ROWS = ("AP", "AP50", "AP75")

# the headline rows: (key, words, higher is better), from the registry of metric names
DETECTION_METRICS = tuple(
    (m.key, m.label, m.higher_is_better) for m in headline_metrics("detection")
)


def check_same_images(a: DetectionResults, b: DetectionResults) -> None:
    if list(a.classes) != list(b.classes):
        only = sorted(set(a.classes) ^ set(b.classes))[:3]
        raise InputError(
            "the evaluations have different classes"
            + (f" (e.g. {', '.join(only)})" if only else " (another order)")
            + ": not the same data"
        )
    if a.n_samples != b.n_samples or not np.array_equal(a.gt.image_ids, b.gt.image_ids):
        raise InputError(
            f"the evaluations have {a.n_samples} and {b.n_samples} images, or other image ids: "
            "not the same data"
        )
    ga, gb = a.gt, b.gt
    same = (
        len(ga.labels) == len(gb.labels)
        and np.array_equal(ga.labels, gb.labels)
        and np.array_equal(ga.image, gb.image)
        and np.allclose(ga.boxes, gb.boxes)
    )
    if not same:
        raise InputError(
            "the ground-truth boxes differ: the evaluations are not of the same dataset version"
        )


def ap_table(r: DetectionResults) -> np.ndarray:
    """(T, K) COCO AP of an evaluation (NaN for a class without ground truth)."""
    return protocol_ap(
        r.matches, r.gt.labels, r.gt.image, r.dt.image, r.n_samples, len(r.classes), "coco_101"
    )


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmean without the warning for an all-NaN slice (its mean is NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(x, axis=axis))


def _prf(c: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) of TP, FP, FN sums; NaN where undefined."""
    tp, fp, fn = (float(v) for v in c)
    p = tp / (tp + fp) if tp + fp > 0 else math.nan
    r = tp / (tp + fn) if tp + fn > 0 else math.nan
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else math.nan
    return p, r, f


def _f(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def image_weights(n_images: int, n: int, seed: int) -> np.ndarray:
    """(n, n_images): how often each image is drawn in each of ``n`` bootstrap replicates."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_images, (n, n_images)) if n_images else np.zeros((n, 0), np.int64)
    weights = np.zeros((n, n_images))
    np.add.at(weights, (np.repeat(np.arange(n), n_images), draws.ravel()), 1.0)
    return weights


def image_counts(r: DetectionResults, p: OperatingPoint) -> np.ndarray:
    """(3, n_images): TP, FP and FN of each image at the point."""
    return np.stack([np.asarray(x, np.float64) for x in r.image_counts(p)])


def replicate_counts(r: DetectionResults, p: OperatingPoint, weights: np.ndarray) -> np.ndarray:
    """(n, 3): TP, FP and FN of each resample ``weights`` (n, n_images) at the point ``p``: at
    its confidence, or where that is the F1-optimal one (``point_rule``), at each resample's own
    F1-optimal confidence at the point's IoU (the choice repeated, not taken as given)."""
    if len(weights) and r.point_rule(p) == "f1_optimal":
        assert p.iou is not None
        return optimal_counts(*r.ranked_detections(p.iou), weights)
    return np.asarray(weights, np.float64) @ image_counts(r, p).T


def rechosen(r: DetectionResults, p: OperatingPoint) -> bool:
    """Whether precision, recall and F1 at ``p`` are resampled with the confidence re-chosen."""
    return r.point_rule(p) == "f1_optimal"


def headline(ap: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """The headline metrics (see DETECTION_METRICS) of a (T, K) AP table and per-image counts."""
    valid = ~np.isnan(ap[0])
    p, r, f = _prf(counts.sum(axis=1))
    return {
        "AP": float(ap[:, valid].mean()) if valid.any() else math.nan,
        "AP50": float(ap[T50, valid].mean()) if valid.any() else math.nan,
        "AP75": float(ap[T75, valid].mean()) if valid.any() else math.nan,
        "precision": p,
        "recall": r,
        "f1": f,
    }


def replicates(
    rep: np.ndarray, counts: np.ndarray, weights: np.ndarray, summed: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each headline metric per replicate, from (n, T, K) replicate AP and the image weights;
    ``summed`` (n, 3): each replicate's TP, FP, FN where they are not ``weights @ counts.T`` (a
    re-chosen confidence, :func:`replicate_counts`)."""
    n = len(weights)
    if summed is None:
        summed = weights @ counts.T  # (n, 3): TP, FP, FN per replicate
    tp, fp, fn = summed[:, 0], summed[:, 1], summed[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "AP": _nanmean(rep.reshape(n, rep.shape[1] * rep.shape[2]), axis=1),
            "AP50": _nanmean(rep[:, T50], axis=1),
            "AP75": _nanmean(rep[:, T75], axis=1),
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }


def jackknife_ap(r: DetectionResults) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """AP (G, T, K) and the headline AP rows (G,) of ``r`` with each of the grouped jackknife's
    G groups of images left out: one fixed deal of the images (not a seed's: the jackknife is
    not random), so two evaluations of the same images are paired; kept on ``r``."""
    wj = jackknife_groups(r.n_samples, JACKKNIFE_GROUPS, 0)
    ap = r.replicate_ap(wj, ("jackknife", len(wj)))
    rows = replicates(ap, np.zeros((3, r.n_samples)), wj)
    return ap, {key: rows[key] for key in AP_ROWS}


def compare_detection(
    a: DetectionResults,
    b: DetectionResults,
    *,
    at_a: OperatingPoint | None = None,
    at_b: OperatingPoint | None = None,
    n: int = 200,
    seed: int = 0,
    level: float = 0.95,
    top: int = 20,
    intervals: bool = True,
    margins: dict[str, float] | None = None,
) -> dict[str, Any]:
    """B against A on the same images, each at its own (IoU, confidence); ``intervals=False``
    skips the bootstrap (intervals and p-values None, ``n_resamples`` 0). Returns {task,
    n_samples, classes, points, n_resamples, level, metrics (rows as for classification),
    per_class: [{label, n, ap_a, ap_b, ap_delta, low, high, p_value, p_holm, significant,
    ap50_a, ap50_b, ap75_a, ap75_b}], per_iou: [{iou, a, b, delta, low, high}], images: {better,
    worse, same, changed: [{index, id, file_name, tp_a, fp_a, fn_a, tp_b, fp_b, fn_b,
    errors_delta}]}, confusion}."""
    from assay.evaluation.compare.common import (
        confusion_pair,
        fill_row,
        finish_rows,
        holm_rows,
        normal_bounds,
        verdicts,
    )

    check_same_images(a, b)
    pa, pb = a.point(at_a), b.point(at_b)
    n_img, k = a.n_samples, len(a.classes)
    ap_a, ap_b = ap_table(a), ap_table(b)

    weights = image_weights(n_img, n if intervals else 0, seed)
    rep_a, rep_b = (
        a.replicate_ap(weights, (len(weights), seed)),
        b.replicate_ap(weights, (len(weights), seed)),
    )

    counts_a, counts_b = image_counts(a, pa), image_counts(b, pb)

    # mAP over valid classes: a class is valid in a replicate where it has ground truth (the
    # same for A and B), so the per-replicate means of A and B are over the same classes
    ha, hb = headline(ap_a, counts_a), headline(ap_b, counts_b)
    ra = replicates(rep_a, counts_a, weights, replicate_counts(a, pa, weights))
    rb = replicates(rep_b, counts_b, weights, replicate_counts(b, pb, weights))
    again = rechosen(a, pa) or rechosen(b, pb)
    # AP is not smooth in the images (the precision envelope is a maximum): on a few hundred
    # images the bootstrap's SE of a difference is ~10 % small (equal detectors on 150 images:
    # AP50 type I 9 %), the grouped jackknife's errs upward; the larger of the two is used
    jack_se: dict[str, float] = {}
    jack_class: np.ndarray = np.full(k, math.nan)
    if intervals and n_img >= 2:
        (ja, jra), (jb, jrb) = jackknife_ap(a), jackknife_ap(b)
        jack_se = {key: jackknife_se(jrb[key] - jra[key]) for key in AP_ROWS}
        diff = _nanmean(jb, axis=1) - _nanmean(ja, axis=1)  # (G, K)
        jack_class = np.array([jackknife_se(diff[:, c]) for c in range(k)])
    metrics = []
    bounds: dict[str, Callable[[float], tuple[float, float]]] = {}
    for key, words, higher in DETECTION_METRICS:
        va, vb = ha[key], hb[key]
        row: dict[str, Any] = {"metric": key, "label": words, "higher_is_better": higher,
                               "a": _f(va), "b": _f(vb), "delta": None, "low": None,
                               "high": None, "p_value": None, "p_holm": None, "p_mc": None,
                               "se": None, "mde": None, "test": None, "significant": False,
                               "primary": False}  # fmt: skip
        if math.isfinite(va) and math.isfinite(vb):
            d = vb - va
            margin = None if margins is None else margins.get(key)
            r = normal_delta(rb[key] - ra[key], d, level=level, margin=margin,
                             least_se=jack_se.get(key, 0.0))  # fmt: skip
            if math.isfinite(r["low"]):
                test = "bootstrap over images (normal)"
                if key in AP_ROWS:
                    test += ", SE at least the grouped jackknife's"
                if again and key in ("precision", "recall", "f1"):
                    test += ", F1-optimal confidence re-chosen in each resample"
                fill_row(row, d, r, test)
                bounds[key] = normal_bounds(d, r["se"])
                if margin is not None:
                    row["_margin"] = {"p_lower": r["p_lower"], "p_upper": r["p_upper"]}
            elif not intervals:
                row["delta"] = d
        metrics.append(row)
    family, margin_answer = finish_rows(metrics, "detection", level, margins, bounds)

    per_class, pvals = [], []
    n_gt = np.bincount(a.gt.labels[~a.gt.iscrowd], minlength=k)
    mean_a, mean_b = _nanmean(ap_a, axis=0), _nanmean(ap_b, axis=0)
    rep_mean_a, rep_mean_b = _nanmean(rep_a, axis=1), _nanmean(rep_b, axis=1)  # (n, K)
    for c, name in enumerate(a.classes):
        row = {"label": name, "n": int(n_gt[c]), "ap_a": _f(mean_a[c]), "ap_b": _f(mean_b[c]),
               "ap50_a": _f(ap_a[T50, c]), "ap50_b": _f(ap_b[T50, c]),
               "ap75_a": _f(ap_a[T75, c]), "ap75_b": _f(ap_b[T75, c]),
               "ap_delta": None, "low": None, "high": None, "p_value": None, "p_mc": None,
               "p_holm": None, "significant": False}  # fmt: skip
        p = math.nan
        if math.isfinite(mean_a[c]) and math.isfinite(mean_b[c]):
            d = float(mean_b[c] - mean_a[c])
            r = normal_delta(rep_mean_b[:, c] - rep_mean_a[:, c], d, level=level,
                             least_se=float(jack_class[c]))  # fmt: skip
            p = r["p"]
            row.update(ap_delta=d, low=_f(r["low"]), high=_f(r["high"]), p_value=_f(p),
                       p_mc=_f(r["p_mc"]))  # fmt: skip
        pvals.append(p)
        per_class.append(row)
    holm_rows(per_class, pvals, level)

    per_iou = []
    for t, iou in enumerate(IOU_THRESHOLDS):
        valid = ~np.isnan(ap_a[t])
        if not valid.any():
            continue
        va, vb = float(ap_a[t, valid].mean()), float(ap_b[t, valid].mean())
        r = normal_delta(
            _nanmean(rep_b[:, t], axis=1) - _nanmean(rep_a[:, t], axis=1), vb - va, level=level
        )
        per_iou.append({"iou": round(float(iou), 2), "a": va, "b": vb, "delta": vb - va,
                        "low": _f(r["low"]), "high": _f(r["high"]),
                        "p_value": _f(r["p"])})  # fmt: skip

    errors_a = counts_a[1] + counts_a[2]
    errors_b = counts_b[1] + counts_b[2]
    moved = np.abs(counts_b - counts_a).sum(axis=0)
    delta_err = errors_b - errors_a
    g = a.gt

    def image(i: int) -> dict[str, Any]:
        return {"index": i, "id": str(int(g.image_ids[i])), "file_name": g.file_names[i],
                "tp_a": int(counts_a[0, i]), "fp_a": int(counts_a[1, i]),
                "fn_a": int(counts_a[2, i]), "tp_b": int(counts_b[0, i]),
                "fp_b": int(counts_b[1, i]), "fn_b": int(counts_b[2, i]),
                "errors_delta": int(delta_err[i])}  # fmt: skip

    def most(mask: np.ndarray) -> list[dict[str, Any]]:
        where = np.flatnonzero(mask)
        order = where[np.lexsort((-moved[where], -np.abs(delta_err[where])))][:top]
        return [image(int(i)) for i in order]

    conf_a, conf_b = a.confusion(pa), b.confusion(pb)
    return {
        "task": "detection",
        "n_samples": int(n_img),
        "classes": list(a.classes),
        "points": {
            "a": {"iou": pa.iou, "score": pa.score},
            "b": {"iou": pb.iou, "score": pb.score},
        },
        "n_resamples": int(n) if intervals else 0,
        "level": level,
        "resampled": "images",
        "metrics": metrics,
        "family": family,
        "margin": margin_answer,
        "verdicts": verdicts(metrics, level, ("AP", "AP50", "f1")),
        "per_class": per_class,
        "per_iou": per_iou,
        "images": {
            "better": int((delta_err < 0).sum()),
            "worse": int((delta_err > 0).sum()),
            "same": int((moved == 0).sum()),
            "changed": most(moved > 0),
            "better_images": most(delta_err < 0),
            "worse_images": most(delta_err > 0),
        },
        "confusion": confusion_pair(conf_a, conf_b),
    }
