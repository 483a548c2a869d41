"""Compare two models' predictions without annotations (a dataset nobody labelled): how often
they agree, where they flip, how much their confidence moved, and the samples that changed most.

Classification (two score tables over the same ids and classes, matched by id and class name):
top-1 agreement with its Wilson interval, Cohen's kappa, the flip matrix (rows: A's top class,
columns: B's), the mean absolute change of the score A gave its own top class, and the samples
with the largest total-variation distance between the two score rows (flips first).

Multi-label (two score tables, each class predicted where its score >= a threshold): per class
the samples both predict it, only A, only B, neither, the share that agree and Cohen's kappa;
overall the share of (sample, class) decisions that agree, the share of samples whose whole label
set is the same (with its Wilson interval), and the flips: labels B adds (gained) and drops (lost).

Detection (two COCO results lists): per image, B's boxes are matched to A's greedily by score at
an IoU, class-agnostic; a matched pair of one class agrees, of two classes is a class flip, and a
box matched by none is only A's or only B's. Agreement is agreed / (A's boxes + B's boxes -
matched pairs), overall and per image.

>>> import numpy as np
>>> a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> b = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
>>> out = classification_agreement(["x", "y", "z"], ["p", "q"], a, ["x", "y", "z"], ["p", "q"], b)
>>> round(out["agreement"], 3), out["flip"]["counts"]
(0.667, [[1, 1], [0, 1]])
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.formats.coco import load_detection_results, read_json
from assay.formats.detection_types import DetectionGroundTruth, DetectionPredictions
from assay.metrics.detection.iou import image_pairs
from assay.metrics.detection.matching import MATCHED, greedy_match

__all__ = [
    "box_agreement",
    "box_matches",
    "classification_agreement",
    "multilabel_agreement",
    "detection_agreement",
    "wilson_interval",
]


def wilson_interval(k: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of the share k / m at ``level`` (two-sided).

    >>> [round(v, 4) for v in wilson_interval(599, 599)]
    [0.9936, 1.0]
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    p, z2 = k / m, z * z
    centre = (p + z2 / (2 * m)) / (1 + z2 / m)
    half = z * math.sqrt(p * (1 - p) / m + z2 / (4 * m * m)) / (1 + z2 / m)
    return max(0.0, centre - half), min(1.0, centre + half)


def _f(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def classification_agreement(
    ids_a: list[str] | np.ndarray,
    classes_a: list[str],
    scores_a: np.ndarray,
    ids_b: list[str] | np.ndarray,
    classes_b: list[str],
    scores_b: np.ndarray,
    *,
    level: float = 0.95,
    top: int = 20,
) -> dict[str, Any]:
    """Agreement of two score tables (rows matched by id, columns by class name); its interval
    is Wilson's score interval at ``level`` (each sample agrees or not: a binomial share; unlike
    a bootstrap's, it does not collapse to [1, 1] when every sample agrees). Returns
    {task, n_samples, classes, agreement, low, high, cohen_kappa, changed (samples whose top
    class differs), mean_abs_confidence_change, flip: {rows, columns, counts}, per_class: [{label,
    predicted_a, predicted_b, agreement}], most_changed: [{id, predicted_a, predicted_b,
    confidence_a, confidence_b, distance}]}."""
    sa, sb = np.asarray(scores_a, np.float64), np.asarray(scores_b, np.float64)
    for s, name in ((sa, "A"), (sb, "B")):
        if s.ndim != 2 or s.shape[1] == 0:
            raise InputError(f"the scores of {name} are not a table of samples by classes")
        if not np.isfinite(s).all():
            raise InputError(f"the scores of {name} hold NaN or infinite values")
    if set(classes_a) != set(classes_b):
        only = sorted(set(classes_a) ^ set(classes_b))[:3]
        raise InputError(f"the two files have different classes (e.g. {', '.join(only)})")
    ia = [str(i) for i in np.asarray(ids_a).tolist()]
    ib = [str(i) for i in np.asarray(ids_b).tolist()]
    where = {s: k for k, s in enumerate(ib)}
    if len(where) != len(ib) or len(set(ia)) != len(ia):
        raise InputError("a file repeats a sample id")
    missing = [s for s in ia if s not in where]
    if missing or len(ia) != len(ib):
        extra = missing or [s for s in ib if s not in set(ia)]
        raise InputError(
            f"the files have other samples (e.g. id {extra[0]!r} is in only one): "
            "compare predictions on the same data"
        )
    rows = np.array([where[s] for s in ia], dtype=np.int64)
    cols = np.array([classes_b.index(c) for c in classes_a], dtype=np.int64)
    sb = sb[rows][:, cols]
    m, c = sa.shape
    if m == 0:
        raise InputError("the files hold no samples")
    pa, pb = sa.argmax(axis=1), sb.argmax(axis=1)
    same = pa == pb
    agreement = float(same.mean())
    low, high = wilson_interval(int(same.sum()), m, level)

    flip = np.bincount(pa * c + pb, minlength=c * c).reshape(c, c)
    expected = float((flip.sum(axis=1) * flip.sum(axis=0)).sum()) / float(m) ** 2
    kappa = (agreement - expected) / (1 - expected) if expected < 1 else math.nan
    rng = np.arange(m)
    conf_a, conf_b = sa[rng, pa], sb[rng, pa]
    distance = 0.5 * np.abs(sa - sb).sum(axis=1)
    order = np.lexsort((-distance, same))[:top]
    per_class = []
    for k, name in enumerate(classes_a):
        mine = pa == k
        per_class.append(
            {
                "label": name,
                "predicted_a": int(mine.sum()),
                "predicted_b": int((pb == k).sum()),
                "agreement": float(same[mine].mean()) if mine.any() else None,
            }  # fmt: skip
        )
    return {
        "task": "classification",
        "n_samples": int(m),
        "classes": list(classes_a),
        "agreement": agreement,
        "low": float(low),
        "high": float(high),
        "level": level,
        "cohen_kappa": _f(kappa),
        "changed": int((~same).sum()),
        "mean_abs_confidence_change": float(np.abs(conf_b - conf_a).mean()),
        "flip": {"rows": list(classes_a), "columns": list(classes_a), "counts": flip.tolist()},
        "per_class": per_class,
        "most_changed": [
            {
                "id": ia[i],
                "predicted_a": classes_a[pa[i]],
                "predicted_b": classes_a[pb[i]],
                "confidence_a": float(conf_a[i]),
                "confidence_b": float(conf_b[i]),
                "distance": float(distance[i]),
            }  # fmt: skip
            for i in order.tolist()
        ],
    }


def _aligned(
    ids_a: list[str] | np.ndarray,
    classes_a: list[str],
    scores_a: np.ndarray,
    ids_b: list[str] | np.ndarray,
    classes_b: list[str],
    scores_b: np.ndarray,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A's ids, A's scores and B's scores put in A's row and column order, checked."""
    sa, sb = np.asarray(scores_a, np.float64), np.asarray(scores_b, np.float64)
    for s, name in ((sa, "A"), (sb, "B")):
        if s.ndim != 2 or s.shape[1] == 0:
            raise InputError(f"the scores of {name} are not a table of samples by classes")
        if not np.isfinite(s).all():
            raise InputError(f"the scores of {name} hold NaN or infinite values")
    if set(classes_a) != set(classes_b):
        only = sorted(set(classes_a) ^ set(classes_b))[:3]
        raise InputError(f"the two runs have different classes (e.g. {', '.join(only)})")
    ia = [str(i) for i in np.asarray(ids_a).tolist()]
    ib = [str(i) for i in np.asarray(ids_b).tolist()]
    where = {s: k for k, s in enumerate(ib)}
    if len(where) != len(ib) or len(set(ia)) != len(ia):
        raise InputError("a run repeats a sample id")
    if len(ia) != len(ib) or any(s not in where for s in ia):
        raise InputError("the two runs hold other samples: compare predictions on the same data")
    if not ia:
        raise InputError("the runs hold no samples")
    rows = np.array([where[s] for s in ia], dtype=np.int64)
    cols = np.array([list(classes_b).index(c) for c in classes_a], dtype=np.int64)
    return ia, sa, sb[rows][:, cols]


def _kappa(both: int, only_a: int, only_b: int, neither: int) -> float:
    """Cohen's kappa of two yes/no raters from their 2 x 2 table (NaN when chance is 1)."""
    m = both + only_a + only_b + neither
    observed = (both + neither) / m
    pa, pb = (both + only_a) / m, (both + only_b) / m
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected) if expected < 1 else math.nan


def multilabel_agreement(
    ids_a: list[str] | np.ndarray,
    classes_a: list[str],
    scores_a: np.ndarray,
    ids_b: list[str] | np.ndarray,
    classes_b: list[str],
    scores_b: np.ndarray,
    *,
    threshold: float = 0.5,
    level: float = 0.95,
    top: int = 20,
) -> dict[str, Any]:
    """Agreement of two multi-label score tables (rows matched by id, columns by class name), a
    class predicted where its score >= ``threshold``. Returns {task, n_samples, classes,
    threshold, decisions (samples x classes), agreement (share of decisions that agree),
    exact (share of samples with the same label set), low, high (its Wilson interval at
    ``level``), changed (samples whose set differs), gained (labels only B predicts), lost
    (labels only A predicts), per_class: [{label, both, only_a, only_b, neither, agreement,
    cohen_kappa}], most_changed: [{id, labels_a, labels_b, gained, lost}]}.

    >>> a = np.array([[0.9, 0.8], [0.1, 0.7], [0.6, 0.2]])
    >>> b = np.array([[0.9, 0.1], [0.2, 0.7], [0.7, 0.6]])
    >>> out = multilabel_agreement([1, 2, 3], ["p", "q"], a, [1, 2, 3], ["p", "q"], b)
    >>> out["exact"], out["gained"], out["lost"], out["per_class"][1]["only_a"]
    (0.3333333333333333, 1, 1, 1)
    """
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be in [0, 1] (got {threshold})")
    ids, sa, sb = _aligned(ids_a, classes_a, scores_a, ids_b, classes_b, scores_b)
    pa, pb = sa >= threshold, sb >= threshold
    m, c = pa.shape
    both = (pa & pb).sum(axis=0)
    only_a = (pa & ~pb).sum(axis=0)
    only_b = (~pa & pb).sum(axis=0)
    neither = m - both - only_a - only_b
    same_row = (pa == pb).all(axis=1)
    exact = int(same_row.sum())
    low, high = wilson_interval(exact, m, level)
    gained_row = (~pa & pb).sum(axis=1)
    lost_row = (pa & ~pb).sum(axis=1)
    order = np.lexsort((np.arange(m), -(gained_row + lost_row)))
    order = order[~same_row[order]][:top]
    per_class = [
        {
            "label": classes_a[k],
            "both": int(both[k]),
            "only_a": int(only_a[k]),
            "only_b": int(only_b[k]),
            "neither": int(neither[k]),
            "agreement": float((both[k] + neither[k]) / m),
            "cohen_kappa": _f(
                _kappa(int(both[k]), int(only_a[k]), int(only_b[k]), int(neither[k]))
            ),
        }  # fmt: skip
        for k in range(c)
    ]
    return {
        "task": "multilabel",
        "n_samples": int(m),
        "classes": list(classes_a),
        "threshold": float(threshold),
        "decisions": int(m * c),
        "agreement": float((pa == pb).mean()),
        "exact": exact / m,
        "low": float(low),
        "high": float(high),
        "level": level,
        "changed": int(m - exact),
        "gained": int(only_b.sum()),
        "lost": int(only_a.sum()),
        "per_class": per_class,
        "most_changed": [
            {
                "id": ids[i],
                "labels_a": [classes_a[k] for k in np.flatnonzero(pa[i])],
                "labels_b": [classes_a[k] for k in np.flatnonzero(pb[i])],
                "gained": int(gained_row[i]),
                "lost": int(lost_row[i]),
            }
            for i in order.tolist()
        ],
    }


def _unlabeled_images(data: list[Any], file: str) -> tuple[set[int], set[int]]:
    images: set[int] = set()
    cats: set[int] = set()
    for i, d in enumerate(data):
        if not isinstance(d, dict):
            raise InputError(f"entry {i}: expected an object", file=file)
        for key, bucket in (("image_id", images), ("category_id", cats)):
            v = d.get(key)
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"entry {i}: {key} must be a whole number", file=file)
            bucket.add(v)
    return images, cats


def _read_results(paths: tuple[Path, Path]) -> tuple[DetectionGroundTruth, list[Any]]:
    """A ground truth with no boxes spanning both files' images and categories, and each file's
    predictions read against it (so both are checked as any COCO results file is)."""
    lists: list[list[Any]] = []
    images: set[int] = set()
    cats: set[int] = set()
    for p in paths:
        data = read_json(p)
        if not isinstance(data, list):
            raise InputError("a COCO results file must be a JSON list of detections", file=str(p))
        im, ca = _unlabeled_images(data, str(p))
        images |= im
        cats |= ca
        lists.append(data)
    image_ids, cat_ids = sorted(images), sorted(cats)
    gt = DetectionGroundTruth.from_arrays(
        classes=[f"category {c}" for c in cat_ids], category_ids=cat_ids, image_ids=image_ids,
        file_names=[""] * len(image_ids), widths=np.zeros(len(image_ids), np.int64),
        heights=np.zeros(len(image_ids), np.int64), boxes=np.zeros((0, 4)), labels=[], image=[],
    )  # fmt: skip
    return gt, [load_detection_results(p, gt) for p in paths]


def detection_agreement(
    path_a: str | Path,
    path_b: str | Path,
    *,
    iou: float = 0.5,
    score: float = 0.0,
    top: int = 20,
) -> dict[str, Any]:
    """Agreement of two COCO results files on the same images (see the module docstring), boxes
    kept from confidence ``score``. Returns {task, n_images, iou, score, boxes_a, boxes_b,
    matched, agreed, class_flips, only_a, only_b, agreement, mean_iou, per_class: [{label,
    boxes_a, boxes_b, agreed}], most_changed: [{id, boxes_a, boxes_b, agreed, agreement}]}."""
    if not 0.0 < iou <= 1.0 or not math.isfinite(score):
        raise InputError(f"iou must be in (0, 1] and score finite (got {iou}, {score})")
    gt, (da, db) = _read_results((Path(path_a), Path(path_b)))
    ids = [str(int(i)) for i in gt.image_ids]
    return box_agreement(gt.classes, ids, da, db, iou=iou, score=score, top=top)


def box_matches(
    n_images: int, da: DetectionPredictions, db: DetectionPredictions, *, iou: float, score: float
) -> dict[str, np.ndarray]:
    """B's boxes matched to A's per image (greedy, B's highest score first, best IoU, class-agnostic,
    at ``iou``), both kept from confidence ``score``. Returns arrays: ``a`` / ``b`` (indices of the
    kept boxes into ``da`` / ``db``, each sorted by image then score), ``image_a`` / ``image_b`` (their image),
    ``partner_a`` (per kept box of A: the position in ``b`` of its match, -1 for none),
    ``partner_b`` (per kept box of B: the position in ``a``, -1), ``iou_b`` (the pair's IoU)."""
    if not 0.0 < iou <= 1.0 or not math.isfinite(score):
        raise InputError(f"iou must be in (0, 1] and score finite (got {iou}, {score})")

    def kept(d: DetectionPredictions) -> np.ndarray:
        keep = np.flatnonzero(d.scores >= score)
        return keep[np.lexsort((-d.scores[keep], d.image[keep]))]

    keep_a, keep_b = kept(da), kept(db)
    img_a = da.image[keep_a].astype(np.int32)
    img_b = db.image[keep_b].astype(np.int32)
    dt_ptr, pair_gt, pair_iou = image_pairs(
        da.boxes[keep_a], img_a, db.boxes[keep_b], img_b, np.zeros(len(keep_a), bool), n_images
    )
    m = greedy_match(dt_ptr, pair_gt, pair_iou, np.zeros(len(keep_a), bool), iou)
    matched = m.dt_state == MATCHED
    partner_b = np.where(matched, m.dt_gt, -1).astype(np.int64)
    partner_a = np.full(len(keep_a), -1, np.int64)
    partner_a[partner_b[matched]] = np.flatnonzero(matched)
    return {
        "a": keep_a, "b": keep_b, "image_a": img_a, "image_b": img_b,
        "partner_a": partner_a, "partner_b": partner_b,
        "iou_b": np.where(matched, m.dt_iou, 0.0),
    }  # fmt: skip


def box_agreement(
    classes: list[str],
    image_ids: list[str],
    da: DetectionPredictions,
    db: DetectionPredictions,
    *,
    iou: float = 0.5,
    score: float = 0.0,
    top: int = 20,
) -> dict[str, Any]:
    """:func:`detection_agreement` of two prediction sets aligned to one list of images
    (``image_ids``, the ids the answer names) and classes."""
    n_img = len(image_ids)
    mt = box_matches(n_img, da, db, iou=iou, score=score)
    lab_a, lab_b = da.labels[mt["a"]], db.labels[mt["b"]]
    img_a, img_b = mt["image_a"], mt["image_b"]
    matched = mt["partner_b"] >= 0
    agree = matched & (lab_b == lab_a[np.maximum(mt["partner_b"], 0)])
    box_a, box_b = mt["a"], mt["b"]
    n_a, n_b = len(box_a), len(box_b)
    n_m, n_agree = int(matched.sum()), int(agree.sum())
    union = n_a + n_b - n_m
    per_a = np.bincount(img_a, minlength=n_img)
    per_b = np.bincount(img_b, minlength=n_img)
    per_agree = np.bincount(img_b[agree], minlength=n_img)
    per_m = np.bincount(img_b[matched], minlength=n_img)
    per_union = per_a + per_b - per_m
    with np.errstate(invalid="ignore", divide="ignore"):
        per_share = np.where(per_union > 0, per_agree / np.maximum(per_union, 1), 1.0)
    order = np.lexsort((-(per_union - per_agree), per_share))[:top]
    k = len(classes)
    return {
        "task": "detection",
        "n_images": int(n_img),
        "iou": float(iou),
        "score": float(score),
        "boxes_a": n_a,
        "boxes_b": n_b,
        "matched": n_m,
        "agreed": n_agree,
        "class_flips": n_m - n_agree,
        "only_a": n_a - n_m,
        "only_b": n_b - n_m,
        "agreement": n_agree / union if union else 1.0,
        "mean_iou": float(mt["iou_b"][matched].mean()) if n_m else None,
        "per_class": [
            {"label": classes[j], "boxes_a": int(v_a), "boxes_b": int(v_b), "agreed": int(v)}
            for j, (v_a, v_b, v) in enumerate(
                zip(
                    np.bincount(lab_a, minlength=k),
                    np.bincount(lab_b, minlength=k),
                    np.bincount(lab_b[agree], minlength=k),
                    strict=True,
                )  # fmt: skip
            )
        ],
        "most_changed": [
            {
                "id": image_ids[i],
                "boxes_a": int(per_a[i]),
                "boxes_b": int(per_b[i]),
                "agreed": int(per_agree[i]),
                "agreement": float(per_share[i]),
            }  # fmt: skip
            for i in order.tolist()
            if per_share[i] < 1.0
        ],
    }
